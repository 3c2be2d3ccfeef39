"""Transformations and REST functions through the real gateway: Gloo's documented examples
(extracting a query parameter into a header; the Petstore REST function), JSON body templates,
response transformations, staged rules with matchers, Gloo's error answers (400 for invalid JSON
or a missing parameter, 413 above the buffer limit), config errors with line and column, and a
large upload that streams through a header-only transformation at flat gateway memory."""

import contextlib
import json
import tempfile
import unittest

from harness import (LOCALHOST, MiB, NAMESPACE, Backend, Portico, RssSampler, http_request,
                     pattern_chunks, sink_reference, to_yaml, upstream_yaml, write_yaml)


def ref(name):
    return {"name": name, "namespace": NAMESPACE}


def single(upstream, **extra):
    return {"single": {"upstream": ref(upstream), **extra}}


def tmpl(text):
    return {"text": text}


def vs(name, routes, options=None, domains=("*",)):
    vhost = {"domains": list(domains), "routes": routes}
    if options:
        vhost["options"] = options
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"virtualHost": vhost}})


def petstore_upstream(name, port):
    """A static upstream with REST functions (serviceSpec.rest), as Gloo's discovery writes them
    for the Petstore example."""
    return to_yaml({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"static": {
            "hosts": [{"addr": LOCALHOST, "port": port}],
            "serviceSpec": {"rest": {"transformations": {
                "findPetById": {"headers": {":path": tmpl('/echo/api/pets/{{ default(id, "") }}'),
                                            ":method": tmpl("GET")}},
                "findPetStrict": {"headers": {":path": tmpl("/echo/api/pets/{{ id }}"),
                                              ":method": tmpl("GET")}},
                "addPet": {"headers": {":path": tmpl("/echo/api/pets"), ":method": tmpl("POST"),
                                       "content-type": tmpl("application/json")},
                           "body": tmpl('{"id": {{ id }},"name": "{{ name }}","tag": "{{ tag }}"}')},
            }}}}}})


