#!/usr/bin/env bash
# Instructions per request (Ir, counted by callgrind) in Portico's process for a fixed number of
# keep-alive requests: a figure machine noise does not move, for spotting regressions.
# Usage: bench/callgrind.sh [--build-dir DIR=build-bench] [--no-build] [--requests N=20000]
#          [--warmup N=2000] [--runs R=2] [--scenarios "plain xform routes10k"] [--out DIR]
#          [--record]   (append the table to bench/BASELINE.md with date, commit and command)
# Scenarios: plain = prefix / to the origin; xform = a route with a header transformation;
# routes10k = 10,000 prefix routes, the request matching the last one.
# Observability (issue 7), all on the plain route: observability = access log to a file (Envoy's
# default format) + Zipkin export to a sink this script starts + --trace-sampling 1 + statsd every
# second to a UDP port nobody reads; observability-json = the same with a JSON access log;
# observability-deadcollector = the Zipkin endpoint a closed port; accesslog, tracing, statsd =
# one part alone. Metrics are always on. Example: --scenarios "plain observability".
# Portico runs under valgrind with instrumentation off until the warm-up is done; then
# `callgrind_control -i on`, h2load sends exactly N requests on one connection, `-i off`.
# Always on the epoll engine: valgrind 3.19 does not follow io_uring (the gateway stalls under
# it), and user-space instruction counts stay comparable with the older records.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR=build-bench BUILD=1 REQUESTS=20000 WARMUP_REQUESTS=2000 RUNS=2 RECORD=
SCENARIOS="plain xform routes10k" OUT=
COMMAND="bench/callgrind.sh"  # as typed, arguments with spaces quoted (for --record)
for a in "$@"; do case "$a" in *" "*) COMMAND+=" \"$a\"" ;; *) COMMAND+=" $a" ;; esac; done
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$2"; shift ;;
    --no-build) BUILD= ;;
    --requests) REQUESTS="$2"; shift ;;
    --warmup) WARMUP_REQUESTS="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    --scenarios) SCENARIOS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --record) RECORD=1 ;;
    *) log "unknown argument $1 (see the header of $0)"; exit 2 ;;
  esac
  shift
done
BUILD_DIR="$(to_abs "$BUILD_DIR")"
OUT="$(to_abs "${OUT:-$BUILD_DIR/callgrind}")"
mkdir -p "$OUT"
for tool in valgrind callgrind_control callgrind_annotate h2load nginx curl python3; do
  command -v "$tool" >/dev/null || { log "missing $tool (run scripts/install-deps.sh)"; exit 1; }
done

# A release build with symbols: -O2 -g (RelWithDebInfo), in its own build directory.
if [ -n "$BUILD" ]; then
  [ -f "$BUILD_DIR/build.ninja" ] ||
    cmake -S "$REPO_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
  nice -n 10 ninja -C "$BUILD_DIR" -j2 portico >&2 || { log "build failed"; exit 1; }
fi
PORTICO="$BUILD_DIR/portico"
[ -x "$PORTICO" ] || { log "no portico at $PORTICO"; exit 1; }

read -r PORT_BACKEND PORT_PORTICO PORT_ADMIN < <(free_ports 3)
start_origin "$PORT_BACKEND" || exit 1

declare -A PATH_OF=([plain]=/ [xform]=/xform [routes10k]=/r09999/x)
# Observability scenarios: their kind for observability_flags (lib.sh), all on the plain route.
declare -A OBS_KIND=([observability]=all [observability-json]=all-json
  [observability-deadcollector]=all-deadcollector [accesslog]=accesslog [tracing]=tracing [statsd]=statsd)
for s in $SCENARIOS; do
  [ -n "${PATH_OF[$s]:-}" ] || [ -n "${OBS_KIND[$s]:-}" ] || { log "unknown scenario $s"; exit 2; }
  [ -n "${OBS_KIND[$s]:-}" ] && PATH_OF[$s]=/ && NEED_OBS=1
done
if [ -n "${NEED_OBS:-}" ]; then observability_setup || exit 1; fi
RESULTS="$WORK/callgrind.tsv"
: >"$RESULTS"

