"""Verifies an authnzd access token with PyJWT, as a frontend would offline.

Usage: verify_jwt.py JWKS_JSON TOKEN ISSUER AUDIENCE
Prints {"claims": {...}} or {"error": "<PyJWT exception name>"}.
"""

import json
import sys

import jwt


def main() -> None:
    jwks, token, issuer, audience = sys.argv[1:5]
    keys = jwt.PyJWKSet.from_dict(json.loads(jwks))
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in keys.keys if k.key_id == kid)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["EdDSA"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except (jwt.PyJWTError, StopIteration, KeyError) as e:
        print(json.dumps({"error": type(e).__name__}))
        return
    print(json.dumps({"claims": claims}))


if __name__ == "__main__":
    main()
