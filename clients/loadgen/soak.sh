#!/usr/bin/env bash
# Soak: the load generator's realistic mix against a release authnzd for a
# while (10 minutes by default), sampling the server's RSS and open file
# descriptors every 30 s. Prints a markdown table; the figures go into
# BENCHMARKS.md by hand.
#
#   clients/loadgen/soak.sh [minutes] [database_url]
#
# Without a database URL the server runs on a SQLite file in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."

minutes="${1:-10}"
database_url="${2:-}"
# BIN_DIR: binaries built earlier (copied aside, so a rebuild meanwhile
# cannot touch them); otherwise they are built here.
if [ -n "${BIN_DIR:-}" ]; then
  bin="$BIN_DIR"
else
  cargo build --release -q -p authnzd -p authnzd-loadgen
  bin="${CARGO_TARGET_DIR:-/var/tmp/authnzd-target}/release"
fi
server="$bin/authnzd"
loadgen="$bin/authnzd-loadgen"

dir="$(mktemp -d)"
port=13700
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

cd "$dir"
export AUTHNZD_RATE_LIMITS=none AUTHNZD_LOG_LEVEL=warn
[ -n "$database_url" ] && export AUTHNZD_DATABASE_URL="$database_url"
"$server" serve --port "$port" 2>server.log &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

sample() {
  local rss fds wal
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  wal=$(stat -c %s authnzd.sqlite-wal 2>/dev/null || echo 0)
  printf '| %s | %d | %d | %d |\n' "$1" "$((rss / 1024))" "$fds" "$((wal / 1048576))"
}

echo "| elapsed | RSS MiB | open fds | SQLite WAL MiB |"
echo "|---|---|---|---|"
sample "0 s (idle)"
"$loadgen" --url "http://127.0.0.1:$port/" --key-file authnzd.key --scenario mix \
  --concurrency 32 --warmup 0s --duration "${minutes}m" --server-pid "$pid" --json soak.json >loadgen.out 2>&1 &
lg=$!
elapsed=0
while kill -0 "$lg" 2>/dev/null; do
  sleep 30
  elapsed=$((elapsed + 30))
  kill -0 "$lg" 2>/dev/null && sample "$elapsed s"
done
wait "$lg"
sleep 2
sample "after (idle)"
echo
tail -n 12 loadgen.out
