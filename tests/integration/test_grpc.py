"""gRPC through the gateway: unary, streaming both ways, big messages, statuses, deadlines,
metadata and concurrent calls, over h2c prior knowledge on the HTTP listener and HTTP/2 to an
Upstream with `useHttp2: true`.

Real peers: a gRPC C++ server and client built from tests/integration/grpc/ (Debian's
libgrpc++), and nghttp (nghttp2-client) for the one raw case. `Direct` runs every case against
the server alone, proving the peer; `ThroughGateway` runs the same cases through Portico.

Both programs are found next to the gateway under test: <dir of PORTICO_BIN>/tests/integration/
grpc/ (the CMake binary dir of tests/integration/grpc), or in PORTICO_GRPC_DIR when set.
"""

import json
import os
import re
import select
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import (LOCALHOST, PORTICO_BIN, closed_port, Portico, route, upstream_yaml, virtual_service_yaml,
                     write_yaml)

GRPC_DIR = Path(os.environ.get("PORTICO_GRPC_DIR", PORTICO_BIN.parent / "tests/integration/grpc"))
ECHO_SERVER = GRPC_DIR / "echo_server"
ECHO_CLIENT = GRPC_DIR / "echo_client"

UNIMPLEMENTED = 12


class EchoServer:
    """tests/integration/grpc/echo_server on 127.0.0.1:<free port>; `.port`."""

    def __init__(self):
        self.proc = None
        self.port = None

    def start(self):
        require(ECHO_SERVER)
        # stderr is inherited: gRPC's own messages land in the test's output, where they help.
        self.proc = subprocess.Popen([str(ECHO_SERVER), "--port", "0"], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10.0)
        line = self.proc.stdout.readline().decode(errors="replace") if ready else ""
        m = re.match(r"listening on (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"echo_server did not start: stdout={line!r}")
        self.port = int(m.group(1))
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()  # the server shuts down within 1 s on SIGTERM
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()


def require(program):
    if not (program.is_file() and os.access(program, os.X_OK)):
        raise RuntimeError(f"{program} not found: build the targets echo_server and echo_client "
                           f"(tests/integration/grpc), or set PORTICO_GRPC_DIR")


def echo_client(target, call, *args, timeout=60):
    """Runs echo_client; returns (exit code, its JSON line parsed or None, raw output)."""
    require(ECHO_CLIENT)
    p = subprocess.run([str(ECHO_CLIENT), "--target", target, "--call", call, *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    try:
        result = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = None
    raw = p.stdout.strip() + (f" stderr: {p.stderr[-2000:]!r}" if p.stderr else "")
    return p.returncode, result, raw


class EchoCases:
    """The cases, run by each subclass against its `target` (HOST:PORT)."""

    target = None

    def context(self):
        """Extra text for failure messages (the gateway's log, for ThroughGateway)."""
        return ""

    def call(self, call, *args, expect_rc=0):
        rc, result, raw = echo_client(self.target, call, *args)
        print(f"\n    {call} {' '.join(map(str, args))}: {raw}")
        self.assertIsNotNone(result, f"no JSON from echo_client: {raw}{self.context()}")
        self.assertEqual(rc, expect_rc, f"{result}{self.context()}")
        return result

    def test_unary(self):
        r = self.call("unary")
        self.assertEqual((r["status_code"], r["messages"]), (0, 1))

    def test_unary_1mib_message(self):
        r = self.call("unary", "--size", 1 << 20)
        self.assertEqual((r["messages"], r["bytes"]), (1, 1 << 20))

    def test_server_stream_1000_messages(self):
        r = self.call("server-stream", "--count", 1000)
        self.assertEqual(r["messages"], 1000)

    def test_bidi_200_interleaved(self):
        # echo_client writes request i only after reply i-1 arrived: nothing may be held back.
        r = self.call("bidi", "--count", 200)
        self.assertEqual(r["messages"], 200)

    def test_fail_status_and_message_pass_through(self):
        r = self.call("fail", "--fail-code", 7)
        self.assertEqual((r["status_code"], r["status_message"]), (7, "asked to fail"))
        self.assertTrue(r["trailing_metadata"], r)

    def test_deadline_exceeded_at_the_client(self):
        r = self.call("deadline", "--deadline-ms", 200, "--delay-ms", 2000)
        self.assertEqual(r["status_code"], 4, r)  # DEADLINE_EXCEEDED
        self.assertLess(r["elapsed_ms"], 1000, r)

    def test_metadata_and_authority_arrive(self):
        # The client checks that the server saw its x-test-meta and :authority, and that the
        # server's initial and trailing metadata came back.
        r = self.call("unary", "--authority", "echo.portico.test")
        self.assertTrue(r["initial_metadata"] and r["trailing_metadata"], r)

    def test_20_concurrent_unary_calls_on_one_channel(self):
        r = self.call("unary", "--count", 20, "--size", 4096)
        self.assertEqual((r["messages"], r["bytes"]), (20, 20 * 4096))

    def test_trailers_only_response(self):
        # An unknown method is answered by gRPC with one HEADERS frame holding :status 200,
        # grpc-status and END_STREAM (PROTOCOL-HTTP2.md "Trailers-Only"); nghttp shows it raw.
        with tempfile.NamedTemporaryFile(prefix="grpc-empty-") as request:
            request.write(b"\x00\x00\x00\x00\x00")  # one empty, uncompressed message
            request.flush()
            p = subprocess.run(
                ["nghttp", "-v", "-H", ":method: POST", "-H", "content-type: application/grpc",
                 "-H", "te: trailers", "-d", request.name,
                 f"http://{self.target}/portico.test.Echo/NoSuchMethod"],
                capture_output=True, timeout=30)
        # What was received: header fields, frames, and the body of a non-gRPC answer.
        out = "\n".join(line for line in p.stdout.decode(errors="replace").splitlines()
                        if "recv" in line or not line.startswith((" ", "[")))
        seen = f"{out[-3000:]}{self.context()}"
        self.assertTrue(f"grpc-status: {UNIMPLEMENTED}" in out and ":status: 200" in out, seen)


class Direct(EchoCases, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = EchoServer().start()
        cls.target = f"{LOCALHOST}:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class ThroughGateway(EchoCases, unittest.TestCase):
    """Portico in front of the echo server: Upstream spec.static.hosts + spec.useHttp2, a
    VirtualService routing / to it; the client speaks h2c prior knowledge to the HTTP port."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-grpc-")
        cls.server = EchoServer().start()
        write_yaml(cls.tmp.name, "upstream.yaml",
                   upstream_yaml("echo", [(LOCALHOST, cls.server.port)],
                                 extra_spec={"useHttp2": True}))
        write_yaml(cls.tmp.name, "down.yaml",
                   upstream_yaml("down", [(LOCALHOST, closed_port())],
                                 extra_spec={"useHttp2": True}))
        write_yaml(cls.tmp.name, "vs.yaml", virtual_service_yaml("grpc", [
            route("down", prefix="/portico.test.Down/"),
            route("echo", prefix="/portico.test."),
        ]))
        try:
            cls.gw = Portico(cls.tmp.name).start()
        except Exception:
            cls.server.stop()
            cls.tmp.cleanup()
            raise
        cls.target = f"{LOCALHOST}:{cls.gw.port}"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.server.stop()
        cls.tmp.cleanup()

    def context(self):
        return f"\n--- gateway log (tail) ---\n{self.gw.logs()[-3000:]}"

    def raw_call(self, path, message=b"", headers=()):
        """One call with nghttp (which keeps no deadline of its own): (elapsed s, what was
        received). `message` is the serialized request, framed here."""
        with tempfile.NamedTemporaryFile(prefix="grpc-msg-") as request:
            request.write(b"\x00" + len(message).to_bytes(4, "big") + message)
            request.flush()
            args = ["nghttp", "-v", "-H", ":method: POST", "-H", "content-type: application/grpc",
                    "-H", "te: trailers", "-d", request.name]
            for h in headers:
                args += ["-H", h]
            start = time.monotonic()
            p = subprocess.run(args + [f"http://{self.target}{path}"], capture_output=True,
                               timeout=30)
            elapsed = time.monotonic() - start
        out = "\n".join(line for line in p.stdout.decode(errors="replace").splitlines()
                        if "recv" in line or not line.startswith((" ", "[")))
        return elapsed, out

    def assert_trailers_only(self, out, code):
        # One HEADERS frame: :status 200, grpc-status, END_STREAM; no DATA.
        seen = f"{out[-3000:]}{self.context()}"
        self.assertIn(":status: 200", out, seen)
        self.assertIn(f"grpc-status: {code}", out, seen)
        self.assertRegex(out, r"recv HEADERS frame <[^>]*flags=0x05", seen)
        self.assertNotIn("recv DATA frame", out, seen)

    def test_no_route_is_unimplemented(self):
        # The gateway's own 404, in gRPC's terms (http-grpc-status-mapping.md: 404 -> 12).
        _, out = self.raw_call("/other.Service/Method")
        self.assert_trailers_only(out, UNIMPLEMENTED)
        self.assertIn("grpc-message: route not found", out)

    def test_upstream_down_is_unavailable(self):
        _, out = self.raw_call("/portico.test.Down/Unary")
        self.assert_trailers_only(out, 14)  # 502 -> UNAVAILABLE

    def test_grpc_timeout_bounds_the_call(self):
        # EchoRequest{delay_ms: 2000} (field 4, varint); grpc-timeout 300 ms. nghttp keeps no
        # deadline, so the DEADLINE_EXCEEDED seen is the gateway's.
        elapsed, out = self.raw_call("/portico.test.Echo/Unary", b"\x20\xd0\x0f",
                                     ["grpc-timeout: 300m"])
        self.assert_trailers_only(out, 4)
        self.assertLess(elapsed, 1.5, out)

    def test_config_accepted(self):
        for kind, name in (("Upstream", "echo"), ("VirtualService", "grpc")):
            s = self.gw.status_of(kind, name)
            self.assertEqual((s or {}).get("state"), "Accepted", f"{kind} {name}: {s}")


if __name__ == "__main__":
    unittest.main()
