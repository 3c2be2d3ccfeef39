"""Upstreams that survive failure, through the real gateway and real backend processes: active
health checks with a backend killed and restarted under load, outlier ejection of a backend
answering 503, weighted and ring-hash balancing checked statistically, circuit breakers, and a
hostname upstream resolved through DNS (/etc/hosts)."""

import contextlib
import tempfile
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import (LOCALHOST, NAMESPACE, Backend, Connection, Portico, http_request, to_yaml,
                     wait_until, write_yaml)


def upstream(name, hosts, **spec):
    s = {"static": {"hosts": hosts}}
    s.update(spec)
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE}, "spec": s})


def vs(routes):
    return to_yaml({"apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                    "metadata": {"name": "default", "namespace": NAMESPACE},
                    "spec": {"virtualHost": {"domains": ["*"], "routes": routes}}})


def to(up, prefix, options=None):
    r = {"matchers": [{"prefix": prefix}],
         "routeAction": {"single": {"upstream": {"name": up, "namespace": NAMESPACE}}}}
    if options:
        r["options"] = options
    return r


def host_state(gw, cluster, address):
    for c in gw.admin_json("/upstreams"):
        if c["name"] == f"{cluster}.{NAMESPACE}":
            for h in c["hosts"]:
                if h["address"] == address:
                    return h
    return None


class HealthChecks(unittest.TestCase):
    def test_killed_backend_is_removed_and_comes_back(self):
        with contextlib.ExitStack() as stack:
            backends = [stack.enter_context(Backend(n)) for n in ("a", "b", "c")]
            cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-hc-"))
            hosts = [{"addr": LOCALHOST, "port": b.port} for b in backends]
            write_yaml(cfg, "up.yaml", upstream("three", hosts, healthChecks=[{
                "timeout": "0.2s", "interval": "0.1s", "unhealthyThreshold": 2,
                "healthyThreshold": 2, "httpHealthCheck": {"path": "/"}}]))
            write_yaml(cfg, "vs.yaml", vs([to("three", "/", {
                "retries": {"retryOn": "connect-failure,reset,5xx", "numRetries": 2}})]))
            gw = stack.enter_context(Portico(cfg))
            c_addr = f"{LOCALHOST}:{backends[2].port}"

            errors, seen_after_unhealthy = [], []
            unhealthy_at = [None]
            stop = threading.Event()

            def load():
                conn = Connection(gw.port)
                while not stop.is_set():
                    try:
                        status, headers, _ = conn.request("GET", "/echo")
                    except Exception as e:  # noqa: BLE001 — any client-visible failure counts
                        errors.append(repr(e))
                        conn.close()
                        conn = Connection(gw.port)
                        continue
                    if status != 200:
                        errors.append(status)
                    elif unhealthy_at[0] is not None and headers.get("x-backend") == "c":
                        seen_after_unhealthy.append(time.monotonic())
                conn.close()

            threads = [threading.Thread(target=load) for _ in range(3)]
            for t in threads:
                t.start()
            try:
                time.sleep(0.3)
                port_c = backends[2].port
                backends[2].stop()
                wait_until(lambda: host_state(gw, "three", c_addr)["healthCheck"] == "failing",
                           timeout=5, message="host c marked unhealthy")
                unhealthy_at[0] = time.monotonic()
                time.sleep(0.5)
                self.assertEqual(seen_after_unhealthy, [], "requests reached the dead host")
                # Restart it on the same port: back after healthyThreshold passing checks.
                revived = stack.enter_context(Backend("c", port=port_c))
                self.assertEqual(revived.port, port_c)
                wait_until(lambda: host_state(gw, "three", c_addr)["healthCheck"] == "passing",
                           timeout=5, message="host c healthy again")
                unhealthy_at[0] = None
                time.sleep(0.3)
            finally:
                stop.set()
                for t in threads:
                    t.join()
            self.assertEqual(errors, [], "client-visible errors while a backend died")
            # And it really serves again.
            names = {http_request(gw.port, "GET", "/echo")[1]["x-backend"] for _ in range(30)}
            self.assertIn("c", names)
            self.assertGreater(host_state(gw, "three", c_addr)["healthCheckFailures"], 0)


