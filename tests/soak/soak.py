#!/usr/bin/env python3
"""Soak: steady wrk load on Portico while its config changes every 100 ms and backends are
killed and restarted. Not part of `make test`; run with `make soak SOAK_SECONDS=N` (default 600)
or directly:

    PORTICO_BIN=build/portico PORTICO_TEST_BACKEND=build/portico_test_backend \\
        python3 tests/soak/soak.py --seconds 120

Set-up: backend A (never touched) behind upstream up-stable and virtual service `stable`
(Host stable.example); backends B and C behind up-churn and virtual service `churn`
(churn.example). Every 100 ms one change, in turn: up-churn's hosts replaced ([B], [C], [B, C]);
a virtual service extra-N added; `stable` rewritten with one more exact route; `stable`
rewritten with a route to a missing upstream (Rejected: the last good version keeps serving);
`stable` fixed; the oldest extra-N removed; a virtual service `broken` applied invalid; fixed.
Every 3 s B or C is killed (SIGKILL) and restarted 1.5 s later on the same port.

Asserts: 0 failed requests (non-2xx, socket errors, timeouts) on stable.example; no request
left hanging on churn.example (wrk's 5 s timeout: a killed host fails requests at once); no
growth of the gateway's RSS or open descriptors across the run (/proc sampled every second: the
last tenth of the run against the second tenth, after warm-up); at the end every object is Accepted,
/config_dump holds exactly the objects in the directory, and both routes answer. Exit 0 = pass.

--heaptrack OUT runs the gateway under heaptrack's preload library (same pid, so the RSS samples
and signals still reach it) and writes OUT.zst for heaptrack_print; the assertions may fail
under it, it is for finding what grows.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402
from harness import (LOCALHOST, Backend, Portico, http_request, remove_yaml, route,  # noqa: E402
                     upstream_yaml, virtual_service_yaml, wait_until, write_yaml)

RSS_GROWTH_KIB = 8 * 1024  # allowed growth of the last tenth's median over the second tenth's
FD_GROWTH = 16


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def fd_kinds(pid):
    """(sockets, other descriptors) of a process."""
    sockets = other = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            sockets += 1
        else:
            other += 1
    return sockets, other


def unaccounted_descriptors(gw):
    """Descriptors the gateway's own gauges do not explain: sockets minus client connections
    and pooled upstream connections (what is left is listeners, the admin API, DNS), and every
    other descriptor (epoll, eventfds, inotify, files). Constant unless something leaks."""
    _, _, body = gw.admin_get("/metrics")
    text = body.decode()
    accounted = sum(int(v) for v in re.findall(
        r"^portico_downstream_connections_active (\d+)$", text, re.M))
    accounted += sum(int(v) for v in re.findall(
        r"^portico_upstream_connections\{[^}]*\} (\d+)$", text, re.M))
    sockets, other = fd_kinds(gw.pid)
    return sockets - accounted, other


def wrk(port, host, seconds, connections, out_path):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-H", f"Host: {host}", f"http://{LOCALHOST}:{port}/echo"]
    return subprocess.Popen(cmd, stdout=open(out_path, "w"), stderr=subprocess.STDOUT)


def wrk_result(path):
    text = Path(path).read_text()
    total = re.search(r"(\d+) requests in", text)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    timeouts = re.search(r"timeout (\d+)", text)
    return {"requests": int(total.group(1)) if total else 0,
            "socket_errors": errors,
            "timeouts": int(timeouts.group(1)) if timeouts else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)) if total else 0.0,
            "text": text}


class Mutator(threading.Thread):
    """One config change every `interval` s, in a fixed cycle (see the module docstring)."""

    def __init__(self, cfg, a, b_port, c_port, interval=0.1):
        super().__init__(daemon=True)
        self.cfg, self.a, self.b_port, self.c_port = cfg, a, b_port, c_port
        self.interval = interval
        self.stop_event = threading.Event()
        self.changes = 0
        self.extras = []
        self.errors = []

    def stable_vs(self, extra=None, broken=False):
        routes = [route("up-stable", prefix="/")]
        if extra is not None:
            routes.insert(0, route("up-stable", exact=f"/extra-{extra}"))
        if broken:
            routes.insert(0, route("nowhere", prefix="/missing"))
        return virtual_service_yaml("stable", routes, domains=["stable.example"])

    def step(self, k):
        cfg = self.cfg
        kind = k % 8
        if kind == 0:
            hosts = [[(LOCALHOST, self.b_port)], [(LOCALHOST, self.c_port)],
                     [(LOCALHOST, self.b_port), (LOCALHOST, self.c_port)]][(k // 8) % 3]
            write_yaml(cfg, "up-churn.yaml", upstream_yaml("up-churn", hosts))
        elif kind == 1:
            write_yaml(cfg, f"vs-extra-{k}.yaml", virtual_service_yaml(
                f"extra-{k}", [route("up-churn", prefix="/")], domains=[f"extra-{k}.example"]))
            self.extras.append(k)
        elif kind == 2:
            write_yaml(cfg, "vs-stable.yaml", self.stable_vs(extra=k))
        elif kind == 3:
            write_yaml(cfg, "vs-stable.yaml", self.stable_vs(extra=k, broken=True))
        elif kind == 4:
            write_yaml(cfg, "vs-stable.yaml", self.stable_vs())
        elif kind == 5:
            while len(self.extras) > 2:
                remove_yaml(cfg, f"vs-extra-{self.extras.pop(0)}.yaml")
        elif kind == 6:
            write_yaml(cfg, "vs-broken.yaml", virtual_service_yaml(
                "broken", [route("nowhere", prefix="/")], domains=["broken.example"]))
        else:
            write_yaml(cfg, "vs-broken.yaml", virtual_service_yaml(
                "broken", [route("up-stable", prefix="/")], domains=["broken.example"]))
        self.changes += 1

    def run(self):
        k = 0
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            try:
                self.step(k)
            except Exception as e:  # noqa: BLE001 - reported at the end
                self.errors.append(repr(e))
            k += 1
            next_at += self.interval
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))


class BackendKiller(threading.Thread):
    """Every `period` s kills B or C (in turn) with SIGKILL and restarts it `down` s later."""

    def __init__(self, backends, period=3.0, down=1.5):
        super().__init__(daemon=True)
        self.backends = backends  # list of [Backend]; replaced in place on restart
        self.period, self.down = period, down
        self.stop_event = threading.Event()
        self.kills = 0
        self.errors = []

    def run(self):
        i = 0
        while not self.stop_event.wait(self.period):
            slot = self.backends[i % len(self.backends)]
            i += 1
            old = slot[0]
            old.proc.send_signal(signal.SIGKILL)
            old.stop()
            self.kills += 1
            if self.stop_event.wait(self.down):
                break
            try:
                slot[0] = self.restart(old)
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))

    @staticmethod
    def restart(old):
        for _ in range(50):
            try:
                return Backend(old.name, port=old.port).start()
            except RuntimeError:
                time.sleep(0.1)  # the port may still be held for a moment
        raise RuntimeError(f"backend {old.name} did not restart on {old.port}")


def heaptrack_wrapper(work, out):
    """A script that execs the gateway with heaptrack's preload library, its data piped to
    heaptrack_interpret (what the heaptrack script does, minus the child process in between)."""
    lib = Path(shutil.which("heaptrack") or "/usr/bin/heaptrack").resolve().parent.parent / "lib/heaptrack"
    compress = "zstd -q -c" if shutil.which("zstd") else "gzip -c"
    suffix = "zst" if shutil.which("zstd") else "gz"
    script = work / "portico-heaptrack.sh"
    script.write_text(f"""#!/bin/sh
