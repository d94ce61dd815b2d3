#!/usr/bin/env python3
"""Verify a Textgate phone token on a Python store server (PyJWT, Debian's python3-jwt).

Exactly the checks the token needs: EdDSA signature by a key of the JWKS, header typ,
iss, aud (the project id; "<project id>:test" for test-mode tokens), exp (with iat, sub, jti
present), the mode claim, then single use through POST /v1/tokens/redeem.

    TEXTGATE_URL=https://verify.example  TEXTGATE_PROJECT_ID=prj_...  \
    TEXTGATE_SECRET_KEY=sk_live_...  python3 verify_token.py < token.txt

Prints the verified claims as JSON and exits 0; prints the reason and exits 1 otherwise.
Set TEXTGATE_ALLOW_TEST_MODE=1 to accept test-mode tokens (development only).
"""
import json
import os
import sys
import urllib.error
import urllib.request

import jwt  # PyJWT >= 2.6 (apt-get install python3-jwt)

TOKEN_TYPE = "textgate-verification+jwt"


class TokenRejected(Exception):
    pass


def verify_phone_token(token, *, issuer, project_id, secret_key, allow_test_mode=False):
    header = jwt.get_unverified_header(token)
    if header.get("typ") != TOKEN_TYPE:
        raise TokenRejected("wrong token type")
    if header.get("alg") != "EdDSA":
        raise TokenRejected("wrong algorithm")
    # The JWKS is fetched and cached by the client; kid picks the key.
    jwks = jwt.PyJWKClient(issuer.rstrip("/") + "/.well-known/jwks.json", cache_keys=True)
    signing_key = jwks.get_signing_key_from_jwt(token)
    audiences = [project_id] + ([project_id + ":test"] if allow_test_mode else [])
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["EdDSA"],  # never trust the header's alg
        issuer=issuer.rstrip("/"),
        audience=audiences,
        options={"require": ["iss", "aud", "sub", "jti", "iat", "exp"]},
    )
    mode = claims.get("mode")
    expected_aud = project_id + (":test" if mode == "test" else "")
    if mode not in ("live", "test") or claims["aud"] != expected_aud:
        raise TokenRejected("mode and audience do not match")
    if mode == "test" and not allow_test_mode:
        raise TokenRejected("test-mode token")
    if claims.get("phone_number_verified") is not True:
        raise TokenRejected("phone number not verified")
    # Single use: the server remembers every redeemed jti.
    request = urllib.request.Request(
        issuer.rstrip("/") + "/v1/tokens/redeem",
        data=json.dumps({"token": token}).encode(),
        headers={"Authorization": "Bearer " + secret_key, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise TokenRejected("redeem refused: HTTP %d" % error.code) from None
    if not answer.get("valid"):
        raise TokenRejected(answer.get("reason", "not valid"))
    return claims


def main():
    token = sys.stdin.read().strip()
    try:
        claims = verify_phone_token(
            token,
            issuer=os.environ["TEXTGATE_URL"],
            project_id=os.environ["TEXTGATE_PROJECT_ID"],
            secret_key=os.environ["TEXTGATE_SECRET_KEY"],
            allow_test_mode=os.environ.get("TEXTGATE_ALLOW_TEST_MODE") == "1",
        )
    except (TokenRejected, jwt.PyJWTError) as error:
        print(json.dumps({"valid": False, "reason": str(error) or type(error).__name__}))
        return 1
    print(json.dumps({"valid": True, "claims": claims}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
