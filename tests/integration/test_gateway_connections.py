"""Connections and bodies through the gateway: keep-alive on both sides, pipelining, HTTP/1.0,
content-length and chunked request bodies reaching the backend intact, and 100 MiB streaming
both ways with the gateway's RSS under 64 MiB (also with a client that stops reading).

One worker, so upstream connection reuse is deterministic."""

import contextlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
import unittest

import harness
from harness import (LOCALHOST, MiB, Backend, Connection, PatternChecker, Portico, RssSampler,
                     curl, fnv1a64, http_request, pattern_chunks, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)

RSS_LIMIT_KB = 64 * 1024
BIG = 100 * MiB


class Connections(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-conn-"))
        write_yaml(cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg, workers=1))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def echo(self, conn, path="/echo", **kw):
        status, _, data = conn.request("GET", path, **kw)
        self.assertEqual(status, 200, data[:200])
        return json.loads(data)

    # -- keep-alive --

    def test_downstream_keep_alive(self):
        with Connection(self.gw.port) as c:
            sock = c.conn.sock
            port = c.local_port()
            for i in range(5):
                self.assertEqual(self.echo(c, f"/echo/{i}")["path"], f"/echo/{i}")
            self.assertIs(c.conn.sock, sock, "http.client had to reconnect")
            self.assertEqual(c.local_port(), port)

    def test_upstream_connection_reused_on_one_downstream_connection(self):
        with Connection(self.gw.port) as c:
            seen = [self.echo(c) for _ in range(5)]
        self.assertEqual(len({e["connection_id"] for e in seen}), 1, seen)
        numbers = [e["request_number_on_connection"] for e in seen]
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 5)))

    def test_upstream_connection_reused_across_downstream_connections(self):
        ids = []
        for _ in range(5):
            status, _, data = http_request(self.gw.port, "GET", "/echo")
            self.assertEqual(status, 200)
            ids.append(json.loads(data)["connection_id"])
        self.assertEqual(len(set(ids)), 1, ids)

    def test_downstream_close_keeps_upstream_connection(self):
        first = json.loads(http_request(self.gw.port, "GET", "/echo")[2])
        start = time.monotonic()
        data = harness.raw_exchange(self.gw.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n", read_timeout=5)
        # the gateway closed the downstream side as asked (raw_exchange saw EOF, no timeout)
        self.assertLess(time.monotonic() - start, 4.0)
        resps, _ = harness.parse_responses(data)
        self.assertEqual(len(resps), 1)
        self.assertEqual(resps[0].status, 200)
        echo = json.loads(resps[0].body)
        # Connection is hop-by-hop: the upstream connection stays open and is reused
        self.assertNotEqual(echo["headers"].get("connection", "").lower(), "close")
        self.assertEqual(echo["connection_id"], first["connection_id"])
        again = json.loads(http_request(self.gw.port, "GET", "/echo")[2])
        self.assertEqual(again["connection_id"], first["connection_id"])

    # -- pipelining --

    def test_pipelining_three_requests_in_one_write(self):
        req = (b"GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               b"GET /echo/3 HTTP/1.1\r\nHost: x\r\n\r\n")
        resps, closed = harness.raw_responses(self.gw.port, req, 3)
        self.assertEqual([r.status for r in resps], [200, 200, 200])
        echoes = [json.loads(r.body) for r in resps]
        self.assertEqual([e["path"] for e in echoes], ["/echo/1", "/echo/2", "/echo/3"])
        self.assertEqual(echoes[1]["body"], "hello")
        self.assertFalse(closed)

    def test_pipelined_answers_stay_in_order_when_the_first_is_slow(self):
        req = (b"GET /delay/300 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /echo/fast HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /bytes/100000 HTTP/1.1\r\nHost: x\r\n\r\n")
        resps, _ = harness.raw_responses(self.gw.port, req, 3)
        self.assertEqual([r.status for r in resps], [200, 200, 200])
        self.assertEqual(resps[0].body, b"ok")
        self.assertEqual(json.loads(resps[1].body)["path"], "/echo/fast")
        self.assertEqual(resps[2].body, harness.bytes_pattern(100000))

    def test_http10_request(self):
        data = harness.raw_exchange(self.gw.port, b"GET /echo HTTP/1.0\r\nHost: x\r\n\r\n",
                                    read_timeout=5)
        resps, _ = harness.parse_responses(data)
        self.assertEqual(len(resps), 1)
        self.assertEqual(resps[0].status, 200)
        self.assertEqual(json.loads(resps[0].body)["path"], "/echo")

    # -- request bodies --

    def test_content_length_bodies_arrive_intact(self):
        for size in (0, 1, 4096, 65537, MiB):
            body = os.urandom(size)
            with self.subTest(size=size):
                status, _, data = http_request(self.gw.port, "POST", "/echo", body=body,
                                               headers={"Content-Length": str(size)})
                self.assertEqual(status, 200)
                echo = json.loads(data)
                self.assertEqual(echo["body_length"], size)
                self.assertEqual(echo["body_fnv1a64"], fnv1a64(body))

    def test_chunked_bodies_arrive_intact(self):
        pieces = [os.urandom(n) for n in (1, 10, 70_000, 3, 300_000)]
        status, _, data = http_request(self.gw.port, "POST", "/echo", body=iter(pieces),
                                       encode_chunked=True)
        self.assertEqual(status, 200)
        echo = json.loads(data)
        self.assertEqual(echo["body_length"], sum(map(len, pieces)))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(b"".join(pieces)))

    def test_chunked_body_with_extensions_and_trailers(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        resps, _ = harness.raw_responses(self.gw.port, req, 1)
        self.assertEqual(resps[0].status, 200)
        self.assertEqual(json.loads(resps[0].body)["body"], "hello world")

    def test_expect_100_continue_upload_with_curl(self):
        data = os.urandom(2 * MiB)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            r = curl("-H", "Expect: 100-continue", "--expect100-timeout", "5",
                     "--data-binary", f"@{f.name}", self.gw.url("/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_length"], len(data))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(data))

    # -- streaming, memory --

    def test_100mib_upload_streams(self):
        reference = harness.sink_reference(self.backend.port, BIG)
        with RssSampler(self.gw.pid) as rss:
            status, _, data = http_request(self.gw.port, "POST", "/sink",
                                           headers={"Content-Length": str(BIG)},
                                           body=pattern_chunks(BIG), timeout=120)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), reference)
        self.assertLess(rss.max_kb, RSS_LIMIT_KB, f"gateway RSS peaked at {rss.max_kb} KiB")

    def test_chunked_upload_streams(self):
        total = 20 * MiB
        reference = harness.sink_reference(self.backend.port, total)
        with RssSampler(self.gw.pid) as rss:
            status, _, data = http_request(self.gw.port, "POST", "/sink",
                                           body=pattern_chunks(total, 256 * 1024),
                                           encode_chunked=True, timeout=120)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), reference)
        self.assertLess(rss.max_kb, RSS_LIMIT_KB, f"gateway RSS peaked at {rss.max_kb} KiB")

    def test_100mib_download_streams(self):
        checker = PatternChecker()
        conn = http.client.HTTPConnection(LOCALHOST, self.gw.port, timeout=60)
        try:
            with RssSampler(self.gw.pid) as rss:
                conn.request("GET", f"/bytes/{BIG}", headers={"Host": "x"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                checker.drain(resp)
        finally:
            conn.close()
        self.assertEqual(checker.offset, BIG)
        self.assertTrue(checker.ok, f"body differs from offset {checker.first_bad_offset}")
        self.assertLess(rss.max_kb, RSS_LIMIT_KB, f"gateway RSS peaked at {rss.max_kb} KiB")

    def test_chunked_download(self):
        status, headers, body = http_request(self.gw.port, "GET", f"/bytes/{10 * MiB}?chunked=1",
                                             timeout=60)
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 10 * MiB)
        self.assertEqual(body, harness.bytes_pattern(10 * MiB))

    def test_slow_reader_applies_backpressure(self):
        """A client that stops reading must not make the gateway buffer the whole response:
        the gateway stops reading from the backend instead."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.connect((LOCALHOST, self.gw.port))
        try:
            s.sendall(f"GET /bytes/{BIG} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            with RssSampler(self.gw.pid) as rss:
                got = 0
                s.settimeout(10)
                while got < MiB:
                    got += len(s.recv(65536))
                time.sleep(2.0)  # stall: a gateway without backpressure slurps 100 MiB now
                stalled_peak = rss.max_kb
                while got < BIG + 100:  # then drain (head bytes included in the count)
                    chunk = s.recv(1024 * 1024)
                    if not chunk:
                        break
                    got += len(chunk)
        finally:
            s.close()
        self.assertLess(stalled_peak, RSS_LIMIT_KB, f"gateway RSS reached {stalled_peak} KiB "
                        "while the client was not reading")
        self.assertLess(rss.max_kb, RSS_LIMIT_KB)

    def test_many_parallel_clients(self):
        errors = []

        def worker(i):
            try:
                with Connection(self.gw.port) as c:
                    for j in range(20):
                        status, _, data = c.request("GET", f"/echo/{i}/{j}")
                        if status != 200 or json.loads(data)["path"] != f"/echo/{i}/{j}":
                            errors.append((i, j, status))
            except Exception as e:  # noqa: BLE001
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class SlowUpstreamConnect(unittest.TestCase):
    """A request body above the 1 MiB high watermark that arrives before the upstream
    connection is up: the client is paused while connecting and must be resumed once the
    connection drains (it used to stay paused until the idle timeout cut the upload)."""

    def test_big_body_before_the_upstream_connects_is_not_stuck(self):
        # A listener whose accept backlog is full: the kernel drops the gateway's SYN and
        # retransmits it after ~1 s, so the connect takes that long.
        lst = socket.socket()
        lst.bind((LOCALHOST, 0))
        lst.listen(0)
        port = lst.getsockname()[1]
        fillers = []
        for _ in range(3):  # backlog 0 still queues one; the others wait in SYN state
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex((LOCALHOST, port))
            fillers.append(f)
        time.sleep(0.2)
        total = 3 * MiB
        with tempfile.TemporaryDirectory(prefix="portico-slowconn-") as cfg:
            write_yaml(cfg, "upstream.yaml", upstream_yaml("slow", [(LOCALHOST, port)]))
            write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("slow", prefix="/")]))
            with Portico(cfg, workers=1, extra_args=["--idle-timeout", "5s"]) as gw:
                got = {}

                def origin():
                    # Free the backlog once the upload has piled up (the gateway's first SYN
                    # retransmit, ~1 s after its connect, then gets through); serve one request.
                    time.sleep(0.5)
                    for f in fillers:
                        f.close()
                    deadline = time.monotonic() + 20
                    lst.settimeout(1.0)
                    while time.monotonic() < deadline:
                        try:
                            c, _ = lst.accept()
                        except socket.timeout:
                            continue
                        c.settimeout(10)
                        data = b""
                        while b"\r\n\r\n" not in data:
                            chunk = c.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                        if b"POST /up" not in data:
                            c.close()  # a filler the kernel completed late
                            continue
                        head, _, body = data.partition(b"\r\n\r\n")
                        while len(body) < total:
                            chunk = c.recv(1 << 20)
                            if not chunk:
                                break
                            body += chunk
                        got["length"] = len(body)
                        got["same"] = body == harness.bytes_pattern(total)
                        c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        c.close()
                        return

                t = threading.Thread(target=origin, daemon=True)
                t.start()
                start = time.monotonic()
                status, _, body = http_request(gw.port, "POST", "/up",
                                               headers={"Content-Length": str(total)},
                                               body=pattern_chunks(total), timeout=30)
                took = time.monotonic() - start
                t.join(timeout=25)
        lst.close()
        self.assertEqual(status, 200, body)
        self.assertEqual(got.get("length"), total)
        self.assertTrue(got.get("same"), "the body arrived changed")
        self.assertLess(took, 5.0, "the upload waited for the idle timeout")


if __name__ == "__main__":
    unittest.main()
