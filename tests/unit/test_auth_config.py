"""Tokens, tenants and configuration."""

from __future__ import annotations

import pytest

from tximport.auth import bearer_token, tenant_from_claims
from tximport.config import ConfigError, load_settings
from tximport.errors import Unauthorized
from tximport_cli.local.tokens import issue_token, verify_token

KW = {"secret": "s3cret", "issuer": "iss", "audience": "aud"}


def test_issued_token_verifies_and_names_the_tenant():
    claims = verify_token(issue_token("org1", "co1", **KW), **KW)
    tenant = tenant_from_claims(claims)
    assert (tenant.organisation_id, tenant.company_id) == ("org1", "co1")
    assert tenant.key == "org1/co1"


def test_dev_tokens_carry_permissions_and_roles_when_asked():
    plain = verify_token(issue_token("o", "c", **KW), **KW)
    assert "permissions" not in plain and "roles" not in plain
    asked = ["BAAS_RECONCILIATION_CREATE", "BAAS_RECONCILIATION_READ", "BAAS_RECONCILIATION_CREATE"]
    claims = verify_token(issue_token("o", "c", permissions=asked, roles=["admin"], **KW), **KW)
    assert claims["permissions"] == ["BAAS_RECONCILIATION_CREATE", "BAAS_RECONCILIATION_READ"]
    assert claims["roles"] == ["admin"]


@pytest.mark.parametrize("change", [{"secret": "other"}, {"issuer": "x"}, {"audience": "y"}])
def test_wrong_secret_issuer_or_audience_is_refused(change):
    token = issue_token("o", "c", **KW)
    with pytest.raises(Unauthorized):
        verify_token(token, **{**KW, **change})


def test_expired_token_is_refused():
    with pytest.raises(Unauthorized):
        verify_token(issue_token("o", "c", ttl_seconds=-10, **KW), **KW)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "token"])
def test_malformed_authorization_header(header):
    with pytest.raises(Unauthorized):
        bearer_token(header)


def test_claims_without_tenant_are_refused():
    with pytest.raises(Unauthorized):
        tenant_from_claims({"organisationId": "o"})


def test_settings_fail_at_cold_start_naming_what_is_missing():
    with pytest.raises(ConfigError, match="IMPORTS_TABLE_NAME"):
        load_settings({"LEDGER_TABLE_NAME": "l", "BUCKET_NAME": "b"})
    settings = load_settings({"IMPORTS_TABLE_NAME": "i", "LEDGER_TABLE_NAME": "l", "BUCKET_NAME": "b",
                              "CHUNK_ROWS": "500"})
    assert settings.chunk_rows == 500 and settings.upload_url_ttl_seconds == 900
    with pytest.raises(ConfigError, match="CHUNK_ROWS"):
        load_settings({"IMPORTS_TABLE_NAME": "i", "LEDGER_TABLE_NAME": "l", "BUCKET_NAME": "b",
                       "CHUNK_ROWS": "many"})
