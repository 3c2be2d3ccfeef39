#!/usr/bin/env bash
# Side-by-side proxy benchmark: Portico vs nginx, HAProxy and h2o, each a reverse proxy with the
# same worker count in front of the same nginx origin (1 KiB body). Per proxy: closed-loop req/s
# (wrk, interleaved rounds), open-loop latency at a fixed rate, CPU-seconds per 100k requests,
# and memory per idle keep-alive connection; each with its ratio to the best peer. With --scenarios,
# also HTTPS keep-alive, full TLS handshakes per second, HTTP/2 (over TLS and h2c), 10,000 routes
# and a header transformation.
# Usage: bench/run.sh [--quick] [--workers 1,2] [--rate REQ_PER_S] [--idle-conns N] [--observability]
#          [--cpu-quota PCT] [--scenarios plain,https,handshake,h2,routes,xform] [BUILD_DIR]
#   --quick      a few seconds per cell (ROUNDS=1 DURATION=2 OPENLOOP_DURATION=2): a smoke run
#   --workers    worker counts to run the whole table at (default 1); every proxy gets the same
#   --rate       open-loop rate; default half the req/s of the slowest proxy at the first
#                CONNECTIONS value in the same run
#   --idle-conns idle keep-alive connections for the memory figure (default 10000, 0 = skip)
#   --cpu-quota  caps every proxy at PCT% of one CPU per worker (a cgroup CPU quota; root), so
#                that the proxy, not wrk and the origin sharing the machine, is the bottleneck:
#                req/s then measures what a proxy does with the same CPU (see bench/README.md)
#   --observability  the cost of observability (issue 7): PROXIES defaults to "portico portico-obs"
#                and --idle-conns to 0; the report adds portico-obs / portico per round
#   --scenarios  comma-separated phases (default plain; `all` = every one below):
#                plain      the phases above (closed loop, open loop, idle memory)
#                https      wrk over TLS keep-alive, each proxy terminating TLS with one ECDSA
#                           P-256 certificate and proxying HTTP/1.1 to the origin; then memory
#                           per idle TLS keep-alive connection (IDLE_TLS_CONNS, Python client)
#                handshake  h2load, one request per new TLS connection: full handshakes per second
#                h2         h2load -c H2_CONNS -m H2_STREAMS, HTTP/2 over TLS (ALPN) and h2c
#                           (prior knowledge on a plain listener)
#                routes     wrk as in plain on /r09999/x, each proxy configured with 10,000 prefix
#                           routes /r00000/ ... /r09999/ and a catch-all (the origin's 404 port)
#                xform      wrk as in plain on /xform, where each proxy adds the request headers
#                           x-client (the User-Agent up to its first '/', by regex) and x-route
#                           ("<path> via <proxy>"); the origin's echo of them is checked first
#                routes and xform run on instances of their own (direct portico nginx haproxy
#                h2o from PROXIES), started after the other phases' proxies stop, and stopped.
# Env:   ROUNDS=3  DURATION=10 (s)  CONNECTIONS="32 256"  WARMUP=1 (s, 0 = none)
#        OPENLOOP_DURATION=10 (s)  OPENLOOP_CONNS=32
#        HANDSHAKES=2000 (--quick 500: connections per handshake run)  H2_CONNS=32  H2_STREAMS=10
#        IDLE_TLS_CONNS=2000 (--quick 500; 0 = skip: idle TLS connections in the https phase)
#        PROXIES="direct portico nginx haproxy h2o"   (subset/order of targets; also
#                 portico-xform: the same gateway on a route with a header transformation;
#                 portico-obs: a second gateway with access log + Zipkin export + 1% sampling +
#                 statsd, see observability_flags in bench/lib.sh;
#                 portico-epoll: a second gateway with --io-engine epoll)
#        PORTICO_BIN=BUILD_DIR/portico  PORTICO_ARGS="--access-log FILE" (extra portico run flags)
# See bench/README.md for what the numbers mean (and do not mean) on a 2-core machine.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR=build WORKERS_LIST=1 RATE= IDLE_CONNS= QUICK= OBSERVABILITY= SCENARIOS=plain CPU_QUOTA=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --workers) WORKERS_LIST="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    --idle-conns) IDLE_CONNS="$2"; shift ;;
    --observability) OBSERVABILITY=1 ;;
    --scenarios) SCENARIOS="$2"; shift ;;
    --cpu-quota) CPU_QUOTA="$2"; shift ;;
    -*) log "unknown flag $1 (see the header of $0)"; exit 2 ;;
    *) BUILD_DIR="$1" ;;
  esac
  shift
done
BUILD_DIR="$(to_abs "$BUILD_DIR")"
PORTICO="${PORTICO_BIN:-$BUILD_DIR/portico}"
ROUNDS="${ROUNDS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}"
DURATION="${DURATION:-$([ -n "$QUICK" ] && echo 2 || echo 10)}"
OPENLOOP_DURATION="${OPENLOOP_DURATION:-$([ -n "$QUICK" ] && echo 2 || echo 10)}"
OPENLOOP_CONNS="${OPENLOOP_CONNS:-32}"
CONNECTIONS="${CONNECTIONS:-32 256}"
WARMUP="${WARMUP:-1}"
HANDSHAKES="${HANDSHAKES:-$([ -n "$QUICK" ] && echo 500 || echo 2000)}"
H2_CONNS="${H2_CONNS:-32}"
H2_STREAMS="${H2_STREAMS:-10}"
IDLE_TLS_CONNS="${IDLE_TLS_CONNS:-$([ -n "$QUICK" ] && echo 500 || echo 2000)}"
[ "$SCENARIOS" = all ] && SCENARIOS=plain,https,handshake,h2,routes,xform
if [ -n "$CPU_QUOTA" ]; then
  case "$CPU_QUOTA" in ''|*[!0-9]*) log "--cpu-quota: '$CPU_QUOTA' is not a whole percentage (e.g. 40)"; exit 2 ;; esac
  [ "$CPU_QUOTA" -ge 5 ] && [ "$CPU_QUOTA" -le 100 ] || { log "--cpu-quota: $CPU_QUOTA is not within 5..100"; exit 2; }
  cpu_cap_available || { log "--cpu-quota needs root and a cgroup CPU controller (v2 cpu.max or v1 cpu.cfs_quota_us)"; exit 2; }
