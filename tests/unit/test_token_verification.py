"""The api function verifies bearer tokens itself (as API Gateway's JWT authorizer would) so that a 401
answers in the service's envelope: the issuer's keys, issuer, audience (or client_id), expiry."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tximport.api.app import _authenticate
from tximport.auth import JwksVerifier
from tximport.errors import Unauthorized

SESSIONS_PATH = "/import-sessions"

ISSUER = "https://issuer.example.com/"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Keys:
    """The issuer's JWKS, in memory (PyJWKClient's interface)."""

    def get_signing_key_from_jwt(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        if header.get("kid") != "k1":
            raise jwt.PyJWKClientError("no key with this kid")
        return jwt.PyJWK(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1",
                                                                                                "alg": "RS256"})


def _token(key: Any = KEY, kid: str = "k1", algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "tximport", "exp": now + 600, "iat": now, "organisationId": "o",
            "companyId": "c", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm,
                      headers={"kid": kid})


VERIFIER = JwksVerifier(issuer=ISSUER, audiences=["tximport"], jwks=_Keys())  # type: ignore[arg-type]


def test_a_token_of_the_issuer_for_this_api_is_verified():
    assert VERIFIER.verify(_token())["organisationId"] == "o"
    # an access token names its client instead of an audience
    assert VERIFIER.verify(_token(aud=None, client_id="tximport"))["companyId"] == "c"


@pytest.mark.parametrize("token", [
    _token(key=OTHER_KEY),  # signed by somebody else
    _token(kid="unknown"),
    _token(exp=int(time.time()) - 5),
    _token(iss="https://elsewhere.example.com/"),
    _token(aud="another-api"),
    _token(exp=None),
    jwt.encode({"iss": ISSUER, "aud": "tximport", "exp": int(time.time()) + 60}, "secret-" * 6,
               algorithm="HS256", headers={"kid": "k1"}),  # a shared secret is no key of the issuer
    "not-a-jwt",
])
def test_any_other_token_is_refused(token: str):
    with pytest.raises(Unauthorized) as refused:
        VERIFIER.verify(token)
    assert refused.value.code == "InvalidToken"


def _event(path: str, authorization: str | None = None, route_key: str | None = None) -> dict[str, Any]:
    return {"routeKey": route_key or f"GET {path}", "rawPath": path,
            "headers": {"authorization": authorization} if authorization else {},
            "requestContext": {"http": {"method": "GET", "path": path}}}


def test_the_function_answers_a_refusal_in_the_envelope_and_hands_verified_claims_on(monkeypatch):
    from tximport import runtime

    class _Container:
        token_verifier = VERIFIER

    monkeypatch.setattr(runtime, "_container", _Container())
    missing = _authenticate(_event("/imports"))
    assert missing is not None and missing["statusCode"] == 401
    assert json.loads(missing["body"]) == {"data": None, "links": None, "meta": {}, "error": {
        "code": "MissingToken", "message": "missing Authorization header", "target": "Authorization"}}
    bad = _authenticate(_event("/imports", "Bearer " + _token(aud="another-api")))
    assert bad is not None and json.loads(bad["body"])["error"]["code"] == "InvalidToken"

    event = _event("/imports", "Bearer " + _token(scope="api:transactions:create other"))
    assert _authenticate(event) is None
    jwt_context = event["requestContext"]["authorizer"]["jwt"]
    assert jwt_context["claims"]["organisationId"] == "o"
    assert jwt_context["scopes"] == ["api:transactions:create", "other"]
    # public routes and requests no route matched ($default) need no token
    assert _authenticate(_event("/fileformats")) is None
    assert _authenticate(_event("/fileformats/CSV%234col%23v1/template")) is None
    assert _authenticate(_event("/nowhere", route_key="$default")) is None


def test_a_refusal_on_a_dialects_path_keeps_that_dialects_error_shape(monkeypatch):
    from tximport import runtime

    class _Container:
        token_verifier = VERIFIER

    monkeypatch.setattr(runtime, "_container", _Container())
    reconciliations = _authenticate(_event("/baas/api/v1/reconciliations"))
    assert reconciliations is not None and reconciliations["statusCode"] == 401
    assert json.loads(reconciliations["body"]) == {"code": "UNAUTHORIZED", "message": "missing Authorization header",
                                                   "statusCode": 401, "details": {"reason": "MissingToken",
                                                                                   "field": "Authorization"}}
    sessions = _authenticate(_event(f"{SESSIONS_PATH}/x", "Bearer " + _token(key=OTHER_KEY)))
    assert sessions is not None and sessions["statusCode"] == 401
    body = json.loads(sessions["body"])
    assert body["code"] == "InvalidToken" and body["field"] == "Authorization" and isinstance(body["error"], str)