class PooledConnections(unittest.TestCase):
    def test_connection_closed_with_its_response_is_not_reused(self):
        """A server that closes right after a response framed for keep-alive (no "Connection:
        close"; the FIN comes with the response): the next request goes on a new connection.
        Sent into the closed one, it would be drained without a reset and wait for the route
        timeout."""
        with contextlib.ExitStack() as stack:
            b = stack.enter_context(Backend("solo"))
            cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-reuse-"))
            write_yaml(cfg, "up.yaml", upstream("solo", [{"addr": LOCALHOST, "port": b.port}]))
            write_yaml(cfg, "vs.yaml", vs([to("solo", "/", {"timeout": "3s"})]))
            gw = stack.enter_context(Portico(cfg))
            with Connection(gw.port, timeout=10) as conn:
                for i in range(10):
                    status, _, body = conn.request("GET", "/close-quietly")
                    self.assertEqual((status, body), (200, b"closing quietly\n"), f"round {i}")
                    started = time.monotonic()
                    status, headers, _ = conn.request("GET", "/echo")
                    self.assertEqual(status, 200, f"round {i}: the closed connection was reused")
                    self.assertLess(time.monotonic() - started, 2.0, f"round {i}")


class OutlierDetection(unittest.TestCase):
    def test_503_backend_is_ejected_then_readmitted(self):
        with contextlib.ExitStack() as stack:
            good = stack.enter_context(Backend("good"))
            bad = stack.enter_context(Backend("bad", fail_status=503))
            cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-outlier-"))
            write_yaml(cfg, "up.yaml", upstream(
                "pair", [{"addr": LOCALHOST, "port": good.port}, {"addr": LOCALHOST, "port": bad.port}],
                outlierDetection={"consecutive5xx": 3, "interval": "0.1s", "baseEjectionTime": "2s",
                                  "maxEjectionPercent": 50}))
            write_yaml(cfg, "vs.yaml", vs([to("pair", "/")]))
            gw = stack.enter_context(Portico(cfg))
            bad_addr = f"{LOCALHOST}:{bad.port}"
            for _ in range(12):  # round robin: the bad host gets ≥ 3 in a row of its own
                http_request(gw.port, "GET", "/echo")
            # The workers post the ejection to the detector's thread, as Envoy's do to its main
            # thread: it lands a moment after the third 503 (longer on a loaded machine).
            wait_until(lambda: host_state(gw, "pair", bad_addr)["ejected"], timeout=2,
                       message="the 503 host ejected")
            self.assertEqual(host_state(gw, "pair", bad_addr)["ejections"], 1)
            statuses = [http_request(gw.port, "GET", "/echo")[0] for _ in range(20)]
            self.assertEqual(statuses, [200] * 20, "an ejected host still got traffic")
            # Back after the ejection time (2 s × 1).
            wait_until(lambda: not host_state(gw, "pair", bad_addr)["ejected"], timeout=6,
                       message="re-admission")
            statuses = {http_request(gw.port, "GET", "/echo")[0] for _ in range(6)}
            self.assertIn(503, statuses)  # it serves (badly) again