fi
for s in ${SCENARIOS//,/ }; do
  case "$s" in plain|https|handshake|h2|routes|xform) ;;
    *) log "unknown scenario '$s' (plain, https, handshake, h2, routes, xform, all)"; exit 2 ;; esac
done
has() { case ",$SCENARIOS," in *",$1,"*) return 0 ;; esac; return 1; }
WANT_TLS=
WANT_MAIN=  # a phase on the proxies start_proxies starts (routes and xform start their own)
{ has https || has handshake || has h2; } && WANT_TLS=1
{ has plain || [ -n "$WANT_TLS" ]; } && WANT_MAIN=1
if [ -n "$OBSERVABILITY" ]; then
  PROXIES="${PROXIES:-portico portico-obs}" IDLE_CONNS="${IDLE_CONNS:-0}"
else
  PROXIES="${PROXIES:-direct portico nginx haproxy h2o}" IDLE_CONNS="${IDLE_CONNS:-10000}"
fi

for tool in wrk nginx haproxy h2o curl python3 g++ ${WANT_TLS:+h2load openssl}; do
  command -v "$tool" >/dev/null || { log "missing $tool (run scripts/install-deps.sh)"; exit 1; }
done
# 10k idle connections: the client holds 10k descriptors and so does each proxy.
ulimit -n "$(ulimit -Hn)"
if [ "$IDLE_CONNS" -gt 0 ] && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_CONNS + 512)) ]; then
  log "open-file limit $(ulimit -n) is too low for $IDLE_CONNS idle connections: lowering to $(( $(ulimit -n) - 512 ))"
  IDLE_CONNS=$(( $(ulimit -n) - 512 ))
fi
HAPROXY_MAXCONN=$(( ($(ulimit -n) - 200) / 2 ))
[ "$HAPROXY_MAXCONN" -gt 12000 ] && HAPROXY_MAXCONN=12000
build_tools "$BUILD_DIR" || exit 1

read -r PORT_BACKEND PORT_PORTICO PORT_NGINX PORT_HAPROXY PORT_H2O PORT_ADMIN PORT_OBS PORT_OBS_ADMIN \
  PORT_PORTICO_TLS PORT_NGINX_TLS PORT_HAPROXY_TLS PORT_H2O_TLS PORT_NGINX_H2C PORT_EPOLL \
  PORT_EPOLL_ADMIN PORT_CATCHALL < <(free_ports 16)
start_origin "$PORT_BACKEND" "$PORT_CATCHALL" || exit 1
if [ -n "$WANT_TLS" ]; then tls_setup || exit 1; fi
case " $PROXIES " in *" portico-obs "*) observability_setup || exit 1 ;; esac

declare -A TARGET_PORT TARGET_PID TARGET_PATH DEAD
declare -A TARGET_LOG=([direct]=backend [portico]=portico [portico-xform]=portico [portico-obs]=portico-obs
                       [portico-epoll]=portico-epoll
                       [nginx]=nginx-proxy [haproxy]=haproxy [h2o]=h2o)
AVAILABLE=()
# Per target, with WANT_TLS: its TLS listener (https, handshake), whether HTTP/2 over it works, and
# its h2c (prior knowledge) port; unset where the proxy failed the check at start.
declare -A TLS_PORT H2_TLS H2C_PORT

# ---- proxies, each started with $1 workers -------------------------------------------------------
# start_portico WORKERS [NAME PORT ADMIN_PORT [FLAGS...]]: a gateway (default: portico on
# PORT_PORTICO), its pid in PID_<NAME>; FLAGS go to `portico run` after PORTICO_ARGS.
start_portico() {
  local w="$1" name="${2:-portico}" port="${3:-$PORT_PORTICO}" admin="${4:-$PORT_ADMIN}"
  shift $(( $# < 4 ? $# : 4 ))
  if [ ! -x "$PORTICO" ]; then
    log "portico not built at $PORTICO: benchmarking the peers only"
    return 1
  fi
  rm -rf "$WORK/$name-config"
  portico_config "$WORK/$name-config" "$port" "$PORT_BACKEND"
  [ -n "$WANT_TLS" ] && [ "$name" = portico ] && portico_tls_config "$WORK/$name-config" "$PORT_PORTICO_TLS"
  launch_portico "$w" "$name" "$port" "$admin" plain "$@"
}

# launch_portico WORKERS NAME PORT ADMIN_PORT KIND [FLAGS...]: runs a gateway on the config in
# $WORK/NAME-config and waits until it is ready and passes KIND's check (sc_check).
launch_portico() {
  local w="$1" name="$2" port="$3" admin="$4" kind="$5"
  shift 5
  # shellcheck disable=SC2086
  start "$name" "$PORTICO" run --config-dir "$WORK/$name-config" --admin-address "127.0.0.1:$admin" \
    --workers "$w" ${PORTICO_ARGS:-} "$@"
  local pid_var="PID_${name//-/_}"
  # 30 s: 10,000 routes take a few seconds to load on a busy machine.
  if ! wait_http "$admin" /ready 30 || ! sc_check "$kind" "$port" portico; then
    log "$name failed to start or to proxy; benchmarking the others only. Its output:"
    tail -n 20 "$WORK/$name.out" >&2
    stop_pid "${!pid_var}"
    return 1
  fi
}

# sc_check KIND PORT NAME: the check a proxy must pass before it is measured in KIND (plain: the
# 1 KiB body on /; routes: check_routes; xform: check_xform, NAME being what x-route says).
sc_check() {
  case "$1" in
    routes) check_routes "$2" ;;
    xform) check_xform "$2" "$3" ;;
    *) check_body "$2" ;;
  esac
}

start_nginx_proxy() {
  local loc="    location / {
      proxy_pass http://\$up;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }" tls=
  # The TLS and h2c servers get their own upstream: h2load -c 32 -m 10 has 320 requests in
  # flight, and with `keepalive 64` nginx closes the upstream connections beyond 64 after each
  # response (h2c measured at half the req/s). nginx 1.22 speaks only HTTP/2 on a plain listener
  # marked http2, so h2c has a port of its own; its default ssl_protocols lack TLSv1.3.
  [ -n "$WANT_TLS" ] && tls="
  upstream origin_tls { server 127.0.0.1:$PORT_BACKEND; keepalive 1024; }
  server {
    listen 127.0.0.1:$PORT_NGINX_TLS ssl http2 backlog=4096;
    ssl_certificate $TLS_CRT;
    ssl_certificate_key $TLS_KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
${loc/\$up/origin_tls}
  }
  server {
    listen 127.0.0.1:$PORT_NGINX_H2C http2 backlog=4096;
${loc/\$up/origin_tls}
  }"
  nginx_conf nginx-proxy "$1" "  upstream origin { server 127.0.0.1:$PORT_BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT_NGINX backlog=4096;
${loc/\$up/origin}
  }$tls" >"$WORK/nginx-proxy.conf"
  start nginx-proxy nginx -p "$WORK" -c "$WORK/nginx-proxy.conf" -e "$WORK/nginx-proxy.error.log"
  wait_http "$PORT_NGINX" / && check_body "$PORT_NGINX"
}

