"""Downstream TLS: Secrets (Gloo and Kubernetes shapes), per-virtual-service certificates chosen
by SNI, TLS 1.2/1.3, client certificates, hot rotation, bad material, redaction.

Real peers: certificates are made with the openssl CLI, clients are curl and Python's ssl
module, the origin is the test backend.
"""

import base64
import http.client
import json
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import harness
from harness import (LOCALHOST, MiB, NAMESPACE, Backend, PatternChecker, Portico, RssSampler, curl,
                     free_port, gateway_yaml, pattern_chunks, route, to_yaml, upstream_yaml,
                     virtual_service_yaml, wait_until, write_yaml)


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=60)


def make_cert(directory, name, subject, san, ca=None):
    """EC P-256 key + certificate (self-signed, or signed by `ca` = (crt, key)); returns the
    (cert path, key path)."""
    d = Path(directory)
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    if ca is None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", crt, "-subj", subject, "-days", "2",
                "-addext", f"subjectAltName={san}")
    else:
        csr, ext = d / f"{name}.csr", d / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", subject)
        openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key


def gloo_tls_secret(name, crt, key):
    return to_yaml({
        "apiVersion": "gloo.solo.io/v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"tls": {"certChain": Path(crt).read_text(), "privateKey": Path(key).read_text()}},
    })


def kube_tls_secret(name, crt, key):
    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()  # noqa: E731
    return to_yaml({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(crt), "tls.key": b64(key)},
    })


def tls_vs(name, domains, ssl_config):
    doc = {
        "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"virtualHost": {"domains": list(domains), "routes": [route("backend", prefix="/")]},
                 "sslConfig": ssl_config},
    }
    return to_yaml(doc)


