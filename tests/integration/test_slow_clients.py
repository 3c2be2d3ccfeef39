"""Slow and idle clients are cut off without tying up the worker: a slowloris head (one byte
every 0.3 s, so never idle) gets 408 once --request-headers-timeout passes, an idle keep-alive
connection is closed after --idle-timeout, and other clients are served meanwhile."""

import contextlib
import socket
import tempfile
import time
import unittest

from harness import (LOCALHOST, Backend, Portico, http_request, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-slow-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg, extra_args=[
            "--request-headers-timeout", "1s", "--idle-timeout", "1.5s"]))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def test_slowloris_head_gets_408(self):
        head = b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"x" * 40
        s = socket.create_connection((LOCALHOST, self.gw.port))
        s.settimeout(0.05)
        start = time.monotonic()
        answer = b""
        try:
            for byte in head:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    break
                # Meanwhile another client is served at once.
                if byte == head[5]:
                    self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)
                try:
                    chunk = s.recv(4096)
                    answer += chunk
                    if not chunk or answer:
                        break
                except socket.timeout:
                    pass
                time.sleep(0.25)
            s.settimeout(3)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
        finally:
            s.close()
        elapsed = time.monotonic() - start
        self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:200])
        self.assertIn(b"connection: close", answer.lower())
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 3.0)

    def test_idle_keepalive_connection_is_closed(self):
        s = socket.create_connection((LOCALHOST, self.gw.port))
        s.sendall(b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        s.settimeout(5)
        data = s.recv(65536)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))
        start = time.monotonic()
        rest = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        s.close()
        self.assertGreater(time.monotonic() - start, 1.0)
        self.assertLess(time.monotonic() - start, 4.0)

    def test_many_idle_connections_do_not_slow_active_ones(self):
        idle = [socket.create_connection((LOCALHOST, self.gw.port)) for _ in range(300)]
        try:
            start = time.monotonic()
            for _ in range(50):
                self.assertEqual(http_request(self.gw.port, "GET", "/echo")[0], 200)
            self.assertLess(time.monotonic() - start, 5.0)
        finally:
            for s in idle:
                s.close()


if __name__ == "__main__":
    unittest.main()
