"""The gateway in front of the api function: the JWT authorizer, the payload 2.0 event, responses."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from tximport_cli.local.tokens import DEV_AUDIENCE, DEV_ISSUER, dev_secret

pytestmark = pytest.mark.e2e


def _signed(claims_override: dict, secret: str | None = None) -> str:
    now = int(time.time())
    claims = {"organisationId": "o1", "companyId": "c1", "iss": DEV_ISSUER, "aud": DEV_AUDIENCE,
              "iat": now, "exp": now + 600, **claims_override}
    return jwt.encode(claims, secret or dev_secret(), algorithm="HS256")


def _assert_unauthorized(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"data", "links", "meta", "error"}
    assert body["data"] is None and body["links"] is None and body["meta"] == {}
    # the codes and envelope the api function answers on AWS, where it verifies tokens itself
    assert body["error"]["code"] in ("MissingToken", "InvalidToken")
    assert body["error"]["target"] == "Authorization" and body["error"]["message"]


def test_protected_route_without_token_is_401(standin_stack, http):
    _assert_unauthorized(http.get(f"{standin_stack.base_url}/imports"))


@pytest.mark.parametrize("authorization", [
    "Bearer not-a-jwt",
    "Basic dXNlcjpwYXNz",
    "Bearer ",
    "Bearer " + _signed({}, secret="a-different-secret-of-at-least-32-bytes"),
    "Bearer " + _signed({"exp": int(time.time()) - 10}),
    "Bearer " + _signed({"aud": "someone-else"}),
    "Bearer " + _signed({"iss": "someone-else"}),
])
def test_protected_route_with_bad_token_is_401(standin_stack, http, authorization):
    response = http.get(f"{standin_stack.base_url}/imports", headers={"Authorization": authorization})
    _assert_unauthorized(response)


def test_fileformats_needs_no_token(standin_stack, http):
    response = http.get(f"{standin_stack.base_url}/fileformats")
    assert response.status_code == 200
    assert response.json()["data"] == [{"fileFormat": "Tabular3column#v1"}]


def test_event_is_http_api_payload_2_with_verified_claims(standin_stack, http):
    token = standin_stack.token_for("org-7", "co-9")
    response = http.get(f"{standin_stack.base_url}/imports/imp-1/reviewtransactions?pageSize=5&tag=a&tag=b",
                        headers={"Authorization": f"Bearer {token}", "X-Custom": "Yes", "Cookie": "a=1; b=2"})
    assert response.status_code == 200
    event = response.json()["data"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /imports/{id}/reviewtransactions"
    assert event["pathParameters"] == {"id": "imp-1"}
    assert event["rawPath"] == "/imports/imp-1/reviewtransactions"
    assert event["rawQueryString"] == "pageSize=5&tag=a&tag=b"
    assert event["queryStringParameters"] == {"pageSize": "5", "tag": "a,b"}
    assert event["headers"]["x-custom"] == "Yes"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/imports/imp-1/reviewtransactions"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"]
    claims = context["authorizer"]["jwt"]["claims"]
    assert claims["organisationId"] == "org-7" and claims["companyId"] == "co-9"
    assert isinstance(claims["exp"], str)  # HTTP API hands claims over as strings
    assert event["isBase64Encoded"] is False


def test_binary_request_body_is_base64_encoded(standin_stack, http):
    token = standin_stack.token_for("o", "c")
    payload = bytes(range(256))
    response = http.post(f"{standin_stack.base_url}/imports/i1/amendtransactions", data=payload,
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/octet-stream"})
    event = response.json()["data"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_json_request_body_is_passed_as_text(standin_stack, http):
    token = standin_stack.token_for("o", "c")
    response = http.post(f"{standin_stack.base_url}/imports/i1/amendtransactions", json={"data": {"x": "£1"}},
                            headers={"Authorization": f"Bearer {token}"})
    event = response.json()["data"]
    assert event["isBase64Encoded"] is False
    assert event["routeKey"] == "POST /imports/{id}/amendtransactions"
    assert event["body"] == '{"data": {"x": "\\u00a31"}}'


def test_base64_response_is_decoded(standin_stack, http):
    token = standin_stack.token_for("o", "c")
    response = http.get(f"{standin_stack.base_url}/standin/binary",
                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.content == bytes(range(256))
    assert response.headers["content-type"] == "application/octet-stream"


def test_handler_crash_is_a_json_500(standin_stack, http):
    token = standin_stack.token_for("o", "c")
    response = http.get(f"{standin_stack.base_url}/standin/boom",
                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    body = response.json()
    assert body["data"] is None and body["error"]["code"] == "InternalServerError"
    assert "RuntimeError" in body["error"]["message"]  # locally, where to look
    assert "gateway failed on GET /standin/boom" in standin_stack.output()


def test_an_unknown_route_reaches_the_function_as_default_without_claims(standin_stack, http):
    # as the deployed $default route does: the function answers it (404 RouteNotFound in the envelope)
    token = standin_stack.token_for("o", "c")
    for response in (http.get(f"{standin_stack.base_url}/nowhere", headers={"Authorization": f"Bearer {token}"}),
                     http.put(f"{standin_stack.base_url}/imports/x")):  # GET /imports/{id} exists, PUT does not
        event = response.json()["data"]
        assert event["routeKey"] == "$default" and "authorizer" not in event["requestContext"]


def test_local_events_need_a_token(standin_stack, http):
    _assert_unauthorized(http.get(f"{standin_stack.base_url}/local/events"))
    response = http.get(f"{standin_stack.base_url}/local/events",
                        headers={"Authorization": f"Bearer {standin_stack.token_for('o', 'c')}"})
    assert response.status_code == 200
    assert isinstance(response.json()["data"], list)


def test_twenty_clients_are_served_at_once(standin_stack):
    """API Gateway invokes the function for each request as it comes: 20 requests that each wait inside
    the function until all 20 are there all succeed (one at a time, the first would wait in vain)."""
    parties = 20
    token = standin_stack.token_for("o", "c")

    def call(_: int) -> tuple[int, str]:
        with requests.Session() as session:
            answer = session.get(f"{standin_stack.base_url}/standin/rendezvous", params={"parties": parties},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60)
            return answer.status_code, answer.json()["data"]["requestId"] if answer.ok else answer.text

    with ThreadPoolExecutor(max_workers=parties) as pool:
        answers = list(pool.map(call, range(parties)))
    assert [status for status, _ in answers] == [200] * parties, answers
    assert len({request_id for _, request_id in answers}) == parties


def test_a_body_over_api_gateways_limit_is_a_413(standin_stack, http):
    token = standin_stack.token_for("o", "c")
    too_large = b"x" * (10 * 1024 * 1024 + 1)
    response = http.post(f"{standin_stack.base_url}/imports", data=too_large,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "RequestTooLarge"
    # in the error shape of each dialect
    response = http.post(f"{standin_stack.base_url}/baas/api/v1/reconciliations", data=too_large,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["statusCode"] == 413
    response = http.post(f"{standin_stack.base_url}/import-sessions/x/upload", data=too_large,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "RequestTooLarge"


def test_no_content_answer_sends_no_body_and_keeps_the_connection_usable(standin_stack, http):
    auth = {"Authorization": f"Bearer {standin_stack.token_for('o', 'c')}"}
    first = http.post(f"{standin_stack.base_url}/imports/i1/confirm", headers=auth)
    assert first.status_code == 204 and first.content == b""
    # the same keep-alive connection answers the next request cleanly
    assert http.get(f"{standin_stack.base_url}/fileformats").status_code == 200
