"""WebSockets through the gateway (HTTP/1.1 Upgrade): the handshake is routed like any request,
the upstream's 101 turns both connections into a tunnel, bytes flow both ways with backpressure
until a side closes. Other upgrades (h2c) are ignored and served as HTTP/1.1.

Real peers: Debian's python3-websockets (tests/integration/ws_peer.py, run with /usr/bin/python3)
as echo server and client; the test backend for an upstream that does not upgrade; curl.
"""

import json
import subprocess
import tempfile
import unittest

from harness import (LOCALHOST, Backend, Portico, closed_port, curl, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)

PEER = ["/usr/bin/python3", "ws_peer.py"]


class WsServer:
    def __init__(self):
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen(PEER + ["server"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"ws_peer server did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split()[2])
        return self

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def ws(*args, timeout=120):
    p = subprocess.run(PEER + list(args), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-ws-")
        cls.server = WsServer().start()
        cls.backend = Backend("plain").start()
        write_yaml(cls.tmp.name, "upstreams.yaml", "---\n".join([
            upstream_yaml("ws", [(LOCALHOST, cls.server.port)]),
            upstream_yaml("plain", [(LOCALHOST, cls.backend.port)]),
            upstream_yaml("h2", [(LOCALHOST, closed_port())], extra_spec={"useHttp2": True}),
        ]))
        write_yaml(cls.tmp.name, "vs.yaml", virtual_service_yaml("vs", [
            route("plain", prefix="/plain/", options={"prefixRewrite": "/"}),
            route("h2", prefix="/h2/"),
            route("ws", prefix="/"),
        ]))
        # A body limit far below what the tunnels carry: tunnel bytes are not a request body.
        cls.gw = Portico(cls.tmp.name, extra_args=["--max-request-body", "65536"]).start()
        cls.url = f"ws://{LOCALHOST}:{cls.gw.port}"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    def client(self, path, **kw):
        args = ["client", self.url + path]
        for k, v in kw.items():
            args += [f"--{k}", str(v)]
        code, out, err = ws(*args)
        result = json.loads(out) if out.startswith("{") else {"error": out + err}
        return code, result

    def test_echo_many_messages(self):
        code, r = self.client("/chat", count=200, size=100)
        self.assertEqual(code, 0, f"{r}\n{self.gw.logs()[-2000:]}")
        self.assertEqual(r["messages"], 200)
        self.assertEqual(r["close_code"], 1000)

    def test_large_messages_both_ways(self):
        # 4 MiB each way, more than the 1 MiB watermarks (backpressure in the tunnel) and than
        # --max-request-body.
        code, r = self.client("/big", count=4, size=4 * 1024 * 1024)
        self.assertEqual(code, 0, r)
        self.assertEqual(r["bytes"], 16 * 1024 * 1024)

    def test_concurrent_connections(self):
        code, r = self.client("/many", count=10, size=1000, concurrent=50)
        self.assertEqual(code, 0, r)
        self.assertEqual(r["messages"], 500)

    def test_handshake_headers_reach_upstream(self):
        code, out, err = ws("headers", self.url + "/headers")
        self.assertEqual(code, 0, err)
        seen = json.loads(out)
        self.assertEqual(seen["upgrade"].lower(), "websocket")
        self.assertEqual(seen["connection"].lower(), "upgrade")
        self.assertIn("sec-websocket-key", seen)
        self.assertEqual(seen["sec-websocket-version"], "13")
        self.assertEqual(seen["x-forwarded-for"], LOCALHOST)
        self.assertIn("x-request-id", seen)

    def test_upstream_closes_the_tunnel(self):
        # The server closes after one echo (code 4001): the client sees that close.
        code, r = self.client("/bye", count=1)
        self.assertEqual(r.get("close_code"), 4001, r)

    def test_upstream_without_upgrade_answers_http(self):
        # The test backend answers the handshake with a plain 200: relayed, no tunnel.
        code, r = self.client("/plain/echo", count=1)
        self.assertNotEqual(code, 0)
        self.assertIn("200", r["error"])
        # The gateway goes on serving.
        code, r = self.client("/after", count=1)
        self.assertEqual(code, 0, r)

    def test_websocket_to_http2_upstream_is_501(self):
        r = curl("-i", "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                 "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                 f"http://{LOCALHOST}:{self.gw.port}/h2/x")
        self.assertTrue(r.stdout.startswith(b"HTTP/1.1 501"), r.stdout[:200])

    def test_h2c_upgrade_is_ignored(self):
        # curl --http2 on http:// asks for Upgrade: h2c; the gateway answers over HTTP/1.1.
        r = curl("-i", "--http2", f"http://{LOCALHOST}:{self.gw.port}/plain/echo")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"HTTP/1.1 200"), r.stdout[:200])
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        echo = json.loads(body)
        self.assertNotIn("upgrade", echo["headers"])
        self.assertNotIn("http2-settings", echo["headers"])


if __name__ == "__main__":
    unittest.main()
