"""The import-sessions document over HTTP on the local stack (moto, our handlers, the real state
machines): every route, with the user guide's worked examples as assertions."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.support.samples import SAMPLES
from tests.support.sessions_client import SessionsClient, tenant_client
from tximport.api.sessions import views as views_module
from tximport.services.sessions import enrich as enrich_module
from tximport_cli.local.stack import LocalStack

D = Decimal


@pytest.fixture()
def client(stack: LocalStack) -> SessionsClient:
    return tenant_client(stack)


def file_import(c: SessionsClient, account_id: str, rows: list[tuple[str, str, str]]) -> None:
    """Ledger history written the ordinary way: a file import, confirmed."""
    csv = "Date,Description,Amount\n" + "".join(f"{d},{desc},{a}\n" for d, desc, a in rows)
    imp = c.core.import_file(account_id, csv.encode())  # type: ignore[attr-defined]
    assert imp["status"] == "awaitingConfirmation", imp
    assert c.core.confirm_and_complete(imp["id"])["status"] == "complete"  # type: ignore[attr-defined]


def test_workspace_header_is_checked_and_required_only_among_several(client: SessionsClient, stack: LocalStack):
    assert [w["id"] for w in client.ok("GET", "/workspaces", workspace="")] == [client.workspace_id]
    assert client.ok("GET", "/import-sessions", workspace="") == []  # the tenant's only workspace
    first = client.workspace_id
    client.new_workspace("Empresa")
    missing = client.error("GET", "/import-sessions", 400, workspace="")
    assert (missing["code"], missing["field"]) == ("WorkspaceRequired", "X-Workspace-ID")
    assert "2 workspaces" in missing["error"]
    client.workspace_id = first
    stranger = SessionsClient(stack.base_url, stack.token_for("other-org", "other-co"), "")
    stranger.workspace_id = client.workspace_id
    assert stranger.error("GET", "/import-sessions", 403)["code"] == "WorkspaceForbidden"
    assert client.ok("GET", "/import-sessions") == []


def test_a_foreign_workspace_is_refused_before_the_body_is_validated(client: SessionsClient, stack: LocalStack):
    """Access comes before validation: a caller sending another tenant's workspace learns nothing of a route's
    schema, whatever the body (a valid one was already 403)."""
    card = client.ok("POST", "/cards", 201, json_body={"name": "Visa", "closing_date": 25, "due_date": 5})["id"]
    stranger = SessionsClient(stack.base_url, stack.token_for("other-org", "other-co"), "")
    stranger.workspace_id = client.workspace_id
    for method, path, body in [("PUT", f"/cards/{card}", {"description": 1}),
                               ("POST", "/import-sessions", {"billing_month": "2024-13"}),
                               ("POST", "/import-sessions", [1, 2]),
                               ("POST", "/categories", {})]:
        refused = stranger.error(method, path, 403, json_body=body)
        assert (refused["code"], refused["field"]) == ("WorkspaceForbidden", "X-Workspace-ID"), (path, refused)
    garbled = stranger.error("POST", "/import-sessions", 403, data=b"{bad",
                             headers={"Content-Type": "application/json"})
    assert garbled["code"] == "WorkspaceForbidden"
    # a route that reads no body refuses a broken one too, after the same access check: the commit writes nothing
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-03")
    path = f"/import-sessions/{session['id']}/commit"
    assert stranger.error("POST", path, 403, data=b"{bad", headers={"Content-Type": "application/json"})["code"] \
        == "WorkspaceForbidden"
    broken = client.error("POST", path, 400, data=b"{bad", headers={"Content-Type": "application/json"})
    assert (broken["code"], broken["field"]) == ("ValidationError", "body"), broken
    twice = client.error("POST", "/import-sessions", 400, data=b'{"billing_month":"2024-03","billing_month":"2024-04"}',
                         headers={"Content-Type": "application/json"})
    assert twice["field"] == "body" and "billing_month" in twice["error"], twice
    # without the header a caller of several workspaces is told to send it, before the body too; its own workspace
    # validates as ever
    first = client.workspace_id
    client.new_workspace("Empresa")
    client.workspace_id = first
    missing = client.error("POST", "/import-sessions", 400, workspace="", json_body={"billing_month": "2024-13"})
    assert (missing["code"], missing["field"]) == ("WorkspaceRequired", "X-Workspace-ID")
    assert client.error("POST", "/import-sessions", 400, json_body={"billing_month": "2024-13"})["code"] == \
        "InvalidBillingMonth"


def test_bad_session_bodies_answer_400_with_the_field(client: SessionsClient):
    account = client.bank_account()
    for body, field in [({"billing_month": "2024-03"}, "account_id"),
                        ({"account_id": account, "card_id": "x", "billing_month": "2024-03"}, "card_id"),
                        ({"account_id": account}, "billing_month"),
                        ({"account_id": account, "billing_month": "2024-3"}, "billing_month"),
                        ({"account_id": account, "billing_month": "2024-03", "target_value": "abc"}, "target_value"),
                        ({"account_id": "nope", "billing_month": "2024-03"}, "account_id")]:
        assert client.error("POST", "/import-sessions", 400, json_body=body)["field"] == field, body
    assert client.error("GET", f"/import-sessions/{uuid.uuid4()}", 404)["code"] == "SessionNotFound"
    refused = client.error("POST", "/import-sessions", 400, data=b"x", headers={"Content-Type": "text/plain"})
    assert refused["code"] == "UnsupportedMediaType"


def test_a_malformed_billing_month_is_invalid_billing_month_as_a_missing_one_is(client: SessionsClient):
    """qa46b 4: `2024-13` or `2024/06` answered ValidationError with the pattern as its message; README names
    InvalidBillingMonth for a session without a `billing_month` `YYYY-MM`."""
    account = client.bank_account()
    for month in ("2024-13", "2024/06", "24-06", 202406):
        found = client.error("POST", "/import-sessions", 400, json_body={"account_id": account, "billing_month": month})
        assert (found["code"], found["field"]) == ("InvalidBillingMonth", "billing_month"), month
        assert found["error"] == "billing_month: a month is written YYYY-MM, from 1900-01 to 2999-12"
    session = client.create_session(account_id=account, billing_month="2024-03")
    moved = client.error("PUT", f"/import-sessions/{session['id']}", 400, json_body={"billing_month": "2024-13"})
    assert (moved["code"], moved["field"]) == ("InvalidBillingMonth", "billing_month")


def test_nan_in_a_staged_lines_data_is_refused_and_never_stored(client: SessionsClient):
    """A free-form `data` holding NaN or Infinity would be answered back as text no strict JSON client reads."""
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-04")
    line = '{"transaction_date":"2024-04-02","description":"x","amount":-1,"data":{"note":%s}}'
    for constant in ("NaN", "Infinity", "-Infinity"):
        answer = client.call("POST", f"/import-sessions/{session['id']}/staged-transactions",
                             headers={"Content-Type": "application/json"}, data="[" + line % constant + "]")
        assert answer.status_code == 400 and answer.json()["field"] == "body", answer.text
    assert client.get_session(session["id"])["stats"]["total"] == 0
    (staged,) = client.stage(session["id"], [{"transaction_date": "2024-04-02", "description": "x", "amount": -1}])
    answer = client.call("PUT", f"/staged-transactions/{staged['id']}", headers={"Content-Type": "application/json"},
                         data='{"data":{"x":Infinity}}')
    assert answer.status_code == 400, answer.text
    assert "x" not in client.ok("GET", f"/staged-transactions/{staged['id']}").get("data", {})


def test_user_guide_account_example(client: SessionsClient):
    """initial_balance = 1150.00 and context_value = 2700.00, as the guide computes them."""
    account = client.bank_account()
    file_import(client, account, [("2024-01-15", "Deposit", "1000.00"), ("2024-01-20", "Groceries", "-200.00"),
                                  ("2024-02-10", "Deposit", "500.00"), ("2024-02-25", "Power", "-150.00"),
                                  ("2024-03-05", "Salary", "2000.00"), ("2024-03-10", "Rent", "-300.00")])
    session = client.create_session(account_id=account, billing_month="2024-03", target_value=2700.00)
    assert session["description"] == "Conta Corrente | 2024-03" and session["type"] == "ACCOUNT"
    category = client.category("Mercado")
    lines = client.stage(session["id"], [
        {"transaction_date": "2024-03-15", "description": "Padaria", "amount": -100.00},
        {"transaction_date": "2024-03-20", "description": "Farmacia", "amount": -50.00}])
    assert [ln["type"] for ln in lines] == ["EXPENSE", "EXPENSE"] and lines[0]["status"] == "PENDING"
    detail = client.get_session(session["id"])
    assert (detail["initial_balance"], detail["context_value"]) == (D("1150.00"), D("2700.00"))
    assert detail["stats"]["ready"] == 0 and detail["stats"]["total"] == 2 and detail["status"] == "PENDING"
    for line in lines:
        client.ok("PUT", f"/staged-transactions/{line['id']}", json_body={"data": {"category_id": category},
                                                                           "status": "READY"})
    detail = client.get_session(session["id"])
    assert (detail["stats"]["ready"], detail["stats"]["total"], detail["status"]) == (2, 2, "OK")
    assert detail["current_total"] == D("-150.00") and len(detail["transactions"]) == 2


def test_user_guide_card_example_and_sign_rule(client: SessionsClient):
    """initial_balance = 500 + 200 - 50 = 650.00; context_value = 650 + 150 + 80 = 880.00."""
    card, category = client.card(), client.category("Compras")
    tag = client.ok("POST", "/tags", 201, json_body={"name": "loja"})
    first = client.create_session(card_id=card, billing_month="2024-03")
    assert first["description"] == "Visa Gold | 2024-03"
    assert client.ok("GET", f"/cards/{card}/invoices/2024-03")["status"] == "OPEN"
    assert client.error("GET", f"/cards/{card}/invoices/2024-13", 400)["field"] == "billing_month"
    committed = client.stage(first["id"], [
        {"transaction_date": "2024-03-05", "description": "Loja A", "amount": 500.00,
         "data": {"category_id": category, "tag_ids": [tag["id"]]}},
        {"transaction_date": "2024-03-10", "description": "Loja B", "amount": 200.00,
         "data": {"category_id": category}},
        {"transaction_date": "2024-03-15", "description": "Estorno", "amount": -50.00}])
    assert [ln["type"] for ln in committed] == ["CARD_EXPENSE", "CARD_EXPENSE", "CARD_CHARGEBACK"]
    assert client.ok("POST", f"/import-sessions/{first['id']}/commit")["committed"] == 3
    # the invoice holds what was committed: its card expenses and chargebacks (entity.Invoice)
    invoice = client.ok("GET", f"/cards/{card}/invoices/2024-03")
    assert [(e["description"], e["amount"], e["transaction_date"], e["category_id"], e["transaction_status"])
            for e in invoice["card_expenses"]] == [("Loja A", D(500), "2024-03-05", category, "VALIDATING"),
                                                    ("Loja B", D(200), "2024-03-10", category, "VALIDATING")]
    assert [(c["description"], c["amount"]) for c in invoice["card_chargebacks"]] == [("Estorno", D(50))]
    assert invoice["card_expenses"][0]["tags"] == [
        {"tag_id": tag["id"], "tag": tag, "card_expense_id": invoice["card_expenses"][0]["id"]}]
    assert invoice["card_payments"] == [] and {e["card_id"] for e in invoice["card_expenses"]} == {card}
    account = client.bank_account()
    paying = client.create_session(account_id=account, billing_month="2024-04")
    client.stage(paying["id"], [{"transaction_date": "2024-04-05", "description": "Fatura", "amount": -650,
                                 "type": "CARD_PAYMENT", "data": {"card_id": card, "billing_month": "2024-03"}}])
    client.ok("POST", f"/import-sessions/{paying['id']}/commit")
    (payment,) = client.ok("GET", f"/cards/{card}/invoices/2024-03")["card_payments"]
    assert (payment["account_id"], payment["amount"], payment["transaction_date"]) == (account, D(650), "2024-04-05")
    second = client.create_session(card_id=card, billing_month="2024-03")
    client.stage(second["id"], [{"transaction_date": "2024-03-18", "description": "Loja C", "amount": 150.00},
                                {"transaction_date": "2024-03-22", "description": "Loja D", "amount": 80.00}])
    detail = client.get_session(second["id"])
    assert (detail["initial_balance"], detail["context_value"]) == (D("650.00"), D("880.00"))
    wrong = client.error("POST", f"/import-sessions/{second['id']}/staged-transactions", 400,
                         json_body=[{"transaction_date": "2024-03-18", "amount": 1, "type": "INCOME"}])
    assert wrong["code"] == "TypeNotAllowed" and wrong["field"] == "[0].type"


def test_the_same_file_uploaded_three_times_at_once_is_marked_as_when_sent_one_after_the_other(
        client: SessionsClient):
    """Adds take turns on a session: the copies of a file uploaded at once (a client retrying an upload that
    timed out) are marked alreadyStaged, so a reviewer sees them; none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    account = client.bank_account(identifier="654321")
    session = client.create_session(account_id=account, billing_month="2024-03")
    csv = b"data,descricao,valor\n" + b"".join(f"{d:02d}/03/2024,Compra {d},-{d}.50\n".encode() for d in range(1, 29))
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: client.upload(session["id"], "extrato.csv", csv), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert sorted(a.json()["possible_duplicates"] for a in answers) == [0, 28, 28]
    lines = client.ok("GET", f"/import-sessions/{session['id']}/staged-transactions", params={"page_size": 200})
    marked = [ln for ln in lines if (ln.get("data") or {}).get("possible_duplicate")]
    assert (len(lines), len(marked)) == (84, 56)
    assert {ln["data"]["possible_duplicate"]["reason"] for ln in marked} == {"alreadyStaged"}


