"""`Client` (blocking) and `AsyncClient` (asyncio), each on one pooled
httpx client."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from secrets import token_urlsafe
from types import TracebackType
from typing import Any, Self

import httpx

from ._envelope import ConfigError, first_env, key_ring, open_reply, seal
from ._methods import RequestMethods
from ._response import Response, failed, from_reply

DEFAULT_TIMEOUT = 5.0


class _Base:
    def __init__(
        self,
        url: str | None = None,
        secret: str | bytes | None = None,
        *,
        client_ipaddr: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
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
        self.timeout = timeout

    def _envelope(
        self, request_type: str, request_body: Mapping[str, Any], request_id: str | int | None
    ) -> tuple[str | int, bytes]:
        reqid: str | int = token_urlsafe(8) if request_id is None else request_id
        envelope: dict[str, Any] = {
            "request": request_type,
            "body": dict(request_body),
            "reqid": reqid,
        }
        # authnzerver's client carries the address in the body; either works.
        ipaddr = request_body.get("client_ipaddr", self.client_ipaddr)
        if ipaddr is not None:
            envelope["client_ipaddr"] = ipaddr
        return reqid, seal(self._ring, envelope)

    def _answer(self, reqid: str | int, http: httpx.Response) -> Response:
        headers = dict(http.headers)
        if http.status_code != 200:
            return failed(http.text.strip(), http.status_code, headers)
        return from_reply(open_reply(self._ring, http.content), reqid, http.status_code, headers)


def _unreachable(e: Exception) -> Response:
    return failed(f"ran into an exception in request to authnzerver: {e!r}")


class Client(_Base, RequestMethods[Response]):
    """Blocking client. ``url`` and ``secret`` default to ``AUTHNZD_URL`` /
    ``AUTHNZD_SECRET``, then authnzerver's ``AUTHNZERVER_URL`` /
    ``AUTHNZERVER_SECRET``. ``client_ipaddr`` is sent with every request
    unless the body names its own (authnzd needs it when rate limits are on).
    """

    def __init__(
        self,
        url: str | None = None,
        secret: str | bytes | None = None,
        *,
        client_ipaddr: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(url, secret, client_ipaddr=client_ipaddr, timeout=timeout)
        self._http = httpx.Client(timeout=timeout)

    def request(
        self,
        request_type: str,
        request_body: Mapping[str, Any],
        request_id: str | int | None = None,
    ) -> Response:
        """Sends one request. Never raises for HTTP or network trouble: the
        ``Response`` says what happened."""
        reqid, body = self._envelope(request_type, request_body, request_id)
        try:
            http = self._http.post(self.url, content=body)
        except httpx.HTTPError as e:
            return _unreachable(e)
        return self._answer(reqid, http)

    def _call(self, request_type: str, body: dict[str, Any]) -> Response:
        return self.request(request_type, body)

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

    def __init__(
        self,
        url: str | None = None,
        secret: str | bytes | None = None,
        *,
        client_ipaddr: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(url, secret, client_ipaddr=client_ipaddr, timeout=timeout)
        self._http = httpx.AsyncClient(timeout=timeout)

    async def request(
        self,
        request_type: str,
        request_body: Mapping[str, Any],
        request_id: str | int | None = None,
    ) -> Response:
        """Sends one request; see `Client.request`."""
        reqid, body = self._envelope(request_type, request_body, request_id)
        try:
            http = await self._http.post(self.url, content=body)
        except httpx.HTTPError as e:
            return _unreachable(e)
        return self._answer(reqid, http)

    # authnzerver's client spells the coroutine this way.
    async_request = request

    def _call(self, request_type: str, body: dict[str, Any]) -> Awaitable[Response]:
        return self.request(request_type, body)

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
