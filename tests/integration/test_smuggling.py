"""Request smuggling and protocol abuse: each ambiguous or malformed request is answered 400 and
the connection is closed, and what reaches the upstream is normalized (one framing header).
Cases from RFC 9112 §6 and the usual desync write-ups; each sent on its own connection.
A bare LF ending a header line is refused too (RFC 9112 §2.2 allows either; nginx and HAProxy
accept it, see test_differential.py and tests/README.md); what Portico forwards uses CRLF."""

import contextlib
import socket
import tempfile
import unittest

from harness import (LOCALHOST, Backend, Portico, http_request, parse_responses, raw_exchange,
                     route, upstream_yaml, virtual_service_yaml, write_yaml)
from smuggling_cases import BAD_REQUESTS, exchange


class Smuggling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("a"))
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-smuggling-"))
        write_yaml(cfg, "up.yaml", upstream_yaml("up-a", [(LOCALHOST, cls.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("up-a", prefix="/")]))
        cls.gw = stack.enter_context(Portico(cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def test_each_case_is_rejected_and_the_connection_closed(self):
        # A well-formed request after the bad one must not be answered: the connection is gone.
        follow_up = b"GET /echo?second HTTP/1.1\r\nHost: a\r\n\r\n"
        for name, data in BAD_REQUESTS.items():
            with self.subTest(name):
                raw, closed = exchange(self.gw.port, data + follow_up, quiet=2.0)
                responses, _ = parse_responses(raw, eof=True)
                self.assertTrue(closed, f"{name}: connection left open")
                self.assertEqual(len(responses), 1, f"{name}: {raw[:300]!r}")
                self.assertEqual(responses[0].status, 400, f"{name}: {raw[:300]!r}")
                self.assertEqual(responses[0].header("connection"), "close")
                self.assertNotIn(b"x-backend", raw.lower())

    def test_over_long_request_line(self):
        raw = raw_exchange(self.gw.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertIn(raw[:12], (b"HTTP/1.1 414", b"HTTP/1.1 431"))

    def test_forwarded_framing_is_normalized(self):
        # Chunked in, chunked out: exactly one framing header reaches the upstream.
        status, _, body = http_request(self.gw.port, "POST", "/echo", body=iter([b"abc", b"def"]),
                                       encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(status, 200)
        self.assertIn(b'"transfer-encoding":"chunked"', body)
        self.assertNotIn(b'"content-length"', body)
        # Content-Length in, Content-Length out.
        status, _, body = http_request(self.gw.port, "POST", "/echo", body=b"abcdef")
        self.assertIn(b'"content-length":"6"', body)
        self.assertNotIn(b'"transfer-encoding"', body)

    def test_absolute_form_with_matching_host_is_fine(self):
        raw = raw_exchange(self.gw.port, b"GET http://a.example.com/echo HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 200"), raw[:200])
        self.assertIn(b'"path":"/echo"', raw)


if __name__ == "__main__":
    unittest.main()
