"""PublicTransactionsService on fakes: posted transactions straight into the ledger, deduplicated."""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.container import FakeContainer
from tests.unit.services.world import World


def _tx(**extra: object) -> dict[str, object]:
    return {"accountIdentifier": "GB33 BUKB 2020 1555 5555 55", "transactionId": "tx-1", "text": "Coffee",
            "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01", **extra}


def test_new_transactions_are_written_and_existing_ones_counted(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")

    first = c.public.ingest(world.tenant, [_tx(), _tx(transactionId="tx-2", creditDebit="credit", amount="10")])
    again = c.public.ingest(world.tenant, [_tx(), _tx(transactionId="tx-3")])

    assert (first.new, first.existing, first.errors) == (2, 0, [])
    assert (again.new, again.existing) == (1, 1)
    lines = c.ledger.all(world.tenant, account)
    assert sorted(line.amount for line in lines) == [Decimal("-3.50"), Decimal("-3.50"), Decimal("10")]
    assert {line.import_id for line in lines} == {"public-api"}


def test_each_bad_transaction_is_rejected_on_its_own(c: FakeContainer, world: World):
    world.account("GB33BUKB20201555555555")

    result = c.public.ingest(world.tenant, [
        _tx(), "not an object", _tx(accountIdentifier="nowhere"), _tx(amount="-1"), _tx(valutaAt="yesterday"),
        _tx(currency="pounds"), _tx(creditDebit="sideways")])

    assert result.new == 1
    assert [(e.index, e.code, e.target) for e in result.errors] == [
        (1, "InvalidValue", "$.transactions[1]"),
        (2, "BankAccountNotFound", "$.transactions[2].accountIdentifier"),
        (3, "InvalidAmount", "$.transactions[3].amount"),
        (4, "InvalidDate", "$.transactions[4].valutaAt"),
        (5, "InvalidCurrency", "$.transactions[5].currency"),
        (6, "InvalidValue", "$.transactions[6].creditDebit")]


def test_identical_lines_without_an_id_are_two_transactions(c: FakeContainer, world: World):
    account = world.account("GB33BUKB20201555555555")
    same = _tx(transactionId=None)
    assert c.public.ingest(world.tenant, [same, same]).new == 2
    assert c.public.ingest(world.tenant, [same, same]).existing == 2
    assert len(c.ledger.all(world.tenant, account)) == 2
