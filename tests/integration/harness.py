"""Shared helpers for Portico's integration tests (Python 3 standard library only).

Every tests/integration/test_*.py imports this module. It starts real processes — the gateway
(build/portico), the test backend (build/portico_test_backend), Debian's nginx and HAProxy — on free
ports, writes Gloo v1 YAML config for the gateway, and talks HTTP to them with http.client, raw
sockets and curl.

Binaries come from the environment that ctest sets (tests/CMakeLists.txt), falling back to
<repo>/build/:
  PORTICO_BIN            the gateway
  PORTICO_TEST_BACKEND   the test origin server (tests/integration/backend/test_backend.cc)
  PORTICO_IO_ENGINE      if set, every gateway runs with --io-engine VALUE (the ctest entries
                         named *.epoll run suites again on the epoll engine)

Run one file by hand:
  cd tests/integration && PORTICO_BIN=../../build/portico \\
      PORTICO_TEST_BACKEND=../../build/portico_test_backend python3 -m unittest -v test_backend_selfcheck
"""

import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("PORTICO_BUILD_DIR", REPO_ROOT / "build"))
PORTICO_BIN = Path(os.environ.get("PORTICO_BIN", BUILD_DIR / "portico"))
TEST_BACKEND = Path(os.environ.get("PORTICO_TEST_BACKEND", BUILD_DIR / "portico_test_backend"))
NGINX_BIN = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")

NAMESPACE = "gloo-system"
LOCALHOST = "127.0.0.1"

# The test backend's /bytes/N body: byte i is PATTERN[i % 64].
PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n"
assert len(PATTERN) == 64

MiB = 1024 * 1024


# ---- small utilities --------------------------------------------------------------------------

_handed_out_ports = set()
_port_lock = threading.Lock()


def free_port():
    """A TCP port that nothing listens on right now (127.0.0.1 and ::), never the same one twice
    in this process. The usual race applies: bind it soon."""
    with _port_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((LOCALHOST, 0))
                port = s.getsockname()[1]
            if port in _handed_out_ports:
                continue
            try:  # the gateway may bind "::" too: make sure the v6 side is free as well
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError as e:
                if e.errno != 99:  # EADDRNOTAVAIL: no IPv6 on this machine, fine
                    continue
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def closed_port():
    """A port with no listener (for 'upstream refuses connections' tests)."""
    return free_port()


def wait_until(predicate, timeout=5.0, interval=0.02, message="condition"):
    """Polls predicate() until it returns a truthy value, which is returned. Raises
    AssertionError after `timeout` seconds. Exceptions from predicate count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - "not yet" includes connection errors
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)


def wait_for_port(port, timeout=10.0, host=LOCALHOST):
    def accepting():
        with socket.create_connection((host, port), timeout=0.5):
            return True
    wait_until(accepting, timeout, 0.02, f"{host}:{port} to accept connections")


def fnv1a64(data, h=0xCBF29CE484222325):
    """FNV-1a 64 of data, as the backend's body_fnv1a64 (hex, 16 digits). Pure Python: about
    a second per few MiB, so hash big bodies through the backend instead (see sink_reference)."""
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def bytes_pattern(n, offset=0):
    """n bytes of the backend's /bytes pattern starting at stream position `offset`."""
    start = offset % 64
    reps = (start + n) // 64 + 1
    return (PATTERN * reps)[start:start + n]


def pattern_chunks(total, chunk=MiB):
    """Yields `total` pattern bytes in pieces of `chunk` (chunk must be a multiple of 64)."""
    assert chunk % 64 == 0
    block = bytes_pattern(chunk)
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield block if n == chunk else block[:n]
        sent += n


class PatternChecker:
    """Checks a streamed /bytes body piece by piece without holding it."""

    def __init__(self):
        self.offset = 0
        self.ok = True
        self.first_bad_offset = None

    def feed(self, data):
        if self.ok and data != bytes_pattern(len(data), self.offset):
            self.ok = False
            self.first_bad_offset = self.offset
        self.offset += len(data)

    def drain(self, stream, piece=256 * 1024):
        """Feeds everything `stream` (a file-like: an http.client response) still has."""
        while True:
            data = stream.read(piece)
            if not data:
                return
            self.feed(data)


