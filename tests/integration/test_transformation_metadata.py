"""Issue 6 leftovers through the real gateway: transformationTemplate.dynamicMetadataValues read
by the access log's %DYNAMIC_METADATA(NAMESPACE:KEY)% (text and JSON formats, request and
response side, truncation, missing values), and clearRouteCache: the route chosen again from the
transformed request (another backend, a direct response, 404), with headers-only and
body-reading transformations. Real peers: two test backends."""

import contextlib
import json
import tempfile
import unittest
from pathlib import Path

from harness import (LOCALHOST, NAMESPACE, Backend, Connection, Portico, free_port, gateway_yaml,
                     http_request, to_yaml, upstream_yaml, wait_until, write_yaml)


def ref(name):
    return {"name": name, "namespace": NAMESPACE}


def single(upstream):
    return {"single": {"upstream": ref(upstream)}}


def tmpl(text):
    return {"text": text}


def request_xform(template, clear=None):
    out = {"requestTransformation": {"transformationTemplate": template}}
    if clear is not None:
        out["clearRouteCache"] = clear
    return out


def vs(name, routes, domains=("*",)):
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"virtualHost": {"domains": list(domains), "routes": routes}}})


TEXT_FORMAT = ("%REQ(:PATH)%|%DYNAMIC_METADATA(io.solo.transformation:user)%|"
               "%DYNAMIC_METADATA(custom.ns:long):4%|%DYNAMIC_METADATA(io.solo.transformation:status)%\n")
JSON_FORMAT = {"path": "%REQ(:PATH)%", "user": "%DYNAMIC_METADATA(io.solo.transformation:user)%",
               "long": "%DYNAMIC_METADATA(custom.ns:long)%", "missing": "%DYNAMIC_METADATA(x:y)%"}

ROUTES = [
    # the targets of re-routing (first: header conditions are checked in order)
    {"matchers": [{"prefix": "/echo", "headers": [{"name": "x-target", "value": "b"}]}],
     "routeAction": single("up-b")},
    {"matchers": [{"prefix": "/echo", "headers": [{"name": "x-target", "value": "teapot"}]}],
     "directResponseAction": {"status": 418, "body": "re-routed teapot"}},
    {"matchers": [{"prefix": "/echo/moved-b"}], "routeAction": single("up-b")},
    # re-routing transformations
    {"matchers": [{"prefix": "/echo/reroute"}], "routeAction": single("up-a"),
     "options": {"transformations": request_xform({"headers": {"x-target": tmpl("b")}}, True)}},
    {"matchers": [{"prefix": "/echo/stay"}], "routeAction": single("up-a"),
     "options": {"transformations": request_xform({"headers": {"x-target": tmpl("b")}})}},
    {"matchers": [{"prefix": "/echo/teapot"}], "routeAction": single("up-a"),
     "options": {"transformations": request_xform({"headers": {"x-target": tmpl("teapot")}}, True)}},
    {"matchers": [{"prefix": "/echo/move"}], "routeAction": single("up-a"),
     "options": {"transformations": request_xform({"headers": {":path": tmpl("/echo/moved-b?q=1")}}, True)}},
    {"matchers": [{"prefix": "/echo/lost"}], "routeAction": single("up-a"),
     "options": {"transformations": request_xform({"headers": {":path": tmpl("/nowhere")}}, True)}},
    # a body-reading transformation (staged form): a JSON field becomes the routing header
    {"matchers": [{"prefix": "/echo/body"}], "routeAction": single("up-a"),
     "options": {"stagedTransformations": {"regular": {"requestTransforms": [
         {"clearRouteCache": True, "requestTransformation": {"transformationTemplate": {
             "headers": {"x-target": tmpl("{{ target }}")}}}}]}}}},
    # dynamic metadata, set on the request and on the response side
    {"matchers": [{"prefix": "/echo/meta"}], "routeAction": single("up-a"),
     "options": {"transformations": {
         "requestTransformation": {"transformationTemplate": {"dynamicMetadataValues": [
             {"key": "user", "value": tmpl('{{ header("x-user") }}')},
             {"metadataNamespace": "custom.ns", "key": "long", "value": tmpl("abcdefgh")}]}},
         "responseTransformation": {"transformationTemplate": {"dynamicMetadataValues": [
             {"key": "status", "value": tmpl('{{ header(":status") }}')}]}}}}},
    {"matchers": [{"prefix": "/echo"}], "routeAction": single("up-a")},
]


def logged(path, keyed, keys, timeout=5.0):
    """{key: entry} of the log's lines (keyed(line) -> (key, entry)) once every key is there."""
    def ready():
        p = Path(path)
        lines = p.read_text().splitlines() if p.exists() else []
        found = dict(keyed(line) for line in lines)
        return found if keys <= found.keys() else None
    return wait_until(ready, timeout, message=f"lines for {sorted(keys)} in {path}")


