"""The revert service on moto: a multi-chunk import loses exactly its own ledger lines, a run out of
time is continued by the next one, and running again removes nothing more."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal

from tximport.config import load_settings
from tximport.container import Container
from tximport.models import Import, ImportStatus, LedgerLine, RevertProgress, StagedRow, Tenant, utcnow
from tximport.services.revert import RevertService
from tximport.storage.staging import Staging, staging_prefix


def _staged(account: str, n: int) -> StagedRow:
    return StagedRow(transaction_id=f"tx-{n:04d}", bank_account_id=account, amount=Decimal("-1.25") * n,
                     currency="EUR", date_posted=date(2024, 4, n % 28 + 1), description=f"line {n}", line_number=n)


def _row(import_id: str, account: str, n: int) -> LedgerLine:
    return LedgerLine.confirmed(_staged(account, n), import_id=import_id, committed=utcnow())


def _setup(c: Container, tenant: Tenant, *, lines: int, chunk_rows: int) -> tuple[Import, str, str]:
    """A complete import `mine` that staged `lines` rows in chunks of `chunk_rows`; the rows divisible by
    5 were already in the ledger from import `other` (skipped as duplicates), so `mine` never wrote them."""
    mine, other, account = str(uuid.uuid4()), str(uuid.uuid4()), f"acc-{uuid.uuid4().hex[:6]}"
    staged = [_staged(account, n) for n in range(lines)]
    c.ledger.write(tenant, [_row(mine if n % 5 else other, account, n) for n in range(lines)])
    c.ledger.write(tenant, [_row(other, account, n) for n in range(1000, 1007)])  # other's own lines
    writer = Staging(c.objects, chunk_rows).row_writer(staging_prefix(tenant, mine, 0))
    for row in staged:
        writer.write(row)
    imp = Import(id=mine, organisation_id=tenant.organisation_id, company_id=tenant.company_id,
                 file_format="Tabular3column#v1", s3_key=f"uploads/{tenant.key}/{mine}",
                 status=ImportStatus.COMPLETE, completed=utcnow(), chunk_keys=writer.close(),
                 revert=RevertProgress(status="reverting"))
    c.lifecycle.imports.create(imp)
    return imp, other, account


def _import_ids(c: Container, tenant: Tenant, account: str) -> list[str]:
    return sorted(line.import_id for line in c.ledger.list_page(tenant, account, limit=1000)[0])


def test_revert_removes_only_this_imports_lines_chunk_by_chunk(stack):
    c = Container(load_settings())
    tenant = Tenant(organisation_id=f"org-{uuid.uuid4().hex[:6]}", company_id="co")
    imp, other, account = _setup(c, tenant, lines=40, chunk_rows=7)
    assert len(imp.chunk_keys) == 6
    service = RevertService(lifecycle=c.lifecycle, ledger=c.ledger, staging=c.staging,
                            workers=4)

    done = service.run(tenant, imp.id).imp

    assert done.revert.status == "reverted" and done.reverted is not None
    assert done.revert.line_count == 32  # 40 staged, 8 of them written by the other import
    assert done.error_details[-1].code == "Reverted"
    assert _import_ids(c, tenant, account) == [other] * 15
    # a second run (the workflow retries a run whose answer was lost) changes nothing
    again = service.run(tenant, imp.id).imp
    assert again.reverted == done.reverted and again.revert.line_count == 32
    removed, complete = c.ledger.delete_many_if_from_import(
        tenant, [_row(imp.id, account, n) for n in range(40)], imp.id, workers=4)
    assert (removed, complete) == (0, True)
    assert _import_ids(c, tenant, account) == [other] * 15


def test_a_run_out_of_time_hands_on_and_the_next_run_continues_with_an_exact_count(stack):
    c = Container(load_settings())
    tenant = Tenant(organisation_id=f"org-{uuid.uuid4().hex[:6]}", company_id="co")
    imp, other, account = _setup(c, tenant, lines=30, chunk_rows=4)
    service = RevertService(lifecycle=c.lifecycle, ledger=c.ledger, staging=c.staging,
                            workers=2, margin_seconds=1)
    calls = itertools.count()

    stopped = service.run(tenant, imp.id, remaining_ms=lambda: 60_000 if next(calls) < 10 else 0)

    assert stopped.more and stopped.imp.revert.status == "reverting" and stopped.imp.reverted is None
    partial = stopped.imp.revert.line_count or 0
    assert 0 < partial < 24
    assert len([i for i in _import_ids(c, tenant, account) if i == imp.id]) == 24 - partial

    done = service.run(tenant, imp.id, remaining_ms=lambda: 60_000, refreshed_through=stopped.refreshed_through).imp

    assert done.revert.status == "reverted"
    assert done.revert.line_count == 24
    assert _import_ids(c, tenant, account) == [other] * 13
