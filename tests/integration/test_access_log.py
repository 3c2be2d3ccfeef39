"""Access logs through the real gateway: a Gateway's options.accessLoggingService file sinks
(Envoy format strings and JSON formats, /dev/stdout), the --access-log flag with Envoy's default
format, reopening on SIGUSR1 (logrotate), and Rejected statuses that name what is not
supported."""

import json
import os
import re
import signal
import tempfile
import unittest
from pathlib import Path

from harness import (LOCALHOST, NAMESPACE, Backend, Portico, closed_port, free_port, gateway_yaml,
                     http_request, to_yaml, wait_until, write_yaml)

EVERY_OPERATOR = ("%START_TIME%|%REQ(:METHOD)%|%REQ(:PATH)%|%REQ(:AUTHORITY)%|%PROTOCOL%|"
                  "%RESPONSE_CODE%|%RESPONSE_FLAGS%|%BYTES_RECEIVED%|%BYTES_SENT%|%DURATION%|"
                  "%REQ(USER-AGENT)%|%RESP(X-Backend)%|%UPSTREAM_HOST%|%UPSTREAM_CLUSTER%|"
                  "%DOWNSTREAM_REMOTE_ADDRESS%|%ROUTE_NAME%|%REQUEST_ID%\n")


def config(cfg, backend_port, port, access_logs):
    write_yaml(cfg, "objects.yaml", to_yaml({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {"static": {"hosts": [{"addr": LOCALHOST, "port": backend_port}]}}}) + "---\n" + to_yaml({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": "dead", "namespace": NAMESPACE},
        "spec": {"static": {"hosts": [{"addr": LOCALHOST, "port": closed_port()}]}}}) + "---\n" + to_yaml({
        "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
        "metadata": {"name": "default", "namespace": NAMESPACE},
        "spec": {"virtualHost": {"domains": ["*"], "routes": [
            {"name": "echo", "matchers": [{"prefix": "/echo"}],
             "routeAction": {"single": {"upstream": {"name": "web", "namespace": NAMESPACE}}}},
            {"matchers": [{"prefix": "/dead"}],
             "routeAction": {"single": {"upstream": {"name": "dead", "namespace": NAMESPACE}}}},
        ]}}}))
    extra = None
    if access_logs is not None:
        extra = {"options": {"accessLoggingService": {"accessLog": access_logs}}}
    write_yaml(cfg, "gateway.yaml", gateway_yaml("gateway-proxy", port, extra_spec=extra))


def lines_of(path, count, timeout=5.0):
    def ready():
        p = Path(path)
        if not p.exists():
            return None
        lines = p.read_text().splitlines()
        return lines if len(lines) >= count else None
    return wait_until(ready, timeout, message=f"{count} lines in {path}")


class AccessLogTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.cfg = self.dir / "cfg"
        self.backend = Backend("log").start()

    def tearDown(self):
        self.backend.stop()
        self.tmp.cleanup()

    def test_every_operator_and_json(self):
        text_log, json_log = self.dir / "access.log", self.dir / "access.json"
        port = free_port()
        config(self.cfg, self.backend.port, port, [
            {"fileSink": {"path": str(text_log), "stringFormat": EVERY_OPERATOR}},
            {"fileSink": {"path": str(json_log), "jsonFormat": {
                "method": "%REQ(:METHOD)%", "code": "%RESPONSE_CODE%", "bytes": "%BYTES_RECEIVED%",
                "line": "%REQ(:METHOD)% %REQ(:PATH)%", "missing": "%REQ(x-nothing)%",
                "route": "%ROUTE_NAME%", "flags": "%RESPONSE_FLAGS%"}}},
        ])
        with Portico(self.cfg, workers=2) as gw:
            status, _, _ = http_request(gw.port, "POST", "/echo/a?x=1", body=b"12345",
                                        headers={"User-Agent": "ua/1", "X-Request-Id": "rid-1"},
                                        host="api.example.com")
            self.assertEqual(status, 200)
            self.assertEqual(http_request(gw.port, "GET", "/nowhere")[0], 404)
            self.assertEqual(http_request(gw.port, "GET", "/dead")[0], 502)
            # Workers queue their lines separately: find each request's line by its path.
            by_path = {line.split("|")[2]: line for line in lines_of(text_log, 3)}
            fields = by_path["/echo/a?x=1"].split("|")
            self.assertEqual(len(fields), 17, fields)
            self.assertRegex(fields[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(fields[1:10], ["POST", "/echo/a?x=1", "api.example.com", "HTTP/1.1",
                                            "200", "-", "5", fields[8], fields[9]])
            self.assertGreater(int(fields[8]), 0)  # the echoed body
            self.assertGreaterEqual(int(fields[9]), 0)
            self.assertEqual(fields[10], "ua/1")
            self.assertEqual(fields[11], "log")  # the backend's X-Backend response header
            self.assertEqual(fields[12], f"{LOCALHOST}:{self.backend.port}")
            self.assertEqual(fields[13], "web." + NAMESPACE)
            self.assertRegex(fields[14], r"^127\.0\.0\.1:\d+$")
            self.assertEqual(fields[15], "echo")
            self.assertEqual(fields[16], "rid-1")
            nowhere = by_path["/nowhere"].split("|")
            self.assertEqual((nowhere[2], nowhere[5], nowhere[6], nowhere[12], nowhere[15]),
                             ("/nowhere", "404", "NR", "-", "-"))
            dead = by_path["/dead"].split("|")
            self.assertEqual((dead[5], dead[6], dead[13], dead[15]),
                             ("502", "UF", "dead." + NAMESPACE, "default.gloo-system/1"))
            self.assertRegex(dead[16], r"^[0-9a-f-]{36}$")  # the x-request-id the gateway made

            records = {}
            for line in lines_of(json_log, 3):
                record = json.loads(line)
                records[record["line"]] = record
            self.assertEqual(records["POST /echo/a?x=1"], {"method": "POST", "code": 200, "bytes": 5,
                                          "line": "POST /echo/a?x=1", "missing": None,
                                          "route": "echo", "flags": "-"})
            self.assertEqual((records["GET /nowhere"]["code"], records["GET /nowhere"]["flags"]), (404, "NR"))

    def test_flag_default_format_and_reopen_on_sigusr1(self):
        log = self.dir / "flag.log"
        config(self.cfg, self.backend.port, free_port(), None)
        with Portico(self.cfg, extra_args=["--access-log", str(log)]) as gw:
            http_request(gw.port, "GET", "/echo/one", headers={"User-Agent": "curl/x"},
                         host="h.example")
            line = lines_of(log, 1)[0]
            # Envoy's default format.
            self.assertRegex(line, r'^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET /echo/one HTTP/1.1" '
                                   r'200 - 0 \d+ \d+ - "-" "curl/x" "[0-9a-f-]{36}" '
                                   r'"h\.example" "127\.0\.0\.1:\d+"$')
            rotated = self.dir / "flag.log.1"
            os.rename(log, rotated)
            os.kill(gw.pid, signal.SIGUSR1)
            wait_until(lambda: log.exists(), message="the log to be reopened")
            http_request(gw.port, "GET", "/echo/two")
            self.assertIn("/echo/two", lines_of(log, 1)[0])
            self.assertEqual(len(rotated.read_text().splitlines()), 1)
            self.assertTrue(gw.running())

    def test_dev_stdout(self):
        config(self.cfg, self.backend.port, free_port(), [
            {"fileSink": {"path": "/dev/stdout", "stringFormat": "LOG %REQ(:PATH)% %RESPONSE_CODE%\n"}}])
        with Portico(self.cfg) as gw:
            http_request(gw.port, "GET", "/echo/stdout")
            wait_until(lambda: "LOG /echo/stdout 200\n" in gw.stdout(), message="the line on stdout")

    def test_rejected_fields_are_named(self):
        port = free_port()
        config(self.cfg, self.backend.port, port, [
            {"fileSink": {"path": str(self.dir / "x.log"), "stringFormat": "%REQ(:METHOD)% %NOPE%"}}])
        # A rejected Gateway serves nothing; a second, valid one keeps the gateway ready.
        good = free_port()
        write_yaml(self.cfg, "good.yaml", gateway_yaml("good", good))
        with Portico(self.cfg) as gw:
            def reason(name):
                for s in gw.statuses():
                    if s["kind"] == "Gateway" and s["name"] == name:
                        return s
                return None
            s = wait_until(lambda: reason("gateway-proxy"), message="gateway status")
            self.assertEqual(s["state"], "Rejected")
            self.assertIn("spec.options.accessLoggingService.accessLog[0].fileSink.stringFormat: "
                          "unknown command operator %NOPE%", s["reason"])
            write_yaml(self.cfg, "gateway.yaml", gateway_yaml("gateway-proxy", port, extra_spec={
                "options": {"accessLoggingService": {"accessLog": [
                    {"grpcService": {"logName": "x"}}]}}}))
            wait_until(lambda: "accessLog[0].grpcService: field not supported" in reason("gateway-proxy")["reason"],
                       message="grpcService to be rejected")
            write_yaml(self.cfg, "gateway.yaml", gateway_yaml("gateway-proxy", port, extra_spec={
                "options": {"accessLoggingService": {"accessLog": [
                    {"fileSink": {"path": "/nonexistent-dir/a.log"}}]}}}))
            wait_until(lambda: "fileSink.path: cannot open access log /nonexistent-dir/a.log"
                       in reason("gateway-proxy")["reason"], message="an unopenable path to be rejected")
            self.assertEqual(http_request(good, "GET", "/echo")[0], 200)

    def test_bad_flag(self):
        config(self.cfg, self.backend.port, free_port(), None)
        gw = Portico(self.cfg, extra_args=["--access-log", "/nonexistent-dir/flag.log"])
        # The default gateway cannot open its log: it is Rejected naming the flag and the path.
        with gw:
            s = [x for x in gw.statuses() if x["kind"] == "Gateway"][0]
            self.assertEqual(s["state"], "Rejected")
            self.assertIn("--access-log.path: cannot open access log /nonexistent-dir/flag.log", s["reason"])


if __name__ == "__main__":
    unittest.main()
