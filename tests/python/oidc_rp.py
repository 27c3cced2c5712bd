"""A relying party written with Authlib: a public client doing the code
flow with PKCE (S256) against authnzd, then a refresh.

Usage:
  oidc_rp.py start ISSUER CLIENT_ID REDIRECT_URI
      prints {"url", "verifier", "nonce", "state"}: where to send the browser
  oidc_rp.py finish ISSUER CLIENT_ID REDIRECT_URI VERIFIER NONCE STATE CALLBACK_URL
      redeems the code, checks the id token against the JWKS, refreshes,
      calls userinfo; prints what it saw as one JSON line
"""

import json
import os
import sys

# Loopback http in the tests: Authlib refuses plain http otherwise.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402


def session(client_id: str, redirect_uri: str, state=None) -> OAuth2Session:
    return OAuth2Session(
        client_id,
        scope="openid email offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        state=state,
    )


def main() -> None:
    mode, issuer, client_id, redirect_uri = sys.argv[1:5]
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    if mode == "start":
        verifier, nonce = generate_token(48), generate_token(16)
        url, state = session(client_id, redirect_uri).create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        print(json.dumps({"url": url, "verifier": verifier, "nonce": nonce, "state": state}))
        return
    verifier, nonce, state, callback = sys.argv[5:9]
    client = session(client_id, redirect_uri, state)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()
    refreshed = client.refresh_token(
        meta["token_endpoint"], refresh_token=token["refresh_token"]
    )
    info = client.get(meta["userinfo_endpoint"]).json()
    print(
        json.dumps(
            {
                "sub": claims["sub"],
                "email": claims.get("email"),
                "alg": jwt.decode(token["id_token"], keys).header["alg"],
                "rotated": refreshed["refresh_token"] != token["refresh_token"],
                "refreshed_access": refreshed["access_token"] != token["access_token"],
                "userinfo_sub": info.get("sub"),
            }
        )
    )


if __name__ == "__main__":
    main()
