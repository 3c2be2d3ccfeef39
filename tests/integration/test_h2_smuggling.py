"""HTTP/2 → HTTP/1.1 downgrade attacks (RFC 9113 §8.1.1, §8.2, §8.3): hand-built h2c frames
(prior knowledge; header blocks encoded with Debian's python3-hpack, nothing validated on our
side) sent to Portico, which forwards to an HTTP/1.1 backend (the test backend). Each case
must be refused -- stream reset PROTOCOL_ERROR or a 400 -- or normalized, and what reaches the
backend must be one well-framed request: the backend's /__log and /echo show it.

The same cases go to nginx (`listen ... http2`) and HAProxy (`bind ... proto h2`) in front of
the same backend; their behaviour is recorded, and every difference from Portico's must be in
KNOWN_DIFFERENCES and explained in tests/README.md ("HTTP/2 downgrade").

Each case runs on its own connection: stream 1 carries the case, then -- unless the peer sent
GOAWAY -- stream 3 a well-formed GET, which must come back 200 from the backend with its own
path (an upstream connection left holding half a body would swallow it)."""

import contextlib
import json
import socket
import struct
import tempfile
import time
import unittest

from hpack import Decoder, Encoder

from harness import (LOCALHOST, Backend, HAProxy, Nginx, Portico, free_port, http_request,
                     route, upstream_yaml, virtual_service_yaml, write_yaml)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PROTOCOL_ERROR = 1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def base_headers(path, method=b"POST"):
    return [(b":method", method), (b":scheme", b"http"), (b":authority", b"a.example"),
            (b":path", path)]


# name -> (header list or a callable(path) giving it, DATA payloads (the last one ends the
# stream; none: HEADERS ends it), expected Portico outcome). Outcomes: "refused" (RST_STREAM
# PROTOCOL_ERROR or a 400, nothing forwarded), "refused, declared part may pass" (the same,
# but the backend may have served the request with its declared body) or a dict of checks on the backend's /echo
# ("absent": header names that must not reach it, "body": the body length it must see).
def _h(extra, method=b"POST", path_fn=None):
    def build(path):
        hs = base_headers(path_fn(path) if path_fn else path, method)
        return hs + extra
    return build