# haproxy_head WORKERS: the global and defaults sections every HAProxy configuration here shares.
# HAProxy refuses to start unless it has 2 descriptors per maxconn: it gets what the limit allows.
haproxy_head() {
  cat <<EOF
global
  nbthread $1
  maxconn $HAPROXY_MAXCONN
defaults
  mode http
  maxconn $HAPROXY_MAXCONN
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  http-reuse always
EOF
}

start_haproxy() {
  # h2c needs no bind of its own: HAProxy recognises the HTTP/2 preface on the plain one.
  local tls_bind=
  [ -n "$WANT_TLS" ] && tls_bind="
  bind 127.0.0.1:$PORT_HAPROXY_TLS ssl crt $TLS_PEM alpn h2,http/1.1"
  { haproxy_head "$1"; cat <<EOF; } >"$WORK/haproxy.cfg"
frontend fe
  bind 127.0.0.1:$PORT_HAPROXY${tls_bind}
  default_backend origin
backend origin
  server s1 127.0.0.1:$PORT_BACKEND
EOF
  start haproxy haproxy -db -f "$WORK/haproxy.cfg"
  wait_http "$PORT_HAPROXY" / && check_body "$PORT_HAPROXY"
}

start_h2o() {
  # http1-request-timeout also bounds idle keep-alive (default 10 s: too short for the RSS run).
  cat >"$WORK/h2o.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user: root" )
num-threads: $1
max-connections: 16384
http1-request-timeout: 120
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
  [ -n "$WANT_TLS" ] && cat >>"$WORK/h2o.conf" <<EOF
  tls:
    listen:
      host: 127.0.0.1
      port: $PORT_H2O_TLS
      ssl:
        certificate-file: $TLS_CRT
        key-file: $TLS_KEY
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$PORT_BACKEND/
EOF
  start h2o h2o -c "$WORK/h2o.conf"
  wait_http "$PORT_H2O" / && check_body "$PORT_H2O"
}

# tls_target TARGET TLS_PORT H2C_PORT: records the listeners of TARGET that answer (TLS_PORT,
# H2_TLS, H2C_PORT); a proxy that fails a check is left out of that scenario, with a reason.
tls_target() {
  local t="$1"
  if check_tls "$2"; then TLS_PORT[$t]=$2
  else log "$t: no HTTP/1.1 answer over TLS on port $2: left out of the TLS scenarios"; return; fi
  has h2 || return 0
  if check_h2 "https://127.0.0.1:$2/"; then H2_TLS[$t]=1; else log "$t: no HTTP/2 over TLS (ALPN h2): left out of h2"; fi
  if check_h2 "http://127.0.0.1:$3/"; then H2C_PORT[$t]=$3; else log "$t: no h2c with prior knowledge on port $3: left out of h2c"; fi
}

start_proxies() {  # start_proxies WORKERS: fills AVAILABLE, TARGET_PORT, TARGET_PID
  local w="$1" p
  AVAILABLE=(); DEAD=(); TARGET_PATH=(); TLS_PORT=(); H2_TLS=(); H2C_PORT=()
  for p in $PROXIES; do
    case "$p" in
      direct) TARGET_PORT[direct]=$PORT_BACKEND; TARGET_PID[direct]=$PID_backend; AVAILABLE+=(direct) ;;
      portico) start_portico "$w" && { TARGET_PORT[portico]=$PORT_PORTICO; TARGET_PID[portico]=$PID_portico; AVAILABLE+=(portico); } ;;
      portico-xform)  # the same gateway (started by `portico`, or here), route /xform
        if { [ -n "${TARGET_PID[portico]:-}" ] && kill -0 "${TARGET_PID[portico]}" 2>/dev/null; } || start_portico "$w"; then
          TARGET_PORT[portico-xform]=$PORT_PORTICO; TARGET_PID[portico-xform]=$PID_portico
          TARGET_PATH[portico-xform]=$XFORM_PATH; AVAILABLE+=(portico-xform)
        fi ;;
      portico-obs)  # a second gateway, observability on (access log in $WORK/portico-obs.access.log)
        local obs
        read -ra obs < <(observability_flags all "$WORK/portico-obs.access.log")
        start_portico "$w" portico-obs "$PORT_OBS" "$PORT_OBS_ADMIN" "${obs[@]}" &&
          { TARGET_PORT[portico-obs]=$PORT_OBS; TARGET_PID[portico-obs]=$PID_portico_obs; AVAILABLE+=(portico-obs); } ;;
      portico-epoll)  # a second gateway on the epoll engine (portico: io_uring where it works)
        start_portico "$w" portico-epoll "$PORT_EPOLL" "$PORT_EPOLL_ADMIN" --io-engine epoll &&
          { TARGET_PORT[portico-epoll]=$PORT_EPOLL; TARGET_PID[portico-epoll]=$PID_portico_epoll; AVAILABLE+=(portico-epoll); } ;;
      nginx) if start_nginx_proxy "$w"; then TARGET_PORT[nginx]=$PORT_NGINX; TARGET_PID[nginx]=$PID_nginx_proxy; AVAILABLE+=(nginx)
             else log "nginx proxy failed: $(cat "$WORK/nginx-proxy.out" "$WORK/nginx-proxy.error.log" 2>/dev/null | tail -5)"; fi ;;
      haproxy) if start_haproxy "$w"; then TARGET_PORT[haproxy]=$PORT_HAPROXY; TARGET_PID[haproxy]=$PID_haproxy; AVAILABLE+=(haproxy)
               else log "haproxy failed: $(tail -5 "$WORK/haproxy.out")"; fi ;;
      h2o) if start_h2o "$w"; then TARGET_PORT[h2o]=$PORT_H2O; TARGET_PID[h2o]=$PID_h2o; AVAILABLE+=(h2o)
           else log "h2o failed: $(tail -5 "$WORK/h2o.out" "$WORK/h2o.error.log" 2>/dev/null)"; fi ;;
      *) log "unknown proxy '$p' in PROXIES" ;;
    esac
  done
  [ -n "$WANT_TLS" ] || return 0
  # The TLS scenarios compare the proxies only: the origin speaks plain HTTP/1.1.
  for p in "${AVAILABLE[@]}"; do
    case "$p" in
      portico) tls_target portico "$PORT_PORTICO_TLS" "$PORT_PORTICO" ;;
      nginx) tls_target nginx "$PORT_NGINX_TLS" "$PORT_NGINX_H2C" ;;
      haproxy) tls_target haproxy "$PORT_HAPROXY_TLS" "$PORT_HAPROXY" ;;
      h2o) tls_target h2o "$PORT_H2O_TLS" "$PORT_H2O" ;;
    esac
  done
}

