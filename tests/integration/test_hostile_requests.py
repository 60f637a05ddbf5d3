"""Hostile requests against every route of the API, read from its own OpenAPI document: tampered
cursors, ids that are no ids, numbers past what Python parses, JSON nested 50,000 deep, 10 MB strings,
lone surrogates, amounts past the float range. Each answers a 4xx (400 but for a 413 on a body too
large) with a code and the field at fault; none a 5xx. Beside them, what already held and must keep
holding: bad tokens are 401 on every protected route, no tenant reads or changes another's data on any
route, and an Idempotency-Key reused with another body is 409 on every route that takes one."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.client import Api, poll
from tests.support.stack import new_api
from tximport.api import sessions as session_routes
from tximport.api.app import openapi_document
from tximport_cli.local.stack import DEMO_PERMISSIONS, DEMO_SCOPES, LocalStack
from tximport_cli.local.tokens import DEV_AUDIENCE, DEV_ISSUER, dev_secret

RECONCILIATIONS = "/baas/api/v1/reconciliations"
#: the ids of ours (tximport.ids.SAFE_ID_PATTERN); the reconciliations dialect keeps to its own (UUIDs)
OUR_IDS = {"import_id", "account_id", "transaction_id"}

CSV = (b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n2024-13-45,Broken,1.00\n"
       b"2024-02-30,Broken,2.00\n2024-01-04,Broken,x\n")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI template: /imports/{import_id}
    params: tuple[tuple[str, str], ...]  # (name, in)
    has_body: bool

    def query(self) -> set[str]:
        return {name for name, where in self.params if where == "query"}

    def path_params(self) -> list[str]:
        return [name for name, where in self.params if where == "path"]


def _operations() -> list[tuple[Operation, bool]]:
    """Every operation of the OpenAPI document, and whether it needs a token."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            params = tuple((p["name"], p["in"]) for p in op.get("parameters", []))
            found.append((Operation(method.upper(), path, params, "requestBody" in op), op.get("security") != []))
    return found


OPERATIONS = _operations()


@dataclass
class World:
    """Tenant A's resources, which every hostile request aims at."""

    stack: LocalStack
    owner: Api
    ids: dict[str, str]
    workspace: str  # the owner's workspace of the import-sessions dialect

    def url(self, op: Operation, **override: str) -> str:
        path = op.path
        for name in op.path_params():
            value = override.get(name) or self.ids.get(f"{op.path.split('/')[1]}:{name}") or self.ids[name]
            path = path.replace("{" + name + "}", value)
        return f"{self.stack.base_url}{path}"


def _tenant(stack: LocalStack) -> Api:
    """A new tenant whose token may also read and create reconciliations, and act as the admin of its
    import-session workspaces (closing a session needs the role)."""
    api = new_api(stack)
    api.token = stack.token_for(api.organisation_id, api.company_id, permissions=DEMO_PERMISSIONS, roles=["admin"],
                                scopes=DEMO_SCOPES)
    return api


def _reconciliation(owner: Api, account: str) -> tuple[str, str]:
    """A settled reconciliation of the account and one of its entries."""
    created = owner.ok("POST", RECONCILIATIONS, expect=201, json={"data": {"type": "reconciliations", "attributes": {
        "accountId": account, "periodStart": "2024-03-01", "periodEnd": "2024-03-31", "source": "API_IMPORT",
        "entries": [{"type": "DEBIT", "amount": 3.50, "description": "Coffee", "transactionDate": "2024-03-01",
                     "externalRef": "ERP-1"}]}}})
    rec_id = created["data"]["id"]
    poll(lambda: owner.ok("GET", f"{RECONCILIATIONS}/{rec_id}")["data"]["attributes"]["status"] != "PROCESSING",
         timeout=60, what="the reconciliation to settle")
    entry = owner.ok("GET", f"{RECONCILIATIONS}/{rec_id}/entries")["data"][0]["id"]
    return rec_id, entry


