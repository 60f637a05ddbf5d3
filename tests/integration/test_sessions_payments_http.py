"""The import-sessions dialect over HTTP on the local stack, on payments: a card payment is one record with one
status whichever route shows it (the account's ledger, the invoice's card_payments), a paid invoice takes no
payment, the payment that pays an invoice off is its final one, and a recurring slot paid in part still waits for
the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.sessions_client import SessionsClient, tenant_client
from tximport_cli.local.stack import LocalStack

D = Decimal


@pytest.fixture()
def client(stack: LocalStack) -> SessionsClient:
    return tenant_client(stack)


def card_with_invoice(c: SessionsClient, month: str, amount: float) -> tuple[str, dict[str, Any]]:
    """A card whose invoice of `month` holds one committed expense of `amount`, and the card session (open)."""
    card, category = c.card(), c.category("Compras")
    session = c.create_session(card_id=card, billing_month=month)
    c.stage(session["id"], [{"transaction_date": f"{month}-05", "description": "Loja", "amount": amount,
                             "data": {"category_id": category}}])
    c.ok("POST", f"/import-sessions/{session['id']}/commit")
    return card, session


def pay(c: SessionsClient, account: str, card: str, month: str, amounts: list[float], day: str
        ) -> dict[str, Any]:
    """An account session of `day`'s month committing card payments of `amounts` into the invoice of `month`."""
    session = c.create_session(account_id=account, billing_month=day[:7])
    c.stage(session["id"], [{"transaction_date": day, "description": f"Fatura {i}", "amount": -amount,
                             "type": "CARD_PAYMENT", "data": {"card_id": card, "billing_month": month}}
                            for i, amount in enumerate(amounts)])
    c.ok("POST", f"/import-sessions/{session['id']}/commit")
    return session


def statuses(c: SessionsClient, account: str, card: str, month: str) -> tuple[set[str], set[str]]:
    """The payment's status as the account's ledger shows it, and as the invoice's card_payments do."""
    ledger = {r["transactionStatus"] for r in c.core.ledger(account) if r["type"] == "CARD_PAYMENT"}  # type: ignore[attr-defined]
    invoice = {p["transaction_status"] for p in c.ok("GET", f"/cards/{card}/invoices/{month}")["card_payments"]}
    return ledger, invoice


def test_a_card_payment_has_one_status_and_the_account_close_settles_it(client: SessionsClient):
    """The user guide's account close turns the account's transactions PAID (card payments are the account's: its
    balance subtracts them); the card close turns the card's expenses and chargebacks PAID and the invoice."""
    account = client.bank_account()
    card, card_session = card_with_invoice(client, "2024-03", 70.00)
    paying = pay(client, account, card, "2024-03", [70.00], "2024-04-05")
    assert statuses(client, account, card, "2024-03") == ({"VALIDATING"}, {"VALIDATING"})
    # Closing the card session pays the invoice and its expense, not the account's payment
    assert client.ok("POST", f"/import-sessions/{card_session['id']}/close", admin=True)["paid"] == 1
    invoice = client.ok("GET", f"/cards/{card}/invoices/2024-03")
    assert invoice["status"] == "PAID" and invoice["card_expenses"][0]["transaction_status"] == "PAID"
    assert statuses(client, account, card, "2024-03") == ({"VALIDATING"}, {"VALIDATING"})
    # Closing the account session settles the payment: both views read PAID; the close counts the line once
    assert client.ok("POST", f"/import-sessions/{paying['id']}/close", admin=True)["paid"] == 1
    assert statuses(client, account, card, "2024-03") == ({"PAID"}, {"PAID"})


def test_the_account_close_first_settles_the_payment_in_both_views(client: SessionsClient):
    account = client.bank_account()
    card, _ = card_with_invoice(client, "2024-03", 70.00)
    paying = pay(client, account, card, "2024-03", [70.00], "2024-04-05")
    client.ok("POST", f"/import-sessions/{paying['id']}/close", admin=True)
    assert statuses(client, account, card, "2024-03") == ({"PAID"}, {"PAID"})
    assert client.ok("GET", f"/cards/{card}/invoices/2024-03")["status"] == "OPEN"