stop_proxies() {
  local t
  for t in "${AVAILABLE[@]}"; do [ "$t" = direct ] || stop_pid "${TARGET_PID[$t]}"; done
  TARGET_PID=()
}

# cap_target NAME PID WORKERS: with --cpu-quota, the proxy's processes get CPU_QUOTA% of a CPU per
# worker; a proxy that cannot be capped is left running uncapped, and the log says so.
cap_target() {
  [ -n "$CPU_QUOTA" ] || return 0
  cpu_cap "$1" "$2" $(( CPU_QUOTA * $3 )) || log "$1: could not be capped at $(( CPU_QUOTA * $3 ))% of a CPU"
}

# alive TARGET [KIND]: false (and reported once) when the target's server process has exited;
# with KIND routes or xform, the target's own instance for that scenario (SC_PID).
alive() {
  local t="$1" key="$1" pid="${TARGET_PID[$1]:-}" logname="${TARGET_LOG[$1]:-$1}"
  case "${2:-}" in routes|xform) key="$2/$t" pid="${SC_PID[$t]}" logname="${SC_LOG[$t]}" ;; esac
  [ -n "${DEAD[$key]:-}" ] && return 1
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null; local rc=$?
    DEAD[$key]=1
    log "$key (pid $pid) is gone (exit status $rc$( [ $rc -gt 128 ] && echo ", signal $((rc - 128))")); skipping its remaining runs. Last output:"
    tail -n 20 "$WORK/$logname.out" >&2 2>/dev/null
    return 1
  fi
}

url() { echo "http://127.0.0.1:${TARGET_PORT[$1]}${TARGET_PATH[$1]:-/}"; }

# target_url KIND TARGET, target_pid KIND TARGET: what run_wrk measures for KIND (wrk, https,
# routes, xform) and the process whose CPU it counts.
target_url() {
  case "$1" in
    https) echo "https://127.0.0.1:${TLS_PORT[$2]}/" ;;
    routes|xform) echo "http://127.0.0.1:${SC_PORT[$2]}${SC_PATH[$1]}" ;;
    *) url "$2" ;;
  esac
}
target_pid() { case "$1" in routes|xform) echo "${SC_PID[$2]}" ;; *) echo "${TARGET_PID[$2]}" ;; esac; }

# wrk_for KIND WRK_ARGS...: wrk; in xform with the User-Agent the transformation extracts from
# (wrk sends none of its own).
wrk_for() {
  local kind="$1"
  shift
  if [ "$kind" = xform ]; then wrk -H "User-Agent: $XFORM_UA" "$@"; else wrk "$@"; fi
}

# cpu_per_100k CPU0 CPU1 REQUESTS: the target's CPU-seconds per 100,000 requests.
cpu_per_100k() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {if (n > 0) printf "%.3f\n", (b - a) / n * 1e5; else print "nan"}'; }

# ---- closed loop: wrk, interleaved rounds --------------------------------------------------------
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# run_wrk WORKERS TARGET CONNS ROUND [KIND]: one measured run, one TSV line. KIND wrk (plain
# HTTP, the default), https (the target's TLS listener), routes or xform (the target's instance
# for that scenario, on its path).
run_wrk() {
  local w="$1" target="$2" conns="$3" round="$4" kind="${5:-wrk}" out cpu0 cpu1 pid
  out="$WORK/$kind-$2-$3-$4.txt"
  if ! alive "$target" "$kind"; then
    printf '%s\t%s\t%s\t%s\t%s\tnan\tnan\tnan\t-1\tnan\n' "$kind" "$w" "$target" "$conns" "$round" >>"$RESULTS"
    return
  fi
  pid="$(target_pid "$kind" "$target")"
  cpu0="$(proc_cpu "$pid")"
  wrk_for "$kind" -t1 -c"$conns" -d"${DURATION}s" --latency "$(target_url "$kind" "$target")" >"$out" 2>&1
  cpu1="$(proc_cpu "$pid")"
  python3 - "$out" "$w" "$target" "$conns" "$round" "$cpu0" "$cpu1" "$kind" >>"$RESULTS" <<'EOF'
import re, sys
path, w, target, conns, rnd, cpu0, cpu1, kind = sys.argv[1:9]
text = open(path).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
total = re.search(r"(\d+) requests in", text)
pct = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M))
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors += int(non2xx.group(1)) if non2xx else 0
if not rps or not total:
    sys.stderr.write(f"bench: wrk failed for {target} c={conns}:\n{text}\n")
    print(kind, w, target, conns, rnd, "nan", "nan", "nan", -1, "nan", sep="\t")
else:
    cpu = (float(cpu1) - float(cpu0)) / int(total.group(1)) * 1e5 if int(total.group(1)) else float("nan")
    print(kind, w, target, conns, rnd, rps.group(1), pct.get("50", "nan"), pct.get("99", "nan"), errors,
          f"{cpu:.3f}", sep="\t")
EOF
  log "w=$w round $round $kind c=$conns $target: $(tail -n 1 "$RESULTS" | cut -f6) req/s"
  alive "$target" "$kind" || true  # report a crash during the run right away
}

