"""Headers the gateway adds, passes and drops: x-forwarded-for, x-forwarded-proto,
x-request-id, and the hop-by-hop headers of RFC 9110 §7.6.1 in both directions.

Assumptions: x-forwarded-for appends the client address (127.0.0.1 here) to whatever the
client sent, like Envoy and nginx's $proxy_add_x_forwarded_for; x-request-id is generated
(unique, non-empty) when absent and passed through unchanged when present; the gateway may
send its own Connection/Transfer-Encoding upstream, but never the client's."""

import contextlib
import json
import tempfile
import unittest

import harness
from harness import (LOCALHOST, Backend, Connection, Portico, http_request, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)

HOP_BY_HOP = ("keep-alive", "te", "upgrade", "proxy-connection", "x-hop-custom")


class Headers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-headers-"))
        write_yaml(cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def seen_by_backend(self, headers=None, method="GET", body=b""):
        status, _, data = http_request(self.gw.port, method, "/echo", headers=headers, body=body)
        self.assertEqual(status, 200, data[:200])
        return json.loads(data)["headers"]

    def raw_seen_by_backend(self, request):
        resps, _ = harness.raw_responses(self.gw.port, request, 1)
        self.assertEqual(len(resps), 1)
        self.assertEqual(resps[0].status, 200, resps[0].body[:200])
        return json.loads(resps[0].body)

    # -- forwarding headers --

    def test_x_forwarded_for_is_the_client_address(self):
        h = self.seen_by_backend()
        self.assertEqual(h.get("x-forwarded-for"), "127.0.0.1")

    def test_x_forwarded_for_appends_to_the_clients_value(self):
        h = self.seen_by_backend({"X-Forwarded-For": "203.0.113.7"})
        parts = [p.strip() for p in h["x-forwarded-for"].split(",")]
        self.assertEqual(parts, ["203.0.113.7", "127.0.0.1"])

    def test_x_forwarded_proto(self):
        self.assertEqual(self.seen_by_backend().get("x-forwarded-proto"), "http")

    def test_x_request_id_generated_when_absent(self):
        ids = [self.seen_by_backend().get("x-request-id") for _ in range(20)]
        for rid in ids:
            self.assertTrue(rid, "x-request-id missing")
            # a UUIDv4 (RFC 4122 variant), as Envoy generates
            self.assertRegex(rid, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(len(set(ids)), 20, "x-request-id values repeat")

    def test_x_request_id_passed_through_when_present(self):
        h = self.seen_by_backend({"X-Request-Id": "my-id-123"})
        self.assertEqual(h.get("x-request-id"), "my-id-123")

    def test_end_to_end_headers_pass_both_ways(self):
        status, headers, data = http_request(
            self.gw.port, "GET", "/echo",
            headers={"X-Custom": "v", "Authorization": "Bearer t", "Cookie": "a=1",
                     "User-Agent": "itest/1", "Accept": "*/*"})
        self.assertEqual(status, 200)
        h = json.loads(data)["headers"]
        self.assertEqual(h["x-custom"], "v")
        self.assertEqual(h["authorization"], "Bearer t")
        self.assertEqual(h["cookie"], "a=1")
        self.assertEqual(h["user-agent"], "itest/1")
        self.assertEqual(headers.get("x-backend"), "a")  # response header from the backend
        self.assertEqual(headers.get("content-type"), "application/json")

    def test_repeated_request_headers_all_arrive(self):
        echo = self.raw_seen_by_backend(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Rep: 1\r\n"
                                        b"X-Rep: 2\r\n\r\n")
        self.assertEqual(echo["headers"]["x-rep"], "1, 2")

    # -- hop-by-hop --

    def test_hop_by_hop_request_headers_are_not_forwarded(self):
        echo = self.raw_seen_by_backend(
            b"GET /echo HTTP/1.1\r\nHost: x\r\n"
            b"Connection: keep-alive, X-Hop-Custom\r\n"
            b"Keep-Alive: timeout=5, max=100\r\n"
            b"TE: trailers, deflate\r\n"
            b"Upgrade: foo/1\r\n"
            b"Proxy-Connection: keep-alive\r\n"
            b"X-Hop-Custom: secret\r\n"
            b"X-End-To-End: kept\r\n\r\n")
        h = echo["headers"]
        for name in HOP_BY_HOP:
            self.assertNotIn(name, h, f"{name} was forwarded")
        self.assertNotIn("x-hop-custom", h.get("connection", "").lower())
        self.assertNotIn("transfer-encoding", h)  # a GET without body
        self.assertEqual(h["x-end-to-end"], "kept")

    def test_request_transfer_encoding_is_re_framed(self):
        echo = self.raw_seen_by_backend(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: X-Hop-Custom\r\nX-Hop-Custom: 1\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(echo["body"], "abc")
        h = echo["headers"]
        # the gateway frames the upstream body itself: chunked again, or a Content-Length
        self.assertEqual(h.get("transfer-encoding", "chunked").lower(), "chunked")
        self.assertNotIn("x-hop-custom", h)

    def test_response_connection_close_is_not_forwarded(self):
        """The backend answers /close with Connection: close; that is about the upstream
        connection only, so the client's keep-alive connection survives."""
        with Connection(self.gw.port) as c:
            status, headers, body = c.request("GET", "/close")
            self.assertEqual((status, body), (200, b"closing\n"))
            self.assertNotEqual(headers.get("connection", "").lower(), "close")
            port = c.local_port()
            status, _, _ = c.request("GET", "/echo")
            self.assertEqual(status, 200)
            self.assertEqual(c.local_port(), port)

    def test_hop_by_hop_response_headers_from_the_gateway(self):
        resps, _ = harness.raw_responses(self.gw.port, b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n", 1)
        r = resps[0]
        self.assertIsNone(r.header("keep-alive"))
        self.assertIsNone(r.header("proxy-connection"))
        self.assertEqual(r.body, harness.bytes_pattern(10))


if __name__ == "__main__":
    unittest.main()
