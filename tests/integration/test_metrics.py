"""GET /metrics through the real gateway: every line parsed by a strict parser of the Prometheus
text format 0.0.4 and of OpenMetrics 1.0.0 written from the published specs (and by promtool
when installed), then the counters, histograms and gauges checked against the traffic sent:
per method and code class, per virtual service and route, per upstream (requests, 5xx, connect
failures, retries, timeouts, pool connections, healthy hosts), the controller. Labels never
carry paths or Host values. --statsd is checked with a real UDP listener."""

import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES_TEXT = {"counter", "gauge", "histogram", "summary", "untyped"}
TYPES_OM = {"counter", "gauge", "histogram", "gaugehistogram", "stateset", "info", "summary", "unknown"}


class ExpositionError(AssertionError):
    pass


def _parse_float(text, where):
    if text in ("+Inf", "Inf", "inf", "+inf"):
        return math.inf
    if text in ("-Inf", "-inf"):
        return -math.inf
    if text in ("NaN", "nan"):
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ExpositionError(f"{where}: {text!r} is not a number")
    return float(text)


def _parse_labels(text, pos, where):
    """text[pos] == '{'. Returns (dict, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            raise ExpositionError(f"{where}: bad label name at column {pos}")
        name = m.group(0)
        if name.startswith("__"):
            raise ExpositionError(f"{where}: label name {name} is reserved")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ExpositionError(f"{where}: expected =\" after label {name}")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ExpositionError(f"{where}: unterminated label value")
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ExpositionError(f"{where}: invalid escape \\{nxt} in label value")
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                pos += 2
                continue
            if c == '"':
                pos += 1
                break
            if c == "\n":
                raise ExpositionError(f"{where}: raw newline in label value")
            value.append(c)
            pos += 1
        if name in labels:
            raise ExpositionError(f"{where}: duplicate label {name}")
        labels[name] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        raise ExpositionError(f"{where}: expected , or }} after label {name}")


def _family_of(sample_name, families, openmetrics):
    """The declared family a sample belongs to, following each format's suffix rules."""
    if sample_name in families and not openmetrics:
        return sample_name
    for suffix in ("_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info"):
        if sample_name.endswith(suffix):
            base = sample_name[: -len(suffix)]
            if base in families:
                kind = families[base]["type"]
                allowed = {
                    "histogram": ("_bucket", "_count", "_sum", "_created"),
                    "summary": ("_count", "_sum", "_created"),
                    "counter": ("_total", "_created"),
                    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
                    "info": ("_info",),
                }.get(kind, ())
                if suffix in allowed:
                    return base
    if sample_name in families:
        return sample_name
    return None