def rss_kb(pid):
    """Resident set size of a process in KiB (VmRSS from /proc/PID/status), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Context manager sampling a process's RSS every `interval` s on a thread; `.max_kb` is
    the peak seen, `.samples` the count."""

    def __init__(self, pid, interval=0.02):
        self.pid = pid
        self.interval = interval
        self.max_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = None

    def sample(self):
        kb = rss_kb(self.pid)
        self.max_kb = max(self.max_kb, kb)
        self.samples += 1

    def __enter__(self):
        self.sample()

        def loop():
            while not self._stop.wait(self.interval):
                self.sample()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
        return False


# ---- config writing -----------------------------------------------------------------------------

def write_yaml(directory, filename, text):
    """Writes directory/filename atomically: a hidden temp file in the same directory (not
    ending in .yaml, so a watcher ignores it), then rename over the target."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    tmp = directory / f".{filename}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def remove_yaml(directory, filename):
    os.unlink(Path(directory) / filename)


_PLAIN_SCALAR = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return str(value)
    s = str(value)
    if _PLAIN_SCALAR.match(s) and s.lower() not in _YAML_RESERVED:
        return s
    if "'" not in s and "\n" not in s and "\\" not in s:
        return f"'{s}'"
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts/lists/scalars (enough for config objects)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{_scalar(k)}:\n{to_yaml(v, indent + 1)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{_scalar(k)}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{_scalar(k)}: []\n")
            else:
                out.append(f"{pad}{_scalar(k)}: {_scalar(v)}\n")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 1)
                # "- " replaces the first line's indentation
                out.append(f"{pad}- {body[len(pad) + 2:]}")
            else:
                out.append(f"{pad}- {to_yaml(item, 0).strip() if isinstance(item, (dict, list)) else _scalar(item)}\n")
        return "".join(out)
    return pad + _scalar(value) + "\n"


def upstream_yaml(name, hosts, namespace=NAMESPACE, extra_spec=None):
    """A gloo.solo.io/v1 Upstream with spec.static.hosts. hosts: [(addr, port), ...]."""
    spec = {"static": {"hosts": [{"addr": a, "port": int(p)} for a, p in hosts]}}
    if extra_spec:
        spec.update(extra_spec)
    return to_yaml({
        "apiVersion": "gloo.solo.io/v1",
        "kind": "Upstream",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    })


def route(upstream, prefix=None, exact=None, regex=None, matchers=None, options=None,
          upstream_namespace=NAMESPACE):
    """One VirtualService route (a dict for virtual_service_yaml). Give one of prefix / exact /
    regex, or `matchers` (a list of matcher dicts) for several."""
    if matchers is None:
        matchers = []
        if prefix is not None:
            matchers.append({"prefix": prefix})
        if exact is not None:
            matchers.append({"exact": exact})
        if regex is not None:
            matchers.append({"regex": regex})
    r = {
        "matchers": matchers,
        "routeAction": {"single": {"upstream": {"name": upstream, "namespace": upstream_namespace}}},
    }
    if options:
        r["options"] = options
    return r


def virtual_service_yaml(name, routes, domains=("*",), namespace=NAMESPACE):
    """A gateway.solo.io/v1 VirtualService: spec.virtualHost.{domains, routes}."""
    return to_yaml({
        "apiVersion": "gateway.solo.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"virtualHost": {"domains": list(domains), "routes": list(routes)}},
    })


def gateway_yaml(name, port, bind_address=LOCALHOST, namespace=NAMESPACE, extra_spec=None):
    """A gateway.solo.io/v1 Gateway listening on bind_address:port."""
    spec = {"bindAddress": bind_address, "bindPort": int(port)}
    if extra_spec:
        spec.update(extra_spec)
    return to_yaml({
        "apiVersion": "gateway.solo.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    })


# ---- processes ------------------------------------------------------------------------------------

def _require_executable(path, what):
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(f"{what} not found at {path} (build it, or set the environment "
                           f"variable naming it)")


def _terminate(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signals proc, waits up to timeout, then SIGKILLs. Returns the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Backend:
    """The test backend on 127.0.0.1:<free port>. Context manager; `.port`, `.name`, `.url()`.

        with Backend("a") as a:
            status, headers, body = http_request(a.port, "GET", "/echo")
    """

    def __init__(self, name="backend", port=0, fail_status=None):
        self.name = name
        self.requested_port = port
        self.fail_status = fail_status
        self.port = None
        self.proc = None
        self._stderr = None

    def start(self):
        _require_executable(TEST_BACKEND, "portico_test_backend (PORTICO_TEST_BACKEND)")
        self._stderr = tempfile.TemporaryFile()
        args = [str(TEST_BACKEND), "--port", str(self.requested_port), "--name", self.name]
        if self.fail_status:
            args += ["--fail-status", str(self.fail_status)]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10.0)
        line = self.proc.stdout.readline().decode(errors="replace") if ready else ""
        m = re.match(r"listening on (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"backend {self.name} did not start: stdout={line!r} "
                               f"stderr={self.stderr()!r}")
        self.port = int(m.group(1))
        return self

    def stderr(self):
        return _read_capture(self._stderr)

    def url(self, path="/"):
        return f"http://{LOCALHOST}:{self.port}{path}"

    def stop(self):
        if self.proc is not None:
            _terminate(self.proc, signal.SIGTERM, 5.0)
            if self.proc.stdout:
                self.proc.stdout.close()
        self._stderr = _freeze_capture(self._stderr)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Nginx:
    """Debian's nginx with a generated config in a temp dir (foreground, root-safe, all paths
    inside the temp dir). `http_config` is the body of the http {} block; `wait_ports` are
    polled until they accept connections.

        with Nginx('server { listen 127.0.0.1:%d; location / { return 200 "hi"; } }' % p,
                   wait_ports=[p]):
            ...
    """

    def __init__(self, http_config, wait_ports=(), workers=1, worker_connections=4096):
        self.http_config = http_config
        self.wait_ports = list(wait_ports)
        self.workers = workers
        self.worker_connections = worker_connections
        self.dir = None
        self.proc = None

    def config_text(self):
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}worker_processes {self.workers};\n"
            f"daemon off;\n"
            f"pid {d}/nginx.pid;\n"
            f"error_log {d}/error.log warn;\n"
            f"events {{ worker_connections {self.worker_connections}; }}\n"
            f"http {{\n"
            f"  access_log off;\n"
            f"  client_body_temp_path {d}/client_body;\n"
            f"  proxy_temp_path {d}/proxy;\n"
            f"  fastcgi_temp_path {d}/fastcgi;\n"
            f"  uwsgi_temp_path {d}/uwsgi;\n"
            f"  scgi_temp_path {d}/scgi;\n"
            f"{self.http_config}\n"
            f"}}\n")

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="portico-nginx-")
        conf = Path(self.dir) / "nginx.conf"
        conf.write_text(self.config_text())
        self.proc = subprocess.Popen(
            [NGINX_BIN, "-p", self.dir, "-c", str(conf), "-e", f"{self.dir}/error.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            for port in self.wait_ports:
                wait_until(lambda: self.proc.poll() is not None or _can_connect(port), 10.0,
                           0.02, f"nginx on port {port}")
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.errors()}")
        except Exception:
            self.stop()
            raise
        return self

    def errors(self):
        try:
            return (Path(self.dir) / "error.log").read_text()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            _terminate(self.proc, signal.SIGTERM, 5.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class HAProxy:
    """Debian's HAProxy in the foreground (-db) with a generated config in a temp dir.
    `config` is everything after the global section (defaults, frontends, backends);
    `wait_ports` are polled until they accept connections.

        with HAProxy(HAProxy.reverse_proxy(port, backend.port), wait_ports=[port]):
            ...
    """

    def __init__(self, config, wait_ports=(), maxconn=4096):
        self.config = config
        self.wait_ports = list(wait_ports)
        self.maxconn = maxconn
        self.dir = None
        self.proc = None
        self._stderr = None

    @staticmethod
    def reverse_proxy(port, backend_port, timeout_client="30s"):
        """A plain HTTP reverse proxy: 127.0.0.1:port → 127.0.0.1:backend_port."""
        return (f"defaults\n  mode http\n  timeout connect 5s\n  timeout client {timeout_client}\n"
                f"  timeout server 30s\n  timeout http-request 10s\n"
                f"frontend fe\n  bind {LOCALHOST}:{port}\n  default_backend be\n"
                f"backend be\n  server s1 {LOCALHOST}:{backend_port}\n")

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="portico-haproxy-")
        conf = Path(self.dir) / "haproxy.cfg"
        conf.write_text(f"global\n  maxconn {self.maxconn}\n  nbthread 1\n{self.config}")
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(conf)], stdout=self._stderr,
                                     stderr=self._stderr, stdin=subprocess.DEVNULL)
        try:
            for port in self.wait_ports:
                wait_until(lambda: self.proc.poll() is not None or _can_connect(port), 10.0,
                           0.02, f"haproxy on port {port}")
                if self.proc.poll() is not None:
                    raise RuntimeError(f"haproxy exited with {self.proc.returncode}: {self.errors()}")
        except Exception:
            self.stop()
            raise
        return self

    def errors(self):
        return _read_capture(self._stderr)

    def stop(self):
        if self.proc is not None:
            _terminate(self.proc, signal.SIGTERM, 5.0)
        self._stderr = _freeze_capture(self._stderr)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _read_capture(capture):
    """Text of a process's captured output: a temp file, or the str it was frozen into."""
    if capture is None:
        return ""
    if isinstance(capture, str):
        return capture
    capture.seek(0)
    return capture.read().decode(errors="replace")