def test_a_paid_invoice_takes_no_card_payment(client: SessionsClient):
    """'A paid invoice never takes lines': staging, changing or committing a payment into it is refused, naming the
    invoice's month; a payment into an OPEN (or not yet made) invoice is taken as before."""
    account = client.bank_account()
    card, card_session = card_with_invoice(client, "2024-02", 10.00)
    session = client.create_session(account_id=account, billing_month="2024-02")
    (line,) = client.stage(session["id"], [{"transaction_date": "2024-02-20", "description": "Fatura", "amount": -10,
                                            "type": "CARD_PAYMENT", "data": {"card_id": card}}])
    client.ok("POST", f"/import-sessions/{card_session['id']}/close", admin=True)
    # the invoice was paid after the line was staged: the commit refuses and writes nothing
    refused = client.error("POST", f"/import-sessions/{session['id']}/commit", 400)
    assert (refused["code"], refused["field"]) == ("InvoicePaid", "data.billing_month"), refused
    assert line["id"] in refused["error"] and "2024-02" in refused["error"]
    assert client.core.ledger(account) == []  # type: ignore[attr-defined]
    assert client.ok("GET", f"/cards/{card}/invoices/2024-02")["card_payments"] == []
    # staging or changing a payment into it is refused too
    payment = {"transaction_date": "2024-02-21", "description": "Fatura", "amount": -10, "type": "CARD_PAYMENT",
               "data": {"card_id": card, "billing_month": "2024-02"}}
    refused = client.error("POST", f"/import-sessions/{session['id']}/staged-transactions", 400, json_body=[payment])
    assert (refused["code"], refused["field"]) == ("InvoicePaid", "[0].data.billing_month"), refused
    other = client.stage(session["id"], [{**payment, "type": "EXPENSE", "data": {"ignore": True}}])[0]
    refused = client.error("PUT", f"/staged-transactions/{other['id']}", 400,
                           json_body={"type": "CARD_PAYMENT", "data": {"card_id": card}})
    assert (refused["code"], refused["field"]) == ("InvoicePaid", "data.billing_month"), refused
    # moved to the next month's invoice (not made yet), the payment is taken: that invoice's session targets it
    client.ok("PUT", f"/staged-transactions/{line['id']}", json_body={"data": {"billing_month": "2024-03"}})
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 2
    assert client.create_session(card_id=card, billing_month="2024-03")["target_value"] == D(10)
    assert [p["amount"] for p in client.ok("GET", f"/cards/{card}/invoices/2024-03")["card_payments"]] == [D(10)]


def test_the_payment_that_pays_the_invoice_off_is_its_final_one(client: SessionsClient):
    account = client.bank_account()
    card, _ = card_with_invoice(client, "2024-03", 100.00)
    pay(client, account, card, "2024-03", [30.00], "2024-04-02")

    def finals() -> list[tuple[Decimal, bool]]:
        payments = client.ok("GET", f"/cards/{card}/invoices/2024-03")["card_payments"]
        return [(p["amount"], p["is_final_payment"]) for p in payments]

    assert finals() == [(D(30), False)]
    pay(client, account, card, "2024-03", [70.00], "2024-04-10")
    assert finals() == [(D(30), False), (D(70), True)]
    pay(client, account, card, "2024-03", [5.00], "2024-04-12")  # paid more than was owed: not the final one
    assert finals() == [(D(30), False), (D(70), True), (D(5), False)]