# ---- open loop: our generator at a fixed rate, interleaved rounds --------------------------------
run_openloop() {  # run_openloop WORKERS TARGET ROUND RATE
  local w="$1" target="$2" round="$3" rate="$4" out="$WORK/openloop-$2-$3.txt" cpu0 cpu1
  if ! alive "$target"; then
    printf 'ol\t%s\t%s\t%s\t%s\tnan\tnan\tnan\tnan\tnan\t0\t-1\tnan\tnan\n' "$w" "$target" "$round" "$rate" >>"$RESULTS"
    return
  fi
  cpu0="$(proc_cpu "${TARGET_PID[$target]}")"
  "$OPENLOOP_BIN" --target "127.0.0.1:${TARGET_PORT[$target]}" --path "${TARGET_PATH[$target]:-/}" --rate "$rate" \
    --duration "$OPENLOOP_DURATION" --warmup 0.5 --connections "$OPENLOOP_CONNS" >"$out" 2>&1
  cpu1="$(proc_cpu "${TARGET_PID[$target]}")"
  local r
  r="$(awk '/^RESULT/' "$out")"
  if [ -z "$r" ]; then
    log "openloop failed for $target: $(cat "$out")"
    printf 'ol\t%s\t%s\t%s\t%s\tnan\tnan\tnan\tnan\tnan\t0\t-1\tnan\tnan\n' "$w" "$target" "$round" "$rate" >>"$RESULTS"
    return
  fi
  local completed failed late achieved p50 p90 p99 p999 max
  eval "$(sed 's/^RESULT //' <<<"$r")"   # completed= failed= late= achieved= p50= ...
  printf 'ol\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$target" "$round" "$rate" \
    "$p50" "$p90" "$p99" "$p999" "$max" "$late" "$failed" "$achieved" \
    "$(cpu_per_100k "$cpu0" "$cpu1" "$(awk -v r="$rate" -v d="$OPENLOOP_DURATION" 'BEGIN {print r * (d + 0.5)}')")" >>"$RESULTS"
  log "w=$w round $round open loop $rate req/s $target: p50 $p50 ms p99 $p99 ms, late $late, failed $failed"
}

# ---- TLS handshakes and HTTP/2: h2load, interleaved rounds ---------------------------------------
# h2load_summary FILE: "OK ERRORS SECONDS NEGOTIATED" from h2load's output: 2xx responses; failed,
# errored, timed-out and non-2xx requests; the run's length; TLS version, key exchange group and
# application protocol as h2load reports them.
h2load_summary() {
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
fin = re.search(r"finished in ([\d.]+)(us|ms|s),", text)
req = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
if not fin or not req or not codes:
    print("nan -1 nan failed")
    sys.exit()
secs = float(fin.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[fin.group(2)]
ok = int(codes.group(1))
errors = sum(map(int, req.groups())) + sum(int(codes.group(i)) for i in (2, 3, 4))
tls = re.search(r"TLS Protocol: (\S+)", text)
key = re.search(r"Server Temp Key: (\S+)", text)
app = re.search(r"Application protocol: (\S+)", text)
neg = ",".join(m.group(1) for m in (tls, key, app) if m)
print(ok, errors, f"{secs:.3f}", neg or "?")
EOF
}

# h2load_measure TARGET OUT H2LOAD_ARGS...: one h2load run against TARGET, its output in OUT; sets
# OK ERRORS SECS NEG (h2load_summary) and CPU, the target's CPU-seconds over the run. False when
# the target is gone or h2load reported nothing.
h2load_measure() {
  local target="$1" out="$2" cpu0 cpu1
  shift 2
  alive "$target" || return 1
  cpu0="$(proc_cpu "${TARGET_PID[$target]}")"
  h2load "$@" >"$out" 2>&1
  cpu1="$(proc_cpu "${TARGET_PID[$target]}")"
  read -r OK ERRORS SECS NEG < <(h2load_summary "$out")
  CPU="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f\n", b - a}')"
  alive "$target" || true  # report a crash during the run right away
  [ "$OK" != nan ] || { log "h2load failed for $target: $(tail -n 5 "$out")"; return 1; }
}

# run_handshake WORKERS TARGET ROUND: HANDSHAKES h2load clients at once, each one HTTP/1.1 request
# on its own new TLS connection. Separate clients share no session, so every handshake is full
# (h2load reconnecting one client after `Connection: close` would resume the session instead).
run_handshake() {
  local w="$1" target="$2" round="$3"
  if ! h2load_measure "$target" "$WORK/hs-$2-$3.txt" --h1 -t1 -c "$HANDSHAKES" -n "$HANDSHAKES" \
       "https://127.0.0.1:${TLS_PORT[$target]}/"; then
    printf 'hs\t%s\t%s\t%s\t%s\tnan\t-1\tnan\tnan\tfailed\n' "$w" "$target" "$round" "$HANDSHAKES" >>"$RESULTS"
    return
  fi
  printf 'hs\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$target" "$round" "$HANDSHAKES" "$OK" "$ERRORS" "$SECS" \
    "$(awk -v c="$CPU" -v n="$OK" 'BEGIN {if (n > 0) printf "%.3f\n", c / n * 1e3; else print "nan"}')" "$NEG" >>"$RESULTS"
  log "w=$w round $round handshakes $target: $OK in ${SECS}s, $ERRORS errors ($NEG)"
}

# run_h2 WORKERS TARGET MODE ROUND: h2load -c H2_CONNS -m H2_STREAMS for DURATION; MODE tls (ALPN
# h2 on the TLS listener) or h2c (prior knowledge on a plain one).
run_h2() {
  local w="$1" target="$2" mode="$3" round="$4" u
  u="https://127.0.0.1:${TLS_PORT[$target]:-}/"
  [ "$mode" = h2c ] && u="http://127.0.0.1:${H2C_PORT[$target]}/"
  if ! h2load_measure "$target" "$WORK/h2-$2-$3-$4.txt" -t1 -c "$H2_CONNS" -m "$H2_STREAMS" -D "$DURATION" "$u"; then
    printf 'h2\t%s\t%s\t%s\t%s\tnan\t-1\tnan\tfailed\n' "$w" "$target" "$mode" "$round" >>"$RESULTS"
    return
  fi
  printf 'h2\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$target" "$mode" "$round" \
    "$(awk -v n="$OK" -v s="$SECS" 'BEGIN {if (s > 0) printf "%.1f\n", n / s; else print "nan"}')" "$ERRORS" \
    "$(cpu_per_100k 0 "$CPU" "$OK")" "$NEG" >>"$RESULTS"
  log "w=$w round $round $mode $target: $(tail -n 1 "$RESULTS" | cut -f6) req/s, $ERRORS errors ($NEG)"
}

