"""Routing behaviours of issue 3 that test_routing_features.py leaves out, through the real
gateway: caseSensitive on every path matcher, autoHostRewrite, retryOn retriable-4xx, faults and
shadowing at a percentage below 100 (checked against a binomial bound), the jittered retry
back-off (arrival times at the backend), no retry once the body outgrew the 64 KiB replay buffer,
Gloo's documentation examples of gloo-api.md §2.5 loaded as written, and RE2's own message in the
status of a bad regex. Backends a, b, c answer with their name in x-backend; s is the shadow
target; c takes only the back-off test's requests."""

import concurrent.futures
import contextlib
import json
import math
import tempfile
import time
import unittest
import uuid

from harness import (LOCALHOST, NAMESPACE, Backend, Connection, Portico, fnv1a64, http_request,
                     to_yaml, upstream_yaml, write_yaml)

# Four and a half standard deviations each side: a correct gateway falls outside with a
# probability of about 7e-6 per check, so the statistical tests do not flake.
Z_BOUND = 4.5


def ref(name):
    return {"name": name, "namespace": NAMESPACE}


def single(upstream):
    return {"single": {"upstream": ref(upstream)}}


def vs(name, routes, domains=("*",)):
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"virtualHost": {"domains": list(domains), "routes": routes}}})


def to(upstream, matcher, **options):
    r = {"matchers": [matcher], "routeAction": single(upstream)}
    if options:
        r["options"] = options
    return r


def binomial_bounds(n, p):
    sd = math.sqrt(n * p * (1 - p))
    return n * p - Z_BOUND * sd, n * p + Z_BOUND * sd


def backend_log(backend, times=False):
    """The backend's request log: lines "METHOD target host", or (arrival µs, line) pairs."""
    status, _, body = http_request(backend.port, "GET", "/__log?times" if times else "/__log")
    assert status == 200, status
    lines = body.decode(errors="replace").splitlines()
    if not times:
        return lines
    return [(int(t), rest) for t, _, rest in (line.partition(" ") for line in lines)]


def attempts(backend, key):
    """How many requests naming `key` reached the backend."""
    return sum(key in line for line in backend_log(backend))


def key():
    return uuid.uuid4().hex