def test_upload_the_documented_csv_and_any_importer_format(client: SessionsClient):
    account = client.bank_account(identifier="123456")
    session = client.create_session(account_id=account, billing_month="2024-03")
    csv = (b"data,descricao,valor\n05/03/2024,NETFLIX.COM,-49.90\n06/03/2024,Salario,2500.00\n"
           b"07/03/2024,Padaria,-12.30\n")
    answer = client.upload(session["id"], "extrato.csv", csv)
    assert answer.status_code == 200 and answer.json()["message"] == "3 linhas processadas", answer.text
    assert {k: answer.json()[k] for k in ("processed", "possible_duplicates", "pending_skipped",
                                         "other_account_lines", "rejected")} == {
        "processed": 3, "possible_duplicates": 0, "pending_skipped": 0, "other_account_lines": 0, "rejected": []}
    lines = client.ok("GET", f"/import-sessions/{session['id']}/staged-transactions")
    assert [(ln["type"], ln["amount"], ln["transaction_date"]) for ln in lines] == [
        ("EXPENSE", D("-49.90"), "2024-03-05"), ("INCOME", D("2500.00"), "2024-03-06"),
        ("EXPENSE", D("-12.30"), "2024-03-07")]
    again = client.upload(session["id"], "extrato.csv", csv)  # the same file twice: staged, and marked
    assert again.json()["possible_duplicates"] == 3, again.text
    marked = client.ok("GET", f"/import-sessions/{session['id']}/staged-transactions")[3:]
    assert [ln["data"]["possible_duplicate"]["duplicate_of"] for ln in marked] == [ln["id"] for ln in lines]
    assert {ln["data"]["possible_duplicate"]["reason"] for ln in marked} == {"alreadyStaged"}
    ofx = client.upload(session["id"], "statement.ofx", (SAMPLES / "ofx" / "oca-test_ofx.ofx").read_bytes())
    assert ofx.status_code == 200 and ofx.json()["file_format"] == "XML#OFX#v1", ofx.text
    assert ofx.json()["message"].endswith("linhas processadas")
    other = client.create_session(account_id=client.bank_account(identifier="NL77ABNA0574908765"),
                                  billing_month="2024-03")
    camt = client.upload(other["id"], "camt.xml", (SAMPLES / "camt053" / "oca-test-camt053.xml").read_bytes())
    assert camt.status_code == 200 and camt.json()["file_format"] == "CAMT053#v1", camt.text
    assert client.upload(session["id"], "empty.csv", b"").status_code == 400
    no_entries = client.upload(other["id"], "camt.xml",
                               (SAMPLES / "camt053" / "oca-test-camt053-no-ntry.xml").read_bytes())
    assert (no_entries.status_code, no_entries.json()["code"]) == (400, "EmptyFile"), no_entries.text
    no_file = client.call("POST", f"/import-sessions/{session['id']}/upload", files={"other": ("x", b"1")})
    two = client.call("POST", f"/import-sessions/{session['id']}/upload",
                      files=[("file", ("a.csv", csv)), ("file", ("b.csv", csv))])
    assert two.status_code == 400 and two.json()["code"] == "OneFileOnly", two.text
    assert no_file.status_code == 400 and no_file.json()["code"] == "FileRequired"
    garbage = client.upload(session["id"], "x.bin", b"\x00\x01 not a statement \xff" * 10)
    assert garbage.status_code == 400 and garbage.json()["field"] == "file"