# ---- memory per idle keep-alive connection -------------------------------------------------------
run_idle() {  # run_idle WORKERS TARGET [tls]: with tls, TLS connections to its TLS listener
  local w="$1" target="$2" tls="${3:-}" out="$WORK/idle-$2${3:+-tls}.txt" pid="${TARGET_PID[$2]}"
  local rss0 pss0 rss1 pss1 kind=idle n="$IDLE_CONNS"
  alive "$target" || return
  read -r rss0 pss0 < <(proc_mem "$pid")
  [ -n "$tls" ] && kind=idle-tls n="$IDLE_TLS_CONNS"
  if [ "$target" = haproxy ] && [ "$n" -gt $((HAPROXY_MAXCONN - 50)) ]; then
    n=$((HAPROXY_MAXCONN - 50))
    log "haproxy: $n idle connections only (maxconn $HAPROXY_MAXCONN under the open-file limit $(ulimit -n))"
  fi
  if [ -n "$tls" ]; then
    python3 "$BENCH_DIR/openloop/idle_tls.py" --target "127.0.0.1:${TLS_PORT[$target]}" --connections "$n" >"$out" 2>&1 &
  else
    "$IDLE_CONNS_BIN" --target "127.0.0.1:${TARGET_PORT[$target]}" --connections "$n" >"$out" 2>&1 &
  fi
  local tool=$!
  for _ in $(seq 1200); do grep -q '^ready' "$out" && break; kill -0 "$tool" 2>/dev/null || break; sleep 0.1; done
  sleep 1  # let the proxy finish its bookkeeping for the last connections
  read -r rss1 pss1 < <(proc_mem "$pid")
  kill -TERM "$tool" 2>/dev/null; wait "$tool" 2>/dev/null
  local established still_open
  established="$(sed -n 's/^ready established=\([0-9]*\).*/\1/p' "$out")"
  still_open="$(sed -n 's/.*still_open=\([0-9]*\).*/\1/p' "$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$w" "$target" "$n" "$rss0" "$rss1" "$pss0" "$pss1" \
    "${established:-0}" "${still_open:-0}" >>"$RESULTS"
  log "w=$w $kind $target: RSS $rss0 -> $rss1 KiB with ${established:-0} connections (${still_open:-0} still open at the end)"
  sleep 1  # the 10k closes are still being processed
}

# ---- routes and xform: one instance of each proxy per scenario, on ports of its own ------------
# Each phase starts its own instances (after the other phases' proxies are stopped) and stops them
# at its end. routes: 10,000 prefix routes /r00000/ ... /r09999/ to the origin and a catch-all /
# to the origin's 404 port; wrk asks for the last route. xform: a prefix route /xform that adds
# x-client (User-Agent up to its first '/', by regex) and x-route ("<path> via <proxy>").
declare -A SC_PORT SC_PID SC_LOG
declare -A SC_PATH=([routes]=/r09999/x [xform]="$XFORM_PATH")
SC_ROUTES=10000  # /r09999/ is the last of them: SC_PATH and check_routes assume this count

# sc_nginx_conf KIND WORKERS PORT: prefix locations (nginx keeps them in a tree, its own way of
# matching many prefixes); xform: a map extracting the User-Agent's first part and two
# proxy_set_header (which replace the server's list, so Connection "" is set again).
sc_nginx_conf() {
  local body map=
  if [ "$1" = routes ]; then
    body="$(printf '    location /r%05d/ { proxy_pass http://origin; }\n' $(seq 0 $((SC_ROUTES - 1))))
    location / { proxy_pass http://catchall; }"
  else
    map="
  map \$http_user_agent \$client { \"~^(?<a>[^/]*)\" \$a; }"
    body="    location $XFORM_PATH {
      proxy_pass http://origin;
      proxy_set_header Connection \"\";
      proxy_set_header x-client \$client;
      proxy_set_header x-route \"\$request_uri via nginx\";
    }
    location / { proxy_pass http://origin; }"
  fi
  nginx_conf "nginx-$1" "$2" "  upstream origin { server 127.0.0.1:$PORT_BACKEND; keepalive 64; }
  upstream catchall { server 127.0.0.1:$PORT_CATCHALL; keepalive 8; }$map
  server {
    listen 127.0.0.1:$3 backlog=4096;
    proxy_http_version 1.1;
    proxy_set_header Connection \"\";
$body
  }"
}

# sc_haproxy_cfg KIND WORKERS PORT: routes as a map file looked up with map_beg (HAProxy indexes
# its keys in a prefix tree: a longest-match lookup, where 10,000 `use_backend ... if { path_beg
# ... }` lines would be tried one by one); xform: two `http-request set-header`, one with regsub.
sc_haproxy_cfg() {
  local rules
  if [ "$1" = routes ]; then
    printf '/r%05d/ origin\n' $(seq 0 $((SC_ROUTES - 1))) >"$WORK/haproxy-routes.map"
    rules="  use_backend %[path,map_beg($WORK/haproxy-routes.map,catchall)]
  default_backend catchall"
  else
    # In double quotes HAProxy unescapes \\ to \: regsub gets \1, the first group.
    rules="  acl xform path_beg $XFORM_PATH
  http-request set-header x-client \"%[req.fhdr(user-agent),regsub('^([^/]*).*','\\\\1')]\" if xform
  http-request set-header x-route \"%[pathq] via haproxy\" if xform
  default_backend origin"
  fi
  haproxy_head "$2"
  cat <<EOF
frontend fe
  bind 127.0.0.1:$3
$rules
backend origin
  server s1 127.0.0.1:$PORT_BACKEND
backend catchall
  server s1 127.0.0.1:$PORT_CATCHALL
EOF
}

# sc_h2o_conf KIND WORKERS PORT: routes as 10,000 `paths:` entries (h2o tries a host's paths one
# by one). xform: h2o 2.2's mruby cannot add request headers for a following proxy.reverse.url
# (a 399 answer's x-fallthru-set-* headers set only remote-user), so the handler proxies itself
# with http_request, the documented way: the request headers, plus x-client and x-route.
sc_h2o_conf() {
  cat <<EOF
$( [ "$(id -u)" = 0 ] && echo "user: root" )
num-threads: $2
max-connections: 16384
http1-request-timeout: 120
pid-file: $WORK/h2o-$1.pid
error-log: $WORK/h2o-$1.error.log
hosts:
  default:
    listen:
      host: 127.0.0.1
      port: $3
    paths:
EOF
  if [ "$1" = routes ]; then
    local i
    for i in $(seq 0 $((SC_ROUTES - 1))); do
      printf '      /r%05d/:\n        proxy.reverse.url: http://127.0.0.1:%s/r%05d/\n' "$i" "$PORT_BACKEND" "$i"
    done
    printf '      /:\n        proxy.reverse.url: http://127.0.0.1:%s/\n' "$PORT_CATCHALL"
    return
  fi
  cat <<EOF
      $XFORM_PATH:
        mruby.handler: |
          Proc.new do |env|
            path = env["SCRIPT_NAME"] + env["PATH_INFO"]
            path += "?" + env["QUERY_STRING"] unless env["QUERY_STRING"].empty?
            headers = {}
            env.each { |k, v| headers[k[5..-1].gsub("_", "-")] = v if k.start_with?("HTTP_") && k != "HTTP_HOST" }
            headers["x-client"] = /\A[^\/]*/.match(env["HTTP_USER_AGENT"].to_s)[0]
            headers["x-route"] = path + " via h2o"
            http_request("http://127.0.0.1:$PORT_BACKEND" + path, {headers: headers}).join
          end
      /:
        proxy.reverse.url: http://127.0.0.1:$PORT_BACKEND/
EOF
}

# sc_start KIND WORKERS TARGET PORT [ADMIN_PORT]: TARGET's instance for KIND on PORT (Portico's
# admin on ADMIN_PORT); true, with SC_PORT, SC_PID and SC_LOG set, once it passes KIND's check.
# One that fails is stopped and left out, with the reason and its log's tail.
sc_start() {
  local kind="$1" w="$2" t="$3" port="$4" name="$3-$1" pid_var
  pid_var="PID_${name//-/_}"
  case "$t" in
    portico)
      [ -x "$PORTICO" ] || { log "portico not built at $PORTICO: left out of $kind"; return 1; }
      rm -rf "$WORK/$name-config"
      if [ "$kind" = routes ]; then
        portico_config "$WORK/$name-config" "$port" "$PORT_BACKEND" "$SC_ROUTES" "$PORT_CATCHALL"
      else
        portico_config "$WORK/$name-config" "$port" "$PORT_BACKEND"
      fi
      launch_portico "$w" "$name" "$port" "$5" "$kind" || return 1 ;;
    nginx|haproxy|h2o)
      case "$t" in
        nginx) sc_nginx_conf "$kind" "$w" "$port" >"$WORK/$name.conf"
               start "$name" nginx -p "$WORK" -c "$WORK/$name.conf" -e "$WORK/$name.error.log" ;;
        haproxy) sc_haproxy_cfg "$kind" "$w" "$port" >"$WORK/$name.cfg"
                 start "$name" haproxy -db -f "$WORK/$name.cfg" ;;
        h2o) sc_h2o_conf "$kind" "$w" "$port" >"$WORK/$name.conf"
             start "$name" h2o -c "$WORK/$name.conf" ;;
      esac
      if ! wait_http "$port" "${SC_PATH[$kind]}" 30 || ! sc_check "$kind" "$port" "$t"; then
        log "$t failed to start or to pass the $kind check: left out of $kind. Its output:"
        tail -n 5 "$WORK/$name.out" "$WORK/$name.error.log" >&2 2>/dev/null
        stop_pid "${!pid_var}"
        return 1
      fi ;;
    *) log "$t: no $kind configuration (direct portico nginx haproxy h2o have one): left out of $kind"
       return 1 ;;
  esac
  SC_PORT[$t]=$port SC_PID[$t]=${!pid_var} SC_LOG[$t]=$name
  log "$t ($kind, $w workers): RSS $(proc_mem "${!pid_var}" | cut -d' ' -f1) KiB once started"
}

