#!/usr/bin/env bash
# Installs the Python client with its test tools in a scratch venv and runs
# lint, strict typing and the pytest suite against a real authnzd
# (AUTHNZD_BIN, else $CARGO_TARGET_DIR/debug/authnzd, else the workspace's
# target/debug/authnzd). Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# One venv per checkout: it holds an editable install of this one, and
# worktrees may run their CI side by side.
venv="${TMPDIR:-/tmp}/authnzd-python-client-$(printf %s "$here" | sha256sum | cut -c1-12)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e "$here[test]"
cd "$here"
"$venv/bin/ruff" check src tests generate.py
"$venv/bin/ruff" format --check src tests generate.py
"$venv/bin/mypy" src tests generate.py
"$venv/bin/python" -m pytest -q "$@"