def test_staged_routes_read_update_delete(client: SessionsClient):
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-04")
    line, other = client.stage(session["id"], [
        {"transaction_date": "2024-04-02T00:00:00Z", "description": "Mercado", "amount": -80.15, "line_number": 2},
        {"transaction_date": "2024-04-03", "description": "Cafe", "amount": -5}])
    assert line["transaction_date"] == "2024-04-02" and line["amount"] == D("-80.15")
    assert client.ok("GET", f"/staged-transactions/{line['id']}")["id"] == line["id"]
    updated = client.ok("PUT", f"/staged-transactions/{line['id']}",
                        json_body={"data": {"tags": ["casa"], "ignore": True}, "amount": -80.16})
    assert updated["status"] == "READY" and updated["data"]["tag_ids"] and updated["amount"] == D("-80.16")
    assert client.ok("GET", "/tags")[0]["name"] == "casa"
    timestamp = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                             json_body=[{"transaction_date": 0, "description": "x", "amount": -1}])
    assert timestamp["field"] == "[0].transaction_date", timestamp
    finer = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                         json_body=[{"transaction_date": "2024-04-04", "description": "x", "amount": -1.001}])
    assert (finer["code"], finer["field"]) == ("InvalidAmount", "[0].amount")
    # a float's artefact is refused by the same rule, with the same code (not by a limit of its own)
    artefact = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                            json_body=[{"transaction_date": "2024-04-04", "description": "x",
                                        "amount": -1.1400000000000001}])
    assert (artefact["code"], artefact["field"]) == ("InvalidAmount", "[0].amount"), artefact
    assert "allows (2)" in artefact["error"], artefact
    for far in ("9999-12-31", "0001-01-01", "9999-12-31T23:59:59Z", "0", "1767225600"):  # never a 500 nor Unix time
        refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                               json_body=[{"transaction_date": far, "description": "x", "amount": -1}])
        assert refused["field"] == "[0].transaction_date", refused
    assert client.error("PUT", f"/staged-transactions/{line['id']}", 400,
                        json_body={"transaction_date": "9999-12-31"})["field"] == "transaction_date"
    bad = client.error("PUT", f"/staged-transactions/{line['id']}", 400, json_body={"type": "CARD_EXPENSE"})
    assert bad["code"] == "TypeNotAllowed"
    assert client.error("PUT", f"/staged-transactions/{line['id']}", 400,
                        json_body={"data": {"category_id": "missing"}})["field"] == "data.category_id"
    client.ok("DELETE", f"/staged-transactions/{other['id']}", 204)
    assert client.error("GET", f"/staged-transactions/{other['id']}", 404)["code"] == "StagedTransactionNotFound"
    page = client.call("GET", f"/import-sessions/{session['id']}/staged-transactions", params={"limit": 1})
    assert len(page.json()) == 1 and "X-Next-Cursor" not in page.headers
    client.ok("DELETE", f"/import-sessions/{session['id']}/staged-transactions", 204)
    assert client.get_session(session["id"])["stats"]["total"] == 0
    client.ok("PUT", f"/import-sessions/{session['id']}", json_body={"description": "Abril", "target_value": 1.5})
    assert client.get_session(session["id"])["description"] == "Abril"
    client.ok("DELETE", f"/import-sessions/{session['id']}", 204)
    assert client.ok("GET", "/import-sessions") == []


def test_enrich_bind_commit_close(client: SessionsClient, stack: LocalStack):
    account = client.bank_account()
    streaming, rides = client.category("Streaming"), client.category("Transporte")
    client.ok("POST", "/enrichment-rules", 201, json_body={"name": "uber", "description_regex": "^uber",
                                                            "category_id": rides})
    netflix = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Netflix - Assinatura Mensal", "amount": 49.90, "account_id": account,
        "category_id": streaming, "start_date": "2024-01-05", "frequency": "MONTHLY"})
    session = client.create_session(account_id=account, billing_month="2024-03")
    ride, film, cafe = client.stage(session["id"], [
        {"transaction_date": "2024-03-02", "description": "UBER *TRIP", "amount": -20},
        {"transaction_date": "2024-03-05", "description": "NETFLIX.COM", "amount": -49.90},
        {"transaction_date": "2024-03-06", "description": "Cafe", "amount": -4}])
    enriched = client.ok("POST", f"/import-sessions/{session['id']}/enrich")
    assert enriched["mode"] == "sync" and enriched["suggested_bindings"] == 1
    assert client.ok("GET", f"/staged-transactions/{ride['id']}")["status"] == "READY"
    bindings = client.ok("GET", f"/import-sessions/{session['id']}/recurring-bindings")
    assert bindings[0]["staged_transaction_id"] == film["id"] and bindings[0]["status"] == "PENDING"
    client.ok("DELETE", f"/import-sessions/{session['id']}/recurring-bindings/{bindings[0]['id']}")
    bound = client.ok("POST", f"/import-sessions/{session['id']}/bind",
                      json_body={"staged_transaction_id": film["id"], "recurring_transaction_id": netflix["id"]})
    assert bound["transaction"]["data"]["recurring_expense_id"] == netflix["id"]
    assert bound["transaction"]["description"] == "Netflix - Assinatura Mensal"
    assert bound["transaction"]["status"] == "READY"
    as_array = client.ok("POST", f"/import-sessions/{session['id']}/bind", json_body=[
        {"staged_transaction_id": film["id"], "recurring_transaction_id": netflix["id"]}])
    assert as_array["bound"] == 1
    assert client.error("POST", f"/import-sessions/{session['id']}/bind", 404, json_body={
        "staged_transaction_id": cafe["id"], "recurring_transaction_id": str(uuid.uuid4())})["code"] == \
        "RecurringNotFound"
    empty = client.error("POST", f"/import-sessions/{session['id']}/bind", 400, json_body={})
    assert empty["field"] == "recurring_transaction_id", empty  # named as sent, not by our model's name
    first = client.ok("POST", f"/import-sessions/{session['id']}/commit")
    assert (first["committed"], first["validating"]) == (2, 2)
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 0
    ledger = client.core.ledger(account)  # type: ignore[attr-defined]
    # transactionAmount in minor units, the exact decimal beside it with the currency's decimals
    assert sorted((r["description"], r["transactionAmount"], r["amount"], r["type"], r["transactionStatus"])
                  for r in ledger) == [("Netflix - Assinatura Mensal", -4990, "-49.90", "EXPENSE", "VALIDATING"),
                                       ("UBER *TRIP", -2000, "-20.00", "EXPENSE", "VALIDATING")]
    events = client.session.get(f"{stack.base_url}/local/events", timeout=10,  # the caller tenant's events
                                headers={"Authorization": f"Bearer {client.token}"}).json()["data"]
    assert any(e["detailType"] == "ImportSessionCommitted" and e["detail"]["sessionId"] == session["id"]
               for e in events)
    assert client.error("POST", f"/import-sessions/{session['id']}/close", 403)["code"] == "AdminRequired"
    closed = client.ok("POST", f"/import-sessions/{session['id']}/close", admin=True)
    assert closed["paid"] == 2
    assert {r["transactionStatus"] for r in client.core.ledger(account)} == {"PAID"}  # type: ignore[attr-defined]
    assert client.error("GET", f"/import-sessions/{session['id']}", 404)["code"] == "SessionNotFound"
    # the committed lines take part in later duplicate checks, both ways
    again = client.create_session(account_id=account, billing_month="2024-03")
    twin, alike = client.stage(again["id"], [
        {"transaction_date": "2024-03-02", "description": "UBER *TRIP", "amount": -20},
        {"transaction_date": "2024-03-03", "description": "UBER TRIP", "amount": -20}])
    assert (twin["data"]["possible_duplicate"]["reason"], twin["status"]) == ("alreadyCommitted", "PENDING")
    assert alike["data"]["possible_duplicate"]["reason"] == "similarLedgerLine"
    imp = client.core.import_file(account, b"Date,Description,Amount\n2024-03-03,UBER TRIP,-20\n")  # type: ignore
    rows = client.core.review(imp["id"])  # type: ignore[attr-defined]
    assert rows[0]["possibleDuplicate"] is True


