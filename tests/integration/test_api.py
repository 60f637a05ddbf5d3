"""The API handler on moto: validation, errors as documented codes, listing, re-signing, templates."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.client import Api
from tximport_cli.local.lambdas import FakeLambdaContext


def _event(method: str, path: str, *, claims: dict | None, body: dict | None = None) -> dict:
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
                           "requestId": "r", "stage": "$default",
                           **({"authorizer": {"jwt": {"claims": claims, "scopes": []}}} if claims else {})},
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


def test_handler_takes_the_tenant_from_verified_claims_only(api_handler):
    claims = {"organisationId": "org-h", "companyId": "co-h"}
    created = api_handler(_event("POST", "/bankaccounts", claims=claims, body={"data": {
        "bankId": "b", "countryCode": "GBR", "accountIdentifier": "1"}}), FakeLambdaContext("tximport-api"))
    assert created["statusCode"] == 201
    account_id = json.loads(created["body"])["data"]["id"]
    # a header naming another tenant changes nothing: only claims count
    event = _event("GET", f"/bankaccounts/{account_id}", claims={"organisationId": "x", "companyId": "y"})
    event["headers"]["x-organisation-id"] = "org-h"
    assert api_handler(event, FakeLambdaContext("tximport-api"))["statusCode"] == 404
    no_claims = api_handler(_event("GET", "/bankaccounts", claims=None), FakeLambdaContext("tximport-api"))
    assert no_claims["statusCode"] == 401


def test_file_formats_need_no_token_and_say_their_limits(api: Api):
    answer = api.session.get(f"{api.base_url}/fileformats", timeout=10)
    assert answer.status_code == 200
    formats = {f["fileFormat"]: f for f in answer.json()["data"]}
    assert {"CSV#4col#v1", "Tabular3column#v1"} <= set(formats)
    assert formats["CSV#4col#v1"]["maxFileSize"] == 250_000_000
    assert formats["CSV#4col#v1"]["accountsSupported"] == "single"
    template = api.session.get(f"{api.base_url}/fileformats/CSV%234col%23v1/template", timeout=10)
    assert template.status_code == 200 and template.text.startswith("date,description,credit,debit")


@pytest.mark.parametrize(("body", "status", "code", "target"), [
    ({"data": {"fileFormat": "Nope#v1", "bankAccounts": [{"id": "x"}]}}, 404, "UnknownFileFormat", "fileFormat"),
    ({"data": {"fileFormat": "Tabular3column#v1", "bankAccounts": []}}, 400, "BankAccountsInvalid", "bankAccounts"),
    ({"data": {"fileFormat": "Tabular3column#v1", "bankAccounts": [{"id": "missing"}]}}, 404,
     "BankAccountNotFound", "bankAccounts[0].id"),
    ({"data": {"fileFormat": "Tabular3column#v1", "dateStyle": "sideways", "bankAccounts": [{"id": "x"}]}}, 400,
     "ValidationError", "data.dateStyle"),
    ({"data": {"bankAccounts": [{"id": "x"}]}}, 400, "ValidationError", "data.fileFormat"),
    ({"nodata": {}}, 400, "ValidationError", "data"),
    ({"data": {"fileFormat": "Tabular3column#v1", "bankAccounts": [{"id": "x", "productDates": {
        "transactionStartDate": "2024-02-01", "transactionEndDate": "2024-01-31"}}]}}, 400, "ValidationError",
     "data.bankAccounts[0].productDates"),
    *(({"data": {"fileFormat": "Tabular3column#v1", "bankAccounts": [{"id": "x", "productDates": {
        "transactionStartDate": day}}]}}, 400, "ValidationError",
       "data.bankAccounts[0].productDates.transactionStartDate") for day in (0, 86400, "86400", -0.0, True)),
])
def test_bad_import_requests_get_a_code_and_a_target(api: Api, body, status, code, target):
    answer = api.call("POST", "/imports", json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["target"] == target


def test_bad_bank_account_request(api: Api):
    answer = api.call("POST", "/bankaccounts", json={"data": {"bankId": "b", "countryCode": "gb1",
                                                              "accountIdentifier": "1"}})
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == "data.countryCode"


def test_malformed_json_body_is_a_400(api: Api):
    answer = api.session.post(f"{api.base_url}/imports", data=b"{not json",
                              headers={"Authorization": f"Bearer {api.token}", "content-type": "application/json"},
                              timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ValidationError"


def test_a_member_given_twice_is_refused(api: Api):
    """`reviewLevel` twice says two things: taking the last would act on what the client may not have meant."""
    account = api.create_account()
    body = ('{"data":{"fileFormat":"Tabular3column#v1","fileName":"s.csv","reviewLevel":"fullReview",'
            '"reviewLevel":"minimalReview","bankAccounts":[{"id":"' + account + '"}]}}')
    answer = api.session.post(f"{api.base_url}/imports", data=body, timeout=10,
                              headers={"Authorization": f"Bearer {api.token}", "content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["target"]) == ("ValidationError", "body") and "reviewLevel" in error["message"]
    # a route that reads no body refuses it all the same, and changes nothing
    imp = api.import_file(account, b"date,description,amount\n2024-01-02,Coffee,-3.50\n")
    twice = api.session.post(f"{api.base_url}/imports/{imp['id']}/confirm", data='{"a":1,"a":2}', timeout=10,
                             headers={"Authorization": f"Bearer {api.token}", "content-type": "application/json"})
    assert twice.status_code == 400 and "'a'" in twice.json()["error"]["message"], twice.text
    assert api.ok("GET", f"/imports/{imp['id']}")["data"]["status"] == "awaitingConfirmation"


def test_a_malformed_body_is_refused_by_a_route_that_reads_none_and_changes_nothing(api: Api):
    account = api.create_account()
    imp = api.import_file(account, b"date,description,amount\n2024-01-02,Coffee,-3.50\n")
    answer = api.session.post(f"{api.base_url}/imports/{imp['id']}/confirm", data=b"{garbage", timeout=10,
                              headers={"Authorization": f"Bearer {api.token}", "content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"]["code"], answer.json()["error"]["target"]) == ("ValidationError", "body")
    assert api.ok("GET", f"/imports/{imp['id']}")["data"]["status"] == "awaitingConfirmation"


@pytest.mark.parametrize("field, value", [("bypassReplayValidation", "yes"), ("bypassReplayValidation", "false"),
                                          ("fuzzyAccountMatching", 1), ("includePending", "y")])
def test_a_boolean_is_a_json_boolean(api: Api, field: str, value: object):
    """A word or a number is no boolean: `"false"` would otherwise switch on what it meant to keep off."""
    account = api.create_account()
    answer = api.call("POST", "/imports", json={"data": {
        "fileFormat": "Tabular3column#v1", "fileName": "s.csv", "bankAccounts": [{"id": account}], field: value}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["target"] == f"data.{field}"


def test_upload_url_is_tenant_scoped_and_re_signed_while_awaiting(api: Api):
    account = api.create_account()
    import_id, first = api.create_import(account)
    assert f"/uploads/{api.organisation_id}/{api.company_id}/{import_id}" in urlparse(first).path
    assert parse_qs(urlparse(first).query)["X-Amz-Expires"] == ["900"]
    time.sleep(1.1)  # presigned URLs carry a per-second timestamp
    again = api.ok("GET", f"/imports/{import_id}")["links"]["uploadPath"]
    assert again != first and urlparse(again).path == urlparse(first).path


def test_imports_list_newest_first_with_pages(api: Api):
    account = api.create_account()
    ids = [api.create_import(account)[0] for _ in range(3)]
    page = api.ok("GET", "/imports", params={"pageSize": 2})
    assert [i["id"] for i in page["data"]] == ids[::-1][:2]
    cursor = page["links"]["next"].split("cursor=")[1]
    rest = api.ok("GET", "/imports", params={"pageSize": 2, "cursor": cursor})
    assert [i["id"] for i in rest["data"]] == [ids[0]]
    bad = api.call("GET", "/imports", params={"cursor": "%%%"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidCursor"


def test_review_before_processing_is_a_conflict(api: Api):
    account = api.create_account()
    import_id, _ = api.create_import(account)
    answer = api.call("GET", f"/imports/{import_id}/reviewtransactions")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "InvalidImportStatus"
    assert api.call("POST", f"/imports/{import_id}/confirm").status_code == 409


def test_unknown_route_is_a_404_envelope(api: Api):
    answer = api.call("GET", "/imports/x/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] in ("RouteNotFound", "NotFound")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_no_json_on_any_route(api: Api, constant: str):
    """Python's json module reads NaN and Infinity; RFC 8259 has neither: refused as any body that is no JSON, on a
    route that reads a body and on one that reads none (the import stays as it was)."""
    account = api.create_account()
    headers = {"Authorization": f"Bearer {api.token}", "content-type": "application/json"}
    body = ('{"data":{"bankId":"b","countryCode":"DEU","accountIdentifier":"NAN-' + constant + '","currency":"EUR",'
            '"name":' + constant + '}}')
    created = api.session.post(f"{api.base_url}/bankaccounts", data=body, headers=headers, timeout=10)
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert (error["code"], error["target"]) == ("ValidationError", "body") and constant.lstrip("-") in error["message"]
    imp = api.import_file(account, b"date,description,amount\n2024-01-02,Coffee,-3.50\n")
    for sent in (constant, '{"data": ' + constant + "}"):
        answer = api.session.post(f"{api.base_url}/imports/{imp['id']}/confirm", data=sent, headers=headers,
                                  timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]["target"] == "body", answer.text
    assert api.ok("GET", f"/imports/{imp['id']}")["data"]["status"] == "awaitingConfirmation"


def test_mapped_csv_mapping_is_checked_when_the_import_is_created(api: Api):
    account = api.create_account()
    base = {"fileFormat": "CSV#mapped#v1", "bankAccounts": [{"id": account}]}
    missing = api.call("POST", "/imports", json={"data": base})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "MappingRequired"
    bad = api.call("POST", "/imports", json={"data": {**base, "mapping": {"columns": {"amount": "Amount"}}}})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidMapping" and bad.json()["error"]["target"] == "mapping"
    wrong_format = api.call("POST", "/imports", json={"data": {
        "fileFormat": "Tabular3column#v1", "bankAccounts": [{"id": account}], "mapping": {"columns": {}}}})
    assert wrong_format.json()["error"]["code"] == "MappingNotSupported"


@pytest.mark.parametrize(("content_type", "body", "status", "code"), [
    ("multipart/form-data", b'{"data": {}}', 415, "UnsupportedMediaType"),
    ("text/plain", b"hello", 415, "UnsupportedMediaType"),
    ("application/json", b"\xff\xfe\x00", 400, "ValidationError"),
])
def test_bodies_that_are_not_json_get_a_4xx(api: Api, content_type, body, status, code):
    answer = api.session.post(f"{api.base_url}/bankaccounts", data=body, timeout=10,
                              headers={"Authorization": f"Bearer {api.token}", "content-type": content_type})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8",
                                          "application/vnd.api+json", "application/problem+json"])
def test_json_media_types_are_read_whatever_their_case(api: Api, content_type: str):
    """Media types are case-insensitive and `+json` types are JSON: the body is read as any JSON body."""
    body = {"data": {"bankId": "b", "countryCode": "DEU", "accountIdentifier": f"MT-{content_type}",
                     "currency": "EUR"}}
    created = api.session.post(f"{api.base_url}/bankaccounts", data=json.dumps(body), timeout=10,
                               headers={"Authorization": f"Bearer {api.token}", "Content-Type": content_type})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["accountIdentifier"] == f"MT-{content_type}"
    invalid = api.session.post(f"{api.base_url}/bankaccounts", data=b'{"data": {}}', timeout=10,
                               headers={"Authorization": f"Bearer {api.token}", "Content-Type": content_type})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "ValidationError", invalid.text


def test_unknown_http_methods_are_405_not_5xx(api: Api):
    answer = api.session.request("TRACE", f"{api.base_url}/imports", timeout=10)
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert api.session.request("TRACE", f"{api.base_url}/nowhere", timeout=10).status_code == 404


def test_a_second_bank_account_with_an_identifier_already_taken_is_409(api: Api):
    first = api.create_account("DE89370400440532013000")
    body = {"data": {"bankId": "another-bank", "countryCode": "DEU", "accountIdentifier": "de89 3704 0044 0532 0130 00",
                     "currency": "EUR"}}
    again = api.call("POST", "/bankaccounts", json=body)
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert (error["code"], error["target"]) == ("BankAccountExists", "accountIdentifier") and first in error["message"]
    assert error["details"] == [{"target": "accountIdentifier", "code": "BankAccountExists", "bankAccountId": first}]
    assert [a["id"] for a in api.ok("GET", "/bankaccounts")["data"]] == [first]
    # a client that writes UUIDs in upper case names the same account
    assert api.ok("GET", f"/bankaccounts/{first.upper()}")["data"]["id"] == first
