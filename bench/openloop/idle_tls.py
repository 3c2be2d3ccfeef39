#!/usr/bin/env python3
"""Opens N TLS keep-alive connections to a proxy, one GET answered on each (so each is
established at the HTTP level, its TLS session complete), then holds them idle until
SIGTERM/SIGINT: the proxy's memory per idle TLS connection (bench/run.sh, https scenario).
The same output as idle_conns.cc: "ready established=E failed=F" once every connection has
answered or failed, and at exit "closed_by_peer=C still_open=O".

  idle_tls.py --target HOST:PORT --connections N [--sni bench.test] [--path /]

One connection at a time (a full handshake each, the client verifying nothing): about a
millisecond apiece here, so 2,000 take a few seconds. Python's ssl module, no other dependency.
"""
import argparse
import signal
import socket
import ssl
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--connections", type=int, required=True)
    ap.add_argument("--sni", default="bench.test")
    ap.add_argument("--path", default="/")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    request = f"GET {a.path} HTTP/1.1\r\nHost: {a.sni}\r\n\r\n".encode()
    held, failed = [], 0
    for _ in range(a.connections):
        try:
            s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10),
                                server_hostname=a.sni)
            s.sendall(request)
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed before the response head")
                got += chunk
            head, _, body = got.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            length = next((int(l.split(b":", 1)[1]) for l in head.split(b"\r\n")[1:]
                           if l.lower().startswith(b"content-length:")), None)
            if length is None:
                raise ConnectionError("no content-length")
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed mid-body")
                body += chunk
            held.append(s)
        except (OSError, ConnectionError) as e:
            failed += 1
            if failed <= 3:
                print(f"connection failed: {e}", file=sys.stderr)
    print(f"ready established={len(held)} failed={failed}", flush=True)

    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    closed = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except ssl.SSLWantReadError:
            pass  # nothing to read: still open
        except (OSError, ssl.SSLError):
            closed += 1
    print(f"closed_by_peer={closed} still_open={len(held) - closed}", flush=True)


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