class Transformations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))
        cls.cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-xform-"))
        write_yaml(cls.cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cls.cfg, "petstore.yaml", petstore_upstream("petstore", cls.backend.port))
        routes = [
            # REST functions (Gloo's Petstore example)
            {"matchers": [{"prefix": "/petstore/findPet/"}],
             "routeAction": single("petstore", destinationSpec={"rest": {
                 "functionName": "findPetById",
                 "parameters": {"path": "/petstore/findPet/{id}"}}})},
            {"matchers": [{"exact": "/petstore/strict"}],
             "routeAction": single("petstore", destinationSpec={"rest": {
                 "functionName": "findPetStrict", "parameters": {"headers": {"x-pet-id": "{id}"}}}})},
            {"matchers": [{"exact": "/petstore/addPet"}],
             "routeAction": single("petstore", destinationSpec={"rest": {"functionName": "addPet"}})},
            # a JSON body template (reads the body: buffered)
            {"matchers": [{"prefix": "/body"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo", "transformations": {"requestTransformation": {
                 "transformationTemplate": {
                     "headers": {"x-name": tmpl("{{ upper(name) }}")},
                     "body": tmpl('{"greeting": "hello {{ name }}", "double": {{ n * 2 }}}')}}}}},
            # header-only: streams the body
            {"matchers": [{"prefix": "/stream"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/sink", "transformations": {"requestTransformation": {
                 "transformationTemplate": {"headers": {"x-copied": tmpl('{{ header("x-in") }}')},
                                            "passthrough": {}}}}}},
            # response transformation
            {"matchers": [{"prefix": "/resp"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/status/201", "transformations": {"responseTransformation": {
                 "transformationTemplate": {
                     "headers": {"x-upstream-status": tmpl('{{ header(":status") }}'),
                                 ":status": tmpl("200"),
                                 "x-asked": tmpl('{{ request_header("x-ask") }}')},
                     "body": tmpl("wrapped: {{ body() }}"), "parseBodyBehavior": "DontParse"}}}}},
            # staged rules with matchers
            {"matchers": [{"prefix": "/staged"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo", "stagedTransformations": {
                 "early": {"requestTransforms": [
                     {"matcher": {"prefix": "/staged/a"},
                      "requestTransformation": {"transformationTemplate": {
                          "headers": {"x-stage": tmpl("early-a")}, "passthrough": {}}}}]},
                 "regular": {"requestTransforms": [
                     {"matcher": {"prefix": "/staged", "headers": [{"name": "x-want"}]},
                      "requestTransformation": {"transformationTemplate": {
                          "headersToAppend": [{"key": "x-stage", "value": tmpl("regular")}],
                          "headersToRemove": ["x-want"], "passthrough": {}}}}]}}}},
            # extractors into the body
            {"matchers": [{"prefix": "/merge"}], "routeAction": single("up-a"),
             "options": {"prefixRewrite": "/echo", "transformations": {"requestTransformation": {
                 "transformationTemplate": {
                     "extractors": {"user.id": {"header": ":path", "regex": "/merge/([0-9]+)", "subgroup": 1},
                                    "agent": {"header": "user-agent", "regex": ".*"}},
                     "mergeExtractorsToBody": {}}}}}},
            # weighted destinations: one with its own transformation, one calling a function
            {"matchers": [{"prefix": "/wd/"}],
             "routeAction": {"multi": {"destinations": [
                 {"destination": {"upstream": ref("up-a")}, "weight": 1,
                  "options": {"transformations": {"requestTransformation": {"transformationTemplate": {
                      "headers": {"x-dest": tmpl("a")}, "passthrough": {}}}}}},
                 {"destination": {"upstream": ref("petstore"), "destinationSpec": {"rest": {
                     "functionName": "findPetById", "parameters": {"path": "/wd/{id}"}}}},
                  "weight": 1}]}},
             "options": {"prefixRewrite": "/echo/", "transformations": {"requestTransformation": {
                 "transformationTemplate": {"headers": {"x-route": tmpl("r")}, "passthrough": {}}}}}},
            {"matchers": [{"prefix": "/"}], "routeAction": single("up-a")},
        ]
        # Gloo's documented example: a query parameter extracted into a header, on the vhost.
        vhost_options = {"transformations": {"requestTransformation": {"transformationTemplate": {
            "extractors": {"foo": {"header": ":path", "regex": "(.*foo=([^&]*).*)", "subgroup": 2}},
            "headers": {"foo": tmpl("{{ foo }}")}}}}}
        write_yaml(cls.cfg, "vs.yaml", vs("default", routes, options=vhost_options))
        cls.gw = stack.enter_context(Portico(cls.cfg))
        cls.gw.wait_status("VirtualService", "default", "Accepted")

    def echo(self, method, path, headers=None, body=b""):
        status, hdrs, data = http_request(self.gw.port, method, path, headers=headers, body=body)
        self.assertEqual(status, 200, data)
        return hdrs, json.loads(data)

    def test_query_parameter_extracted_into_header(self):
        _, e = self.echo("GET", "/echo?a=1&foo=bar&b=2")
        self.assertEqual(e["headers"].get("foo"), "bar")
        self.assertEqual(e["path"], "/echo?a=1&foo=bar&b=2")

    def test_rest_function_path_parameter(self):
        _, e = self.echo("GET", "/petstore/findPet/42")
        self.assertEqual(e["path"], "/echo/api/pets/42")
        self.assertEqual(e["method"], "GET")

    def test_rest_function_parameter_from_header_then_body(self):
        _, e = self.echo("GET", "/petstore/strict", headers={"x-pet-id": "7"})
        self.assertEqual(e["path"], "/echo/api/pets/7")
        # no header: the JSON body has it
        _, e = self.echo("POST", "/petstore/strict", headers={"content-type": "application/json"},
                         body=b'{"id": 9}')
        self.assertEqual(e["path"], "/echo/api/pets/9")
        # neither: 400 naming the parameter
        status, _, body = http_request(self.gw.port, "GET", "/petstore/strict")
        self.assertEqual(status, 400)
        self.assertEqual(body, b"bad request: missing parameter: id\n")

    def test_rest_function_body_template(self):
        _, e = self.echo("POST", "/petstore/addPet", body=b'{"id": 3, "name": "rex", "tag": "dog"}')
        self.assertEqual(e["method"], "POST")
        self.assertEqual(e["path"], "/echo/api/pets")
        self.assertEqual(json.loads(e["body"]), {"id": 3, "name": "rex", "tag": "dog"})
        self.assertEqual(e["headers"]["content-length"], str(len(e["body"])))

    def test_json_body_template(self):
        _, e = self.echo("POST", "/body", body=b'{"name": "ada", "n": 21}')
        self.assertEqual(json.loads(e["body"]), {"greeting": "hello ada", "double": 42})
        self.assertEqual(e["headers"]["x-name"], "ADA")

    def test_invalid_json_is_400(self):
        status, _, body = http_request(self.gw.port, "POST", "/body", body=b"{not json")
        self.assertEqual(status, 400)
        self.assertIn(b"JSON", body)

    def test_body_over_buffer_limit_is_413(self):
        status, _, _ = http_request(self.gw.port, "POST", "/body", body=b"x" * (2 * MiB))
        self.assertEqual(status, 413)

    def test_response_transformation(self):
        status, hdrs, body = http_request(self.gw.port, "GET", "/resp", headers={"x-ask": "q"})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["x-upstream-status"], "201")
        self.assertEqual(hdrs["x-asked"], "q")
        self.assertTrue(body.startswith(b"wrapped: "), body)
        self.assertEqual(int(hdrs["content-length"]), len(body))

    def test_staged_rules_first_match_per_stage(self):
        _, e = self.echo("GET", "/staged/a")
        self.assertEqual(e["headers"].get("x-stage"), "early-a")
        _, e = self.echo("GET", "/staged/a", headers={"x-want": "1"})
        self.assertEqual(e["headers"].get("x-stage"), "early-a, regular")
        self.assertNotIn("x-want", e["headers"])
        _, e = self.echo("GET", "/staged/b")
        self.assertNotIn("x-stage", e["headers"])

    def test_weighted_destination_transformations(self):
        seen = set()
        for _ in range(40):
            _, e = self.echo("GET", "/wd/5")
            h = e["headers"]
            if e["path"] == "/echo/5":  # up-a: its own transformation replaces the route's
                self.assertEqual(h.get("x-dest"), "a")
                self.assertNotIn("x-route", h)
                seen.add("a")
            else:  # petstore: the REST function, with the route's rules before it
                self.assertEqual(e["path"], "/echo/api/pets/5")
                self.assertEqual(h.get("x-route"), "r")
                self.assertNotIn("x-dest", h)
                seen.add("fn")
        self.assertEqual(seen, {"a", "fn"})

    def test_merge_extractors_to_body(self):
        _, e = self.echo("POST", "/merge/17", headers={"user-agent": "t/1"}, body=b"{}")
        self.assertEqual(json.loads(e["body"]), {"user": {"id": "17"}, "agent": "t/1"})

    def test_header_only_transformation_streams_large_upload(self):
        total = 256 * MiB
        reference = sink_reference(self.backend.port, total)
        with RssSampler(self.gw.proc.pid) as rss:
            status, _, body = http_request(self.gw.port, "POST", "/stream",
                                           headers={"Content-Length": str(total), "x-in": "v"},
                                           body=pattern_chunks(total), timeout=120)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), reference)
        self.assertLess(rss.max_kb, 64 * 1024, "the body was buffered, not streamed")


