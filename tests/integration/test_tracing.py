"""Distributed tracing through the real gateway: a collector this test starts (stdlib HTTP
server) receives Zipkin v2 and OTLP/HTTP JSON spans whose trace, parent and child ids line up
with the headers the test backend received (its /echo shows them); W3C and B3 (single and
multi) callers' traces are continued in their own format; malformed inputs start a new root;
sampling 0/100 and a caller's sampled=0; one client span per retry attempt; a dead and a
black-hole collector never slow or fail requests and count dropped spans in /metrics; Gloo's
Gateway tracing options are rejected naming the field."""

import json
import re
import socket
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import (LOCALHOST, NAMESPACE, Backend, Connection, Portico, closed_port, gateway_yaml,
                     get_json, http_request, to_yaml, wait_until, write_yaml)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


class Collector:
    """Zipkin (POST /api/v2/spans) and OTLP (POST /v1/traces) on one port. Every body must be
    JSON of the right shape, else the test fails (`.errors`)."""

    def __init__(self):
        self.zipkin = []  # span dicts
        self.otlp = []    # span dicts (flattened from resourceSpans)
        self.errors = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    if self.headers.get("content-type") != "application/json":
                        raise ValueError(f"content-type {self.headers.get('content-type')}")
                    doc = json.loads(body)
                    if self.path == "/api/v2/spans":
                        collector.add_zipkin(doc)
                    elif self.path == "/v1/traces":
                        collector.add_otlp(doc)
                    else:
                        raise ValueError(f"unexpected path {self.path}")
                    status = 202 if self.path == "/api/v2/spans" else 200
                except Exception as e:  # noqa: BLE001 - recorded for the test to fail on
                    with collector.lock:
                        collector.errors.append(repr(e))
                    status = 400
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_zipkin(self, doc):
        assert isinstance(doc, list), "zipkin body is not an array"
        for s in doc:
            assert HEX32.match(s["traceId"]) or HEX16.match(s["traceId"]), s
            assert HEX16.match(s["id"]), s
            assert "parentId" not in s or HEX16.match(s["parentId"]), s
            assert s["kind"] in ("SERVER", "CLIENT"), s
            assert isinstance(s["timestamp"], int) and s["timestamp"] > 1_600_000_000_000_000, s
            assert isinstance(s["duration"], int) and s["duration"] >= 1, s
            assert s["localEndpoint"]["serviceName"] == "portico", s
            assert all(isinstance(v, str) for v in s["tags"].values()), s
        with self.lock:
            self.zipkin.extend(doc)

    def add_otlp(self, doc):
        spans = []
        for rs in doc["resourceSpans"]:
            attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            assert attrs["service.name"] == {"stringValue": "portico"}, attrs
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    assert HEX32.match(s["traceId"]) and HEX16.match(s["spanId"]), s
                    assert "parentSpanId" not in s or HEX16.match(s["parentSpanId"]), s
                    assert s["kind"] in (2, 3), s
                    assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) > 0, s
                    s["attrs"] = {a["key"]: list(a["value"].values())[0] for a in s["attributes"]}
                    spans.append(s)
        with self.lock:
            self.otlp.extend(spans)

    def zipkin_trace(self, trace_id, count, timeout=5.0):
        def got():
            with self.lock:
                spans = [s for s in self.zipkin if s["traceId"] == trace_id]
            return spans if len(spans) >= count else None
        return wait_until(got, timeout, message=f"{count} zipkin spans of trace {trace_id}")

    def otlp_trace(self, trace_id, count, timeout=5.0):
        def got():
            with self.lock:
                spans = [s for s in self.otlp if s["traceId"] == trace_id.rjust(32, "0")]
            return spans if len(spans) >= count else None
        return wait_until(got, timeout, message=f"{count} otlp spans of trace {trace_id}")

    def has_trace(self, trace_id):
        with self.lock:
            return any(s["traceId"] == trace_id for s in self.zipkin)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(cfg, backend_port, port, gateway_extra=None):
    write_yaml(cfg, "objects.yaml", to_yaml({
        "apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {"static": {"hosts": [{"addr": LOCALHOST, "port": backend_port}]}}}) + "---\n" + to_yaml({
        "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
        "metadata": {"name": "default", "namespace": NAMESPACE},
        "spec": {"virtualHost": {"domains": ["*"], "routes": [
            {"name": "flaky", "matchers": [{"prefix": "/flaky"}],
             "routeAction": {"single": {"upstream": {"name": "web", "namespace": NAMESPACE}}},
             "options": {"retries": {"retryOn": "5xx", "numRetries": 3}}},
            {"name": "echo", "matchers": [{"prefix": "/"}],
             "routeAction": {"single": {"upstream": {"name": "web", "namespace": NAMESPACE}}}},
        ]}}}))
    write_yaml(cfg, "gateway.yaml", gateway_yaml("gateway-proxy", port, extra_spec=gateway_extra))


