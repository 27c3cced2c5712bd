"""The wire format: a JSON envelope, Fernet-encrypted, then base64 again
(authnzerver's double encoding), sent as the body of ``POST /``."""

from __future__ import annotations

import base64
import json
import os
from datetime import date, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class ConfigError(ValueError):
    """The client was given no URL or no usable key."""


def first_env(*names: str) -> str | None:
    """The first of the named environment variables that is set and not blank."""
    for name in names:
        value = os.environ.get(name, "").strip().strip('"')
        if value:
            return value
    return None


def key_ring(secret: str | bytes) -> MultiFernet:
    """Fernet keys, comma separated and newest first as authnzd's `secret`:
    requests are sealed with the first; replies may come under any."""
    text = secret.decode() if isinstance(secret, bytes) else secret
    keys = [k.strip().strip('"') for k in text.split(",") if k.strip()]
    if not keys:
        raise ConfigError("no Fernet key given")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as e:
        raise ConfigError(f"not a Fernet key: {e}") from None


def _jsonable(value: object) -> object:
    # authnzerver's client sends datetimes as ISO 8601 and bytes as text, so
    # frontends pass e.g. `expires=datetime(...)` straight through.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def seal(ring: MultiFernet, envelope: dict[str, Any]) -> bytes:
    plain = json.dumps(envelope, default=_jsonable).encode()
    return base64.b64encode(ring.encrypt(plain))


def open_reply(ring: MultiFernet, body: bytes) -> dict[str, Any] | None:
    """The reply envelope, or None if it does not decrypt to a JSON object."""
    try:
        plain = ring.decrypt(base64.b64decode(body, validate=False))
        reply = json.loads(plain)
    except (InvalidToken, ValueError):
        return None
    return reply if isinstance(reply, dict) else None
