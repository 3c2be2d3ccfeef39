"""Limits answered with the right status: --max-connections (per worker: at the limit the worker
stops accepting, counted in /metrics, and resumes when a connection closes), and
--max-request-headers / --max-request-headers-size (431). One worker, so that "per worker" is
the whole gateway."""

import contextlib
import re
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (LOCALHOST, PORTICO_BIN, Backend, Portico, raw_exchange, route,
                     upstream_yaml, virtual_service_yaml, wait_until, write_yaml)

MAX_CONNECTIONS = 5


def metric(gw, name):
    status, _, body = gw.admin_get("/metrics")
    assert status == 200, status
    m = re.search(rb"^" + re.escape(name.encode()) + rb" (\d+)$", body, re.M)
    return int(m.group(1)) if m else None


def request_on(sock, path="/echo"):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())


def read_status(sock, timeout):
    """The status of the next response head on sock, or None if nothing came within timeout."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return None
    return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-limits-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg, workers=1, extra_args=[
            "--max-connections", str(MAX_CONNECTIONS), "--max-request-headers", "10",
            "--max-request-headers-size", "2048"]))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def test_accept_paused_at_max_connections_and_resumed(self):
        held = []
        try:
            for _ in range(MAX_CONNECTIONS):
                s = socket.create_connection((LOCALHOST, self.gw.port))
                held.append(s)
                request_on(s)
                self.assertEqual(read_status(s, 5.0), 200)
            self.assertEqual(metric(self.gw, "portico_downstream_listeners_paused"), 1)
            self.assertGreaterEqual(metric(self.gw, "portico_downstream_connections_paused_total"), 1)

            # One more: the kernel completes the handshake (backlog) but the worker does not
            # accept it, so its request waits.
            extra = socket.create_connection((LOCALHOST, self.gw.port))
            held.append(extra)
            request_on(extra)
            self.assertIsNone(read_status(extra, 0.7), "accepted above --max-connections")

            # One closes: the waiting one is accepted and answered at once (which brings the
            # worker back to the limit, paused again); one more closes: accepting resumes.
            held.pop(0).close()
            start = time.monotonic()
            self.assertEqual(read_status(extra, 5.0), 200)
            self.assertLess(time.monotonic() - start, 1.0)
            held.pop(0).close()
            wait_until(lambda: metric(self.gw, "portico_downstream_listeners_paused") == 0,
                       message="the listener to be resumed")
            self.assertGreaterEqual(metric(self.gw, "portico_downstream_connections_paused_total"), 2)
        finally:
            for s in held:
                s.close()
        # Everything is accepted normally again.
        wait_until(lambda: metric(self.gw, "portico_downstream_connections_active") == 0)
        s = socket.create_connection((LOCALHOST, self.gw.port))
        with s:
            request_on(s)
            self.assertEqual(read_status(s, 5.0), 200)

    def test_header_count_limit_is_431(self):
        def head(n):  # Host + n-1 other fields = n header fields
            extra = "".join(f"X-H{i}: v\r\n" for i in range(n - 1))
            return f"GET /echo HTTP/1.1\r\nHost: a\r\n{extra}Connection: close\r\n\r\n".encode()
        self.assertTrue(raw_exchange(self.gw.port, head(9)).startswith(b"HTTP/1.1 200"))
        raw = raw_exchange(self.gw.port, head(11))
        self.assertTrue(raw.startswith(b"HTTP/1.1 431"), raw[:100])

    def test_header_size_limit_is_431(self):
        def head(size):
            return (f"GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: {'v' * size}\r\n"
                    f"Connection: close\r\n\r\n").encode()
        self.assertTrue(raw_exchange(self.gw.port, head(1000)).startswith(b"HTTP/1.1 200"))
        raw = raw_exchange(self.gw.port, head(3000))
        self.assertTrue(raw.startswith(b"HTTP/1.1 431"), raw[:100])

    def test_flag_errors_name_the_flag(self):
        for flag, value in (("--max-connections", "many"), ("--max-request-headers", "0"),
                            ("--max-request-headers-size", "12"), ("--io-engine", "kqueue")):
            with self.subTest(flag):
                p = subprocess.run([str(PORTICO_BIN), "run", "--config-dir", "/nonexistent",
                                    flag, value], capture_output=True, text=True, timeout=10)
                self.assertEqual(p.returncode, 2)
                self.assertIn(flag, p.stderr)


if __name__ == "__main__":
    unittest.main()