def test_a_slot_paid_in_part_waits_for_the_rest(client: SessionsClient):
    """A monthly 100.00 expense bound to a committed -60.00 line: 40.00 still to pay, the slot PENDING; the rest
    paid later that month makes it PAID."""
    account, category = client.bank_account(), client.category("Casa")
    item = client.ok("POST", "/recurring", 201, json_body={
        "type": "expense", "description": "Escola", "amount": 100, "account_id": account, "frequency": "MONTHLY",
        "start_date": "2024-04-10", "category_id": category})
    session = client.create_session(account_id=account, billing_month="2024-04")
    bound = {"description": "ESCOLA", "data": {"category_id": category, "recurring_expense_id": item["id"]}}
    client.stage(session["id"], [{**bound, "transaction_date": "2024-04-10", "amount": -60}])
    client.ok("POST", f"/import-sessions/{session['id']}/commit")

    def standing() -> tuple[Any, ...]:
        one = client.ok("GET", f"/recurring/{item['id']}", params={"month": "2024-04"})
        return one["has_transaction_in_month"], one["payment_status"], one["pending_amount"]

    assert standing() == (True, "PENDING", D("40"))
    (slot,) = client.ok("GET", f"/recurring/{item['id']}/projection", params={"month": "2024-04"})
    assert (slot["status"], slot["amount"]) == ("PENDING", D("40"))
    summary = client.ok("GET", "/recurring/summary", params={"month": "2024-04"})
    assert (summary["projected_current_month"], summary["paid_current_month"],
            summary["pending_until_month_end"]) == (D(100), D(60), D(40))
    waiting = client.ok("GET", "/recurring/pending", params={"account_id": account})
    assert (waiting[0]["reference_date"], waiting[0]["amount"]) == ("2024-04-10", D(40))
    client.stage(session["id"], [{**bound, "transaction_date": "2024-04-12", "amount": -40}])
    client.ok("POST", f"/import-sessions/{session['id']}/commit")
    assert standing() == (True, "PAID", D("0"))


def test_a_payment_committed_ignored_is_no_part_of_a_card_sessions_default_target(client: SessionsClient):
    """The card context's default target is what the card payments paid into the invoice; one committed IGNORE
    paid nothing (as for is_final_payment)."""
    account, card = client.bank_account(), client.card()
    session = client.create_session(account_id=account, billing_month="2024-06")
    payment: dict[str, Any] = {"transaction_date": "2024-06-05", "type": "CARD_PAYMENT",
                               "data": {"card_id": card, "billing_month": "2024-05"}}
    client.stage(session["id"], [{**payment, "description": "Fatura", "amount": -105},
                                 {**payment, "description": "Estorno", "amount": -60,
                                  "data": {**payment["data"], "ignore": True}}])
    assert client.ok("POST", f"/import-sessions/{session['id']}/commit")["committed"] == 2
    assert client.create_session(card_id=card, billing_month="2024-05")["target_value"] == D(105)


def _october_statement(client: SessionsClient, session_id: str, category: str) -> None:
    """The card's October statement, committed: an expense of 120.00, and the payment received as a line of its own
    (-500.00 on October 9th, which the sign rule types CARD_CHARGEBACK)."""
    client.stage(session_id, [
        {"transaction_date": "2024-10-03", "description": "Loja", "amount": 120, "data": {"category_id": category}},
        {"transaction_date": "2024-10-09", "description": "PAGAMENTO RECEBIDO", "amount": -500}])
    client.ok("POST", f"/import-sessions/{session_id}/commit")


def _pays(client: SessionsClient, session_id: str, card: str, month: str) -> dict[str, Any]:
    """The account's payment of 500.00 on October 8th into the card's invoice of `month`, committed."""
    client.stage(session_id, [{"transaction_date": "2024-10-08", "description": f"Fatura {month}", "amount": -500,
                               "type": "CARD_PAYMENT", "data": {"card_id": card, "billing_month": month}}])
    answer: dict[str, Any] = client.ok("POST", f"/import-sessions/{session_id}/commit")
    return answer


def _invoice_of(client: SessionsClient, card: str, month: str) -> tuple[Any, ...]:
    """An invoice as its reader sees it, the ids aside: its payments (amount, paying account, status, final),
    expenses and chargebacks."""
    invoice = client.ok("GET", f"/cards/{card}/invoices/{month}")
    return ([(p["amount"], p["account_id"], p["transaction_status"], p["is_final_payment"])
             for p in invoice["card_payments"]],
            [e["amount"] for e in invoice["card_expenses"]], [c["amount"] for c in invoice["card_chargebacks"]])