def echo_headers(port, headers=None, path="/echo"):
    _, body = get_json(port, path, headers=headers)
    return {k.lower(): v for k, v in body["headers"].items()}


def metric(gw, name, labels=""):
    _, _, body = gw.admin_get("/metrics")
    total = 0
    for line in body.decode().splitlines():
        if line.startswith(name + "{" + labels) or (not labels and line.startswith(name + " ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


class TracingTest(unittest.TestCase):
    """One gateway exporting to Zipkin and OTLP with 100% sampling."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cfg = Path(cls.tmp.name)
        cls.collector = Collector()
        cls.backend = Backend("traced").start()
        from harness import free_port
        write_config(cls.cfg, cls.backend.port, free_port())
        url = f"http://{LOCALHOST}:{cls.collector.port}"
        cls.gw = Portico(cls.cfg, workers=2, extra_args=[
            "--zipkin-endpoint", url, "--otlp-endpoint", url + "/v1/traces",
            "--trace-sampling", "100"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.collector.stop()
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertEqual(self.collector.errors, [])

    def check_pair(self, spans, trace_id, parent_of_server):
        """A server span (child of `parent_of_server`) and one client span under it."""
        server = [s for s in spans if s["kind"] == "SERVER"]
        client = [s for s in spans if s["kind"] == "CLIENT"]
        self.assertEqual(len(server), 1, spans)
        self.assertEqual(len(client), 1, spans)
        server, client = server[0], client[0]
        self.assertEqual(server.get("parentId"), parent_of_server)
        self.assertEqual(client["parentId"], server["id"])
        self.assertEqual(server["tags"]["http.status_code"], "200")
        self.assertEqual(server["tags"]["portico.route"], "echo")
        self.assertEqual(server["tags"]["portico.virtual_service"], "default.gloo-system")
        self.assertEqual(server["tags"]["portico.upstream"], "web.gloo-system")
        self.assertEqual(client["tags"]["peer.address"], f"{LOCALHOST}:{self.backend.port}")
        self.assertEqual(client["tags"]["portico.attempt"], "1")
        self.assertNotIn("error", server["tags"])
        self.assertLessEqual(server["timestamp"], client["timestamp"])
        return server, client

    def test_root_trace_reaches_backend_zipkin_and_otlp(self):
        h = echo_headers(self.gw.port)
        m = re.match(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$", h["traceparent"])
        self.assertIsNotNone(m, h)
        trace_id, client_id = m.groups()
        server, client = self.check_pair(self.collector.zipkin_trace(trace_id, 2), trace_id, None)
        self.assertEqual(client["id"], client_id)  # the backend's parent is our client span
        otlp = self.collector.otlp_trace(trace_id, 2)
        by_kind = {s["kind"]: s for s in otlp}
        self.assertNotIn("parentSpanId", by_kind[2])
        self.assertEqual(by_kind[2]["spanId"], server["id"])
        self.assertEqual(by_kind[3]["spanId"], client_id)
        self.assertEqual(by_kind[3]["parentSpanId"], server["id"])
        self.assertEqual(by_kind[2]["attrs"]["http.response.status_code"], "200")
        self.assertEqual(by_kind[3]["attrs"]["portico.upstream"], "web.gloo-system")

    def test_w3c_caller_trace_is_continued(self):
        h = echo_headers(self.gw.port, {"traceparent": f"00-{TRACE}-{SPAN}-01",
                                        "tracestate": "vendor=abc,other=1"})
        m = re.match(rf"^00-{TRACE}-([0-9a-f]{{16}})-01$", h["traceparent"])
        self.assertIsNotNone(m, h)
        self.assertNotEqual(m.group(1), SPAN)
        self.assertEqual(h["tracestate"], "vendor=abc,other=1")
        self.assertNotIn("b3", h)
        _, client = self.check_pair(self.collector.zipkin_trace(TRACE, 2), TRACE, SPAN)
        self.assertEqual(client["id"], m.group(1))

    def test_b3_single_caller_trace_is_continued_in_b3(self):
        trace = "463ac35c9f6413ad48485a3953bb6124"
        h = echo_headers(self.gw.port, {"b3": f"{trace}-{SPAN}-1"})
        self.assertNotIn("traceparent", h)
        m = re.match(rf"^{trace}-([0-9a-f]{{16}})-1-([0-9a-f]{{16}})$", h["b3"])
        self.assertIsNotNone(m, h)
        server, client = self.check_pair(self.collector.zipkin_trace(trace, 2), trace, SPAN)
        self.assertEqual(client["id"], m.group(1))
        self.assertEqual(server["id"], m.group(2))

    def test_b3_multi_caller_trace_is_continued_in_b3_multi(self):
        trace = "a3ce929d0e0e4736"  # 64-bit: propagated and reported as 64-bit
        h = echo_headers(self.gw.port, {"X-B3-TraceId": trace, "X-B3-SpanId": SPAN,
                                        "X-B3-Sampled": "1"})
        self.assertEqual(h["x-b3-traceid"], trace)
        self.assertEqual(h["x-b3-sampled"], "1")
        self.assertNotIn("traceparent", h)
        server, client = self.check_pair(self.collector.zipkin_trace(trace, 2), trace, SPAN)
        self.assertEqual(h["x-b3-spanid"], client["id"])
        self.assertEqual(h["x-b3-parentspanid"], server["id"])
        self.collector.otlp_trace(trace, 2)  # OTLP ids are 128-bit: zero-padded

    def test_malformed_inputs_start_a_new_root(self):
        for headers in ({"traceparent": f"00-{TRACE.upper()}-{SPAN}-01"},
                        {"traceparent": f"00-{'0' * 32}-{SPAN}-01"},
                        {"traceparent": f"00-{TRACE[:-1]}-{SPAN}-01"},
                        {"b3": f"{TRACE}-zzzzzzzzzzzzzzzz-1"},
                        {"x-b3-traceid": TRACE, "x-b3-spanid": "123"}):
            h = echo_headers(self.gw.port, headers)
            m = re.match(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-01$", h.get("traceparent", ""))
            self.assertIsNotNone(m, (headers, h))
            self.assertNotEqual(m.group(1), TRACE)
            for name in ("b3", "x-b3-traceid", "x-b3-spanid"):
                self.assertNotIn(name, h, headers)
            self.check_pair(self.collector.zipkin_trace(m.group(1), 2), m.group(1), None)

    def test_caller_sampled_zero_is_honoured(self):
        trace = "11111111111111111111111111111111"
        h = echo_headers(self.gw.port, {"traceparent": f"00-{trace}-{SPAN}-00"})
        self.assertRegex(h["traceparent"], rf"^00-{trace}-[0-9a-f]{{16}}-00$")
        # A sampled request sent after it is exported; the unsampled one never is.
        marker = echo_headers(self.gw.port)["traceparent"].split("-")[1]
        self.collector.zipkin_trace(marker, 2)
        time.sleep(0.5)
        self.assertFalse(self.collector.has_trace(trace))

    def test_each_retry_attempt_is_a_client_span(self):
        trace = "22222222222222222222222222222222"
        status, _, body = http_request(self.gw.port, "GET", "/flaky/2/tracing-retry",
                                       headers={"traceparent": f"00-{trace}-{SPAN}-01"})
        self.assertEqual(status, 200, body)
        spans = self.collector.zipkin_trace(trace, 4)
        server = [s for s in spans if s["kind"] == "SERVER"]
        clients = sorted((s for s in spans if s["kind"] == "CLIENT"),
                         key=lambda s: int(s["tags"]["portico.attempt"]))
        self.assertEqual(len(server), 1)
        self.assertEqual([c["tags"]["portico.attempt"] for c in clients], ["1", "2", "3"])
        self.assertEqual([c["tags"]["http.status_code"] for c in clients], ["503", "503", "200"])
        self.assertEqual([c["tags"].get("error") for c in clients], ["503", "503", None])
        self.assertEqual(len({c["id"] for c in clients}), 3)
        for c in clients:
            self.assertEqual(c["parentId"], server[0]["id"])
        self.assertEqual(server[0]["tags"]["portico.route"], "flaky")
        self.assertEqual(server[0]["tags"]["http.status_code"], "200")
        otlp = self.collector.otlp_trace(trace, 4)
        resends = sorted(s["attrs"].get("http.request.resend_count", "0") for s in otlp if s["kind"] == 3)
        self.assertEqual(resends, ["0", "1", "2"])

    def test_metrics_count_sampled_and_exported(self):
        trace = echo_headers(self.gw.port)["traceparent"].split("-")[1]
        self.collector.zipkin_trace(trace, 2)
        self.collector.otlp_trace(trace, 2)
        self.assertGreaterEqual(metric(self.gw, "portico_tracing_spans_sampled_total"), 2)
        wait_until(lambda: metric(self.gw, "portico_tracing_spans_exported_total",
                                  'exporter="zipkin"') >= 2, message="zipkin exported counter")
        wait_until(lambda: metric(self.gw, "portico_tracing_spans_exported_total",
                                  'exporter="otlp"') >= 2, message="otlp exported counter")
        self.assertEqual(metric(self.gw, "portico_tracing_spans_dropped_total"), 0)


class SamplingAndDeadCollectorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.cfg = Path(self.tmp.name)
        self.backend = Backend("traced").start()
        from harness import free_port
        self.port = free_port()
        write_config(self.cfg, self.backend.port, self.port)

    def tearDown(self):
        self.backend.stop()
        self.tmp.cleanup()

    def test_sampling_zero_samples_only_callers_decisions(self):
        collector = Collector()
        try:
            with Portico(self.cfg, extra_args=["--zipkin-endpoint",
                                               f"http://{LOCALHOST}:{collector.port}"]) as gw:
                roots = []
                for _ in range(20):
                    h = echo_headers(gw.port)
                    self.assertRegex(h["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
                    roots.append(h["traceparent"].split("-")[1])
                self.assertEqual(len(set(roots)), 20)
                trace = "33333333333333333333333333333333"
                echo_headers(gw.port, {"traceparent": f"00-{trace}-{SPAN}-01"})
                spans = collector.zipkin_trace(trace, 2)
                self.assertEqual({s["kind"] for s in spans}, {"SERVER", "CLIENT"})
                time.sleep(0.4)
                with collector.lock:
                    self.assertEqual({s["traceId"] for s in collector.zipkin}, {trace})
                self.assertEqual(collector.errors, [])
        finally:
            collector.stop()

    def test_tracing_off_passes_headers_through(self):
        with Portico(self.cfg) as gw:
            h = echo_headers(gw.port, {"traceparent": f"00-{TRACE}-{SPAN}-01", "b3": "1"})
            self.assertEqual(h["traceparent"], f"00-{TRACE}-{SPAN}-01")
            self.assertEqual(h["b3"], "1")
            _, _, body = gw.admin_get("/metrics")
            self.assertNotIn(b"portico_tracing_", body)

    def test_dead_and_black_hole_collectors_never_slow_requests(self):
        # Zipkin: nothing listens (refused). OTLP: a socket that never accepts (the POST hangs
        # until the exporter's timeout).
        hole = socket.socket()
        hole.bind((LOCALHOST, 0))
        hole.listen(1)
        try:
            with Portico(self.cfg, extra_args=[
                    "--zipkin-endpoint", f"http://{LOCALHOST}:{closed_port()}",
                    "--otlp-endpoint", f"http://{LOCALHOST}:{hole.getsockname()[1]}",
                    "--trace-sampling", "100"]) as gw:
                conn = Connection(gw.port)
                latencies = []
                start = time.monotonic()
                for _ in range(400):
                    t0 = time.monotonic()
                    status, _, _ = conn.request("GET", "/echo")
                    latencies.append(time.monotonic() - t0)
                    self.assertEqual(status, 200)
                elapsed = time.monotonic() - start
                conn.close()
                latencies.sort()
                # Full speed: no request waits for the exporter (whose POSTs take up to 1 s).
                self.assertLess(latencies[len(latencies) // 2], 0.02, latencies[-5:])
                self.assertLess(latencies[-1], 0.5, latencies[-5:])
                self.assertLess(elapsed, 8.0)
                wait_until(lambda: metric(gw, "portico_tracing_spans_dropped_total",
                                          'reason="export_failed",exporter="zipkin"') > 0,
                           message="zipkin drops counted")
                wait_until(lambda: metric(gw, "portico_tracing_spans_dropped_total",
                                          'reason="export_failed",exporter="otlp"') > 0,
                           timeout=10.0, message="otlp drops counted")
                self.assertEqual(metric(gw, "portico_tracing_spans_exported_total"), 0)
                self.assertGreaterEqual(metric(gw, "portico_tracing_spans_sampled_total"), 800)
        finally:
            hole.close()

    def test_flags_are_checked(self):
        import subprocess
        from harness import PORTICO_BIN
        for args, needle in ((["--trace-sampling", "1"], "--trace-sampling needs"),
                             (["--zipkin-endpoint", "https://x:1"], "--zipkin-endpoint"),
                             (["--otlp-endpoint", "x:1"], "--otlp-endpoint"),
                             (["--zipkin-endpoint", "http://x:1", "--trace-sampling", "101"],
                              "--trace-sampling"),
                             (["--zipkin-endpoint", "http://x:1", "--trace-sampling", "abc"],
                              "--trace-sampling")):
            r = subprocess.run([str(PORTICO_BIN), "run", "--config-dir", str(self.cfg), *args],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(needle, r.stderr, args)

    def test_gloo_tracing_options_are_rejected_naming_the_field(self):
        write_config(self.cfg, self.backend.port, self.port, gateway_extra={
            "httpGateway": {"options": {"tracing": {"verbose": True}}}})
        with Portico(self.cfg) as gw:
            s = gw.wait_status("Gateway", "gateway-proxy", "Rejected")
            self.assertIn("spec.httpGateway.options.tracing", s["reason"])


if __name__ == "__main__":
    unittest.main()