class TransformationConfigErrors(unittest.TestCase):
    def test_template_errors_reject_with_position(self):
        with tempfile.TemporaryDirectory(prefix="portico-xform-bad-") as cfg, \
                Backend("a") as backend:
            write_yaml(cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, backend.port)]))
            write_yaml(cfg, "petstore.yaml", petstore_upstream("petstore", backend.port))
            write_yaml(cfg, "good.yaml", vs("good", [{"matchers": [{"prefix": "/"}],
                                                      "routeAction": single("up-a")}],
                                            domains=("good.example.com",)))
            with Portico(cfg) as gw:
                bad_routes = {
                    "bad-template": {"matchers": [{"prefix": "/x"}], "routeAction": single("up-a"),
                                     "options": {"transformations": {"requestTransformation": {
                                         "transformationTemplate": {"headers": {"x": tmpl("{{ nope(1) }}")}}}}}},
                    "bad-function": {"matchers": [{"prefix": "/y"}], "routeAction": single(
                        "petstore", destinationSpec={"rest": {"functionName": "missing"}})},
                    "bad-reroute": {"matchers": [{"prefix": "/z"}], "routeAction": single("up-a"),
                                    "options": {"transformations": {"clearRouteCache": True}}},
                }
                for name, r in bad_routes.items():
                    write_yaml(cfg, f"{name}.yaml", vs(name, [r], domains=(f"{name}.example.com",)))
                reason = gw.wait_status("VirtualService", "bad-template", "Rejected")["reason"]
                self.assertIn("transformationTemplate.headers.x.text: invalid template", reason)
                self.assertIn("line 1, column", reason)
                reason = gw.wait_status("VirtualService", "bad-function", "Rejected")["reason"]
                self.assertIn('function "missing" not found on upstream "petstore"', reason)
                self.assertIn("findPetById", reason)
                reason = gw.wait_status("VirtualService", "bad-reroute", "Rejected")["reason"]
                self.assertIn("clearRouteCache", reason)
                # the good one keeps serving
                status, _, _ = http_request(gw.port, "GET", "/echo", host="good.example.com")
                self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
