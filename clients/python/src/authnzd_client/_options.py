"""What every request method shares besides its parameters: the per-call
options, and leaving out optional parameters that were not given. The methods
themselves are generated (`_methods.py`, by ``generate.py``)."""

from __future__ import annotations

from typing import Any, TypedDict


class CallOptions(TypedDict, total=False):
    """Keyword arguments every request method takes besides its parameters."""

    #: The end user's address for this call, overriding the client's own
    #: ``client_ipaddr``: one shared client serves many users.
    client_ipaddr: str
    #: Echoed back by the server; generated when not given.
    request_id: str | int


def given(**optional: Any) -> dict[str, Any]:
    """The optional parameters that were passed: left out rather than sent as
    null, which most of them do not accept."""
    return {k: v for k, v in optional.items() if v is not None}
