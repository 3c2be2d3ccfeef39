"""Upstream TLS: Upstream sslConfig (secretRef | sslFiles, sni, verifySubjectAltName), static
useTls / sniAddr / port 443, keep-alive and session reuse, CA verification, client
certificates, health checks and shadow requests over TLS, bad material rejected.

Real peers: nginx serving HTTPS with certificates made by the openssl CLI in the test; each
nginx answer echoes what it saw of the TLS session ($ssl_server_name, $ssl_session_reused,
$connection, $ssl_client_s_dn).
"""

import json
import os
import socket
import tempfile
import time
import unittest
from pathlib import Path

import harness
from harness import (LOCALHOST, MiB, NAMESPACE, Backend, Connection, Nginx, PatternChecker, Portico,
                     free_port, http_request, pattern_chunks, to_yaml, wait_until, write_yaml)
from test_tls import make_cert


def upstream(name, hosts, ssl=None, static_extra=None, **spec):
    static = {"hosts": hosts}
    static.update(static_extra or {})
    s = {"static": static}
    if ssl is not None:
        s["sslConfig"] = ssl
    s.update(spec)
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE}, "spec": s})


def to(up, prefix, options=None):
    r = {"matchers": [{"prefix": prefix}],
         "routeAction": {"single": {"upstream": {"name": up, "namespace": NAMESPACE}}}}
    if options:
        r["options"] = options
    return r


def parse(body):
    """nginx's echo line "k=v k=v ..." → dict."""
    return dict(item.split("=", 1) for item in body.decode().split())


ECHO = ('return 200 "sni=$ssl_server_name reused=$ssl_session_reused conn=$connection '
        'proto=$ssl_protocol client=$ssl_client_verify\\n";')


class UpstreamTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-utls-")
        d = Path(cls.tmp.name)
        certs = d / "certs"
        certs.mkdir()
        cls.ca = make_cert(certs, "ca", "/CN=Upstream Test CA", "DNS:ca.test")
        cls.other_ca = make_cert(certs, "other-ca", "/CN=Other CA", "DNS:other-ca.test")
        cls.server = make_cert(certs, "server", "/CN=upstream.test",
                               "DNS:upstream.test,DNS:*.wild.test", cls.ca)
        cls.foreign = make_cert(certs, "foreign", "/CN=upstream.test", "DNS:upstream.test",
                                cls.other_ca)
        cls.client = make_cert(certs, "client", "/CN=portico-client",
                               "URI:spiffe://portico/client", cls.ca)
        (d / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n"
                                       "-----END CERTIFICATE-----\n")
        # Big bodies over the TLS upstream: a file nginx serves, and uploads nginx passes on to
        # the test backend's /sink (which hashes them).
        cls.big = 24 * MiB
        (d / "big").mkdir()
        (d / "big" / "file").write_bytes(harness.bytes_pattern(cls.big))
        cls.backend = Backend("utls-sink").start()

        cls.p_tls, cls.p_mtls, cls.p_foreign, cls.p_tls12 = (free_port() for _ in range(4))
        log_fmt = ("log_format tls '$request_uri $ssl_server_name $ssl_protocol $http_user_agent';\n")
        srv, key = cls.server
        cls.hc_log = d / "hc.log"
        cls.nginx_conf = log_fmt + f"""
  server {{
    listen {LOCALHOST}:{cls.p_tls} ssl;
    ssl_certificate {srv}; ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000;
    access_log {cls.hc_log} tls;
    location / {{ {ECHO} }}
    location /keepalive/big/ {{ alias {d}/big/; }}
    location = /keepalive/sink {{
      client_max_body_size 0; proxy_request_buffering off;
      proxy_pass http://{LOCALHOST}:{cls.backend.port}/sink;
    }}
  }}
  server {{
    listen {LOCALHOST}:{cls.p_tls12} ssl;
    ssl_certificate {srv}; ssl_certificate_key {key};
    ssl_protocols TLSv1.2;
    location / {{ {ECHO} }}
  }}
  server {{
    listen {LOCALHOST}:{cls.p_mtls} ssl;
    ssl_certificate {srv}; ssl_certificate_key {key};
    ssl_verify_client on; ssl_client_certificate {cls.ca[0]};
    location / {{ return 200 "client=$ssl_client_verify dn=$ssl_client_s_dn\\n"; }}
  }}
  server {{
    listen {LOCALHOST}:{cls.p_foreign} ssl;
    ssl_certificate {cls.foreign[0]}; ssl_certificate_key {cls.foreign[1]};
    location / {{ {ECHO} }}
  }}"""
        cls.nginx = Nginx(cls.nginx_conf, wait_ports=[cls.p_tls, cls.p_mtls, cls.p_foreign, cls.p_tls12]).start()

        cls.cfg = d / "config"
        host = lambda port, **kw: dict({"addr": LOCALHOST, "port": port}, **kw)  # noqa: E731
        ups = [
            # no rootCa: TLS without verification (Gloo/Envoy default); two requests per
            # connection so that the second connection shows session reuse
            upstream("plain-tls", [host(cls.p_tls)], {"sni": "upstream.test"},
                     connectionConfig={"maxRequestsPerConnection": 2}),
            upstream("plain-tls12", [host(cls.p_tls12)], {"sni": "upstream.test"},
                     connectionConfig={"maxRequestsPerConnection": 2}),
            upstream("keepalive", [host(cls.p_tls)], {"sni": "keepalive.test"}),
            upstream("verify-ok", [host(cls.p_tls)], {
                "sslFiles": {"rootCa": str(cls.ca[0])}, "sni": "api.wild.test",
                "verifySubjectAltName": ["api.wild.test"]}),
            upstream("verify-wrong-ca", [host(cls.p_tls)], {"sslFiles": {"rootCa": str(cls.other_ca[0])}}),
            upstream("san-mismatch", [host(cls.p_tls)], {
                "sslFiles": {"rootCa": str(cls.ca[0])}, "verifySubjectAltName": ["other.test"]}),
            upstream("mtls", [host(cls.p_mtls)], {"secretRef": {"name": "client-tls"}}),
            upstream("mtls-files", [host(cls.p_mtls)], {"sslFiles": {
                "tlsCert": str(cls.client[0]), "tlsKey": str(cls.client[1]), "rootCa": str(cls.ca[0])}}),
            upstream("mtls-nocert", [host(cls.p_mtls)], {}),
            upstream("use-tls", [host(cls.p_tls, sniAddr="static.test")], static_extra={"useTls": True}),
            upstream("use-tls-nosni", [host(cls.p_tls)], static_extra={"useTls": True}),
            # one host with a certificate from another CA, one good: retries on connect-failure
            upstream("mixed", [host(cls.p_foreign), host(cls.p_tls)], {"sslFiles": {"rootCa": str(cls.ca[0])}}),
            upstream("hc", [host(cls.p_tls)], {"sni": "hc.test"}, healthChecks=[{
                "timeout": "1s", "interval": "0.1s", "unhealthyThreshold": 1, "healthyThreshold": 1,
                "httpHealthCheck": {"path": "/health-check"}}]),
            upstream("hc-bad", [host(cls.p_tls)], {"sslFiles": {"rootCa": str(cls.other_ca[0])}},
                     healthChecks=[{"timeout": "1s", "interval": "0.1s", "unhealthyThreshold": 1,
                                    "healthyThreshold": 1, "httpHealthCheck": {"path": "/hc-bad"}}]),
            upstream("shadow", [host(cls.p_tls)], {"sni": "shadow.test"}),
        ]
        write_yaml(cls.cfg, "upstreams.yaml", "---\n".join(ups))
        write_yaml(cls.cfg, "secret.yaml", to_yaml({
            "apiVersion": "gloo.solo.io/v1", "kind": "Secret",
            "metadata": {"name": "client-tls", "namespace": NAMESPACE},
            "spec": {"tls": {"certChain": Path(cls.client[0]).read_text(),
                             "privateKey": Path(cls.client[1]).read_text(),
                             "rootCa": Path(cls.ca[0]).read_text()}}}))
        routes = [to(n, f"/{n}/") for n in (
            "plain-tls", "plain-tls12", "keepalive", "verify-ok", "verify-wrong-ca", "san-mismatch", "mtls",
            "mtls-files", "mtls-nocert", "use-tls", "use-tls-nosni", "hc", "hc-bad")]
        routes.append(to("mixed", "/mixed/", {"retries": {"retryOn": "connect-failure", "numRetries": 3}}))
        routes.append(to("keepalive", "/shadowed/", {"shadowing": {
            "upstream": {"name": "shadow", "namespace": NAMESPACE}, "percentage": 100}}))
        write_yaml(cls.cfg, "vs.yaml", to_yaml({
            "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
            "metadata": {"name": "vs", "namespace": NAMESPACE},
            "spec": {"virtualHost": {"domains": ["*"], "routes": routes}}}))
        cls.gw = Portico(cls.cfg, workers=1, extra_args=["--log-level", "debug"]).start()
        cls.gw.wait_status("VirtualService", "vs", "Accepted")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.nginx.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    def get(self, path):
        status, _, body = http_request(self.gw.port, "GET", path)
        return status, body

    def echo(self, path):
        status, body = self.get(path)
        self.assertEqual(status, 200, body)
        return parse(body)

    # -- tests --

    def test_sni_keepalive_and_session_reuse(self):
        # maxRequestsPerConnection 2: requests 1-2 share a connection, 3-4 the next, ...
        for path, version in (("/plain-tls/x", "TLSv1.3"), ("/plain-tls12/x", "TLSv1.2")):
            seen = [self.echo(path) for _ in range(6)]
            for s in seen:
                self.assertEqual(s["sni"], "upstream.test")
                self.assertEqual(s["proto"], version)
            conns = [s["conn"] for s in seen]
            self.assertEqual(conns[0], conns[1], seen)
            self.assertEqual(conns[2], conns[3], seen)
            self.assertEqual(len(set(conns)), 3, seen)
            # later connections resume the session the first one got (one full handshake)
            self.assertEqual(seen[0]["reused"], ".", seen)
            self.assertEqual(seen[2]["reused"], "r", seen)
            self.assertEqual(seen[4]["reused"], "r", seen)

    def test_pool_keeps_tls_connections_alive(self):
        with Connection(self.gw.port) as c1, Connection(self.gw.port) as c2:
            conns = set()
            for i in range(10):
                status, _, body = (c1 if i % 2 else c2).request("GET", "/keepalive/y")
                self.assertEqual(status, 200)
                s = parse(body)
                self.assertEqual(s["sni"], "keepalive.test")
                conns.add(s["conn"])
        self.assertEqual(len(conns), 1, conns)  # sequential requests: one pooled TLS connection

    def test_large_bodies_both_ways(self):
        # TLS records to and from the upstream go through the event loop (io_uring streams by
        # default): 24 MiB each way arrive intact.
        checker = PatternChecker()
        status, _, body = http_request(self.gw.port, "GET", "/keepalive/big/file", timeout=60)
        self.assertEqual(status, 200)
        checker.feed(body)
        self.assertEqual(checker.offset, self.big)
        self.assertTrue(checker.ok, f"body differs from offset {checker.first_bad_offset}")
        reference = harness.sink_reference(self.backend.port, self.big)
        status, _, body = http_request(self.gw.port, "POST", "/keepalive/sink",
                                       headers={"Content-Length": str(self.big)},
                                       body=pattern_chunks(self.big), timeout=60)
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(json.loads(body), reference)

    def test_ca_verification(self):
        s = self.echo("/verify-ok/")  # right CA, SAN matched by the certificate's *.wild.test
        self.assertEqual(s["sni"], "api.wild.test")
        status, body = self.get("/verify-wrong-ca/")
        self.assertEqual((status, body.strip()), (502, b"upstream connect error"))
        wait_until(lambda: "certificate verify failed" in self.gw.logs(), 5, 0.05,
                   "verification failure in the log")
        self.assertIn("unable to get local issuer certificate", self.gw.logs())

    def test_verify_subject_alt_name_mismatch(self):
        status, body = self.get("/san-mismatch/")
        self.assertEqual((status, body.strip()), (502, b"upstream connect error"))
        wait_until(lambda: "verifySubjectAltName" in self.gw.logs(), 5, 0.05, "SAN failure in the log")

    def test_client_certificate(self):
        for path in ("/mtls/", "/mtls-files/"):
            status, body = self.get(path)
            self.assertEqual(status, 200, body)
            s = parse(body)
            self.assertEqual(s["client"], "SUCCESS")
            self.assertIn("CN=portico-client", s["dn"])
        status, body = self.get("/mtls-nocert/")  # nginx: "No required SSL certificate was sent"
        self.assertEqual(status, 400, body)

    def test_static_use_tls_and_sni_addr(self):
        self.assertEqual(self.echo("/use-tls/")["sni"], "static.test")
        self.assertEqual(self.echo("/use-tls-nosni/")["sni"], "")  # an IP is never sent as SNI

    def test_certificate_failures_are_connect_failures_for_retries(self):
        # host 1 presents a certificate from another CA: a connect failure, retried on host 2
        for _ in range(6):
            self.assertEqual(self.echo("/mixed/")["sni"], "")

    def test_health_checks_over_tls(self):
        wait_until(lambda: "/health-check hc.test TLS" in self.hc_log.read_text(), 10, 0.1,
                   "a TLS health check in nginx's log")
        line = [l for l in self.hc_log.read_text().splitlines() if l.startswith("/health-check")][0]
        self.assertIn("portico-health-check", line)
        # a check whose handshake fails verification marks the host unhealthy
        def unhealthy():
            for c in self.gw.admin_json("/upstreams"):
                if c["name"] == f"hc-bad.{NAMESPACE}" and not c["hosts"][0].get("healthy", True):
                    return c["hosts"][0]
            return None
        h = wait_until(unhealthy, 10, 0.1, "hc-bad host unhealthy")
        self.assertIn("TLS handshake", h.get("lastHealthCheckFailure", ""))
        self.assertNotIn("/hc-bad", self.hc_log.read_text())
        self.assertEqual(self.get("/hc/")[0], 200)

    def test_shadow_requests_use_tls(self):
        self.assertEqual(self.echo("/shadowed/z")["sni"], "keepalive.test")
        wait_until(lambda: "/shadowed/z shadow.test TLS" in self.hc_log.read_text(), 5, 0.05,
                   "the shadow request in nginx's log")


