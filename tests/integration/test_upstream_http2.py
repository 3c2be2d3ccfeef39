"""HTTP/2 to upstreams (`useHttp2: true`): h2c and h2 over TLS (ALPN), many requests
multiplexed on few connections, request and response bodies with flow control, trailers-free
responses of every size, and clear failures when the upstream does not speak HTTP/2.

Real peers: Debian's nginx as the HTTP/2 upstream (`listen ... http2` for h2c prior knowledge,
`listen ... ssl http2` for ALPN h2) in front of the test backend (HTTP/1.1 echo origin); curl
and h2load as clients.
"""

import hashlib
import json
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import (LOCALHOST, MiB, Backend, Nginx, Portico, curl, free_port, route, to_yaml,
                     virtual_service_yaml, wait_for_port, wait_until, write_yaml, NAMESPACE)
from test_tls import make_cert


def upstream(name, port, ssl=None, **spec):
    s = {"static": {"hosts": [{"addr": LOCALHOST, "port": port}]}, "useHttp2": True}
    if ssl is not None:
        s["sslConfig"] = ssl
    s.update(spec)
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE}, "spec": s})


class UpstreamHttp2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-uh2-")
        d = Path(cls.tmp.name)
        certs = d / "certs"
        certs.mkdir()
        cls.ca = make_cert(certs, "ca", "/CN=H2 Test CA", "DNS:ca.test")
        srv, key = make_cert(certs, "server", "/CN=h2.test", "DNS:h2.test", cls.ca)
        docroot = d / "www"
        docroot.mkdir()
        cls.big = bytes(range(256)) * (5 * MiB // 256)
        (docroot / "big.bin").write_bytes(cls.big)

        cls.backend = Backend("h2-origin").start()
        cls.p_h2c, cls.p_h2tls, cls.p_h1tls, cls.p_limited = (free_port() for _ in range(4))
        # $server_protocol tells the client which protocol nginx saw from the gateway.
        locations = f"""
    add_header x-upstream-protocol $server_protocol always;
    add_header x-upstream-connection $connection always;
    http2_max_concurrent_streams 64;
    location /big.bin {{ root {docroot}; }}
    location /status/ {{ return 418 "teapot\\n"; }}
    location / {{ proxy_pass http://{LOCALHOST}:{cls.backend.port}; proxy_http_version 1.1;
                  proxy_set_header Connection ""; proxy_request_buffering off; }}"""
        cls.nginx = Nginx(f"""
  upstream origin {{ server {LOCALHOST}:{cls.backend.port}; keepalive 16; }}
  server {{
    listen {LOCALHOST}:{cls.p_h2c} http2;
    listen {LOCALHOST}:{cls.p_limited} http2;
    client_max_body_size 0;
{locations}
  }}
  server {{
    listen {LOCALHOST}:{cls.p_h2tls} ssl http2;
    ssl_certificate {srv}; ssl_certificate_key {key};
    client_max_body_size 0;
{locations}
  }}
  server {{
    listen {LOCALHOST}:{cls.p_h1tls} ssl;
    ssl_certificate {srv}; ssl_certificate_key {key};
    location / {{ return 200 "http/1.1 only\\n"; }}
  }}""", wait_ports=[cls.p_h2c, cls.p_h2tls, cls.p_h1tls, cls.p_limited]).start()

        cfg = d / "config"
        write_yaml(cfg, "upstreams.yaml", "---\n".join([
            upstream("h2c", cls.p_h2c),
            upstream("h2tls", cls.p_h2tls, {"sni": "h2.test", "sslFiles": {"rootCa": cls.ca[0]}}),
            upstream("h1tls", cls.p_h1tls, {"sni": "h2.test"}),
            upstream("closed", free_port()),
            upstream("h2c-limited", cls.p_limited,
                     connectionConfig={"maxRequestsPerConnection": 5}),
        ]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("vs", [
            route("h2tls", prefix="/tls/", options={"prefixRewrite": "/"}),
            route("h1tls", prefix="/h1tls/", options={"prefixRewrite": "/"}),
            route("closed", prefix="/closed/", options={"prefixRewrite": "/"}),
            route("h2c-limited", prefix="/limited/", options={"prefixRewrite": "/"}),
            route("h2c", prefix="/"),
        ]))
        cls.gw = Portico(cfg, extra_args=["--log-level", "debug"]).start()
        cls.base = f"http://{LOCALHOST}:{cls.gw.port}"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.nginx.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    def get(self, path, *args):
        r = curl("-i", *args, self.base + path)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body

    def test_get_over_h2c(self):
        status, headers, body = self.get("/echo/hello?x=1", "-H", "x-test: yes")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("x-upstream-protocol"), "HTTP/2.0")
        echo = json.loads(body)
        self.assertEqual(echo["path"], "/echo/hello?x=1")
        self.assertEqual(echo["headers"].get("x-test"), "yes")
        self.assertIn("x-forwarded-for", echo["headers"])

    def test_h2_client_to_h2_upstream(self):
        r = curl("-i", "--http2-prior-knowledge", self.base + "/echo/h2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"HTTP/2 200"), r.stdout[:100])
        self.assertIn(b"x-upstream-protocol: HTTP/2.0", r.stdout)

    def test_upstream_status_and_body_relayed(self):
        status, _, body = self.get("/status/x")
        self.assertEqual(status, 418)
        self.assertEqual(body, b"teapot\n")

    def test_large_response_flow_control(self):
        r = curl("-o", "-", self.base + "/big.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), len(self.big))
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), hashlib.sha256(self.big).hexdigest())

    def test_request_body_upload(self):
        body = bytes(range(251)) * (3 * MiB // 251)
        path = Path(self.tmp.name) / "upload.bin"
        path.write_bytes(body)
        r = curl("-H", "content-type: application/octet-stream", "--data-binary", f"@{path}",
                 self.base + "/echo/upload")
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_length"], len(body))
        # chunked from the client (no length): DATA frames until END_STREAM upstream
        r = curl("-H", "transfer-encoding: chunked", "--data-binary", f"@{path}",
                 self.base + "/echo/chunked")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["body_length"], len(body))

    def test_tls_alpn_h2(self):
        status, headers, body = self.get("/tls/echo/tls")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("x-upstream-protocol"), "HTTP/2.0")

    def test_upstream_without_h2_is_502(self):
        # nginx without http2 refuses the handshake (no common ALPN protocol); a server that
        # completes it without ALPN h2 is dropped by the gateway ("did not agree to HTTP/2").
        status, _, body = self.get("/h1tls/x")
        self.assertEqual(status, 502, body)
        self.assertEqual(body, b"upstream connect error\n")
        self.assertRegex(self.gw.logs(), "no application protocol|did not agree to HTTP/2")
        # A handshake failure is a warning (at most one per host every 10 s), not only debug.
        self.assertRegex(self.gw.logs(), r"warn upstream 127\.0\.0\.1:\d+: TLS handshake failed")

    def test_connection_refused_is_502(self):
        status, _, _ = self.get("/closed/x")
        self.assertEqual(status, 502)

    def test_many_requests_share_few_connections(self):
        r = subprocess.run(["h2load", "--h1", "-n", "2000", "-c", "20", "-m", "1",
                            self.base + "/echo/load"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"status codes: (\d+) 2xx", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(int(m.group(1)), 2000, r.stdout)
        # The nginx connection ids the responses came on: 20 concurrent clients, multiplexed.
        conns = set()
        for _ in range(20):
            _, headers, _ = self.get("/echo/which")
            conns.add(headers.get("x-upstream-connection"))
        self.assertLessEqual(len(conns), 2, conns)

    def test_max_requests_per_connection(self):
        conns = []
        for _ in range(12):
            status, headers, _ = self.get("/limited/echo/n")
            self.assertEqual(status, 200)
            conns.append(headers.get("x-upstream-connection"))
        # 5 streams per connection: 12 sequential requests need 3 connections.
        self.assertEqual(len(set(conns)), 3, conns)


class RequestTrailersTest(unittest.TestCase):
    """Request trailers from an HTTP/2 client reach an HTTP/2 upstream: nghttpd -v (Debian's
    nghttp2-server) logs every frame it receives; nghttp sends the trailers."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-uh2t-")
        d = Path(cls.tmp.name)
        (d / "www").mkdir()
        (d / "www" / "index.html").write_text("hi\n")
        cls.port = free_port()
        cls.log = open(d / "nghttpd.log", "w")
        cls.nghttpd = subprocess.Popen(
            ["nghttpd", "-v", "--no-tls", "-d", str(d / "www"), "-a", LOCALHOST, str(cls.port)],
            stdout=cls.log, stderr=subprocess.STDOUT)
        wait_for_port(cls.port)
        cfg = d / "config"
        write_yaml(cfg, "upstream.yaml", upstream("nghttpd", cls.port))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("vs", [route("nghttpd", prefix="/")]))
        cls.gw = Portico(cfg).start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.nghttpd.terminate()
        cls.nghttpd.wait(10)
        cls.log.close()
        cls.tmp.cleanup()

    def test_trailers_reach_the_upstream(self):
        body = Path(self.tmp.name) / "body"
        body.write_bytes(b"x" * 100000)
        r = subprocess.run(["nghttp", "--trailer", "x-checksum: abc123", "-d", str(body),
                            f"http://{LOCALHOST}:{self.gw.port}/index.html"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hi\n")
        log = Path(self.tmp.name, "nghttpd.log")
        wait_until(lambda: "x-checksum: abc123" in log.read_text(), 5, 0.05, "trailer at nghttpd")
        text = log.read_text()
        # After the body: a HEADERS frame with END_STREAM carries it.
        after = text[text.index("x-checksum: abc123"):]
        self.assertRegex(after, r"recv HEADERS frame <[^>]*flags=0x05")
        self.assertIn("recv DATA frame", text[:text.index("x-checksum: abc123")])


if __name__ == "__main__":
    unittest.main()