def _workspace(api: Api) -> str:
    answer = api.session.post(f"{api.base_url}/workspaces", json={"name": "Casa"}, timeout=30,
                              headers={"Authorization": f"Bearer {api.token}"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _sessions_world(owner: Api, account: str, workspace: str) -> dict[str, str]:
    """A session with two staged lines (two pages of one), a card and a category of the owner's workspace:
    the ids the import-sessions routes take (`item_id` by the collection it names)."""
    def post(path: str, body: Any) -> Any:
        answer = owner.session.post(f"{owner.base_url}{path}", json=body, timeout=30, headers={
            "Authorization": f"Bearer {owner.token}", "X-Workspace-ID": workspace})
        assert answer.status_code == 201, f"{path}: {answer.text[:300]}"
        return answer.json()

    session = post("/import-sessions", {"account_id": account, "billing_month": "2024-03"})["id"]
    staged = post(f"/import-sessions/{session}/staged-transactions", [
        {"transaction_date": f"2024-03-1{n}", "description": "Padaria", "amount": -10} for n in (1, 2)])
    card = post("/cards", {"name": "Visa", "closing_date": 25, "due_date": 5})["id"]
    category = post("/categories", {"name": "Mercado", "type": "EXPENSE"})["id"]
    missing = str(uuid.uuid4())
    return {"session_id": session, "staged_id": staged[0]["id"], "card_id": card, "category_id": category,
            "binding_id": missing, "billing_month": "2024-03", "item_id": missing, "cards:item_id": card,
            "categories:item_id": category}


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    owner = _tenant(stack)
    identifier = f"GB{uuid.uuid4().hex[:12]}"
    account = owner.create_account(identifier)
    owner.create_account()  # a second page of accounts
    owner.ok("POST", "/api/public/v1/transactions", expect=201, json={"transactions": [
        {"accountIdentifier": identifier, "transactionId": f"t{n}", "text": "Coffee", "creditDebit": "debit",
         "amount": "3.50", "currency": "GBP", "valutaAt": f"2024-03-0{n}"} for n in (1, 2)]})  # ledger pages
    imp = owner.import_file(account, CSV)
    assert imp["status"] == "awaitingConfirmation", imp
    transaction = owner.review(imp["id"])[0]["transactionId"]
    reconciliation, entry = _reconciliation(owner, account)
    workspace = _workspace(owner)
    return World(stack, owner, {"import_id": imp["id"], "account_id": account, "transaction_id": transaction,
                                "file_format": "Tabular3column%23v1", "reconciliation_id": reconciliation,
                                "entry": entry, **_sessions_world(owner, account, workspace)}, workspace)


def _error(answer: requests.Response) -> tuple[str, str | None]:
    """(code, field at fault) of an error answer of any dialect: the core envelope's error, the import
    sessions' {"error": message, "code", "field"}, or the reconciliations' {"code", "message",
    "statusCode", "details": {"field", "reason"}}."""
    body = answer.json()
    if isinstance(body.get("error"), str):
        assert body["error"] and body["code"], body
        return body["code"], body.get("field")
    if "error" in body:
        return body["error"]["code"], body["error"].get("target")
    details = body.get("details") or {}
    assert body["code"] and body["message"] and body["statusCode"] == answer.status_code, body
    return details.get("reason", body["code"]), details.get("field")


def _assert_refused(answer: requests.Response, what: str, *, status: int = 400, code: str | None = None,
                    target: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
    found_code, found_target = _error(answer)
    assert found_code, what
    if status == 400:
        assert found_target, f"{what}: no field at fault in {answer.text[:300]}"
    if code is not None:
        assert found_code == code, f"{what}: {answer.text[:300]}"
    if target is not None:
        assert found_target == target, f"{what}: {answer.text[:300]}"
    return answer.json()


def _call(world: World, op: Operation, *, url: str | None = None, token: str | None = None,
          params: dict[str, str] | None = None, data: bytes | None = None,
          headers: dict[str, str] | None = None, workspace: str | None = None) -> requests.Response:
    all_headers = {"Authorization": f"Bearer {token or world.owner.token}",
                   "X-Workspace-ID": workspace or world.workspace, **(headers or {})}
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return world.owner.session.request(op.method, url or world.url(op), params=params, data=data,
                                       headers=all_headers, timeout=60)


# --- tampered cursors --------------------------------------------------------------------------------
def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


FORGED_CURSORS = [_b64({"pk": 1}), _b64({"x": "y"}), _b64({"c": -100}), _b64({"c": 10**20, "s": -1}),
                  _b64({"pk": "T#another#tenant", "sk": "IMPORT#1"}), _b64({"day": "zz"}), _b64([]), "%%%",
                  _b64({"c": 0}) + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x" * 5000]
PAGED = [op for op, _ in OPERATIONS if "cursor" in op.query()]


def test_every_paginated_route_is_covered():
    assert {op.path for op in PAGED} >= {"/imports", "/bankaccounts", "/bankaccounts/{account_id}/transactions",
                                         "/imports/{import_id}/reviewtransactions",
                                         "/imports/{import_id}/errordetails"}


@pytest.mark.parametrize("op", PAGED, ids=lambda op: f"{op.method} {op.path}")
def test_a_cursor_the_api_did_not_issue_is_an_invalid_cursor(world: World, op: Operation):
    for cursor in FORGED_CURSORS:
        _assert_refused(_call(world, op, params={"cursor": cursor}), f"cursor {cursor[:40]}",
                        code="InvalidCursor", target="cursor")


@pytest.mark.parametrize("op", PAGED, ids=lambda op: f"{op.method} {op.path}")
def test_a_cursor_follows_its_own_listing_only(world: World, op: Operation):
    # Given a real next cursor of this listing
    size = {"pageSize": "1", "page_size": "1", "limit": "1"}
    first = _call(world, op, params=size)
    assert first.status_code == 200, first.text
    body = first.json()
    nxt = ((body.get("links") or {}).get("next") if isinstance(body, dict) and "links" in body
           else first.headers.get("X-Next-Cursor") or (body.get("next_cursor") if isinstance(body, dict) else None))
    if nxt is None:
        pytest.skip("a single page")
    cursor = nxt.split("cursor=")[1].split("&")[0] if "cursor=" in nxt else nxt
    assert _call(world, op, params={**size, "cursor": cursor}).status_code == 200
    # another tenant cannot use it (in the sessions dialect: in a workspace of its own), nor can another listing
    stranger = _tenant(world.stack)
    theirs = _workspace(stranger) if session_routes.owns(op.path) else None
    _assert_refused(_call(world, op, token=stranger.token, params={"cursor": cursor}, workspace=theirs),
                    "another tenant", code="InvalidCursor")
    for other in PAGED:
        if other.path != op.path:
            _assert_refused(_call(world, other, params={"cursor": cursor}), f"in {other.path}",
                            code="InvalidCursor")


# --- ids that are no ids ---------------------------------------------------------------------------
BAD_IDS = ["%2E%2E", "%2E", "a%23b", "a%2Fb", "x" * 129, "%F0%9F%98%80", "a%00b", "-x", "%20a"]
WITH_IDS = [op for op, _ in OPERATIONS if set(op.path_params()) & OUR_IDS]


@pytest.mark.parametrize("op", WITH_IDS, ids=lambda op: f"{op.method} {op.path}")
def test_a_path_id_outside_the_safe_alphabet_is_a_400_naming_it(world: World, op: Operation):
    for name in set(op.path_params()) & OUR_IDS:
        for bad in BAD_IDS:
            body = b'{"data": {"decision": "skip"}}' if op.has_body else None
            answer = _call(world, op, url=world.url(op, **{name: bad}), data=body)
            _assert_refused(answer, f"{name}={bad}", code="ValidationError", target=f"path.{name}")


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS if "reconciliation_id" in op.path_params()],
                         ids=lambda op: f"{op.method} {op.path}")
def test_a_reconciliation_id_that_is_no_id_is_refused_in_the_dialects_shape(world: World, op: Operation):
    """Reconciliation and entry ids are key-safe path ids: anything else is 400 VALIDATION naming the path
    parameter, before any lookup (the body is a valid one, so the id is the only fault)."""
    body = json.dumps({"data": {"type": "reconciliation-entries", "attributes": {"matchStatus": "UNMATCHED"}}})
    dialect = {"reconciliation_id": "id", "entry": "entryId"}  # as the dialect's 404s name them
    for name in {"reconciliation_id", "entry"} & set(op.path_params()):
        for bad in BAD_IDS:
            answer = _call(world, op, url=world.url(op, **{name: bad}), data=body.encode() if op.has_body else None)
            if bad == "a%2Fb" and answer.status_code == 404:  # another path: no route has it
                continue
            refused = _assert_refused(answer, f"{name}={bad}", code="VALIDATION", target=dialect[name])
            assert refused["statusCode"] == 400


SESSION_IDS = {"session_id", "staged_id", "binding_id", "item_id", "card_id", "category_id", "billing_month"}


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS if set(op.path_params()) & SESSION_IDS],
                         ids=lambda op: f"{op.method} {op.path}")