# sc_phase KIND WORKERS: KIND's instances, measured as the closed loop above (warm-up, interleaved
# rounds for each of CONNECTIONS), then stopped.
sc_phase() {
  local kind="$1" w="$2" p t conns round ports targets=()
  SC_PORT=() SC_PID=() SC_LOG=()
  read -ra ports < <(free_ports 5)
  for p in $PROXIES; do
    case "$p" in
      direct) SC_PORT[direct]=$PORT_BACKEND SC_PID[direct]=$PID_backend SC_LOG[direct]=backend
              targets+=(direct) ;;
      portico) sc_start "$kind" "$w" portico "${ports[0]}" "${ports[1]}" && targets+=(portico) ;;
      nginx) sc_start "$kind" "$w" nginx "${ports[2]}" && targets+=(nginx) ;;
      haproxy) sc_start "$kind" "$w" haproxy "${ports[3]}" && targets+=(haproxy) ;;
      h2o) sc_start "$kind" "$w" h2o "${ports[4]}" && targets+=(h2o) ;;
      *) sc_start "$kind" "$w" "$p" 0 ;;  # says why it is left out
    esac
  done
  log "workers=$w $kind targets: ${targets[*]}"
  for t in "${targets[@]}"; do [ "$t" = direct ] || cap_target "$t-$kind" "${SC_PID[$t]}" "$w"; done
  for conns in $CONNECTIONS; do
    if [ "$WARMUP" != 0 ]; then
      for t in "${targets[@]}"; do
        alive "$t" "$kind" && wrk_for "$kind" -t1 -c"$conns" -d"${WARMUP}s" "$(target_url "$kind" "$t")" >/dev/null 2>&1
      done
    fi
    for round in $(seq "$ROUNDS"); do
      for t in "${targets[@]}"; do run_wrk "$w" "$t" "$conns" "$round" "$kind"; done
    done
  done
  for t in "${targets[@]}"; do [ "$t" = direct ] || stop_pid "${SC_PID[$t]}"; done
}

