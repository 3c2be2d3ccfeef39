#!/usr/bin/env bash
# Side-by-side proxy benchmark: Portico vs nginx, HAProxy and h2o, each a 1-worker reverse proxy
# in front of the same nginx origin (1 KiB body), measured with wrk in interleaved rounds.
# Usage: bench/run.sh [BUILD_DIR]          (default: build; portico is BUILD_DIR/portico)
# Env:   ROUNDS=3  DURATION=10 (s)  CONNECTIONS="32 256"  WARMUP=1 (s, 0 = none)
#        PROXIES="direct portico nginx haproxy h2o"   (subset/order of targets; also
#                 portico-xform: the same gateway on a route with a header transformation)
#        PORTICO_ARGS="--access-log FILE"              (extra portico run flags)
# See bench/README.md for what the numbers mean (and do not mean) on a 2-core machine.
set -uo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BUILD_DIR="${1:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO_ROOT/$BUILD_DIR" ;; esac
PORTICO="${PORTICO_BIN:-$BUILD_DIR/portico}"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32 256}"
WARMUP="${WARMUP:-1}"
PROXIES="${PROXIES:-direct portico nginx haproxy h2o}"
BODY_SIZE=1024

WORK="$(mktemp -d /tmp/portico-bench.XXXXXX)"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

for tool in wrk nginx haproxy h2o curl python3; do
  command -v "$tool" >/dev/null || { log "missing $tool (run scripts/install-deps.sh)"; exit 1; }
done

# Five free TCP ports on 127.0.0.1.
read -r PORT_BACKEND PORT_PORTICO PORT_NGINX PORT_HAPROXY PORT_H2O PORT_ADMIN < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
EOF
)

# start NAME CMD...: runs a server in the foreground of a background job, logs in $WORK.
start() {
  local name="$1"; shift
  "$@" >"$WORK/$name.out" 2>&1 &
  PIDS+=("$!")
  eval "PID_${name//-/_}=$!"
}

wait_http() {  # wait_http PORT PATH [SECONDS]: until it answers 200
  local port="$1" path="$2" secs="${3:-10}"
  for _ in $(seq $((secs * 20))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")" = 200 ] && return 0
    sleep 0.05
  done
  return 1
}

check_body() {  # check_body PORT: the 1 KiB origin body comes back through this target
  local out
  out="$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$1/")"
  [ "$out" = "200 $BODY_SIZE" ]
}

nginx_conf() {  # nginx_conf NAME HTTP_BLOCK_BODY > file
  cat <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/$1.error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/$1.client_body;
  proxy_temp_path $WORK/$1.proxy;
  fastcgi_temp_path $WORK/$1.fastcgi;
  uwsgi_temp_path $WORK/$1.uwsgi;
  scgi_temp_path $WORK/$1.scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
$2
}
EOF
}

# ---- origin: nginx, 1 worker, 1 KiB body --------------------------------------------------------
BODY="$(head -c "$BODY_SIZE" /dev/zero | tr '\0' 'x')"
nginx_conf backend "  server {
    listen 127.0.0.1:$PORT_BACKEND;
    location / { default_type text/plain; return 200 \"$BODY\"; }
  }" >"$WORK/backend.conf"
start backend nginx -p "$WORK" -c "$WORK/backend.conf" -e "$WORK/backend.error.log"
wait_http "$PORT_BACKEND" / || { log "origin nginx did not start: $(cat "$WORK/backend.out" "$WORK/backend.error.log" 2>/dev/null)"; exit 1; }

declare -A TARGET_PORT=([direct]=$PORT_BACKEND)
declare -A TARGET_PID=([direct]=$PID_backend [portico]=0 [nginx]=0 [haproxy]=0 [h2o]=0)
declare -A TARGET_LOG=([direct]=backend [portico]=portico [nginx]=nginx-proxy [haproxy]=haproxy [h2o]=h2o)
declare -A TARGET_PATH=()
AVAILABLE=(direct)

# ---- Portico ------------------------------------------------------------------------------------
start_portico() {
  if [ ! -x "$PORTICO" ]; then
    log "portico not built at $PORTICO: benchmarking the peers only"
    return 1
  fi
  local cfg="$WORK/portico-config"
  mkdir -p "$cfg"
  cat >"$cfg/gateway.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: Gateway
metadata: {name: gateway-proxy, namespace: gloo-system}
spec: {bindAddress: 127.0.0.1, bindPort: $PORT_PORTICO}
EOF
  cat >"$cfg/upstream.yaml" <<EOF
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: origin, namespace: gloo-system}
spec: {static: {hosts: [{addr: 127.0.0.1, port: $PORT_BACKEND}]}}
EOF
  cat >"$cfg/virtualservice.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    routes:
    # the portico-xform target: a header transformation (extractor + template), body streamed
    - matchers: [{prefix: /xform}]
      routeAction: {single: {upstream: {name: origin, namespace: gloo-system}}}
      options:
        transformations:
          requestTransformation:
            transformationTemplate:
              extractors: {agent: {header: user-agent, regex: '([^/]*).*', subgroup: 1}}
              headers:
                x-client: {text: '{{ agent }}'}
                x-route: {text: '{{ header(":path") }} via portico'}
              passthrough: {}
    - matchers: [{prefix: /}]
      routeAction: {single: {upstream: {name: origin, namespace: gloo-system}}}