def test_an_import_session_id_that_is_no_id_is_refused_in_the_dialects_shape(world: World, op: Operation):
    for name in set(op.path_params()) & SESSION_IDS:
        for bad in BAD_IDS:
            answer = _call(world, op, url=world.url(op, **{name: bad}), data=b"{}" if op.has_body else None)
            assert answer.status_code in (400, 404), f"{name}={bad}: {answer.status_code} {answer.text[:300]}"
            assert _error(answer)[0]


@pytest.mark.parametrize("claim", [".", "..", "a/b", "a#b", "x" * 129, "é", " "])
def test_a_token_naming_an_unsafe_tenant_is_401(world: World, claim: str):
    for claims in ({"organisationId": claim, "companyId": "co"}, {"organisationId": "org", "companyId": claim}):
        answer = requests.get(f"{world.stack.base_url}/imports", timeout=30,
                              headers={"Authorization": f"Bearer {_token(**claims)}"})
        _assert_refused(answer, str(claims), status=401, code="InvalidToken")


# --- bodies no parser should see --------------------------------------------------------------------
def _bodies() -> list[tuple[str, bytes, str, str, str]]:
    """(name, body, code, target, and the target as the reconciliation dialect names it) of the issue's hostile
    bodies."""
    big = "9" * 4400
    return [
        ("an integer of 4,400 digits", b'{"data": {"name": ' + big.encode() + b"}}", "NumberTooLong", "data.name",
         "data.name"),
        ("amount 4,400 digits", b'{"transactions": [{"amount": ' + big.encode() + b"}]}", "NumberTooLong",
         "transactions.0.amount", "transactions[0].amount"),
        ("arrays 50,000 deep", b"[" * 50_000 + b"]" * 50_000, "NestingTooDeep", ".".join(["0"] * 32), "[0]" * 32),
        ("objects 50,000 deep", b'{"data":' * 50_000 + b"1" + b"}" * 50_000, "NestingTooDeep",
         ".".join(["data"] * 32), ".".join(["data"] * 32)),
        ("a 200,000-character source", json.dumps({"data": {"source": "s" * 200_000}}).encode(), "StringTooLong",
         "data.source", "data.source"),
        ("a lone surrogate", b'{"transactions": [{"text": "caf\\ud800"}]}', "InvalidString", "transactions.0.text",
         "transactions[0].text"),
        ("amount 1e309", b'{"transactions": [{"amount": 1e309}]}', "NumberOutOfRange", "transactions.0.amount",
         "transactions[0].amount"),
        ("amount 1e-400", b'{"transactions": [{"amount": 1e-400}]}', "NumberOutOfRange", "transactions.0.amount",
         "transactions[0].amount"),
        ("an entry's long description", json.dumps({"data": {"attributes": {"entries": [
            {"description": "d" * 100_001}]}}}).encode(), "StringTooLong", "data.attributes.entries.0.description",
         "entries[0].description"),
        ("a 300-character key", json.dumps({"data": {"k" * 300: 1}}).encode(), "StringTooLong", "data", "data"),
        ("2 MB of small strings", json.dumps({"data": ["x" * 100] * 20_000}).encode(), "RequestTooLarge", "body",
         "body"),
    ]


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS], ids=lambda op: f"{op.method} {op.path}")
def test_every_route_refuses_a_hostile_body_before_parsing_it(world: World, op: Operation):
    for name, body, code, target, dialect_target in _bodies():
        if op.path.startswith(RECONCILIATIONS):
            target = dialect_target
            if code == "RequestTooLarge":
                body = json.dumps({"data": ["x" * 100] * 61_000}).encode()  # its limit is 6 MB
        elif session_routes.owns(op.path):
            target = _session_field(target)
        answer = _call(world, op, data=body)
        _assert_refused(answer, name, status=413 if code == "RequestTooLarge" else 400, code=code, target=target)
    if op.has_body and not op.path.endswith("/upload"):  # (an upload is multipart) a body that is not JSON
        # names the body, never the character where it breaks off
        _assert_refused(_call(world, op, data=b'{"data": {"x": '), "not JSON", target="body")
    # and nothing changed
    assert world.owner.get_import(world.ids["import_id"])["status"] == "awaitingConfirmation"