# measure SCENARIO RUN: one Portico under callgrind, one TSV line "scenario run Ir requests".
measure() {
  local scenario="$1" run="$2" cfg="$WORK/config-$1" path="${PATH_OF[$1]}"
  local out="$OUT/callgrind.out.$scenario.$run" url="http://127.0.0.1:$PORT_PORTICO${PATH_OF[$1]}"
  rm -rf "$cfg"
  if [ "$scenario" = routes10k ]; then portico_config "$cfg" "$PORT_PORTICO" "$PORT_BACKEND" 10000
  else portico_config "$cfg" "$PORT_PORTICO" "$PORT_BACKEND"; fi
  local obs=() access_log="$WORK/access-$scenario-$run.log"
  if [ -n "${OBS_KIND[$scenario]:-}" ]; then
    read -ra obs < <(observability_flags "${OBS_KIND[$scenario]}" "$access_log")
    [ "$scenario" = observability-json ] && portico_json_access_log "$cfg" "$PORT_PORTICO" "$access_log"
  fi
  start "portico-$scenario-$run" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$out" "$PORTICO" run --config-dir "$cfg" \
    --admin-address "127.0.0.1:$PORT_ADMIN" --workers 1 --log-level warn --io-engine epoll "${obs[@]}"
  local pid="$!"
  if ! wait_http "$PORT_ADMIN" /ready 180 || ! check_body "$PORT_PORTICO" "$path"; then
    log "$scenario: portico did not start or proxy under valgrind:"; tail -20 "$WORK/portico-$scenario-$run.out" >&2
    stop_pid "$pid"; return 1
  fi
  h2load --h1 -n "$WARMUP_REQUESTS" -c 1 "$url" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null || { log "callgrind_control -i on failed"; stop_pid "$pid"; return 1; }
  h2load --h1 -n "$REQUESTS" -c 1 -m 1 "$url" >"$WORK/h2load-$scenario-$run.txt" 2>&1
  callgrind_control -i off "$pid" >/dev/null
  if [ -n "${OBS_KIND[$scenario]:-}" ]; then
    # Evidence that the parts ran: log lines written, spans exported or dropped (scraped with
    # instrumentation off, after the writer's 20 ms and the exporter's 200 ms period).
    sleep 1.5
    curl -s "http://127.0.0.1:$PORT_ADMIN/metrics" >"$WORK/metrics-$scenario-$run.txt"
    log "$scenario run $run: access log $( [ -f "$access_log" ] && wc -l <"$access_log" || echo 0) lines;" \
      "$(grep -E '^portico_(tracing_spans|access_log_dropped)' "$WORK/metrics-$scenario-$run.txt" | tr '\n' ' ');" \
      "sink: $(cat "$WORK/span_sink.count" 2>/dev/null) (posts bytes, cumulative)"
  fi
  stop_pid "$pid"
  local ok
  ok="$(awk '/^status codes:/ {print $3}' "$WORK/h2load-$scenario-$run.txt")"
  if [ "$ok" != "$REQUESTS" ]; then
    log "$scenario: only ${ok:-0} of $REQUESTS requests got a 2xx:"; cat "$WORK/h2load-$scenario-$run.txt" >&2; return 1
  fi
  local ir
  ir="$(awk '/^totals:/ {t = $2} END {print t}' "$out")"
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk '/^-+$/ {n++} n >= 3 && /[0-9]/ && c < 16 {print; c++}' >"$OUT/top15.$scenario.$run.txt"
  printf '%s\t%s\t%s\t%s\n' "$scenario" "$run" "$ir" "$REQUESTS" >>"$RESULTS"
  log "$scenario run $run: $ir Ir over $REQUESTS requests"
}

for run in $(seq "$RUNS"); do
  for s in $SCENARIOS; do measure "$s" "$run"; done
done

TABLE="$(python3 - "$RESULTS" "$RUNS" <<'EOF'
import sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = int(sys.argv[2])
per = {}
for scenario, run, ir, n in rows:
    per.setdefault(scenario, {})[int(run)] = int(ir.replace(",", "")) / int(n)
def mean(vals):
    ok = [v for v in vals.values() if v is not None]
    return sum(ok) / len(ok) if ok else None
# Every other scenario against plain (the mean of the runs): the cost of what it adds.
base = mean(per["plain"]) if "plain" in per else None
print("| scenario | " + " | ".join(f"Ir/request run {r}" for r in range(1, runs + 1)) + " | spread |"
      + (" vs plain |" if base else ""))
print("|---|" + "---:|" * runs + "---:|" + ("---:|" if base else ""))
for scenario, vals in per.items():
    got = [vals.get(r) for r in range(1, runs + 1)]
    cells = [f"{v:,.0f}" if v is not None else "failed" for v in got]
    ok = [v for v in got if v is not None]
    spread = f"{(max(ok) - min(ok)) / min(ok) * 100:.2f}%" if len(ok) > 1 else "—"
    m = mean(vals)
    versus = "" if not base else " — |" if scenario == "plain" or m is None else \
        f" {m - base:+,.0f} ({(m - base) / base * 100:+.1f}%) |"
    print(f"| {scenario} | " + " | ".join(cells) + f" | {spread} |" + versus)
EOF
)"
echo
echo "$TABLE"
echo
echo "Top functions by inclusive Ir: $OUT/top15.<scenario>.<run>.txt (callgrind_annotate --inclusive=yes)"
if [ -n "$RECORD" ]; then
  {
    echo
    echo "## $(date -u +%Y-%m-%d) — commit $(git -C "$REPO_ROOT" rev-parse --short HEAD)$(git -C "$REPO_ROOT" diff --quiet HEAD -- src || echo ' + uncommitted src changes')"
    echo
    echo "\`$COMMAND\` ($REQUESTS keep-alive requests on one connection after $WARMUP_REQUESTS uncounted, 1 worker, $(valgrind --version))"
    echo
    echo "$TABLE"
  } >>"$BENCH_DIR/BASELINE.md"
  log "appended to bench/BASELINE.md"
fi
