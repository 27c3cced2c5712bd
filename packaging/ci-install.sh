#!/usr/bin/env bash
# Installs a Debian package of authnzd as an operator would (dpkg -i, as
# root), starts the server as its unit does but without systemd (the
# service user, the state directory, umask 0077, the packaged config),
# checks /health and what the first start made, reinstalls over an edited
# config as an upgrade does, then purges and checks nothing is left.
# Usage: packaging/ci-install.sh PACKAGE.deb   (.ci/run calls it)
set -euo pipefail

deb="$1"
conf=/etc/authnzd/authnzd.toml
state=/var/lib/authnzd
url=http://127.0.0.1:13431

fail() {
  echo "ci-install: $*" >&2
  exit 1
}
# "user:group mode" of a path.
owner_mode() { stat -c '%U:%G %a' "$1"; }

[ "$(id -u)" = 0 ] || fail "run as root"
[ -f "$deb" ] || fail "no package at $deb"
missing=()
for tool in adduser curl setpriv; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  # setpriv is util-linux's.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q adduser curl util-linux
fi
# A machine reused from an earlier run.
if dpkg -s authnzd >/dev/null 2>&1; then
  dpkg --purge authnzd
fi
if curl -s -o /dev/null "$url/health"; then
  fail "something already answers on $url"
fi

dpkg -i "$deb"
getent passwd authnzd >/dev/null || fail "no authnzd user"
[ "$(owner_mode "$state")" = "authnzd:authnzd 750" ] || fail "$state is $(owner_mode "$state")"
[ "$(owner_mode "$conf")" = "root:authnzd 640" ] || fail "$conf is $(owner_mode "$conf")"
authnzd check-config --config "$conf"

server=""
stop_server() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" || fail "authnzd exited with $? on SIGTERM"
    server=""
  fi
}
trap 'kill -KILL "$server" 2>/dev/null || true' EXIT
# As the unit runs it: its user, umask and working directory, a clean
# environment. setpriv execs, so $! is the server itself.
start_server() {
  log="$(mktemp)"
  (
    cd "$state"
    umask 0077
    exec env -i PATH=/usr/bin:/bin setpriv --reuid=authnzd --regid=authnzd \
      --clear-groups --no-new-privs /usr/bin/authnzd serve --config "$conf"
  ) 2>"$log" &
  server=$!
  for _ in $(seq 1 60); do
    if health="$(curl -fsS "$url/health" 2>/dev/null)"; then
      echo "ci-install: /health: $health"
      grep -q '"status"' <<<"$health" || fail "unexpected /health: $health"
      return
    fi
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; fail "authnzd exited during start-up"; }
    sleep 1
  done
  cat "$log" >&2
  fail "authnzd did not answer /health within 60 s"
}

start_server
# The first start made the key, the database and the superuser's
# credentials, the service's alone.
for made in authnzd.key authnzd.sqlite authnzd-superuser.json; do
  [ "$(owner_mode "$state/$made")" = "authnzd:authnzd 600" ] ||
    fail "$state/$made is $(owner_mode "$state/$made" 2>&1)"
done
stop_server

# An upgrade (the same package again) keeps the key, the database and an
# edited config.
key_before="$(sha256sum "$state/authnzd.key")"
sed -i 's/^# log_requests = true$/log_requests = false/' "$conf"
grep -q '^log_requests = false$' "$conf" || fail "could not edit $conf"
dpkg -i "$deb" </dev/null
grep -q '^log_requests = false$' "$conf" || fail "the upgrade replaced the edited $conf"
[ "$(sha256sum "$state/authnzd.key")" = "$key_before" ] || fail "the upgrade changed the key"
[ -s "$state/authnzd.sqlite" ] || fail "the upgrade lost the database"
[ "$(owner_mode "$conf")" = "root:authnzd 640" ] || fail "$conf is $(owner_mode "$conf")"
start_server
stop_server

dpkg --purge authnzd
if dpkg -s authnzd >/dev/null 2>&1; then fail "still installed"; fi
# (-L too: the unit's enablement is a symlink.)
for gone in /usr/bin/authnzd /usr/lib/systemd/system/authnzd.service /etc/authnzd "$state" \
  /etc/systemd/system/multi-user.target.wants/authnzd.service; do
  [ ! -e "$gone" ] && [ ! -L "$gone" ] || fail "$gone left after purge"
done
if getent passwd authnzd >/dev/null; then fail "user authnzd left after purge"; fi
if getent group authnzd >/dev/null; then fail "group authnzd left after purge"; fi
echo "ci-install: installed, served, upgraded and purged cleanly"