class TransformationMetadata(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.cfg = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-meta-")))
        cls.a = stack.enter_context(Backend("a"))
        cls.b = stack.enter_context(Backend("b"))
        cls.text_log, cls.json_log = cls.cfg / "access.log", cls.cfg / "access.json"
        write_yaml(cls.cfg, "upstreams.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.a.port)]) +
                   "---\n" + upstream_yaml("up-b", [(LOCALHOST, cls.b.port)]))
        write_yaml(cls.cfg, "vs.yaml", vs("default", ROUTES))
        write_yaml(cls.cfg, "gateway.yaml", gateway_yaml("gateway-proxy", free_port(), extra_spec={
            "options": {"accessLoggingService": {"accessLog": [
                {"fileSink": {"path": str(cls.text_log), "stringFormat": TEXT_FORMAT}},
                {"fileSink": {"path": str(cls.json_log), "jsonFormat": JSON_FORMAT}}]}}}))
        cls.gw = stack.enter_context(Portico(cls.cfg))

    def echo(self, path, **kw):
        status, _, body = http_request(self.gw.port, kw.pop("method", "GET"), path, **kw)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_clear_route_cache_goes_to_the_new_route(self):
        seen = self.echo("/echo/reroute/x")
        self.assertEqual((seen["backend"], seen["path"]), ("b", "/echo/reroute/x"))
        self.assertEqual(seen["headers"]["x-target"], "b")
        # without clearRouteCache the first route's backend gets the transformed request
        seen = self.echo("/echo/stay")
        self.assertEqual((seen["backend"], seen["headers"]["x-target"]), ("a", "b"))

    def test_new_route_actions(self):
        status, _, body = http_request(self.gw.port, "GET", "/echo/teapot")
        self.assertEqual((status, body), (418, b"re-routed teapot"))
        seen = self.echo("/echo/move")  # a template set :path: routed on it
        self.assertEqual((seen["backend"], seen["path"]), ("b", "/echo/moved-b?q=1"))
        status, _, _ = http_request(self.gw.port, "GET", "/echo/lost")
        self.assertEqual(status, 404)

    def test_body_transformation_reroutes_when_the_body_is_in(self):
        body = json.dumps({"target": "b", "n": 1}).encode()
        seen = self.echo("/echo/body", method="POST", body=body,
                         headers={"Content-Type": "application/json"})
        self.assertEqual((seen["backend"], seen["headers"]["x-target"]), ("b", "b"))
        self.assertEqual(seen["body"], body.decode())  # the body as sent
        seen = self.echo("/echo/body", method="POST", body=b'{"target": "a"}')
        self.assertEqual(seen["backend"], "a")
        # chunked: the body is complete only at its last chunk
        seen = self.echo("/echo/body", method="POST", body=iter([b'{"tar', b'get": "b"}']),
                         encode_chunked=True)
        self.assertEqual(seen["backend"], "b")

    def test_dynamic_metadata_in_access_logs(self):
        conn = Connection(self.gw.port)
        try:
            status, _, _ = conn.request("GET", "/echo/meta/1", headers={"X-User": "alice"})
            self.assertEqual(status, 200)
            # same connection, a route without transformations: nothing left over
            status, _, _ = conn.request("GET", "/echo/plain", headers={"X-User": "bob"})
            self.assertEqual(status, 200)
        finally:
            conn.close()
        paths = {"/echo/meta/1", "/echo/plain"}
        text = logged(self.text_log, lambda line: (line.split("|")[0], line), paths)
        records = logged(self.json_log, lambda line: (json.loads(line)["path"], json.loads(line)), paths)
        self.assertEqual(text["/echo/meta/1"], "/echo/meta/1|alice|abcd|200")
        self.assertEqual(text["/echo/plain"], "/echo/plain|-|-|-")
        self.assertEqual(records["/echo/meta/1"],
                         {"path": "/echo/meta/1", "user": "alice", "long": "abcdefgh", "missing": None})
        self.assertEqual(records["/echo/plain"],
                         {"path": "/echo/plain", "user": None, "long": None, "missing": None})


class Rejections(unittest.TestCase):
    def test_unsupported_forms_are_named(self):
        with tempfile.TemporaryDirectory(prefix="portico-meta-bad-") as tmp, Backend("a") as a:
            cfg = Path(tmp)
            write_yaml(cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, a.port)]))
            write_yaml(cfg, "good.yaml", vs("good", [{"matchers": [{"prefix": "/"}],
                                                      "routeAction": single("up-a")}],
                                            domains=("good.example.com",)))
            write_yaml(cfg, "proto.yaml", vs("proto", [
                {"matchers": [{"prefix": "/"}], "routeAction": single("up-a"),
                 "options": {"transformations": request_xform({"dynamicMetadataValues": [
                     {"key": "k", "value": tmpl("v"), "jsonToProto": True}]})}}],
                domains=("proto.example.com",)))
            write_yaml(cfg, "alone.yaml", vs("alone", [
                {"matchers": [{"prefix": "/"}], "routeAction": single("up-a"),
                 "options": {"transformations": {"clearRouteCache": True}}}],
                domains=("alone.example.com",)))
            good = free_port()  # the gateway serving "good" while the others are rejected
            write_yaml(cfg, "gateway.yaml", gateway_yaml("gateway-proxy", good))
            write_yaml(cfg, "gw2.yaml", gateway_yaml("nested", free_port(), extra_spec={
                "options": {"accessLoggingService": {"accessLog": [{"fileSink": {
                    "path": str(cfg / "x.log"), "stringFormat": "%DYNAMIC_METADATA(ns:a:b)%"}}]}}}))
            with Portico(cfg) as gw:
                reason = gw.wait_status("VirtualService", "proto", "Rejected")["reason"]
                self.assertIn("dynamicMetadataValues[0].jsonToProto: not supported by Portico", reason)
                reason = gw.wait_status("VirtualService", "alone", "Rejected")["reason"]
                self.assertIn("transformations.clearRouteCache: needs a requestTransformation", reason)
                reason = gw.wait_status("Gateway", "nested", "Rejected")["reason"]
                self.assertIn("%DYNAMIC_METADATA(ns:a:b)%: nested keys are not supported", reason)
                status, _, _ = http_request(good, "GET", "/echo", host="good.example.com")
                self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