class Balancing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backends = [stack.enter_context(Backend(n)) for n in ("a", "b", "c", "d")]
        cls.cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-lb-"))
        a, b, c, d = cls.backends
        write_yaml(cls.cfg, "weighted.yaml", upstream("weighted", [
            {"addr": LOCALHOST, "port": a.port, "loadBalancingWeight": 3},
            {"addr": LOCALHOST, "port": b.port, "loadBalancingWeight": 1}]))
        cls.ring_hosts = [{"addr": LOCALHOST, "port": x.port} for x in (a, b, c, d)]
        write_yaml(cls.cfg, "ring.yaml", upstream("ring", cls.ring_hosts, loadBalancerConfig={"ringHash": {}}))
        write_yaml(cls.cfg, "maglev.yaml", upstream("maglev", cls.ring_hosts, loadBalancerConfig={"maglev": {}}))
        write_yaml(cls.cfg, "breaker.yaml", upstream("breaker", [{"addr": LOCALHOST, "port": a.port}],
                                                     circuitBreakers={"maxRequests": 2}))
        write_yaml(cls.cfg, "named.yaml", upstream("named", [{"addr": "localhost", "port": b.port}]))
        hash_opts = {"lbHash": {"hashPolicies": [{"header": "x-user"}]}}
        write_yaml(cls.cfg, "vs.yaml", vs([
            to("weighted", "/weighted", {"prefixRewrite": "/echo"}),
            to("ring", "/ring", {"prefixRewrite": "/echo", **hash_opts}),
            to("maglev", "/maglev", {"prefixRewrite": "/echo", **hash_opts}),
            to("breaker", "/breaker", {"prefixRewrite": "/delay/2000"}),
            to("named", "/named", {"prefixRewrite": "/echo"}),
        ]))
        cls.gw = stack.enter_context(Portico(cls.cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def count(self, path, n, headers_for=lambda i: {}):
        seen = {}
        conn = Connection(self.gw.port)
        try:
            for i in range(n):
                status, headers, _ = conn.request("GET", path, headers=headers_for(i))
                self.assertEqual(status, 200)
                seen[headers["x-backend"]] = seen.get(headers["x-backend"], 0) + 1
        finally:
            conn.close()
        return seen

    def test_weighted_round_robin(self):
        seen = self.count("/weighted", 10000)
        self.assertAlmostEqual(seen["a"] / 10000, 0.75, delta=0.01, msg=str(seen))

    def assert_sticky_and_minimal_moves(self, path, cluster):
        users = [f"user-{i}" for i in range(10000)]
        first = {}
        conn = Connection(self.gw.port)
        try:
            for u in users:
                _, headers, _ = conn.request("GET", path, headers={"X-User": u})
                first[u] = headers["x-backend"]
            for u in users[:500]:  # the same key always lands on the same host
                _, headers, _ = conn.request("GET", path, headers={"X-User": u})
                self.assertEqual(headers["x-backend"], first[u])
        finally:
            conn.close()
        shares = {b: list(first.values()).count(b) / len(users) for b in "abcd"}
        for b, share in shares.items():
            self.assertGreater(share, 0.15, f"{cluster}: {shares}")
        # Remove host d: d's keys (≈ 1/4) must move; keys of the hosts that stay mostly do not.
        # Some do: as in Envoy, each host gets ceil(minimumRingSize / hosts) points, so the
        # survivors gain points (256 → 342 each here) and take ~10% of each other's keys.
        lb = {"ringHash": {}} if cluster == "ring" else {"maglev": {}}
        write_yaml(self.cfg, f"{cluster}.yaml", upstream(cluster, self.ring_hosts[:3], loadBalancerConfig=lb))
        wait_until(lambda: len([h for c in self.gw.admin_json("/upstreams") if c["name"] == f"{cluster}.{NAMESPACE}"
                                for h in c["hosts"]]) == 3, timeout=5, message="host d removed")
        moved = moved_from_survivors = 0
        conn = Connection(self.gw.port)
        try:
            for u in users:
                _, headers, _ = conn.request("GET", path, headers={"X-User": u})
                if headers["x-backend"] != first[u]:
                    moved += 1
                    moved_from_survivors += first[u] != 'd'
        finally:
            conn.close()
            write_yaml(self.cfg, f"{cluster}.yaml", upstream(cluster, self.ring_hosts, loadBalancerConfig=lb))
        # Maglev moves ~1/4 (0.24-0.25 seen). The ring's points hash the host keys, which hold
        # this run's random ports, so its share varies from run to run: 0.33-0.39 seen.
        bound = 0.45 if cluster == "ring" else 1.5 / 4
        self.assertLessEqual(moved / len(users), bound, f"{cluster}: {moved} keys moved")
        self.assertLessEqual(moved_from_survivors / len(users), 0.15,
                             f"{cluster}: {moved_from_survivors} keys moved between hosts that stayed")

    def test_ring_hash_stickiness(self):
        self.assert_sticky_and_minimal_moves("/ring", "ring")

    def test_maglev_stickiness(self):
        self.assert_sticky_and_minimal_moves("/maglev", "maglev")

    def test_circuit_breaker_answers_503_at_once(self):
        def one(_):
            start = time.monotonic()
            status, headers, _ = http_request(self.gw.port, "GET", "/breaker", timeout=10)
            return status, headers.get("x-portico-overloaded"), time.monotonic() - start

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(one, range(10)))
        ok = [r for r in results if r[0] == 200]
        over = [r for r in results if r[0] == 503]
        self.assertEqual(len(ok) + len(over), 10, results)
        self.assertGreaterEqual(len(over), 1, results)
        self.assertLessEqual(len(ok), 2 * 2, results)  # maxRequests 2 (per-worker share, 1 worker)
        for status, header, elapsed in over:
            self.assertEqual(header, "true")
            # Far below the 2 s the admitted ones take (a loaded machine may stall for a while).
            self.assertLess(elapsed, 1.0, "an overloaded request waited instead of failing fast")
        trips = [c for c in self.gw.admin_json("/upstreams") if c["name"] == f"breaker.{NAMESPACE}"][0]
        self.assertGreaterEqual(trips["circuitBreakers"]["requests"]["trips"], len(over))

    def test_hostname_upstream_resolves(self):
        status, headers, _ = http_request(self.gw.port, "GET", "/named")
        self.assertEqual((status, headers.get("x-backend")), (200, "b"))
        hosts = [c for c in self.gw.admin_json("/upstreams") if c["name"] == f"named.{NAMESPACE}"][0]["hosts"]
        self.assertEqual(hosts[0]["hostname"], "localhost")


if __name__ == "__main__":
    unittest.main()
