"""Client for authnzd, and for authnzerver: the same encrypted RPC protocol.

>>> from authnzd_client import Client
>>> with Client("http://127.0.0.1:13431/", key) as c:      # doctest: +SKIP
...     made = c.session_new(ip_address="203.0.113.7", user_agent="Mozilla/5.0",
...                          user_id=None, expires="2030-01-01T00:00:00",
...                          extra_info_json=None)
...     c.session_exists(session_token=made.response["session_token"]).success
True
"""

from ._client import AsyncClient, Client
from ._envelope import ConfigError
from ._options import CallOptions
from ._response import Response

__all__ = ["AsyncClient", "CallOptions", "Client", "ConfigError", "Response"]
