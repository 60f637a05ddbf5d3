"""The import-sessions dialect over HTTP on the local stack, on where lines belong: a session moved to another
account takes its lines only where they fit, an uploaded statement gives a session only its own account's lines,
and the workspace a call without X-Workspace-ID is in (document 000 lists the header on one route only)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES
from tests.support.sessions_client import SessionsClient, tenant_client
from tests.support.statements import two_banks_ofx
from tximport_cli.local.stack import LocalStack

D = Decimal
CAMT = SAMPLES / "camt053" / "oca-test-camt053.xml"  # the statement of NL77ABNA0574908765, EUR
OFX = SAMPLES / "ofx" / "ofxparse-checking.ofx"  # the statement of ACCTID 1452687~7, USD


@pytest.fixture()
def client(stack: LocalStack) -> SessionsClient:
    return tenant_client(stack)


def lines_of(c: SessionsClient, session_id: str) -> list[dict]:
    return c.ok("GET", f"/import-sessions/{session_id}/staged-transactions")


# --- moving a session ------------------------------------------------------------------------------
def test_a_session_with_staged_lines_keeps_its_account_and_moves_once_they_are_gone(client: SessionsClient):
    """Its lines were checked, taken from their file and marked as possible duplicates against its account: 1.25 BRL
    never becomes a JPY line, 10.00 BRL never 10.00 USD, and no line goes to another BRL account either; the
    refusal changes nothing."""
    brl = client.bank_account("Conta BRL", currency="BRL")
    jpy, usd = client.bank_account("Conta JPY", currency="JPY"), client.bank_account("Conta USD", currency="USD")
    other_brl, card = client.bank_account("Conta BRL 2", currency="BRL"), client.card()
    session = client.create_session(account_id=brl, billing_month="2024-10")
    client.stage(session["id"], [
        {"transaction_date": "2024-10-03", "description": "cents", "amount": -1.25},
        {"transaction_date": "2024-10-04", "description": "whole", "amount": -10.00}])
    for body, field in (({"account_id": jpy}, "account_id"), ({"account_id": usd}, "account_id"),
                        ({"account_id": other_brl}, "account_id"), ({"card_id": card}, "card_id")):
        refused = client.error("PUT", f"/import-sessions/{session['id']}", 409, json_body=body)
        assert (refused["code"], refused["field"]) == ("SessionHasLines", field), refused
    kept = client.get_session(session["id"])
    assert (kept["account_id"], kept["description"], kept["stats"]["total"]) == (brl, "Conta BRL | 2024-10", 2)
    # its month may change with its lines in it; without them it moves
    assert client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"billing_month": "2024-11"})[
        "billing_month"] == "2024-11"
    client.ok("DELETE", f"/import-sessions/{session['id']}/staged-transactions", 204)
    moved = client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"account_id": jpy})
    assert (moved["account_id"], moved["description"], moved["name"]) == (jpy, "Conta JPY | 2024-11",
                                                                          "Conta JPY | 2024-11")


def test_a_transfer_staged_in_a_session_is_booked_from_its_account_only(client: SessionsClient):
    """A session holding a transfer to another account cannot move to that account (both legs would be booked in
    one account), nor to a third: the line was checked against the account it has, and is booked from it."""
    first, second = client.bank_account("Conta 1", currency="BRL"), client.bank_account("Conta 2", currency="BRL")
    third = client.bank_account("Conta 3", currency="BRL")
    session = client.create_session(account_id=first, billing_month="2024-11")
    transfer = client.stage(session["id"], [
        {"transaction_date": "2024-11-02", "description": "ted", "amount": -10.00, "type": "TRANSFER",
         "data": {"destination_account_id": second}}])[0]
    assert transfer["status"] == "READY"
    for target in (second, third):
        refused = client.error("PUT", f"/import-sessions/{session['id']}", 409, json_body={"account_id": target})
        assert (refused["code"], refused["field"]) == ("SessionHasLines", "account_id")
    assert client.get_session(session["id"])["account_id"] == first
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 1
    assert [(r["amount"], r["type"]) for r in client.core.ledger(first)] == [  # type: ignore[attr-defined]
        ("-10.00", "TRANSFER")]
    assert [(r["amount"], r["type"]) for r in client.core.ledger(second)] == [  # type: ignore[attr-defined]
        ("10.00", "TRANSFER")]
    assert not client.core.ledger(third)  # type: ignore[attr-defined]


def test_a_generated_description_follows_the_month_and_the_context(client: SessionsClient):
    account = client.bank_account("Conta Corrente")
    session = client.create_session(account_id=account, billing_month="2024-03")
    moved = client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"billing_month": "2024-04"})
    assert (moved["description"], moved["name"]) == ("Conta Corrente | 2024-04", "Conta Corrente | 2024-04")
    card = client.card("Visa Gold")
    moved = client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"card_id": card})
    assert (moved["description"], moved["type"]) == ("Visa Gold | 2024-04", "CARD")


# --- uploads that name their account ---------------------------------------------------------------
def test_a_statement_of_another_account_stages_nothing(client: SessionsClient):
    """camt.053 and OFX name the account they are the statement of: a session of another account takes none of
    it (400 AccountNotInFile), the session of that account takes it."""
    for content, name, wrong, right, currency in [
            (CAMT.read_bytes(), "camt.xml", "DE89370400440532013000", "NL77ABNA0574908765", "EUR"),
            (OFX.read_bytes(), "checking.ofx", "9200", "1452687~7", "USD")]:
        other = client.create_session(account_id=client.bank_account(identifier=wrong, currency=currency),
                                      billing_month="2024-03")
        refused = client.upload(other["id"], name, content)
        assert refused.status_code == 400, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == ("AccountNotInFile", "file")
        assert right in refused.json()["error"]
        assert client.get_session(other["id"])["stats"]["total"] == 0
        mine = client.create_session(account_id=client.bank_account(identifier=right, currency=currency),
                                     billing_month="2024-03")
        taken = client.upload(mine["id"], name, content)
        assert taken.status_code == 200 and taken.json()["processed"] > 0, taken.text
        assert taken.json()["other_account_lines"] == 0


def _mt940(account: str) -> bytes:
    return (":20:STMT\r\n:25:" + account + "\r\n:28C:1/1\r\n:60F:C240301EUR100,00\r\n"
            ":61:2403050305D12,50NTRFNONREF\r\n:86:BAKERY\r\n:62F:C240305EUR87,50\r\n-\r\n").encode()


def test_a_statement_of_the_same_number_at_another_bank_stages_nothing(client: SessionsClient):
    """MT940 `:25:` writes `bank code/account`: a session of account 1020304050 at bank 87654321 takes no statement
    of account 1020304050 at bank 12345678 (400 AccountNotInFile), and takes its own bank's."""
    session = client.create_session(account_id=client.bank_account(identifier="87654321/1020304050", currency="EUR"),
                                    billing_month="2024-03")
    refused = client.upload(session["id"], "other.sta", _mt940("12345678/1020304050"))
    assert (refused.status_code, refused.json()["code"]) == (400, "AccountNotInFile"), refused.text
    assert client.get_session(session["id"])["stats"]["total"] == 0
    taken = client.upload(session["id"], "mine.sta", _mt940("87654321/1020304050"))
    assert (taken.status_code, taken.json()["processed"]) == (200, 1), taken.text


