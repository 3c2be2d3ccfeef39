"""Hot reload from the config directory: new and changed objects are served within a second,
50 reloads under continuous load lose no request, a rejected edit keeps the previously accepted
version serving (Rejected in /statuses, naming the missing upstream), and a YAML syntax error
is reported for that file only.

Each test starts its own gateway, since each one rewrites the config."""

import contextlib
import json
import tempfile
import threading
import time
import unittest

from harness import (LOCALHOST, Backend, Connection, Portico, http_request, remove_yaml, route,
                     upstream_yaml, virtual_service_yaml, wait_until, write_yaml)

RELOAD_DEADLINE_S = 1.0


class Reload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.a = stack.enter_context(Backend("a"))
        cls.b = stack.enter_context(Backend("b"))

    def setUp(self):
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        self.cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-reload-"))
        write_yaml(self.cfg, "up-a.yaml", upstream_yaml("up-a", [(LOCALHOST, self.a.port)]))
        write_yaml(self.cfg, "up-b.yaml", upstream_yaml("up-b", [(LOCALHOST, self.b.port)]))
        write_yaml(self.cfg, "vs-default.yaml", virtual_service_yaml(
            "default", [route("up-a", prefix="/echo")]))
        self.gw = stack.enter_context(Portico(self.cfg))
        self.stopped_on_purpose = False

    def tearDown(self):
        if not self.stopped_on_purpose:
            self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def get(self, path, host="example.com"):
        """(status, x-backend). The backend answers 404 for paths it has no endpoint for, with
        x-backend; the gateway's own 404 (no route) has none."""
        status, headers, _ = http_request(self.gw.port, "GET", path, host=host)
        return status, headers.get("x-backend")

    def served_by(self, path, backend, host="example.com"):
        return self.get(path, host)[1] == backend

    def not_routed(self, path, host="example.com"):
        return self.get(path, host) == (404, None)

    def wait_served(self, path, backend, host="example.com", deadline=RELOAD_DEADLINE_S):
        """Waits until path is served by backend; returns the seconds it took."""
        start = time.monotonic()
        wait_until(lambda: self.served_by(path, backend, host), timeout=deadline + 4,
                   interval=0.01, message=f"{path} served by {backend}")
        return time.monotonic() - start

    # -- changes are picked up --

    def test_new_virtual_service_served_within_a_second(self):
        self.assertTrue(self.not_routed("/new", host="new.test"))
        write_yaml(self.cfg, "vs-new.yaml", virtual_service_yaml(
            "new", [route("up-b", prefix="/new")], domains=["new.test"]))
        took = self.wait_served("/new", "b", host="new.test")
        self.assertLess(took, RELOAD_DEADLINE_S, f"new route served after {took:.3f}s")
        self.assertTrue(self.served_by("/echo/x", "a"))
        self.gw.wait_status("VirtualService", "new", "Accepted")

    def test_changed_route_served_within_a_second(self):
        write_yaml(self.cfg, "vs-default.yaml", virtual_service_yaml(
            "default", [route("up-a", prefix="/echo"), route("up-b", exact="/added")]))
        took = self.wait_served("/added", "b")
        self.assertLess(took, RELOAD_DEADLINE_S)

    def test_changed_upstream_hosts_take_effect(self):
        write_yaml(self.cfg, "up-a.yaml", upstream_yaml("up-a", [(LOCALHOST, self.b.port)]))
        took = self.wait_served("/echo/x", "b")
        self.assertLess(took, RELOAD_DEADLINE_S)

    def test_deleted_virtual_service_stops_serving(self):
        write_yaml(self.cfg, "vs-other.yaml", virtual_service_yaml(
            "other", [route("up-b", prefix="/")], domains=["other.test"]))
        self.wait_served("/x", "b", host="other.test")
        remove_yaml(self.cfg, "vs-other.yaml")
        wait_until(lambda: self.not_routed("/x", host="other.test"), RELOAD_DEADLINE_S + 1,
                   0.01, "deleted virtual service to stop serving")
        wait_until(lambda: self.gw.status_of("VirtualService", "other") is None, 2.0, 0.05,
                   "deleted object to leave /statuses")

    # -- load --

    def test_fifty_reloads_under_load_lose_no_request(self):
        stop = threading.Event()
        failures = []
        counts = {"requests": 0}
        lock = threading.Lock()

        def record(ok, what):
            with lock:
                counts["requests"] += 1
                if not ok:
                    failures.append(what)

        def keep_alive_client():
            conn = Connection(self.gw.port)
            try:
                while not stop.is_set():
                    try:
                        status, _, _ = conn.request("GET", "/echo/load")
                        record(status == 200, status)
                    except Exception as e:  # noqa: BLE001
                        record(False, repr(e))
                        conn.close()
                        conn = Connection(self.gw.port)
            finally:
                conn.close()

        def new_connection_client():
            while not stop.is_set():
                try:
                    status, _, _ = http_request(self.gw.port, "POST", "/echo/load", body=b"x" * 1000)
                    record(status == 200, status)
                except Exception as e:  # noqa: BLE001
                    record(False, repr(e))

        threads = [threading.Thread(target=f) for f in (keep_alive_client, keep_alive_client,
                                                         new_connection_client)]
        for t in threads:
            t.start()
        try:
            for i in range(50):
                target = "up-b" if i % 2 == 0 else "up-a"
                routes = [route(target, prefix="/echo"), route(target, exact=f"/version/{i}")]
                write_yaml(self.cfg, "vs-default.yaml", virtual_service_yaml("default", routes))
                # each version really gets applied (no coalescing two writes into one reload)
                self.wait_served(f"/version/{i}", target[-1])
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [], f"{len(failures)} of {counts['requests']} requests failed")
        self.assertGreater(counts["requests"], 100)

    # -- rejected edits --

    def test_rejected_edit_keeps_the_old_version(self):
        write_yaml(self.cfg, "vs-default.yaml", virtual_service_yaml(
            "default", [route("up-a", prefix="/echo"), route("petstore", prefix="/pets")]))
        s = self.gw.wait_status("VirtualService", "default", "Rejected", timeout=3)
        self.assertIn("petstore", s["reason"])
        self.assertIn("not found", s["reason"])
        self.assertIn("routes[1]", s["reason"])
        # the last accepted version keeps serving, unchanged
        for _ in range(20):
            self.assertTrue(self.served_by("/echo/x", "a"))
        self.assertTrue(self.not_routed("/pets"))
        # fixing it (creating the upstream) makes the edit go live
        write_yaml(self.cfg, "up-petstore.yaml", upstream_yaml("petstore", [(LOCALHOST, self.b.port)]))
        self.wait_served("/pets", "b")
        self.gw.wait_status("VirtualService", "default", "Accepted")

    def test_yaml_syntax_error_reported_for_that_file_only(self):
        write_yaml(self.cfg, "broken.yaml",
                   "apiVersion: gateway.solo.io/v1\nkind: VirtualService\n"
                   "metadata: {name: broken\nspec: [unclosed\n")

        def reported():
            text = json.dumps(self.gw.statuses()) + self.gw.logs()
            return "broken.yaml" in text
        wait_until(reported, 3.0, 0.05, "broken.yaml to be reported in /statuses or the log")
        for s in self.gw.statuses():
            if "broken.yaml" in json.dumps(s):
                continue
            self.assertEqual(s.get("state"), "Accepted", s)
        for _ in range(10):
            self.assertTrue(self.served_by("/echo/x", "a"))
        # fixing the file makes it an ordinary accepted object
        write_yaml(self.cfg, "broken.yaml", virtual_service_yaml(
            "broken", [route("up-b", prefix="/")], domains=["broken.test"]))
        self.wait_served("/", "b", host="broken.test")

    def test_syntax_error_in_a_served_file_keeps_its_objects(self):
        """A bad edit never takes traffic down: breaking the YAML of a file that held an
        accepted VirtualService keeps that VirtualService serving."""
        write_yaml(self.cfg, "vs-default.yaml", "apiVersion: gateway.solo.io/v1\n"
                   "kind: VirtualService\nmetadata: {name: default\n  : : :\n")
        time.sleep(1.5)  # well past the reload deadline
        for _ in range(10):
            self.assertTrue(self.served_by("/echo/x", "a"))
        self.assertTrue("vs-default.yaml" in json.dumps(self.gw.statuses()) + self.gw.logs())

    def test_starting_with_a_rejected_object_still_serves_the_rest(self):
        write_yaml(self.cfg, "vs-bad.yaml", virtual_service_yaml(
            "bad", [route("nowhere", prefix="/")], domains=["bad.test"]))
        self.gw.wait_status("VirtualService", "bad", "Rejected")
        self.stopped_on_purpose = True
        code = self.gw.stop()
        self.assertEqual(code, 0, self.gw.logs())
        with Portico(self.cfg) as gw2:
            self.assertEqual(http_request(gw2.port, "GET", "/echo/x")[0], 200)
            s = gw2.status_of("VirtualService", "bad")
            self.assertEqual(s["state"], "Rejected")
            self.assertIn("nowhere", s["reason"])


if __name__ == "__main__":
    unittest.main()