def _session_field(target: str) -> str:
    """A field as the session dialect names it: `transactions.0.amount` -> `transactions[0].amount`."""
    text = ""
    for part in target.split("."):
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS if op.has_body and not op.path.endswith("/upload")],
                         ids=lambda op: f"{op.method} {op.path}")
def test_a_body_declared_as_a_form_is_refused_in_the_routes_dialect(world: World, op: Operation):
    """`curl -d` declares a form: the core answers 415; the session and reconciliation dialects, whose documents
    know 400 for a refused request, answer 400 (003: code VALIDATION) with the reason UnsupportedMediaType."""
    answer = _call(world, op, data=b'{"data": {}}', headers={"Content-Type": "application/x-www-form-urlencoded"})
    dialect = session_routes.owns(op.path) or op.path.startswith(RECONCILIATIONS)
    body = _assert_refused(answer, op.path, status=400 if dialect else 415, code="UnsupportedMediaType",
                           target="Content-Type")
    if op.path.startswith(RECONCILIATIONS):
        assert body["code"] == "VALIDATION"


def _body_shapes(op: Operation) -> set[str]:
    """The JSON types a route's body may have (`object`, `array`), from its OpenAPI document."""
    doc = openapi_document()
    schema = doc["paths"][op.path][op.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    shapes = set()
    for member in schema.get("anyOf", [schema]):
        if "$ref" in member:
            member = doc["components"]["schemas"][member["$ref"].rsplit("/", 1)[1]]
        shapes.add(member.get("type", "object"))
    return shapes


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS if op.has_body and not op.path.endswith("/upload")],
                         ids=lambda op: f"{op.method} {op.path}")