def wait_served(port, path, host="example.com", timeout=10.0):
    """Requests `path` until it answers 200 (an upstream named by a hostname has hosts once
    the name is resolved; the controller rebuilds then); returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = http_request(port, "GET", path, host=host)
        if answer[0] == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


class RoutingGaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backends = {n: stack.enter_context(Backend(n)) for n in ("a", "b", "c", "s")}
        cls.cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-gaps-"))
        for n, be in cls.backends.items():
            write_yaml(cls.cfg, f"upstream-{n}.yaml", upstream_yaml(f"up-{n}", [(LOCALHOST, be.port)]))
        # The same backend a by name: /etc/hosts gives localhost (no DNS server involved).
        write_yaml(cls.cfg, "upstream-named.yaml",
                   upstream_yaml("up-named", [("localhost", cls.backends["a"].port)]))
        retry_5xx = {"retryOn": "5xx", "numRetries": 3}
        routes = [
            # caseSensitive: false on each path matcher; the default and true stay sensitive
            to("up-b", {"prefix": "/CI/Prefix", "caseSensitive": False}),
            to("up-b", {"exact": "/CI/Exact", "caseSensitive": False}),
            to("up-b", {"regex": "/CI/Re[0-9]+", "caseSensitive": False}),
            to("up-a", {"prefix": "/CI/Rw/", "caseSensitive": False}, prefixRewrite="/echo/"),
            to("up-b", {"prefix": "/CS/Prefix"}),
            to("up-b", {"exact": "/CS/Exact", "caseSensitive": True}),
            to("up-b", {"regex": "/CS/Re[0-9]+"}),
            # autoHostRewrite
            to("up-a", {"prefix": "/ahr/ip"}, prefixRewrite="/echo", autoHostRewrite=True),
            to("up-named", {"prefix": "/ahr/name"}, prefixRewrite="/echo", autoHostRewrite=True),
            to("up-named", {"prefix": "/ahr/off"}, prefixRewrite="/echo"),
            # retriable-4xx
            to("up-a", {"prefix": "/r4xx/flaky/"}, prefixRewrite="/flaky/",
               retries={"retryOn": "retriable-4xx", "numRetries": 3}),
            to("up-a", {"prefix": "/r4xx/status/"}, prefixRewrite="/status/",
               retries={"retryOn": "retriable-4xx", "numRetries": 3}),
            # faults and shadowing below 100 %
            to("up-a", {"prefix": "/pct/abort"}, prefixRewrite="/",
               faults={"abort": {"percentage": 30, "httpStatus": 503}}),
            to("up-a", {"prefix": "/pct/delay"}, prefixRewrite="/",
               faults={"delay": {"percentage": 30, "fixedDelay": "0.2s"}}),
            to("up-a", {"prefix": "/pct/shadow"}, prefixRewrite="/echo",
               shadowing={"upstream": ref("up-s"), "percentage": 30}),
            # back-off: every attempt fails (backend c sees nothing else)
            to("up-c", {"prefix": "/backoff/"}, prefixRewrite="/status/",
               retries={"retryOn": "5xx", "numRetries": 4}),
            # the replay buffer
            to("up-a", {"prefix": "/replay/"}, prefixRewrite="/flaky/", retries=retry_5xx),
            to("up-a", {"prefix": "/"}),
        ]
        write_yaml(cls.cfg, "vs.yaml", vs("default", routes))
        write_yaml(cls.cfg, "bad-regex.yaml", vs("bad-regex", [to("up-a", {"regex": "("})],
                                                 domains=["bad.example.com"]))
        cls.gw = stack.enter_context(Portico(cls.cfg))
        cls.gw.wait_status("VirtualService", "default", "Accepted")
        if wait_served(cls.gw.port, "/ahr/off")[0] != 200:
            raise AssertionError(f"up-named never served:\n{cls.gw.logs()}")

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def request(self, path, method="GET", headers=None, body=b"", host="example.com"):
        return http_request(self.gw.port, method, path, headers=headers, body=body, host=host)

    def backend(self, path):
        status, headers, body = self.request(path)
        return headers.get("x-backend", f"<gateway {status}: {body[:80]!r}>")

    # ---- caseSensitive ----

    def test_case_insensitive_prefix_exact_and_regex(self):
        for path in ("/CI/Prefix", "/ci/prefix/x", "/CI/PREFIXES", "/ci/exact", "/CI/EXACT",
                     "/ci/Exact", "/ci/re12", "/CI/RE7"):
            with self.subTest(path=path):
                self.assertEqual(self.backend(path), "b")
        for path in ("/ci/exact/more", "/ci/re", "/ci/re12x"):  # exact and regex stay whole-path
            with self.subTest(path=path):
                self.assertEqual(self.backend(path), "a")

    def test_case_insensitive_prefix_rewrite_replaces_the_matched_text(self):
        status, _, body = self.request("/ci/RW/pets?q=1")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["path"], "/echo/pets?q=1")

    def test_case_sensitive_by_default_and_when_true(self):
        for path in ("/CS/Prefix/x", "/CS/Exact", "/CS/Re5"):
            with self.subTest(path=path):
                self.assertEqual(self.backend(path), "b")
        for path in ("/cs/prefix/x", "/CS/PREFIX", "/cs/exact", "/CS/EXACT", "/cs/re5", "/CS/RE5"):
            with self.subTest(path=path):
                self.assertEqual(self.backend(path), "a")

    # ---- autoHostRewrite ----

    def host_seen(self, path):
        status, _, body = self.request(path, host="client.example.com")
        self.assertEqual(status, 200, body)
        return json.loads(body)["headers"]["host"]

    def test_auto_host_rewrite_uses_the_upstream_hostname(self):
        # Gloo/Envoy: Host = the chosen host's hostname (Gloo's static plugin sets it to addr).
        self.assertEqual(self.host_seen("/ahr/name"), "localhost")
        self.assertEqual(self.host_seen("/ahr/off"), "client.example.com")  # off: unchanged

    def test_auto_host_rewrite_of_an_ip_host_is_the_addr_as_written(self):
        # Gloo's static plugin sets the Envoy endpoint's hostname to the addr as written, so
        # Envoy's auto_host_rewrite sends "127.0.0.1", without the port.
        self.assertEqual(self.host_seen("/ahr/ip"), LOCALHOST)

    # ---- retries: retriable-4xx ----

    def test_retriable_4xx_retries_409_until_success(self):
        k = key()
        status, _, body = self.request(f"/r4xx/flaky/2/{k}?code=409")
        self.assertEqual(status, 200, body)
        self.assertIn(b"after 2 failures", body)
        self.assertEqual(attempts(self.backends["a"], k), 3)

    def test_retriable_4xx_gives_up_after_num_retries(self):
        k = key()
        status, _, body = self.request(f"/r4xx/flaky/9/{k}?code=409")
        self.assertEqual(status, 409, body)
        self.assertEqual(body, b"failure 4\n")  # first try + 3 retries, the last one relayed
        self.assertEqual(attempts(self.backends["a"], k), 4)

    def test_retriable_4xx_does_not_retry_404_or_503(self):
        k = key()
        self.assertEqual(self.request(f"/r4xx/status/404?k={k}")[0], 404)
        self.assertEqual(attempts(self.backends["a"], k), 1)
        k = key()
        self.assertEqual(self.request(f"/r4xx/flaky/1/{k}")[0], 503)  # 5xx is not in retryOn
        self.assertEqual(attempts(self.backends["a"], k), 1)

    # ---- faults and shadowing at 30 % ----

    N = 600

    def test_fault_abort_at_30_percent(self):
        aborted = 0
        with Connection(self.gw.port) as conn:
            for _ in range(self.N):
                status, headers, body = conn.request("GET", "/pct/abort")
                if status == 503:
                    self.assertIn(b"fault filter abort", body)
                    aborted += 1
                else:
                    self.assertEqual((status, headers.get("x-backend")), (200, "a"))
        low, high = binomial_bounds(self.N, 0.3)
        self.assertTrue(low <= aborted <= high,
                        f"{aborted} of {self.N} aborted, expected {low:.0f}..{high:.0f}")

    def test_fault_delay_at_30_percent(self):
        # A delayed request takes at least 0.2 s; one that is not takes milliseconds. The
        # threshold in between only has to be right most of the time: a few misjudged requests
        # are far inside the binomial bound.
        def run(count):
            delayed = 0
            with Connection(self.gw.port) as conn:
                for _ in range(count):
                    start = time.monotonic()
                    status, _, _ = conn.request("GET", "/pct/delay")
                    self.assertEqual(status, 200)
                    delayed += time.monotonic() - start >= 0.15
            return delayed

        threads = 12
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            delayed = sum(pool.map(run, [self.N // threads] * threads))
        low, high = binomial_bounds(self.N, 0.3)
        self.assertTrue(low <= delayed <= high,
                        f"{delayed} of {self.N} delayed, expected {low:.0f}..{high:.0f}")

    def test_shadowing_at_30_percent(self):
        run = key()
        with Connection(self.gw.port, host="shop.example.com") as conn:
            for i in range(self.N):
                status, headers, _ = conn.request("GET", f"/pct/shadow?run={run}&i={i}")
                self.assertEqual((status, headers.get("x-backend")), (200, "a"))

        def copies():
            return [line for line in backend_log(self.backends["s"]) if f"run={run}&" in line]
        # Fire-and-forget: wait until the count stops growing for a second.
        seen, stable_since = copies(), time.monotonic()
        while time.monotonic() - stable_since < 1.0:
            time.sleep(0.1)
            now = copies()
            if len(now) != len(seen):
                seen, stable_since = now, time.monotonic()
        self.assertTrue(all(line.endswith(" shop.example.com-shadow") for line in seen), seen[:3])
        self.assertEqual(len({line.split()[1] for line in seen}), len(seen))  # one copy each
        low, high = binomial_bounds(self.N, 0.3)
        self.assertTrue(low <= len(seen) <= high,
                        f"{len(seen)} of {self.N} shadowed, expected {low:.0f}..{high:.0f}")

    # ---- jittered back-off ----

    def test_retry_backoff_is_jittered_within_envoys_bounds(self):
        # Envoy: retry N waits a random time in [0, (2^N - 1) * 25 ms], at most 250 ms (10x the
        # base). Portico waits 1..min(250, 25 * 2^(N-1)) ms, inside those bounds. A gap seen at
        # the backend is the wait plus the time to fail and reconnect: 150 ms of slack for a
        # loaded machine.
        envoy_max_ms = [min(250, (2 ** n - 1) * 25) for n in range(1, 5)]
        requests, first_gaps = 10, []
        for _ in range(requests):
            k = key()
            status, _, _ = self.request(f"/backoff/503?k={k}")
            self.assertEqual(status, 503)
            arrivals = [t for t, line in backend_log(self.backends["c"], times=True) if k in line]
            self.assertEqual(len(arrivals), 5)  # first try + 4 retries
            gaps_ms = [(b - a) / 1000 for a, b in zip(arrivals, arrivals[1:])]
            for n, (gap, bound) in enumerate(zip(gaps_ms, envoy_max_ms), 1):
                self.assertGreater(gap, 0.5, f"retry {n}: {gaps_ms}")
                self.assertLess(gap, bound + 150, f"retry {n}: {gaps_ms}")
            first_gaps.append(gaps_ms[0])
        # Not constant: a uniform wait over 1..25 ms puts 10 first gaps within 5 ms of each
        # other with a probability below 1e-5.
        self.assertGreater(max(first_gaps) - min(first_gaps), 5, first_gaps)
        self.assertLess(sum(first_gaps) / requests, 25 + 15, first_gaps)  # mean 13 ms + latency

    # ---- the replay buffer (64 KiB) ----

    def replay(self, size):
        """POSTs `size` bytes to a backend that fails once with 503; (status, body, attempts)."""
        k = key()
        payload = (k.encode() * (size // len(k) + 1))[:size]
        status, _, body = self.request(f"/replay/1/{k}?echo", method="POST", body=payload,
                                       headers={"Content-Type": "application/octet-stream"})
        return status, body, attempts(self.backends["a"], k), payload

    def test_small_body_is_retried_and_arrives_whole(self):
        for size in (1000, 64 * 1024):  # up to the buffer's size inclusive
            with self.subTest(size=size):
                status, body, n, payload = self.replay(size)
                self.assertEqual((status, n), (200, 2), body[:200])
                echo = json.loads(body)
                self.assertEqual(echo["body_length"], size)
                self.assertEqual(echo["body_fnv1a64"], fnv1a64(payload))

    def test_body_past_the_replay_buffer_is_not_retried(self):
        for size in (64 * 1024 + 1, 256 * 1024):
            with self.subTest(size=size):
                status, body, n, _ = self.replay(size)
                self.assertEqual((status, body, n), (503, b"failure 1\n", 1))

    # ---- bad regex ----

    def test_bad_regex_is_rejected_with_re2s_message(self):
        status = self.gw.wait_status("VirtualService", "bad-regex", "Rejected")
        self.assertIn("spec.virtualHost.routes[0].matchers[0].regex", status["reason"])
        self.assertIn("missing )", status["reason"])


# gloo-api.md §2.5, as written; only the upstreams' addresses point at the test backend, and
# the Petstore upstream is what Gloo's discovery writes for it (the comment under the example).
PETSTORE_VS = """\
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    routes:
    - matchers: [{exact: /petstore/findPet}]
      routeAction:
        single:
          upstream: {name: default-petstore-8080, namespace: gloo-system}
          destinationSpec: {rest: {functionName: findPetById, parameters: {}}}