def key_material(path):
    """Strings that must never leave the gateway: the key's base64 lines, and the key file
    base64-encoded whole (as in a Kubernetes secret)."""
    text = Path(path).read_text()
    lines = [l for l in text.splitlines() if l and not l.startswith("-----")]
    return lines + [base64.b64encode(text.encode()).decode()[:40]]


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-tls-")
        cls.certs = Path(cls.tmp.name) / "certs"
        cls.certs.mkdir()
        cls.cfg = Path(cls.tmp.name) / "config"
        c = cls.certs
        cls.ca = make_cert(c, "ca", "/CN=Portico Test CA", "DNS:ca.test")
        cls.a = make_cert(c, "a", "/CN=a.test", "DNS:a.test")
        cls.a2 = make_cert(c, "a2", "/CN=a.test/O=rotated", "DNS:a.test")
        cls.b = make_cert(c, "b", "/CN=b.test", "DNS:b.test")
        cls.m = make_cert(c, "m", "/CN=m.test", "DNS:m.test")
        cls.client_ok = make_cert(c, "client-ok", "/CN=client", "URI:spiffe://client/ok", cls.ca)
        cls.client_bad = make_cert(c, "client-bad", "/CN=other", "URI:spiffe://client/other", cls.ca)

        cls.backend = Backend("tls-origin").start()
        cls.plain_port, cls.tls_port = free_port(), free_port()
        write_yaml(cls.cfg, "gateways.yaml",
                   gateway_yaml("gateway-proxy", cls.plain_port) + "---\n" +
                   gateway_yaml("gateway-proxy-ssl", cls.tls_port, extra_spec={"ssl": True}))
        write_yaml(cls.cfg, "upstream.yaml",
                   upstream_yaml("backend", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cls.cfg, "plain.yaml", virtual_service_yaml("plain", [route("backend", prefix="/")]))
        write_yaml(cls.cfg, "secret-a.yaml", gloo_tls_secret("tls-a", *cls.a))
        write_yaml(cls.cfg, "secret-b.yaml", kube_tls_secret("tls-b", *cls.b))
        write_yaml(cls.cfg, "vs-alpha.yaml",
                   tls_vs("alpha", ["a.test"], {"secretRef": {"name": "tls-a", "namespace": NAMESPACE}}))
        write_yaml(cls.cfg, "vs-beta.yaml", tls_vs("beta", ["b.test", "b.test:443"],
                                                   {"secretRef": {"name": "tls-b"}}))
        write_yaml(cls.cfg, "vs-mtls.yaml", tls_vs("mtls", ["m.test"], {
            "sslFiles": {"tlsCert": str(cls.m[0]), "tlsKey": str(cls.m[1]), "rootCa": str(cls.ca[0])},
            "verifySubjectAltName": ["spiffe://client/ok"]}))
        cls.gw = Portico(cls.cfg, workers=2,
                         extra_args=["--log-level", "debug", "--request-headers-timeout", "1s"]).start()
        for name in ("alpha", "beta", "mtls", "plain"):
            cls.gw.wait_status("VirtualService", name, "Accepted")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    # -- helpers --

    def https(self, host, *extra, path="/echo", cacert=None):
        """curl -v over HTTPS to host (resolved to the TLS port); returns the CompletedProcess."""
        args = ["-v", "--resolve", f"{host}:{self.tls_port}:{LOCALHOST}"]
        args += ["--cacert", cacert] if cacert else ["-k"]
        return curl(*args, *extra, f"https://{host}:{self.tls_port}{path}", timeout=20)

    def served_subject(self, host, *extra):
        proc = self.https(host, *extra)
        for line in proc.stderr.splitlines():
            if "subject:" in line:
                return line.split("subject:", 1)[1].strip(), proc
        return None, proc

    def python_tls(self, server_hostname, timeout=10, suppress_ragged_eofs=True, **kw):
        """A TLS socket to the TLS port (no verification); `kw` are SSLContext attributes."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        for k, v in kw.items():
            setattr(ctx, k, v)
        raw = socket.create_connection((LOCALHOST, self.tls_port), timeout=timeout)
        return ctx.wrap_socket(raw, server_hostname=server_hostname,
                               suppress_ragged_eofs=suppress_ragged_eofs)

    def https_connection(self, host="a.test"):
        """http.client over python_tls's socket (so SNI is `host`, nothing verified)."""
        conn = http.client.HTTPConnection(LOCALHOST, self.tls_port, timeout=60)
        conn.sock = self.python_tls(host, timeout=60)
        return conn

    # -- tests --

    def test_large_bodies_stream_both_ways(self):
        # TLS records go through the event loop (io_uring streams by default): a big upload and
        # a big download with a client that stops reading for a while arrive intact, and the
        # gateway buffers a bounded amount meanwhile.
        total = 32 * MiB
        reference = harness.sink_reference(self.backend.port, total)
        conn = self.https_connection()
        try:
            conn.request("POST", "/sink", body=pattern_chunks(total),
                         headers={"Host": "a.test", "Content-Length": str(total)})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(json.loads(resp.read()), reference)

            checker = PatternChecker()
            with RssSampler(self.gw.pid) as rss:
                conn.request("GET", f"/bytes/{total}", headers={"Host": "a.test"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                checker.feed(resp.read(MiB))
                time.sleep(1.5)  # stall: without backpressure the gateway would take it all
                stalled_peak = rss.max_kb
                checker.drain(resp)
        finally:
            conn.close()
        self.assertEqual(checker.offset, total)
        self.assertTrue(checker.ok, f"body differs from offset {checker.first_bad_offset}")
        self.assertLess(stalled_peak, 64 * 1024, f"gateway RSS reached {stalled_peak} KiB")

    def test_connection_close_ends_with_close_notify(self):
        # The close_notify is queued behind the response and must still go out before the
        # socket closes; suppress_ragged_eofs=False turns a bare FIN into SSLEOFError.
        with self.python_tls("a.test", suppress_ragged_eofs=False) as s:
            s.sendall(b"GET /bytes/300000 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)  # raises SSLEOFError on a FIN without close_notify
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertEqual(body, harness.bytes_pattern(300000))

    def test_each_virtual_service_gets_its_certificate(self):
        for host, cert in (("a.test", self.a), ("b.test", self.b)):
            proc = self.https(host, cacert=cert[0])  # verifies: only this cert passes
            self.assertEqual(proc.returncode, 0, proc.stderr)
            body = json.loads(proc.stdout)
            self.assertEqual(body["headers"]["x-forwarded-proto"], "https")
            self.assertIn("ALPN: server accepted h2", proc.stderr)  # curl offers h2 first
        subject, _ = self.served_subject("b.test")
        self.assertIn("CN=b.test", subject)

    def test_alpn_chooses_http2_or_http1(self):
        proc = self.https("a.test", "--http1.1", cacert=self.a[0])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("ALPN: server accepted http/1.1", proc.stderr)
        self.assertIn("< HTTP/1.1 200", proc.stderr)
        proc = self.https("a.test", "--http2", cacert=self.a[0])
        self.assertIn("ALPN: server accepted h2", proc.stderr)
        self.assertIn("< HTTP/2 200", proc.stderr)
        # A body over several flow-control windows, through TLS and HTTP/2, arrives whole.
        payload = b"0123456789abcdef" * 65536  # 1 MiB
        p = subprocess.run(["curl", "-sS", "--http2", "--cacert", str(self.a[0]), "--resolve",
                            f"a.test:{self.tls_port}:{LOCALHOST}", "--data-binary", "@-",
                            f"https://a.test:{self.tls_port}/sink"],
                           input=payload, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["body_length"], len(payload))

    def test_kubernetes_secret_and_plain_gateway_unchanged(self):
        self.assertEqual(self.gw.status_of("Secret", "tls-b")["state"], "Accepted")
        proc = curl("-s", f"http://{LOCALHOST}:{self.plain_port}/echo")
        self.assertEqual(json.loads(proc.stdout)["headers"]["x-forwarded-proto"], "http")
        # the plain gateway speaks no TLS; the ssl one does not serve the plain virtual service
        proc = curl("-k", "--resolve", f"a.test:{self.plain_port}:{LOCALHOST}",
                    f"https://a.test:{self.plain_port}/echo")
        self.assertNotEqual(proc.returncode, 0)
        proc = self.https("plain.test", "-o", "/dev/null", "-w", "%{http_code}")
        self.assertEqual(proc.stdout, b"404")

    def test_unknown_or_missing_sni_gets_the_default_certificate(self):
        # Documented choice: the first virtual service with sslConfig by namespace/name (alpha).
        subject, proc = self.served_subject("unknown.test")
        self.assertIn("CN=a.test", subject or "", proc.stderr)
        with self.python_tls(None) as s:
            der = s.getpeercert(binary_form=True)
        self.assertEqual(der, ssl.PEM_cert_to_DER_cert(Path(self.current_a_cert()).read_text()))

    def current_a_cert(self):
        return self.a[0] if getattr(self, "_rotated", None) is None else self.a2[0]

    def test_tls_versions(self):
        proc = self.https("b.test", "--tlsv1.2", "--tls-max", "1.2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("SSL connection using TLSv1.2", proc.stderr)
        proc = self.https("b.test", "--tlsv1.3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("SSL connection using TLSv1.3", proc.stderr)
        proc = self.https("b.test", "--tlsv1.1", "--tls-max", "1.1")
        self.assertNotEqual(proc.returncode, 0)

    def test_session_resumption(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = ssl.create_default_context(cafile=str(self.b[0]))
            ctx.maximum_version = version
            with socket.create_connection((LOCALHOST, self.tls_port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="b.test") as s:
                    s.sendall(b"GET /echo HTTP/1.1\r\nHost: b.test\r\n\r\n")
                    s.recv(65536)  # TLS 1.3 tickets arrive after the handshake
                    session = s.session
            with socket.create_connection((LOCALHOST, self.tls_port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="b.test", session=session) as s:
                    self.assertTrue(s.session_reused, version)

    def test_client_certificate_required_and_verified(self):
        proc = self.https("m.test", cacert=self.m[0])
        self.assertNotEqual(proc.returncode, 0, "no client certificate must fail")
        ok = self.client_ok
        proc = self.https("m.test", "--cert", ok[0], "--key", ok[1], cacert=self.m[0])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["headers"]["host"], "m.test:%d" % self.tls_port)
        bad = self.client_bad  # signed by the CA, but its SAN is not in verifySubjectAltName
        proc = self.https("m.test", "--cert", bad[0], "--key", bad[1], cacert=self.m[0])
        self.assertNotEqual(proc.returncode, 0)
        # a self-signed client certificate is refused too
        proc = self.https("m.test", "--cert", self.b[0], "--key", self.b[1], cacert=self.m[0])
        self.assertNotEqual(proc.returncode, 0)
        # other virtual services do not ask for one
        self.assertEqual(self.https("b.test").returncode, 0)

    def test_garbage_and_stalled_handshakes(self):
        with socket.create_connection((LOCALHOST, self.tls_port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            self.assertIn(s.recv(4096)[:1], (b"", b"\x15"))  # closed (maybe after an alert)
        start = time.monotonic()
        with socket.create_connection((LOCALHOST, self.tls_port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x00")  # a ClientHello that never completes
            try:
                self.assertEqual(s.recv(4096), b"")
            except ConnectionResetError:
                pass
        self.assertLess(time.monotonic() - start, 5, "request-headers-timeout applies to handshakes")
        self.assertEqual(self.https("b.test").returncode, 0)

    def test_overlapping_sni_is_rejected(self):
        write_yaml(self.cfg, "vs-gamma.yaml", tls_vs("gamma", ["g.test"], {
            "secretRef": {"name": "tls-b"}, "sniDomains": ["b.test"]}))
        try:
            st = self.gw.wait_status("VirtualService", "gamma", "Rejected")
            self.assertIn('SNI name "b.test" is already served by virtualservice beta.gloo-system',
                          st["reason"])
            self.assertIn("virtualservice gamma.gloo-system", st["reason"])
        finally:
            (self.cfg / "vs-gamma.yaml").unlink()
        subject, _ = self.served_subject("b.test")
        self.assertIn("CN=b.test", subject)

    def test_z_rotation_then_bad_key(self):
        # A keep-alive connection opened with the old certificate.
        ctx = ssl.create_default_context(cafile=str(self.a[0]))
        raw = socket.create_connection((LOCALHOST, self.tls_port), timeout=10)
        old = ctx.wrap_socket(raw, server_hostname="a.test")
        conn = http_over(old)
        self.assertEqual(conn("a.test")[0], 200)

        write_yaml(self.cfg, "secret-a.yaml", gloo_tls_secret("tls-a", *self.a2))
        type(self)._rotated = True
        wait_until(lambda: "O=rotated" in (self.served_subject("a.test")[0] or ""), 10,
                   message="the rotated certificate on new connections")
        self.assertEqual(conn("a.test")[0], 200, "the open connection keeps working")
        self.assertEqual(old.getpeercert()["subject"], ((("commonName", "a.test"),),))

        # A mismatched key: Rejected with OpenSSL's reason; the rotated cert keeps serving.
        write_yaml(self.cfg, "secret-a.yaml", gloo_tls_secret("tls-a", self.a[0], self.b[1]))
        st = self.gw.wait_status("Secret", "tls-a", "Rejected")
        self.assertIn("private key", st["reason"])
        self.assertIn("mismatch", st["reason"])
        self.assertIn("keeps serving", st["reason"])
        subject, proc = self.served_subject("a.test")
        self.assertIn("O=rotated", subject or "", proc.stderr)
        self.assertEqual(conn("a.test")[0], 200)
        old.close()

        # sslFiles with a bad key: the virtual service is rejected and keeps its certificate.
        bad_dir = self.certs / "bad"
        bad_dir.mkdir(exist_ok=True)
        (bad_dir / "m.key").write_text(Path(self.b[1]).read_text())
        write_yaml(self.cfg, "vs-mtls.yaml", tls_vs("mtls", ["m.test"], {
            "sslFiles": {"tlsCert": str(self.m[0]), "tlsKey": str(bad_dir / "m.key")}}))
        st = self.gw.wait_status("VirtualService", "mtls", "Rejected")
        self.assertIn("spec.sslConfig", st["reason"])
        self.assertIn("mismatch", st["reason"])
        ok = self.client_ok
        proc = self.https("m.test", "--cert", ok[0], "--key", ok[1], cacert=self.m[0])
        self.assertEqual(proc.returncode, 0, proc.stderr)

        # sslFiles outside the config dir: fixing the file is noticed without a config edit.
        (bad_dir / "m.key").write_text(Path(self.m[1]).read_text())
        self.gw.wait_status("VirtualService", "mtls", "Accepted", timeout=10)
        self.assertEqual(self.https("m.test", cacert=self.m[0]).returncode, 0,
                         "the new version needs no client certificate")

    def test_zz_secrets_never_leave_the_gateway(self):
        material = []
        for key in (self.a[1], self.a2[1], self.b[1], self.m[1]):
            material += key_material(key)
        dump = self.gw.admin_get("/config_dump")[2].decode()
        self.assertIn("<redacted>", dump)
        self.assertIn("tls-a", dump)
        for endpoint in ("/config_dump", "/statuses", "/upstreams", "/metrics", "/ready"):
            status, _, body = self.gw.admin_get(endpoint)
            text = body.decode(errors="replace")
            for secret in material:
                self.assertNotIn(secret, text, f"key material in {endpoint}")
        logs = self.gw.logs()
        self.assertTrue(logs)
        for secret in material:
            self.assertNotIn(secret, logs, "key material in the gateway log")


def http_over(tls_sock):
    """A minimal keep-alive HTTP/1.1 client on an open TLS socket: call(host) → (status, body)."""
    def call(host):
        tls_sock.sendall(f"GET /echo HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls_sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += tls_sock.recv(65536)
        return int(head.split(b" ")[1]), body
    return call


if __name__ == "__main__":
    unittest.main()