def _freeze_capture(capture):
    """Reads a capture temp file into a str and closes the file."""
    if capture is None or isinstance(capture, str):
        return capture
    text = _read_capture(capture)
    capture.close()
    return text


def _can_connect(port, host=LOCALHOST):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_GATEWAY_KIND = re.compile(r"^kind:\s*Gateway\s*$", re.M)
_BIND_PORT = re.compile(r"^\s*bindPort:\s*(\d+)", re.M)


class Portico:
    """The gateway: `$PORTICO_BIN run --config-dir DIR --admin-address 127.0.0.1:ADMIN
    --workers N`, ready once GET /ready on the admin port answers 200.

    If no YAML file in config_dir holds a Gateway, gateway.yaml is written with a free port
    (bindAddress 127.0.0.1). `.port` is the Gateway's bindPort either way.

        with Portico(cfg) as gw:
            http_request(gw.port, "GET", "/echo")
            gw.statuses()
    """

    def __init__(self, config_dir, workers=1, extra_args=(), ready_timeout=10.0, env=None):
        self.config_dir = Path(config_dir)
        self.workers = workers
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.env = env
        self.admin_port = None
        self.port = None
        self.proc = None
        self._stderr = None
        self._stdout = None

    # -- lifecycle --

    def _ensure_gateway(self):
        self.config_dir.mkdir(parents=True, exist_ok=True)
        for f in sorted(self.config_dir.iterdir()):
            if f.suffix in (".yaml", ".yml") and f.is_file():
                text = f.read_text(errors="replace")
                if _GATEWAY_KIND.search(text):
                    m = _BIND_PORT.search(text)
                    self.port = int(m.group(1)) if m else 8080
                    return
        self.port = free_port()
        write_yaml(self.config_dir, "gateway.yaml", gateway_yaml("gateway-proxy", self.port))

    def command(self):
        engine = os.environ.get("PORTICO_IO_ENGINE")
        return [str(PORTICO_BIN), "run", "--config-dir", str(self.config_dir),
                "--admin-address", f"{LOCALHOST}:{self.admin_port}",
                "--workers", str(self.workers), *(["--io-engine", engine] if engine else []),
                *self.extra_args]

    def start(self):
        _require_executable(PORTICO_BIN, "portico (PORTICO_BIN)")
        self._ensure_gateway()
        self.admin_port = free_port()
        self._stderr = tempfile.TemporaryFile()
        self._stdout = tempfile.TemporaryFile()
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(self.command(), stdout=self._stdout, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.proc.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError(f"portico exited with {self.proc.returncode} before becoming "
                                   f"ready; command: {' '.join(self.command())}\n"
                                   f"--- stderr ---\n{self.logs()}")
            try:
                status, _, _ = self.admin_get("/ready", timeout=1.0)
                if status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() >= deadline:
                _terminate(self.proc, signal.SIGKILL)
                self.__exit__(None, None, None)
                raise RuntimeError(f"portico not ready after {self.ready_timeout}s "
                                   f"(GET /ready on {self.admin_port})\n"
                                   f"--- stderr ---\n{self.logs()}")
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Sends sig, waits up to timeout (then SIGKILL) and returns the exit code
        (negative = killed by that signal, as in subprocess)."""
        if self.proc is None:
            return None
        code = _terminate(self.proc, sig, timeout)
        # keep what was captured readable (logs()), release the temp files
        self._stderr = _freeze_capture(self._stderr)
        self._stdout = _freeze_capture(self._stdout)
        return code

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- observation --

    def logs(self):
        """Everything the gateway wrote to stderr so far."""
        return _read_capture(self._stderr)

    def stdout(self):
        return _read_capture(self._stdout)

    def rss_kb(self):
        return rss_kb(self.proc.pid)

    def admin_get(self, path, timeout=5.0):
        return http_request(self.admin_port, "GET", path, host=f"{LOCALHOST}:{self.admin_port}",
                            timeout=timeout)

    def admin_json(self, path):
        """GET an admin endpoint that answers JSON (e.g. /upstreams); returns it parsed."""
        status, _, body = self.admin_get(path)
        if status != 200:
            raise AssertionError(f"admin {path} answered {status}: {body[:200]!r}")
        return json.loads(body)

    def statuses(self):
        """GET /statuses parsed: a list of {kind, namespace, name, state, reason}."""
        status, _, body = self.admin_get("/statuses")
        if status != 200:
            raise AssertionError(f"/statuses answered {status}: {body[:200]!r}")
        return json.loads(body)

    def status_of(self, kind, name, namespace=NAMESPACE):
        """The /statuses entry for one object, or None."""
        for s in self.statuses():
            if (str(s.get("kind", "")).lower() == kind.lower() and s.get("name") == name
                    and s.get("namespace", namespace) == namespace):
                return s
        return None

    def wait_status(self, kind, name, state, timeout=5.0, namespace=NAMESPACE):
        """Waits until the object's status has `state` ("Accepted"/"Rejected"); returns it."""
        def check():
            s = self.status_of(kind, name, namespace)
            return s if s is not None and s.get("state") == state else None
        return wait_until(check, timeout, 0.02, f"{kind} {name} to be {state}")

    def config_dump(self):
        status, _, body = self.admin_get("/config_dump")
        if status != 200:
            raise AssertionError(f"/config_dump answered {status}")
        return json.loads(body)

    def url(self, path="/"):
        return f"http://{LOCALHOST}:{self.port}{path}"


def portico_validate(config_dir, timeout=30.0):
    """Runs `portico validate DIR`; returns the CompletedProcess (text stdout/stderr)."""
    _require_executable(PORTICO_BIN, "portico (PORTICO_BIN)")
    return subprocess.run([str(PORTICO_BIN), "validate", str(config_dir)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# ---- HTTP clients ---------------------------------------------------------------------------------

def headers_dict(message):
    """http.client headers → {lowercased name: value}, repeated names joined with ", "."""
    out = {}
    for name, value in message.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def http_request(port, method="GET", path="/", headers=None, body=b"", host="example.com",
                 timeout=10.0, encode_chunked=False, addr=LOCALHOST):
    """One request on a new connection. Returns (status, headers dict lowercased, body bytes).
    `body` may be bytes or an iterable of bytes (then give Content-Length in headers, or
    encode_chunked=True). `host=None` leaves the Host header to http.client."""
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if host is not None and not any(k.lower() == "host" for k in hdrs):
            hdrs["Host"] = host
        conn.request(method, path, body=body if body != b"" else None, headers=hdrs,
                     encode_chunked=encode_chunked)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, headers_dict(resp.headers), data
    finally:
        conn.close()


def get_json(port, path="/echo", method="GET", headers=None, body=b"", host="example.com",
             timeout=10.0):
    """http_request that expects 200 + JSON; returns (headers, parsed body)."""
    status, hdrs, data = http_request(port, method, path, headers, body, host, timeout)
    if status != 200:
        raise AssertionError(f"{method} {path} answered {status}: {data[:300]!r}")
    return hdrs, json.loads(data)


class Connection:
    """A keep-alive http.client connection with a fixed Host; `.request()` returns
    (status, headers, body) and `.local_port()` identifies the TCP connection in use."""

    def __init__(self, port, host="example.com", timeout=10.0, addr=LOCALHOST):
        self.host = host
        self.conn = http.client.HTTPConnection(addr, port, timeout=timeout)
        self.conn.connect()

    def request(self, method="GET", path="/", headers=None, body=None, encode_chunked=False):
        hdrs = dict(headers or {})
        hdrs.setdefault("Host", self.host)
        self.conn.request(method, path, body=body, headers=hdrs, encode_chunked=encode_chunked)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, headers_dict(resp.headers), data

    def local_port(self):
        return self.conn.sock.getsockname()[1] if self.conn.sock else None

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def raw_exchange(port, data, read_timeout=2.0, total_timeout=30.0, addr=LOCALHOST,
                 shutdown_write=False):
    """Sends raw bytes on a new connection and returns every byte read until the peer closes,
    or no byte arrives for read_timeout seconds, or total_timeout passes."""
    with socket.create_connection((addr, port), timeout=5.0) as s:
        if data:
            s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        return _read_all(s, read_timeout, total_timeout)


def _read_all(sock, read_timeout, total_timeout):
    chunks = []
    deadline = time.monotonic() + total_timeout
    sock.settimeout(read_timeout)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def raw_responses(port, data, count, timeout=10.0, addr=LOCALHOST, head=False):
    """Sends raw bytes and reads until `count` complete responses are parsed (or the peer
    closes / timeout). Returns (responses, closed) where closed tells whether EOF was seen."""
    buf = b""
    closed = False
    with socket.create_connection((addr, port), timeout=5.0) as s:
        s.sendall(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                resps, _ = parse_responses(buf, head=head)
                if len(resps) >= count:
                    return resps, False
            except ValueError:
                pass
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    resps, _ = parse_responses(buf, head=head, eof=closed)
    return resps, closed


class RawResponse:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in wire order
        self.body = body

    def header(self, name):
        """All values of a header joined with ", " (case-insensitive), or None."""
        vals = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def __repr__(self):
        return f"RawResponse({self.status} {self.reason!r}, {len(self.body)} body bytes)"


class IncompleteResponse(ValueError):
    pass


def parse_responses(data, head=False, eof=True):
    """Parses back-to-back HTTP/1.x responses from raw bytes (pipelined answers in order).
    Returns (responses, leftover). Interim 1xx responses are returned too. A response whose
    body is delimited by close takes everything left (only when eof=True). Raises ValueError
    on malformed bytes; a truncated final response is left in `leftover`."""
    responses = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head_lines = data[pos:end].decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", head_lines[0])
        if not m:
            raise ValueError(f"bad status line {head_lines[0]!r} at offset {pos}")
        version, status, reason = m.group(1), int(m.group(2)), m.group(3) or ""
        headers = []
        for line in head_lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"bad header line {line!r}")
            headers.append((name.strip(), value.strip()))
        body_start = end + 4
        lower = {n.lower(): v for n, v in headers}
        te = lower.get("transfer-encoding", "").lower()
        if head or status in (204, 304) or 100 <= status < 200:
            body, next_pos = b"", body_start
        elif "chunked" in te:
            parsed = _parse_chunked(data, body_start)
            if parsed is None:
                break
            body, next_pos = parsed
        elif "content-length" in lower:
            n = int(lower["content-length"])
            if body_start + n > len(data):
                break
            body, next_pos = data[body_start:body_start + n], body_start + n
        else:
            if not eof:
                break
            body, next_pos = data[body_start:], len(data)
        responses.append(RawResponse(version, status, reason, headers, body))
        pos = next_pos
    return responses, data[pos:]


def _parse_chunked(data, pos):
    body = []
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = data[pos:line_end].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text!r}") from None
        pos = line_end + 2
        if size == 0:
            # trailers until an empty line
            while True:
                line_end = data.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                if line_end == pos:
                    return b"".join(body), pos + 2
                pos = line_end + 2
        if pos + size + 2 > len(data):
            return None
        body.append(data[pos:pos + size])
        pos += size + 2


def curl(*args, timeout=60.0):
    """Runs `curl -sS ARGS...`; returns the CompletedProcess (stdout bytes, stderr text)."""
    proc = subprocess.run(["curl", "-sS", *map(str, args)], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    proc.stderr = proc.stderr.decode(errors="replace")
    return proc


def sink_reference(backend_port, total, chunk=MiB):
    """Uploads `total` pattern bytes straight to a backend's /sink and returns its JSON answer:
    the reference {body_length, body_fnv1a64} for the same upload through the gateway."""
    status, _, body = http_request(backend_port, "POST", "/sink",
                                   headers={"Content-Length": str(total)},
                                   body=pattern_chunks(total, chunk), timeout=120.0)
    assert status == 200, status
    return json.loads(body)
