#!/usr/bin/env bash
# One vs two release authnzd processes on one PostgreSQL database (scratch
# database `authnzd_bench`, dropped after): session-exists and session-new,
# c=32 against one process, then c=16 against each of two at once.
#
#   BIN_DIR=<dir with authnzd and authnzd-loadgen> clients/loadgen/two-instances.sh
set -uo pipefail
T="${BIN_DIR:-${CARGO_TARGET_DIR:-/var/tmp/authnzd-target}/release}"
D=$(mktemp -d); cd "$D"
psql -h 127.0.0.1 -U postgres -qc "drop database if exists authnzd_bench" postgres
psql -h 127.0.0.1 -U postgres -qc "create database authnzd_bench" postgres
export AUTHNZD_DATABASE_URL=postgres://postgres@127.0.0.1:5432/authnzd_bench AUTHNZD_RATE_LIMITS=none AUTHNZD_LOG_LEVEL=warn
# Output redirected: a background child holding the substitution's pipe
# would keep `$(start …)` waiting.
start() { "$T/authnzd" serve --port "$1" >"server-$1.out" 2>"server-$1.log" & echo $!; }
up() { for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return; sleep 0.1; done; }
lg() { "$T/authnzd-loadgen" --url "http://127.0.0.1:$1/" --key-file authnzd.key --scenario "$2" --concurrency "$3" --duration 10s 2>&1 | grep -E "^\| [a-z]|^CPU" | head -3; }
A=$(start 13611); up 13611
for sc in session-exists session-new; do
  echo "== one process, $sc c=32"; lg 13611 "$sc" 32
done
B=$(start 13612); up 13612
for sc in session-exists session-new; do
  echo "== two processes, $sc c=16 each"
  lg 13611 "$sc" 16 > a.out & lg 13612 "$sc" 16 > b.out; wait
  echo "A:"; cat a.out; echo "B:"; cat b.out
done
kill "$A" "$B"; sleep 1
psql -h 127.0.0.1 -U postgres -qc "drop database if exists authnzd_bench" postgres
cd /; rm -rf "$D"