def test_a_file_of_one_number_at_two_banks_gives_each_session_its_banks_statement(client: SessionsClient):
    """OFX statements of account 12345678901 at banks 30001 and 99999: each account's session stages its own."""
    for iban, name, amount in (("FR7630001000011234567890149", "CAFE", "-12.50"),
                               ("FR7699999000011234567890152", "KIOSK", "-9.99")):
        session = client.create_session(account_id=client.bank_account(identifier=iban, currency="EUR"),
                                        billing_month="2024-01")
        taken = client.upload(session["id"], "two.ofx", two_banks_ofx())
        assert taken.status_code == 200, taken.text
        assert (taken.json()["processed"], taken.json()["other_account_lines"]) == (1, 1)
        staged = client.get_session(session["id"])["staged_transactions"]
        assert [(line["description"], line["amount"]) for line in staged] == [(name, D(amount))]


@pytest.mark.parametrize("banks", [("30001", None), (None, "30001")])
def test_of_a_statement_naming_the_accounts_bank_and_one_naming_none_the_first_is_the_sessions(
        client: SessionsClient, banks: tuple[str | None, str | None]):
    """An OFX of two statements of number 12345678901, one at bank 30001, one naming no bank: the session of the
    bank-30001 account stages the first's line whatever the order (the other is left as another account's)."""
    session = client.create_session(account_id=client.bank_account(identifier="FR7630001000011234567890149",
                                                                    currency="EUR"), billing_month="2024-01")
    taken = client.upload(session["id"], "two.ofx", two_banks_ofx(banks))
    assert taken.status_code == 200, taken.text
    assert (taken.json()["processed"], taken.json()["other_account_lines"]) == (1, 1)
    staged = client.get_session(session["id"])["staged_transactions"]
    assert [line["description"] for line in staged] == ["CAFE" if banks[0] else "KIOSK"]