@pytest.mark.parametrize("card_first", [False, True])
def test_a_card_payment_lands_on_the_invoice_alike_whichever_statement_is_committed_first(
        client: SessionsClient, card_first: bool):
    """The card's statement shows the payment as a line of its own (-500.00, which the sign rule types
    CARD_CHARGEBACK). Committed after the account's payment, it is held back as the payment's copy; committed
    before, the payment takes it as its mirror and it becomes the payment: one invoice either way, the payment in
    card_payments (naming the account), its status the account's (the card close leaves it, the account's close
    pays it)."""
    account, card, category = client.bank_account(), client.card(), client.category("Compras")
    card_session = client.create_session(card_id=card, billing_month="2024-10")
    account_session = client.create_session(account_id=account, billing_month="2024-10")

    if card_first:
        _october_statement(client, card_session["id"], category)
        assert _pays(client, account_session["id"], card, "2024-10")["linked"] == 1
    else:
        assert _pays(client, account_session["id"], card, "2024-10")["linked"] == 0
        _october_statement(client, card_session["id"], category)
    assert _invoice_of(client, card, "2024-10") == ([(D(500), account, "VALIDATING", True)], [D(120)], [])
    assert client.ok("GET", f"/import-sessions/{card_session['id']}")["initial_balance"] == D(120)
    # the card's close pays its expense, not the account's payment; the account's close pays that
    client.ok("POST", f"/import-sessions/{card_session['id']}/close", admin=True)
    assert _invoice_of(client, card, "2024-10") == ([(D(500), account, "VALIDATING", True)], [D(120)], [])
    client.ok("POST", f"/import-sessions/{account_session['id']}/close", admin=True)
    assert _invoice_of(client, card, "2024-10") == ([(D(500), account, "PAID", True)], [D(120)], [])


def test_a_payment_into_an_invoice_not_made_yet_makes_it(client: SessionsClient):
    """The card's session of that month comes later (or never): the invoice is made OPEN by the payment's commit and
    shows it; the card's session then opens on it."""
    account, card = client.bank_account(), client.card()
    pay(client, account, card, "2024-05", [80.00], "2024-06-03")
    invoice = client.ok("GET", f"/cards/{card}/invoices/2024-05")
    assert invoice["status"] == "OPEN"
    assert [(p["amount"], p["account_id"]) for p in invoice["card_payments"]] == [(D(80), account)]
    assert [i["billing_month"] for i in client.ok("GET", f"/cards/{card}/invoices")] == ["2024-05"]
    assert client.create_session(card_id=card, billing_month="2024-05")["target_value"] == D(80)


@pytest.mark.parametrize("card_first", [False, True])
def test_a_payment_of_last_months_invoice_lands_on_it_whichever_statement_comes_first(
        client: SessionsClient, card_first: bool):
    """October's card statement shows the payment of September's invoice (made on October 8th): in either order the
    payment is on September's invoice, and October's shows its expense only."""
    account, card, category = client.bank_account(), client.card(), client.category("Compras")
    september = client.create_session(card_id=card, billing_month="2024-09")
    client.stage(september["id"], [{"transaction_date": "2024-09-12", "description": "Mercado", "amount": 500,
                                     "data": {"category_id": category}}])
    client.ok("POST", f"/import-sessions/{september['id']}/commit")
    october = client.create_session(card_id=card, billing_month="2024-10")
    paying = client.create_session(account_id=account, billing_month="2024-10")

    steps = (lambda: _october_statement(client, october["id"], category),
             lambda: _pays(client, paying["id"], card, "2024-09"))
    for step in (steps if card_first else steps[::-1]):
        step()
    assert _invoice_of(client, card, "2024-09") == ([(D(500), account, "VALIDATING", True)], [D(500)], [])
    assert _invoice_of(client, card, "2024-10") == ([], [D(120)], [])
