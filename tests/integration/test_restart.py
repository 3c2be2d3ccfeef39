"""kill -9 under load, then start again on the same config directory: the gateway comes back with
the same config from the store (the same /config_dump, timestamps aside) and answers /ready
within 1 s of being started, and serves the load again. Nothing is persisted by the gateway
itself (DESIGN.md "Stateless"), so a crash loses nothing."""

import contextlib
import signal
import tempfile
import threading
import time
import unittest

from harness import (LOCALHOST, Backend, Portico, http_request, route, upstream_yaml,
                     virtual_service_yaml, wait_until, write_yaml)

TIMESTAMP_KEYS = ("time", "timestamp", "updated", "created", "generated")


def without_timestamps(value):
    if isinstance(value, dict):
        return {k: without_timestamps(v) for k, v in value.items()
                if not any(t in k.lower() for t in TIMESTAMP_KEYS)}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value]
    return value


class Load:
    """Requests on fresh connections from two threads; counts answers by outcome."""

    def __init__(self, port, paths):
        self.port = port
        self.paths = paths
        self.ok = 0
        self.failed = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(2)]

    def _run(self, i):
        n = 0
        while not self._stop.is_set():
            path = self.paths[(n + i) % len(self.paths)]
            n += 1
            try:
                status, _, _ = http_request(self.port, "GET", path, timeout=2.0)
                if status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
                time.sleep(0.01)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()
        return False


class Restart(unittest.TestCase):
    def test_kill_9_and_restart_on_the_same_config(self):
        with contextlib.ExitStack() as stack:
            a = stack.enter_context(Backend("a"))
            b = stack.enter_context(Backend("b"))
            cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-restart-"))
            write_yaml(cfg, "up-a.yaml", upstream_yaml("up-a", [(LOCALHOST, a.port)]))
            write_yaml(cfg, "up-b.yaml", upstream_yaml("up-b", [(LOCALHOST, b.port)]))
            routes = [route("up-a", prefix="/echo/a"), route("up-b", prefix="/echo/b"),
                      route("up-a", exact="/echo")]
            write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", routes))
            gw = Portico(cfg, workers=2)
            gw.start()
            stack.callback(gw.stop)
            dump_before = without_timestamps(gw.config_dump())
            statuses_before = sorted((s["kind"], s["name"], s["state"]) for s in gw.statuses())

            with Load(gw.port, ["/echo/a", "/echo/b", "/echo"]) as load:
                wait_until(lambda: load.ok > 200, 10.0, message="load to run")
                self.assertEqual(gw.stop(signal.SIGKILL), -signal.SIGKILL)
                ok_at_kill = load.ok
                time.sleep(0.3)  # requests fail meanwhile: nobody listens

                started = time.monotonic()
                gw.start()  # polls /ready every 50 ms from the moment the process is spawned
                ready_after = time.monotonic() - started
                wait_until(lambda: load.ok > ok_at_kill + 200, 10.0,
                           message="load to be served again")
            print(f"\n  /ready {ready_after * 1000:.0f} ms after start; {load.ok} answered, "
                  f"{load.failed} failed around the kill")
            self.assertLess(ready_after, 1.0)
            self.assertEqual(without_timestamps(gw.config_dump()), dump_before)
            self.assertEqual(sorted((s["kind"], s["name"], s["state"]) for s in gw.statuses()),
                             statuses_before)
            for path in ("/echo/a", "/echo/b", "/echo"):
                self.assertEqual(http_request(gw.port, "GET", path)[0], 200, path)


if __name__ == "__main__":
    unittest.main()