def test_a_header_only_csv_is_an_empty_file(client: SessionsClient):
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-03")
    for content in (b"data,descricao,valor\n", b"data,descricao,valor\r\n\r\n", b""):
        answer = client.upload(session["id"], "extrato.csv", content)
        assert (answer.status_code, answer.json()["code"]) == (400, "EmptyFile"), answer.text


def test_target_value_is_a_json_number(client: SessionsClient):
    account = client.bank_account()
    refused = client.error("POST", "/import-sessions", 400,
                           json_body={"account_id": account, "billing_month": "2024-05", "target_value": "10.5"})
    assert (refused["code"], refused["field"]) == ("ValidationError", "target_value")
    session = client.create_session(account_id=account, billing_month="2024-05", target_value=10.5)
    assert session["target_value"] == D("10.5")
    changed = client.error("PUT", f"/import-sessions/{session['id']}", 400, json_body={"target_value": "11"})
    assert changed["field"] == "target_value"
    assert client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"target_value": 11})["target_value"] == 11


# --- the workspace of a call without X-Workspace-ID ---------------------------------------------------
def test_a_client_of_the_document_sends_the_header_only_where_it_lists_it(client: SessionsClient):
    """000 lists X-Workspace-ID on POST /import-sessions only: the other routes, called as it describes them,
    are in the tenant's only workspace."""
    account, category = client.bank_account(), client.category("Mercado")
    session = client.create_session(account_id=account, billing_month="2024-03")
    assert [s["id"] for s in client.ok("GET", "/import-sessions", workspace="")] == [session["id"]]
    assert client.ok("GET", f"/import-sessions/{session['id']}", workspace="")["id"] == session["id"]
    line = client.ok("POST", f"/import-sessions/{session['id']}/staged-transactions", 201, workspace="", json_body=[
        {"transaction_date": "2024-03-05", "description": "Padaria", "amount": -12.30}])[0]
    assert client.ok("GET", f"/staged-transactions/{line['id']}", workspace="")["id"] == line["id"]
    ready = client.ok("PUT", f"/staged-transactions/{line['id']}", workspace="",
                      json_body={"data": {"category_id": category}})
    assert ready["status"] == "READY"
    assert client.ok("POST", f"/import-sessions/{session['id']}/enrich", workspace="")["mode"] == "sync"
    assert client.ok("GET", "/recurring", workspace="") == []
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit", workspace="")["committed"] == 1
    client.ok("DELETE", f"/import-sessions/{session['id']}", 204, workspace="")


def test_among_several_workspaces_an_id_names_its_own(client: SessionsClient):
    """A session or a staged line named by id is reached without the header in the workspace owning it; a
    listing without it cannot tell which workspace is meant (400), and a header still has to be the tenant's."""
    first = client.workspace_id
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-03")
    line = client.stage(session["id"], [{"transaction_date": "2024-03-05", "description": "x", "amount": -1}])[0]
    second = client.new_workspace("Empresa")
    theirs = client.create_session(account_id=client.bank_account(), billing_month="2024-03")
    client.workspace_id = ""
    assert client.get_session(session["id"])["workspace_id"] == first
    assert client.get_session(theirs["id"])["workspace_id"] == second
    assert client.ok("GET", f"/staged-transactions/{line['id']}")["session_id"] == session["id"]
    missing = client.error("GET", "/import-sessions", 400)
    assert (missing["code"], missing["field"]) == ("WorkspaceRequired", "X-Workspace-ID")
    assert client.error("GET", "/categories", 400)["code"] == "WorkspaceRequired"
    assert client.error("GET", "/import-sessions/01a22f47-0000-7000-8000-000000000000", 404)["code"] == \
        "SessionNotFound"
    assert client.error("GET", "/staged-transactions/00000000-0001-8039-8000-00002858225d", 404)["code"] == \
        "StagedTransactionNotFound"
    # the header names the workspace as ever: the other workspace does not hold this session
    assert client.error("GET", f"/import-sessions/{session['id']}", 404, workspace=second)["code"] == \
        "SessionNotFound"


def test_a_workspace_id_is_read_whatever_its_case(client: SessionsClient):
    """A UUID's case is no part of it: the header written upper-case names the same workspace."""
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-05")
    upper = client.workspace_id.upper()
    assert client.ok("GET", f"/import-sessions/{session['id']}", workspace=upper)["id"] == session["id"]
    assert [s["id"] for s in client.ok("GET", "/import-sessions", workspace=upper)] == [session["id"]]
