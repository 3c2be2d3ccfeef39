"""Process lifecycle and the admin API: /ready, /statuses, /config_dump; SIGTERM drains
in-flight requests while refusing new connections and exits 0; `portico validate DIR` exits 1
when something is rejected; several workers; a restart rebuilds the same config (stateless);
CLI errors name the problem."""

import contextlib
import json
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import (LOCALHOST, Backend, Connection, Portico, http_request, portico_validate,
                     route, upstream_yaml, virtual_service_yaml, wait_until, write_yaml)


def write_good_config(cfg, backend_port):
    write_yaml(cfg, "upstream.yaml", upstream_yaml("up-a", [(LOCALHOST, backend_port)]))
    write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))


class Lifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))

    def setUp(self):
        self.stack = contextlib.ExitStack()
        self.addCleanup(self.stack.close)
        self.cfg = self.stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-life-"))
        write_good_config(self.cfg, self.backend.port)

    def start(self, **kw):
        return self.stack.enter_context(Portico(self.cfg, **kw))

    # -- admin API --

    def test_admin_endpoints(self):
        gw = self.start()
        status, _, body = gw.admin_get("/ready")
        self.assertEqual(status, 200)
        statuses = gw.statuses()
        self.assertIsInstance(statuses, list)
        for s in statuses:
            self.assertTrue({"kind", "namespace", "name", "state", "reason"} <= set(s), s)
        names = {(s["kind"].lower(), s["name"]): s for s in statuses}
        for kind, name in (("upstream", "up-a"), ("virtualservice", "default"),
                           ("gateway", "gateway-proxy")):
            self.assertIn((kind, name), names)
            self.assertEqual(names[(kind, name)]["state"], "Accepted")
            self.assertEqual(names[(kind, name)]["namespace"], "gloo-system")
        self.assertIsNotNone(gw.config_dump())
        self.assertNotEqual(gw.admin_get("/no-such-admin-page")[0], 200)

    # -- SIGTERM --

    def test_sigterm_drains_in_flight_requests(self):
        gw = self.start()
        idle = Connection(gw.port)  # an idle keep-alive connection must not block the exit
        self.assertEqual(idle.request("GET", "/echo")[0], 200)
        result = {}

        def slow_request():
            try:
                result["response"] = http_request(gw.port, "GET", "/delay/1000", timeout=10)
            except Exception as e:  # noqa: BLE001
                result["error"] = e
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.3)  # the request is at the backend now
        gw.proc.send_signal(signal.SIGTERM)

        def refused():
            try:
                socket.create_connection((LOCALHOST, gw.port), timeout=0.2).close()
                return False
            except ConnectionRefusedError:
                return True
        wait_until(refused, 0.5, 0.01, "new connections to be refused after SIGTERM")
        t.join(10)
        self.assertNotIn("error", result, f"in-flight request failed: {result.get('error')!r}\n"
                         f"{gw.logs()}")
        status, _, body = result["response"]
        self.assertEqual((status, body), (200, b"ok"))
        try:
            code = gw.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("gateway still running 10 s after SIGTERM with nothing in flight")
        finally:
            idle.close()
        self.assertEqual(code, 0, gw.logs())

    def test_sigterm_when_idle_exits_promptly(self):
        gw = self.start()
        start = time.monotonic()
        code = gw.stop(signal.SIGTERM, timeout=10)
        self.assertEqual(code, 0, gw.logs())
        self.assertLess(time.monotonic() - start, 2.0)

    def test_sigint_exits_cleanly(self):
        gw = self.start()
        self.assertEqual(gw.stop(signal.SIGINT, timeout=10), 0, gw.logs())

    # -- validate --

    def test_validate_accepts_a_good_directory(self):
        write_yaml(self.cfg, "gateway.yaml", harness.gateway_yaml("gateway-proxy", 8080))
        r = portico_validate(self.cfg)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        for name in ("up-a", "default", "gateway-proxy"):
            self.assertIn(name, out)
        self.assertIn("Accepted", out)
        self.assertNotIn("Rejected", out)

    def test_validate_reports_a_rejected_object(self):
        write_yaml(self.cfg, "vs-bad.yaml", virtual_service_yaml(
            "bad", [route("petstore", prefix="/")], domains=["bad.test"]))
        r = portico_validate(self.cfg)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("Rejected", out)
        self.assertIn("petstore", out)
        self.assertIn("bad", out)

    def test_validate_reports_a_yaml_syntax_error(self):
        write_yaml(self.cfg, "broken.yaml", "kind: VirtualService\nmetadata: {name: x\n")
        r = portico_validate(self.cfg)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("broken.yaml", r.stdout + r.stderr)

    def test_validate_does_not_bind_or_serve(self):
        port = harness.free_port()
        write_yaml(self.cfg, "gateway.yaml", harness.gateway_yaml("gateway-proxy", port))
        with socket.socket() as s:  # the port is taken: validate must not care
            s.bind((LOCALHOST, port))
            s.listen()
            r = portico_validate(self.cfg)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    # -- workers, restart, CLI --

    def test_several_workers_serve(self):
        gw = self.start(workers=2)
        for i in range(50):
            status, _, data = http_request(gw.port, "GET", f"/echo/{i}")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(data)["path"], f"/echo/{i}")

    def test_restart_rebuilds_the_same_config(self):
        gw = self.start()
        before = http_request(gw.port, "GET", "/echo")
        self.assertEqual(gw.stop(), 0, gw.logs())
        gw2 = self.start()
        self.assertEqual(gw2.port, gw.port)
        after = http_request(gw2.port, "GET", "/echo")
        self.assertEqual((before[0], before[1].get("x-backend")), (after[0], after[1].get("x-backend")))

    def test_bad_config_dir_is_a_cli_error(self):
        r = subprocess.run([str(harness.PORTICO_BIN), "run", "--config-dir", "/nonexistent/dir",
                            "--admin-address", f"{LOCALHOST}:{harness.free_port()}"],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue("/nonexistent/dir" in r.stderr or "--config-dir" in r.stderr, r.stderr)

    def test_unknown_flag_is_a_cli_error(self):
        r = subprocess.run([str(harness.PORTICO_BIN), "run", "--no-such-flag"],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--no-such-flag", r.stderr)

    def test_busy_gateway_port_is_reported(self):
        port = harness.free_port()
        write_yaml(self.cfg, "gateway.yaml", harness.gateway_yaml("gateway-proxy", port))
        with socket.socket() as s:
            s.bind((LOCALHOST, port))
            s.listen()
            gw = Portico(self.cfg)
            try:
                gw.start()
            except RuntimeError as e:  # refusing to start is fine if it says why
                self.assertIn(str(port), str(e))
                return
            try:  # still running: then the Gateway's status or the log must say why
                status = gw.status_of("Gateway", "gateway-proxy") or {}
                self.assertTrue(status.get("state") == "Rejected" or str(port) in gw.logs(),
                                f"{status}\n{gw.logs()}")
            finally:
                gw.stop()

if __name__ == "__main__":
    unittest.main()
