"""HTTP/2 from clients: h2c with prior knowledge on the plain listener, h2 by ALPN on the TLS
one. Every stream is an ordinary proxied request (routing, upstream, retries, stats); bodies
are flow-controlled both ways.

Real peers: curl (--http2-prior-knowledge, --http2 over TLS), h2load and nghttp from Debian's
nghttp2-client, the test backend as the origin (HTTP/1.1 upstream).
"""

import json
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import (LOCALHOST, Backend, Portico, curl, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)


class Http2Cleartext(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-h2-")
        cls.backend = Backend("h2-origin").start()
        write_yaml(cls.tmp.name, "upstream.yaml",
                   upstream_yaml("origin", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cls.tmp.name, "vs.yaml", virtual_service_yaml("vs", [
            {"matchers": [{"prefix": "/direct"}],
             "directResponseAction": {"status": 201, "body": "direct answer"}},
            route("origin", prefix="/"),
        ]))
        cls.gw = Portico(cls.tmp.name).start()
        cls.base = f"http://{LOCALHOST}:{cls.gw.port}"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    def h2(self, *args):
        return curl("--http2-prior-knowledge", *args)

    def test_get_through_h2c(self):
        p = self.h2("-i", f"{self.base}/echo/hello?x=1")
        self.assertEqual(p.returncode, 0, p.stderr)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/2 200"), head)
        echo = json.loads(body)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["path"], "/echo/hello?x=1")

    def test_post_body_reaches_the_origin(self):
        payload = b"x" * 300000  # more than one stream window of curl's
        p = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "--data-binary", "@-", f"{self.base}/sink"],
            input=payload, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["body_length"], len(payload))

    def test_local_replies_and_direct_responses(self):
        p = self.h2("-i", f"{self.base}/direct")
        self.assertTrue(p.stdout.startswith(b"HTTP/2 201"), p.stdout)
        self.assertTrue(p.stdout.endswith(b"direct answer"), p.stdout)
        p = self.h2("-i", "-H", "Host: nowhere.example", f"{self.base}/x")
        self.assertTrue(p.stdout.startswith(b"HTTP/2 404") or p.stdout.startswith(b"HTTP/2 200"),
                        p.stdout)

    def test_large_response_streams(self):
        p = self.h2("-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                    f"{self.base}/bytes/5000000")
        self.assertEqual(p.stdout.decode(), "200 5000000", p.stderr)

    def test_h2load_many_streams(self):
        p = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", f"{self.base}/echo"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2000 succeeded, 0 failed, 0 errored", p.stdout, p.stdout)

    def test_rapid_reset_flood_gets_goaway(self):
        # CVE-2023-44487: streams opened and reset at once, in a loop. Frames built by hand
        # (RFC 9113 §4.1, §6); the header block is HPACK with static-table entries only.
        def frame(kind, flags, stream, payload=b""):
            return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
                struct.pack(">I", stream) + payload
        block = b"\x82\x86\x84\x41\x09localhost"  # GET http / authority localhost
        data = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(0x4, 0, 0)
        for i in range(2000):
            sid = 1 + 2 * i
            data += frame(0x1, 0x5, sid, block)  # HEADERS, END_STREAM|END_HEADERS
            data += frame(0x3, 0, sid, struct.pack(">I", 0x8))  # RST_STREAM CANCEL
        with socket.create_connection((LOCALHOST, self.gw.port), timeout=10) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the gateway may close before taking it all
            got = b""
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                got += chunk
        # Walk the frames the gateway sent: one must be GOAWAY (type 7) with ENHANCE_YOUR_CALM.
        codes, pos = [], 0
        while pos + 9 <= len(got):
            length = int.from_bytes(got[pos:pos + 3], "big")
            kind = got[pos + 3]
            if kind == 0x7 and length >= 8:
                codes.append(int.from_bytes(got[pos + 13:pos + 17], "big"))
            pos += 9 + length
        self.assertIn(0xB, codes, f"GOAWAY codes seen: {codes}")
        # The gateway itself is fine.
        self.assertEqual(self.h2("-o", "/dev/null", "-w", "%{http_code}", f"{self.base}/echo").stdout,
                         b"200")

    def test_http1_still_served_on_the_same_port(self):
        p = curl("-i", f"{self.base}/echo")
        self.assertTrue(p.stdout.startswith(b"HTTP/1.1 200"), p.stdout)


if __name__ == "__main__":
    unittest.main()
