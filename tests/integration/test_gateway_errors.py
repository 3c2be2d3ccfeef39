"""Every bad input gets a clear answer and nothing kills the gateway: 400 for malformed
requests, 431 for >60 KiB of request headers, 502 when the upstream refuses or resets, 503 for
an upstream without hosts, 504 on a route timeout, and a missing upstream reference Rejected in
/statuses with the upstream's name in the reason.

Error bodies are answered by the gateway itself: short, with Content-Length, no x-backend."""

import contextlib
import json
import random
import socket
import tempfile
import time
import unittest

import harness
from harness import (LOCALHOST, Backend, Portico, closed_port, http_request, route,
                     upstream_yaml, virtual_service_yaml, write_yaml)


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-errors-"))
        write_yaml(cfg, "up-a.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "up-closed.yaml", upstream_yaml("up-closed", [(LOCALHOST, closed_port())]))
        write_yaml(cfg, "up-empty.yaml", upstream_yaml("up-empty", []))
        write_yaml(cfg, "vs-default.yaml", virtual_service_yaml("default", [
            route("up-a", exact="/delay/3000", options={"timeout": "1s"}),
            route("up-a", exact="/hang", options={"timeout": "1s"}),
            route("up-closed", prefix="/closed"),
            route("up-a", prefix="/"),
        ]))
        # Separate virtual services (own domains) so that their rejection cannot take the
        # default one down with them.
        write_yaml(cfg, "vs-empty.yaml", virtual_service_yaml(
            "empty", [route("up-empty", prefix="/")], domains=["empty.test"]))
        write_yaml(cfg, "vs-missing.yaml", virtual_service_yaml(
            "missing", [route("petstore", prefix="/")], domains=["missing.test"]))
        cls.gw = stack.enter_context(Portico(cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def assert_gateway_error(self, status, headers, body, expected):
        self.assertEqual(status, expected, body[:200])
        self.assertLess(len(body), 512, "error bodies are short")
        self.assertNotIn("x-backend", headers, "the gateway answers, not the backend")
        if status not in (204, 304):
            self.assertEqual(headers.get("content-length"), str(len(body)))

    def assert_raw_error(self, request, expected, closes=True):
        start = time.monotonic()
        data = harness.raw_exchange(self.gw.port, request, read_timeout=5)
        resps, _ = harness.parse_responses(data)
        self.assertGreaterEqual(len(resps), 1, f"no response to {request[:60]!r}: {data[:100]!r}")
        r = resps[0]
        self.assertEqual(r.status, expected, f"{request[:60]!r} -> {r.status} {r.body[:100]!r}")
        self.assertLess(len(r.body), 512)
        self.assertIsNone(r.header("x-backend"))
        if closes:
            self.assertEqual(len(resps), 1)
            self.assertLess(time.monotonic() - start, 4.5, "connection not closed after error")

    # -- 400 --

    def test_malformed_request_line_is_400(self):
        for req in (b"GARBAGE\r\n\r\n",
                    b"GET /echo HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                    b"\x00\x01\x02binary\xff\r\n\r\n",
                    b"GET /echo HTTP/1.1\r\nHost: x\r\nno-colon-header\r\n\r\n",
                    b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"):
            with self.subTest(req=req[:40]):
                self.assert_raw_error(req, 400)

    def test_content_length_with_transfer_encoding_is_400(self):
        self.assert_raw_error(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400)

    def test_two_different_content_lengths_are_400(self):
        self.assert_raw_error(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                              b"Content-Length: 4\r\n\r\nabcd", 400)

    def test_bad_chunk_size_is_400(self):
        self.assert_raw_error(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              b"\r\nzz\r\nabc\r\n0\r\n\r\n", 400)

    # -- 431 --

    def test_more_than_60k_of_headers_is_431(self):
        self.assert_raw_error(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (61 * 1024)
                              + b"\r\n\r\n", 431)
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 700) for i in range(100))  # ~70 KiB
        self.assert_raw_error(b"GET /echo HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", 431)

    def test_headers_under_the_limit_pass(self):
        status, _, data = http_request(self.gw.port, "GET", "/echo",
                                       headers={"X-Big": "c" * (40 * 1024)})
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(data)["headers"]["x-big"]), 40 * 1024)

    # -- 502 / 503 / 504 --

    def test_upstream_refusing_connections_is_502(self):
        self.assert_gateway_error(*http_request(self.gw.port, "GET", "/closed"), 502)

    def test_upstream_reset_is_502(self):
        self.assert_gateway_error(*http_request(self.gw.port, "GET", "/reset"), 502)
        # the pooled upstream connections are not poisoned by it
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)

    def test_upstream_without_hosts_is_503(self):
        status = self.gw.status_of("Upstream", "up-empty")
        if status is not None and status.get("state") == "Rejected":
            self.skipTest(f"the config layer rejects an upstream without hosts: "
                          f"{status.get('reason')}")
        self.assert_gateway_error(*http_request(self.gw.port, "GET", "/", host="empty.test"), 503)

    def test_route_timeout_is_504(self):
        for path in ("/delay/3000", "/hang"):
            with self.subTest(path=path):
                start = time.monotonic()
                result = http_request(self.gw.port, "GET", path, timeout=10)
                elapsed = time.monotonic() - start
                self.assert_gateway_error(*result, 504)
                self.assertGreater(elapsed, 0.9)
                self.assertLess(elapsed, 2.5)

    def test_no_timeout_on_other_routes(self):
        start = time.monotonic()
        status, _, body = http_request(self.gw.port, "GET", "/delay/1500", timeout=10)
        self.assertEqual((status, body), (200, b"ok"))
        self.assertGreater(time.monotonic() - start, 1.4)

    def test_upstream_error_statuses_pass_through(self):
        for code in (404, 500, 502, 503, 504):
            status, headers, body = http_request(self.gw.port, "GET", f"/status/{code}")
            self.assertEqual(status, code)
            self.assertEqual(headers.get("x-backend"), "a")
            self.assertEqual(body, f"status {code}\n".encode())

    # -- config errors --

    def test_missing_upstream_is_rejected_with_its_name(self):
        s = self.gw.wait_status("VirtualService", "missing", "Rejected")
        self.assertIn("petstore", s.get("reason", ""))
        self.assertIn("routes[0]", s.get("reason", ""))
        for kind, name in (("VirtualService", "default"), ("Upstream", "up-a")):
            self.assertEqual(self.gw.status_of(kind, name).get("state"), "Accepted", name)
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)


