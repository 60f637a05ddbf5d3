"""How the dialect writes amounts and reads permissions (no sockets, no AWS)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from tximport.api.reconciliation_views import dumps, in_currency, page_of
from tximport.api.routes.reconciliations import _permissions
from tximport.reconciliation.ids import entry_id, entry_index, is_uuid, ledger_day, statement_id


@pytest.mark.parametrize(("value", "currency", "text"), [
    (Decimal("23000"), "BRL", "23000.00"), (Decimal("23000.0"), None, "23000.00"), (Decimal("0"), "EUR", "0.00"),
    (Decimal("1.234"), "BHD", "1.234"), (Decimal("-42.9"), "EUR", "-42.90"), (Decimal("1500.00"), "JPY", "1500"),
    (Decimal("12345678901.23"), "EUR", "12345678901.23"), (Decimal("100.0000"), "EUR", "100.00"),
])
def test_amounts_are_exact_json_numbers_with_their_currencys_decimals(value, currency, text):
    body = dumps({"totalAmount": in_currency(value, currency), "text": "23000.00"})
    assert body == f'{{"totalAmount":{text},"text":"23000.00"}}'
    assert json.loads(body, parse_float=Decimal)["totalAmount"] == value


def test_a_client_string_that_looks_like_a_marker_stays_a_string():
    body = dumps({"description": '"' + "0" * 32 + '1.00"', "amount": Decimal("1")})
    assert json.loads(body)["description"].endswith('1.00"')


@pytest.mark.parametrize(("claim", "expected"), [
    (["BAAS_RECONCILIATION_READ"], {"BAAS_RECONCILIATION_READ"}),
    ("[BAAS_RECONCILIATION_CREATE BAAS_RECONCILIATION_READ]",
     {"BAAS_RECONCILIATION_CREATE", "BAAS_RECONCILIATION_READ"}),
    ("BAAS_RECONCILIATION_READ", {"BAAS_RECONCILIATION_READ"}),
    (None, set()), (7, set()),
])
def test_the_permissions_claim_as_a_list_or_as_api_gateway_flattens_it(claim, expected):
    assert _permissions({"permissions": claim}) == expected


def test_pages_link_to_their_neighbours_and_keep_the_filters():
    page = page_of([], 45, 2, 20, "/r", {"filter[status]": "COMPLETED"})
    assert page["meta"] == {"totalItems": 45, "totalPages": 3, "currentPage": 2, "itemsPerPage": 20,
                            "hasNextPage": True, "hasPreviousPage": True}
    assert page["links"]["next"] == "/r?filter[status]=COMPLETED&page[number]=3&page[size]=20"
    assert page["links"]["first"].endswith("page[number]=1&page[size]=20")
    empty = page_of([], 0, 1, 20, "/r", {})
    assert empty["meta"]["totalPages"] == 1 and empty["links"]["prev"] is None and empty["links"]["next"] is None


#: the bits of a statement UUID that are its version and variant, not the digest's
_WRITTEN_BITS = (0xF << 76) | (0b11 << 62)


def test_entry_ids_carry_their_index_and_statement_ids_their_ledger_digest():
    rec = "01a22af8-6c1e-7b3d-9a4b-1234567890ab"
    assert is_uuid(entry_id(rec, 41)) and entry_index(rec, entry_id(rec, 41)) == 41
    assert entry_index("01a22af8-6c1e-7b3d-9a4b-000000000000", entry_id(rec, 41)) is None
    assert entry_index(rec, "garbage") is None and not is_uuid("x" * 2000)
    tx = "2024-01-10-" + "ab" * 16
    # the digest's bits but its version (8) and variant (RFC 9562): a UUID strict validators accept
    assert statement_id(tx) == "abababab-abab-8bab-abab-abababababab" and ledger_day(tx) == date(2024, 1, 10)
    for digest in ("0" * 32, "f" * 32, "04308141575770eb28fa8cac6cf46da3"):
        written = uuid.UUID(statement_id(f"2024-01-10-{digest}"))
        assert (written.version, written.variant) == (8, uuid.RFC_4122)
        assert written.int & ~_WRITTEN_BITS == int(digest, 16) & ~_WRITTEN_BITS
    assert is_uuid(statement_id("public-api-line")) and ledger_day("public-api-line") is None


def test_the_openapi_document_and_the_docs_page_carry_the_dialect():
    from tximport.api.app import _docs_html, openapi_document

    paths = openapi_document()["paths"]
    base = "/baas/api/v1/reconciliations"
    assert {"post", "get"} <= set(paths[base])
    assert "get" in paths[f"{base}/{{reconciliation_id}}"] and "get" in paths[f"{base}/{{reconciliation_id}}/entries"]
    assert "patch" in paths[f"{base}/{{reconciliation_id}}/entries/{{entry}}"]
    listing = paths[base]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"page[number]", "page[size]", "filter[accountId]",
                                                          "filter[status]", "filter[periodStart]", "filter[periodEnd]"}
    created = paths[base]["post"]["responses"]
    assert set(created) >= {"201", "400", "401", "403", "404", "409", "422"}
    assert created["403"]["content"]["application/json"]["examples"]["forbidden"]["value"]["message"] == \
        "Permission denied: BAAS_RECONCILIATION_CREATE required"
    assert f"{base}/{{reconciliation_id}}/entries" in _docs_html()
