#!/usr/bin/env python3
"""Markdown tables from bench/run.sh's results file (one TSV line per measurement).

  report.py RESULTS                      -> the tables, per worker count
  report.py --rate RESULTS WORKERS CONNS -> half the slowest proxy's median req/s (open-loop rate)

Lines: wrk W target conns round rps p50 p99 errors cpu100k   (https: the same over TLS; routes,
                                                              xform: the same for those scenarios)
       ol W target round rate p50 p90 p99 p999 max late failed achieved cpu100k
       idle W target n rss0 rss1 pss0 pss1 established still_open   (idle-tls: the same over TLS)
       hs W target round clients ok errors seconds cpu1k negotiated   (full TLS handshakes)
       h2 W target mode round rps errors cpu100k negotiated           (mode tls or h2c)
Medians over rounds; "vs best peer" divides by the best of nginx, HAProxy and h2o (for req/s
higher is better, for the others lower is better). With portico and portico-obs (observability
on) in one run, a line under each table gives portico-obs / portico round by round.
"""
import math
import statistics
import sys

PEERS = ("nginx", "haproxy", "h2o")
ORDER = {n: i for i, n in enumerate(("direct", "portico", "portico-obs", "portico-xform") + PEERS)}


def num(v):
    try:
        return float(v)
    except ValueError:
        return float("nan")