CASES = {
    # Framing: content-length is checked against the DATA bytes (RFC 9113 §8.1.1).
    "content-length above the DATA bytes": (_h([(b"content-length", b"10")]), [b"hello"], "refused"),
    "content-length below the DATA bytes": (_h([(b"content-length", b"3")]), [b"hello"], "refused"),
    # The declared body is complete before the excess arrives: Portico streams, so the backend
    # may already have the request (exactly content-length bytes); the excess never leaves.
    "DATA exceeding content-length in a later frame":
        (_h([(b"content-length", b"5")]), [b"hello", b"SMUGGLED"], "refused, declared part may pass"),
    "content-length 0 with DATA": (_h([(b"content-length", b"0")]), [b"GET / HTTP/1.1\r\n\r\n"],
                                   "refused, declared part may pass"),
    "two content-length fields": (_h([(b"content-length", b"5"), (b"content-length", b"5")]), [b"hello"], "refused"),
    "non-numeric content-length": (_h([(b"content-length", b"5x")]), [b"hello"], "refused"),
    "transfer-encoding chunked": (_h([(b"transfer-encoding", b"chunked")]),
                                  [b"5\r\nhello\r\n0\r\n\r\n"], "refused"),
    # Connection-specific fields (RFC 9113 §8.2.2).
    "connection header": (_h([(b"connection", b"keep-alive")], b"GET"), [], "refused"),
    "keep-alive header": (_h([(b"keep-alive", b"timeout=5")], b"GET"), [], "refused"),
    "proxy-connection header": (_h([(b"proxy-connection", b"keep-alive")], b"GET"), [], "refused"),
    "upgrade header": (_h([(b"upgrade", b"websocket")], b"GET"), [], "refused"),
    "te other than trailers": (_h([(b"te", b"gzip")], b"GET"), [], "refused"),
    # te: trailers is the one te value allowed; the gateway passes it on (gRPC needs it).
    "te trailers (allowed)": (_h([(b"te", b"trailers")], b"GET"), [], {"body": 0}),
    # Field syntax (RFC 9113 §8.2.1).
    "CR in a header value": (_h([(b"x-bad", b"a\rb")], b"GET"), [], "refused"),
    "LF in a header value": (_h([(b"x-bad", b"a\nGET /smuggled HTTP/1.1")], b"GET"), [], "refused"),
    "NUL in a header value": (_h([(b"x-bad", b"a\x00b")], b"GET"), [], "refused"),
    "CRLF in a header name": (_h([(b"x-bad\r\nx-injected", b"1")], b"GET"), [], "refused"),
    "NUL in a header name": (_h([(b"x-b\x00ad", b"1")], b"GET"), [], "refused"),
    "uppercase header name": (_h([(b"X-Upper", b"1")], b"GET"), [], "refused"),
    "space in a header name": (_h([(b"x bad", b"1")], b"GET"), [], "refused"),
    "colon in a header name": (_h([(b"x:bad", b"1")], b"GET"), [], "refused"),
    "leading space in a header value": (_h([(b"x-pad", b" 1")], b"GET"), [], "refused"),
    # Pseudo-header fields (RFC 9113 §8.3).
    ":path without a leading slash": (_h([], b"GET", lambda p: p.lstrip(b"/")), [], "refused"),
    ":path * for GET": (_h([], b"GET", lambda p: b"*"), [], "refused"),
    "missing :method": (lambda p: [x for x in base_headers(p) if x[0] != b":method"], [], "refused"),
    "missing :scheme": (lambda p: [x for x in base_headers(p, b"GET") if x[0] != b":scheme"], [], "refused"),
    "missing :path": (lambda p: [x for x in base_headers(p, b"GET") if x[0] != b":path"], [], "refused"),
    "duplicate :path": (lambda p: base_headers(p, b"GET") + [(b":path", b"/other")], [], "refused"),
    "duplicate :method": (lambda p: base_headers(p, b"GET") + [(b":method", b"POST")], [], "refused"),
    "pseudo-header after a regular one":
        (lambda p: base_headers(p, b"GET")[:3] + [(b"x-a", b"1"), (b":path", p)], [], "refused"),
    "unknown pseudo-header": (_h([(b":foo", b"bar")], b"GET"), [], "refused"),
    ":authority and host disagree": (_h([(b"host", b"b.example")], b"GET"), [], "refused"),
    ":method smuggling a request line":
        (_h([], b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\nGET"), [], "refused"),
    ":method with a space": (_h([], b"GET /x"), [], "refused"),
    ":path with a space": (_h([], b"GET", lambda p: p + b" HTTP/1.1"), [], "refused"),
    ":path with CR LF": (_h([], b"GET", lambda p: p + b"\r\nx-injected: 1"), [], "refused"),
    # Baselines: normalized, one framing header upstream.
    "POST with content-length (baseline)": (_h([(b"content-length", b"5")]), [b"hel", b"lo"],
                                            {"body": 5, "framing": "content-length"}),
    "POST without content-length (baseline)": (_h([]), [b"hel", b"lo"],
                                               {"body": 5, "framing": "transfer-encoding"}),
    ":authority and host agree": (_h([(b"host", b"a.example")], b"GET"), [], {"body": 0}),
}


class H2Exchange:
    """One h2c connection: preface, SETTINGS (ours, and an ACK for the peer's), then frames.
    Collects per stream: status, headers, body, RST_STREAM code; and a GOAWAY code."""

    def __init__(self, port):
        self.sock = socket.create_connection((LOCALHOST, port), timeout=5.0)
        self.encoder, self.decoder = Encoder(), Decoder()
        self.streams = {}
        self.goaway = None
        self.closed = False
        self.buf = b""
        # A 1 MiB connection window and large stream windows: responses never stall on us.
        self.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 1 << 20)) +
                  frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20)))

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def request(self, sid, headers, datas):
        block = self.encoder.encode(headers, huffman=False)
        out = frame(HEADERS, END_HEADERS | (0 if datas else END_STREAM), sid, block)
        for i, d in enumerate(datas):
            out += frame(DATA, END_STREAM if i == len(datas) - 1 else 0, sid, d)
        self.send(out)

    def stream(self, sid):
        return self.streams.setdefault(sid, {"status": None, "headers": {}, "body": b"",
                                             "reset": None, "done": False})

    def wait(self, sid, timeout=3.0):
        """Reads until stream `sid` ended (END_STREAM, RST_STREAM) or the connection did."""
        deadline = time.monotonic() + timeout
        while not self.stream(sid)["done"] and not self.closed and self.goaway is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return
            self.buf += chunk
            self._frames()

    def _frames(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            kind, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + length], self.buf[9 + length:]
            if kind == SETTINGS and not flags & ACK:
                self.send(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
            elif kind == GOAWAY:
                self.goaway = int.from_bytes(payload[4:8], "big")
            elif kind in (HEADERS, DATA, RST_STREAM) and sid:
                st = self.stream(sid)
                if kind == HEADERS:  # no padding or priority from these peers (checked below)
                    if flags & 0x28:
                        raise AssertionError("padded/priority HEADERS not handled")
                    for name, value in self.decoder.decode(payload, raw=True):
                        if name == b":status":
                            st["status"] = int(value)
                        else:
                            st["headers"][name.decode()] = value.decode(errors="replace")
                elif kind == DATA:
                    st["body"] += payload
                    if payload:
                        self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", len(payload))))
                else:
                    st["reset"] = int.from_bytes(payload[:4], "big")
                    st["done"] = True
                if kind != RST_STREAM and flags & END_STREAM:
                    st["done"] = True

    def close(self):
        self.sock.close()


def outcome(st, goaway):
    """'400', '200*' (* = answered by the backend), 'rst1' (RST_STREAM code), 'goaway1', '-'."""
    if st["status"] is not None:
        return f"{st['status']}{'*' if 'x-backend' in st['headers'] else ''}"
    if st["reset"] is not None:
        return f"rst{st['reset']}"
    if goaway is not None:
        return f"goaway{goaway}"
    return "-"


# Where HAProxy or nginx answer differently from Portico, as (haproxy, nginx) summaries
# ("rstN" = RST_STREAM code N, "400", "200*" = answered by the backend; fwd = requests the
# backend served). Explained in tests/README.md ("HTTP/2 downgrade").
KNOWN_DIFFERENCES = {
    "content-length above the DATA bytes": ("rst1 fwd=0", "400 fwd=0"),
    "content-length below the DATA bytes": ("rst1 fwd=0", "400 fwd=0"),
    "DATA exceeding content-length in a later frame": ("rst1 fwd=0", "400 fwd=0"),
    "content-length 0 with DATA": ("rst1 fwd=0", "400 fwd=0"),
    "two content-length fields": ("200* fwd=1", "400 fwd=0"),
    "non-numeric content-length": ("rst1 fwd=0", "400 fwd=0"),
    "transfer-encoding chunked": ("rst1 fwd=0", "200* fwd=1"),
    "connection header": ("rst1 fwd=0", "200* fwd=1"),
    "keep-alive header": ("rst1 fwd=0", "200* fwd=1"),
    "proxy-connection header": ("rst1 fwd=0", "200* fwd=1"),
    "upgrade header": ("rst1 fwd=0", "200* fwd=1"),
    "te other than trailers": ("rst1 fwd=0", "200* fwd=1"),
    "leading space in a header value": ("200* fwd=1", "200* fwd=1"),
    ":path without a leading slash": ("rst1 fwd=0", "400 fwd=0"),
    ":path * for GET": ("200* fwd=1", "400 fwd=0"),
    "missing :method": ("rst1 fwd=0", "400 fwd=0"),
    "missing :scheme": ("rst1 fwd=0", "400 fwd=0"),
    "missing :path": ("rst1 fwd=0", "400 fwd=0"),
    "duplicate :path": ("rst1 fwd=0", "400 fwd=0"),
    "duplicate :method": ("rst1 fwd=0", "400 fwd=0"),
    "pseudo-header after a regular one": ("rst1 fwd=0", "200* fwd=1"),
    "unknown pseudo-header": ("rst1 fwd=0", "400 fwd=0"),
    ":authority and host disagree": ("200* fwd=1", "400 fwd=0"),
    ":method with a space": ("400 fwd=0", "400 fwd=0"),
    ":path with a space": ("rst1 fwd=0", "400 fwd=0"),
    ":authority and host agree": ("200* fwd=1", "400 fwd=0"),
}


class H2Smuggling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("h2diff"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-h2smug-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up", prefix="/")]))
        cls.portico = stack.enter_context(Portico(cfg))
        cls.proxies = {"portico": cls.portico.port}
        hp = free_port()
        cls.haproxy = stack.enter_context(HAProxy(
            f"defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n"
            f"  timeout server 30s\n"
            f"frontend fe\n  bind {LOCALHOST}:{hp} proto h2\n  default_backend be\n"
            f"backend be\n  server s1 {LOCALHOST}:{cls.backend.port}\n", wait_ports=[hp]))
        cls.proxies["haproxy"] = hp
        np_ = free_port()
        cls.nginx = stack.enter_context(Nginx(
            f"server {{ listen {LOCALHOST}:{np_} http2; location / {{ proxy_pass http://"
            f"{LOCALHOST}:{cls.backend.port}; proxy_http_version 1.1; "
            f"proxy_set_header Connection \"\"; }} }}", wait_ports=[np_]))
        cls.proxies["nginx"] = np_
        cls.results = {}

    def backend_log(self):
        status, _, body = http_request(self.backend.port, "GET", "/__log")
        self.assertEqual(status, 200)
        return body.decode(errors="replace").splitlines()

    def run_case(self, port, marker, headers, datas):
        """(stream 1 record, goaway code, follow-up record or None, backend log lines added)."""
        before = len(self.backend_log())
        x = H2Exchange(port)
        try:
            x.request(1, headers(b"/echo/" + marker), datas)
            x.wait(1)
            follow = None
            if x.goaway is None and not x.closed:
                x.request(3, base_headers(b"/echo/" + marker + b"-follow-up", b"GET"), [])
                x.wait(3)
                follow = x.stream(3)
            first, goaway = x.stream(1), x.goaway
        finally:
            x.close()
        time.sleep(0.05)  # a proxy may forward after answering
        added = self.backend_log()[before:]
        return first, goaway, follow, added

    def test_cases(self):
        rows, failures = [], []
        for i, (name, (headers, datas, expected)) in enumerate(CASES.items()):
            marker = b"c%d" % i
            summaries = {}
            for proxy, port in self.proxies.items():
                first, goaway, follow, added = self.run_case(port, marker, headers, datas)
                fwd = [line for line in added if "-follow-up" not in line]
                summaries[proxy] = f"{outcome(first, goaway)} fwd={len(fwd)}"
                if proxy == "portico":
                    failures += self.check_portico(name, expected, first, goaway, follow, fwd)
            if len(set(summaries.values())) > 1:
                rows.append((name, summaries["portico"], summaries["haproxy"], summaries["nginx"]))
        width = max(len(r[0]) for r in rows) if rows else 4
        print("\nHTTP/2 downgrade cases where Portico, HAProxy 2.6 and nginx 1.22 differ:")
        print(f"  {'case':<{width}}  {'portico':<12} {'haproxy':<12} {'nginx':<12}")
        for name, p, h, n in rows:
            print(f"  {name:<{width}}  {p:<12} {h:<12} {n:<12}")
        print(f"  ({len(rows)} of {len(CASES)} cases differ; rstN = RST_STREAM code N, "
              f"* = answered by the backend, fwd = requests the backend served)")
        self.assertEqual(failures, [])
        unexplained = {name: (h, n) for name, p, h, n in rows
                       if KNOWN_DIFFERENCES.get(name) != (h, n)}
        self.assertEqual(unexplained, {}, "differences not explained in tests/README.md")
        self.assertTrue(self.portico.running(), self.portico.logs())

    def check_portico(self, name, expected, first, goaway, follow, fwd):
        problems = []
        if follow is not None and (follow["status"] != 200 or '-follow-up"' not in
                                   follow["body"].decode(errors="replace")):
            problems.append(f"{name}: follow-up on the same connection not served: {follow}")
        if isinstance(expected, str):
            refused = first["reset"] == PROTOCOL_ERROR or first["status"] == 400 or \
                goaway == PROTOCOL_ERROR
            if not refused or first["headers"].get("x-backend"):
                problems.append(f"{name}: not refused: {outcome(first, goaway)}")
            if expected == "refused" and fwd or len(fwd) > 1:
                problems.append(f"{name}: reached the backend: {fwd}")
            return problems
        if first["status"] != 200 or len(fwd) != 1:
            return problems + [f"{name}: {outcome(first, goaway)}, backend saw {fwd}"]
        echo = json.loads(first["body"])
        hs = echo["headers"]
        framing = [h for h in ("content-length", "transfer-encoding") if h in hs]
        if len(framing) > 1 or ("framing" in expected and framing != [expected["framing"]]):
            problems.append(f"{name}: framing upstream {framing}")
        if "body" in expected and echo["body_length"] != expected["body"]:
            problems.append(f"{name}: body {echo['body_length']} bytes upstream")
        for h in expected.get("absent", []):
            if h in hs:
                problems.append(f"{name}: {h} forwarded")
        return problems


if __name__ == "__main__":
    unittest.main()
