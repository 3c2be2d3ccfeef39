"""Routing through the gateway: prefix / exact / regex matchers, first match wins, virtual
hosts chosen by the Host header (exact domain, *.wildcard, * default) and 404 when nothing
matches. Three test backends (a, b, c) tell by x-backend / echo which route was taken.

Assumptions (Gloo/Envoy semantics): regex matchers match the whole path; the query string
takes no part in path matching; domain matching ignores case; an exact domain beats a wildcard,
which beats '*'; '*.example.com' does not match 'example.com'; once a virtual host is chosen
by domain, no other virtual host's routes are tried (hence 404)."""

import contextlib
import json
import tempfile
import unittest

from harness import (LOCALHOST, Backend, Portico, http_request, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)


class Routing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        backends = {n: stack.enter_context(Backend(n)) for n in ("a", "b", "c")}
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-routing-"))
        for n, be in backends.items():
            write_yaml(cfg, f"upstream-{n}.yaml", upstream_yaml(f"up-{n}", [(LOCALHOST, be.port)]))
        write_yaml(cfg, "vs-default.yaml", virtual_service_yaml("default", [
            route("up-b", exact="/exact"),
            route("up-c", regex="/re/[0-9]+"),
            route("up-b", prefix="/api/"),
            route("up-c", matchers=[{"exact": "/m1"}, {"exact": "/m2"}]),
            route("up-b", prefix="/order"),
            route("up-c", exact="/order/x"),  # shadowed by the prefix above: first match wins
            route("up-a", prefix="/old/", options={"prefixRewrite": "/echo/new/"}),
            route("up-a", prefix="/"),
        ], domains=["*"]))
        write_yaml(cfg, "vs-api.yaml", virtual_service_yaml(
            "api", [route("up-b", prefix="/v1/")], domains=["api.example.com"]))
        write_yaml(cfg, "vs-wild.yaml", virtual_service_yaml(
            "wild", [route("up-c", prefix="/")], domains=["*.example.com"]))
        cls.gw = stack.enter_context(Portico(cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def backend_for(self, path, host="other.org", method="GET"):
        """Which backend answered (its x-backend header). The backend itself may answer 404
        for paths it has no endpoint for; a 404 from the gateway has no x-backend."""
        status, headers, body = http_request(self.gw.port, method, path, host=host)
        self.assertIn("x-backend", headers,
                      f"{method} {host}{path}: no backend answered: {status} {body[:200]!r}")
        return headers["x-backend"]

    def assert_routes(self, cases, host="other.org"):
        for path, expected in cases:
            with self.subTest(host=host, path=path):
                self.assertEqual(self.backend_for(path, host), expected)

    def test_prefix_catch_all(self):
        self.assert_routes([("/", "a"), ("/anything/else", "a"), ("/x?y=1", "a")])

    def test_exact(self):
        self.assert_routes([("/exact", "b"), ("/exact?q=1", "b"), ("/exact/", "a"),
                            ("/exactly", "a"), ("/EXACT", "a")])

    def test_regex_matches_whole_path(self):
        self.assert_routes([("/re/123", "c"), ("/re/0?x=y", "c"), ("/re/abc", "a"),
                            ("/re/123/x", "a"), ("/pre/re/1", "a"), ("/re/", "a")])

    def test_prefix(self):
        self.assert_routes([("/api/", "b"), ("/api/x/y", "b"), ("/api", "a"), ("/apix", "a")])

    def test_route_with_several_matchers(self):
        self.assert_routes([("/m1", "c"), ("/m2", "c"), ("/m3", "a")])

    def test_first_match_wins(self):
        self.assert_routes([("/order/x", "b"), ("/order", "b")])

    def test_exact_domain(self):
        self.assert_routes([("/v1/x", "b")], host="api.example.com")
        self.assert_routes([("/v1/x", "b")], host="API.Example.COM")

    def test_wildcard_domain(self):
        self.assert_routes([("/v1/x", "c"), ("/", "c")], host="foo.example.com")
        self.assert_routes([("/", "c")], host="a.b.example.com")

    def test_default_domain(self):
        self.assert_routes([("/", "a")], host="example.com")  # not matched by *.example.com
        self.assert_routes([("/", "a")], host="127.0.0.1")

    def test_no_route_is_404_with_short_body(self):
        status, headers, body = http_request(self.gw.port, "GET", "/other", host="api.example.com")
        self.assertEqual(status, 404)
        self.assertLess(len(body), 512)
        self.assertNotIn("x-backend", headers)  # answered by the gateway itself
        self.assertEqual(headers.get("content-length"), str(len(body)))

    def test_request_reaches_backend_unchanged(self):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                status, headers, data = http_request(
                    self.gw.port, method, "/echo%20x/y?b=2&a=1&c", host="other.org")
                self.assertEqual(status, 200)
                self.assertEqual(headers["x-backend"], "a")
                echo = json.loads(data)
                self.assertEqual(echo["method"], method)
                self.assertEqual(echo["path"], "/echo%20x/y?b=2&a=1&c")
                self.assertEqual(echo["headers"]["host"], "other.org")

    def test_prefix_rewrite(self):
        status, headers, data = http_request(self.gw.port, "GET", "/old/x/y?q=1", host="other.org")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["path"], "/echo/new/x/y?q=1")

    def test_head_request(self):
        status, headers, body = http_request(self.gw.port, "HEAD", "/bytes/1000", host="x")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers.get("content-length"), "1000")


if __name__ == "__main__":
    unittest.main()
