# Shell pieces shared by bench/run.sh, bench/callgrind.sh and bench/alloc_count.sh: a work
# directory cleaned on exit, free ports, the nginx origin, Portico's config and the load tools.
# Source it; it defines functions and BENCH_DIR/REPO_ROOT/WORK/PIDS, and starts nothing.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BODY_SIZE=1024
# The header transformation (run.sh --scenarios xform): the User-Agent its requests carry, the
# path they go to, and the path under the same prefix where the origin echoes what it received.
XFORM_UA="wrk/4.1.0 (portico-bench)"
XFORM_PATH=/xform
XFORM_CHECK_PATH=/xform/check
WORK="$(mktemp -d /tmp/portico-bench.XXXXXX)"
PIDS=()
CGROUPS=()  # made by cpu_cap, removed on exit

log() { echo "bench: $*" >&2; }

# stop_pid PID: TERM, up to 5 s to exit, then KILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

bench_cleanup() {
  local pid d
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for d in "${CGROUPS[@]}"; do rmdir "$d" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] && log "kept $WORK" || rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# to_abs PATH: relative paths are relative to the repository root.
to_abs() { case "$1" in /*) echo "$1" ;; *) echo "$REPO_ROOT/$1" ;; esac; }

# free_ports N: N free TCP ports on 127.0.0.1, space-separated.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
}

# start NAME CMD...: runs a server as a background job, output in $WORK/NAME.out, pid in PID_NAME.
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

check_body() {  # check_body PORT [PATH]: the 1 KiB origin body comes back through this target
  local out
  out="$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$1${2:-/}")"
  [ "$out" = "200 $BODY_SIZE" ]
}

# check_routes PORT: the proxy on PORT routes /r09999/x (its last prefix route) to the origin (the
# 1 KiB body) and a path under no route to the catch-all (the origin's 404 on CATCHALL_PORT).
check_routes() {
  check_body "$1" /r09999/x &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/r10000/x")" = 404 ]
}

# check_xform PORT NAME: through the proxy on PORT, the origin received x-client (the User-Agent up
# to its first '/') and x-route "<path> via NAME" on XFORM_CHECK_PATH; XFORM_PATH gives the body.
check_xform() {
  local seen
  check_body "$1" "$XFORM_PATH" || return 1
  seen="$(curl -s -o /dev/null -D - -A "$XFORM_UA" "http://127.0.0.1:$1$XFORM_CHECK_PATH?q=1" | tr -d '\r' |
    sed -nE 's/^([Xx]-[Ss]een-[A-Za-z]*):/\L\1:/p' | sort | tr '\n' '|')"
  [ "$seen" = "x-seen-client: ${XFORM_UA%%/*}|x-seen-route: $XFORM_CHECK_PATH?q=1 via $2|" ] && return 0
  log "$2: the origin saw '${seen:-no x-client/x-route}' for $XFORM_CHECK_PATH?q=1"
  return 1
}

nginx_conf() {  # nginx_conf NAME WORKERS HTTP_BLOCK_BODY > file
  cat <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes $2;
worker_rlimit_nofile 20000;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/$1.error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $WORK/$1.client_body;
  proxy_temp_path $WORK/$1.proxy;
  fastcgi_temp_path $WORK/$1.fastcgi;
  uwsgi_temp_path $WORK/$1.uwsgi;
  scgi_temp_path $WORK/$1.scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
$3
}
EOF
}

# start_origin PORT [CATCHALL_PORT]: nginx, 1 worker, answering every path with a 1 KiB body
# (PID_backend), except XFORM_CHECK_PATH, which also echoes the request headers x-client and
# x-route back as x-seen-client and x-seen-route (check_xform; an exact location, so the measured
# paths stay on `location /`). On CATCHALL_PORT, if given, a 404 for every path: the catch-all
# route's upstream in run.sh's routes scenario, so that check_routes can tell it from a route.
start_origin() {
  local body catchall=
  body="$(head -c "$BODY_SIZE" /dev/zero | tr '\0' 'x')"
  [ -n "${2:-}" ] && catchall="
  server {
    listen 127.0.0.1:$2 backlog=4096;
    location / { default_type text/plain; return 404 \"catch-all\"; }
  }"
  nginx_conf backend 1 "  server {
    listen 127.0.0.1:$1 backlog=4096;
    location / { default_type text/plain; return 200 \"$body\"; }
    location = $XFORM_CHECK_PATH {
      add_header x-seen-client \$http_x_client;
      add_header x-seen-route \$http_x_route;
      default_type text/plain;
      return 200 \"$body\";
    }
  }$catchall" >"$WORK/backend.conf"
  start backend nginx -p "$WORK" -c "$WORK/backend.conf" -e "$WORK/backend.error.log"
  wait_http "$1" / || { log "origin nginx did not start: $(cat "$WORK/backend.out" "$WORK/backend.error.log" 2>/dev/null)"; return 1; }
}

portico_upstream() {  # portico_upstream NAME PORT: a static Upstream on 127.0.0.1:PORT
  cat <<EOF
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: $1, namespace: gloo-system}
spec: {static: {hosts: [{addr: 127.0.0.1, port: $2}]}}
EOF
}

# portico_config DIR PORT BACKEND_PORT [ROUTES [CATCHALL_PORT]]: Gateway + Upstream +
# VirtualService in DIR. Without ROUTES: prefix /xform (a header transformation: extractor + two
# templated headers, body streamed) and prefix / (plain proxy). With ROUTES=N: N prefix routes
# /r00000/ ... in order, so /r<N-1>/ matches last, then the catch-all /: to BACKEND_PORT, or to a
# second Upstream, `catchall`, on CATCHALL_PORT if given.
portico_config() {
  local dir="$1" port="$2" backend="$3" routes="${4:-}" catchall="${5:-}" last=origin
  mkdir -p "$dir"
  cat >"$dir/gateway.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: Gateway
metadata: {name: gateway-proxy, namespace: gloo-system}
spec: {bindAddress: 127.0.0.1, bindPort: $port}
EOF
  portico_upstream origin "$backend" >"$dir/upstream.yaml"
  if [ -n "$catchall" ]; then
    last=catchall
    portico_upstream catchall "$catchall" >"$dir/upstream-catchall.yaml"
  fi
  {
    cat <<EOF
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default, namespace: gloo-system}
spec:
  virtualHost:
    domains: ['*']
    routes:
EOF
    if [ -n "$routes" ]; then
      for i in $(seq 0 $((routes - 1))); do
        printf '    - {matchers: [{prefix: /r%05d/}], routeAction: {single: {upstream: {name: origin, namespace: gloo-system}}}}\n' "$i"
      done
    else
      cat <<EOF
    - matchers: [{prefix: $XFORM_PATH}]
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
EOF
    fi
    echo "    - {matchers: [{prefix: /}], routeAction: {single: {upstream: {name: $last, namespace: gloo-system}}}}"
  } >"$dir/virtualservice.yaml"
}

# build_tools BUILD_DIR: sets OPENLOOP_BIN and IDLE_CONNS_BIN to the load tools, from BUILD_DIR/bench when
# built there and up to date, else compiled into $WORK (they need nothing but a C++20 compiler).
build_tools() {
  local tool src
  for tool in openloop idle_conns; do
    src="$BENCH_DIR/openloop/$tool.cc"
    local bin="$1/bench/portico_$tool"
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$BENCH_DIR/openloop/http_client.h" -nt "$bin" ]; then
      bin="$WORK/portico_$tool"
      g++ -std=c++20 -O2 -Wall -Wextra -o "$bin" "$src" || { log "cannot compile $src"; return 1; }
    fi
    eval "${tool^^}_BIN=$bin"
  done
}

# proc_tree PID: PID and its descendants (nginx serves from workers under a master; summing the
# master too is harmless since run.sh only uses differences).
proc_tree() {
  local kid
  echo "$1"
  for kid in $(pgrep -P "$1"); do proc_tree "$kid"; done
}

# proc_cpu PID: CPU seconds (user + system, all threads) used so far by PID and its descendants.
proc_cpu() {
  local p files=()
  for p in $(proc_tree "$1"); do [ -r "/proc/$p/stat" ] && files+=("/proc/$p/stat"); done
  # Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
  awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); t += $12 + $13} END {printf "%.2f\n", t / hz}' \
    "${files[@]}" 2>/dev/null
}

# proc_mem PID: "VmRSS_KiB Pss_KiB" of PID and its descendants.
proc_mem() {
  local p rss=0 pss=0 r s
  for p in $(proc_tree "$1"); do
    r="$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)"
    s="$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)"
    rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0}))
  done
  echo "$rss $pss"
}

# ---- observability on (issue 7's "Numbers"): shared by callgrind.sh and run.sh -------------------
# observability_setup: starts the span sink (bench/span_sink.py: answers 202 to every POST, counts
# them in $WORK/span_sink.count) on SPAN_SINK_PORT, and picks STATSD_PORT (UDP, nobody reads it)
# and DEAD_PORT (nothing listens: connects to it are refused at once). Call once.
observability_setup() {
  read -r SPAN_SINK_PORT STATSD_PORT DEAD_PORT < <(free_ports 3)
  start span_sink python3 "$BENCH_DIR/span_sink.py" "$SPAN_SINK_PORT" "$WORK/span_sink.count"
  wait_http "$SPAN_SINK_PORT" / || { log "span sink did not start: $(cat "$WORK/span_sink.out")"; return 1; }
}

# observability_flags KIND LOG: `portico run` flags for KIND (after observability_setup).
#   all           access log to LOG in Envoy's default format (--access-log), Zipkin export to the
#                 span sink, --trace-sampling 1, statsd every second to STATSD_PORT
#   all-json      the same without --access-log: the JSON log comes from the Gateway
#                 (portico_json_access_log)
#   all-deadcollector  as `all`, the Zipkin endpoint a closed port (every export fails)
#   accesslog | tracing | statsd   one part alone (metrics are always on)
observability_flags() {
  local log="--access-log $2" trace="--zipkin-endpoint http://127.0.0.1:$SPAN_SINK_PORT --trace-sampling 1"
  local statsd="--statsd 127.0.0.1:$STATSD_PORT --statsd-interval 1s"
  case "$1" in
    all) echo "$log $trace $statsd" ;;
    all-json) echo "$trace $statsd" ;;
    all-deadcollector) echo "$log --zipkin-endpoint http://127.0.0.1:$DEAD_PORT --trace-sampling 1 $statsd" ;;
    accesslog) echo "$log" ;;
    tracing) echo "$trace" ;;
    statsd) echo "$statsd" ;;
    *) log "unknown observability kind $1"; return 1 ;;
  esac
}

# portico_json_access_log DIR PORT LOG: replaces DIR/gateway.yaml (from portico_config) with one
# that logs every request to LOG as JSON, with the fields of Envoy's default text format.
portico_json_access_log() {
  cat >"$1/gateway.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: Gateway
metadata: {name: gateway-proxy, namespace: gloo-system}
spec:
  bindAddress: 127.0.0.1
  bindPort: $2
  options:
    accessLoggingService:
      accessLog:
      - fileSink:
          path: $3
          jsonFormat:
            start_time: '%START_TIME%'
            method: '%REQ(:METHOD)%'
            path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%'
            protocol: '%PROTOCOL%'
            response_code: '%RESPONSE_CODE%'
            response_flags: '%RESPONSE_FLAGS%'
            bytes_received: '%BYTES_RECEIVED%'
            bytes_sent: '%BYTES_SENT%'
            duration: '%DURATION%'
            x_forwarded_for: '%REQ(X-FORWARDED-FOR)%'
            user_agent: '%REQ(USER-AGENT)%'
            request_id: '%REQ(X-REQUEST-ID)%'
            authority: '%REQ(:AUTHORITY)%'
            upstream_host: '%UPSTREAM_HOST%'
EOF
}

# ---- TLS and HTTP/2 (run.sh --scenarios https,handshake,h2) ---------------------------------------
# tls_setup: one self-signed ECDSA P-256 certificate for 127.0.0.1 that every proxy serves, in
# $WORK/tls: TLS_CRT, TLS_KEY, and TLS_PEM (the two in one file, HAProxy's `crt`).
tls_setup() {
  mkdir -p "$WORK/tls"
  TLS_CRT="$WORK/tls/bench.crt" TLS_KEY="$WORK/tls/bench.key" TLS_PEM="$WORK/tls/bench.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS_KEY" \
    -out "$TLS_CRT" -subj /CN=bench.test -days 2 -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
    >"$WORK/tls/openssl.out" 2>&1 || { log "openssl could not make the certificate: $(cat "$WORK/tls/openssl.out")"; return 1; }
  cat "$TLS_CRT" "$TLS_KEY" >"$TLS_PEM"
}

# portico_tls_config DIR TLS_PORT: adds to portico_config's DIR an `ssl: true` Gateway on
# TLS_PORT and a VirtualService with sslConfig (TLS_CRT/TLS_KEY) routing / to the same origin
# (an ssl Gateway serves only the virtual services with sslConfig, the plain one the others).
portico_tls_config() {
  cat >"$1/gateway-ssl.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: Gateway
metadata: {name: gateway-proxy-ssl, namespace: gloo-system}
spec: {bindAddress: 127.0.0.1, bindPort: $2, ssl: true}
EOF
  cat >"$1/virtualservice-tls.yaml" <<EOF
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default-tls, namespace: gloo-system}
spec:
  sslConfig: {sslFiles: {tlsCert: $TLS_CRT, tlsKey: $TLS_KEY}}
  virtualHost:
    domains: ['*']
    routes:
    - {matchers: [{prefix: /}], routeAction: {single: {upstream: {name: origin, namespace: gloo-system}}}}
EOF
}

# check_tls PORT: the 1 KiB origin body comes back over HTTPS with HTTP/1.1.
check_tls() {
  [ "$(curl -sk --http1.1 -o /dev/null -w '%{http_code} %{size_download}' "https://127.0.0.1:$1/")" = "200 $BODY_SIZE" ]
}

# check_h2 URL: the body comes back over HTTP/2 (ALPN for https://, prior knowledge for http://).
check_h2() {
  local how=--http2
  case "$1" in http:*) how=--http2-prior-knowledge ;; esac
  [ "$(curl -sk "$how" -o /dev/null -w '%{http_version} %{http_code} %{size_download}' "$1")" = "2 200 $BODY_SIZE" ]
}

# ---- CPU caps (run.sh --cpu-quota) -----------------------------------------------------------------
# cgroup v2 with the cpu controller at the root (cpu.max), else v1's cpu hierarchy (CFS quota).
cpu_cap_root() {
  if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then echo "v2 /sys/fs/cgroup"
  elif [ -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] || [ -w /sys/fs/cgroup/cpu/tasks ]; then echo "v1 /sys/fs/cgroup/cpu"
  else return 1; fi
}
cpu_cap_available() { [ "$(id -u)" = 0 ] && cpu_cap_root >/dev/null; }

# cpu_cap NAME PID PCT: PID and its descendants, every thread, into a new cgroup limited to PCT% of
# one CPU. Threads and processes they start later stay in it. The period is 20 ms (the kernel's
# default 100 ms lets a capped proxy run its whole share, then stall for tens of milliseconds).
cpu_cap() {
  local name="$1" pid="$2" pct="$3" kind root d p t
  read -r kind root < <(cpu_cap_root) || return 1
  d="$root/portico-bench-$$-$name"
  mkdir -p "$d" || return 1
  CGROUPS+=("$d")
  if [ "$kind" = v2 ]; then
    grep -qw cpu "$root/cgroup.subtree_control" || echo +cpu >"$root/cgroup.subtree_control" || return 1
    echo "$((pct * 200)) 20000" >"$d/cpu.max" || return 1
    for p in $(proc_tree "$pid"); do echo "$p" >"$d/cgroup.procs" || return 1; done
  else
    echo 20000 >"$d/cpu.cfs_period_us" && echo "$((pct * 200))" >"$d/cpu.cfs_quota_us" || return 1
    for p in $(proc_tree "$pid"); do
      for t in /proc/"$p"/task/*; do echo "${t##*/}" >"$d/tasks" || return 1; done
    done
  fi
}
