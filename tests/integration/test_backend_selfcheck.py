"""Proves the tools the gateway tests rely on: the test backend (every endpoint, keep-alive,
pipelining, chunked and sized bodies, bad input) and the harness's own HTTP helpers and
parsers, exercised with curl, http.client and raw sockets. Needs no gateway."""

import json
import os
import socket
import tempfile
import threading
import time
import unittest

import harness
from harness import MiB, Backend, Connection, bytes_pattern, curl, fnv1a64, http_request


class BackendSelfCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("self").start()
        cls.port = cls.backend.port

    @classmethod
    def tearDownClass(cls):
        cls.backend.stop()

    def tearDown(self):
        self.assertIsNone(self.backend.proc.poll(),
                          f"backend died: {self.backend.stderr()}")

    # -- plain endpoints --

    def test_root_says_hello_with_curl(self):
        r = curl("-i", self.backend.url("/"))
        self.assertEqual(r.returncode, 0, r.stderr)
        resps, _ = harness.parse_responses(r.stdout)
        self.assertEqual(len(resps), 1)
        self.assertEqual(resps[0].status, 200)
        self.assertEqual(resps[0].body, b"hello from self\n")
        self.assertEqual(resps[0].header("x-backend"), "self")
        self.assertEqual(resps[0].header("content-type"), "text/plain")

    def test_not_found(self):
        status, headers, body = http_request(self.port, "GET", "/nope")
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-backend"], "self")

    def test_status_codes(self):
        for code in (200, 201, 302, 404, 418, 500, 502, 503, 504, 599):
            status, headers, body = http_request(self.port, "GET", f"/status/{code}")
            self.assertEqual(status, code)
            self.assertEqual(body, f"status {code}\n".encode())
            self.assertEqual(headers["x-backend"], "self")
        status, headers, body = http_request(self.port, "GET", "/status/204")
        self.assertEqual((status, body), (204, b""))
        for bad in ("abc", "99", "600", "", "2000000000000"):
            status, _, _ = http_request(self.port, "GET", f"/status/{bad}")
            self.assertEqual(status, 400, bad)

    def test_delay(self):
        start = time.monotonic()
        status, _, body = http_request(self.port, "GET", "/delay/300")
        elapsed = time.monotonic() - start
        self.assertEqual((status, body), (200, b"ok"))
        self.assertGreaterEqual(elapsed, 0.29)
        self.assertLess(elapsed, 2.0)
        self.assertEqual(http_request(self.port, "GET", "/delay/x")[0], 400)

    def test_head_has_length_but_no_body(self):
        resps, _ = harness.raw_responses(
            self.port, b"HEAD /bytes/100 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            1, head=True)
        self.assertEqual(resps[0].status, 200)
        self.assertEqual(resps[0].header("content-length"), "100")
        # the next response follows the head immediately: no body bytes were sent
        status, _, body = http_request(self.port, "HEAD", "/echo")
        self.assertEqual((status, body), (200, b""))

    # -- echo --

    def test_echo_reports_the_request(self):
        body = b'{"hello": "w\xc3\xb6rld"}'
        status, headers, data = http_request(
            self.port, "POST", "/echo/some/path?q=1&r=%20", host="echo.example",
            headers={"X-Custom": "v1", "Content-Type": "application/json"}, body=body)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["x-backend"], "self")
        echo = json.loads(data)
        self.assertEqual(echo["backend"], "self")
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["path"], "/echo/some/path?q=1&r=%20")
        self.assertEqual(echo["http_version"], "1.1")
        self.assertEqual(echo["headers"]["host"], "echo.example")
        self.assertEqual(echo["headers"]["x-custom"], "v1")
        self.assertEqual(echo["headers"]["content-length"], str(len(body)))
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(body))
        self.assertEqual(echo["body"], body.decode())
        self.assertEqual(echo["request_number_on_connection"], 1)
        self.assertIsInstance(echo["connection_id"], int)

    def test_echo_joins_repeated_headers_and_lowercases_names(self):
        req = (b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Rep: a\r\nx-rep: b\r\nX-REP: c\r\n"
               b"Connection: close\r\n\r\n")
        resps, _ = harness.raw_responses(self.port, req, 1)
        echo = json.loads(resps[0].body)
        self.assertEqual(echo["headers"]["x-rep"], "a, b, c")
        self.assertEqual(echo["headers"]["connection"], "close")

    def test_echo_json_escaping_of_odd_bytes(self):
        body = b'quote " backslash \\ nl \n tab \t nul \x00 del \x7f latin1 \xe9 utf8 \xe2\x82\xac'
        req = (b"POST /echo/\xe9?x=\"y\" HTTP/1.1\r\nHost: x\r\nX-Odd: \xff\xfe\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        resps, _ = harness.raw_responses(self.port, req, 1)
        self.assertEqual(resps[0].status, 200)
        echo = json.loads(resps[0].body)  # must be valid JSON whatever the input
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(body))
        self.assertEqual(echo["headers"]["x-odd"], "\u00ff\u00fe")
        self.assertTrue(echo["body"].endswith("latin1 \u00e9 utf8 \u20ac"))

    def test_echo_omits_bodies_over_4096_bytes(self):
        for size, included in ((4096, True), (4097, False), (100_000, False)):
            body = os.urandom(size)
            status, _, data = http_request(self.port, "PUT", "/echo", body=body)
            echo = json.loads(data)
            self.assertEqual(echo["body_length"], size)
            self.assertEqual(echo["body_fnv1a64"], fnv1a64(body))
            self.assertEqual("body" in echo, included, size)

    def test_chunked_upload_with_curl(self):
        data = os.urandom(300_000)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            r = curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{f.name}",
                     self.backend.url("/echo"))
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["headers"]["transfer-encoding"], "chunked")
        self.assertEqual(echo["body_length"], len(data))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(data))

    def test_chunked_upload_raw_with_extensions_and_trailers(self):
        req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n")
        resps, _ = harness.raw_responses(self.port, req, 1)
        echo = json.loads(resps[0].body)
        self.assertEqual(echo["body"], "hello world")
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(b"hello world"))

    def test_chunked_upload_with_http_client(self):
        pieces = [os.urandom(n) for n in (1, 1000, 70_000, 3)]
        status, _, data = http_request(self.port, "POST", "/echo", body=iter(pieces),
                                       encode_chunked=True)
        echo = json.loads(data)
        self.assertEqual(echo["body_length"], sum(map(len, pieces)))
        self.assertEqual(echo["body_fnv1a64"], fnv1a64(b"".join(pieces)))

    def test_expect_100_continue(self):
        with socket.create_connection((harness.LOCALHOST, self.port), timeout=5) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            interim = s.recv(1000)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim)
            s.sendall(b"abcd")
            data = harness._read_all(s, 0.5, 5)
        resps, _ = harness.parse_responses(interim + data, eof=False)
        self.assertEqual([r.status for r in resps], [100, 200])
        self.assertEqual(json.loads(resps[1].body)["body"], "abcd")

    # -- connections --

    def test_keep_alive_reuses_one_connection(self):
        with Connection(self.port) as c:
            ids = []
            for i in range(1, 4):
                status, _, data = c.request("GET", f"/echo/{i}")
                echo = json.loads(data)
                self.assertEqual(echo["request_number_on_connection"], i)
                ids.append(echo["connection_id"])
            self.assertEqual(len(set(ids)), 1)
        with Connection(self.port) as c2:
            other = json.loads(c2.request("GET", "/echo")[2])["connection_id"]
        self.assertNotEqual(other, ids[0])

    def test_pipelining_two_requests_in_one_write(self):
        req = (b"GET /echo/first HTTP/1.1\r\nHost: x\r\n\r\n"
               b"POST /echo/second HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        resps, closed = harness.raw_responses(self.port, req, 2)
        self.assertFalse(closed)
        self.assertEqual([r.status for r in resps], [200, 200])
        first, second = (json.loads(r.body) for r in resps)
        self.assertEqual(first["path"], "/echo/first")
        self.assertEqual(second["path"], "/echo/second")
        self.assertEqual(second["body"], "abc")
        self.assertEqual(first["connection_id"], second["connection_id"])
        self.assertEqual([first["request_number_on_connection"],
                          second["request_number_on_connection"]], [1, 2])

    def test_pipelining_mixed_endpoints_answers_in_order(self):
        req = (b"GET /delay/200 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /bytes/70000?chunked=1 HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = harness.raw_exchange(self.port, req)
        resps, rest = harness.parse_responses(data)
        self.assertEqual(rest, b"")
        self.assertEqual([r.status for r in resps], [200, 200, 404, 200, 200])
        self.assertEqual(resps[0].body, b"ok")
        self.assertEqual(resps[1].body, bytes_pattern(10))
        self.assertEqual(resps[3].body, bytes_pattern(70000))
        self.assertEqual(resps[4].body, b"hello from self\n")

    def test_http10_closes_unless_keep_alive(self):
        data = harness.raw_exchange(self.port, b"GET /echo HTTP/1.0\r\n\r\n", read_timeout=5)
        resps, _ = harness.parse_responses(data)
        self.assertEqual(len(resps), 1)  # and raw_exchange returned: the backend closed
        self.assertEqual(json.loads(resps[0].body)["http_version"], "1.0")
        self.assertEqual(resps[0].header("connection"), "close")
        req = (b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
               b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        resps, closed = harness.raw_responses(self.port, req, 2)
        self.assertEqual(len(resps), 2)
        self.assertFalse(closed)
        self.assertEqual(resps[0].header("connection"), "keep-alive")

    def test_close_endpoint_closes(self):
        req = b"GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        data = harness.raw_exchange(self.port, req, read_timeout=5)
        resps, _ = harness.parse_responses(data)
        self.assertEqual(len(resps), 1)  # the second request is never answered
        self.assertEqual(resps[0].header("connection"), "close")

    def test_reset_sends_nothing(self):
        r = curl(self.backend.url("/reset"))
        self.assertIn(r.returncode, (52, 56), r.stderr)  # empty reply / recv failure
        self.assertEqual(r.stdout, b"")
        data = harness.raw_exchange(self.port, b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(data, b"")

    def test_hang_never_answers_but_keeps_the_connection(self):
        with socket.create_connection((harness.LOCALHOST, self.port), timeout=5) as s:
            s.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                s.recv(100)
        # closing our side released the backend thread; it still serves others
        self.assertEqual(http_request(self.port, "GET", "/")[0], 200)

    # -- sized bodies --

    def test_bytes_sizes(self):
        for n in (0, 1, 63, 64, 65, 65535, 65536, 65537, MiB + 3):
            status, headers, body = http_request(self.port, "GET", f"/bytes/{n}")
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-length"], str(n))
            self.assertEqual(len(body), n)
            self.assertEqual(body, bytes_pattern(n), n)
            status, headers, body = http_request(self.port, "GET", f"/bytes/{n}?chunked=1")
            self.assertEqual(headers["transfer-encoding"], "chunked")
            self.assertNotIn("content-length", headers)
            self.assertEqual(body, bytes_pattern(n), n)
        for bad in ("x", "-1", "99999999999999999999"):
            self.assertEqual(http_request(self.port, "GET", f"/bytes/{bad}")[0], 400)

    def test_chunked_download_uses_64k_chunks(self):
        raw = harness.raw_exchange(
            self.port, b"GET /bytes/200000?chunked=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, rest = raw.partition(b"\r\n\r\n")
        self.assertTrue(rest.startswith(b"10000\r\n"), rest[:20])
        resps, _ = harness.parse_responses(raw)
        self.assertEqual(resps[0].body, bytes_pattern(200000))

    def test_curl_download_large(self):
        r = curl(self.backend.url("/bytes/10485760"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 10 * MiB)
        self.assertEqual(r.stdout, bytes_pattern(10 * MiB))

    def test_sink_10mib_upload_streams_in_constant_memory(self):
        data = os.urandom(10 * MiB)
        expected = fnv1a64(data)
        with harness.RssSampler(self.backend.proc.pid) as rss:
            with tempfile.NamedTemporaryFile() as f:
                f.write(data)
                f.flush()
                r = curl("--data-binary", f"@{f.name}", "-H", "Content-Type: application/octet-stream",
                         self.backend.url("/sink"))
                rc = curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{f.name}",
                          self.backend.url("/sink"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"body_length": 10 * MiB, "body_fnv1a64": expected})
        self.assertEqual(json.loads(rc.stdout), {"body_length": 10 * MiB, "body_fnv1a64": expected})
        # thread stacks and a 64 KiB read buffer; never the body
        self.assertLess(rss.max_kb, 8 * 1024, f"backend RSS peaked at {rss.max_kb} KiB")

    def test_sink_reference_helper_matches_python_hash(self):
        ref = harness.sink_reference(self.port, 3 * MiB + 5)
        self.assertEqual(ref["body_length"], 3 * MiB + 5)
        self.assertEqual(ref["body_fnv1a64"], fnv1a64(bytes_pattern(3 * MiB + 5)))

    # -- bad input --

    def assert_rejected(self, request, code=400):
        data = harness.raw_exchange(self.port, request, read_timeout=5)
        resps, _ = harness.parse_responses(data)
        self.assertEqual(len(resps), 1, data[:200])
        self.assertEqual(resps[0].status, code)
        self.assertEqual(resps[0].header("connection"), "close")

    def test_bad_requests_get_400_and_close(self):
        cases = [
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"\x00\x01\x02\xff\r\n\r\n",
        ]
        for req in cases:
            with self.subTest(req=req[:40]):
                self.assert_rejected(req)

    def test_huge_headers_get_431(self):
        self.assert_rejected(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
                             431)
        # 100 KiB is fine for the backend (the gateway's 60 KiB limit is the gateway's business)
        status, _, data = http_request(self.port, "GET", "/echo", headers={"X-Big": "b" * 100_000})
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(data)["headers"]["x-big"]), 100_000)

    def test_random_garbage_never_kills_it(self):
        rnd = __import__("random").Random(1234)
        for _ in range(100):
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 400)))
            if rnd.random() < 0.5:
                blob = b"GET /echo HTTP/1.1\r\n" + blob
            harness.raw_exchange(self.port, blob, read_timeout=0.2, total_timeout=1)
        self.assertEqual(http_request(self.port, "GET", "/")[0], 200)

    def test_many_concurrent_connections(self):
        errors = []

        def worker(i):
            try:
                with Connection(self.port) as c:
                    for j in range(10):
                        status, _, data = c.request("GET", f"/echo/{i}/{j}")
                        if status != 200 or json.loads(data)["path"] != f"/echo/{i}/{j}":
                            errors.append((i, j, status))
            except Exception as e:  # noqa: BLE001
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class HarnessSelfCheck(unittest.TestCase):
    """The harness pieces that the gateway tests use but that need no process."""

    def test_parse_responses_handles_every_framing(self):
        data = (b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                b"HTTP/1.1 204 No Content\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nT: 1\r\n\r\n"
                b"HTTP/1.0 200 OK\r\n\r\nuntil close")
        resps, rest = harness.parse_responses(data)
        self.assertEqual([r.status for r in resps], [100, 200, 204, 200, 200])
        self.assertEqual([r.body for r in resps], [b"", b"abc", b"", b"hi", b"until close"])
        self.assertEqual(rest, b"")
        resps, rest = harness.parse_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        self.assertEqual((resps, rest[-3:]), ([], b"abc"))
        with self.assertRaises(ValueError):
            harness.parse_responses(b"NOT HTTP\r\n\r\n")

    def test_yaml_builders(self):
        text = harness.virtual_service_yaml(
            "default", [harness.route("up", exact="/x", options={"timeout": "1s"}),
                        harness.route("up", regex="/re/[0-9]+")], domains=["*", "a.example"])
        self.assertIn("kind: VirtualService", text)
        self.assertIn("apiVersion: gateway.solo.io/v1", text)
        self.assertIn("- exact: /x", text)
        self.assertIn("- regex: '/re/[0-9]+'", text)
        self.assertIn("timeout: '1s'", text)
        self.assertIn("- '*'", text)
        self.assertIn("namespace: gloo-system", text)
        up = harness.upstream_yaml("demo", [("127.0.0.1", 18080)])
        self.assertIn("kind: Upstream", up)
        self.assertIn("port: 18080", up)
        gw = harness.gateway_yaml("gw", 8080, "::")
        self.assertIn("bindPort: 8080", gw)
        self.assertIn("bindAddress: '::'", gw)

    def test_write_yaml_is_atomic_rename(self):
        with tempfile.TemporaryDirectory() as d:
            harness.write_yaml(d, "a.yaml", "x: 1\n")
            harness.write_yaml(d, "a.yaml", "x: 2\n")
            self.assertEqual(os.listdir(d), ["a.yaml"])
            with open(os.path.join(d, "a.yaml")) as f:
                self.assertEqual(f.read(), "x: 2\n")

    def test_free_ports_are_distinct(self):
        ports = {harness.free_port() for _ in range(20)}
        self.assertEqual(len(ports), 20)

    def test_nginx_helper_starts_debian_nginx(self):
        port = harness.free_port()
        conf = f'server {{ listen 127.0.0.1:{port}; location / {{ return 200 "nginx ok"; }} }}'
        with harness.Nginx(conf, wait_ports=[port]) as n:
            status, _, body = http_request(port, "GET", "/")
            self.assertEqual((status, body), (200, b"nginx ok"), n.errors())


if __name__ == "__main__":
    unittest.main()