def test_enrichment_route_answers_a_suggestion_per_description(client: SessionsClient):
    food = client.category("Comida")
    client.ok("POST", "/enrichment-rules", 201, json_body={"name": "padaria", "description_contains": "padaria",
                                                            "category_id": food})
    answer = client.ok("POST", "/enrichment/transactions", json_body=[
        {"description": "PADARIA PAO QUENTE", "type": "EXPENSE"}, {"description": "???", "type": "INCOME"}])
    assert answer[0]["category_id"] == food and answer[0]["category_name"] == "Comida"
    assert answer[0]["confidence"] == 1.0 and answer[1]["category_id"] is None
    assert client.error("POST", "/enrichment/transactions", 400, json_body=[{"type": "NOPE"}])["field"] == "[0].type"


def test_large_sessions_enrich_through_the_state_machine(client: SessionsClient, monkeypatch: pytest.MonkeyPatch):
    # the handlers run in this process: a small limit makes a small session "large" (the limit is 200)
    monkeypatch.setattr(enrich_module, "SYNC_LIMIT", 5)
    rides = client.category("Transporte")
    client.ok("POST", "/enrichment-rules", 201, json_body={"name": "uber", "description_contains": "uber",
                                                            "category_id": rides})
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-05")
    client.stage(session["id"], [{"transaction_date": f"2024-05-{1 + i % 28:02d}", "description": f"UBER {i}",
                                  "amount": -1 - i} for i in range(12)])
    started = client.ok("POST", f"/import-sessions/{session['id']}/enrich")
    assert started["mode"] == "async" and started["status"] == "PROCESSING"
    assert client.error("POST", f"/import-sessions/{session['id']}/enrich", 409)["code"] == "EnrichmentRunning"
    done = client.wait_enriched(session["id"])
    assert done["enrichment"]["status"] == "SUCCEEDED", done["enrichment"]
    assert (done["stats"]["ready"], done["stats"]["total"], done["stats"]["processing"]) == (12, 12, 0)


def test_catalog_routes(client: SessionsClient):
    card = client.card()
    assert client.ok("PUT", f"/cards/{card}", json_body={"name": "Visa Platinum"})["name"] == "Visa Platinum"
    assert [c["id"] for c in client.ok("GET", "/cards")] == [card]
    category = client.category("Casa")
    sub = client.ok("POST", f"/categories/{category}/subcategories", 201, json_body={"name": "Luz"})
    assert client.ok("GET", f"/categories/{category}/subcategories")[0]["id"] == sub["id"]
    assert client.ok("GET", f"/subcategories/{sub['id']}")["category_id"] == category
    monthly = client.ok("POST", "/recurring", 201, json_body={
        "type": "card_transaction", "card_id": card, "description": "Spotify", "amount": 21.90,
        "start_date": "2024-01-10"})
    assert client.ok("GET", "/recurring-card-transactions", params={"card_id": card})[0]["id"] == monthly["id"]
    assert client.ok("GET", f"/recurring-card-transactions/{monthly['id']}")["amount"] == D("21.90")
    # the card the listing is by must be one of the workspace's, as a card a body names must (400, as the
    # document's answers for the route go): a card of another workspace or tenant is not an empty list
    other = SessionsClient(client.base_url, client.token, "")
    other.new_workspace("Outra")
    for card_id in (other.card(), str(uuid.uuid4())):
        unknown = client.error("GET", "/recurring-card-transactions", 400, params={"card_id": card_id})
        assert (unknown["code"], unknown["field"]) == ("UnknownReference", "card_id"), unknown
    assert client.ok("PATCH", f"/recurring/{monthly['id']}", json_body={"amount": 22.90})["amount"] == D("22.90")
    assert client.ok("GET", "/recurring", params={"type": "card_transaction"})[0]["id"] == monthly["id"]
    assert client.error("POST", "/recurring", 400, json_body={"type": "expense", "description": "x", "amount": 1,
                                                              "start_date": "2024-01-01"})["field"] == "account_id"
    assert client.error("POST", "/enrichment-rules", 400, json_body={
        "name": "bad", "description_regex": "(", "category_id": category})["code"] == "InvalidPattern"
    assert client.error("POST", "/tags", 409, json_body={"name": "x"}) if client.ok(
        "POST", "/tags", 201, json_body={"name": "x"}) else None
    client.ok("DELETE", f"/cards/{card}", 204)
    assert client.error("GET", f"/cards/{card}", 404)["code"] == "CardNotFound"


def test_a_session_never_mixes_currencies_in_an_account(client: SessionsClient):
    account = client.bank_account(currency="GBP")
    yen = client.bank_account(name="Yen", currency="JPY")
    session = client.create_session(account_id=account, billing_month="2024-04")
    path = f"/import-sessions/{session['id']}/staged-transactions"
    line = {"transaction_date": "2024-04-02", "description": "Shop", "amount": -10}
    for data, code, field in (({"currency": "JPY"}, "CurrencyMismatch", "[0].data.currency"),
                              ({"currency": "ZZZ"}, "InvalidCurrency", "[0].data.currency"),
                              ({"destination_account_id": yen}, "CurrencyMismatch", "[0].data.destination_account_id"),
                              ({"destination_account_id": account}, "InvalidValue", "[0].data.destination_account_id")):
        refused = client.error("POST", path, 400, json_body=[{**line, "type": "TRANSFER", "data": data}])
        assert (refused["code"], refused["field"]) == (code, field), refused
    (staged,) = client.stage(session["id"], [{**line, "data": {"currency": "gbp"}}])
    assert staged["data"]["currency"] == "GBP"  # as the ledger writes codes
    changed = client.error("PUT", f"/staged-transactions/{staged['id']}", 400, json_body={"data": {"currency": "USD"}})
    assert (changed["code"], changed["field"]) == ("CurrencyMismatch", "data.currency")
    # an upload leaves out the lines of another currency, naming them
    csv = b"Date,Description,Amount,Currency\n2024-04-03,Tea,-1.20,GBP\n2024-04-04,Sushi,-1500,JPY\n"
    uploaded = client.upload(session["id"], "mixed.csv", csv)
    assert uploaded.status_code == 200 and uploaded.json()["processed"] == 1, uploaded.text
    assert [(r["line_number"], r["code"]) for r in uploaded.json()["rejected"]] == [(3, "CurrencyMismatch")]


def test_a_recurring_item_keeps_its_accounts_currency_on_create_and_update(client: SessionsClient):
    euro, yen = client.bank_account(currency="EUR"), client.bank_account(name="Yen", currency="JPY")
    savings, card = client.bank_account(name="Savings", currency="EUR"), client.card()
    start = {"description": "Rent", "start_date": "2024-01-05"}
    kinds = {"income": {"type": "income", "account_id": euro}, "expense": {"type": "expense", "account_id": euro},
             "transfer": {"type": "transfer", "source_account_id": euro, "destination_account_id": savings},
             "card": {"type": "card_transaction", "card_id": card}}
    # Given an amount finer than the currency allows, or a currency that is not one, of every kind
    for name, kind in kinds.items():
        for extra, code, field in (({"amount": 10.001}, "InvalidAmount", "amount"),
                                   ({"amount": 10, "currency": "ZZZ"}, "InvalidCurrency", "currency")):
            refused = client.error("POST", "/recurring", 400, json_body={**start, **kind, **extra})
            assert (refused["code"], refused["field"]) == (code, field), (name, refused)
    assert client.error("POST", "/recurring", 400, json_body={
        **start, "type": "expense", "account_id": yen, "amount": 1.5})["code"] == "InvalidAmount"
    mismatch = client.error("POST", "/recurring", 400, json_body={
        **start, "type": "expense", "account_id": euro, "amount": 1, "currency": "JPY"})
    assert (mismatch["code"], mismatch["field"]) == ("CurrencyMismatch", "currency")
    assert "the recurring transaction is in JPY" in mismatch["error"], mismatch  # an item, not a line
    for other, code in ((yen, "CurrencyMismatch"), (euro, "InvalidValue")):
        refused = client.error("POST", "/recurring", 400, json_body={
            **start, **kinds["transfer"], "destination_account_id": other, "amount": 1})
        assert (refused["code"], refused["field"]) == (code, "destination_account_id"), refused
    unknown = client.error("POST", "/recurring", 400, json_body={
        **start, **kinds["expense"], "amount": 1, "sub_category_id": "missing"})
    assert (unknown["code"], unknown["field"]) == ("UnknownReference", "sub_category_id"), unknown  # the request's name
    # When the items are made right, then changed
    for name, kind in kinds.items():
        item = client.ok("POST", "/recurring", 201, json_body={**start, **kind, "amount": 10.5})
        assert item["currency"] == (None if name == "card" else "EUR"), item
        refused = client.error("PATCH", f"/recurring/{item['id']}", 400, json_body={"amount": 10.005})
        assert (refused["code"], refused["field"]) == ("InvalidAmount", "amount"), (name, refused)
        refused = client.error("PATCH", f"/recurring/{item['id']}", 400, json_body={"currency": "EURO"})
        assert (refused["code"], refused["field"]) == ("InvalidCurrency", "currency"), (name, refused)
        assert client.ok("GET", f"/recurring/{item['id']}")["amount"] == D("10.5")
    # Then moving an item to an account of another currency checks the amount against that currency
    (expense,) = client.ok("GET", "/recurring", params={"type": "expense"})
    refused = client.error("PATCH", f"/recurring/{expense['id']}", 400, json_body={"account_id": yen})
    assert (refused["code"], refused["field"]) == ("InvalidAmount", "amount"), refused
    moved = client.ok("PATCH", f"/recurring/{expense['id']}", json_body={"account_id": yen, "amount": 11})
    assert (moved["currency"], moved["amount"]) == ("JPY", D(11))
    card_item = client.ok("POST", "/recurring", 201, json_body={**start, **kinds["card"], "amount": 700,
                                                               "currency": "jpy"})
    assert card_item["currency"] == "JPY"
    assert client.error("PATCH", f"/recurring/{card_item['id']}", 400, json_body={"amount": 0.5})["code"] == \
        "InvalidAmount"


