"""Lost edges: bytes the gateway has already taken off the socket (into OpenSSL's read-ahead
buffer, say) but not acted on, while no new event will come for them. Both I/O engines report
a socket's readiness once, so such bytes wait until the client happens to send something else.

Real peers: certificates are made with the openssl CLI; TLS clients and the TLS origin are
Python's ssl module (SSLObjects over memory BIOs, so that the test decides which TLS records
share a TCP segment); the plain origin is the test backend. HTTP/2 frames are built by hand,
header blocks with Debian's python3-hpack.
"""

import socket
import ssl
import tempfile
import threading
import time
import unittest
from pathlib import Path

from hpack import Decoder, Encoder

from harness import (LOCALHOST, NAMESPACE, Backend, Portico, free_port, gateway_yaml, http_request,
                     route, upstream_yaml, virtual_service_yaml, write_yaml)
from test_h2_smuggling import (END_HEADERS, END_STREAM, GOAWAY, HEADERS, PREFACE, SETTINGS,
                               frame)
from test_tls import gloo_tls_secret, make_cert, tls_vs
from test_upstream_tls import upstream


class TlsH2Client:
    """A TLS client driving OpenSSL through memory BIOs: what it writes becomes TLS records in
    `outgoing`, sent when the test says so. ALPN h2."""

    def __init__(self, port, server_name, timeout=5.0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        self.sock = socket.create_connection((LOCALHOST, port), timeout=timeout)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)
        self.plain = b""

    def handshake(self):
        """Runs the handshake up to the client's last flight, which stays in `outgoing`."""
        while True:
            try:
                self.tls.do_handshake()
                return self.tls.selected_alpn_protocol()
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                self._receive()

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the gateway closed the connection")
        self.incoming.write(chunk)

    def send_records(self, *payloads):
        """One TLS record per payload, all in one send (one TCP segment on loopback)."""
        for p in payloads:
            self.tls.write(p)
        self.sock.sendall(self.outgoing.read())

    def read_frames(self, until, timeout):
        """Reads frames until `until(kind, flags, stream, payload)` is true (returns True) or
        `timeout` passes (returns False). Sends nothing: no SETTINGS ACK either."""
        deadline = time.monotonic() + timeout
        while True:
            while len(self.plain) >= 9:
                length = int.from_bytes(self.plain[:3], "big")
                if len(self.plain) < 9 + length:
                    break
                kind, flags = self.plain[3], self.plain[4]
                sid = int.from_bytes(self.plain[5:9], "big") & 0x7FFFFFFF
                payload, self.plain = self.plain[9:9 + length], self.plain[9 + length:]
                if until(kind, flags, sid, payload):
                    return True
            try:
                self.plain += self.tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                self._receive()
            except socket.timeout:
                return False

    def close(self):
        self.sock.close()


