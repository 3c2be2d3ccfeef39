#!/usr/bin/env python3
"""A trace collector for the benchmarks: accepts POSTs (Zipkin /api/v2/spans, OTLP /v1/traces),
answers 202 and discards the body, so the gateway's exporter has a live peer and nothing more.

  span_sink.py PORT COUNT_FILE

After each POST, COUNT_FILE holds "posts bytes": the script checks that spans did arrive.
HTTP/1.1 keep-alive (the exporter reuses its connection); bodies by Content-Length or chunked.
"""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    posts = 0
    bytes = 0

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            n = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                n += len(self.rfile.read(size + 2)) - 2 if size else 0
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return n
        return len(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def do_POST(self):
        Sink.posts += 1
        Sink.bytes += self.read_body()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with open(sys.argv[2], "w") as f:
            f.write(f"{Sink.posts} {Sink.bytes}\n")

    def do_GET(self):  # readiness probe for wait_http
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    with open(sys.argv[2], "w") as f:
        f.write("0 0\n")
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
