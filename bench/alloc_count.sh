#!/usr/bin/env bash
# Heap allocations per request on Portico's steady-state request path, and where they come from.
# Usage: bench/alloc_count.sh [--build-dir DIR=build-bench] [--requests N=20000] [--warmup N=2000]
#          [--scenarios "plain xform"] [--no-stacks]
# 1. Counts: Portico runs with bench/alloc_count/alloc_shim.c preloaded; the counters are read
#    after a warm-up and again after exactly N keep-alive requests (h2load, one connection).
# 2. Stacks: Portico runs twice under heaptrack, once with the warm-up only and once with the
#    warm-up and the N requests; `heaptrack_print --diff` keeps what the N requests added.
# The build is not made here: bench/callgrind.sh builds build-bench (-O2 -g); any build works.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR=build-bench REQUESTS=20000 WARMUP_REQUESTS=2000 SCENARIOS="plain xform" STACKS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$2"; shift ;;
    --requests) REQUESTS="$2"; shift ;;
    --warmup) WARMUP_REQUESTS="$2"; shift ;;
    --scenarios) SCENARIOS="$2"; shift ;;
    --no-stacks) STACKS= ;;
    *) log "unknown argument $1 (see the header of $0)"; exit 2 ;;
  esac
  shift
done
PORTICO="$(to_abs "$BUILD_DIR")/portico"
[ -x "$PORTICO" ] || { log "no portico at $PORTICO (build it, or pass --build-dir)"; exit 1; }
for tool in gcc h2load nginx curl python3; do
  command -v "$tool" >/dev/null || { log "missing $tool (run scripts/install-deps.sh)"; exit 1; }
done
SHIM="$WORK/alloc_shim.so"
gcc -std=c11 -O2 -shared -fPIC -o "$SHIM" "$BENCH_DIR/alloc_count/alloc_shim.c" || exit 1

read -r PORT_BACKEND PORT_PORTICO PORT_ADMIN < <(free_ports 3)
start_origin "$PORT_BACKEND" || exit 1
portico_config "$WORK/config" "$PORT_PORTICO" "$PORT_BACKEND"
declare -A PATH_OF=([plain]=/ [xform]=/xform)

# run_portico NAME WRAPPER...: starts Portico (under WRAPPER, may be empty), waits until it proxies.
run_portico() {
  local name="$1"; shift
  start "$name" "$@" "$PORTICO" run --config-dir "$WORK/config" --admin-address "127.0.0.1:$PORT_ADMIN" \
    --workers 1 --log-level warn
  PID_RUN="$!"
  if ! wait_http "$PORT_ADMIN" /ready 60 || ! check_body "$PORT_PORTICO"; then
    log "$name: portico did not start or proxy:"; tail -20 "$WORK/$name.out" >&2; stop_pid "$PID_RUN"; return 1
  fi
}

# load PATH N: exactly N keep-alive requests on one connection; fails unless all got a 2xx.
load() {
  local out
  out="$(h2load --h1 -n "$2" -c 1 -m 1 "http://127.0.0.1:$PORT_PORTICO$1" 2>&1)"
  [ "$(awk '/^status codes:/ {print $3}' <<<"$out")" = "$2" ] || { log "h2load: not all 2xx: $out"; return 1; }
}

counters() { python3 -c 'import struct, sys; print(*struct.unpack("<3Q", open(sys.argv[1], "rb").read()))' "$1"; }

echo
echo "| scenario | allocations/request | frees/request | bytes allocated/request |"
echo "|---|---:|---:|---:|"
for s in $SCENARIOS; do
  path="${PATH_OF[$s]}"
  run_portico "count-$s" env LD_PRELOAD="$SHIM" ALLOC_COUNT_FILE="$WORK/allocs-$s" || continue
  load "$path" "$WARMUP_REQUESTS" || continue
  read -r a0 f0 b0 < <(counters "$WORK/allocs-$s.$PID_RUN")
  load "$path" "$REQUESTS" || continue
  read -r a1 f1 b1 < <(counters "$WORK/allocs-$s.$PID_RUN")
  stop_pid "$PID_RUN"
  python3 -c 'import sys; s, n, *d = sys.argv[1:]; n = int(n); print(f"| {s} | {int(d[0]) / n:.3f} | {int(d[1]) / n:.3f} | {int(d[2]) / n:.1f} |")' \
    "$s" "$REQUESTS" $((a1 - a0)) $((f1 - f0)) $((b1 - b0))
done
echo
echo "($REQUESTS keep-alive GETs on one connection after $WARMUP_REQUESTS uncounted; counts include every thread of the process.)"

[ -n "$STACKS" ] || exit 0
command -v heaptrack >/dev/null || { log "heaptrack missing: no stacks"; exit 0; }
# Top allocation stacks that the measured requests added (heaptrack diff of two runs).
for s in $SCENARIOS; do
  path="${PATH_OF[$s]}"
  for phase in base full; do
    run_portico "heaptrack-$s-$phase" heaptrack -o "$WORK/heaptrack-$s-$phase" || continue 2
    load "$path" "$WARMUP_REQUESTS" || continue 2
    [ "$phase" = full ] && { load "$path" "$REQUESTS" || continue 2; }
    # TERM Portico itself: killing the wrapper script would lose the data still in its pipe.
    kill -TERM "$(pgrep -x -P "$PID_RUN" portico)" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$PID_RUN" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$PID_RUN"
  done
  base="$(ls "$WORK/heaptrack-$s-base".*zst "$WORK/heaptrack-$s-base".*gz 2>/dev/null | head -1)"
  full="$(ls "$WORK/heaptrack-$s-full".*zst "$WORK/heaptrack-$s-full".*gz 2>/dev/null | head -1)"
  [ -n "$base" ] && [ -n "$full" ] || { log "$s: heaptrack wrote no data"; continue; }
  echo
  echo "### $s: allocation stacks added by $REQUESTS requests (heaptrack_print --diff, top 10 by calls)"
  echo
  echo '```'
  heaptrack_print -f "$full" -d "$base" --print-allocators 1 --print-peaks 0 --print-temporary 0 \
    --print-leaks 0 -n 10 -s 3 2>/dev/null | sed -n '/MOST CALLS TO ALLOCATION FUNCTIONS/,/^total runtime/p' |
    # Function names only, each stack cut at the event loop (or 8 frames): the rest is the same.
    awk '/^ +(in|at) / {next}
         /^    / {if (depth < 8 && !stop) print; depth++; if ($0 ~ /EventLoop::run/) stop = 1; next}
         {depth = 0; stop = 0; print}' | grep -v '^total runtime' 
  echo '```'
done
