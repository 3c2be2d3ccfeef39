#!/usr/bin/env bash
# Quickstart (`make run`): starts the demo backend on 127.0.0.1:18080 and Portico serving this
# directory's config on :8080 (admin API on 127.0.0.1:19000). Ctrl-C stops both.
# Usage: examples/quickstart/run.sh [PATH_TO_PORTICO]     (default: build/portico)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
PORTICO="${1:-$REPO_ROOT/build/portico}"
case "$PORTICO" in /*) ;; *) PORTICO="$PWD/$PORTICO" ;; esac
BACKEND="${PORTICO_TEST_BACKEND:-$(dirname "$PORTICO")/portico_test_backend}"

for bin in "$PORTICO" "$BACKEND"; do
  if [ ! -x "$bin" ]; then
    echo "quickstart: $bin not found; build first (make build)" >&2
    exit 1
  fi
done

BACKEND_PID=""
PORTICO_PID=""
cleanup() {
  [ -n "$PORTICO_PID" ] && kill -TERM "$PORTICO_PID" 2>/dev/null && wait "$PORTICO_PID" 2>/dev/null
  [ -n "$BACKEND_PID" ] && kill -TERM "$BACKEND_PID" 2>/dev/null && wait "$BACKEND_PID" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The backend prints "listening on PORT" once it accepts connections.
exec 3< <("$BACKEND" --port 18080 --name demo)
BACKEND_PID=$!
if ! read -r -t 5 line <&3 || [[ "$line" != "listening on 18080" ]]; then
  echo "quickstart: the demo backend did not start on port 18080 (port in use?)" >&2
  exit 1
fi

cat <<MSG
Demo backend on 127.0.0.1:18080; Portico on :8080 with the config in $HERE
Try:
  curl http://localhost:8080/hello
  curl http://localhost:8080/echo
  curl http://127.0.0.1:19000/statuses
Edit the YAML files in $HERE while it runs: changes apply within a second.
Ctrl-C stops both.

MSG

# Not exec: this shell stays to stop the backend when Portico exits.
"$PORTICO" run --config-dir "$HERE" --admin-address 127.0.0.1:19000 &
PORTICO_PID=$!
set +e
wait "$PORTICO_PID"
status=$?
PORTICO_PID=""
exit "$status"
