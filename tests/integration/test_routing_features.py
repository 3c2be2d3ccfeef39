"""Everything a Gloo VirtualService route can express beyond path matching, through the real
gateway: header / query / method matchers, weighted destinations and UpstreamGroups, redirects,
direct responses, delegation to RouteTables, rewrites, header manipulation, CORS, faults,
retries, shadowing, virtual-host options and sortRoutes. Backends a, b, c answer with their
name in x-backend; s is the shadow target."""

import contextlib
import json
import tempfile
import time
import unittest

from harness import (LOCALHOST, NAMESPACE, Backend, Connection, Portico, curl, http_request,
                     to_yaml, upstream_yaml, write_yaml)


def ref(name):
    return {"name": name, "namespace": NAMESPACE}


def single(upstream):
    return {"single": {"upstream": ref(upstream)}}


def vs(name, routes, domains=("*",), options=None):
    vhost = {"domains": list(domains), "routes": routes}
    if options:
        vhost["options"] = options
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"virtualHost": vhost}})


def route_table(name, routes, weight=0, labels=None):
    meta = {"name": name, "namespace": NAMESPACE}
    if labels:
        meta["labels"] = labels
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "RouteTable", "metadata": meta,
                    "spec": {"routes": routes, "weight": weight}})


class RoutingFeatures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backends = {n: stack.enter_context(Backend(n)) for n in ("a", "b", "c", "s")}
        cls.cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-features-"))
        for n, be in cls.backends.items():
            write_yaml(cls.cfg, f"upstream-{n}.yaml", upstream_yaml(f"up-{n}", [(LOCALHOST, be.port)]))
        write_yaml(cls.cfg, "group.yaml", to_yaml({
            "apiVersion": "gloo.solo.io/v1", "kind": "UpstreamGroup",
            "metadata": {"name": "ab", "namespace": NAMESPACE},
            "spec": {"destinations": [{"destination": {"upstream": ref("up-a")}, "weight": 1},
                                      {"destination": {"upstream": ref("up-b")}, "weight": 1}]}}))
        write_yaml(cls.cfg, "tables.yaml", "---\n".join([
            route_table("team-b", [{"matchers": [{"prefix": "/team/b"}], "routeAction": single("up-b")}]),
            route_table("sel-late", [{"matchers": [{"prefix": "/sel/"}], "routeAction": single("up-c")}],
                        weight=20, labels={"team": "sel"}),
            route_table("sel-early", [{"matchers": [{"prefix": "/sel/x"}], "routeAction": single("up-b")}],
                        weight=10, labels={"team": "sel"}),
        ]))
        routes = [
            # matchers
            {"matchers": [{"prefix": "/m/hdr", "headers": [{"name": "x-team", "value": "b"}]}],
             "routeAction": single("up-b")},
            {"matchers": [{"prefix": "/m/hdr", "headers": [{"name": "x-ver", "value": "v[0-9]+", "regex": True}]}],
             "routeAction": single("up-c")},
            {"matchers": [{"prefix": "/m/inv", "headers": [{"name": "x-skip", "invertMatch": True}]}],
             "routeAction": single("up-b")},
            {"matchers": [{"prefix": "/m/q", "queryParameters": [{"name": "flag"}]}],
             "routeAction": single("up-b")},
            {"matchers": [{"prefix": "/m/q", "queryParameters": [{"name": "v", "value": "a b"}]}],
             "routeAction": single("up-c")},
            {"matchers": [{"prefix": "/m/method", "methods": ["POST", "PUT"]}],
             "routeAction": single("up-b")},
            {"matchers": [{"prefix": "/m/pseudo", "headers": [
                {"name": ":authority", "value": "api\\.example\\.com(:[0-9]+)?", "regex": True},
                {"name": ":path", "value": "/m/pseudo?v=2"}]}],
             "routeAction": single("up-c")},
            # destinations
            {"matchers": [{"prefix": "/split"}],
             "routeAction": {"multi": {"destinations": [
                 {"destination": {"upstream": ref("up-a")}, "weight": 3},
                 {"destination": {"upstream": ref("up-b")}, "weight": 1}]}}},
            {"matchers": [{"prefix": "/group"}], "routeAction": {"upstreamGroup": ref("ab")}},
            # redirects and direct responses
            {"matchers": [{"prefix": "/redir/prefix/"}],
             "redirectAction": {"prefixRewrite": "/new/", "responseCode": "FOUND"}},
            {"matchers": [{"exact": "/redir/https"}],
             "redirectAction": {"httpsRedirect": True, "hostRedirect": "secure.example.com",
                                "stripQuery": True}},
            {"matchers": [{"exact": "/redir/path"}],
             "redirectAction": {"pathRedirect": "/elsewhere", "responseCode": "PERMANENT_REDIRECT"}},
            {"matchers": [{"exact": "/direct"}],
             "directResponseAction": {"status": 418, "body": "I am a teapot"}},
            # delegation
            {"matchers": [{"prefix": "/team/"}], "delegateAction": {"ref": ref("team-b")}},
            {"matchers": [{"prefix": "/sel/"}],
             "delegateAction": {"selector": {"labels": {"team": "sel"}, "namespaces": [NAMESPACE]}}},
            # rewrites
            {"matchers": [{"regex": "/rx/([a-z]+)/([0-9]+)"}], "routeAction": single("up-a"),
             "options": {"regexRewrite": {"pattern": {"regex": "/rx/([a-z]+)/([0-9]+)"},
                                          "substitution": "/echo/\\2/\\1"}}},
            {"matchers": [{"prefix": "/hostrw"}], "routeAction": single("up-a"),
             "options": {"hostRewrite": "rewritten.example.com", "prefixRewrite": "/echo"}},
            # header manipulation (overrides the virtual host's)
            {"matchers": [{"prefix": "/hm"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo",
                         "headerManipulation": {
                             "requestHeadersToAdd": [{"header": {"key": "x-added", "value": "yes"}},
                                                     {"header": {"key": "x-replace", "value": "new"}, "append": False}],
                             "requestHeadersToRemove": ["x-secret"],
                             "responseHeadersToAdd": [{"header": {"key": "x-resp", "value": "r"}}],
                             "responseHeadersToRemove": ["x-backend"]}}},
            # CORS
            {"matchers": [{"prefix": "/cors"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo",
                         "cors": {"allowOrigin": ["https://app.example.com"],
                                  "allowOriginRegex": ["https://[a-z]+\\.trusted\\.org"],
                                  "allowMethods": ["GET", "POST"], "allowHeaders": ["content-type"],
                                  "exposeHeaders": ["x-backend"], "maxAge": "600",
                                  "allowCredentials": True}}},
            # faults
            {"matchers": [{"prefix": "/fault/abort"}], "routeAction": single("up-a"),
             "options": {"faults": {"abort": {"percentage": 100, "httpStatus": 503}}}},
            {"matchers": [{"prefix": "/fault/delay"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/", "faults": {"delay": {"percentage": 100, "fixedDelay": "0.3s"}}}},
            # retries and timeouts
            {"matchers": [{"prefix": "/flaky/"}], "routeAction": single("up-a"),
             "options": {"retries": {"retryOn": "5xx", "numRetries": 3}}},
            {"matchers": [{"prefix": "/few/"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/flaky/", "retries": {"retryOn": "gateway-error", "numRetries": 1}}},
            {"matchers": [{"prefix": "/delay/"}], "routeAction": single("up-a"),
             "options": {"timeout": "3s", "retries": {"retryOn": "5xx", "numRetries": 1, "perTryTimeout": "0.3s"}}},
            # shadowing
            {"matchers": [{"prefix": "/shadowed"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo", "shadowing": {"upstream": ref("up-s"), "percentage": 100}}},
            {"matchers": [{"prefix": "/"}], "routeAction": single("up-a")},
        ]
        write_yaml(cls.cfg, "vs.yaml", vs("default", routes, options={
            "headerManipulation": {"responseHeadersToAdd": [{"header": {"key": "x-vhost", "value": "on"}}]}}))
        write_yaml(cls.cfg, "vs-sorted.yaml", vs("sorted", [
            {"matchers": [{"prefix": "/"}], "routeAction": single("up-a")},
            {"matchers": [{"prefix": "/longer/prefix"}], "routeAction": single("up-c")},
            {"matchers": [{"exact": "/exact"}], "routeAction": single("up-b")},
        ], domains=["sorted.example.com"], options={"sortRoutes": True}))
        cls.gw = stack.enter_context(Portico(cls.cfg))
        for kind, name in (("VirtualService", "default"), ("VirtualService", "sorted"),
                           ("UpstreamGroup", "ab"), ("RouteTable", "team-b")):
            cls.gw.wait_status(kind, name, "Accepted")

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def request(self, path, method="GET", headers=None, body=b"", host="example.com"):
        return http_request(self.gw.port, method, path, headers=headers, body=body, host=host)

    def backend(self, path, **kw):
        status, headers, body = self.request(path, **kw)
        return headers.get("x-backend", f"<gateway {status}: {body[:80]!r}>")

    # ---- matchers ----

    def test_header_matchers(self):
        self.assertEqual(self.backend("/m/hdr", headers={"X-Team": "b"}), "b")
        self.assertEqual(self.backend("/m/hdr", headers={"X-Ver": "v12"}), "c")
        self.assertEqual(self.backend("/m/hdr", headers={"X-Ver": "v12x"}), "a")  # full match only
        self.assertEqual(self.backend("/m/hdr"), "a")

    def test_inverted_header_matcher(self):
        self.assertEqual(self.backend("/m/inv"), "b")
        self.assertEqual(self.backend("/m/inv", headers={"X-Skip": "1"}), "a")

    def test_query_parameter_matchers(self):
        self.assertEqual(self.backend("/m/q?flag"), "b")
        self.assertEqual(self.backend("/m/q?x=1&flag=0"), "b")
        self.assertEqual(self.backend("/m/q?v=a%20b"), "c")  # compared decoded
        self.assertEqual(self.backend("/m/q?v=ab"), "a")

    def test_method_matcher(self):
        self.assertEqual(self.backend("/m/method", method="POST", body=b"x"), "b")
        self.assertEqual(self.backend("/m/method", method="PUT", body=b"x"), "b")
        self.assertEqual(self.backend("/m/method"), "a")

    def test_pseudo_header_matchers(self):
        self.assertEqual(self.backend("/m/pseudo?v=2", host="api.example.com:8080"), "c")
        self.assertEqual(self.backend("/m/pseudo?v=3", host="api.example.com"), "a")
        self.assertEqual(self.backend("/m/pseudo?v=2", host="www.example.com"), "a")

    # ---- destinations ----

    def test_weighted_split_is_statistically_right(self):
        counts = {"a": 0, "b": 0}
        conn = Connection(self.gw.port)
        try:
            for _ in range(2000):
                _, headers, _ = conn.request("GET", "/split")
                counts[headers["x-backend"]] += 1
        finally:
            conn.close()
        # 3:1 → a's share 0.75; 2000 draws: σ ≈ 0.0097, so ±0.04 is beyond 4σ.
        self.assertAlmostEqual(counts["a"] / 2000, 0.75, delta=0.04, msg=str(counts))

    def test_upstream_group(self):
        seen = {self.backend("/group") for _ in range(60)}
        self.assertEqual(seen, {"a", "b"})

    # ---- redirects and direct responses ----

    def test_redirect_prefix_rewrite_keeps_query(self):
        status, headers, _ = self.request("/redir/prefix/x/y?q=1", host="www.example.com:8080")
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"], "http://www.example.com:8080/new/x/y?q=1")

    def test_https_redirect_with_host_and_strip_query(self):
        status, headers, _ = self.request("/redir/https?a=b")
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "https://secure.example.com/redir/https")

    def test_path_redirect(self):
        status, headers, _ = self.request("/redir/path?z=9")
        self.assertEqual(status, 308)
        self.assertEqual(headers["location"], "http://example.com/elsewhere?z=9")

    def test_direct_response(self):
        status, headers, body = self.request("/direct")
        self.assertEqual((status, body), (418, b"I am a teapot"))
        self.assertNotIn("x-backend", headers)

    # ---- delegation ----

    def test_delegation_by_reference(self):
        self.assertEqual(self.backend("/team/b/anything"), "b")
        self.assertEqual(self.request("/team/zzz")[0], 404)  # the table has no route for it

    def test_delegation_by_selector_orders_tables_by_weight(self):
        # sel-early (weight 10) comes before sel-late (weight 20) whatever the file order.
        self.assertEqual(self.backend("/sel/x1"), "b")
        self.assertEqual(self.backend("/sel/other"), "c")

    # ---- rewrites and headers ----

    def test_regex_rewrite(self):
        status, _, body = self.request("/rx/pets/42")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["path"], "/echo/42/pets")

    def test_host_rewrite(self):
        _, _, body = self.request("/hostrw")
        self.assertEqual(json.loads(body)["headers"]["host"], "rewritten.example.com")

    def test_header_manipulation_and_route_override(self):
        status, headers, body = self.request("/hm", headers={"X-Secret": "s", "X-Replace": "old"})
        echo = json.loads(body)
        self.assertEqual(echo["headers"]["x-added"], "yes")
        self.assertEqual(echo["headers"]["x-replace"], "new")
        self.assertNotIn("x-secret", echo["headers"])
        self.assertEqual(headers.get("x-resp"), "r")
        self.assertNotIn("x-backend", headers)
        self.assertNotIn("x-vhost", headers)  # the route's headerManipulation replaces the vhost's

    def test_virtual_host_options_apply_to_routes(self):
        _, headers, _ = self.request("/echo")
        self.assertEqual(headers.get("x-vhost"), "on")

    # ---- CORS ----

    def test_cors_preflight_from_a_browser_shaped_request(self):
        out = curl("-s", "-i", "-X", "OPTIONS", self.gw.url("/cors/thing"),
                   "-H", "Origin: https://app.example.com",
                   "-H", "Access-Control-Request-Method: POST",
                   "-H", "Access-Control-Request-Headers: content-type")
        head = out.stdout.decode(errors="replace").split("\r\n\r\n")[0].lower()
        self.assertIn("http/1.1 200", head)
        self.assertIn("access-control-allow-origin: https://app.example.com", head)
        self.assertIn("access-control-allow-methods: get,post", head)
        self.assertIn("access-control-allow-headers: content-type", head)
        self.assertIn("access-control-max-age: 600", head)
        self.assertIn("access-control-allow-credentials: true", head)
        self.assertNotIn("x-backend", head)  # answered by the gateway

    def test_cors_origin_regex_and_simple_request(self):
        _, headers, _ = self.request("/cors", headers={"Origin": "https://api.trusted.org"})
        self.assertEqual(headers.get("access-control-allow-origin"), "https://api.trusted.org")
        self.assertEqual(headers.get("access-control-expose-headers"), "x-backend")

    def test_cors_disallowed_origin_gets_no_cors_headers(self):
        status, headers, _ = self.request("/cors", method="OPTIONS",
                                          headers={"Origin": "https://evil.com",
                                                   "Access-Control-Request-Method": "POST"})
        self.assertNotIn("access-control-allow-origin", headers)
        self.assertIn("x-backend", headers)  # not answered by the gateway: passed upstream

    # ---- faults ----

    def test_fault_abort(self):
        status, headers, body = self.request("/fault/abort")
        self.assertEqual(status, 503)
        self.assertIn(b"fault filter abort", body)

    def test_fault_delay(self):
        start = time.monotonic()
        status, headers, _ = self.request("/fault/delay")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.29)

    def test_fault_delay_keeps_the_request_body(self):
        status, _, body = self.request("/fault/delaysink", method="POST",
                                       body=b"z" * 100000)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["body_length"], 100000)

    # ---- retries and timeouts ----

    def test_retries_until_success(self):
        status, _, body = self.request("/flaky/2/key-success")
        self.assertEqual(status, 200, body)
        self.assertIn(b"after 2 failures", body)

    def test_retries_give_up_after_num_retries(self):
        status, _, body = self.request("/few/5/key-giveup")
        self.assertEqual(status, 503)
        self.assertIn(b"failure 2", body)  # first try + 1 retry

    def test_retry_replays_the_request_body(self):
        status, _, body = self.request("/flaky/1/key-body", method="POST", body=b"payload" * 1000)
        self.assertEqual(status, 200, body)

    def test_per_try_timeout_then_504(self):
        start = time.monotonic()
        status, _, body = self.request("/delay/2000")
        elapsed = time.monotonic() - start
        self.assertEqual(status, 504, body)
        self.assertLess(elapsed, 1.5)  # two tries of 0.3 s, not the backend's 2 s

    # ---- shadowing ----

    def test_shadow_copy_reaches_the_shadow_backend(self):
        status, headers, body = self.request("/shadowed", method="POST", body=b"shadow-me",
                                             host="shop.example.com")
        self.assertEqual((status, headers["x-backend"]), (200, "a"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            _, _, log = http_request(self.backends["s"].port, "GET", "/__log")
            if b"POST /echo shop.example.com-shadow" in log:
                break
            time.sleep(0.05)
        else:
            self.fail(f"the shadow backend never saw the copy: {log!r}")

    # ---- sortRoutes ----

    def test_sort_routes_most_specific_first(self):
        host = "sorted.example.com"
        self.assertEqual(self.backend("/exact", host=host), "b")
        self.assertEqual(self.backend("/longer/prefix/x", host=host), "c")
        self.assertEqual(self.backend("/other", host=host), "a")


class RoutingRejections(unittest.TestCase):
    """Invalid routing config gets a Rejected status naming the field; the rest keeps serving."""

    def test_invalid_inputs_name_the_field(self):
        with Backend("a") as a, tempfile.TemporaryDirectory(prefix="portico-reject-") as cfg:
            write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, a.port)]))
            write_yaml(cfg, "good.yaml", vs("good", [{"matchers": [{"prefix": "/"}], "routeAction": single("up-a")}],
                                            domains=["good.example.com"]))
            write_yaml(cfg, "bad-regex.yaml", vs("bad-regex", [{"matchers": [{"regex": "/(unclosed"}],
                                                                "routeAction": single("up-a")}], domains=["r.example.com"]))
            write_yaml(cfg, "zero-weight.yaml", vs("zero-weight", [{"matchers": [{"prefix": "/"}], "routeAction": {
                "multi": {"destinations": [{"destination": {"upstream": ref("up-a")}, "weight": 0}]}}}],
                domains=["w.example.com"]))
            write_yaml(cfg, "missing.yaml", vs("missing", [{"matchers": [{"prefix": "/"}], "routeAction": single("nope")}],
                                               domains=["m.example.com"]))
            write_yaml(cfg, "dup.yaml", vs("zz-dup", [{"matchers": [{"prefix": "/"}], "routeAction": single("up-a")}],
                                           domains=["good.example.com"]))
            write_yaml(cfg, "cycle.yaml", "---\n".join([
                route_table("loop-a", [{"matchers": [{"prefix": "/c/"}], "delegateAction": {"ref": ref("loop-b")}}]),
                route_table("loop-b", [{"matchers": [{"prefix": "/c/"}], "delegateAction": {"ref": ref("loop-a")}}]),
                vs("cyclic", [{"matchers": [{"prefix": "/c/"}], "delegateAction": {"ref": ref("loop-a")}}],
                   domains=["c.example.com"])]))
            with Portico(cfg) as gw:
                expectations = {
                    "bad-regex": "spec.virtualHost.routes[0].matchers[0].regex",
                    "zero-weight": "spec.virtualHost.routes[0].routeAction.multi.destinations[0].weight",
                    "missing": "spec.virtualHost.routes[0].routeAction.single.upstream",
                    "zz-dup": "spec.virtualHost.domains[0]",
                    "cyclic": "delegation cycle",
                }
                for name, fragment in expectations.items():
                    with self.subTest(name=name):
                        status = gw.wait_status("VirtualService", name, "Rejected")
                        self.assertIn(fragment, status["reason"])
                gw.wait_status("VirtualService", "good", "Accepted")
                status, headers, _ = http_request(gw.port, "GET", "/echo", host="good.example.com")
                self.assertEqual((status, headers.get("x-backend")), (200, "a"))


if __name__ == "__main__":
    unittest.main()