class PortAndRejectionsTest(unittest.TestCase):
    """Port 443 auto-TLS (as Gloo: any host on 443 unless useTls is set) and bad material."""

    def test_port_443_is_tls_unless_use_tls_false(self):
        if os.geteuid() != 0:
            self.skipTest("binding port 443 needs root")
        addr = "127.0.0.2"
        try:
            with socket.socket() as s:
                s.bind((addr, 443))
        except OSError as e:
            self.skipTest(f"{addr}:443 not available: {e}")
        with tempfile.TemporaryDirectory(prefix="portico-utls443-") as tmp:
            d = Path(tmp)
            srv = make_cert(d, "srv", "/CN=p443.test", "DNS:p443.test")
            conf = (f"server {{ listen {addr}:443 ssl; ssl_certificate {srv[0]}; "
                    f"ssl_certificate_key {srv[1]}; location / {{ {ECHO} }} }}")
            with Nginx(conf) as _nginx:
                wait_until(lambda: _can_connect(addr, 443), 10, 0.05, "nginx on 443")
                cfg = d / "config"
                write_yaml(cfg, "up.yaml", upstream("auto", [{"addr": addr, "port": 443, "sniAddr": "p443.test"}])
                           + "---\n" + upstream("off", [{"addr": addr, "port": 443}],
                                                static_extra={"useTls": False}))
                write_yaml(cfg, "vs.yaml", to_yaml({
                    "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": "vs", "namespace": NAMESPACE},
                    "spec": {"virtualHost": {"domains": ["*"], "routes": [
                        to("auto", "/auto/"), to("off", "/off/")]}}}))
                with Portico(cfg) as gw:
                    gw.wait_status("VirtualService", "vs", "Accepted")
                    status, _, body = http_request(gw.port, "GET", "/auto/")
                    self.assertEqual(status, 200, body)
                    self.assertEqual(parse(body)["sni"], "p443.test")
                    status, _, body = http_request(gw.port, "GET", "/off/")
                    self.assertEqual(status, 400, body)  # plain HTTP sent to an HTTPS port

    def test_bad_material_and_unsupported_fields_are_rejected(self):
        with tempfile.TemporaryDirectory(prefix="portico-utls-bad-") as tmp:
            d = Path(tmp)
            certs = d / "certs"
            certs.mkdir()
            crt, key = make_cert(certs, "c", "/CN=c", "DNS:c.test")
            other_crt, other_key = make_cert(certs, "o", "/CN=o", "DNS:o.test")
            garbage = certs / "garbage.pem"
            garbage.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
            cfg = d / "config"
            port = free_port()
            h = [{"addr": LOCALHOST, "port": port}]
            write_yaml(cfg, "up.yaml", "---\n".join([
                upstream("garbage-ca", h, {"sslFiles": {"rootCa": str(garbage)}}),
                upstream("key-mismatch", h, {"sslFiles": {"tlsCert": str(crt), "tlsKey": str(other_key)}}),
                upstream("no-secret", h, {"secretRef": {"name": "missing"}}),
                upstream("cert-only", h, {"sslFiles": {"tlsCert": str(crt)}}),
                upstream("san-no-ca", h, {"verifySubjectAltName": ["x"]}),
                upstream("params", h, {"sni": "p.test", "parameters": {"minimumProtocolVersion": "TLSv1_3"},
                                       "alpnProtocols": ["h2"]}),
                upstream("ok", h, {"sslFiles": {"tlsCert": str(crt), "tlsKey": str(key),
                                                "rootCa": str(other_crt)}}),
            ]))
            with Portico(cfg) as gw:
                def reason(name):
                    return gw.wait_status("Upstream", name, "Rejected")["reason"]
                self.assertIn("spec.sslConfig.sslFiles", reason("garbage-ca"))
                self.assertIn("root CA", reason("garbage-ca"))
                r = reason("key-mismatch")
                self.assertIn("private key", r)
                self.assertIn("mismatch", r)
                self.assertNotIn("BEGIN", r)
                self.assertIn('secret "missing" not found', reason("no-secret"))
                self.assertIn("spec.sslConfig.sslFiles.tlsKey", reason("cert-only"))
                self.assertIn("verifySubjectAltName", reason("san-no-ca"))
                r = reason("params")
                self.assertIn("spec.sslConfig.parameters: field not supported", r)
                self.assertIn("spec.sslConfig.alpnProtocols: field not supported", r)
                gw.wait_status("Upstream", "ok", "Accepted")


def _can_connect(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
