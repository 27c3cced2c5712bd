"""What the client puts on the wire and how it reads answers, against a
scripted server that records every decrypted request."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authnzd_client import AsyncClient, Client

from .conftest import Envelope, FakeServer, serve_fake


def test_envelope_fields(fake_server: FakeServer) -> None:
    with Client(fake_server.url, fake_server.key, client_ipaddr="192.0.2.1") as c:
        c.session_exists(session_token="t1")
        c.session_exists(session_token="t2", client_ipaddr="192.0.2.2", request_id=99)
        # authnzerver's client carries the address inside the body.
        c.request("session-exists", {"session_token": "t3", "client_ipaddr": "192.0.2.3"})
        c.request("session-exists", {"session_token": "t4"}, "trace-4", client_ipaddr="192.0.2.4")
    first, second, third, fourth = fake_server.seen
    assert first["request"] == "session-exists"
    assert first["body"] == {"session_token": "t1"}
    assert first["client_ipaddr"] == "192.0.2.1"
    assert isinstance(first["reqid"], str) and len(first["reqid"]) >= 8
    assert (second["client_ipaddr"], second["reqid"]) == ("192.0.2.2", 99)
    assert third["client_ipaddr"] == "192.0.2.3"
    assert (fourth["client_ipaddr"], fourth["reqid"]) == ("192.0.2.4", "trace-4")


def test_fresh_request_ids_and_no_address_unless_known(fake_server: FakeServer) -> None:
    with Client(fake_server.url, fake_server.key) as c:
        for _ in range(20):
            c.session_exists(session_token="t")
    assert len({e["reqid"] for e in fake_server.seen}) == 20
    assert all("client_ipaddr" not in e for e in fake_server.seen)


def test_optional_parameters_are_left_out_and_datetimes_sent_as_iso(
    fake_server: FakeServer,
) -> None:
    with Client(fake_server.url, fake_server.key) as c:
        c.user_new(full_name="A", email="a@example.com", password="p")
        c.user_new(full_name="A", email="a@example.com", password="p", verify_retry_wait=6)
        c.session_new(
            ip_address="192.0.2.1",
            user_agent="ua",
            user_id=None,
            expires=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            extra_info_json=None,
        )
    bare, with_wait, session = (e["body"] for e in fake_server.seen)
    assert bare == {"full_name": "A", "email": "a@example.com", "password": "p"}
    assert with_wait["verify_retry_wait"] == 6
    # Required but nullable: sent as null, not left out.
    assert session["user_id"] is None and session["extra_info_json"] is None
    assert session["expires"] == "2030-01-02T03:04:05+00:00"


def test_answer_is_unpacked_as_authnzerver_does(fake_server: FakeServer) -> None:
    with Client(fake_server.url, fake_server.key) as c:
        r = c.session_exists(session_token="t")
    assert r.success is True
    # The outcome repeated inside `response` is stripped, the rest kept.
    assert r.response == {"echo": 1}
    assert r.messages == ["ok"]
    assert r.failure_reason is None
    assert r.status_code == 200
    assert r.headers is not None and r.headers["Content-Length"]


def wrong_reqid(envelope: Envelope) -> Envelope:
    return {"success": True, "response": {}, "messages": [], "reqid": f"x{envelope['reqid']}"}


def reqid_as_text(envelope: Envelope) -> Envelope:
    return {"success": True, "response": {}, "messages": [], "reqid": str(envelope["reqid"])}


@pytest.mark.parametrize("reply", [wrong_reqid, reqid_as_text])
def test_a_reply_for_another_request_is_refused(fake_server: FakeServer, reply: object) -> None:
    fake_server.reply = reply  # type: ignore[assignment]
    with Client(fake_server.url, fake_server.key) as c:
        r = c.session_exists(session_token="x", request_id=12345)
    assert not r.success
    assert r.response is None
    assert r.status_code == 200
    assert r.failure_reason == "authnzerver returned incorrect request ID"


@pytest.mark.anyio
async def test_async_client_refuses_a_reply_for_another_request(fake_server: FakeServer) -> None:
    fake_server.reply = wrong_reqid
    async with AsyncClient(fake_server.url, fake_server.key) as c:
        r = await c.session_exists(session_token="x")
    assert not r.success and r.failure_reason == "authnzerver returned incorrect request ID"


def test_reply_under_an_unknown_key(fake_server: FakeServer) -> None:
    new_key = Fernet.generate_key()
    fake_server.reply_key = new_key
    with Client(fake_server.url, fake_server.key) as c:
        r = c.session_exists(session_token="x")
    assert not r.success and r.response is None and r.status_code == 200
    assert r.failure_reason == "could not decrypt authnzerver response"
    # A key ring seals with its first key and reads replies under any.
    with Client(fake_server.url, f"{fake_server.key.decode()},{new_key.decode()}") as c:
        assert c.session_exists(session_token="x").success


# TLS: a self-signed certificate for 127.0.0.1 serves as the server's, as
# the client's, and as the CA that trusts both.


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def mtls_server(cert: tuple[Path, Path]) -> Iterator[FakeServer]:
    """HTTPS that also demands a client certificate signed by `cert`."""
    certfile, keyfile = cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    ctx.load_verify_locations(certfile)
    ctx.verify_mode = ssl.CERT_REQUIRED
    fake, httpd = serve_fake(ctx)
    yield fake
    httpd.shutdown()


def test_tls_with_a_client_certificate(mtls_server: FakeServer, cert: tuple[Path, Path]) -> None:
    certfile, keyfile = cert
    trusting = ssl.create_default_context(cafile=str(certfile))
    with Client(
        mtls_server.url,
        mtls_server.key,
        verify=trusting,
        tls_certfile=str(certfile),
        tls_keyfile=str(keyfile),
        timeout=2,
    ) as c:
        assert c.session_exists(session_token="x").success
    # Without the client certificate the server hangs up: an answer, not a raise.
    with Client(
        mtls_server.url,
        mtls_server.key,
        verify=ssl.create_default_context(cafile=str(certfile)),
        timeout=2,
    ) as c:
        r = c.session_exists(session_token="x")
        assert not r.success and r.status_code is None and r.failure_reason
    # An untrusted server certificate is refused.
    with Client(
        mtls_server.url,
        mtls_server.key,
        tls_certfile=str(certfile),
        tls_keyfile=str(keyfile),
        timeout=2,
    ) as c:
        r = c.session_exists(session_token="x")
        assert r.status_code is None and r.failure_reason
        assert "CERTIFICATE_VERIFY_FAILED" in r.failure_reason
