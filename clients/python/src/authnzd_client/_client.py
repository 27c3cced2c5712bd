"""`Client` (blocking) and `AsyncClient` (asyncio), each on one pooled
httpx client."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Mapping
from secrets import token_urlsafe
from types import TracebackType
from typing import Any, Self

import httpx

from ._envelope import ConfigError, first_env, key_ring, open_reply, seal
from ._methods import RequestMethods
from ._options import CallOptions
from ._response import Response, failed, from_reply

#: Seconds, for connecting and for the whole request (authnzerver's client's).
DEFAULT_TIMEOUT = 5.0

Verify = bool | ssl.SSLContext


def _tls(verify: Verify, certfile: str | None, keyfile: str | None) -> Verify:
    """httpx's ``verify``, carrying the client certificate when one is given
    (authnzerver's client's ``tls_certfile`` / ``tls_keyfile``)."""
    if certfile is None:
        return verify
    if isinstance(verify, ssl.SSLContext):
        ctx = verify
    else:
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def _header_name(name: str) -> str:
    # authnzerver's client handed out Tornado's header names ("Retry-After"),
    # and frontends index its dict with them; httpx's are lower case.
    return "-".join(part.capitalize() for part in name.split("-"))


class _Base:
    """Configuration and the envelope, shared by both clients; each opens its
    own kind of httpx client in `_connect`."""

    def __init__(
        self,
        url: str | None = None,
        secret: str | bytes | None = None,
        *,
        client_ipaddr: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        verify: Verify = True,
        tls_certfile: str | None = None,
        tls_keyfile: str | None = None,
    ) -> None:
        # authnzd's own variables win over authnzerver's.
        found_url = url or first_env("AUTHNZD_URL", "AUTHNZERVER_URL")
        found_secret = secret or first_env("AUTHNZD_SECRET", "AUTHNZERVER_SECRET")
        if not found_url:
            raise ConfigError("no server URL: pass url or set AUTHNZD_URL / AUTHNZERVER_URL")
        if not found_secret:
            raise ConfigError("no key: pass secret or set AUTHNZD_SECRET / AUTHNZERVER_SECRET")
        self.url = found_url.strip().strip('"')
        self._ring = key_ring(found_secret)
        self.client_ipaddr = client_ipaddr
        self._connect(timeout=timeout, verify=_tls(verify, tls_certfile, tls_keyfile))

    def _connect(self, *, timeout: float | httpx.Timeout, verify: Verify) -> None:
        raise NotImplementedError

    def _envelope(
        self,
        request_type: str,
        request_body: Mapping[str, Any],
        request_id: str | int | None,
        client_ipaddr: str | None,
    ) -> tuple[str | int, bytes]:
        reqid: str | int = token_urlsafe(8) if request_id is None else request_id
        envelope: dict[str, Any] = {
            "request": request_type,
            "body": dict(request_body),
            "reqid": reqid,
        }
        # authnzerver's client carries the address in the body; either works.
        ipaddr = client_ipaddr or request_body.get("client_ipaddr") or self.client_ipaddr
        if ipaddr is not None:
            envelope["client_ipaddr"] = ipaddr
        return reqid, seal(self._ring, envelope)

    def _answer(self, reqid: str | int, http: httpx.Response) -> Response:
        headers = {_header_name(k): v for k, v in http.headers.items()}
        if http.status_code != 200:
            # authnzd explains a refusal in one plain-text line.
            reason = http.text.strip() or f"HTTP {http.status_code} {http.reason_phrase}"
            return failed(reason, http.status_code, headers)
        return from_reply(open_reply(self._ring, http.content), reqid, http.status_code, headers)


def _unreachable(e: Exception) -> Response:
    return failed(f"ran into an exception in request to authnzerver: {e!r}")


class Client(_Base, RequestMethods[Response]):
    """Blocking client. ``url`` and ``secret`` default to ``AUTHNZD_URL`` /
    ``AUTHNZD_SECRET``, then authnzerver's ``AUTHNZERVER_URL`` /
    ``AUTHNZERVER_SECRET``. ``client_ipaddr`` is sent with every request
    unless the call names its own (authnzd needs it when rate limits are on).
    ``timeout`` is in seconds or an ``httpx.Timeout``. ``verify`` (``False``
    or an ``ssl.SSLContext``, into which a client certificate is loaded),
    ``tls_certfile`` and ``tls_keyfile`` set up HTTPS to a TLS-terminating
    proxy in front of the server.
    """

    _http: httpx.Client

    def _connect(self, *, timeout: float | httpx.Timeout, verify: Verify) -> None:
        self._http = httpx.Client(timeout=timeout, verify=verify)

    def request(
        self,
        request_type: str,
        request_body: Mapping[str, Any],
        request_id: str | int | None = None,
        *,
        client_ipaddr: str | None = None,
    ) -> Response:
        """Sends one request. Never raises for HTTP or network trouble: the
        ``Response`` says what happened. The end user's address is
        ``client_ipaddr``, else ``request_body["client_ipaddr"]`` (where
        authnzerver's client wants it), else the client's."""
        reqid, body = self._envelope(request_type, request_body, request_id, client_ipaddr)
        try:
            http = self._http.post(self.url, content=body)
        except httpx.HTTPError as e:
            return _unreachable(e)
        return self._answer(reqid, http)

    def _call(self, request_type: str, body: dict[str, Any], call: CallOptions) -> Response:
        return self.request(request_type, body, **call)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Base, RequestMethods[Awaitable[Response]]):
    """As `Client`, for asyncio: every method is a coroutine."""

    _http: httpx.AsyncClient

    def _connect(self, *, timeout: float | httpx.Timeout, verify: Verify) -> None:
        self._http = httpx.AsyncClient(timeout=timeout, verify=verify)

    async def request(
        self,
        request_type: str,
        request_body: Mapping[str, Any],
        request_id: str | int | None = None,
        *,
        client_ipaddr: str | None = None,
    ) -> Response:
        """Sends one request; see `Client.request`."""
        reqid, body = self._envelope(request_type, request_body, request_id, client_ipaddr)
        try:
            http = await self._http.post(self.url, content=body)
        except httpx.HTTPError as e:
            return _unreachable(e)
        return self._answer(reqid, http)

    # authnzerver's client spells the coroutine this way.
    async_request = request

    def _call(
        self, request_type: str, body: dict[str, Any], call: CallOptions
    ) -> Awaitable[Response]:
        return self.request(request_type, body, **call)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