def test_a_body_of_another_shape_than_the_routes_is_refused_naming_the_body(world: World, op: Operation):
    """qa39a F6: an array sent where a route takes one object was read as the array's first item (`POST
    /import-sessions` answered InvalidBillingMonth, `PUT /import-sessions/{id}` changed the session). An array where
    an object is taken, an object where an array is, a JSON string or number: 400 naming the body, in the route's
    dialect, and nothing changed."""
    shapes = _body_shapes(op)
    sent: list[Any] = ["text", 5]
    if shapes == {"object"}:
        sent.append([{}])
    if shapes == {"array"}:
        sent.append({})
    session = world.url(Operation("GET", "/import-sessions/{session_id}", (("session_id", "path"),), False))
    before = world.owner.session.get(session, timeout=30, headers={
        "Authorization": f"Bearer {world.owner.token}", "X-Workspace-ID": world.workspace}).json()
    for body in sent:
        _assert_refused(_call(world, op, data=json.dumps(body).encode()), f"{op.path} {body!r}", target="body")
    after = world.owner.session.get(session, timeout=30, headers={
        "Authorization": f"Bearer {world.owner.token}", "X-Workspace-ID": world.workspace}).json()
    assert after == before
    assert world.owner.get_import(world.ids["import_id"])["status"] == "awaitingConfirmation"


