#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang + ASan + UBSan) into build-fuzz/ and runs them.
#
#   scripts/fuzz.sh [--smoke] [--seconds N] [--build-only] [TARGET...]
#
#   --smoke       CI mode (ctest fuzz.smoke): each target ~20 s on its seed corpus.
#   --seconds N   seconds per target otherwise (default: $FUZZ_SECONDS, else 60).
#   --build-only  configure and build, run nothing.
#   TARGET        h1_request, header_map, ... (default: every tests/fuzz/*_fuzz.cc).
#
# Before fuzzing, every saved crash input in tests/fuzz/regressions/TARGET/ is replayed. New
# inputs go to a working corpus in build-fuzz/corpus/TARGET/ (the checked-in seeds in
# tests/fuzz/corpus/TARGET/ are only read), crash inputs to build-fuzz/artifacts/TARGET/, logs
# to build-fuzz/logs/. Exits 1 when any target crashed, leaked, timed out or broke an invariant,
# after printing the input that did it. Environment: FUZZ_BUILD_DIR, FUZZ_JOBS (build jobs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
FUZZ_DIR=$ROOT/tests/fuzz
SMOKE_SECONDS=20
PER_INPUT_TIMEOUT=10  # seconds; a slower input is reported as a hang

smoke=0
build_only=0
seconds=${FUZZ_SECONDS:-60}
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --build-only) build_only=1 ;;
    --seconds) seconds=${2:?--seconds needs a value}; shift ;;
    --seconds=*) seconds=${1#--seconds=} ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("${1%_fuzz}") ;;
  esac
  shift
done
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "fuzz.sh: --seconds / FUZZ_SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$FUZZ_DIR"/*_fuzz.cc; do
    name=$(basename "$f" .cc)
    targets+=("${name%_fuzz}")
  done
fi
for t in "${targets[@]}"; do
  if [ ! -f "$FUZZ_DIR/${t}_fuzz.cc" ]; then
    echo "fuzz.sh: no target $t (no tests/fuzz/${t}_fuzz.cc)" >&2
    exit 2
  fi
done

for tool in clang clang++ cmake ninja; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool not found; run scripts/install-deps.sh (clang libclang-rt-14-dev)" >&2
    exit 2
  fi
done

# ---- build ---------------------------------------------------------------------------------------
start=$(date +%s)
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  mkdir -p "$BUILD_DIR"
  CC=clang CXX=clang++ cmake -S "$FUZZ_DIR" -B "$BUILD_DIR" -G Ninja >"$BUILD_DIR/configure.log" 2>&1 || {
    cat "$BUILD_DIR/configure.log" >&2
    echo "fuzz.sh: configuring $BUILD_DIR failed" >&2
    exit 2
  }
  rm -f "$BUILD_DIR/configure.log"
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzz"); done
echo "fuzz.sh: building ${build_targets[*]} in $BUILD_DIR"
cmake --build "$BUILD_DIR" -j "${FUZZ_JOBS:-$(nproc)}" --target "${build_targets[@]}"
echo "fuzz.sh: build took $(( $(date +%s) - start )) s"
[ "$build_only" -eq 1 ] && exit 0

# ---- run -----------------------------------------------------------------------------------------
mkdir -p "$BUILD_DIR/logs" "$BUILD_DIR/artifacts" "$BUILD_DIR/corpus"
failed=()
summary=()

# The libFuzzer options every run shares; a target's dictionary when it has one.
common_options() {
  local t=$1
  local opts=(-timeout=$PER_INPUT_TIMEOUT -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$BUILD_DIR/artifacts/$t/")
  [ -f "$FUZZ_DIR/$t.dict" ] && opts+=(-dict="$FUZZ_DIR/$t.dict")
  printf '%s\n' "${opts[@]}"
}

# Prints the crash input(s) a libFuzzer log names, if any.
crash_inputs() {
  grep -aoE '(Test unit written to|artifact_prefix.*; Test unit written to) [^ ]+' "$1" \
    | awk '{print $NF}' | sort -u
}

for t in "${targets[@]}"; do
  bin=$BUILD_DIR/bin/${t}_fuzz
  seeds=$FUZZ_DIR/corpus/$t
  mkdir -p "$BUILD_DIR/artifacts/$t"
  mapfile -t opts < <(common_options "$t")

  # 1. Replay the inputs of past crashes: each must now run clean.
  regressions=()
  if [ -d "$FUZZ_DIR/regressions/$t" ]; then
    mapfile -t regressions < <(find "$FUZZ_DIR/regressions/$t" -type f ! -name '*.md' | sort)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    log=$BUILD_DIR/logs/$t.regressions.log
    if "$bin" -timeout=$PER_INPUT_TIMEOUT -rss_limit_mb=2048 "${regressions[@]}" >"$log" 2>&1; then
      echo "fuzz.sh: $t: ${#regressions[@]} regression input(s) pass"
    else
      echo "fuzz.sh: $t: a regression input fails again (log: $log):" >&2
      grep -aE '^(Running|Executed|==[0-9]+==ERROR|INVARIANT|SUMMARY)' "$log" | tail -n 20 >&2 || true
      grep -a '^Running:' "$log" | tail -n 1 | sed 's/^Running: /fuzz.sh: crashing input: /' >&2
      failed+=("$t (regression)")
      summary+=("$(printf '%-14s %s' "$t" 'REGRESSION FAILS')")
      continue
    fi
  fi

  # 2. Fuzz: new inputs go to the working corpus (first directory), seeds are only read.
  if [ "$smoke" -eq 1 ]; then
    work=$BUILD_DIR/smoke-corpus/$t
    rm -rf "$work"
    mkdir -p "$work"
    log=$BUILD_DIR/logs/$t.smoke.log
    echo "fuzz.sh: $t: fuzzing ${SMOKE_SECONDS}s (smoke)"
    rc=0
    "$bin" "${opts[@]}" -max_total_time=$SMOKE_SECONDS "$work" "$seeds" >"$log" 2>&1 || rc=$?
  else
    work=$BUILD_DIR/corpus/$t
    mkdir -p "$work" "$BUILD_DIR/logs/$t"
    echo "fuzz.sh: $t: fuzzing ${seconds}s (corpus $work)"
    rc=0
    # -jobs=1: libFuzzer runs the fuzzing in a child process logging to fuzz-0.log (cwd).
    rm -f "$BUILD_DIR/logs/$t/fuzz-0.log"
    (cd "$BUILD_DIR/logs/$t" && "$bin" "${opts[@]}" -jobs=1 -max_total_time="$seconds" \
      "$work" "$seeds" >"$BUILD_DIR/logs/$t.parent.log" 2>&1) || rc=$?
    log=$BUILD_DIR/logs/$t/fuzz-0.log
    [ -f "$log" ] || log=$BUILD_DIR/logs/$t.parent.log
  fi

  # Numbers from the log: the last status line and the final stats.
  status=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED|RELOAD)' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9a-zA-Z]+).*/\1/p' <<<"$status")
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  line=$(printf '%-14s runs %-10s exec/s %-7s cov %-6s ft %-7s corpus %-12s rss %sMB' \
    "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}")

  if [ "$rc" -ne 0 ]; then
    echo "fuzz.sh: $t FAILED (exit $rc, log: $log)" >&2
    grep -aE '^(==[0-9]+==ERROR|INVARIANT|SUMMARY|    #[0-9] )' "$log" | head -n 30 >&2 || true
    inputs=$(crash_inputs "$log")
    if [ -n "$inputs" ]; then
      while read -r f; do echo "fuzz.sh: crashing input: $f" >&2; done <<<"$inputs"
    fi
    failed+=("$t")
    summary+=("$line  CRASH")
  else
    summary+=("$line  ok")
  fi
done

echo
echo "fuzz.sh: summary ($([ "$smoke" -eq 1 ] && echo smoke || echo "${seconds}s per target"), $(( $(date +%s) - start )) s in all)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  echo "fuzz.sh: reproduce with $BUILD_DIR/bin/TARGET_fuzz INPUT; keep the minimized input" \
       "(TARGET_fuzz -minimize_crash=1 -runs=10000 INPUT) in tests/fuzz/regressions/TARGET/" >&2
  exit 1
fi