def test_the_recurring_summary_keeps_each_currency_apart_beside_the_documents_numbers(client: SessionsClient):
    euro, pounds, card = client.bank_account(currency="EUR"), client.bank_account(currency="GBP"), client.card()
    category = client.category("Casa")
    monthly = {"frequency": "MONTHLY", "start_date": "2024-06-10", "category_id": category}
    rent = client.ok("POST", "/recurring", 201, json_body={
        **monthly, "type": "expense", "description": "Rent", "amount": 800.25, "account_id": euro})
    client.ok("POST", "/recurring", 201, json_body={
        **monthly, "type": "expense", "description": "Gym", "amount": 30.10, "account_id": pounds})
    client.ok("POST", "/recurring", 201, json_body={
        **monthly, "type": "income", "description": "Pay", "amount": 2000, "account_id": pounds})
    client.ok("POST", "/recurring", 201, json_body={
        **monthly, "type": "card_transaction", "description": "Game", "amount": 1500, "card_id": card,
        "currency": "JPY"})
    client.ok("POST", "/recurring", 201, json_body={  # not counted in summaries
        **monthly, "type": "expense", "description": "Hidden", "amount": 5, "account_id": euro,
        "include_in_summary": False})
    session = client.create_session(account_id=euro, billing_month="2024-06")
    client.stage(session["id"], [{"transaction_date": "2024-06-10", "description": "RENT", "amount": -800.25,
                                  "data": {"category_id": category, "recurring_expense_id": rent["id"]}}])
    client.ok("POST", f"/import-sessions/{session['id']}/commit")
    # When the month's summary is read
    june = client.ok("GET", "/recurring/summary", params={"month": "2024-06"})
    # Then the document's three numbers are still there, and each currency's figures beside them
    assert june["by_currency"] == [
        {"currency": "EUR", "paid_current_month": D("800.25"), "pending_until_month_end": D("0"),
         "projected_current_month": D("800.25")},
        {"currency": "GBP", "paid_current_month": D("0"), "pending_until_month_end": D("2030.10"),
         "projected_current_month": D("2030.10")},
        {"currency": "JPY", "paid_current_month": D("0"), "pending_until_month_end": D("1500"),
         "projected_current_month": D("1500")}]
    for name in ("paid_current_month", "pending_until_month_end", "projected_current_month"):
        assert june[name] == sum((c[name] for c in june["by_currency"]), D(0)), name


def test_listing_recurring_items_tells_how_each_stands_in_the_month_asked(client: SessionsClient):
    account, category = client.bank_account(currency="EUR"), client.category("Casa")
    tag = client.ok("POST", "/tags", 201, json_body={"name": "fixed"})
    rent = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Rent", "amount": 800.25, "account_id": account, "frequency": "MONTHLY",
        "start_date": "2024-06-10", "category_id": category, "tag_ids": [tag["id"]]})
    later = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Insurance", "amount": 40, "account_id": account, "frequency": "YEARLY",
        "start_date": "2024-09-01", "category_id": category})
    session = client.create_session(account_id=account, billing_month="2024-07")
    client.stage(session["id"], [{"transaction_date": "2024-07-09", "description": "RENT JULY", "amount": -800.25,
                                  "data": {"category_id": category, "recurring_expense_id": rent["id"]}}])
    client.ok("POST", f"/import-sessions/{session['id']}/commit")

    def standing(month: str) -> dict[str, tuple[object, ...]]:
        items = client.ok("GET", "/recurring", params={"account_id": account, "month": month})
        return {i["description"]: (i["has_transaction_in_month"], i["payment_status"], i["pending_amount"])
                for i in items}

    # July's rent was paid by the committed line; June's and August's are not; the insurance is not due yet
    assert standing("2024-07") == {"Rent": (True, "PAID", D("0")), "Insurance": (False, "NOT_DUE", D("0"))}
    assert standing("2024-06") == {"Rent": (False, "PENDING", D("800.25")), "Insurance": (False, "NOT_DUE", D("0"))}
    assert standing("2024-09")["Insurance"] == (False, "PENDING", D("40"))
    one = client.ok("GET", f"/recurring/{rent['id']}", params={"month": "2024-07"})
    assert (one["payment_status"], one["has_transaction_in_month"]) == ("PAID", True)
    assert one["tags"] == [{"tag_id": tag["id"], "tag": tag, "recurring_expense_id": rent["id"]}]
    assert client.ok("GET", f"/recurring/{later['id']}")["tags"] == []
    for wrong in ("2024-13", "2024-7", "july"):
        assert client.error("GET", "/recurring", 400, params={"month": wrong})["field"] == "month", wrong
    # an inactive item waits for nothing (as /recurring/pending and the summary leave it out); what paid it stays
    client.ok("PATCH", f"/recurring/{rent['id']}", json_body={"is_active": False})
    assert standing("2024-06")["Rent"] == (False, "NOT_DUE", D("0"))
    assert standing("2024-07")["Rent"] == (True, "PAID", D("0"))


def test_a_paid_invoice_takes_no_more_lines_from_another_session(client: SessionsClient):
    card, category = client.card(), client.category("Compras")
    first = client.create_session(card_id=card, billing_month="2024-05")
    second = client.create_session(card_id=card, billing_month="2024-05")
    line = {"transaction_date": "2024-05-05", "description": "Loja", "amount": 55.55, "data": {"category_id": category}}
    client.stage(first["id"], [line])
    (waiting,) = client.stage(second["id"], [line])
    client.ok("POST", f"/import-sessions/{first['id']}/commit")
    assert client.ok("POST", f"/import-sessions/{first['id']}/close", admin=True)["invoice_status"] == "PAID"
    # Then the other session of the card and month can neither stage, change nor commit into the paid invoice
    for method, path, body in (("POST", f"/import-sessions/{second['id']}/staged-transactions", [line]),
                               ("PUT", f"/staged-transactions/{waiting['id']}", {"description": "x"}),
                               ("POST", f"/import-sessions/{second['id']}/commit", None)):
        refused = client.error(method, path, 400, json_body=body) if body is not None else \
            client.error(method, path, 400)
        assert (refused["code"], refused["field"]) == ("InvoiceNotOpen", "billing_month"), refused
    assert client.ok("GET", f"/cards/{card}/invoices/2024-05")["status"] == "PAID"


