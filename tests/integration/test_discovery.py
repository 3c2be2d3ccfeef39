"""OpenAPI function discovery through the real gateway: a small Petstore service (the public
Swagger Petstore document, tests/integration/data/) is probed on Gloo's paths, found through
swaggerInfo.url (OpenAPI 3 in YAML) or given inline; its operations become REST functions that
routes call with parameters from the path, headers and the JSON body as in Gloo's petstore
tutorial. Also: the WHITELIST label, a document that does not parse, an unreachable host, the
user's own transformations winning, and a restart that serves the stored functions.
DiscoveryModesAndTls: BLACKLIST and DISABLED, and discovery over TLS from nginx (the upstream's
sslConfig: SNI, rootCa; an https:// swaggerInfo.url). SettingsObject: a Gloo Settings object's
discovery.fdsMode overrides the flag while it exists."""

import contextlib
import json
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from harness import (LOCALHOST, NAMESPACE, Nginx, Portico, closed_port, free_port, http_request,
                     to_yaml, wait_until, write_yaml)
from test_tls import make_cert

DATA = Path(__file__).resolve().parent / "data"
LABEL = "discovery.solo.io/function_discovery"
FUNCTIONS = ["addPet", "deletePet", "findPetById", "findPets"]


class PetstoreHandler(BaseHTTPRequestHandler):
    """The pet operations of the Petstore document, in memory, plus the documents."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, body):
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "content-type": self.headers.get("Content-Type"),
                                     "body": body})

    def do_GET(self):
        self._body()
        url = urlsplit(self.path)
        docs = self.server.documents
        if url.path in docs:
            return self._send(200, docs[url.path][0], docs[url.path][1])
        self._record(b"")
        pets = self.server.pets
        if url.path in ("/api/pets", "/api/pets/"):
            q = parse_qs(url.query)
            tags = [t for t in ",".join(q.get("tags", [""])).split(",") if t]
            out = [p for p in sorted(pets.values(), key=lambda p: p["id"])
                   if not tags or p.get("tag") in tags]
            limit = q.get("limit", [""])[0]
            if limit:
                out = out[:int(limit)]
            return self._send(200, out)
        if url.path.startswith("/api/pets/"):
            pet = pets.get(url.path[len("/api/pets/"):])
            return self._send(200, pet) if pet else self._send(404, {"code": 404, "message": "no pet"})
        return self._send(404, {"code": 404, "message": "not found"})

    def do_POST(self):
        body = self._body()
        self._record(body)
        if urlsplit(self.path).path != "/api/pets":
            return self._send(404, {"code": 404, "message": "not found"})
        try:
            pet = json.loads(body)
        except ValueError:
            return self._send(400, {"code": 400, "message": "invalid JSON"})
        if not pet.get("name"):
            return self._send(400, {"code": 400, "message": "name is required"})
        pet["id"] = max([int(k) for k in self.server.pets] + [0]) + 1
        self.server.pets[str(pet["id"])] = pet
        return self._send(200, pet)

    def do_DELETE(self):
        self._body()
        self._record(b"")
        pet = self.server.pets.pop(self.path[len("/api/pets/"):], None)
        return self._send(204, b"") if pet else self._send(404, {"code": 404, "message": "no pet"})


class Petstore:
    def __init__(self, port=0):
        self.port = port
        self.server = None

    def start(self):
        self.server = ThreadingHTTPServer((LOCALHOST, self.port), PetstoreHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.server.pets = {"1": {"id": 1, "name": "Dog", "tag": "available"},
                            "2": {"id": 2, "name": "Cat", "tag": "pending"}}
        self.server.requests = []
        self.server.documents = {
            "/swagger.json": ((DATA / "petstore-swagger.json").read_bytes(), "application/json"),
            "/docs/petstore.yaml": ((DATA / "petstore-openapi3.yaml").read_bytes(),
                                    "application/yaml"),
            "/broken.json": (b'{"swagger": "2.0", "paths": {', "application/json"),
        }
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def upstream(name, port, labels=None, service_spec=None, ssl=None):
    static = {"hosts": [{"addr": LOCALHOST, "port": port}]}
    if service_spec:
        static["serviceSpec"] = service_spec
    meta = {"name": name, "namespace": NAMESPACE}
    if labels:
        meta["labels"] = labels
    spec = {"static": static}
    if ssl is not None:
        spec["sslConfig"] = ssl
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream", "metadata": meta,
                    "spec": spec})


def rest_route(matcher, upstream_name, function, parameters=None):
    rest = {"functionName": function}
    if parameters is not None:
        rest["parameters"] = parameters
    return {"matchers": [matcher], "routeAction": {"single": {
        "upstream": {"name": upstream_name, "namespace": NAMESPACE},
        "destinationSpec": {"rest": rest}}}}


def vs(name, routes):
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"virtualHost": {"domains": ["*"], "routes": routes}}})


class Discovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.petstore = Petstore().start()
        cls.addClassCleanup(lambda: cls.petstore.stop())
        cls.cfg = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-disc-")))
        p = cls.petstore.port
        base = f"http://{LOCALHOST}:{p}"
        upstreams = "---\n".join([
            upstream("petstore", p, labels={LABEL: "enabled"}),
            upstream("petstore-plain", p),  # not labelled: WHITELIST leaves it alone
            upstream("petstore-url", p, service_spec={"rest": {
                "swaggerInfo": {"url": f"{base}/docs/petstore.yaml"},
                # the user's own findPets wins over the discovered one
                "transformations": {"findPets": {"headers": {
                    ":path": {"text": "/api/pets?limit=1"}, ":method": {"text": "GET"}}}}}}),
            upstream("petstore-inline", p, service_spec={"rest": {"swaggerInfo": {
                "inline": (DATA / "petstore-openapi3.yaml").read_text()}}}),
            upstream("petstore-broken", p, service_spec={"rest": {"swaggerInfo": {
                "url": f"{base}/broken.json"}}}),
            upstream("petstore-broken-inline", p, service_spec={"rest": {"swaggerInfo": {
                "inline": "swagger: [1, 2"}}}),
            upstream("petstore-down", closed_port(), labels={LABEL: "enabled"}),
        ])
        cls.upstreams_text = upstreams
        write_yaml(cls.cfg, "upstreams.yaml", upstreams)
        write_yaml(cls.cfg, "vs.yaml", vs("petstore", [
            # Gloo's tutorial: the id from the JSON body, then from the path
            rest_route({"exact": "/petstore/findPet"}, "petstore", "findPetById", {}),
            rest_route({"prefix": "/petstore/findWithId/"}, "petstore", "findPetById",
                       {"path": "/petstore/findWithId/{id}"}),
            # addPet with the fields from headers (§1.7) or from the JSON body
            rest_route({"exact": "/petstore/add"}, "petstore", "addPet",
                       {"headers": {"x-pet-name": "{name}", "x-pet-tag": "{tag}"}}),
            rest_route({"exact": "/petstore/addJson"}, "petstore", "addPet"),
            rest_route({"exact": "/petstore/list"}, "petstore", "findPets",
                       {"headers": {"x-limit": "{limit}"}}),
            rest_route({"prefix": "/petstore/delete/"}, "petstore", "deletePet",
                       {"path": "/petstore/delete/{id}"}),
            rest_route({"exact": "/url/list"}, "petstore-url", "findPets"),
            rest_route({"prefix": "/url/pet/"}, "petstore-url", "findPetById",
                       {"path": "/url/pet/{id}"}),
            rest_route({"prefix": "/inline/pet/"}, "petstore-inline", "findPetById",
                       {"path": "/inline/pet/{id}"}),
        ]))
        cls.gw = Portico(cls.cfg, extra_args=["--discovery-mode", "WHITELIST"])
        cls.gw.start()
        cls.addClassCleanup(lambda: cls.gw.stop())
        # Routes to discovered functions are rejected until discovery has written them.
        cls.gw.wait_status("VirtualService", "petstore", "Accepted", timeout=20)

    def get(self, path, method="GET", headers=None, body=b""):
        status, hdrs, data = http_request(self.gw.port, method, path, headers=headers, body=body)
        return status, data

    def discovery_of(self, name):
        s = self.gw.status_of("Upstream", name)
        return s, (s or {}).get("discovery")

    def test_1_probe_finds_every_operation(self):
        dump = self.gw.config_dump()["objects"]
        ups = {o["metadata"]["name"]: o for o in dump if o["kind"] == "Upstream"}
        fns = ups["petstore"]["spec"]["static"]["serviceSpec"]["rest"]["transformations"]
        self.assertEqual(sorted(fns), FUNCTIONS)
        self.assertEqual(fns["findPetById"]["headers"][":path"]["text"],
                         '/api/pets/{{ default(id, "") }}')
        self.assertEqual(fns["addPet"]["body"]["text"],
                         '{"name": "{{ default(name, "")}}","tag": "{{ default(tag, "")}}"}')
        found = [o for o in dump if o["kind"] == "DiscoveredFunctions"
                 and o["metadata"]["name"] == "petstore"]
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["spec"]["source"],
                         f"http://{LOCALHOST}:{self.petstore.port}/swagger.json")
        self.assertEqual(sorted(found[0]["spec"]["functions"]), FUNCTIONS)
        # written beside the user's files, never into them
        self.assertTrue((self.cfg / NAMESPACE / "discoveredfunctions-petstore.yaml").is_file())
        self.assertEqual((self.cfg / "upstreams.yaml").read_text(), self.upstreams_text)
        status, disc = self.discovery_of("petstore")
        self.assertEqual(status["state"], "Accepted")
        self.assertEqual(disc["state"], "Discovered")
        self.assertEqual(disc["functions"], 4)

    def test_2_find_pet_by_id_from_body_and_path(self):
        status, data = self.get("/petstore/findPet", method="POST", body=b'{"id": 1}')
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data), {"id": 1, "name": "Dog", "tag": "available"})
        status, data = self.get("/petstore/findWithId/2")
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["name"], "Cat")
        # no id at all: /api/pets/ (Gloo's tutorial gets the whole list)
        status, data = self.get("/petstore/findPet")
        self.assertEqual(status, 200, data)
        self.assertGreaterEqual(len(json.loads(data)), 2)
        last = self.petstore.server.requests[-1]
        self.assertEqual((last["method"], last["path"]), ("GET", "/api/pets/"))

    def test_3_add_pet_from_headers_and_json_body(self):
        status, data = self.get("/petstore/add", method="POST",
                                headers={"x-pet-name": "Parrot", "x-pet-tag": "loud"})
        self.assertEqual(status, 200, data)
        pet = json.loads(data)
        self.assertEqual((pet["name"], pet["tag"]), ("Parrot", "loud"))
        last = self.petstore.server.requests[-1]
        self.assertEqual((last["method"], last["path"]), ("POST", "/api/pets"))
        self.assertEqual(last["content-type"], "application/json")
        self.assertEqual(json.loads(last["body"]), {"name": "Parrot", "tag": "loud"})
        status, data = self.get("/petstore/addJson", method="PUT",
                                headers={"content-type": "application/json"},
                                body=b'{"name": "Hamster", "tag": "small", "extra": 1}')
        self.assertEqual(status, 200, data)
        hamster = json.loads(data)
        self.assertEqual(self.petstore.server.requests[-1]["method"], "POST")
        status, data = self.get(f"/petstore/findWithId/{hamster['id']}")
        self.assertEqual(json.loads(data)["name"], "Hamster")
        status, _ = self.get(f"/petstore/delete/{hamster['id']}", method="POST")
        self.assertEqual(status, 204)
        status, _ = self.get(f"/petstore/findWithId/{hamster['id']}")
        self.assertEqual(status, 404)

    def test_4_query_parameters(self):
        status, data = self.get("/petstore/list", headers={"x-limit": "1"})
        self.assertEqual(status, 200, data)
        self.assertEqual(len(json.loads(data)), 1)
        self.assertEqual(self.petstore.server.requests[-1]["path"], "/api/pets?tags=&limit=1")

    def test_5_swagger_url_yaml_and_the_users_functions_win(self):
        status, disc = self.discovery_of("petstore-url")
        self.assertEqual(disc["state"], "Discovered", disc)
        self.assertEqual(disc["source"], f"http://{LOCALHOST}:{self.petstore.port}/docs/petstore.yaml")
        status, data = self.get("/url/pet/1")
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["name"], "Dog")
        status, data = self.get("/url/list")
        self.assertEqual(status, 200, data)
        self.assertEqual(self.petstore.server.requests[-1]["path"], "/api/pets?limit=1")
        dump = self.gw.config_dump()["objects"]
        up = [o for o in dump if o["kind"] == "Upstream" and o["metadata"]["name"] == "petstore-url"][0]
        fns = up["spec"]["static"]["serviceSpec"]["rest"]["transformations"]
        self.assertEqual(sorted(fns), FUNCTIONS)
        self.assertEqual(fns["findPets"]["headers"][":path"]["text"], "/api/pets?limit=1")

    def test_6_inline_document(self):
        status, disc = self.discovery_of("petstore-inline")
        self.assertEqual(status["state"], "Accepted")
        self.assertEqual((disc["state"], disc["source"], disc["functions"]), ("Discovered", "inline", 4))
        status, data = self.get("/inline/pet/2")
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["name"], "Cat")

    def test_7_whitelist_label(self):
        status, disc = self.discovery_of("petstore-plain")
        self.assertEqual(status["state"], "Accepted")
        self.assertIsNone(disc)
        self.assertFalse((self.cfg / NAMESPACE / "discoveredfunctions-petstore-plain.yaml").exists())

    def test_8_bad_documents_and_unreachable_hosts_are_reported_not_fatal(self):
        def failed(name):
            s, d = self.discovery_of(name)
            return (s, d) if d and d["state"] == "Failed" else None
        status, disc = wait_until(lambda: failed("petstore-broken"), 10, 0.1, "broken document")
        self.assertEqual(status["state"], "Accepted")
        self.assertIn("/broken.json: not JSON or YAML", disc["reason"])
        status, disc = wait_until(lambda: failed("petstore-down"), 10, 0.1, "unreachable host")
        self.assertEqual(status["state"], "Accepted")
        self.assertTrue(disc["reason"].startswith("no functions discovered yet: "), disc["reason"])
        status = self.gw.status_of("Upstream", "petstore-broken-inline")
        self.assertEqual(status["state"], "Warning")
        self.assertIn("spec.static.serviceSpec.rest.swaggerInfo.inline: not JSON or YAML",
                      status["reason"])
        self.assertTrue(self.gw.running())

    def test_9_restart_serves_the_stored_functions(self):
        stored = (self.cfg / NAMESPACE / "discoveredfunctions-petstore.yaml").read_text()
        self.gw.stop()
        self.petstore.stop()  # the service is down: nothing can be discovered again
        gw = Portico(self.cfg, extra_args=["--discovery-mode", "WHITELIST"]).start()
        try:
            s = gw.status_of("VirtualService", "petstore")
            self.assertEqual(s["state"], "Accepted", s)
            ups = {o["metadata"]["name"]: o for o in gw.config_dump()["objects"]
                   if o["kind"] == "Upstream"}
            self.assertEqual(sorted(ups["petstore"]["spec"]["static"]["serviceSpec"]["rest"]
                                    ["transformations"]), FUNCTIONS)

            def stored_state():
                d = (gw.status_of("Upstream", "petstore") or {}).get("discovery")
                return d if d and d["state"] == "Failed" else None
            d = wait_until(stored_state, 10, 0.1, "a failed rediscovery")
            self.assertIn("serving the stored ones", d["reason"])
            self.assertEqual(d["functions"], 4)
            self.assertEqual((self.cfg / NAMESPACE / "discoveredfunctions-petstore.yaml").read_text(),
                             stored)
            # back up on the same port: served from the stored functions right away
            self.petstore = Petstore(self.petstore.port).start()
            self.__class__.petstore = self.petstore
            status, _, data = http_request(gw.port, "GET", "/petstore/findWithId/1")
            self.assertEqual(status, 200, data)
            self.assertEqual(json.loads(data)["name"], "Dog")
        finally:
            gw.stop()


class DiscoveryModesAndTls(unittest.TestCase):
    """nginx serves the Petstore document (and a findPets answer) over TLS only; a gateway in
    BLACKLIST mode discovers every upstream not labelled disabled, then one in DISABLED mode
    discovers nothing and keeps serving what was stored."""

    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        d = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-disc-tls-")))
        certs = d / "certs"
        certs.mkdir()
        cls.ca = make_cert(certs, "ca", "/CN=Discovery Test CA", "DNS:ca.test")
        other = make_cert(certs, "other-ca", "/CN=Other CA", "DNS:other-ca.test")
        srv, key = make_cert(certs, "server", "/CN=petstore.test",
                             f"DNS:petstore.test,IP:{LOCALHOST}", cls.ca)
        docs = d / "docs"
        (docs / "docs").mkdir(parents=True)
        (docs / "swagger.json").write_bytes((DATA / "petstore-swagger.json").read_bytes())
        (docs / "docs" / "petstore.yaml").write_bytes((DATA / "petstore-openapi3.yaml").read_bytes())
        cls.log = d / "nginx-access.log"
        cls.p_tls = free_port()
        conf = f"""
  log_format disc '$request_uri sni=$ssl_server_name agent=$http_user_agent';
  server {{
    listen {LOCALHOST}:{cls.p_tls} ssl;
    ssl_certificate {srv}; ssl_certificate_key {key};
    access_log {cls.log} disc;
    location / {{ root {docs}; default_type application/json; }}
    location = /api/pets {{ default_type application/json; return 200 '[{{"id":1,"name":"Dog"}}]'; }}
  }}"""
        cls.nginx = Nginx(conf, wait_ports=[cls.p_tls]).start()
        cls.addClassCleanup(lambda: cls.nginx.stop())
        cls.cfg = d / "config"
        p = cls.p_tls
        verified = {"sslFiles": {"rootCa": str(cls.ca[0])}, "sni": "petstore.test"}
        write_yaml(cls.cfg, "upstreams.yaml", "---\n".join([
            # not labelled: BLACKLIST probes it, over TLS with its SNI and rootCa
            upstream("tls-probe", p, ssl=verified),
            upstream("tls-off", p, labels={LABEL: "disabled"}, ssl=verified),
            upstream("tls-wrong-ca", p, ssl={"sslFiles": {"rootCa": str(other[0])}}),
            upstream("tls-url", p, ssl={"sslFiles": {"rootCa": str(cls.ca[0])}}, service_spec={
                "rest": {"swaggerInfo": {"url": f"https://{LOCALHOST}:{p}/docs/petstore.yaml"}}}),
            # https:// without sslConfig: the system CAs, which do not know the test CA
            upstream("url-system-ca", p, service_spec={"rest": {"swaggerInfo": {
                "url": f"https://{LOCALHOST}:{p}/swagger.json"}}}),
        ]))
        write_yaml(cls.cfg, "vs.yaml", vs("tls", [
            rest_route({"exact": "/tls/list"}, "tls-probe", "findPets"),
        ]))

    def test_1_blacklist_and_discovery_over_tls(self):
        gw = Portico(self.cfg, extra_args=["--discovery-mode", "BLACKLIST"]).start()
        try:
            gw.wait_status("VirtualService", "tls", "Accepted", timeout=20)

            def state(name, want):
                disc = (gw.status_of("Upstream", name) or {}).get("discovery")
                return disc if disc and disc["state"] == want else None
            disc = wait_until(lambda: state("tls-probe", "Discovered"), 10, 0.1, "tls-probe")
            self.assertEqual((disc["source"], disc["functions"]),
                             (f"https://{LOCALHOST}:{self.p_tls}/swagger.json", 4))
            disc = wait_until(lambda: state("tls-url", "Discovered"), 10, 0.1, "tls-url")
            self.assertEqual(disc["functions"], 4)
            disc = wait_until(lambda: state("tls-wrong-ca", "Failed"), 10, 0.1, "tls-wrong-ca")
            self.assertIn("TLS handshake", disc["reason"])
            self.assertIn("certificate", disc["reason"])
            disc = wait_until(lambda: state("url-system-ca", "Failed"), 10, 0.1, "url-system-ca")
            self.assertIn("certificate", disc["reason"])
            self.assertIsNone(gw.status_of("Upstream", "tls-off").get("discovery"))
            self.assertFalse((self.cfg / NAMESPACE / "discoveredfunctions-tls-off.yaml").exists())
            # the probe sent the upstream's SNI; the route calls the discovered function over TLS
            log = self.log.read_text()
            self.assertIn("/swagger.json sni=petstore.test agent=portico-discovery", log)
            status, _, data = http_request(gw.port, "GET", "/tls/list")
            self.assertEqual(status, 200, data)
            self.assertEqual(json.loads(data), [{"id": 1, "name": "Dog"}])
        finally:
            gw.stop()

    def test_2_disabled_discovers_nothing_and_keeps_the_stored_functions(self):
        stored = self.cfg / NAMESPACE / "discoveredfunctions-tls-probe.yaml"
        self.assertTrue(stored.is_file())
        text = stored.read_text()
        before = self.log.read_text().count("agent=portico-discovery")
        gw = Portico(self.cfg, extra_args=["--discovery-mode", "DISABLED"]).start()
        try:
            gw.wait_status("VirtualService", "tls", "Accepted", timeout=10)
            status, _, data = http_request(gw.port, "GET", "/tls/list")
            self.assertEqual(status, 200, data)
            for name in ("tls-probe", "tls-url", "tls-wrong-ca"):
                self.assertIsNone(gw.status_of("Upstream", name).get("discovery"), name)
            self.assertEqual(stored.read_text(), text)
            self.assertEqual(self.log.read_text().count("agent=portico-discovery"), before)
        finally:
            gw.stop()


class SettingsObject(unittest.TestCase):
    """The gateway runs with the default flag (WHITELIST); a gloo.solo.io/v1 Settings object
    named default with fdsMode BLACKLIST turns discovery on for an unlabelled upstream, and
    deleting it switches back (the upstream's discovered functions are removed)."""

    def test_settings_fds_mode_overrides_the_flag_until_deleted(self):
        with Petstore() as petstore, tempfile.TemporaryDirectory(prefix="portico-settings-") as tmp:
            cfg = Path(tmp)
            write_yaml(cfg, "upstreams.yaml", upstream("plain", petstore.port))
            write_yaml(cfg, "vs.yaml", vs("plain", [
                rest_route({"prefix": "/pet/"}, "plain", "findPetById", {"path": "/pet/{id}"})]))
            gw = Portico(cfg).start()
            try:
                gw.wait_status("VirtualService", "plain", "Rejected", timeout=10)
                self.assertIsNone(gw.status_of("Upstream", "plain").get("discovery"))

                # Gloo's own file, with control-plane fields that Portico lists as ignored
                write_yaml(cfg, "settings.yaml", to_yaml({
                    "apiVersion": "gloo.solo.io/v1", "kind": "Settings",
                    "metadata": {"name": "default", "namespace": NAMESPACE},
                    "spec": {"discovery": {"fdsMode": "BLACKLIST"},
                             "discoveryNamespace": NAMESPACE, "refreshRate": "60s",
                             "gloo": {"xdsBindAddr": "0.0.0.0:9977"}}}))
                gw.wait_status("VirtualService", "plain", "Accepted", timeout=20)
                settings = gw.status_of("Settings", "default")
                self.assertEqual(settings["state"], "Warning")
                self.assertIn("spec.discoveryNamespace, spec.refreshRate, spec.gloo.xdsBindAddr",
                              settings["reason"])
                self.assertEqual(gw.status_of("Upstream", "plain")["discovery"]["state"], "Discovered")
                status, _, data = http_request(gw.port, "GET", "/pet/2")
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["name"], "Cat")
                stored = cfg / NAMESPACE / "discoveredfunctions-plain.yaml"
                self.assertTrue(stored.is_file())

                # a data-plane field Portico lacks: Rejected by name, the last version serves
                write_yaml(cfg, "settings.yaml", to_yaml({
                    "apiVersion": "gloo.solo.io/v1", "kind": "Settings",
                    "metadata": {"name": "default", "namespace": NAMESPACE},
                    "spec": {"discovery": {"fdsMode": "BLACKLIST"},
                             "ratelimit": {"descriptors": []}}}))
                gw.wait_status("Settings", "default", "Rejected", timeout=10)
                reason = gw.status_of("Settings", "default")["reason"]
                self.assertIn("spec.ratelimit: field not supported by Portico yet", reason)
                self.assertIn("the last accepted version keeps serving", reason)
                self.assertEqual(gw.status_of("Upstream", "plain")["discovery"]["state"], "Discovered")

                (cfg / "settings.yaml").unlink()
                wait_until(lambda: not stored.exists(), 10, 0.1, "discovered functions removed")
                wait_until(lambda: gw.status_of("Upstream", "plain").get("discovery") is None,
                           10, 0.1, "discovery off again")
                self.assertIsNone(gw.status_of("Settings", "default"))
                self.assertIn("function discovery: WHITELIST (was BLACKLIST)", gw.logs())
            finally:
                gw.stop()


if __name__ == "__main__":
    unittest.main()
