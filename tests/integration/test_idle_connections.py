"""10,000 idle keep-alive connections do not slow active ones: one worker, 10k client connections
that each served one request and then stay open, and the latency of requests on another
connection measured before and with them. Also prints the gateway's RSS per idle connection
(VmRSS after - before, / 10k; the target of issue 9 is <= 2 KiB) and checks that the gateway
raised its open-file soft limit to the hard limit (it needs a descriptor per connection)."""

import contextlib
import re
import resource
import socket
import tempfile
import time
import unittest

from harness import (LOCALHOST, Backend, Connection, Portico, route, upstream_yaml,
                     virtual_service_yaml, write_yaml)

IDLE = 10000
RSS_BOUND_KIB = 4.0  # per idle connection; issue 9's target is 2 KiB (see the printed figure)


def open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def latencies_ms(port, n=300):
    out = []
    with Connection(port, host="a") as c:
        for _ in range(20):
            c.request("GET", "/echo")  # warm
        for _ in range(n):
            start = time.perf_counter()
            status, _, _ = c.request("GET", "/echo")
            out.append((time.perf_counter() - start) * 1000)
            assert status == 200, status
    out.sort()
    return out


def read_response(sock):
    """One whole Content-Length response from sock (bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {data[:100]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    need = int(m.group(1)) if m else 0
    while len(body) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed in the body")
        body += chunk
    return head + b"\r\n\r\n" + body


def pct(values, q):
    return values[min(len(values) - 1, int(q * len(values)))]


class IdleConnections(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < IDLE + 1000:
            raise unittest.SkipTest(f"open-file hard limit {hard} < {IDLE + 1000}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        cls.addClassCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-idle-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg, workers=1, extra_args=[
            "--idle-timeout", "300s", "--max-connections", str(IDLE + 1000)]))

    def test_10k_idle_connections_do_not_slow_active_ones(self):
        gw = self.gw
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.assertEqual(open_files_limit(gw.pid), hard, "gateway did not raise its soft limit")

        before = latencies_ms(gw.port)
        time.sleep(0.3)
        rss_before = gw.rss_kb()
        idle = []
        request = b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"
        try:
            start = time.monotonic()
            for _ in range(IDLE):
                s = socket.create_connection((LOCALHOST, gw.port), timeout=10)
                idle.append(s)
                s.sendall(request)
                data = read_response(s)
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
            opened_in = time.monotonic() - start
            time.sleep(1.0)
            rss_after = gw.rss_kb()
            during = latencies_ms(gw.port)
            self.assertTrue(gw.running())
        finally:
            for s in idle:
                s.close()
        per_conn = (rss_after - rss_before) / IDLE
        print(f"\n  {IDLE} idle keep-alive connections opened in {opened_in:.1f} s; gateway RSS "
              f"{rss_before} KiB -> {rss_after} KiB: {per_conn:.2f} KiB per idle connection")
        print(f"  active latency ms: without p50 {pct(before, .5):.3f} p99 {pct(before, .99):.3f}"
              f"; with {IDLE} idle p50 {pct(during, .5):.3f} p99 {pct(during, .99):.3f}")
        self.assertLess(per_conn, RSS_BOUND_KIB)
        # The median shows a per-event cost growing with the idle set (a scan would multiply it);
        # the tail only catches gross stalls: under ctest -j2 the machine's own noise reaches
        # several ms at p99 (7.8 ms against 0.6 ms seen with an unchanged median).
        self.assertLess(pct(during, .5), pct(before, .5) * 2 + 0.5)
        self.assertLess(pct(during, .99), pct(before, .99) * 3 + 25.0)


if __name__ == "__main__":
    unittest.main()
