"""Request smuggling and protocol abuse: each ambiguous or malformed request is answered 400 and
the connection is closed, and what reaches the upstream is normalized (one framing header).
Cases from RFC 9112 §6 and the usual desync write-ups; each sent on its own connection.
A bare LF as a line ending is accepted (RFC 9112 §2.2 allows it, as nginx and HAProxy do): it
is not ambiguous, and what Portico forwards always uses CRLF."""

import contextlib
import socket
import tempfile
import unittest

from harness import (LOCALHOST, Backend, Portico, http_request, parse_responses, raw_exchange,
                     route, upstream_yaml, virtual_service_yaml, write_yaml)

BAD_REQUESTS = {
    "content-length with transfer-encoding":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "duplicate content-length":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "non-numeric content-length":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello",
    "negative content-length":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "transfer-encoding not ending in chunked":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "transfer-encoding identity":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nabc",
    "chunk size overflow":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n",
    "obs-fold":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
    "bare CR in a header value":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n",
    "space before the colon":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n",
    "invalid header name":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nX(Bad): 1\r\n\r\n",
    "NUL in a header":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n",
    "absolute-form with a conflicting Host":
        b"GET http://b.example.com/echo HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
    "HTTP/1.0 with chunked":
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Host headers":
        b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "missing Host in HTTP/1.1":
        b"GET /echo HTTP/1.1\r\nX: y\r\n\r\n",
}


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
                raw = raw_exchange(self.gw.port, data + follow_up, read_timeout=2.0)
                responses, _ = parse_responses(raw, eof=True)
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
