"""Servers for the tests: real authnzd processes (the binary from
`AUTHNZD_BIN`, else `$CARGO_TARGET_DIR/debug/authnzd`, else the workspace's
`target/debug/authnzd`), and a scripted stand-in for what a real server
cannot be made to do (answer with the wrong request id, speak TLS)."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[3]
SUPERUSER_PASSWORD = "correct-Horse-battery-9981"


def binary() -> Path:
    if os.environ.get("AUTHNZD_BIN"):
        return Path(os.environ["AUTHNZD_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target / "debug" / "authnzd"


@dataclass
class Server:
    url: str
    key: str
    process: subprocess.Popen[bytes]


StartServer = Callable[[str], Server]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(rate_limits: str) -> dict[str, str]:
    # The caller's AUTHNZD_* / AUTHNZERVER_* (a client's URL and secret,
    # often) would configure the server too: a secret from there wins over
    # --key-file, and the key file the tests read would never be written.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHNZD_", "AUTHNZERVER_"))}
    env.update(
        AUTHNZD_SUPERUSER_PASSWORD=SUPERUSER_PASSWORD,
        AUTHNZD_RATE_LIMITS=rate_limits,
        # Cheap hashes: the suite logs in, it does not measure argon2.
        AUTHNZD_ARGON2_MEMORY_KIB="1024",
        AUTHNZD_ARGON2_ITERATIONS="1",
        AUTHNZD_LOG_LEVEL="warn",
    )
    return env


def start(workdir: Path, rate_limits: str) -> Server:
    exe = binary()
    if not exe.exists():
        pytest.fail(f"no authnzd binary at {exe}: build it (cargo build) or set AUTHNZD_BIN")
    port = free_port()
    log = workdir / "authnzd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(exe),
                "serve",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{workdir / 'a.sqlite'}",
                "--key-file",
                str(workdir / "k.key"),
            ],
            cwd=workdir,
            env=server_env(rate_limits),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"authnzd exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "health", timeout=1).status_code == 200:
                return Server(url, (workdir / "k.key").read_text().strip(), process)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"authnzd did not answer /health within 30 s:\n{log.read_text()[-2000:]}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as d:
        s = start(Path(d), "none")
        yield s
        stop(s)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Starts extra servers with the given rate limits; stops them after."""
    started: list[Server] = []

    def run(rate_limits: str) -> Server:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        started.append(start(workdir, rate_limits))
        return started[-1]

    yield run
    for s in started:
        stop(s)


Envelope = dict[str, Any]


def echo(envelope: Envelope) -> Envelope:
    """A well-behaved answer, shaped as authnzerver's: the outcome repeated
    inside ``response``."""
    return {
        "success": True,
        "response": {"success": True, "messages": ["ok"], "failure_reason": None, "echo": 1},
        "messages": ["ok"],
        "failure_reason": None,
        "reqid": envelope["reqid"],
    }


@dataclass
class FakeServer:
    """Decrypts each request into `seen` and answers with `reply(envelope)`,
    under `reply_key` when set (as a server that moved on to a new key)."""

    url: str
    key: bytes
    seen: list[Envelope] = field(default_factory=list)
    reply: Callable[[Envelope], Envelope] = echo
    reply_key: bytes | None = None


def serve_fake(tls: ssl.SSLContext | None = None) -> tuple[FakeServer, HTTPServer]:
    key = Fernet.generate_key()
    f = Fernet(key)
    scheme = "https" if tls else "http"
    fake = FakeServer("", key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            envelope = json.loads(f.decrypt(base64.b64decode(body)))
            fake.seen.append(envelope)
            sealer = Fernet(fake.reply_key) if fake.reply_key else f
            out = base64.b64encode(sealer.encrypt(json.dumps(fake.reply(envelope)).encode()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    # A short poll interval: shutdown() waits for one.
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    fake.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}/"
    return fake, httpd


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    fake, httpd = serve_fake()
    yield fake
    httpd.shutdown()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