def test_a_session_left_behind_by_a_paid_invoice_is_closed_or_deleted_and_writes_nothing(client: SessionsClient):
    card, category = client.card(), client.category("Compras")
    paying, late, other = (client.create_session(card_id=card, billing_month="2024-07") for _ in range(3))
    line = {"transaction_date": "2024-07-05", "description": "Loja", "amount": 20, "data": {"category_id": category}}
    client.stage(paying["id"], [line])
    client.stage(late["id"], [line, {**line, "amount": 7}])
    client.stage(other["id"], [{**line, "amount": 3}])
    client.ok("POST", f"/import-sessions/{paying['id']}/commit")
    assert client.ok("POST", f"/import-sessions/{paying['id']}/close", admin=True)["invoice_status"] == "PAID"
    # Given a session whose invoice another session paid: commit is refused and says the way out
    refused = client.error("POST", f"/import-sessions/{late['id']}/commit", 400)
    assert refused["code"] == "InvoiceNotOpen" and "close or delete this session" in refused["error"], refused
    # When it is closed, then its lines are discarded and nothing is written
    closed = client.ok("POST", f"/import-sessions/{late['id']}/close", admin=True)
    assert (closed["paid"], closed["discarded_staged"], closed["discarded_ready"], closed["invoice_status"],
            closed["invoice_settled_elsewhere"]) == (0, 2, 2, "PAID", True), closed
    assert client.error("GET", f"/import-sessions/{late['id']}", 404)["code"] == "SessionNotFound"
    # the invoice holds the paying session's line only (a session of the month reads its committed sum)
    assert client.ok("GET", f"/import-sessions/{other['id']}")["initial_balance"] == D(20)
    # And the other one is deleted without the admin role
    client.ok("DELETE", f"/import-sessions/{other['id']}", 204)
    assert client.error("GET", f"/import-sessions/{other['id']}", 404)["code"] == "SessionNotFound"
    invoice = client.ok("GET", f"/cards/{card}/invoices/2024-07")
    assert invoice["status"] == "PAID"
    # an account session with uncommitted lines is still refused: there, commit is the way
    account = client.create_session(account_id=client.bank_account(), billing_month="2024-07")
    client.stage(account["id"], [{**line, "amount": -5}])
    assert client.error("POST", f"/import-sessions/{account['id']}/close", 409, admin=True)["code"] == \
        "UncommittedLines"


def test_a_recurring_items_slots_paid_ignored_and_pending(client: SessionsClient):
    account, category = client.bank_account(), client.category("Streaming")
    netflix = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Netflix", "amount": 49.90, "account_id": account, "category_id": category,
        "frequency": "MONTHLY", "start_date": "2024-01-31"})
    session = client.create_session(account_id=account, billing_month="2024-02")
    client.stage(session["id"], [
        {"transaction_date": "2024-03-01", "description": "NETFLIX.COM", "amount": -49.90,
         "data": {"category_id": category, "recurring_expense_id": netflix["id"]}},
        {"transaction_date": "2024-04-02", "description": "NETFLIX.COM", "amount": -49.90,
         "data": {"ignore": True, "recurring_expense_id": netflix["id"]}},
        {"transaction_date": "2024-05-28", "description": "NETFLIX.COM", "amount": -49.90,  # early for May's
         "data": {"category_id": category, "recurring_expense_id": netflix["id"]}}])
    for bound in ("nope", client.ok("POST", "/recurring", 201, json_body={
            "type": "income", "description": "Salary", "amount": 100, "account_id": account,
            "start_date": "2024-01-05", "include_in_summary": False})["id"]):
        refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400, json_body=[
            {"transaction_date": "2024-03-01", "description": "x", "amount": -1,
             "data": {"recurring_expense_id": bound}}])
        assert (refused["code"], refused["field"]) == ("UnknownReference", "[0].data.recurring_expense_id")
    client.ok("POST", f"/import-sessions/{session['id']}/commit")
    # Then the item falls due on the 31st, or the month's last day, each slot paid, ignored or pending
    slots = client.ok("GET", f"/recurring/{netflix['id']}/projection", params={"month": "2024-04"})
    assert [(s["date"], s["status"], s["amount"]) for s in slots] == [
        ("2024-01-31", "PENDING", D("49.90")), ("2024-02-29", "PAID", D("49.90")), ("2024-03-31", "IGNORE", D("49.90")),
        ("2024-04-30", "PENDING", D("49.90"))]
    assert slots[1]["transaction_id"] and slots[0]["transaction_id"] is None and slots[1]["type"] == "expense"
    may = client.ok("GET", f"/recurring/{netflix['id']}/projection", params={"month": "2024-05"})
    assert [(s["date"], s["status"]) for s in may][-2:] == [("2024-04-30", "PENDING"), ("2024-05-31", "PAID")]
    pending = [p for p in client.ok("GET", "/recurring/pending", params={"account_id": account})
               if p["recurring_id"] == netflix["id"]]
    dates = [p["reference_date"] for p in pending]
    assert "2024-01-31" in dates and "2024-04-30" in dates and "2024-02-29" not in dates and "2024-03-31" not in dates
    assert {(p["recurring_id"], p["recurring_status"], p["amount"]) for p in pending} == {
        (netflix["id"], "Active", D("49.90"))}
    february = client.ok("GET", "/recurring/summary", params={"month": "2024-02"})
    figures = {"paid_current_month": D("49.90"), "pending_until_month_end": D("0"),
               "projected_current_month": D("49.90")}
    assert february == {**figures, "by_currency": [{"currency": None, **figures}]}  # the account names none
    january = client.ok("GET", "/recurring/summary", params={"month": "2024-01"})
    assert (january["pending_until_month_end"], january["paid_current_month"]) == (D("49.90"), D("0"))
    assert client.error("GET", "/recurring/summary", 400, params={"month": "2024-13"})["field"] == "month"
    assert client.error("GET", f"/recurring/{uuid.uuid4()}/projection", 404)["code"] == "RecurringNotFound"


def test_copies_of_a_line_sent_again_wait_for_the_clients_decision_and_are_never_booked_twice(
        client: SessionsClient):
    """A POST retried (five at once) or a file uploaded twice stages certain copies: they are marked and PENDING
    (enrichment or a category does not make them READY) until the client decides with `data.ignore`: false books
    one as a line of its own, true commits it IGNORE; a commit leaves the undecided ones staged."""
    from concurrent.futures import ThreadPoolExecutor

    account = client.bank_account()
    rent = client.category("Aluguel")
    session = client.create_session(account_id=account, billing_month="2024-06")
    body = [{"transaction_date": "2024-06-03", "description": "Aluguel", "amount": -1500.00, "type": "EXPENSE",
             "data": {"category_id": rent}}]
    with ThreadPoolExecutor(5) as pool:
        posted = list(pool.map(lambda _: client.stage(session["id"], body)[0], range(5)))
    copies = [line for line in posted if line["data"].get("possible_duplicate")]
    assert len(copies) == 4 and {line["status"] for line in copies} == {"PENDING"}
    assert next(line for line in posted if line not in copies)["status"] == "READY"
    # one copy is a second rent payment after all (booked), one is ignored, two are left undecided
    booked = client.ok("PUT", f"/staged-transactions/{copies[0]['id']}", json_body={"data": {"ignore": False}})
    ignored = client.ok("PUT", f"/staged-transactions/{copies[1]['id']}", json_body={"data": {"ignore": True}})
    assert booked["status"] == ignored["status"] == "READY"
    client.ok("POST", f"/import-sessions/{session['id']}/commit")
    ledger = client.core.ledger(account)
    assert sorted(line["transactionStatus"] for line in ledger) == ["IGNORE", "VALIDATING", "VALIDATING"], ledger
    left = client.ok("GET", f"/import-sessions/{session['id']}/staged-transactions")
    assert sorted(line["id"] for line in left) == sorted(line["id"] for line in copies[2:])
    # the same file uploaded twice: its second copy waits too
    csv = b"data,descricao,valor\n05/06/2024,NETFLIX.COM,-49.90\n06/06/2024,Salario,2500.00\n"
    other = client.create_session(account_id=client.bank_account(), billing_month="2024-06")
    client.upload(other["id"], "extrato.csv", csv)
    assert client.upload(other["id"], "extrato.csv", csv).json()["possible_duplicates"] == 2
    second = client.ok("GET", f"/import-sessions/{other['id']}/staged-transactions")[2:]
    assert {line["status"] for line in second} == {"PENDING"}


def test_a_commit_of_several_chunks_leaves_every_balance_right(client: SessionsClient):
    """A commit writes its chunks, then recomputes each day's balance once: the ledger's balance, the next
    month's session and the account's own (a pending line left out of both) agree with what was staged."""
    account = client.bank_account()
    file_import(client, account, [("2024-02-10", "Deposit", "5000.00")])
    category = client.category("Mercado")
    session = client.create_session(account_id=account, billing_month="2024-03")
    lines = [{"transaction_date": f"2024-03-{1 + n % 4:02d}", "description": f"Compra {n}", "amount": -(1 + n % 7),
              "data": {"category_id": category}} for n in range(1100)]
    client.stage(session["id"], lines)
    staged = sum(D(ln["amount"]) for ln in lines)
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 1100
    ledger = client.ok("GET", f"/bankaccounts/{account}/transactions?include=balance&pageSize=1",
                       workspace="")
    assert D(str(ledger["meta"]["balance"]["amount"])) == D("5000.00") + staged, ledger["meta"]
    april = client.create_session(account_id=account, billing_month="2024-04")
    assert client.get_session(april["id"])["initial_balance"] == D("5000.00") + staged