"""

PETSTORE_UPSTREAM = """\
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: default-petstore-8080, namespace: gloo-system}
spec:
  static:
    hosts: [{addr: 127.0.0.1, port: PORT}]
    serviceSpec:
      rest:
        transformations:
          findPetById:
            headers:
              ':path': {text: '/api/pets/{{ default(id, "") }}'}
"""

POSTMAN_UPSTREAM = """\
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: postman-echo, namespace: gloo-system}
spec: {static: {hosts: [{addr: localhost, port: PORT}]}}
"""

# The example gives spec.virtualHost only: wrapped in a VirtualService as is.
POSTMAN_VS = """\
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: postman, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - matchers: [{prefix: /}]
      routeAction: {single: {upstream: {name: postman-echo, namespace: gloo-system}}}
      options: {autoHostRewrite: true}
    options:
      transformations:
        requestTransformation:
          transformationTemplate:
            extractors: {foo: {header: ':path', regex: '(.*foo=([^&]*).*)', subgroup: 2}}
            headers: {foo: {text: '{{ foo }}'}}
"""


class GlooModernExamples(unittest.TestCase):
    """Each example in its own gateway: both are written for the '*' domain (Gloo's default)."""

    def gateway(self, stack, files):
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-gloo-doc-"))
        for name, text in files.items():
            write_yaml(cfg, name, text)
        return stack.enter_context(Portico(cfg))

    def test_petstore_rest_function_route(self):
        with contextlib.ExitStack() as stack:
            be = stack.enter_context(Backend("petstore"))
            gw = self.gateway(stack, {"upstream.yaml": PETSTORE_UPSTREAM.replace("PORT", str(be.port)),
                                      "vs.yaml": PETSTORE_VS})
            gw.wait_status("VirtualService", "default", "Accepted")
            gw.wait_status("Upstream", "default-petstore-8080", "Accepted")
            # Gloo's doc: curl $(glooctl proxy url)/petstore/findPet answers the pet list,
            # i.e. the petstore was called at /api/pets/ (no id given).
            status, headers, _ = http_request(gw.port, "GET", "/petstore/findPet")
            self.assertEqual(headers.get("x-backend"), "petstore", status)
            self.assertEqual(backend_log(be)[-1], "GET /api/pets/ example.com")
            self.assertEqual(http_request(gw.port, "GET", "/petstore/findPet/1")[0], 404)  # exact
            self.assertTrue(gw.running(), gw.logs())

    def test_static_upstream_with_query_parameter_extracted_into_a_header(self):
        with contextlib.ExitStack() as stack:
            be = stack.enter_context(Backend("postman"))
            gw = self.gateway(stack, {"upstream.yaml": POSTMAN_UPSTREAM.replace("PORT", str(be.port)),
                                      "vs.yaml": POSTMAN_VS})
            gw.wait_status("VirtualService", "postman", "Accepted")
            status, _, body = wait_served(gw.port, "/echo?foo=bar&x=1", host="gw.example.com")
            self.assertEqual(status, 200, body)
            echo = json.loads(body)
            # Gloo's doc: postman-echo shows "foo": "bar" among the request headers, and the
            # Host it expects (autoHostRewrite).
            self.assertEqual(echo["headers"].get("foo"), "bar")
            self.assertEqual(echo["headers"]["host"], "localhost")
            self.assertEqual(echo["path"], "/echo?foo=bar&x=1")
            self.assertTrue(gw.running(), gw.logs())


if __name__ == "__main__":
    unittest.main()