EOF
  # PORTICO_ARGS: extra flags, e.g. PORTICO_ARGS="--access-log /tmp/bench-access.log".
  # shellcheck disable=SC2086
  start portico "$PORTICO" run --config-dir "$cfg" --admin-address "127.0.0.1:$PORT_ADMIN" --workers 1 ${PORTICO_ARGS:-}
  if ! wait_http "$PORT_ADMIN" /ready 10 || ! check_body "$PORT_PORTICO"; then
    log "portico failed to start or to proxy; benchmarking the peers only. Its output:"
    tail -n 20 "$WORK/portico.out" >&2
    kill -TERM "$PID_portico" 2>/dev/null
    return 1
  fi
}

start_nginx_proxy() {
  nginx_conf nginx-proxy "  upstream origin { server 127.0.0.1:$PORT_BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT_NGINX;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }" >"$WORK/nginx-proxy.conf"
  start nginx-proxy nginx -p "$WORK" -c "$WORK/nginx-proxy.conf" -e "$WORK/nginx-proxy.error.log"
  wait_http "$PORT_NGINX" / && check_body "$PORT_NGINX"
}

start_haproxy() {
  cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:$PORT_HAPROXY
  default_backend origin
backend origin
  server s1 127.0.0.1:$PORT_BACKEND
EOF
  start haproxy haproxy -db -f "$WORK/haproxy.cfg"
  wait_http "$PORT_HAPROXY" / && check_body "$PORT_HAPROXY"
}

start_h2o() {
  cat >"$WORK/h2o.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user: root" )
num-threads: 1
pid-file: $WORK/h2o.pid
error-log: $WORK/h2o.error.log
hosts:
  default:
    listen:
      host: 127.0.0.1
      port: $PORT_H2O
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$PORT_BACKEND/
EOF
  start h2o h2o -c "$WORK/h2o.conf"
  wait_http "$PORT_H2O" / && check_body "$PORT_H2O"
}

for p in $PROXIES; do
  case "$p" in
    direct) continue ;;
    portico) start_portico && { TARGET_PORT[portico]=$PORT_PORTICO; TARGET_PID[portico]=$PID_portico; AVAILABLE+=(portico); } ;;
    portico-xform)  # the same gateway (started by `portico`, or here), route /xform
      if [ -n "${PID_portico:-}" ] || start_portico; then
        TARGET_PORT[portico-xform]=$PORT_PORTICO; TARGET_PID[portico-xform]=$PID_portico
        TARGET_PATH[portico-xform]=/xform; TARGET_LOG[portico-xform]=portico; AVAILABLE+=(portico-xform)
      fi ;;
    nginx) if start_nginx_proxy; then TARGET_PORT[nginx]=$PORT_NGINX; TARGET_PID[nginx]=$PID_nginx_proxy; AVAILABLE+=(nginx)
           else log "nginx proxy failed: $(cat "$WORK/nginx-proxy.out" "$WORK/nginx-proxy.error.log" 2>/dev/null | tail -5)"; fi ;;
    haproxy) if start_haproxy; then TARGET_PORT[haproxy]=$PORT_HAPROXY; TARGET_PID[haproxy]=$PID_haproxy; AVAILABLE+=(haproxy)
             else log "haproxy failed: $(tail -5 "$WORK/haproxy.out")"; fi ;;
    h2o) if start_h2o; then TARGET_PORT[h2o]=$PORT_H2O; TARGET_PID[h2o]=$PID_h2o; AVAILABLE+=(h2o)
         else log "h2o failed: $(tail -5 "$WORK/h2o.out" "$WORK/h2o.error.log" 2>/dev/null)"; fi ;;
    *) log "unknown proxy '$p' in PROXIES" ;;
  esac
done
case " $PROXIES " in *" direct "*) ;; *) AVAILABLE=("${AVAILABLE[@]:1}") ;; esac

# ---- measure ------------------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

declare -A DEAD=()

# alive TARGET: false (and reported once) when the target's server process has exited.
alive() {
  local t="$1" pid="${TARGET_PID[$1]}"
  [ -n "${DEAD[$t]:-}" ] && return 1
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null; local rc=$?
    DEAD[$t]=1
    log "$t (pid $pid) is gone (exit status $rc$( [ $rc -gt 128 ] && echo ", signal $((rc - 128))")); skipping its remaining runs. Last output:"
    tail -n 20 "$WORK/${TARGET_LOG[$t]}.out" >&2 2>/dev/null
    return 1
  fi
}

