#!/usr/bin/env bash
# Installs the Python client with its test tools in a scratch venv and runs
# lint, strict typing and the pytest suite against a real authnzd
# (AUTHNZD_BIN, else the workspace's debug build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${TMPDIR:-/tmp}/authnzd-python-client-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e "$here[test]"
cd "$here"
"$venv/bin/ruff" check src tests
"$venv/bin/ruff" format --check src tests
"$venv/bin/mypy" src tests
"$venv/bin/python" -m pytest -q -p anyio "$@"
