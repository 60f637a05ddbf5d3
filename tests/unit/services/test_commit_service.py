"""CommitService on fakes: one staged chunk into the ledger, idempotently."""

from __future__ import annotations

import pytest

from tests.fakes.container import FakeContainer
from tests.unit.services.world import CSV, World


def test_a_chunk_writes_the_lines_to_import_and_a_retry_writes_the_same(c: FakeContainer, world: World):
    c.settings.chunk_rows = 2
    imp, _ = world.awaiting(CSV)
    account = imp.bank_accounts[0].id
    salary = next(r for r in c.staging.all_rows(imp.chunk_keys) if r.description == "Salary")
    c.review_service.set_decision(world.tenant, imp.id, salary.transaction_id, "skip")

    written = [c.commit.commit_chunk(imp, key) for key in imp.chunk_keys]
    again = c.commit.commit_chunk(imp, imp.chunk_keys[0])

    assert written == [1, 1] and again == 1
    lines = c.ledger.all(world.tenant, account)
    assert [line.description for line in lines] == ["Coffee", "Rent"]
    assert {line.import_id for line in lines} == {imp.id} and lines[0].line_number == 2


def test_lines_certain_to_be_duplicates_are_skipped_by_default(c: FakeContainer, world: World):
    first = world.completed()
    imp, _ = world.awaiting(CSV, first.bank_accounts[0].id, bypass_replay_validation=True)
    assert sum(c.commit.commit_chunk(imp, key) for key in imp.chunk_keys) == 0


def test_a_chunk_of_another_import_is_refused(c: FakeContainer, world: World):
    imp, _ = world.awaiting()
    with pytest.raises(ValueError, match="not a staged chunk"):
        c.commit.commit_chunk(imp, "staging/elsewhere/rows-00001.jsonl.zst")


def test_a_staged_write_sends_exactly_the_items_a_write_of_the_rows_sends():
    """The commit workers' path (chunk lines straight to ledger items) against the items `write` builds
    from the same rows as models, on a client that records what it is sent."""
    from datetime import date, timedelta
    from decimal import Decimal

    from tximport.models import LedgerLine, StagedRow, Tenant, utcnow
    from tximport.storage.ledger import LedgerRepository
    from tximport.storage.staging import decode_row, encode_row

    class Recorder:
        def __init__(self) -> None:
            self.items: list[dict] = []

        def batch_write_item(self, RequestItems):  # noqa: N803 (botocore's name)
            self.items += [r["PutRequest"]["Item"] for r in RequestItems["ledger"]]
            return {}

    class Table:
        name = "ledger"

    class Repository(LedgerRepository):
        """Records the pending lines marked replaced and the days whose balances are recomputed."""

        def __init__(self, *clients: Recorder) -> None:
            super().__init__(Table(), *clients)
            self.calls: list[tuple] = []

        def _replace_pending(self, tenant: Tenant, account_id: str, pending_id: str, booked_id: str) -> None:
            self.calls.append(("replace", account_id, pending_id, booked_id))

        def refresh_totals(self, tenant: Tenant, days, *, workers: int = 1) -> None:
            self.calls.append(("totals", sorted(set(days))))

    tenant = Tenant(organisation_id="o", company_id="c")
    rows = [StagedRow(transaction_id=f"t{n}", bank_account_id=f"acc-{n % 2}", amount=Decimal(n * 7 - 40) / 8,
                      currency=None if n % 3 else "EUR", date_posted=date(2024, 3, 1) + timedelta(days=n % 4),
                      description="" if n == 5 else f"line {n} é", line_number=n, value_date=date(2024, 3, 9),
                      bank_transaction_id=f"B{n}" if n % 2 else None, reference="ref" if n == 3 else None,
                      counterparty_name="Ann" if n % 4 == 1 else None, counterparty_account="DE12" if n == 1 else None,
                      balance=Decimal("1E+2") if n == 2 else None, original_amount=Decimal("-3.10") if n == 7 else None,
                      original_currency="USD" if n == 7 else None, possible_duplicate=n == 4,
                      duplicate_of="x" if n == 4 else None, pending=n % 9 == 2, reversal=n % 11 == 3,
                      reversal_of="r0" if n == 14 else None, replaces_pending_id=f"p{n}" if n % 13 == 6 else None)
            for n in range(60)]
    committed = utcnow()
    old, new = Recorder(), Recorder()
    # a chunk line read back is what both paths start from
    staged = [encode_row(r) for r in rows]
    confirmed = [LedgerLine.confirmed(decode_row(s), import_id="imp", committed=committed) for s in staged]
    written, staging = Repository(old), Repository(Recorder(), new)
    written.write(tenant, confirmed)
    assert staging.write_staged(tenant, staged, import_id="imp", committed=committed) == 60
    # one day index item per account-day and an open-pending item per pending line, each before its line
    assert new.items == old.items and len(old.items) == 60 + 4 + 7
    assert any("pending" in i for i in new.items) and any("reversalOf" in i for i in new.items)
    # the same pending lines marked replaced; the days' balances are left to the import's RefreshBalances
    replaced = [call for call in written.calls if call[0] == "replace"]
    assert staging.calls == replaced and len(replaced) == 5
    assert written.calls[-1] == ("totals", sorted({(r.bank_account_id, r.date_posted) for r in rows}))


def test_the_balances_of_every_day_of_the_import_are_recomputed_once_after_its_chunks(c: FakeContainer, world: World):
    c.settings.chunk_rows = 1  # Rent, Salary and Coffee in a chunk each, on three days
    imp, _ = world.awaiting(CSV)
    coffee = next(r for r in c.staging.all_rows(imp.chunk_keys) if r.description == "Coffee")
    c.review_service.set_decision(world.tenant, imp.id, coffee.transaction_id, "skip")
    for key in imp.chunk_keys:
        c.commit.commit_chunk(imp, key)
    assert c.ledger.refreshed == []  # a chunk writes lines only

    days = c.commit.refresh_balances(imp)

    staged = sorted({(r.bank_account_id, r.date_posted) for r in c.staging.all_rows(imp.chunk_keys)})
    assert days == len(staged) == 3 and c.ledger.refreshed == staged
