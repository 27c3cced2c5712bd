#!/usr/bin/env bash
# Cached session-exists on one release authnzd (SQLite), alternating
# configurations each round: no Redis; Redis for the replay guard; Redis for
# the replay guard and the rate limits (limits high enough never to refuse).
# Prints throughput, p50/p99 and the CPU per request of authnzd and of
# redis-server (a redis-server of its own on port 16399).
#
#   BIN_DIR=<dir with authnzd and authnzd-loadgen> clients/loadgen/redis-ab.sh [rounds] [concurrency]
set -uo pipefail
T="${BIN_DIR:-${CARGO_TARGET_DIR:-/var/tmp/authnzd-target}/release}"
ROUNDS="${1:-3}"
C="${2:-32}"
D=$(mktemp -d); cd "$D"
redis-server --port 16399 --save '' --appendonly no --dir "$D" >/dev/null 2>&1 &
R=$!
sleep 0.5
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
export AUTHNZD_LOG_LEVEL=warn AUTHNZD_DATABASE_URL="sqlite:///$D/bench.sqlite"
run() {
  local name="$1"; shift
  env "$@" "$T/authnzd" serve --port 13621 >server.out 2>server.log &
  local A=$!
  for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:13621/health >/dev/null 2>&1 && break; sleep 0.1; done
  local r0; r0=$(ticks "$R")
  "$T/authnzd-loadgen" --url http://127.0.0.1:13621/ --key-file authnzd.key \
    --scenario session-exists --concurrency "$C" --duration 10s --warmup 2s \
    --server-pid "$A" --json out.json >/dev/null 2>&1
  local r1; r1=$(ticks "$R")
  kill "$A"; wait "$A" 2>/dev/null
  python3 - "$name" "$r0" "$r1" "$HZ" <<'EOF'
import json, sys
name, r0, r1, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
o = json.load(open("out.json"))
n = max(o["requests"], 1)
redis_us = (r1 - r0) / hz * 1e6 / n
print(f"| {name:<18} | {o['throughput_rps']:>8.0f} | {o['latency_ms']['p50']:.2f} | {o['latency_ms']['p99']:.2f} "
      f"| {o['cpu']['server_us_per_request']:.1f} | {redis_us:.1f} | {o['errors_total']} |")
EOF
}
echo "| configuration | req/s | p50 ms | p99 ms | authnzd µs CPU/req | redis-server µs CPU/req | errors |"
echo "|---|---|---|---|---|---|---|"
for _ in $(seq 1 "$ROUNDS"); do
  run "no Redis" AUTHNZD_RATE_LIMITS=none
  run "Redis: replay" AUTHNZD_RATE_LIMITS=none AUTHNZD_REDIS_URL=redis://127.0.0.1:16399/0
  run "Redis: replay+limits" "AUTHNZD_RATE_LIMITS=session:100000000; burst:100000000" AUTHNZD_REDIS_URL=redis://127.0.0.1:16399/0
done
echo "redis keys after: $(redis-cli -p 16399 dbsize), used memory: $(redis-cli -p 16399 info memory | grep '^used_memory_human' | cut -d: -f2 | tr -d '\r')"
kill "$R"; wait "$R" 2>/dev/null
cd /; rm -rf "$D"