# ---- the run: every phase at each worker count ---------------------------------------------------
log "rounds=$ROUNDS duration=${DURATION}s connections=$CONNECTIONS; open loop ${OPENLOOP_DURATION}s over $OPENLOOP_CONNS connections; idle $IDLE_CONNS"
for w in ${WORKERS_LIST//,/ }; do
  if [ -n "$WANT_MAIN" ]; then
    start_proxies "$w"
    log "workers=$w targets: ${AVAILABLE[*]}"
    for t in "${AVAILABLE[@]}"; do
      [ "$t" = direct ] || [ "$t" = portico-xform ] || cap_target "$t" "${TARGET_PID[$t]}" "$w"
    done
  fi
  if has plain; then  # closed loop, open loop, idle memory
    for conns in $CONNECTIONS; do
      if [ "$WARMUP" != 0 ]; then
        for t in "${AVAILABLE[@]}"; do
          alive "$t" && wrk -t1 -c"$conns" -d"${WARMUP}s" "$(url "$t")" >/dev/null 2>&1
        done
      fi
      for round in $(seq "$ROUNDS"); do
        for t in "${AVAILABLE[@]}"; do run_wrk "$w" "$t" "$conns" "$round"; done
      done
    done

    rate="$RATE"
    [ -n "$rate" ] || rate="$(python3 "$BENCH_DIR/report.py" --rate "$RESULTS" "$w" "${CONNECTIONS%% *}")"
    if [ -z "$rate" ]; then
      log "no proxy req/s to derive the open-loop rate from: skipping the open-loop runs (give --rate)"
    else
      for round in $(seq "$ROUNDS"); do
        for t in "${AVAILABLE[@]}"; do run_openloop "$w" "$t" "$round" "$rate"; done
      done
    fi

    if [ "$IDLE_CONNS" -gt 0 ]; then
      for t in "${AVAILABLE[@]}"; do
        case "$t" in direct|portico-xform) ;; *) run_idle "$w" "$t" ;; esac
      done
    fi
  fi
  if [ -n "${TARGET_PID[portico-obs]:-}" ]; then  # evidence the parts ran: spans exported, lines logged
    log "portico-obs: access log $(wc -l <"$WORK/portico-obs.access.log") lines; $(curl -s "http://127.0.0.1:$PORT_OBS_ADMIN/metrics" |
      grep -E '^portico_(tracing_spans|access_log_dropped)' | tr '\n' ' ')"
  fi

  # TLS and HTTP/2: the proxies whose listeners passed the checks in start_proxies.
  tls_targets=() h2_targets=() h2c_targets=()
  for t in "${AVAILABLE[@]}"; do
    [ -n "${TLS_PORT[$t]:-}" ] && tls_targets+=("$t")
    [ -n "${H2_TLS[$t]:-}" ] && h2_targets+=("$t")
    [ -n "${H2C_PORT[$t]:-}" ] && h2c_targets+=("$t")
  done
  if has https; then
    for conns in $CONNECTIONS; do
      if [ "$WARMUP" != 0 ]; then
        for t in "${tls_targets[@]}"; do
          alive "$t" && wrk -t1 -c"$conns" -d"${WARMUP}s" "https://127.0.0.1:${TLS_PORT[$t]}/" >/dev/null 2>&1
        done
      fi
      for round in $(seq "$ROUNDS"); do
        for t in "${tls_targets[@]}"; do run_wrk "$w" "$t" "$conns" "$round" https; done
      done
    done
    if [ "$IDLE_TLS_CONNS" -gt 0 ]; then
      for t in "${tls_targets[@]}"; do run_idle "$w" "$t" tls; done
    fi
  fi
  if has handshake; then
    for t in "${tls_targets[@]}"; do  # warm-up: a small burst each
      alive "$t" && h2load --h1 -c 50 -n 50 "https://127.0.0.1:${TLS_PORT[$t]}/" >/dev/null 2>&1
    done
    for round in $(seq "$ROUNDS"); do
      for t in "${tls_targets[@]}"; do run_handshake "$w" "$t" "$round"; sleep 0.5; done  # 0.5 s: closes drain
    done
  fi
  if has h2; then
    for mode in tls h2c; do
      if [ "$mode" = tls ]; then targets=("${h2_targets[@]}"); else targets=("${h2c_targets[@]}"); fi
      if [ "$WARMUP" != 0 ]; then
        for t in "${targets[@]}"; do
          alive "$t" || continue
          if [ "$mode" = tls ]; then u="https://127.0.0.1:${TLS_PORT[$t]}/"; else u="http://127.0.0.1:${H2C_PORT[$t]}/"; fi
          h2load -c "$H2_CONNS" -m "$H2_STREAMS" -D "$WARMUP" "$u" >/dev/null 2>&1
        done
      fi
      for round in $(seq "$ROUNDS"); do
        for t in "${targets[@]}"; do run_h2 "$w" "$t" "$mode" "$round"; done
      done
    done
  fi
  stop_proxies
  for kind in routes xform; do has "$kind" && sc_phase "$kind" "$w"; done
done

# ---- report -------------------------------------------------------------------------------------
echo
echo "## Proxy benchmark ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a))"
echo
echo "$(nproc) CPUs, $(uname -r); ${BODY_SIZE}-byte origin body (nginx, 1 worker); nothing pinned."
echo "wrk -t1 --latency, ${DURATION}s x $ROUNDS interleaved rounds; open loop: bench/openloop/openloop.cc, ${OPENLOOP_DURATION}s x $ROUNDS rounds over $OPENLOOP_CONNS connections; idle: $IDLE_CONNS keep-alive connections, one GET each."
echo "Versions: $(nginx -v 2>&1 | sed 's/.*version: //'), $(haproxy -v 2>&1 | head -1 | awk '{print "haproxy/"$3}'), $(h2o --version 2>&1 | head -1 | awk '{print "h2o/"$3}'), portico: $([ -x "$PORTICO" ] && "$PORTICO" --version 2>/dev/null | head -1 || echo n/a)."
[ -n "$WANT_TLS" ] && echo "TLS: one self-signed ECDSA P-256 certificate for every proxy, plain HTTP/1.1 to the origin; https: wrk over TLS keep-alive; handshake: h2load --h1 -c $HANDSHAKES -n $HANDSHAKES (one request per new connection, full handshakes) x $ROUNDS rounds; h2: h2load -c $H2_CONNS -m $H2_STREAMS -D ${DURATION}s x $ROUNDS rounds. $(h2load --version 2>&1 | head -1), $(openssl version)."
{ has routes || has xform; } && echo "routes: $SC_ROUTES prefix routes and a catch-all in every proxy (Portico routes, nginx prefix locations, HAProxy map_beg, h2o paths), wrk on /r09999/x; xform: request headers x-client (User-Agent by regex) and x-route (Portico transformation, nginx map + proxy_set_header, HAProxy set-header + regsub, h2o mruby http_request), wrk on $XFORM_PATH with User-Agent \"$XFORM_UA\"; each proxy a separate instance per scenario."
[ -n "$CPU_QUOTA" ] && echo "Every proxy capped at ${CPU_QUOTA}% of one CPU per worker (cgroup CPU quota): req/s is what each does with the same CPU; direct is not capped."
echo "Wall-clock figures (req/s, latency, CPU-s) move with whatever else runs on the machine: compare ratios within one run."
python3 "$BENCH_DIR/report.py" "$RESULTS"
