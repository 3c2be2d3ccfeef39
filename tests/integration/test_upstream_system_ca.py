"""--upstream-tls-system-ca: TLS upstreams without sslConfig root CA verified against the system
store and the names they are reached by, instead of not at all (Gloo's default, kept without
the flag).

Real peer: nginx serving HTTPS with a certificate from a CA made by the test, which is not in
the system store. Where a run must trust it "as the system store", the gateway gets
SSL_CERT_FILE (OpenSSL's default-paths override) naming that CA.
"""

import tempfile
import unittest
from pathlib import Path

from harness import (LOCALHOST, NAMESPACE, Nginx, Portico, free_port, http_request, to_yaml,
                     wait_until, write_yaml)
from test_tls import make_cert


def upstream(name, port, ssl):
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"static": {"hosts": [{"addr": LOCALHOST, "port": port}]},
                             "sslConfig": ssl}})


def route(name):
    return {"matchers": [{"prefix": f"/{name}/"}],
            "routeAction": {"single": {"upstream": {"name": name, "namespace": NAMESPACE}}}}


class UpstreamSystemCaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-sysca-")
        d = Path(cls.tmp.name)
        cls.ca = make_cert(d, "ca", "/CN=Portico Test CA (not in the system store)", "DNS:ca.test")
        crt, key = make_cert(d, "server", "/CN=upstream.test", "DNS:upstream.test", cls.ca)
        cls.port = free_port()
        cls.nginx = Nginx(f"""
  server {{
    listen {LOCALHOST}:{cls.port} ssl;
    ssl_certificate {crt}; ssl_certificate_key {key};
    location / {{ return 200 "sni=$ssl_server_name\\n"; }}
  }}""", wait_ports=[cls.port]).start()
        cls.cfg = d / "config"
        names = {"named": {"sni": "upstream.test"}, "wrong-name": {"sni": "other.test"},
                 "no-sni": {}, "own-ca": {"sslFiles": {"rootCa": str(cls.ca[0])}}}
        write_yaml(cls.cfg, "upstreams.yaml",
                   "---\n".join(upstream(n, cls.port, ssl) for n, ssl in names.items()))
        write_yaml(cls.cfg, "vs.yaml", to_yaml({
            "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"virtualHost": {"domains": ["*"], "routes": [route(n) for n in names]}}}))

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.tmp.cleanup()

    def gateway(self, flag, env=None):
        args = ["--log-level", "debug"] + (["--upstream-tls-system-ca"] if flag else [])
        gw = Portico(self.cfg, extra_args=args, env=env).start()
        gw.wait_status("VirtualService", "default", "Accepted")
        return gw

    def get(self, gw, name):
        status, _, body = http_request(gw.port, "GET", f"/{name}/")
        return status, body

    def test_without_the_flag_nothing_is_verified(self):
        gw = self.gateway(False)
        try:
            for name in ("named", "wrong-name", "no-sni", "own-ca"):
                self.assertEqual(self.get(gw, name)[0], 200, name)
        finally:
            gw.stop()

    def test_with_the_flag_a_ca_outside_the_system_store_is_refused(self):
        gw = self.gateway(True)
        try:
            status, body = self.get(gw, "named")
            self.assertEqual((status, body.strip()), (502, b"upstream connect error"))
            wait_until(lambda: "unable to get local issuer certificate" in gw.logs(), 5, 0.05,
                       "the verification failure in the log")
            self.assertIn("certificate verify failed", gw.logs())
            # sslConfig's own root CA still decides for the upstreams that give one.
            self.assertEqual(self.get(gw, "own-ca")[0], 200)
        finally:
            gw.stop()

    def test_with_the_flag_the_certificate_must_name_the_host(self):
        # The test CA stands in for the system store: the chain verifies, the name decides.
        gw = self.gateway(True, env={"SSL_CERT_FILE": str(self.ca[0])})
        try:
            status, body = self.get(gw, "named")
            self.assertEqual((status, body), (200, b"sni=upstream.test\n"))
            for name in ("wrong-name", "no-sni"):  # other.test; 127.0.0.1 (no IP SAN)
                self.assertEqual(self.get(gw, name)[0], 502, name)
            wait_until(lambda: gw.logs().count("server certificate has none of the names") >= 2,
                       5, 0.05, "name mismatches in the log")
        finally:
            gw.stop()


if __name__ == "__main__":
    unittest.main()
