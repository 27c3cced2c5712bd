"""What every request returns, shaped as authnzerver's client's
``AuthnzerverResponse`` so code written for it keeps working."""

from __future__ import annotations

from typing import Any, NamedTuple

TROUBLE = [
    "This request could not be completed.",
    "There was a problem communicating with the auth server.",
]


class Response(NamedTuple):
    """``success`` is the server's answer; ``response`` its fields (None when
    the request never got an answer); ``status_code`` the HTTP status (None
    when the server could not be reached)."""

    success: bool
    response: dict[str, Any] | None
    messages: list[str] | None
    headers: dict[str, str] | None
    status_code: int | None
    failure_reason: str | None

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait, when the server refused for rate limiting (429)."""
        if not self.headers:
            return None
        for name, value in self.headers.items():
            if name.lower() == "retry-after":
                try:
                    return float(value)
                except ValueError:
                    return None
        return None


def failed(
    reason: str, status: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(False, None, list(TROUBLE), headers, status, reason)


def from_reply(
    reply: dict[str, Any] | None, reqid: str | int, status: int, headers: dict[str, str]
) -> Response:
    """A decrypted 200 reply, checked against the request's id."""
    if reply is None:
        return failed("could not decrypt authnzerver response", status, headers)
    if reply.get("reqid") != reqid:
        return failed("authnzerver returned incorrect request ID", status, headers)
    response = reply.get("response")
    fields = dict(response) if isinstance(response, dict) else {}
    for key in ("success", "messages", "failure_reason"):
        fields.pop(key, None)
    messages = reply.get("messages")
    return Response(
        success=reply.get("success") is True,
        response=fields,
        messages=list(messages) if isinstance(messages, list) else None,
        headers=headers,
        status_code=status,
        failure_reason=reply.get("failure_reason"),
    )
