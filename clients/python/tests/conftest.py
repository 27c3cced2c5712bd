"""Starts real authnzd servers for the tests: the binary from `AUTHNZD_BIN`,
else the workspace's debug build."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]


def binary() -> Path:
    if os.environ.get("AUTHNZD_BIN"):
        return Path(os.environ["AUTHNZD_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "authnzd"


@dataclass
class Server:
    url: str
    key: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(workdir: Path, rate_limits: str) -> Server:
    exe = binary()
    if not exe.exists():
        pytest.fail(f"no authnzd binary at {exe}: build it (cargo build) or set AUTHNZD_BIN")
    port = free_port()
    env = dict(
        os.environ,
        AUTHNZD_SUPERUSER_PASSWORD="correct-Horse-battery-9981",
        AUTHNZD_RATE_LIMITS=rate_limits,
        AUTHNZD_ARGON2_MEMORY_KIB="1024",
        AUTHNZD_ARGON2_ITERATIONS="1",
        AUTHNZD_LOG_LEVEL="warn",
    )
    process = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite://{workdir / 'authnzd.sqlite'}",
            "--key-file",
            str(workdir / "authnzd.key"),
        ],
        cwd=workdir,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"authnzd exited with {process.returncode}")
        try:
            if httpx.get(url + "health", timeout=1).status_code == 200:
                key = (workdir / "authnzd.key").read_text().strip()
                return Server(url, key, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    pytest.fail("authnzd did not answer /health within 30 s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as d:
        s = start(Path(d), "none")
        yield s
        stop(s)


@pytest.fixture
def start_server() -> Iterator[Callable[[str], Server]]:
    """Starts extra servers with the given rate limits; stops them after."""
    started: list[Server] = []
    dirs: list[tempfile.TemporaryDirectory[str]] = []

    def run(rate_limits: str) -> Server:
        d = tempfile.TemporaryDirectory()
        dirs.append(d)
        s = start(Path(d.name), rate_limits)
        started.append(s)
        return s

    yield run
    for s in started:
        stop(s)
    for d in dirs:
        d.cleanup()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