def test_ids_in_upper_case_name_the_same_resources(client: SessionsClient):
    """UUIDs are case-insensitive (RFC 9562) and .NET or SQL Server clients write them in upper case: every
    session route takes them in paths, queries, bodies and `data`, and answers (and stores) them in lower case."""
    up = str.upper
    account, savings = client.bank_account(), client.bank_account("Poupanca")
    category, card = client.category("Mercado"), client.card()
    sub = client.ok("POST", f"/categories/{up(category)}/subcategories", 201, json_body={"name": "Feira"})
    assert sub["category_id"] == category
    tag = client.ok("POST", "/tags", 201, json_body={"name": "casa"})["id"]
    session = client.create_session(account_id=up(account), billing_month="2024-03")
    assert session["account_id"] == account
    line, transfer, payment = client.stage(up(session["id"]), [
        {"transaction_date": "2024-03-05", "description": "Feira", "amount": -30,
         "data": {"category_id": up(category), "subcategory_id": up(sub["id"]), "tag_ids": [up(tag)]}},
        {"transaction_date": "2024-03-06", "description": "Poupar", "amount": -100, "type": "TRANSFER",
         "data": {"destination_account_id": up(savings)}},
        {"transaction_date": "2024-03-07", "description": "Fatura", "amount": -50, "type": "CARD_PAYMENT",
         "data": {"card_id": up(card)}}])
    assert (line["data"]["category_id"], line["data"]["tag_ids"], line["status"]) == (category, [tag], "READY")
    assert transfer["data"]["destination_account_id"] == savings and payment["data"]["card_id"] == card
    assert client.ok("GET", f"/staged-transactions/{up(line['id'])}")["id"] == line["id"]
    changed = client.ok("PUT", f"/staged-transactions/{up(line['id'])}", json_body={"description": "Feira livre"})
    assert changed["description"] == "Feira livre"
    assert client.get_session(up(session["id"]))["id"] == session["id"]
    assert len(client.ok("GET", f"/import-sessions/{up(session['id'])}/staged-transactions")) == 3
    item = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Netflix", "amount": 49.9, "account_id": up(account),
        "category_id": up(category), "start_date": "2024-01-06"})
    assert item["account_id"] == account and client.ok("GET", f"/recurring/{up(item['id'])}")["id"] == item["id"]
    assert [i["id"] for i in client.ok("GET", f"/recurring?account_id={up(account)}")] == [item["id"]]
    assert client.ok("GET", f"/recurring-card-transactions?card_id={up(card)}") == []
    assert client.ok("GET", f"/cards/{up(card)}")["id"] == card
    committed = client.ok("POST", f"/import-sessions/{up(session['id'])}/commit")
    assert committed["committed"] == 3
    client.workspace_id, workspace = "", client.workspace_id
    client.new_workspace("Outra")
    client.workspace_id = ""  # two workspaces, no header: the session's own, found by its id in upper case
    assert client.get_session(up(session["id"]))["id"] == session["id"]
    client.workspace_id = workspace


def test_amounts_that_move_no_money_or_break_a_limit_are_named_where_they_are(client: SessionsClient):
    """A zero amount is refused (it stayed PENDING for good, unexplained); a file's zero line is rejected, the
    others staged; a recurring amount is a magnitude above zero; a number beyond the parser's range is named
    as the dialect names fields (`[1].amount`)."""
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-03")
    line = {"transaction_date": "2024-03-05", "description": "Feira", "amount": -30}
    for zero in (0, -0.0):
        refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                               json_body=[line, {**line, "amount": zero}])
        assert (refused["code"], refused["field"]) == ("ZeroAmount", "[1].amount"), refused
    # an amount is a JSON number, as the document types it (and as target_value is): text is refused, named
    refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                           json_body=[line, {**line, "amount": "-30.00"}])
    assert (refused["code"], refused["field"]) == ("ValidationError", "[1].amount"), refused
    (staged,) = client.stage(session["id"], [line])
    assert client.error("PUT", f"/staged-transactions/{staged['id']}", 400,
                        json_body={"amount": 0})["code"] == "ZeroAmount"
    uploaded = client.upload(session["id"], "extrato.csv",
                             b"data,descricao,valor\n06/03/2024,Tarifa isenta,0.00\n07/03/2024,Padaria,-11.25\n"
                             b"08/03/2024,HUGE,99999999999999999999.00\n")
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["processed"] == 1  # a file's line is held to what a POST takes (below 10^12)
    assert [(r["line_number"], r["code"]) for r in uploaded.json()["rejected"]] == [(2, "ZeroAmount"),
                                                                                   (4, "InvalidAmount")]
    for field in ("amount", "transaction_date", "description", "type"):  # null cannot remove what a line has
        refused = client.error("PUT", f"/staged-transactions/{staged['id']}", 400, json_body={field: None})
        assert refused["field"] == field, refused
    refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                           json_body=[{**line, "line_number": 10**20}])
    assert refused["field"] == "[0].line_number"
    category = client.category("Streaming")
    recurring = {"type": "expense", "description": "Netflix", "account_id": account, "category_id": category,
                 "start_date": "2024-01-06"}
    for amount, code in ((-5, "InvalidAmount"), (0, "ZeroAmount")):
        refused = client.error("POST", "/recurring", 400, json_body={**recurring, "amount": amount})
        assert (refused["code"], refused["field"]) == (code, "amount"), refused
    item = client.ok("POST", "/recurring", 201, json_body={**recurring, "amount": 49.9})
    assert client.error("PATCH", f"/recurring/{item['id']}", 400, json_body={"amount": -5})["code"] == "InvalidAmount"
    beyond = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400,
                          data=b'[{"transaction_date": "2024-03-05", "description": "x", "amount": 1},'
                               b' {"transaction_date": "2024-03-05", "description": "x", "amount": 1e309}]',
                          headers={"Content-Type": "application/json"})
    assert (beyond["code"], beyond["field"]) == ("NumberOutOfRange", "[1].amount"), beyond
    assert beyond["error"].startswith("[1].amount: 1e309 is out of range")


def test_lines_are_answered_whole_up_to_what_one_answer_holds(client: SessionsClient,
                                                               monkeypatch: pytest.MonkeyPatch):
    """GET lists every line of a session of 150 (it listed 100, the rest behind a cursor the documents do not
    know); lines whose `data` would pass what a Lambda answer holds are answered in pages instead (here the
    budget is made small), and the pages together hold every line once."""
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-03")
    client.stage(session["id"], [{"transaction_date": "2024-03-05", "description": f"Compra {n}", "amount": -1,
                                  "data": {"note": "x" * 900}} for n in range(150)])
    whole = client.get_session(session["id"])
    assert (len(whole["transactions"]), len(whole["staged_transactions"]), whole["next_cursor"]) == (150, 150, None)
    monkeypatch.setattr(views_module, "PAGE_BYTES", 40_000)
    first = client.get_session(session["id"])
    assert 10 < len(first["transactions"]) < 30 and first["next_cursor"], len(first["transactions"])
    seen, cursor = [ln["description"] for ln in first["transactions"]], first["next_cursor"]
    while cursor:
        page = client.get_session(session["id"], cursor=cursor)
        seen += [ln["description"] for ln in page["transactions"]]
        cursor = page["next_cursor"]
    assert seen == [f"Compra {n}" for n in range(150)]
    listed, path = [], f"/import-sessions/{session['id']}/staged-transactions"
    while path:
        answer = client.call("GET", path)
        assert answer.status_code == 200 and len(answer.json()) < 60
        listed += [ln["description"] for ln in answer.json()]
        path = answer.headers.get("Link", "").partition("<")[2].partition(">")[0]
    assert listed == seen


def test_a_bind_missing_a_field_names_it_whatever_the_bodys_shape(client: SessionsClient):
    """bind takes an object or a list of them: a list whose item lacks a field names `[0].<field>` (it named
    `body`, "should be a valid dictionary", the other shape's complaint)."""
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-03")
    path = f"/import-sessions/{session['id']}/bind"
    listed = client.error("POST", path, 400, json_body=[{"staged_transaction_id": "x"}])
    assert listed["field"] == "[0].recurring_transaction_id", listed
    single = client.error("POST", path, 400, json_body={"staged_transaction_id": "x"})
    assert single["field"] == "recurring_transaction_id", single


