"""Every kind of bad token is a 401 on every protected route (issue 13: what already held, and must
keep holding), on the api function in this process. The cases are generated: each way a token can be
wrong (its signature, expiry, audience, issuer, tenant claims), alone and combined, 449 tokens and 4
headers that hold no token. The whole matrix goes to one route of each dialect (the refusal comes before
any route runs, and only its error shape depends on the route); every protected operation of the OpenAPI
document gets each way alone (17 cases). A representative set also goes through HTTP on the local stack
(tests/integration/test_hostile_requests.py, 12 kinds on every protected route)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.unit.test_token_verification import ISSUER, KEY, OTHER_KEY, VERIFIER
from tximport import runtime
from tximport.api.app import openapi_document, resolve
from tximport_cli.local.lambdas import FakeLambdaContext

NOW = int(time.time())
SIGNATURES = ("valid", "another key", "unknown kid", "shared secret", "unsigned")
EXPIRIES = {"valid": NOW + 600, "expired": NOW - 5, "missing": None}
AUDIENCES = {"valid": "tximport", "another api": "another-api", "missing": None}
ISSUERS = {"valid": ISSUER, "another issuer": "https://elsewhere.example.com/"}
TENANTS: dict[str, dict[str, Any]] = {
    "valid": {"organisationId": "o", "companyId": "c"}, "no company": {"organisationId": "o"},
    "no organisation": {"companyId": "c"}, "no tenant": {}, "unsafe tenant": {"organisationId": "..", "companyId": "c"},
    # not JSON strings: written as text they would name one shared tenant ("None", "123", "true")
    "null organisation": {"organisationId": None, "companyId": "c"},
    "numeric company": {"organisationId": "o", "companyId": 123},
    "boolean organisation": {"organisationId": True, "companyId": "c"},
}
_TENANT_CLAIMS = ("organisationId", "companyId")


def _sign(signature: str, claims: dict[str, Any]) -> str:
    if signature == "unsigned":
        return jwt.encode(claims, key=None, algorithm="none")
    if signature == "shared secret":
        return jwt.encode(claims, "secret-" * 6, algorithm="HS256", headers={"kid": "k1"})
    key = OTHER_KEY if signature == "another key" else KEY
    kid = "unknown" if signature == "unknown kid" else "k1"
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def bad_tokens() -> Iterator[tuple[str, str]]:
    """(what is wrong, token) for every combination but the one where nothing is."""
    for signature, expiry, audience, issuer, tenant in itertools.product(SIGNATURES, EXPIRIES, AUDIENCES, ISSUERS,
                                                                         TENANTS):
        wrong = [f"{part}: {value}" for part, value in (("signature", signature), ("exp", expiry),
                                                         ("aud", audience), ("iss", issuer), ("tenant", tenant))
                 if value != "valid"]
        if not wrong:
            continue
        claims = {"iss": ISSUERS[issuer], "aud": AUDIENCES[audience], "exp": EXPIRIES[expiry], "iat": NOW,
                  **TENANTS[tenant]}
        yield ", ".join(wrong), _sign(signature, {k: v for k, v in claims.items()
                                                  if v is not None or k in _TENANT_CLAIMS})


TOKENS = list(bad_tokens())
NO_TOKEN = [("no header", None), ("not a jwt", "Bearer not-a-jwt"), ("basic", "Basic dXNlcjpwYXNz"),
            ("empty bearer", "Bearer ")]
#: the whole matrix
AUTHORIZATIONS = [*NO_TOKEN, *((what, f"Bearer {token}") for what, token in TOKENS)]
#: each way a token is wrong, alone
SINGLE = [*NO_TOKEN, *((what, f"Bearer {token}") for what, token in TOKENS if "," not in what)]
#: a route of each dialect: the envelope's, the public endpoint's, the reconciliations' and the import sessions'
DIALECTS = [("GET", "/imports/{import_id}"), ("POST", "/api/public/v1/transactions"),
            ("GET", "/baas/api/v1/reconciliations"), ("GET", "/import-sessions")]


def _protected() -> list[tuple[str, str]]:
    found = []
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            if op.get("security") != []:
                found.append((method.upper(), path))
    return found


PROTECTED = _protected()


def _event(method: str, template: str, authorization: str | None) -> dict[str, Any]:
    path = template
    for name in [p.split("}")[0] for p in template.split("{")[1:]]:
        path = path.replace("{" + name + "}", "2024-03" if name == "billing_month" else "id-1")
    headers = {"content-type": "application/json", "x-workspace-id": "w-1"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {"version": "2.0", "routeKey": f"{method} {template}", "rawPath": path, "rawQueryString": "",
            "headers": headers, "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                                                   "requestId": "r", "stage": "$default"},
            "body": "{}" if method in ("POST", "PUT", "PATCH") else None, "isBase64Encoded": False}


@pytest.fixture()
def verifying(monkeypatch: pytest.MonkeyPatch) -> None:
    """The api function with the issuer's verifier and nothing else: a request that got past the token
    would fail on the missing container, so a pass would show."""

    class _Container:
        token_verifier = VERIFIER

    monkeypatch.setattr(runtime, "_container", _Container())


def test_the_matrix_is_the_product_of_every_way_a_token_is_wrong():
    assert len(TOKENS) == len(SIGNATURES) * len(EXPIRIES) * len(AUDIENCES) * len(ISSUERS) * len(TENANTS) - 1 == 719
    assert len(SINGLE) == 4 + 16
    assert len(PROTECTED) >= 40 and set(DIALECTS) <= set(PROTECTED)


@pytest.mark.parametrize(("method", "template"), DIALECTS, ids=lambda x: str(x))
def test_every_bad_token_is_401_in_each_dialect(verifying: None, method: str, template: str):
    _all_refused(method, template, AUTHORIZATIONS)


@pytest.mark.parametrize(("method", "template"), PROTECTED, ids=lambda x: str(x))
def test_each_way_a_token_is_wrong_is_401_on_every_protected_route(verifying: None, method: str, template: str):
    _all_refused(method, template, SINGLE)


def _all_refused(method: str, template: str, authorizations: list[tuple[str, str | None]]) -> None:
    context = FakeLambdaContext("tximport-api")
    for what, authorization in authorizations:
        answer = resolve(_event(method, template, authorization), context)  # type: ignore[arg-type]
        assert answer["statusCode"] == 401, f"{what}: {answer['statusCode']} {answer.get('body', '')[:200]}"
        body = json.loads(answer["body"])
        code = (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) else body.get("code")
        assert code, f"{what}: {body}"