class Robustness(unittest.TestCase):
    """Abuse that could crash the gateway; a fresh gateway per test, so that a crash fails
    that test only."""

    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))

    def setUp(self):
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-robust-"))
        write_yaml(cfg, "up-a.yaml", upstream_yaml("up-a", [(LOCALHOST, self.backend.port)]))
        write_yaml(cfg, "vs-default.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        self.gw = stack.enter_context(Portico(cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def test_garbage_never_kills_the_gateway(self):
        rnd = random.Random(42)
        for _ in range(200):
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 600)))
            prefix = rnd.choice([b"", b"GET /echo HTTP/1.1\r\n", b"POST /sink HTTP/1.1\r\nHost: x\r\n"])
            harness.raw_exchange(self.gw.port, prefix + blob, read_timeout=0.1, total_timeout=1)
        self.assertTrue(self.gw.running(), self.gw.logs())
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)

    def test_client_disconnecting_mid_request_and_mid_response(self):
        for req in (b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc",
                    b"GET /bytes/50000000 HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /delay/500 HTTP/1.1\r\nHost: x\r\n\r\n"):
            s = socket.create_connection((LOCALHOST, self.gw.port))
            s.sendall(req)
            time.sleep(0.1)
            s.close()
        time.sleep(0.6)
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)

    def test_client_gone_while_waiting_for_the_response(self):
        s = socket.create_connection((LOCALHOST, self.gw.port))
        s.sendall(b"GET /delay/300 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        s.close()
        time.sleep(0.5)  # the response arrives for a stream that no longer exists
        self.assertTrue(self.gw.running(), self.gw.logs())
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)

    def test_many_clients_vanishing_at_once(self):
        """What wrk does at the end of a run: many connections with requests in flight close
        together."""
        socks = []
        for i in range(200):
            s = socket.create_connection((LOCALHOST, self.gw.port))
            s.sendall(f"GET /delay/{50 + i % 100} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            socks.append(s)
        for s in socks:
            s.close()
        time.sleep(0.6)
        self.assertTrue(self.gw.running(), self.gw.logs())
        self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)


if __name__ == "__main__":
    unittest.main()
