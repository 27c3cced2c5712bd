"""The client against a real authnzd."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from authnzd_client import AsyncClient, Client, ConfigError, Response

from .conftest import Server, StartServer

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
    assert made.response is not None
    token = made.response["session_token"]
    assert isinstance(token, str)
    return token


def test_session_lifecycle(server: Server) -> None:
    with Client(server.url, server.key) as c:
        made = c.session_new(
            ip_address="203.0.113.7",
            user_agent="lifecycle",
            user_id=None,
            # A datetime goes out as ISO 8601, as with authnzerver's client.
            expires=datetime.now(UTC) + timedelta(hours=1),
            extra_info_json={"k": "v"},
        )
        assert made.success and made.status_code == 200, made
        assert made.response is not None
        token = made.response["session_token"]
        found = c.session_exists(session_token=token)
        assert found.success, found
        assert found.response is not None
        info = found.response["session_info"]
        assert (info["user_role"], info["user_agent"]) == ("anonymous", "lifecycle")
        assert c.session_delete(session_token=token).success
        gone = c.session_exists(session_token=token)
        assert not gone.success
        assert gone.status_code == 200
        assert gone.failure_reason


def test_sign_up_login_passcheck_and_logout(server: Server) -> None:
    with Client(server.url, server.key) as c:
        made = c.user_new(full_name="Py Test", email="py@example.com", password=PASSWORD)
        assert made.success, made
        assert made.response is not None
        user_id = made.response["user_id"]
        refused = c.user_login(
            session_token=new_session(c), email="py@example.com", password=PASSWORD
        )
        assert not refused.success, "an unverified user logged in"
        assert c.user_set_emailverified(email="py@example.com").success
        ok = c.user_login(session_token=new_session(c), email="py@example.com", password=PASSWORD)
        assert ok.success, ok
        assert ok.response is not None and ok.response["user_id"] == user_id
        mine = new_session(c, user_id)
        assert c.user_passcheck(session_token=mine, password=PASSWORD).success
        assert not c.user_passcheck(session_token=mine, password=PASSWORD + "x").success
        assert c.user_logout(session_token=mine, user_id=user_id).success
        assert not c.session_exists(session_token=mine).success
        wrong = c.user_login(
            session_token=new_session(c), email="py@example.com", password="x" + PASSWORD
        )
        assert not wrong.success and wrong.failure_reason and wrong.messages


def test_optional_parameters_reach_the_server(server: Server) -> None:
    with Client(server.url, server.key) as c:
        loose = c.user_validatepass(
            password="aaaaaaaa", email="x@example.com", full_name="X", min_pass_length=4
        )
        strict = c.user_validatepass(password="aaaaaaaa", email="x@example.com", full_name="X")
        assert not strict.success
        # The override changes the verdict on length, not the other rules.
        assert loose.messages != strict.messages


def test_unknown_request_type_and_explicit_request_id(server: Server) -> None:
    with Client(server.url, server.key) as c:
        # An int request id must come back an int, or the reply is refused.
        r = c.request("no-such-request", {}, request_id=4242)
        assert isinstance(r, Response)
        assert not r.success
        assert r.status_code == 200
        assert r.failure_reason == "unknown request type"
        # Unpacks like authnzerver's AuthnzerverResponse.
        success, _, _, headers, status_code, failure_reason = r
        assert (success, status_code, failure_reason) == (False, 200, "unknown request type")
        assert headers is not None and headers["Content-Type"].startswith("text/plain")


def test_bad_parameters_are_reported_in_the_response(server: Server) -> None:
    with Client(server.url, server.key) as c:
        r = c.request("session-exists", {"session_token": 5}, request_id="params")
    assert not r.success and r.failure_reason == "invalid request parameters"
    assert r.response is not None
    assert [p["param"] for p in r.response["problems"]] == ["session_token"]


def test_wrong_key_is_a_401_answer_not_an_exception(server: Server) -> None:
    with Client(server.url, Fernet.generate_key()) as c:
        r = c.session_exists(session_token="whatever")
    assert not r.success
    assert r.status_code == 401
    assert r.response is None
    assert r.failure_reason and "decrypted" in r.failure_reason
    assert r.messages


def test_key_ring_seals_with_its_first_key(server: Server) -> None:
    other = Fernet.generate_key().decode()
    with Client(server.url, f"{other},{server.key}") as c:
        assert c.session_exists(session_token="x").status_code == 401
    with Client(server.url, f"{server.key},{other}") as c:
        assert c.session_exists(session_token="x").status_code == 200


def test_unreachable_server_is_an_answer_too() -> None:
    with Client("http://127.0.0.1:9/", Fernet.generate_key(), timeout=1) as c:
        r = c.session_exists(session_token="x")
    assert not r.success and r.status_code is None and r.headers is None
    assert r.failure_reason and "exception" in r.failure_reason


def test_environment_fallbacks(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AUTHNZD_URL", "AUTHNZD_SECRET", "AUTHNZERVER_URL", "AUTHNZERVER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError):
        Client()
    monkeypatch.setenv("AUTHNZERVER_URL", server.url)
    monkeypatch.setenv("AUTHNZERVER_SECRET", f'"{server.key}"')  # quoted, as in .env files
    with Client() as c:
        assert c.session_exists(session_token="x").status_code == 200
    # authnzd's own variables win over authnzerver's...
    monkeypatch.setenv("AUTHNZD_URL", server.url)
    monkeypatch.setenv("AUTHNZERVER_URL", "http://127.0.0.1:9/")
    with Client() as c:
        assert c.session_exists(session_token="x").status_code == 200
    monkeypatch.setenv("AUTHNZD_SECRET", Fernet.generate_key().decode())
    with Client() as c:
        assert c.session_exists(session_token="x").status_code == 401
    # ...and arguments win over both.
    with Client(secret=server.key) as c:
        assert c.session_exists(session_token="x").status_code == 200
    monkeypatch.setenv("AUTHNZD_SECRET", "not a key")
    with pytest.raises(ConfigError):
        Client()


@pytest.mark.anyio
async def test_async_client_concurrently(server: Server) -> None:
    async with AsyncClient(server.url, server.key) as c:
        made = await asyncio.gather(
            *(
                c.session_new(
                    ip_address="203.0.113.7",
                    user_agent=f"agent-{i}",
                    user_id=None,
                    expires=expires(),
                    extra_info_json=None,
                )
                for i in range(20)
            )
        )
        assert all(m.success and m.response for m in made), made
        tokens = [m.response["session_token"] for m in made if m.response]
        assert len(set(tokens)) == 20
        # 100 requests in flight at once; each answer must be its own.
        found = await asyncio.gather(
            *(c.session_exists(session_token=tokens[i % 20]) for i in range(100))
        )
        for i, answer in enumerate(found):
            assert answer.success, answer
            assert answer.response is not None
            assert answer.response["session_info"]["user_agent"] == f"agent-{i % 20}"
        legacy = await c.async_request("session-exists", {"session_token": tokens[0]})
        assert legacy.success


@pytest.mark.anyio
async def test_async_client_http_failures(server: Server) -> None:
    async with AsyncClient(server.url, Fernet.generate_key()) as c:
        r = await c.session_exists(session_token="x")
        assert (r.success, r.status_code) == (False, 401)
    async with AsyncClient("http://127.0.0.1:9/", Fernet.generate_key(), timeout=1) as c:
        r = await c.session_exists(session_token="x")
        assert (r.success, r.status_code) == (False, None)


def test_rate_limited_requests_say_when_to_retry(start_server: StartServer) -> None:
    # One session-group request per 30 s per address, no burst beyond it.
    limited = start_server("session:2; burst:1")
    with Client(limited.url, limited.key, client_ipaddr="198.51.100.9") as c:
        answers = [c.session_exists(session_token="x") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 429, 429]
        refused = answers[1]
        assert not refused.success and refused.response is None
        assert refused.failure_reason and "rate limit" in refused.failure_reason
        assert refused.retry_after is not None and 0 < refused.retry_after <= 30
        assert refused.headers is not None and refused.headers["Retry-After"]
        # Limits are per end user: another address, given per call, passes.
        other = c.session_exists(session_token="x", client_ipaddr="198.51.100.10")
        assert other.status_code == 200
        again = c.session_exists(session_token="x", client_ipaddr="198.51.100.10")
        assert again.status_code == 429
    # Without an address the server cannot limit, and says so.
    with Client(limited.url, limited.key) as c:
        r = c.session_exists(session_token="x")
    assert r.status_code == 400
    assert r.failure_reason and "client_ipaddr" in r.failure_reason
    assert r.retry_after is None