# run_wrk TARGET CONNS ROUND: one measured run, one TSV line appended.
run_wrk() {
  local target="$1" conns="$2" round="$3" out="$WORK/wrk-$1-$2-$3.txt"
  if ! alive "$target"; then
    printf '%s\t%s\t%s\tnan\tnan\tnan\t-1\n' "$target" "$conns" "$round" >>"$RESULTS"
    return
  fi
  wrk -t1 -c"$conns" -d"${DURATION}s" --latency "http://127.0.0.1:${TARGET_PORT[$target]}${TARGET_PATH[$target]:-/}" >"$out" 2>&1
  python3 - "$out" "$target" "$conns" "$round" >>"$RESULTS" <<'EOF'
import re, sys
path, target, conns, rnd = sys.argv[1:5]
text = open(path).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
pct = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M))
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors += int(non2xx.group(1)) if non2xx else 0
if not rps:
    sys.stderr.write(f"bench: wrk failed for {target} c={conns}:\n{text}\n")
    print(target, conns, rnd, "nan", "nan", "nan", -1, sep="\t")
else:
    print(target, conns, rnd, rps.group(1), pct.get("50", "nan"), pct.get("99", "nan"), errors, sep="\t")
EOF
  log "round $round c=$conns $target: $(tail -n 1 "$RESULTS" | cut -f4) req/s"
  alive "$target" || true  # report a crash during the run right away
}

log "targets: ${AVAILABLE[*]}; rounds=$ROUNDS duration=${DURATION}s connections=$CONNECTIONS"
for conns in $CONNECTIONS; do
  if [ "$WARMUP" != 0 ]; then
    for t in "${AVAILABLE[@]}"; do
      alive "$t" || continue
      wrk -t1 -c"$conns" -d"${WARMUP}s" "http://127.0.0.1:${TARGET_PORT[$t]}${TARGET_PATH[$t]:-/}" >/dev/null 2>&1
    done
  fi
  for round in $(seq "$ROUNDS"); do
    for t in "${AVAILABLE[@]}"; do run_wrk "$t" "$conns" "$round"; done
  done
done

# ---- report -------------------------------------------------------------------------------------
echo
echo "## Proxy benchmark ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "$(nproc) CPUs, $(uname -r); wrk -t1 --latency, ${DURATION}s x $ROUNDS interleaved rounds, ${BODY_SIZE}-byte origin body (nginx, 1 worker); every proxy 1 worker/thread; nothing pinned."
echo "Versions: $(nginx -v 2>&1 | sed 's/.*version: //'), $(haproxy -v 2>&1 | head -1 | awk '{print "haproxy/"$3}'), $(h2o --version 2>&1 | head -1 | awk '{print "h2o/"$3}'), portico: $([ -x "$PORTICO" ] && "$PORTICO" --version 2>/dev/null | head -1 || echo n/a)."
python3 - "$RESULTS" <<'EOF'
import math, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
peers = ("nginx", "haproxy", "h2o")
order = {n: i for i, n in enumerate(("direct", "portico", "portico-xform") + peers)}
def med(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")
for conns in dict.fromkeys(r[1] for r in rows):
    per = {}
    for t, c, rnd, rps, p50, p99, err in rows:
        if c != conns:
            continue
        d = per.setdefault(t, {"rps": [], "p50": [], "p99": [], "err": 0})
        d["rps"].append(float(rps)); d["p50"].append(float(p50)); d["p99"].append(float(p99))
        d["err"] += int(err) if int(err) > 0 else 0
        d.setdefault("failed", 0)
        d["failed"] += 1 if int(err) < 0 else 0
    stats = {t: {k: med(v) if k in ("rps", "p50", "p99") else v for k, v in d.items()}
             for t, d in per.items()}
    best = max((s["rps"] for t, s in stats.items() if t in peers and not math.isnan(s["rps"])),
               default=float("nan"))
    print(f"\n### {conns} connections\n")
    print("| proxy | req/s (median) | p50 ms | p99 ms | errors | vs best peer |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in sorted(stats, key=lambda t: order.get(t, 99)):
        s = stats[t]
        ratio = "—" if t == "direct" or math.isnan(best) or math.isnan(s["rps"]) else f"{s['rps'] / best:.2f}"
        name = f"{t} (no proxy)" if t == "direct" else t
        if s["failed"]:
            name += f" ({s['failed']} of {len(per[t]['rps'])} runs failed)"
        if math.isnan(s["rps"]):
            print(f"| {name} | failed | — | — | — | — |")
            continue
        print(f"| {name} | {s['rps']:,.0f} | {s['p50']:.3f} | {s['p99']:.3f} | {s['err']} | {ratio} |")
EOF