pipe={work}/heaptrack.fifo
rm -f "$pipe"; mkfifo "$pipe"
{lib}/libexec/heaptrack_interpret < "$pipe" | {compress} > {out}.{suffix} &
exec env LD_PRELOAD={lib}/libheaptrack_preload.so DUMP_HEAPTRACK_OUTPUT="$pipe" {harness.PORTICO_BIN} "$@"
""")
    script.chmod(0o755)
    return script, f"{out}.{suffix}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--heaptrack", metavar="OUT", help="run the gateway under heaptrack (OUT.zst)")
    args = ap.parse_args()
    seconds = max(args.seconds, 20)
    failures = []

    work = Path(tempfile.mkdtemp(prefix="portico-soak-"))
    if args.heaptrack:
        harness.PORTICO_BIN, heaptrack_out = heaptrack_wrapper(work, Path(args.heaptrack).resolve())
        print(f"soak: gateway under heaptrack, data in {heaptrack_out}", flush=True)
    cfg = work / "config"
    a = Backend("a").start()
    b = [Backend("b").start()]
    c = [Backend("c").start()]
    b_port, c_port = b[0].port, c[0].port
    write_yaml(cfg, "up-stable.yaml", upstream_yaml("up-stable", [(LOCALHOST, a.port)]))
    write_yaml(cfg, "up-churn.yaml", upstream_yaml("up-churn", [(LOCALHOST, b_port), (LOCALHOST, c_port)]))
    mutator = Mutator(cfg, a, b_port, c_port)
    write_yaml(cfg, "vs-stable.yaml", mutator.stable_vs())
    write_yaml(cfg, "vs-churn.yaml", virtual_service_yaml(
        "churn", [route("up-churn", prefix="/")], domains=["churn.example"]))
    write_yaml(cfg, "vs-broken.yaml", virtual_service_yaml(
        "broken", [route("up-stable", prefix="/")], domains=["broken.example"]))
    gw = Portico(cfg, workers=args.workers, extra_args=["--log-level", "warn"]).start()
    killer = BackendKiller([b, c])
    samples = []  # (t, rss KiB, fds)
    try:
        # Warm up, then the baseline descriptors with no load.
        for _ in range(50):
            http_request(gw.port, "GET", "/echo", host="stable.example")
        time.sleep(0.5)
        fds_idle_before = unaccounted_descriptors(gw)
        print(f"soak: {seconds} s, gateway pid {gw.pid}, {args.workers} workers, "
              f"wrk -c{args.connections} on stable.example + -c4 on churn.example", flush=True)
        stable = wrk(gw.port, "stable.example", seconds, args.connections, work / "wrk-stable.txt")
        churn = wrk(gw.port, "churn.example", seconds, 4, work / "wrk-churn.txt")
        start = time.monotonic()
        mutator.start()
        killer.start()
        while stable.poll() is None:
            samples.append((time.monotonic() - start, gw.rss_kb(), fd_count(gw.pid)))
            if not gw.running():
                failures.append("gateway exited during the run:\n" + gw.logs()[-2000:])
                break
            if int(time.monotonic() - start) % 30 == 0 and len(samples) > 1:
                t, rss, fds = samples[-1]
                print(f"soak: t={t:.0f}s rss={rss} KiB fds={fds} changes={mutator.changes} "
                      f"kills={killer.kills}", flush=True)
            time.sleep(1.0)
        stable.wait()
        churn.wait(timeout=30)
        mutator.stop_event.set()
        killer.stop_event.set()
        mutator.join()
        killer.join()
        failures += [f"mutator: {e}" for e in mutator.errors]
        failures += [f"backend killer: {e}" for e in killer.errors]
        if not b[0].proc or b[0].proc.poll() is not None:
            b[0] = BackendKiller.restart(b[0])
        if not c[0].proc or c[0].proc.poll() is not None:
            c[0] = BackendKiller.restart(c[0])

        rs, rc = wrk_result(work / "wrk-stable.txt"), wrk_result(work / "wrk-churn.txt")
        print(f"soak: stable.example {rs['requests']} requests ({rs['rps']:.0f}/s), "
              f"{rs['non2xx']} non-2xx, {rs['socket_errors']} socket errors")
        print(f"soak: churn.example {rc['requests']} requests, {rc['non2xx']} non-2xx, "
              f"{rc['socket_errors']} socket errors (not asserted: its hosts were killed), "
              f"{rc['timeouts']} timeouts")
        print(f"soak: {mutator.changes} config changes, {killer.kills} backend kills")
        if rs["requests"] == 0:
            failures.append("wrk on stable.example made no requests:\n" + rs["text"])
        if rs["non2xx"] or rs["socket_errors"]:
            failures.append(f"failed requests on stable.example:\n{rs['text']}")
        # A killed host fails requests at once (reset, refused); one left waiting 5 s is a hang.
        if rc["timeouts"]:
            failures.append(f"requests hung on churn.example (wrk timeouts):\n{rc['text']}")

        # Growth: the last tenth against the second tenth (the first is warm-up).
        n = len(samples)
        if n >= 20:
            tenth = max(1, n // 10)
            early, late = samples[tenth:2 * tenth], samples[-tenth:]
            rss_early = statistics.median(s[1] for s in early)
            rss_late = statistics.median(s[1] for s in late)
            fd_early, fd_late = max(s[2] for s in early), max(s[2] for s in late)
            minutes = (statistics.median(s[0] for s in late) - statistics.median(s[0] for s in early)) / 60
            print(f"soak: RSS median {rss_early:.0f} KiB (second tenth) -> {rss_late:.0f} KiB "
                  f"(last tenth), {(rss_late - rss_early) / minutes:+.1f} KiB/min, max "
                  f"{max(s[1] for s in samples)} KiB; fds max {fd_early} -> {fd_late}")
            if rss_late - rss_early > RSS_GROWTH_KIB:
                failures.append(f"RSS grew by {rss_late - rss_early:.0f} KiB")
            if fd_late - fd_early > FD_GROWTH:
                failures.append(f"open descriptors grew from {fd_early} to {fd_late}")

        # The end state: a known config, every object Accepted, the dump and routes consistent.
        for k in list(mutator.extras):
            remove_yaml(cfg, f"vs-extra-{k}.yaml")
        write_yaml(cfg, "up-churn.yaml", upstream_yaml(
            "up-churn", [(LOCALHOST, b_port), (LOCALHOST, c_port)]))
        write_yaml(cfg, "vs-stable.yaml", mutator.stable_vs())
        write_yaml(cfg, "vs-broken.yaml", virtual_service_yaml(
            "broken", [route("up-stable", prefix="/")], domains=["broken.example"]))
        expected = {("Gateway", "gateway-proxy"), ("Upstream", "up-stable"),
                    ("Upstream", "up-churn"), ("VirtualService", "stable"),
                    ("VirtualService", "churn"), ("VirtualService", "broken")}

        def settled():
            st = {(s["kind"], s["name"]): s["state"] for s in gw.statuses()}
            return set(st) == expected and all(v == "Accepted" for v in st.values())
        try:
            wait_until(settled, 10.0, 0.1, "every object Accepted")
        except AssertionError as e:
            failures.append(f"{e}: {gw.statuses()}")
        dump = gw.config_dump()
        dumped = set()
        for obj in dump if isinstance(dump, list) else dump.get("objects", dump.get("items", [])):
            if isinstance(obj, dict) and "metadata" in obj:
                dumped.add((obj.get("kind"), obj["metadata"].get("name")))
        if dumped != expected:  # also when nothing was recognised: the check must not pass empty
            failures.append(f"/config_dump holds {sorted(dumped)}, expected {sorted(expected)}")
        for host in ("stable.example", "churn.example", "broken.example"):
            try:
                wait_until(lambda: http_request(gw.port, "GET", "/echo", host=host)[0] == 200,
                           10.0, 0.1, f"{host} to answer 200")
            except AssertionError as e:
                failures.append(str(e))
        time.sleep(1.0)
        fds_idle_after = unaccounted_descriptors(gw)
        print(f"soak: descriptors not explained by open connections (sockets, others): "
              f"{fds_idle_before} before the load, {fds_idle_after} after")
        if fds_idle_after[0] > fds_idle_before[0] + 1 or fds_idle_after[1] != fds_idle_before[1]:
            failures.append(f"descriptors leaked: {fds_idle_before} -> {fds_idle_after}")
        if not gw.running():
            failures.append("gateway exited")
    finally:
        mutator.stop_event.set()
        killer.stop_event.set()
        code = gw.stop()
        for be in (a, b[0], c[0]):
            be.stop()
    if code != 0:
        failures.append(f"gateway exit code {code} on SIGTERM:\n{gw.logs()[-2000:]}")
    if failures:
        print("soak: FAILED\n  " + "\n  ".join(failures))
        return 1
    print("soak: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