@pytest.mark.parametrize(("path", "body", "target"), [
    ("/imports", {"data": {"fileFormat": "Tabular3column#v1", "source": "s" * 10_000_000}}, "body"),
    ("/api/public/v1/transactions", {"transactions": [{"text": "t" * 10_000_000}]}, "body"),
])
def test_a_body_over_the_limit_in_one_string_is_a_413(world: World, path: str, body: dict[str, Any], target: str):
    """qa46b 3: a body over 1 MiB is too large whatever its shape; before, one whose excess sat in one string
    answered 400 StringTooLong (a shorter over-long string still does: the cases above)."""
    answer = world.owner.session.post(f"{world.stack.base_url}{path}", data=json.dumps(body).encode(), timeout=60,
                                      headers={"Authorization": f"Bearer {world.owner.token}",
                                               "Content-Type": "application/json"})
    _assert_refused(answer, path, code="RequestTooLarge", target=target, status=413)


def test_a_mapping_with_numbers_is_measured_and_refused_by_its_model_not_a_500(world: World):
    """Bodies are read with Decimal numbers; the mapping's size check must measure them too (found by the
    OpenAPI fuzz test: a 500)."""
    body = {"data": {"fileFormat": "CSV#mapped#v1", "mapping": {"x": {"y": 3.5e16}}, "bankAccounts": []}}
    answer = world.owner.session.post(f"{world.stack.base_url}/imports", data=json.dumps(body).encode(), timeout=60,
                                      headers={"Authorization": f"Bearer {world.owner.token}",
                                               "Content-Type": "application/json"})
    assert answer.status_code < 500, answer.text
    big = {"data": {"fileFormat": "CSV#mapped#v1", "mapping": {"k": [1.5] * 5000}}}
    answer = world.owner.session.post(f"{world.stack.base_url}/imports", data=json.dumps(big).encode(), timeout=60,
                                      headers={"Authorization": f"Bearer {world.owner.token}",
                                               "Content-Type": "application/json"})
    _assert_refused(answer, "a 20 KB mapping", target="data.mapping")


PAGE_PARAMETERS = {"pageSize", "page[size]", "page[number]"}


@pytest.mark.parametrize("op", [op for op, _ in OPERATIONS if op.query() & PAGE_PARAMETERS],
                         ids=lambda op: f"{op.method} {op.path}")
def test_a_page_size_or_number_that_is_no_small_number_is_a_400(world: World, op: Operation):
    for name in op.query() & PAGE_PARAMETERS:
        for value in ["9" * 5000, "-1", "0", "1e309", "nan", "1.5"]:
            answer = _call(world, op, params={name: value})
            _assert_refused(answer, f"{name}={value[:20]}")
            assert _error(answer)[1] in (f"query.{name}", name), answer.text[:300]


_hostile_leaf = st.sampled_from([10**200, -(10**150), 1e308, 5e-324, "\ud800", "x" * 200_000, None, True, "ok"])
_hostile = st.recursive(_hostile_leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.sampled_from(["data", "transactions", "amount", "text", "id", "x"]),
                                          inner, max_size=3), max_leaves=8)
BODY_ROUTES = [op for op, _ in OPERATIONS if op.has_body]


