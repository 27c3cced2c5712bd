"""The Python client against a real authnzd."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography.fernet import Fernet

from authnzd_client import AsyncClient, Client, ConfigError, Response

from .conftest import Server

PASSWORD = "tangerine-Voyage-8713-quartz"


def expires(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S")


def new_session(c: Client, user_id: int | None = None) -> str:
    made = c.session_new(
        ip_address="203.0.113.7",
        user_agent="pytest",
        user_id=user_id,
        expires=expires(),
        extra_info_json=None,
    )
    assert made.success, made
    assert made.status_code == 200
    token = made.response["session_token"] if made.response else None
    assert isinstance(token, str)
    return token


def test_session_lifecycle(server: Server) -> None:
    with Client(server.url, server.key) as c:
        token = new_session(c)
        found = c.session_exists(session_token=token)
        assert found.success
        assert found.response is not None
        assert found.response["session_info"]["user_role"] == "anonymous"
        assert c.session_delete(session_token=token).success
        gone = c.session_exists(session_token=token)
        assert not gone.success
        assert gone.status_code == 200
        assert gone.failure_reason


def test_sign_up_login_and_logout(server: Server) -> None:
    with Client(server.url, server.key) as c:
        made = c.user_new(full_name="Py Test", email="py@example.com", password=PASSWORD)
        assert made.success, made
        assert made.response is not None
        user_id = made.response["user_id"]
        anon = new_session(c)
        refused = c.user_login(session_token=anon, email="py@example.com", password=PASSWORD)
        assert not refused.success, "an unverified user logged in"
        assert c.user_set_emailverified(email="py@example.com").success
        anon = new_session(c)
        ok = c.user_login(session_token=anon, email="py@example.com", password=PASSWORD)
        assert ok.success, ok
        assert ok.response is not None and ok.response["user_id"] == user_id
        mine = new_session(c, user_id)
        assert c.user_passcheck(session_token=mine, password=PASSWORD).success
        assert c.user_logout(session_token=mine, user_id=user_id).success
        assert not c.session_exists(session_token=mine).success
        anon = new_session(c)
        wrong = c.user_login(session_token=anon, email="py@example.com", password="x" + PASSWORD)
        assert not wrong.success and wrong.failure_reason


def test_optional_parameters_are_sent_only_when_given(server: Server) -> None:
    with Client(server.url, server.key) as c:
        loose = c.user_validatepass(
            password="aaaaaaaa", email="x@example.com", full_name="X", min_pass_length=4
        )
        strict = c.user_validatepass(password="aaaaaaaa", email="x@example.com", full_name="X")
        assert not strict.success
        # The override changes the verdict on length, not the other rules.
        assert loose.messages != strict.messages


def test_unknown_request_and_explicit_request_id(server: Server) -> None:
    with Client(server.url, server.key) as c:
        r = c.request("no-such-request", {}, request_id=4242)
        assert isinstance(r, Response)
        assert not r.success
        assert r.status_code == 200
        assert r.failure_reason and "unknown request" in r.failure_reason
        # Unpacks like authnzerver's AuthnzerverResponse.
        success, response, messages, headers, status_code, failure_reason = r
        assert (success, response, failure_reason) == (False, r.response, r.failure_reason)
        assert headers is not None and status_code == 200 and messages


def test_wrong_key_is_a_401_answer_not_an_exception(server: Server) -> None:
    with Client(server.url, Fernet.generate_key()) as c:
        r = c.session_exists(session_token="whatever")
        assert not r.success
        assert r.status_code == 401
        assert r.response is None
        assert r.failure_reason


def test_unreachable_server_is_an_answer_too() -> None:
    with Client("http://127.0.0.1:9/", Fernet.generate_key(), timeout=1) as c:
        r = c.session_exists(session_token="x")
        assert not r.success and r.status_code is None
        assert r.failure_reason and "exception" in r.failure_reason


@pytest.fixture
def lying_server() -> Iterator[tuple[str, bytes]]:
    """A server that answers every request with another request's id."""
    key = Fernet.generate_key()
    f = Fernet(key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            envelope = json.loads(f.decrypt(base64.b64decode(body)))
            reply = {
                "success": True,
                "response": {},
                "messages": [],
                "failure_reason": None,
                "reqid": f"not-{envelope['reqid']}",
            }
            out = base64.b64encode(f.encrypt(json.dumps(reply).encode()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", key
    httpd.shutdown()


def test_a_reply_for_another_request_is_refused(lying_server: tuple[str, bytes]) -> None:
    url, key = lying_server
    with Client(url, key) as c:
        r = c.session_exists(session_token="x")
        assert not r.success
        assert r.failure_reason == "authnzerver returned incorrect request ID"


def test_environment_fallbacks(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUTHNZD_URL", "AUTHNZD_SECRET", "AUTHNZERVER_URL", "AUTHNZERVER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError):
        Client()
    monkeypatch.setenv("AUTHNZERVER_URL", server.url)
    monkeypatch.setenv("AUTHNZERVER_SECRET", server.key)
    with Client() as c:
        assert c.session_exists(session_token="x").status_code == 200
    # authnzd's own variables win.
    monkeypatch.setenv("AUTHNZD_URL", server.url)
    monkeypatch.setenv("AUTHNZERVER_URL", "http://127.0.0.1:9/")
    with Client() as c:
        assert c.session_exists(session_token="x").status_code == 200
    monkeypatch.setenv("AUTHNZD_SECRET", "not a key")
    with pytest.raises(ConfigError):
        Client()


def test_key_ring_reads_replies_under_an_older_key(server: Server) -> None:
    ring = f"{Fernet.generate_key().decode()},{server.key}"
    with Client(server.url, ring) as c:
        # Sealed with the first key, which the server does not know.
        assert c.session_exists(session_token="x").status_code == 401
    with Client(server.url, f"{server.key},{Fernet.generate_key().decode()}") as c:
        assert c.session_exists(session_token="x").status_code == 200


@pytest.mark.anyio
async def test_async_client_concurrently(server: Server) -> None:
    async with AsyncClient(server.url, server.key) as c:
        made = await c.session_new(
            ip_address="203.0.113.7",
            user_agent="pytest",
            user_id=None,
            expires=expires(),
            extra_info_json=None,
        )
        assert made.success and made.response is not None
        token = made.response["session_token"]
        answers = await asyncio.gather(*(c.session_exists(session_token=token) for _ in range(50)))
        assert all(a.success for a in answers)
        assert len({id(a) for a in answers}) == 50
        legacy = await c.async_request("session-exists", {"session_token": token})
        assert legacy.success


def test_rate_limited_requests_say_when_to_retry(start_server) -> None:  # type: ignore[no-untyped-def]
    limited: Server = start_server("ipaddr:2; user:2; session:2; apikey:2; burst:2")
    with Client(limited.url, limited.key, client_ipaddr="198.51.100.9") as c:
        answers = [c.session_exists(session_token="x") for _ in range(5)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert all(a.status_code in (200, 429) for a in answers)
    assert refused[0].retry_after is not None and refused[0].retry_after > 0
    assert not refused[0].success
    # Without an address the server cannot limit, and says so.
    with Client(limited.url, limited.key) as c:
        assert c.session_exists(session_token="x").status_code == 400
