"""Request-smuggling and protocol-abuse cases shared by test_smuggling.py (Portico alone) and
test_differential.py (Portico next to HAProxy and nginx). Not a test file itself.

BAD_REQUESTS: each must be answered 400 with the connection closed and nothing forwarded.
EXTRA_CASES: other abuse and edge cases for the differential table, each with Portico's
expected (status, connection closed, requests reaching the backend).
exchange(): sends raw bytes and tells whether the peer closed the connection."""

import socket
import time


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
    "transfer coding other than chunked (in two header lines)":
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}

# Cases beyond BAD_REQUESTS, for the differential table: name -> (raw request, expected Portico
# (status, closed, forwarded)). `forwarded` counts requests the backend saw (a follow-up request
# on the same connection is sent too, see test_differential.py).
EXTRA_CASES = {
    "valid content-length POST (baseline)":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", (200, False, 2)),
    "valid chunked POST (baseline)":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         (200, False, 2)),
    "chunk extension":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n",
         (200, False, 2)),
    "bare LF line endings":
        (b"GET /echo HTTP/1.1\nHost: a\n\n", (400, True, 0)),
    "content-length with a plus sign":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", (400, True, 0)),
    "two identical content-length headers":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
         (400, True, 0)),
    "invalid chunk size":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
         (400, True, 0)),
    # llhttp 8.1 ignores an empty Transfer-Encoding field; Portico refuses it (RFC 9112 §6.3).
    "empty transfer-encoding with content-length":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello",
         (400, True, 0)),
    "empty transfer-encoding before a chunked body":
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n"
         b"5\r\nhello\r\n0\r\n\r\n", (400, True, 0)),
    "request line 70 KiB":
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", (414, True, 0)),
    "150 header fields":
        (b"GET /echo HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n",
         (431, True, 0)),
    "one 70 KiB header":
        (b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 70000 + b"\r\n\r\n", (431, True, 0)),
    # h2c with prior knowledge (RFC 9113 §3.3): the preface opens an HTTP/2 connection; the
    # gateway answers with its SETTINGS frame (no HTTP/1 status line) and closes at EOF.
    "HTTP/2 preface on an HTTP/1 port":
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (None, True, 0)),
    "unknown HTTP version":
        (b"GET /echo HTTP/1.7\r\nHost: a\r\n\r\n", (400, True, 0)),
}


def exchange(port, data, quiet=0.6, total=5.0, addr="127.0.0.1"):
    """Sends data on a new connection; reads until the peer closes (or resets) or stays quiet
    for `quiet` seconds. Returns (bytes read, closed by the peer)."""
    chunks = []
    with socket.create_connection((addr, port), timeout=5.0) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # closed while we were still sending (e.g. after a 431): read the answer
        deadline = time.monotonic() + total
        s.settimeout(quiet)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return b"".join(chunks), False
            except OSError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
    return b"".join(chunks), False
