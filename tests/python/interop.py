"""Drives authnzd the way authnzerver's Python client does.

The envelope is encrypted exactly as authnzerver.messaging.encrypt_message
does it (cryptography's Fernet, then standard base64) and replies are opened
as decrypt_message opens them. Runs the session lifecycle and prints one JSON
line with what it saw; exits non-zero on the first surprise.

Usage: python3 interop.py URL KEY
"""

import json
import secrets
import sys
import urllib.request
from base64 import b64decode, b64encode
from datetime import datetime, timedelta

from cryptography.fernet import Fernet


def encrypt_message(message_dict, key):
    return b64encode(Fernet(key).encrypt(json.dumps(message_dict).encode()))


def decrypt_message(message, key):
    return json.loads(Fernet(key).decrypt(b64decode(message)))


def request(url, key, request_type, body):
    reqid = secrets.token_urlsafe(8)
    body = dict(body, client_ipaddr="192.0.2.10")
    payload = {
        "request": request_type,
        "body": body,
        "reqid": reqid,
        "client_ipaddr": body["client_ipaddr"],
    }
    req = urllib.request.Request(url, data=encrypt_message(payload, key), method="POST")
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.status == 200, res.status
        reply = decrypt_message(res.read(), key)
    assert reply["reqid"] == reqid, (reply["reqid"], reqid)
    return reply


def main():
    url, key = sys.argv[1], sys.argv[2].encode()
    # authnzerver's frontends send a naive UTC datetime's isoformat().
    expires = (datetime.utcnow() + timedelta(hours=1)).replace(microsecond=0)
    new = request(url, key, "session-new", {
        "ip_address": "192.0.2.10",
        "user_agent": "python-interop",
        "user_id": None,
        "expires": expires.isoformat(),
        "extra_info_json": None,
    })
    assert new["success"] is True, new
    token = new["response"]["session_token"]

    exists = request(url, key, "session-exists", {"session_token": token})
    assert exists["success"] is True, exists
    info = exists["response"]["session_info"]
    assert info["user_role"] == "anonymous", info
    # Response datetimes must parse with the standard library.
    datetime.fromisoformat(info["expires"])
    datetime.fromisoformat(info["created_on"])

    deleted = request(url, key, "session-delete", {"session_token": token})
    assert deleted["success"] is True, deleted
    after = request(url, key, "session-exists", {"session_token": token})
    assert after["success"] is False, after
    assert after["failure_reason"] == "session does not exist or expired", after

    print(json.dumps({
        "created": True,
        "existed": exists["success"],
        "user_id": info["user_id"],
        "deleted": deleted["success"],
        "exists_after_delete": after["success"],
    }))


if __name__ == "__main__":
    main()
