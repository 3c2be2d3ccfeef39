"""Differential test: every smuggling / abuse case of smuggling_cases.py is sent to Portico,
HAProxy and nginx (Debian's, default settings, each a reverse proxy in front of one shared test
backend), and for each we record the status answered, whether the proxy closed the connection,
and how many requests reached the backend (its /__log; the case is followed on the same
connection by a well-formed GET, so "2" means: the request and the follow-up were forwarded).

Portico's behaviour is asserted (BAD_REQUESTS: 400, closed, nothing forwarded; EXTRA_CASES: the
expectation listed there). HAProxy's and nginx's are only recorded: the table of the cases where
the three differ is printed, and every difference is explained in tests/README.md ("Differential
results"). A difference that is not in KNOWN_DIFFERENCES fails the test, so that a change in any
of the three is noticed and explained."""

import contextlib
import tempfile
import time
import unittest

from harness import (LOCALHOST, Backend, HAProxy, Nginx, Portico, free_port, http_request,
                     parse_responses, route, upstream_yaml, virtual_service_yaml,
                     write_yaml)
from smuggling_cases import BAD_REQUESTS, EXTRA_CASES, exchange

FOLLOW_UP = b"GET /echo?follow-up HTTP/1.1\r\nHost: a\r\n\r\n"

# Where HAProxy or nginx answer differently from Portico, as (haproxy, nginx) summaries
# ("STATUS[*][ closed] fwd=N"; "-" = no answer, * = the answer came from the backend). Explained in tests/README.md.
KNOWN_DIFFERENCES = {
    "content-length with transfer-encoding": ("200* closed fwd=1", "400 closed fwd=0"),
    "transfer-encoding not ending in chunked": ("400 closed fwd=0", "501 closed fwd=0"),
    "transfer-encoding identity": ("400 closed fwd=0", "501 closed fwd=0"),
    "obs-fold": ("200* fwd=2", "400 closed fwd=0"),
    "invalid header name": ("400 closed fwd=0", "200* fwd=2"),
    "NUL in a header": ("400* fwd=1", "400 closed fwd=0"),
    "absolute-form with a conflicting Host": ("400 closed fwd=0", "200* fwd=2"),
    "HTTP/1.0 with chunked": ("200* closed fwd=1", "400 closed fwd=0"),
    "missing Host in HTTP/1.1": ("200* fwd=2", "400 closed fwd=0"),
    "transfer coding other than chunked (in two header lines)": ("422 closed fwd=0", "400 closed fwd=0"),
    "bare LF line endings": ("200* fwd=2", "200* fwd=2"),
    "two identical content-length headers": ("200* fwd=2", "400 closed fwd=0"),
    "empty transfer-encoding with content-length": ("400 closed fwd=0", "501 closed fwd=0"),
    "empty transfer-encoding before a chunked body": ("400 closed fwd=0", "501 closed fwd=0"),
    "request line 70 KiB": ("400 closed fwd=0", "414 closed fwd=0"),
    "150 header fields": ("400 closed fwd=0", "200* fwd=2"),
    "one 70 KiB header": ("400 closed fwd=0", "400 closed fwd=0"),
    "HTTP/2 preface on an HTTP/1 port": ("- closed fwd=0", "400 closed fwd=0"),
    "unknown HTTP version": ("200* fwd=2", "200* fwd=2"),
}


def summarize(result, by_backend=False):
    status, closed, forwarded = result
    return (f"{status if status is not None else '-'}{'*' if by_backend else ''}"
            f"{' closed' if closed else ''} fwd={forwarded}")


class Differential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("diff"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-diff-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up", prefix="/")]))
        cls.portico = stack.enter_context(Portico(cfg))
        hp = free_port()
        cls.haproxy = stack.enter_context(
            HAProxy(HAProxy.reverse_proxy(hp, cls.backend.port), wait_ports=[hp]))
        cls.haproxy.port = hp
        np_ = free_port()
        cls.nginx = stack.enter_context(Nginx(
            f"server {{ listen {LOCALHOST}:{np_}; location / {{ proxy_pass http://{LOCALHOST}:"
            f"{cls.backend.port}; proxy_http_version 1.1; proxy_set_header Connection \"\"; "
            f"proxy_set_header Host $http_host; }} }}", wait_ports=[np_]))
        cls.nginx.port = np_
        cls.proxies = {"portico": cls.portico.port, "haproxy": hp, "nginx": np_}

    def backend_log(self):
        status, _, body = http_request(self.backend.port, "GET", "/__log")
        self.assertEqual(status, 200)
        return body.decode(errors="replace").splitlines()

    def run_case(self, port, data):
        """(status of the first answer or None, connection closed, requests the backend saw)."""
        before = len(self.backend_log())
        raw, closed = exchange(port, data + FOLLOW_UP)
        try:
            responses, _ = parse_responses(raw, eof=True)
        except ValueError:
            responses = []
        time.sleep(0.05)  # a proxy may forward after answering the client
        after = self.backend_log()
        by_backend = bool(responses) and responses[0].header("x-backend") is not None
        return (responses[0].status if responses else None, closed, len(after) - before), by_backend

    def test_cases_against_haproxy_and_nginx(self):
        cases = {name: (data, (400, True, 0)) for name, data in BAD_REQUESTS.items()}
        cases.update(EXTRA_CASES)
        results = {}
        for name, (data, _) in cases.items():
            results[name] = {p: self.run_case(port, data) for p, port in self.proxies.items()}

        rows = []
        for name, by_proxy in results.items():
            s = {p: summarize(*r) for p, r in by_proxy.items()}
            if len(set(s.values())) > 1:
                rows.append((name, s["portico"], s["haproxy"], s["nginx"]))
        width = max([len(r[0]) for r in rows] + [4])
        print("\nDifferential results (cases where Portico, HAProxy 2.6 and nginx 1.22 differ):")
        print(f"  {'case':<{width}}  {'portico':<16} {'haproxy':<16} {'nginx':<16}")
        for name, p, h, n in rows:
            print(f"  {name:<{width}}  {p:<16} {h:<16} {n:<16}")
        print(f"  ({len(rows)} of {len(results)} cases differ; * = answered by the backend, i.e. the "
              f"proxy passed the bytes on; fwd = requests the backend served, follow-up included)")

        for name, (_, expected) in cases.items():
            with self.subTest(name):
                self.assertEqual(results[name]["portico"][0], expected, name)
        unexplained = {name: (h, n) for name, p, h, n in rows
                       if KNOWN_DIFFERENCES.get(name) != (h, n)}
        self.assertEqual(unexplained, {}, "differences not explained in tests/README.md")
        self.assertTrue(self.portico.running(), self.portico.logs())


if __name__ == "__main__":
    unittest.main()
