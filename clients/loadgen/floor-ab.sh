#!/usr/bin/env bash
# Server CPU per request against the floor, alternating builds: each round
# runs nginx `return 200` (one worker, the load generator's plain `health`
# scenario) and then every authnzd binary given, on every scenario, each on
# a fresh SQLite file, c=32, release builds. Server CPU comes from /proc
# (the load generator's --server-pid).
#
#   clients/loadgen/floor-ab.sh [-r rounds] [-d 8s] [-s "session-exists user-check-access health"] \
#       NAME=/path/to/authnzd [NAME=/path/to/authnzd ...]
#
# The load generator is $LOADGEN, else authnzd-loadgen beside the first
# binary. nginx comes from PATH or /usr/sbin.
set -euo pipefail
ROUNDS=3 DURATION=8s C=32
SCENARIOS="session-exists user-check-access health"
while getopts "r:d:s:c:" o; do
  case "$o" in
    r) ROUNDS="$OPTARG" ;; d) DURATION="$OPTARG" ;; s) SCENARIOS="$OPTARG" ;; c) C="$OPTARG" ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
first="${1#*=}"
LOADGEN="${LOADGEN:-$(dirname "$first")/authnzd-loadgen}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$D"' EXIT
PORT=13641

row() { # name scenario json
  python3 - "$@" <<'EOF'
import json, sys
name, scenario, path = sys.argv[1:4]
o = json.load(open(path))
print(f"| {name:<12} | {scenario:<17} | {o['throughput_rps']:>8.0f} | {o['latency_ms']['p50']:.2f} "
      f"| {o['latency_ms']['p99']:.2f} | {o['cpu']['server_us_per_request']:.1f} "
      f"| {o['cpu']['loadgen_us_per_request']:.1f} | {o['errors_total']} |")
EOF
}

measure() { # name scenario pid key
  local prebuild=()
  case "$2" in session-exists|session-new|user-check-access) prebuild=(--prebuild 300000) ;; esac
  "$LOADGEN" --url "http://127.0.0.1:$PORT/" --key-file "$4" --scenario "$2" \
    --concurrency "$C" --duration "$DURATION" --warmup 2s "${prebuild[@]}" \
    --server-pid "$3" --json "$D/out.json" >/dev/null 2>"$D/loadgen.err" ||
    { echo "| $1 | $2 | failed: $(tail -1 "$D/loadgen.err") |"; return; }
  row "$1" "$2" "$D/out.json"
}

floor() {
  mkdir -p "$D/nginx"
  cat >"$D/nginx/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
pid $D/nginx/nginx.pid; error_log $D/nginx/error.log warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok"; } } }
EOF
  "$NGINX" -p "$D/nginx" -c "$D/nginx/nginx.conf" -e "$D/nginx/error.log" &
  local pid=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
  # Any key: `health` sends plain GETs.
  [ -f "$D/any.key" ] || python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())' >"$D/any.key"
  measure "nginx floor" health "$pid" "$D/any.key"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

authnzd() { # name binary scenario
  local dir="$D/run"; rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && AUTHNZD_LOG_LEVEL=warn AUTHNZD_RATE_LIMITS=none \
    AUTHNZD_DATABASE_URL="sqlite:///$dir/bench.sqlite" exec "$2" serve --port "$PORT" \
    >"$dir/server.out" 2>"$dir/server.log") &
  local pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
  measure "$1" "$3" "$pid" "$dir/authnzd.key"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| server | scenario | req/s | p50 ms | p99 ms | server µs/req | loadgen µs/req | errors |"
echo "|---|---|---|---|---|---|---|---|"
for _ in $(seq 1 "$ROUNDS"); do
  floor
  for scenario in $SCENARIOS; do
    for nb in "$@"; do authnzd "${nb%%=*}" "${nb#*=}" "$scenario"; done
  done
done