def test_a_session_sent_back_as_read_updates_what_changed(client: SessionsClient):
    """PUT with the session as GET answers it (a client editing one field of what it read): the read-only fields
    are ignored, the changed one applies; a misspelt field is still a 400 naming it."""
    session = client.create_session(account_id=client.bank_account(), billing_month="2024-03")
    read = client.get_session(session["id"])
    updated = client.ok("PUT", f"/import-sessions/{session['id']}", json_body={**read, "target_value": 12.5})
    assert updated["target_value"] == D("12.5") and updated["account_id"] == session["account_id"]
    typo = client.error("PUT", f"/import-sessions/{session['id']}", 400, json_body={"targetValue": 1})
    assert typo["field"] == "targetValue"


def test_a_flag_is_a_json_boolean(client: SessionsClient):
    for path, body in (("/categories", {"name": "Casa", "type": "EXPENSE", "is_active": "true"}),
                       ("/tags", {"name": "casa", "is_active": 1})):
        refused = client.error("POST", path, 400, json_body=body)
        assert refused["field"] == "is_active", refused


def test_numbers_are_json_numbers_and_a_rules_bounds_can_match(client: SessionsClient):
    category = client.category("Casa")
    rule = {"name": "r", "category_id": category}
    for body, field in (({**rule, "amount_min": "10"}, "amount_min"),
                        ({**rule, "amount_min": 50, "amount_max": 10}, "amount_max"),
                        ({**rule, "amount_min": -5}, "amount_min"),
                        ({**rule, "amount_max": 12.123456789}, "amount_max"),
                        ({**rule, "priority": True}, "priority"), ({**rule, "priority": "3"}, "priority")):
        refused = client.error("POST", "/enrichment-rules", 400, json_body=body)
        assert refused["field"] == field, refused
    for body, field in (({"name": "Visa", "credit_limit": "12.50"}, "credit_limit"),
                        ({"name": "Visa", "credit_limit": -5}, "credit_limit"),
                        ({"name": "Visa", "closing_date": True}, "closing_date"),
                        ({"name": "Visa", "due_date": 5.0}, "due_date")):
        refused = client.error("POST", "/cards", 400, json_body=body)
        assert refused["field"] == field, refused
    card = client.ok("POST", "/cards", 201, json_body={"name": "Visa", "credit_limit": -0.0, "closing_date": 3})
    assert (card["credit_limit"], card["closing_date"]) == (0, 3), card
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-03")
    refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400, json_body=[
        {"transaction_date": "2024-03-02", "description": "x", "amount": -1, "line_number": "3"}])
    assert refused["field"] == "[0].line_number", refused


def test_a_flag_in_a_query_is_true_or_false(client: SessionsClient):
    assert client.ok("GET", "/recurring", params={"is_active": "true"}) == []
    for word in ("yes", "1", "True "):
        refused = client.error("GET", "/recurring", 400, params={"is_active": word})
        assert refused["field"] == "is_active", refused


def test_a_type_decides_the_direction_of_its_amount_written_signed_or_as_a_magnitude(client: SessionsClient):
    """The user guide writes amounts both ways: signed ("Regra de sinais": EXPENSE negative) and as magnitudes (its
    bind example's EXPENSE of 49.90, its context_value table's `EXPENSE: - amount`). Both are taken, and the ledger
    books each line with its type's sign."""
    account = client.bank_account()
    food, salary = client.category("Food"), client.category("Salary", kind="INCOME")
    session = client.create_session(account_id=account, billing_month="2024-07")
    lines = [{"transaction_date": "2024-07-01", "description": "Signed expense", "amount": -5, "type": "EXPENSE",
              "data": {"category_id": food}},
             {"transaction_date": "2024-07-02", "description": "Magnitude expense", "amount": 5, "type": "EXPENSE",
              "data": {"category_id": food}},
             {"transaction_date": "2024-07-03", "description": "Income", "amount": 7, "type": "INCOME",
              "data": {"category_id": salary}}]
    staged = client.stage(session["id"], lines)
    assert [line["amount"] for line in staged] == [D(-5), D(5), D(7)]  # as sent
    client.ok("POST", f"/import-sessions/{session['id']}/commit")
    assert sorted(row["amount"] for row in client.core.ledger(account)) == [  # type: ignore[attr-defined]
        "-5.00", "-5.00", "7.00"]


def test_the_status_a_client_sets_is_done_and_ready_books_a_copy_it_overrides(client: SessionsClient):
    """qa39a F2 and F3: `{"status": "READY"}` was answered 200 and ignored, so a line commit held back as a certain
    copy (two identical coffees in two sessions) could never be booked."""
    account = client.bank_account()
    food = client.category("Food")
    coffee = {"transaction_date": "2024-04-02", "description": "Coffee Shop", "amount": -3.5, "type": "EXPENSE",
              "data": {"category_id": food}}
    first = client.create_session(account_id=account, billing_month="2024-04")
    second = client.create_session(account_id=account, billing_month="2024-04")
    client.stage(first["id"], [coffee])
    (line,) = client.stage(second["id"], [coffee])
    client.ok("POST", f"/import-sessions/{first['id']}/commit")
    assert client.ok("POST", f"/import-sessions/{second['id']}/commit")["held_back"] == 1
    put = f"/staged-transactions/{line['id']}"
    assert client.ok("GET", put)["data"]["possible_duplicate"]["reason"] == "alreadyCommitted"
    ready = client.ok("PUT", put, json_body={"status": "READY"})
    assert ready["status"] == "READY" and ready["data"]["possible_duplicate"]["overridden"] is True
    assert client.ok("POST", f"/import-sessions/{second['id']}/commit")["committed"] == 1
    assert [row["amount"] for row in client.core.ledger(account)] == ["-3.50", "-3.50"]  # type: ignore[attr-defined]
    # READY on a line lacking what READY needs names status and why; PENDING holds a line back from commit
    session = client.create_session(account_id=account, billing_month="2024-05")
    bare, filed = client.stage(session["id"], [
        {"transaction_date": "2024-05-02", "description": "No category", "amount": -2},
        {"transaction_date": "2024-05-03", "description": "Filed", "amount": -4, "data": {"category_id": food}}])
    lacking = client.error("PUT", f"/staged-transactions/{bare['id']}", 400, json_body={"status": "READY"})
    assert (lacking["code"], lacking["field"], lacking["details"][0]["field"]) == (
        "MissingFields", "status", "data.category_id"), lacking
    enriching = client.error("PUT", f"/staged-transactions/{bare['id']}", 400, json_body={"status": "PROCESSING"})
    assert (enriching["code"], enriching["field"]) == ("StatusNotSettable", "status")
    held = client.ok("PUT", f"/staged-transactions/{filed['id']}", json_body={"status": "PENDING"})
    assert (held["status"], held["on_hold"]) == ("PENDING", True)
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 0
    assert client.ok("PUT", f"/staged-transactions/{filed['id']}", json_body={"status": "READY"})["status"] == "READY"
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 1


def test_an_array_sent_where_a_route_takes_one_object_is_a_body_error_and_changes_nothing(client: SessionsClient):
    """qa39a F6: the array's first item was read as the body (`POST /import-sessions` answered InvalidBillingMonth,
    and `PUT /import-sessions/{id}` changed the session)."""
    account = client.bank_account()
    session = client.create_session(account_id=account, billing_month="2024-03")
    (line,) = client.stage(session["id"], [{"transaction_date": "2024-03-02", "description": "Cafe", "amount": -5}])
    for method, path, body in [("POST", "/import-sessions", [{"account_id": account}]),
                               ("PUT", f"/import-sessions/{session['id']}", [{"description": "changed"}]),
                               ("PUT", f"/staged-transactions/{line['id']}", [{"description": "changed"}]),
                               ("POST", "/categories", [{"name": "Food", "type": "EXPENSE"}]),
                               ("POST", "/import-sessions", "text"), ("POST", "/import-sessions", 5)]:
        refused = client.error(method, path, 400, json_body=body)
        assert (refused["code"], refused["field"]) == ("ValidationError", "body"), (path, body, refused)
    assert client.get_session(session["id"])["description"] == session["description"]
    assert client.ok("GET", f"/staged-transactions/{line['id']}")["description"] == "Cafe"
    assert client.ok("GET", "/categories") == [] and len(client.ok("GET", "/import-sessions")) == 1
    # an object (or a number) where an array is taken, and either shape where bind takes both, as before
    staged = f"/import-sessions/{session['id']}/staged-transactions"
    for body in ({"transaction_date": "2024-03-02", "amount": -5}, 5):
        assert client.error("POST", staged, 400, json_body=body)["field"] == "body"
    bind = f"/import-sessions/{session['id']}/bind"
    assert client.error("POST", bind, 400, json_body=[{"staged_transaction_id": line["id"]}])["field"] == \
        "[0].recurring_transaction_id"