def med(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")


def ratio(value, best):
    return "—" if math.isnan(value) or math.isnan(best) or best == 0 else f"{value / best:.2f}"


def best_of(stats, key, higher):
    vals = [s[key] for t, s in stats.items() if t in PEERS and not math.isnan(s[key])]
    return (max(vals) if higher else min(vals)) if vals else float("nan")


def name(t):
    return f"{t} (no proxy)" if t == "direct" else t


def by_order(targets):
    return sorted(targets, key=lambda t: ORDER.get(t, 99))


def obs_overhead(by_round, fields):
    """by_round[target][round] = {field: value}: portico-obs against portico of the same round
    (interleaved, so both saw about the same machine), the median and range of the changes."""
    obs, base = by_round.get("portico-obs"), by_round.get("portico")
    if not obs or not base:
        return
    parts = []
    for key, label in fields:
        changes = sorted((obs[r][key] / base[r][key] - 1) * 100 for r in obs
                         if r in base and not math.isnan(obs[r][key]) and not math.isnan(base[r][key]) and base[r][key])
        if changes:
            parts.append(f"{label} {statistics.median(changes):+.1f}% (rounds {changes[0]:+.1f}% … {changes[-1]:+.1f}%)")
    if parts:
        print(f"\nportico-obs vs portico, same round, median over {len(obs)} rounds: " + "; ".join(parts) +
              " (wall-clock: on a shared machine the noise can exceed the effect; the instruction count,"
              " bench/callgrind.sh --scenarios \"plain observability\", is the firm figure).")


ROUTES_TITLE = "10,000 prefix routes, request for the last one (/r09999/x), {conns} connections (wrk)"
XFORM_TITLE = ("Header transformation (x-client from the User-Agent by regex, x-route from the path),"
               " {conns} connections (wrk)")
# Under each xform table: how the peers do it differs in kind, not only in speed (bench/README.md).
XFORM_NOTE = ("\nh2o 2.2 cannot add request headers in front of `proxy.reverse.url` (an mruby 399"
              " answer's x-fallthru-set-* sets only remote-user): its figure is an mruby handler"
              " that proxies with `http_request`.")


def wrk_tables(rows, title="Closed loop, {conns} connections (wrk)", note=""):
    for conns in dict.fromkeys(r[3] for r in rows):
        per, by_round = {}, {}
        for _, _, t, c, rnd, rps, p50, p99, err, cpu in rows:
            if c != conns:
                continue
            by_round.setdefault(t, {})[rnd] = {"rps": num(rps), "cpu": num(cpu), "p99": num(p99)}
            d = per.setdefault(t, {"rps": [], "p50": [], "p99": [], "cpu": [], "err": 0, "failed": 0, "runs": 0})
            for k, v in (("rps", rps), ("p50", p50), ("p99", p99), ("cpu", cpu)):
                d[k].append(num(v))
            d["err"] += max(int(err), 0)
            d["failed"] += int(err) < 0
            d["runs"] += 1
        stats = {t: {k: med(v) if isinstance(v, list) else v for k, v in d.items()} for t, d in per.items()}
        best_rps, best_cpu = best_of(stats, "rps", True), best_of(stats, "cpu", False)
        print(f"\n#### {title.format(conns=conns)}\n")
        print("| proxy | req/s (median) | p50 ms | p99 ms | errors | CPU-s/100k req | req/s vs best peer | CPU vs best peer |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for t in by_order(stats):
            s = stats[t]
            label = name(t) + (f" ({s['failed']} of {s['runs']} runs failed)" if s["failed"] else "")
            if math.isnan(s["rps"]):
                print(f"| {label} | failed | — | — | — | — | — | — |")
                continue
            direct = t == "direct"
            print(f"| {label} | {s['rps']:,.0f} | {s['p50']:.3f} | {s['p99']:.3f} | {s['err']} | {s['cpu']:.2f} | "
                  f"{'—' if direct else ratio(s['rps'], best_rps)} | {'—' if direct else ratio(s['cpu'], best_cpu)} |")
        obs_overhead(by_round, (("rps", "req/s"), ("cpu", "CPU-s/100k"), ("p99", "p99")))
        if note and "h2o" in stats:
            print(note)


def openloop_table(rows):
    per, by_round = {}, {}
    for _, _, t, rnd, rate, p50, p90, p99, p999, mx, late, failed, achieved, cpu in rows:
        by_round.setdefault(t, {})[rnd] = {"cpu": num(cpu), "p99": num(p99)}
        d = per.setdefault(t, {k: [] for k in ("p50", "p90", "p99", "p999", "max", "achieved", "cpu")})
        for k, v in (("p50", p50), ("p90", p90), ("p99", p99), ("p999", p999), ("max", mx),
                     ("achieved", achieved), ("cpu", cpu)):
            d[k].append(num(v))
        d["late"] = d.get("late", 0) + int(late)
        d["failed"] = d.get("failed", 0) + max(int(failed), 0)
        d["rate"] = rate
    stats = {t: {k: med(v) if isinstance(v, list) else v for k, v in d.items()} for t, d in per.items()}
    rate = next(iter(per.values()))["rate"]
    best_p99 = best_of(stats, "p99", False)
    print(f"\n#### Open loop at {float(rate):,.0f} req/s (latency from the scheduled send time)\n")
    print("| proxy | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | late | failed | achieved req/s | CPU-s/100k req | p99 vs best peer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in by_order(stats):
        s = stats[t]
        print(f"| {name(t)} | {s['p50']:.3f} | {s['p90']:.3f} | {s['p99']:.3f} | {s['p999']:.3f} | {s['max']:.3f} | "
              f"{s['late']} | {s['failed']} | {s['achieved']:,.0f} | {s['cpu']:.2f} | "
              f"{'—' if t == 'direct' else ratio(s['p99'], best_p99)} |")
    obs_overhead(by_round, (("cpu", "CPU-s/100k"), ("p99", "p99")))


def idle_table(rows, what="idle keep-alive connections"):
    stats = {}
    for _, _, t, n, rss0, rss1, pss0, pss1, est, still in rows:
        est_n = int(est)
        stats[t] = {"n": n, "rss0": num(rss0), "rss1": num(rss1), "est": est_n, "still": still,
                    "per": (num(rss1) - num(rss0)) / est_n if est_n else float("nan"),
                    "pss_per": (num(pss1) - num(pss0)) / est_n if est_n else float("nan")}
    best = best_of(stats, "per", False)
    n = max(int(s["n"]) for s in stats.values())
    print(f"\n#### Memory with {n:,} {what} (one GET answered on each; fewer where"
          " a proxy's limit is lower, see 'established')\n")
    print("| proxy | RSS before MiB | RSS with idle MiB | KiB/conn (RSS) | KiB/conn (PSS) | established | still open at end | vs best peer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in by_order(stats):
        s = stats[t]
        print(f"| {name(t)} | {s['rss0'] / 1024:.1f} | {s['rss1'] / 1024:.1f} | {s['per']:.2f} | {s['pss_per']:.2f} | "
              f"{s['est']:,} | {int(s['still']):,} | {ratio(s['per'], best)} |")


def negotiated(values):
    """The protocols h2load reported, once each: they should be the same for every proxy."""
    return " ".join(dict.fromkeys(v for v in values if v not in ("?", "failed"))) or "—"


def h2load_table(title, per, rate_label, cpu_label, cpu_digits):
    """per[target] = {"rate": [...], "cpu": [...], "err": n, "neg": [...]} over the rounds."""
    stats = {t: {"rate": med(d["rate"]), "cpu": med(d["cpu"]), "err": d["err"], "neg": negotiated(d["neg"])}
             for t, d in per.items()}
    best_rate, best_cpu = best_of(stats, "rate", True), best_of(stats, "cpu", False)
    print(f"\n#### {title}\n")
    print(f"| proxy | {rate_label} (median) | errors | {cpu_label} | negotiated | {rate_label} vs best peer | CPU vs best peer |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for t in by_order(stats):
        s = stats[t]
        if math.isnan(s["rate"]):
            print(f"| {t} | failed | — | — | — | — | — |")
            continue
        print(f"| {t} | {s['rate']:,.0f} | {s['err']} | {s['cpu']:.{cpu_digits}f} | {s['neg']} | "
              f"{ratio(s['rate'], best_rate)} | {ratio(s['cpu'], best_cpu)} |")


def add_round(per, t, rate, errors, cpu, neg):
    d = per.setdefault(t, {"rate": [], "cpu": [], "err": 0, "neg": []})
    d["rate"].append(rate)
    d["cpu"].append(num(cpu))
    d["err"] += max(int(errors), 0)
    d["neg"].append(neg)


def handshake_table(rows):
    per = {}
    for _, _, t, rnd, clients, ok, errors, secs, cpu, neg in rows:
        add_round(per, t, num(ok) / num(secs) if num(secs) > 0 else float("nan"), errors, cpu, neg)
    h2load_table(f"Full TLS handshakes ({rows[0][4]} new connections at once, one request each: h2load --h1)",
                 per, "handshakes/s", "CPU-s/1k handshakes", 3)


def h2_tables(rows):
    titles = {"tls": "HTTP/2 over TLS (ALPN h2)", "h2c": "HTTP/2 cleartext (h2c, prior knowledge)"}
    for mode in dict.fromkeys(r[3] for r in rows):
        per = {}
        for _, _, t, m, rnd, rps, errors, cpu, neg in rows:
            if m == mode:
                add_round(per, t, num(rps), errors, cpu, neg)
        h2load_table(f"{titles.get(mode, mode)} (h2load)", per, "req/s", "CPU-s/100k req", 2)


def rate(path, workers, conns):
    per = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "wrk" and f[1] == workers and f[3] == conns and f[2] != "direct" and f[5] != "nan":
            per.setdefault(f[2], []).append(float(f[5]))
    print(int(min(statistics.median(v) for v in per.values()) / 2) if per else "")


def main():
    if sys.argv[1] == "--rate":
        return rate(*sys.argv[2:5])
    rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
    for w in dict.fromkeys(r[1] for r in rows):
        print(f"\n### {w} worker{'s' if w != '1' else ''} per proxy")
        mine = [r for r in rows if r[1] == w]
        https = lambda sel: wrk_tables(sel, "HTTPS keep-alive, {conns} connections (wrk over TLS)")  # noqa: E731
        routes = lambda sel: wrk_tables(sel, ROUTES_TITLE)  # noqa: E731
        xform = lambda sel: wrk_tables(sel, XFORM_TITLE, XFORM_NOTE)  # noqa: E731
        idle_tls = lambda sel: idle_table(sel, "idle TLS keep-alive connections")  # noqa: E731
        for kind, table in (("wrk", wrk_tables), ("ol", openloop_table), ("idle", idle_table),
                            ("https", https), ("idle-tls", idle_tls), ("hs", handshake_table),
                            ("h2", h2_tables),
                            ("routes", routes), ("xform", xform)):
            sel = [r for r in mine if r[0] == kind]
            if sel:
                table(sel)


if __name__ == "__main__":
    main()
