"""Out of descriptors on accept (EMFILE): the gateway neither spins nor stops accepting.

The gateway's open-file limit is lowered while it runs (prlimit on its pid) to a few descriptors
above what it holds, then more clients connect than it can accept. accept4 fails with EMFILE and
the connection stays in the backlog; the listener must leave the epoll set and retry on a timer
(low CPU meanwhile, one log line per burst), and the clients waiting in the backlog must be served
as soon as descriptors are free again, without a new connection arriving to wake the listener.
One worker; no --max-connections, so that the descriptor limit is what stops accepting."""

import contextlib
import os
import resource
import socket
import tempfile
import time
import unittest

import test_limits as limits  # its helpers; a module, so that its tests are not collected here
from harness import (LOCALHOST, Backend, Portico, route, upstream_yaml, virtual_service_yaml,
                     wait_until, write_yaml)

metric, read_status, request_on = limits.metric, limits.read_status, limits.request_on

SPARE_FDS = 12   # descriptors left to the gateway above those it holds when limited
CLIENTS = 24     # connections opened while limited: about half wait in the backlog
CPU_WINDOW = 2.0  # seconds of CPU measured while out of descriptors
CPU_BOUND = 0.2   # CPU seconds allowed in that window (a spinning loop would use ~2)


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def highest_fd(pid):
    return max(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))


class AcceptOutOfDescriptors(unittest.TestCase):
    def setUp(self):
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-emfile-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        self.gw = stack.enter_context(Portico(cfg, workers=1))
        self.held = []
        self.addCleanup(lambda: [s.close() for s in self.held])

    def test_emfile_backs_off_and_recovers(self):
        gw = self.gw
        # Warm up: the upstream connection is pooled, so requests later need no new descriptor.
        s = socket.create_connection((LOCALHOST, gw.port))
        request_on(s)
        self.assertEqual(read_status(s, 5.0), 200)
        s.close()
        wait_until(lambda: metric(gw, "portico_downstream_connections_active") == 0)

        limit = highest_fd(gw.pid) + 1 + SPARE_FDS
        resource.prlimit(gw.pid, resource.RLIMIT_NOFILE, (limit, limit))
        for _ in range(CLIENTS):
            self.held.append(socket.create_connection((LOCALHOST, gw.port)))  # the backlog takes it
        waiting = self.held[-1]
        request_on(waiting)
        wait_until(lambda: "Too many open files" in gw.logs(), message="accept to fail with EMFILE")
        self.assertIsNone(read_status(waiting, 0.5), "accepted past the descriptor limit")

        before = cpu_seconds(gw.pid)
        time.sleep(CPU_WINDOW)
        used = cpu_seconds(gw.pid) - before
        print(f"\n  gateway CPU while out of descriptors: {used:.2f} s in {CPU_WINDOW:.0f} s")
        self.assertLess(used, CPU_BOUND, "the listener spins on EMFILE")
        # One warning per burst: a descriptor the gateway frees meanwhile (an idle upstream
        # connection closing, ...) lets one accept through and starts a new burst.
        logs = gw.logs()
        self.assertEqual(logs.count("Too many open files"), logs.count("accepting again") + 1,
                         "not one line per burst:\n" + logs)
        self.assertLessEqual(logs.count("Too many open files"), 3, logs)

        # Free descriptors (the limit stays): the accepted connections (the first ones; the
        # backlog is FIFO) close, and the client waiting in the backlog is served without any new
        # connection arriving to wake the listener.
        for s in self.held[:CLIENTS // 2 + 2]:
            s.close()
        start = time.monotonic()
        self.assertEqual(read_status(waiting, 5.0), 200)
        waited = time.monotonic() - start
        print(f"  waiting client answered {waited * 1000:.0f} ms after descriptors were freed")
        self.assertLess(waited, 1.0)

        for s in self.held:
            s.close()
        self.held.clear()
        s = socket.create_connection((LOCALHOST, gw.port))
        with s:
            request_on(s)
            self.assertEqual(read_status(s, 5.0), 200)
        self.assertIn("accepting again", gw.logs())
        # The back-off counted in and out of the listeners-paused gauge evenly.
        wait_until(lambda: metric(gw, "portico_downstream_listeners_paused") == 0,
                   message="no listener left paused")
        self.assertTrue(gw.running(), gw.logs())


if __name__ == "__main__":
    unittest.main()