@pytest.mark.parametrize("op", BODY_ROUTES, ids=lambda op: f"{op.method} {op.path}")
def test_generated_hostile_bodies_never_get_a_server_error(world: World, op: Operation):
    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_hostile)
    def check(document: Any) -> None:
        answer = _call(world, op, data=json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        assert answer.status_code < 500, f"{answer.status_code} {answer.text[:300]}"
        if answer.status_code >= 400:
            assert _error(answer)[0]

    check()


# --- what already held: tokens, tenants, idempotency ---------------------------------------------
def _token(*, secret: str | None = None, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now, "exp": now + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret or dev_secret(), algorithm=algorithm)


def _bad_authorizations() -> Iterator[tuple[str, str | None]]:
    tenant = {"organisationId": "org-x", "companyId": "co-x"}
    yield "none", None
    yield "not a jwt", "Bearer not-a-jwt"
    yield "basic", "Basic dXNlcjpwYXNz"
    yield "empty bearer", "Bearer "
    yield "another secret", "Bearer " + _token(secret="another-secret-of-at-least-32-bytes!!", **tenant)
    yield "expired", "Bearer " + _token(exp=int(time.time()) - 5, **tenant)
    yield "another audience", "Bearer " + _token(aud="someone-else", **tenant)
    yield "another issuer", "Bearer " + _token(iss="someone-else", **tenant)
    yield "no expiry", "Bearer " + _token(exp=None, **tenant)
    unsigned = jwt.encode({"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "exp": int(time.time()) + 600, **tenant},
                          key=None, algorithm="none")
    yield "alg none", f"Bearer {unsigned}"
    yield "no tenant claims", "Bearer " + _token()
    yield "no company", "Bearer " + _token(organisationId="org-x")


def test_the_representative_tokens_and_routes_are_there():
    assert {what for what, _ in _bad_authorizations()} > REPRESENTATIVE
    assert {(op.method, op.path) for op, protected in OPERATIONS if protected} >= DIALECT_ROUTES


#: a route of each dialect gets every kind of bad token through HTTP; every other protected route a
#: representative few (the whole generated matrix runs on the api function in process:
#: tests/unit/test_token_matrix.py)
DIALECT_ROUTES = {("GET", "/imports/{import_id}"), ("POST", "/api/public/v1/transactions"),
                  ("GET", RECONCILIATIONS), ("GET", "/import-sessions")}
REPRESENTATIVE = {"none", "another secret", "expired", "no tenant claims"}


@pytest.mark.parametrize("op", [op for op, protected in OPERATIONS if protected],
                         ids=lambda op: f"{op.method} {op.path}")
def test_a_forged_expired_or_claimless_token_is_401_on_every_protected_route(world: World, op: Operation):
    every_kind = (op.method, op.path) in DIALECT_ROUTES
    for what, authorization in _bad_authorizations():
        if not every_kind and what not in REPRESENTATIVE:
            continue
        headers = {} if authorization is None else {"Authorization": authorization}
        answer = requests.request(op.method, world.url(op), headers=headers, timeout=30,
                                  data=b"{}" if op.has_body else None)
        assert answer.status_code == 401, f"{what}: {answer.status_code} {answer.text[:200]}"
        assert _error(answer)[0]


@pytest.mark.parametrize("op", [op for op, protected in OPERATIONS if protected and op.path_params()],
                         ids=lambda op: f"{op.method} {op.path}")
def test_no_tenant_reads_or_changes_another_tenants_data(world: World, op: Operation):
    stranger = _tenant(world.stack)
    amend = {"data": {"flipTransactions": {"bankAccountIds": [world.ids["account_id"]]}}}
    bodies = {"POST /imports/{import_id}/amendtransactions": amend,
              "GET /imports/{import_id}/amendtransactions": amend,  # the document's method, with a body
              "PATCH /imports/{import_id}/reviewtransactions/{transaction_id}": {"data": {"decision": "skip"}},
              f"PATCH {RECONCILIATIONS}/{{reconciliation_id}}/entries/{{entry}}":
              {"data": {"type": "reconciliation-entries", "attributes": {"matchStatus": "UNMATCHED"}}}}
    body = bodies.get(f"{op.method} {op.path}")
    data = json.dumps(body).encode() if body else None
    if session_routes.owns(op.path):
        # the owner's workspace is not the stranger's; in a workspace of its own, the owner's ids are not found
        # (a route with a body may refuse the empty body first: then nothing was read either)
        refused = _call(world, op, token=stranger.token, data=b"{}" if op.has_body else None)
        if not (op.has_body and refused.status_code == 400):  # an empty body may be refused before the header
            assert refused.status_code == 403 and _error(refused)[0] == "WorkspaceForbidden", refused.text[:300]
        answer = _call(world, op, token=stranger.token, data=b"{}" if op.has_body else None,
                       workspace=_workspace(stranger))
        assert answer.status_code in ((400, 404) if op.has_body else (404,)), f"{answer.status_code} {answer.text}"
        assert set(json.dumps(answer.json()).split('"')) & set(world.ids.values()) <= {world.ids["billing_month"]}
    else:
        answer = _call(world, op, token=stranger.token, data=data)
        assert answer.status_code == 404, f"{answer.status_code} {answer.text[:300]}"
    # the owner's import and session are as they were
    assert world.owner.get_import(world.ids["import_id"])["status"] == "awaitingConfirmation"
    session = world.owner.session.get(f"{world.stack.base_url}/import-sessions/{world.ids['session_id']}", timeout=30,
                                      headers={"Authorization": f"Bearer {world.owner.token}",
                                               "X-Workspace-ID": world.workspace})
    assert session.status_code == 200 and len(session.json()["transactions"]) == 2, session.text[:300]


def test_no_listing_shows_another_tenants_data(world: World):
    stranger = _tenant(world.stack)
    theirs = _workspace(stranger)
    owner_ids = set(world.ids.values()) - {world.ids["billing_month"]} | {world.workspace}
    for op in [op for op, protected in OPERATIONS if protected and op.method == "GET" and not op.path_params()]:
        answer = _call(world, op, token=stranger.token, workspace=theirs)
        if answer.status_code == 400 and _error(answer)[1] in op.query():
            continue  # a listing that needs a filter (GET /recurring-card-transactions?card_id=)
        assert answer.status_code == 200, f"{op.path}: {answer.text[:200]}"
        data = answer.json() if session_routes.owns(op.path) else answer.json()["data"]
        if isinstance(data, list):  # the sessions dialect answers bare lists (a workspace has its own)
            assert session_routes.owns(op.path) or data == [], op.path
        else:  # the caller's own settings (GET /settings), not a listing
            assert op.path == "/settings", op.path
        assert not owner_ids & set(json.dumps(answer.json()).split('"')), op.path


IDEMPOTENT = [op for op, _ in OPERATIONS if ("Idempotency-Key", "header") in op.params]


@pytest.mark.parametrize("op", IDEMPOTENT, ids=lambda op: f"{op.method} {op.path}")
def test_an_idempotency_key_reused_with_another_body_is_409(world: World, op: Operation):
    account = world.owner.create_account(f"GB{uuid.uuid4().hex[:12]}")
    identifier = world.owner.ok("GET", f"/bankaccounts/{account}")["data"]["accountIdentifier"]
    bodies = {
        "/imports": [{"data": {"fileFormat": "Tabular3column#v1", "bankAccounts": [{"id": account}], "fileName": n}}
                     for n in ("a.csv", "b.csv")],
        "/bankaccounts": [{"data": {"bankId": "b", "countryCode": "GBR", "accountIdentifier": n}}
                          for n in ("111", "222")],
        "/api/public/v1/transactions": [{"transactions": [{
            "accountIdentifier": identifier, "transactionId": f"t-{n}", "text": "Coffee", "creditDebit": "debit",
            "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"}]} for n in (1, 2)],
    }
    first, second = bodies[op.path]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert _call(world, op, data=json.dumps(first).encode(), headers=key).status_code == 201
    replay = _call(world, op, data=json.dumps(first).encode(), headers=key)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    reused = _call(world, op, data=json.dumps(second).encode(), headers=key)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "IdempotencyKeyReused", reused.text