class CloseNotifyOrigin:
    """A TLS origin that answers one request per connection, framed for keep-alive, and sends
    its close_notify in the same TCP segment. Then it waits for the gateway's close_notify
    (a bidirectional shutdown, as Python's unwrap() does) holding the TCP connection open for
    `hold` seconds: only the close_notify says the connection is done."""

    def __init__(self, cert, key, hold=8.0):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.hold = hold
        self.listener = socket.create_server((LOCALHOST, 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.ctx.wrap_bio(incoming, outgoing, server_side=True)
        sock.settimeout(self.hold)

        def pump(step):
            while True:
                try:
                    return step()
                except ssl.SSLWantReadError:
                    if outgoing.pending:
                        sock.sendall(outgoing.read())
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("peer closed")
                    incoming.write(chunk)

        try:
            pump(tls.do_handshake)
            request = b""
            while b"\r\n\r\n" not in request:
                request += pump(lambda: tls.read(65536))
            tls.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nfirst\n")
            try:
                tls.unwrap()
            except ssl.SSLWantReadError:
                pass  # our close_notify is written; the peer's is awaited below
            sock.sendall(outgoing.read())
            deadline = time.monotonic() + self.hold
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                incoming.write(chunk)
                try:
                    tls.unwrap()
                    return  # the gateway's close_notify: done
                except ssl.SSLWantReadError:
                    pass  # anything else (a request sent into the closed session) is ignored
        except (OSError, ConnectionError, ssl.SSLError):
            pass
        finally:
            sock.close()

    def stop(self):
        self.stopping = True
        self.listener.close()


class LostEdges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-lost-edges-")
        certs = Path(cls.tmp.name) / "certs"
        certs.mkdir()
        cls.cfg = Path(cls.tmp.name) / "config"
        cert = make_cert(certs, "a", "/CN=a.test", "DNS:a.test")
        cls.backend = Backend("lost-edges-origin").start()
        origin_cert = make_cert(certs, "origin", "/CN=origin.test", "DNS:origin.test")
        cls.tls_origin = CloseNotifyOrigin(*origin_cert)
        cls.plain_port, cls.tls_port = free_port(), free_port()
        write_yaml(cls.cfg, "gateways.yaml",
                   gateway_yaml("gateway-proxy", cls.plain_port) + "---\n" +
                   gateway_yaml("gateway-proxy-ssl", cls.tls_port, extra_spec={"ssl": True}))
        write_yaml(cls.cfg, "upstream.yaml", upstream_yaml("backend", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cls.cfg, "upstream-tls.yaml", upstream(
            "tls-origin", [{"addr": LOCALHOST, "port": cls.tls_origin.port}], {"sni": "origin.test"}))
        write_yaml(cls.cfg, "vs-plain.yaml",
                   virtual_service_yaml("plain", [route("tls-origin", prefix="/")]))
        write_yaml(cls.cfg, "secret-a.yaml", gloo_tls_secret("tls-a", *cert))
        write_yaml(cls.cfg, "vs-alpha.yaml",
                   tls_vs("alpha", ["a.test"], {"secretRef": {"name": "tls-a", "namespace": NAMESPACE}}))
        cls.gw = Portico(cls.cfg, extra_args=["--log-level", "debug"]).start()
        cls.gw.wait_status("VirtualService", "alpha", "Accepted")
        cls.gw.wait_status("VirtualService", "plain", "Accepted")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.tls_origin.stop()
        cls.tmp.cleanup()

    def test_h2_request_in_a_second_tls_record_is_served(self):
        # The client's Finished, a record with the preface and SETTINGS, and a record with the
        # request arrive together. HTTP/1 reads the first record, sees ALPN h2 and hands the
        # connection over; the request record is in OpenSSL's read-ahead buffer, the socket is
        # empty. The client then waits for the answer without sending anything (its SETTINGS
        # ACK would be a new edge that hides the gap).
        for attempt in range(3):
            client = TlsH2Client(self.tls_port, "a.test")
            try:
                self.assertEqual(client.handshake(), "h2")
                head = Encoder().encode([(":method", "GET"), (":scheme", "https"),
                                         (":authority", "a.test"), (":path", "/echo")])
                client.send_records(PREFACE + frame(SETTINGS, 0, 0),
                                    frame(HEADERS, END_HEADERS | END_STREAM, 1, head))
                status = []

                def response_head(kind, flags, sid, payload):
                    if kind == GOAWAY:
                        raise AssertionError(f"GOAWAY {payload[4:8].hex()}")
                    if kind == HEADERS and sid == 1:
                        status.append(dict(Decoder().decode(payload)).get(":status"))
                        return True
                    return False

                answered = client.read_frames(response_head, timeout=3.0)
                self.assertTrue(answered, f"attempt {attempt}: no response to a request that "
                                          f"came in its own TLS record\n{self.gw.logs()[-3000:]}")
                self.assertEqual(status, ["200"])
            finally:
                client.close()

    def test_upstream_close_notify_read_with_the_response_retires_the_connection(self):
        # The response and the origin's close_notify come in one segment, without a FIN: the
        # close_notify lands in OpenSSL's read-ahead buffer while the connection goes back to
        # the pool. Nothing else will arrive on it; the next request must not be sent into it.
        for attempt in range(3):
            status, _, body = http_request(self.plain_port, "GET", "/one", timeout=20)
            self.assertEqual((status, body), (200, b"first\n"))
            start = time.monotonic()
            status, _, body = http_request(self.plain_port, "GET", "/two", timeout=20)
            elapsed = time.monotonic() - start
            self.assertEqual((status, body), (200, b"first\n"))
            self.assertLess(elapsed, 2.0, f"attempt {attempt}: the second request waited "
                                          f"{elapsed:.1f} s on a connection the origin had closed")


if __name__ == "__main__":
    unittest.main()