def parse(text, openmetrics=False):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}}; raises
    ExpositionError naming the line on anything the format does not allow."""
    if openmetrics:
        if not text.endswith("# EOF\n"):
            raise ExpositionError("OpenMetrics exposition must end with '# EOF\\n'")
        text = text[: -len("# EOF\n")]
        if "# EOF" in text:
            raise ExpositionError("content after # EOF")
    elif text and not text.endswith("\n"):
        raise ExpositionError("exposition must end with a newline")
    families = {}
    order = []  # families in the order their samples appear
    seen_series = set()
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = f"line {lineno} ({line[:80]!r})"
        if line == "":
            if openmetrics:
                raise ExpositionError(f"{where}: empty line in OpenMetrics")
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE", "UNIT"):
                kind, name = parts[1], parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"{where}: bad metric name {name!r}")
                fam = families.setdefault(name, {"type": None, "help": None, "samples": [], "started": False})
                if fam["started"]:
                    raise ExpositionError(f"{where}: {kind} for {name} after its samples")
                if kind == "TYPE":
                    if len(parts) != 4 or parts[3] not in (TYPES_OM if openmetrics else TYPES_TEXT):
                        raise ExpositionError(f"{where}: bad TYPE")
                    if fam["type"] is not None:
                        raise ExpositionError(f"{where}: second TYPE for {name}")
                    fam["type"] = parts[3]
                    if openmetrics and parts[3] == "counter" and name.endswith("_total"):
                        raise ExpositionError(f"{where}: OpenMetrics counter family named with _total")
                elif kind == "HELP":
                    if fam["help"] is not None:
                        raise ExpositionError(f"{where}: second HELP for {name}")
                    help_text = parts[3] if len(parts) == 4 else ""
                    if re.search(r"\\[^\\n\"]" if openmetrics else r"\\[^\\n]", help_text):
                        raise ExpositionError(f"{where}: invalid escape in HELP")
                    fam["help"] = help_text
                current = name
                continue
            if openmetrics:
                raise ExpositionError(f"{where}: OpenMetrics allows only HELP/TYPE/UNIT comments")
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise ExpositionError(f"{where}: bad metric name")
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos, where)
        if pos >= len(line) or line[pos] != " ":
            raise ExpositionError(f"{where}: expected one space before the value")
        rest = line[pos + 1:].split(" ")
        if len(rest) not in (1, 2) or rest[0] == "":
            raise ExpositionError(f"{where}: expected 'value [timestamp]'")
        value = _parse_float(rest[0], where)
        if len(rest) == 2 and not re.fullmatch(r"-?\d+(\.\d+)?", rest[1]):
            raise ExpositionError(f"{where}: bad timestamp")
        family = _family_of(name, families, openmetrics)
        if family is None:
            if openmetrics:
                raise ExpositionError(f"{where}: sample {name} without a declared family")
            family = name
            families[name] = {"type": "untyped", "help": None, "samples": [], "started": False}
        fam = families[family]
        if fam["type"] is None:
            if openmetrics:
                fam["type"] = "unknown"
            else:
                fam["type"] = "untyped"
        if openmetrics and fam["type"] == "counter" and not name.endswith(("_total", "_created")):
            raise ExpositionError(f"{where}: OpenMetrics counter sample without _total")
        if fam["started"] and order[-1] != family:
            raise ExpositionError(f"{where}: samples of {family} are not grouped together")
        if not fam["started"]:
            fam["started"] = True
            order.append(family)
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ExpositionError(f"{where}: duplicate series {name}{labels}")
        seen_series.add(key)
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise ExpositionError(f"{where}: negative counter")
        fam["samples"].append((name, labels, value))
        current = family
    for name, fam in families.items():
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"], openmetrics)
    for fam in families.values():
        fam.pop("started", None)
    return families


def check_histogram(name, samples, openmetrics):
    """Buckets sorted by le and cumulative (non-decreasing), a +Inf bucket per series equal to
    _count, and a _sum and _count per series."""
    series = {}
    for sample_name, labels, value in samples:
        base = {k: v for k, v in labels.items() if k != "le"}
        key = tuple(sorted(base.items()))
        s = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if sample_name == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError(f"{name}: bucket without le {labels}")
            le = _parse_float(labels["le"], f"{name} le")
            if openmetrics and labels["le"] != "+Inf" and not re.search(r"[.eE]", labels["le"]):
                raise ExpositionError(f"{name}: le={labels['le']!r} is not a canonical float")
            s["buckets"].append((le, value))
        elif sample_name == name + "_count":
            s["count"] = value
        elif sample_name == name + "_sum":
            s["sum"] = value
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ExpositionError(f"{name}{dict(key)}: buckets not in increasing le order")
        if not les or les[-1] != math.inf:
            raise ExpositionError(f"{name}{dict(key)}: no +Inf bucket")
        counts = [v for _, v in s["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ExpositionError(f"{name}{dict(key)}: bucket counts decrease {counts}")
        if s["count"] is None or s["sum"] is None:
            raise ExpositionError(f"{name}{dict(key)}: missing _count or _sum")
        if counts[-1] != s["count"]:
            raise ExpositionError(f"{name}{dict(key)}: +Inf bucket {counts[-1]} != _count {s['count']}")


def value(families, family, sample=None, **labels):
    """The value of the one sample of `family` (sample name defaults to the family's, with
    _total for counters) whose labels include `labels`; 0 when none matches."""
    fam = families[family]
    if sample is None:
        sample = family + ("_total" if fam["type"] == "counter" and not family.endswith("_total") else "")
    total = 0.0
    for name, l, v in fam["samples"]:
        if name == sample and all(l.get(k) == str(x) for k, x in labels.items()):
            total += v
    return total


# ---- the tests --------------------------------------------------------------------------------

import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (LOCALHOST, NAMESPACE, PORTICO_BIN, Backend, Connection, Portico, closed_port,
                     http_request, to_yaml, wait_until, write_yaml)

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMTOOL = shutil.which("promtool")


def upstream(name, port):
    # maxRetries well above the default 3: a worker's share of 3 (split over 2 workers) can be
    # 1, and a request's second retry needs a second unit briefly (takeRetrySlot).
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"static": {"hosts": [{"addr": LOCALHOST, "port": port}]},
                             "circuitBreakers": {"maxRetries": 16}}})


def route(up, prefix, name=None, options=None):
    r = {"matchers": [{"prefix": prefix}],
         "routeAction": {"single": {"upstream": {"name": up, "namespace": NAMESPACE}}}}
    if name:
        r["name"] = name
    if options:
        r["options"] = options
    return r


def scrape(gw, accept=None):
    headers = {"Accept": accept} if accept else {}
    status, hdrs, body = http_request(gw.admin_port, "GET", "/metrics", headers=headers,
                                      host=f"{LOCALHOST}:{gw.admin_port}")
    assert status == 200, (status, body[:200])
    return hdrs.get("content-type"), body.decode()


def promtool_check(text):
    """promtool check metrics: exit 0 (lint findings are printed and fail the check)."""
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode()


class ParserSelfTest(unittest.TestCase):
    """The parser is only worth something if it rejects what the specs forbid."""

    BAD_TEXT = {
        "bad label escape": '# TYPE a counter\na{x="\\q"} 1\n',
        "no space before value": "# TYPE a gauge\na{}1\n",
        "TYPE after samples": "a 1\n# TYPE a gauge\n",
        "duplicate series": "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
        "ungrouped": "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"2\"} 1\n",
        "decreasing buckets": "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\n"
                              "h_count 4\nh_sum 1\n",
        "inf != count": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                        "h_count 3\nh_sum 1\n",
        "no +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n",
        "not a number": "# TYPE a gauge\na one\n",
        "reserved label": "# TYPE a gauge\na{__x=\"1\"} 1\n",
    }

    def test_rejects_malformed_text(self):
        for what, text in self.BAD_TEXT.items():
            with self.subTest(what):
                with self.assertRaises(ExpositionError):
                    parse(text)

    def test_rejects_malformed_openmetrics(self):
        with self.assertRaises(ExpositionError):
            parse("# TYPE a counter\na_total 1\n", openmetrics=True)  # no # EOF
        with self.assertRaises(ExpositionError):
            parse("# TYPE a counter\na 1\n# EOF\n", openmetrics=True)  # counter sample without _total
        with self.assertRaises(ExpositionError):
            parse("# TYPE a_total counter\na_total 1\n# EOF\n", openmetrics=True)
        with self.assertRaises(ExpositionError):
            parse("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"
                  "h_sum 1\n# EOF\n", openmetrics=True)  # le="1" is not canonical

    def test_accepts_valid(self):
        fams = parse('# HELP a A thing.\n# TYPE a counter\na{x="q\\"\\\\\\n"} 3 1700000000000\n'
                     "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                     "h_count 2\nh_sum 0.7\n")
        self.assertEqual(fams["a"]["samples"][0][1]["x"], 'q"\\\n')


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.backend = Backend("metrics").start()
        cfg = cls.tmp.name
        write_yaml(cfg, "up.yaml", upstream("web", cls.backend.port) + "---\n" +
                   upstream("dead", closed_port()))
        write_yaml(cfg, "vs.yaml", to_yaml({
            "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"virtualHost": {"domains": ["*"], "routes": [
                route("web", "/echo", name="echo-route"),
                route("web", "/flaky/", options={"retries": {"retryOn": "5xx", "numRetries": 3}}),
                route("web", "/delay/", options={"timeout": "0.2s"}),
                route("dead", "/dead"),
                route("web", "/status/"),
            ]}}}))
        cls.gw = Portico(cfg, workers=2).start()
        gw = cls.gw
        cls.echo = 0
        # Keep-alive traffic on a few connections (both workers), unique paths and odd Hosts.
        for c in range(4):
            conn = Connection(gw.port, host=f"weird-host-{c}.example")
            for i in range(10):
                status, _, _ = conn.request("GET", f"/echo/unique-path-{c}-{i}")
                assert status == 200
                cls.echo += 1
            conn.close()
        assert http_request(gw.port, "POST", "/echo", body=b"hello")[0] == 200
        assert http_request(gw.port, "DELETE", "/status/503")[0] == 503
        assert http_request(gw.port, "GET", "/flaky/2/metrics-key")[0] == 200  # 2 retries
        assert http_request(gw.port, "GET", "/dead")[0] == 502
        assert http_request(gw.port, "GET", "/delay/1000")[0] == 504
        # No route: 404 on the virtual host (no route matches) — counted per method and code.
        status, _, _ = http_request(gw.port, "GET", "/nowhere")
        assert status == 404, status

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.backend.stop()
        cls.tmp.cleanup()

    def families(self):
        ctype, text = scrape(self.gw)
        self.assertEqual(ctype, TEXT_TYPE)
        return parse(text), text

    def test_text_format_is_strictly_valid(self):
        fams, text = self.families()
        for name, fam in fams.items():
            self.assertTrue(name.startswith("portico_"), name)
            self.assertIsNotNone(fam["help"], f"{name} has no HELP")
            self.assertNotEqual(fam["type"], "untyped", f"{name} has no TYPE")

    def test_openmetrics_when_asked(self):
        ctype, text = scrape(self.gw, "application/openmetrics-text;version=1.0.0,text/plain;"
                                      "version=0.0.4;q=0.5,*/*;q=0.1")
        self.assertEqual(ctype, OM_TYPE)
        fams = parse(text, openmetrics=True)
        self.assertEqual(fams["portico_downstream_requests"]["type"], "counter")
        self.assertGreaterEqual(value(fams, "portico_downstream_requests", method="GET",
                                      code_class="2xx"), self.echo)
        # Asking for text/plain, or nothing, gives the Prometheus text format.
        self.assertEqual(scrape(self.gw, "text/plain")[0], TEXT_TYPE)

    @unittest.skipUnless(PROMTOOL, "promtool not installed (Debian package prometheus)")
    def test_promtool_accepts_the_text_format(self):
        _, text = scrape(self.gw)
        code, out = promtool_check(text)
        self.assertEqual(code, 0, out)
        self.assertEqual(out.strip(), "", out)

    def test_downstream_counters(self):
        fams, _ = self.families()
        self.assertEqual(value(fams, "portico_downstream_requests_total", method="GET", code_class="2xx"),
                         self.echo + 1)  # + the retried /flaky request
        self.assertEqual(value(fams, "portico_downstream_requests_total", method="POST", code_class="2xx"), 1)
        self.assertEqual(value(fams, "portico_downstream_requests_total", method="DELETE", code_class="5xx"), 1)
        self.assertEqual(value(fams, "portico_downstream_requests_total", method="GET", code_class="5xx"), 2)
        self.assertEqual(value(fams, "portico_downstream_requests_total", method="GET", code_class="4xx"), 1)
        self.assertGreaterEqual(value(fams, "portico_downstream_connections_total"), 10)
        wait_until(lambda: value(self.families()[0], "portico_downstream_connections_active") == 0,
                   message="client connections to be closed")

    def test_route_and_virtual_service(self):
        fams, _ = self.families()
        vs = "default." + NAMESPACE
        self.assertEqual(value(fams, "portico_route_requests_total", virtual_service=vs,
                               route="echo-route", code_class="2xx"), self.echo + 1)
        # Unnamed routes are "<virtual service>/<index>".
        self.assertEqual(value(fams, "portico_route_requests_total", virtual_service=vs,
                               route=f"{vs}/4", code_class="5xx"), 1)
        self.assertEqual(value(fams, "portico_route_requests_total", virtual_service=vs,
                               route=f"{vs}/1", code_class="2xx"), 1)
        self.assertEqual(value(fams, "portico_route_request_duration_seconds",
                               sample="portico_route_request_duration_seconds_count",
                               virtual_service=vs, route="echo-route"), self.echo + 1)
        # The /delay request took the route timeout (0.2 s): in the 0.25 s bucket, not 0.1 s.
        delay = dict(virtual_service=vs, route=f"{vs}/2")
        b = "portico_route_request_duration_seconds_bucket"
        self.assertEqual(value(fams, "portico_route_request_duration_seconds", sample=b, le="0.1", **delay), 0)
        self.assertEqual(value(fams, "portico_route_request_duration_seconds", sample=b, le="0.25", **delay), 1)
        total = value(fams, "portico_virtual_service_requests_total", virtual_service=vs)
        self.assertEqual(total, self.echo + 5)  # every routed request (the 404 matched no route)

    def test_upstreams(self):
        fams, _ = self.families()
        web, dead = "web." + NAMESPACE, "dead." + NAMESPACE
        self.assertEqual(value(fams, "portico_upstream_retries_total", upstream=web), 2)
        self.assertEqual(value(fams, "portico_upstream_errors_total", upstream=web, type="5xx"), 3)
        self.assertEqual(value(fams, "portico_upstream_requests_total", upstream=web),
                         self.echo + 1 + 1 + 3 + 1)  # echo, POST, /status/503, 3 flaky, delay
        self.assertEqual(value(fams, "portico_upstream_timeouts_total", upstream=web), 1)
        self.assertEqual(value(fams, "portico_upstream_connect_failures_total", upstream=dead), 1)
        self.assertEqual(value(fams, "portico_upstream_errors_total", upstream=dead, type="connect_failure"), 1)
        self.assertEqual(value(fams, "portico_upstream_healthy_hosts", upstream=web), 1)
        self.assertEqual(value(fams, "portico_upstream_hosts", upstream=dead), 1)
        self.assertGreaterEqual(value(fams, "portico_upstream_connections", upstream=web, state="idle"), 1)
        self.assertEqual(value(fams, "portico_upstream_connections", upstream=web, state="active"), 0)
        self.assertEqual(value(fams, "portico_upstream_circuit_breaker_trips_total", upstream=web), 0)
        self.assertEqual(value(fams, "portico_upstream_request_duration_seconds",
                               sample="portico_upstream_request_duration_seconds_count", upstream=web),
                         self.echo + 1 + 1 + 3)  # the timed-out attempt got no response

    def test_controller(self):
        fams, _ = self.families()
        self.assertGreaterEqual(value(fams, "portico_controller_snapshot_builds_total"), 1)
        self.assertEqual(value(fams, "portico_controller_objects", kind="Upstream", state="accepted"), 2)
        self.assertEqual(value(fams, "portico_controller_objects", kind="VirtualService", state="accepted"), 1)
        self.assertGreaterEqual(value(fams, "portico_controller_snapshot_build_duration_seconds",
                                      sample="portico_controller_snapshot_build_duration_seconds_count"), 1)
        self.assertEqual(value(fams, "portico_access_log_dropped_lines_total"), 0)

    def test_labels_are_bounded(self):
        _, text = self.families()
        self.assertNotIn("unique-path", text)
        self.assertNotIn("weird-host", text)
        self.assertNotIn("/echo", text)
        for line in text.splitlines():
            if 'method="' in line:
                self.assertRegex(line, r'method="(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|other)"')

    def test_counters_survive_a_reload(self):
        before = value(self.families()[0], "portico_route_requests_total", route="echo-route")
        builds = value(self.families()[0], "portico_controller_snapshot_builds_total")
        write_yaml(self.tmp.name, "extra.yaml", upstream("extra", closed_port()))
        wait_until(lambda: value(self.families()[0], "portico_controller_snapshot_builds_total") > builds,
                   message="a rebuild")
        fams, _ = self.families()
        self.assertEqual(value(fams, "portico_route_requests_total", route="echo-route"), before)
        self.assertEqual(value(fams, "portico_upstream_hosts", upstream="extra." + NAMESPACE), 1)


class StatsdTest(unittest.TestCase):
    """--statsd: a real UDP listener receives the flushed metrics (DogStatsD tags)."""

    def test_statsd_receives_counters_gauges_and_timers(self):
        import socket
        with tempfile.TemporaryDirectory() as cfg, Backend("statsd") as backend, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOCALHOST, 0))
            udp.settimeout(0.2)
            write_yaml(cfg, "up.yaml", upstream("web", backend.port))
            write_yaml(cfg, "vs.yaml", to_yaml({
                "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                "metadata": {"name": "default", "namespace": NAMESPACE},
                "spec": {"virtualHost": {"domains": ["*"], "routes": [route("web", "/", name="all")]}}}))
            args = ["--statsd", f"{LOCALHOST}:{udp.getsockname()[1]}", "--statsd-interval", "100ms",
                    "--statsd-dogstatsd"]
            with Portico(cfg, workers=2, extra_args=args) as gw:
                for _ in range(7):
                    self.assertEqual(http_request(gw.port, "GET", "/echo")[0], 200)
                totals, seen = {}, set()

                def received():
                    try:
                        data = udp.recv(65536).decode()
                    except OSError:
                        data = ""
                    for line in data.splitlines():
                        m = re.fullmatch(r"([a-z_.]+):([0-9.]+)\|(c|g|ms)(\|#(.*))?", line)
                        self.assertIsNotNone(m, line)
                        key = (m.group(1), m.group(3), m.group(5) or "")
                        seen.add(key)
                        if m.group(3) == "c":
                            totals[key] = totals.get(key, 0) + float(m.group(2))
                    return totals.get(("portico.downstream.requests", "c",
                                       "method:GET,code_class:2xx")) == 7
                wait_until(received, timeout=5, message="7 GET 2xx requests counted over statsd")
                self.assertEqual(totals[("portico.route.requests", "c",
                                         f"virtual_service:default.{NAMESPACE},route:all,code_class:2xx")], 7)
                self.assertIn(("portico.upstream.request_duration", "ms", f"upstream:web.{NAMESPACE}"), seen)
                self.assertIn(("portico.upstream.connections", "g", f"upstream:web.{NAMESPACE},state:idle"), seen)

    def test_unreachable_server_changes_nothing(self):
        with tempfile.TemporaryDirectory() as cfg, Backend("statsd") as backend:
            write_yaml(cfg, "up.yaml", upstream("web", backend.port))
            write_yaml(cfg, "vs.yaml", to_yaml({
                "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                "metadata": {"name": "default", "namespace": NAMESPACE},
                "spec": {"virtualHost": {"domains": ["*"], "routes": [route("web", "/")]}}}))
            args = ["--statsd", f"{LOCALHOST}:{closed_port()}", "--statsd-interval", "50ms"]
            with Portico(cfg, extra_args=args) as gw:
                for _ in range(20):
                    self.assertEqual(http_request(gw.port, "GET", "/echo")[0], 200)
                time.sleep(0.2)
                self.assertTrue(gw.running())

    def test_flag_errors(self):
        for args, message in ((["--statsd", "nonsense"], "--statsd:"),
                              (["--statsd-interval", "1s"], "need --statsd ADDR")):
            with tempfile.TemporaryDirectory() as cfg:
                proc = subprocess.run([str(PORTICO_BIN), "run", "--config-dir", cfg, *args],
                                      capture_output=True, timeout=10)
                self.assertEqual(proc.returncode, 2)
                self.assertIn(message, proc.stderr.decode())


if __name__ == "__main__":
    unittest.main()
