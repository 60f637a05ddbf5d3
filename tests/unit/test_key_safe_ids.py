"""Ids that become parts of stored keys (a tenant's, an import's, an account's) keep to a safe alphabet:
`.` and `..` would be dot segments of an S3 key that never lands where it was signed for, `/` another
segment, `#` another part of a DynamoDB key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tximport.api.models import AmendRequest, CreateImportRequest
from tximport.auth import tenant_from_claims
from tximport.errors import Unauthorized
from tximport.ids import is_safe_id, new_id
from tximport.models import Tenant

UNSAFE = [".", "..", "./x", "a/b", "a#b", "", " a", "a b", "-a", "_a", "é", "a\x00", "x" * 129, "a\\b", "%2e%2e"]
SAFE = ["a", "demo-org", "org_1.eu", "0190f7a2-5b1e-7c3d-9a4b-1234567890ab", "2024-01-02-0f3c", "x" * 128]


@pytest.mark.parametrize("value", SAFE)
def test_safe_ids(value: str):
    assert is_safe_id(value)
    assert Tenant(organisation_id=value, company_id=value).key == f"{value}/{value}"


@pytest.mark.parametrize("value", UNSAFE)
def test_unsafe_ids_are_no_tenant(value: str):
    assert not is_safe_id(value)
    with pytest.raises(ValidationError):
        Tenant(organisation_id=value, company_id="co")
    with pytest.raises(ValidationError):
        Tenant(organisation_id="org", company_id=value)


@pytest.mark.parametrize("value", [v for v in UNSAFE if v])
def test_a_token_naming_an_unsafe_tenant_is_an_invalid_token(value: str):
    for claims in ({"organisationId": value, "companyId": "co"}, {"organisationId": "org", "companyId": value}):
        with pytest.raises(Unauthorized) as refused:
            tenant_from_claims(claims)
        assert refused.value.code == "InvalidToken"


def test_generated_ids_are_safe():
    assert all(is_safe_id(new_id()) for _ in range(100))


@pytest.mark.parametrize("value", [v for v in UNSAFE if v == v.strip()])  # request bodies are stripped first
def test_ids_in_request_bodies_are_safe_or_refused(value: str):
    with pytest.raises(ValidationError) as refused:
        CreateImportRequest.model_validate({"data": {"fileFormat": "Tabular3column#v1",
                                                     "bankAccounts": [{"id": value}]}})
    assert [e["loc"] for e in refused.value.errors()] == [("data", "bankAccounts", 0, "id")]
    with pytest.raises(ValidationError):
        AmendRequest.model_validate({"data": {"flipTransactions": {"bankAccountIds": ["ok", value]}}})
