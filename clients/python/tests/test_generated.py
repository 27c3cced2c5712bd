"""The checked-in request methods are what ``generate.py`` makes of the
server's live catalogue: a request added, renamed or re-documented in
``clients/proto/src/requests.rs`` fails here until the file is regenerated."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import binary

HERE = Path(__file__).resolve().parents[1]
GENERATED = HERE / "src" / "authnzd_client" / "_methods.py"


def test_generated_methods_are_current() -> None:
    exe = binary()
    if not exe.exists():
        pytest.fail(f"no authnzd binary at {exe}: build it (cargo build) or set AUTHNZD_BIN")
    fresh = subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--authnzd", str(exe), "-o", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    current = GENERATED.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            "checked in",
            "generated",
        )
    )
    assert not diff, f"run clients/python/generate.py:\n{diff}"
