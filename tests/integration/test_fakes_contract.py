"""The in-memory fakes the unit tier uses behave as the real adapters and repositories do on moto:
each scenario runs against both (moto in-process, no server)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.definitions import TABLES
from tests.fakes.objects import InMemoryObjects
from tests.fakes.reconciliations import InMemoryReconciliations
from tests.fakes.repositories import InMemoryAccounts, InMemoryImports, InMemoryLedger, InMemoryLocks
from tests.fakes.store import MemoryStore
from tests.fakes.workflow import FakeWorkflow
from tximport.adapters.workflow import StepFunctionsEngine
from tximport.errors import Conflict, NotFound
from tximport.ids import new_id
from tximport.models import (
    BankAccount,
    Import,
    ImportStatus,
    LedgerLine,
    LineMark,
    ReconciliationMark,
    Tenant,
    utcnow,
)
from tximport.reconciliation.errors import Clash
from tximport.reconciliation.models import (
    Direction,
    MatchStatus,
    Override,
    Reconciliation,
    ReconciliationStatus,
    Source,
)
from tximport.reconciliation.records import EntryRecord
from tximport.sessions.models import (
    Invoice,
    InvoiceStatus,
    SessionLedgerEntry,
    StagedTransactionType,
    TransactionStatus,
)
from tximport.storage.kv import ConditionFailed, Delete, DynamoStore, Put, Update
from tximport.storage.ledger import LedgerRepository, LineChanged, LinesHeld
from tximport.storage.objects import ObjectChanged, ObjectMissing, S3Objects
from tximport.storage.reconciliations import DynamoReconciliations
from tximport.storage.repository import AccountsRepository, ImportsRepository, LocksRepository
from tximport.storage.sessions import CatalogRepository
from tximport_cli.local.stack import create_table_arguments

TENANT = Tenant(organisation_id="org", company_id="co")
OTHER = Tenant(organisation_id="org", company_id="co2")
REGION = "us-east-1"


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in this process: a bucket, the two tables, boto3 clients."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    # the interpreter on: Step Functions then knows which task tokens wait
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="bucket")
        s3.put_bucket_versioning(Bucket="bucket", VersioningConfiguration={"Status": "Enabled"})  # as deployed
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        resource = boto3.resource("dynamodb", region_name=REGION)
        tables = {}
        for table in TABLES:
            dynamodb.create_table(**create_table_arguments(table, table.key))
            tables[table.key] = resource.Table(table.key)
        yield {"s3": s3, "dynamodb": dynamodb, "tables": tables,
               "sfn": boto3.client("stepfunctions", region_name=REGION)}


def both(real: Callable[[dict[str, Any]], Any], fake: Callable[[], Any]) -> Any:
    """A fixture answering the real implementation on moto, then the fake."""

    @pytest.fixture(params=["moto", "fake"])
    def store(request: pytest.FixtureRequest) -> Any:
        if request.param == "fake":
            return fake()
        return real(request.getfixturevalue("aws"))

    return store


objects = both(lambda aws: S3Objects(aws["s3"], "bucket"), InMemoryObjects)
accounts = both(lambda aws: AccountsRepository(aws["tables"]["imports"]), InMemoryAccounts)
imports = both(lambda aws: ImportsRepository(aws["tables"]["imports"]), InMemoryImports)
locks = both(lambda aws: LocksRepository(aws["tables"]["imports"]), InMemoryLocks)
ledger = both(lambda aws: LedgerRepository(aws["tables"]["ledger"], aws["dynamodb"]), InMemoryLedger)


def _all_pages(read: Callable[[str | None], tuple[list[Any], str | None]]) -> list[Any]:
    out: list[Any] = []
    cursor: str | None = None
    while True:
        page, cursor = read(cursor)
        out.extend(page)
        if not cursor:
            return out


# --- the bucket -------------------------------------------------------------------------------------

def test_objects_are_stored_read_pinned_to_their_etag_and_deleted(objects):
    objects.put("p/a.gz", b"one", content_type="application/x-ndjson", content_encoding="gzip")
    objects.put("p/b.gz", b"two", content_type="application/x-ndjson")
    objects.put("q/c.gz", b"three", content_type="text/plain")
    head = objects.head("p/a.gz")
    assert head.size == 3 and head.etag
    with objects.open("p/a.gz", etag=head.etag) as stream:
        assert stream.read() == b"one"
    objects.put("p/a.gz", b"replaced", content_type="text/plain")
    with pytest.raises(ObjectChanged):
        objects.open("p/a.gz", etag=head.etag).read()
    assert objects.delete_prefix("p/") == 2
    with pytest.raises(ObjectMissing):  # removed meanwhile (an earlier generation's chunk)
        objects.open("p/b.gz").read()
    objects.delete("q/c.gz")
    objects.delete("q/c.gz")  # twice: nothing happens
    assert objects.delete_prefix("") == 0
    assert "uploads/o/c/i" in objects.presign_put("uploads/o/c/i", 900)


def test_each_upload_is_a_version_read_by_its_id_and_every_version_is_deleted(objects):
    key = "uploads/o/c/i"
    objects.put(key, b"first", content_type="text/csv")
    objects.put(key, b"second!", content_type="text/csv")
    objects.put(key + "2", b"a neighbour", content_type="text/csv")  # another key under the same prefix
    newest, oldest = objects.versions(key)
    assert (newest.size, oldest.size) == (7, 5) and newest.version_id != oldest.version_id
    with objects.open(key, version_id=oldest.version_id, etag=oldest.etag) as stream:
        assert stream.read() == b"first"
    # a range of a split file reads from its start (a ranged GET), pinned alike
    with objects.open(key, version_id=newest.version_id, etag=newest.etag, start=3) as stream:
        assert stream.read() == b"ond!"
    assert objects.delete_versions(key, keep=oldest.version_id) == 1
    assert objects.versions(key) == [oldest]
    with objects.open(key) as stream:
        assert stream.read() == b"first"  # the kept version is the current one again
    objects.delete(key)
    with pytest.raises(ObjectMissing):
        objects.open(key, version_id=oldest.version_id).read()
    assert objects.versions(key) == [] and objects.delete_versions(key) == 0
    assert [v.size for v in objects.versions(key + "2")] == [11]
    objects.put("staging/p/a.gz", b"one", content_type="text/plain")
    objects.put("staging/p/a.gz", b"two", content_type="text/plain")
    assert objects.delete_prefix("staging/p/") == 1
    assert objects.versions("staging/p/a.gz") == []


# --- accounts and imports ---------------------------------------------------------------------------

def test_accounts_are_per_tenant_and_paged(accounts):
    made = [BankAccount(id=f"acc-{n}", bank_id="b", country_code="GBR", account_identifier=str(n)) for n in range(5)]
    for account in made:
        accounts.put(TENANT, account)
    assert accounts.get(TENANT, "acc-3") == made[3]
    with pytest.raises(NotFound):
        accounts.get(OTHER, "acc-3")
    assert _all_pages(lambda cursor: accounts.list_page(TENANT, limit=2, cursor=cursor)) == made


def test_an_identifier_is_claimed_once(accounts):
    assert accounts.claim_identifier(TENANT, "gb33 bukb", "acc-1") == "acc-1"
    assert accounts.claim_identifier(TENANT, "GB33BUKB", "acc-2") == "acc-1"  # spaces and case aside
    assert accounts.claim_identifier(OTHER, "GB33BUKB", "acc-3") == "acc-3"


def _import(status: ImportStatus = ImportStatus.AWAITING_FILE_UPLOAD) -> Import:
    import_id = str(uuid.uuid4())
    return Import(id=import_id, organisation_id=TENANT.organisation_id, company_id=TENANT.company_id,
                  file_format="Tabular3column#v1", s3_key=f"uploads/org/co/{import_id}", status=status)


def test_an_import_is_saved_only_over_the_version_it_was_read_at(imports):
    imp = _import()
    imports.create(imp)
    first, second = imports.get(TENANT, imp.id), imports.get(TENANT, imp.id)
    first.status = ImportStatus.PROCESSING
    assert imports.save(first).version == 1
    second.status = ImportStatus.ERROR
    with pytest.raises(Conflict) as err:
        imports.save(second)
    assert (err.value.code, err.value.target) == ("ConcurrentUpdate", "id") and second.version == 0
    assert imports.get(TENANT, imp.id).status == ImportStatus.PROCESSING
    with pytest.raises(NotFound):
        imports.get(OTHER, imp.id)


def test_imports_list_newest_first_and_filter_by_status(imports):
    made = sorted((_import(ImportStatus.ERROR if n % 2 else ImportStatus.COMPLETE) for n in range(5)),
                  key=lambda i: i.id)
    for imp in made:
        imports.create(imp)
    newest_first = [i.id for i in reversed(made)]
    assert [i.id for i in _all_pages(lambda cursor: imports.list_page(TENANT, limit=2, cursor=cursor))] == newest_first
    errors = _all_pages(lambda cursor: imports.list_page(TENANT, limit=2, cursor=cursor, status=ImportStatus.ERROR))
    assert [i.id for i in errors] == [i.id for i in reversed(made) if i.status == ImportStatus.ERROR]
    # pages are full: read from the status index, not filtered after the limit
    first, cursor = imports.list_page(TENANT, limit=2, status=ImportStatus.COMPLETE)
    assert len(first) == 2 and cursor
    moved = imports.get(TENANT, made[1].id)  # a status change moves the import between the pages
    moved.status = ImportStatus.DELETED
    imports.save(moved)
    assert [i.id for i in imports.list_page(TENANT, limit=5, status=ImportStatus.DELETED)[0]] == [made[1].id]


def test_polls_are_counted_beside_the_import(imports):
    imp = _import()
    imports.create(imp)
    first = imports.poll(imp)
    second = imports.poll(imp)
    assert (first.attempts, second.attempts) == (1, 2)
    assert first.first_attempt == second.first_attempt and second.last_attempt >= first.last_attempt
    assert imports.get(TENANT, imp.id).version == 0  # a poll is no change of the import
    assert imports.monitors(TENANT, [imp.id, "never-polled"]) == {imp.id: second}


def test_decisions_and_replay_digests(imports):
    imp = _import(ImportStatus.AWAITING_CONFIRMATION)
    imp.generation = 1
    imports.create(imp)
    imports.put_decision(imp, "tx-1", "skip")
    imports.put_decision(imp, "tx-2", "import")
    imports.put_decision(imp, "tx-1", "import")
    assert imports.decisions(imp) == {"tx-1": "import", "tx-2": "import"}
    # decisions belong to a generation: a new one starts with none, and each can be forgotten alone
    second = imports.get(TENANT, imp.id)
    second.generation = 2
    imports.save(second)
    imports.put_decision(second, "tx-1", "skip")
    assert imports.decisions(second) == {"tx-1": "skip"}
    assert imports.decisions(imp) == {"tx-1": "import", "tx-2": "import"}
    imports.delete_decisions(second, generation=1)
    assert imports.decisions(imp) == {} and imports.decisions(second) == {"tx-1": "skip"}
    imports.delete_decisions(second)
    assert imports.decisions(second) == {}
    imports.put_replay(TENANT, "acc", "digest", imp.id, None)
    assert imports.replay_of(TENANT, "acc", "digest") == imp.id and imports.replay_of(OTHER, "acc", "digest") is None
    imports.delete_replay(TENANT, "acc", "digest", "another-import")
    assert imports.replay_of(TENANT, "acc", "digest") == imp.id
    imports.delete_replay(TENANT, "acc", "digest", imp.id)
    assert imports.replay_of(TENANT, "acc", "digest") is None


def test_processing_presets_decisions_of_its_generation_before_review(imports):
    imp = _import(ImportStatus.PROCESSING)
    imp.generation = 2
    imports.create(imp)
    imports.preset_decisions(imp, {"tx-1": "skip", "tx-2": "skip"})
    assert imports.decisions(imp) == {"tx-1": "skip", "tx-2": "skip"}
    assert imports.decisions(imp.model_copy(update={"generation": 3})) == {}
    ready = imports.get(TENANT, imp.id)
    ready.status = ImportStatus.AWAITING_CONFIRMATION
    imports.save(ready)
    imports.put_decision(ready, "tx-1", "import")  # the review may change what processing preset
    assert imports.decisions(ready) == {"tx-1": "import", "tx-2": "skip"}


def test_a_decision_lands_only_while_its_generation_awaits_confirmation(imports):
    imp = _import(ImportStatus.AWAITING_CONFIRMATION)
    imp.generation = 3
    imports.create(imp)
    stale = imp.model_copy(update={"generation": 2})
    with pytest.raises(Conflict) as old_generation:
        imports.put_decision(stale, "tx-1", "skip")
    assert old_generation.value.code == "InvalidImportStatus"
    confirmed = imports.get(TENANT, imp.id)
    confirmed.status = ImportStatus.FINAL_PROCESSING
    imports.save(confirmed)
    with pytest.raises(Conflict):
        imports.put_decision(imp, "tx-1", "skip")
    assert imports.decisions(imp) == {}


def test_locks_are_reentrant_and_the_queue_is_oldest_first(locks):
    assert locks.acquire(TENANT, "acc", "imp-1") and locks.acquire(TENANT, "acc", "imp-1")
    assert not locks.acquire(TENANT, "acc", "imp-2") and locks.acquire(OTHER, "acc", "imp-2")
    assert locks.holder(TENANT, "acc") == "imp-1"
    assert not locks.release(TENANT, "acc", "imp-2") and locks.release(TENANT, "acc", "imp-1")
    assert locks.holder(TENANT, "acc") is None
    locks.enqueue(TENANT, "acc", "2024-01-02T00:00:00", "imp-3", "token-3")
    locks.enqueue(TENANT, "acc", "2024-01-01T00:00:00", "imp-2", "token-2")
    locks.enqueue(TENANT, "acc2", "2024-01-01T00:00:00", "imp-9", "token-9")
    waiting = locks.waiting(TENANT, "acc")
    assert [(w.import_id, w.task_token) for w in waiting] == [("imp-2", "token-2"), ("imp-3", "token-3")]
    assert locks.dequeue(TENANT, "acc", waiting[0].sk) and not locks.dequeue(TENANT, "acc", waiting[0].sk)
    locks.remove_import(TENANT, "acc", "imp-3")
    assert locks.waiting(TENANT, "acc") == [] and len(locks.waiting(TENANT, "acc2")) == 1


def test_a_lease_holds_until_it_runs_out_and_is_renewed_by_its_holder(locks):
    import time
    now = int(time.time())
    assert locks.acquire(TENANT, "acc-l", "session#s1", until=now + 60)
    assert not locks.acquire(TENANT, "acc-l", "imp-1") and locks.holder(TENANT, "acc-l") == "session#s1"
    assert locks.acquire(TENANT, "acc-l", "session#s1", until=now - 5)  # renewed, here into the past
    assert locks.holder(TENANT, "acc-l") is None  # ran out: free
    assert locks.acquire(TENANT, "acc-l", "imp-1") and locks.holder(TENANT, "acc-l") == "imp-1"
    assert not locks.acquire(TENANT, "acc-l", "session#s1", until=now + 60)  # an import's hold has no lease
    assert not locks.release(TENANT, "acc-l", "session#s1") and locks.release(TENANT, "acc-l", "imp-1")


# --- the ledger -------------------------------------------------------------------------------------

def _line(n: int, day: int, import_id: str = "imp-1", account: str = "acc") -> LedgerLine:
    return LedgerLine(transaction_id=f"{day:02d}-tx-{n:03d}", bank_account_id=account, amount=Decimal(n) / 4,
                      date_posted=date(2024, 1, day), description=f"line {n}", currency="EUR",
                      balance=Decimal("10.50") if n == 1 else None, line_number=n, import_id=import_id,
                      committed=utcnow().replace(microsecond=123000))


def test_ledger_lines_are_written_idempotently_and_read_by_day(ledger):
    lines = [_line(n, 1 + n % 3) for n in range(9)]
    assert ledger.write(TENANT, lines) == 9
    assert ledger.write(TENANT, lines[:2]) == 2
    assert list(ledger.days(TENANT, "acc")) == [date(2024, 1, 3), date(2024, 1, 2), date(2024, 1, 1)]
    assert list(ledger.days(TENANT, "acc", newest_first=False, start_after=date(2024, 1, 1))) == [
        date(2024, 1, 2), date(2024, 1, 3)]
    day_one = ledger.day_lines(TENANT, "acc", date(2024, 1, 1))
    assert day_one == sorted((line for line in lines if line.date_posted.day == 1), key=lambda x: x.transaction_id)
    assert ledger.day_lines(OTHER, "acc", date(2024, 1, 1)) == []


def test_staged_chunk_lines_are_written_as_the_lines_they_stage(ledger):
    from tximport.models import StagedRow
    from tximport.storage.staging import encode_row

    rows = [StagedRow(transaction_id=f"st-{n}", bank_account_id="acc", amount=Decimal(n) / 4 - 1, currency="EUR",
                      date_posted=date(2024, 2, 1 + n % 2), description=f"staged {n}", line_number=n + 2,
                      balance=Decimal("1.50") if n else None, reference="r" if n == 2 else None,
                      pending=n == 1, reversal=n == 3, reversal_of="st-0" if n == 3 else None) for n in range(4)]
    committed = utcnow().replace(microsecond=123000)
    assert ledger.write_staged(TENANT, [encode_row(r) for r in rows], import_id="imp-7", committed=committed) == 4
    assert [p.transaction_id for p in ledger.open_pending(TENANT, "acc")] == ["st-1"]
    expected = [LedgerLine.confirmed(r, import_id="imp-7", committed=committed) for r in rows]
    got = ledger.day_lines(TENANT, "acc", date(2024, 2, 1)) + ledger.day_lines(TENANT, "acc", date(2024, 2, 2))
    assert sorted(got, key=lambda x: x.transaction_id) == sorted(expected, key=lambda x: x.transaction_id)
    assert date(2024, 2, 2) in list(ledger.days(TENANT, "acc"))


def test_the_balances_of_staged_lines_are_the_days_sums_once_their_days_are_recomputed(ledger):
    from tximport.models import StagedRow
    from tximport.storage.staging import encode_row

    rows = [StagedRow(transaction_id=f"sb-{n}", bank_account_id=f"acc-{n % 2}", amount=Decimal(n * 37 - 400) / 100,
                      currency="EUR", date_posted=date(2024, 3, 1 + n % 7), description=f"staged {n}",
                      line_number=n + 2, pending=n % 5 == 4) for n in range(40)]
    staged = [encode_row(r) for r in rows]
    ledger.write_staged(TENANT, staged[:25], import_id="imp-8", committed=utcnow())
    ledger.write_staged(TENANT, staged[15:], import_id="imp-8", committed=utcnow())  # a retried chunk overlaps
    ledger.refresh_totals(TENANT, {(r.bank_account_id, r.date_posted) for r in rows}, workers=4)
    ledger.refresh_totals(TENANT, [(r.bank_account_id, r.date_posted) for r in rows[:9]], workers=4)  # a retry
    for account in ("acc-0", "acc-1"):
        booked = [r for r in rows if r.bank_account_id == account and not r.pending]
        expected = sorted({(r.date_posted, sum((x.amount for x in booked if x.date_posted == r.date_posted),
                                               Decimal(0))) for r in booked})
        assert ledger.day_totals(TENANT, account, None, None) == expected


def test_a_staged_line_of_another_currency_is_kept_and_left_out_of_the_balances(ledger):
    from dataclasses import replace

    from tximport.models import StagedRow
    from tximport.storage.staging import encode_row

    rows = [StagedRow(transaction_id=f"fx-{n}", bank_account_id="acc-fx", amount=Decimal(10 + n),
                      currency="EUR" if n == 1 else "USD", date_posted=date(2024, 4, 1), description=f"fx {n}",
                      line_number=n + 2) for n in range(3)]
    staged = [encode_row(r) for r in rows]
    staged[1] = {**staged[1], "foreignCurrency": True}  # as the commit marks it for a USD account
    committed = utcnow().replace(microsecond=0)
    ledger.write_staged(TENANT, staged, import_id="imp-fx", committed=committed)
    ledger.refresh_totals(TENANT, {("acc-fx", date(2024, 4, 1))})
    assert ledger.day_totals(TENANT, "acc-fx", None, None) == [(date(2024, 4, 1), Decimal(22))]
    (foreign,) = [line for line in ledger.day_lines(TENANT, "acc-fx", date(2024, 4, 1)) if line.foreign_currency]
    assert foreign == replace(LedgerLine.confirmed(rows[1], import_id="imp-fx", committed=committed),
                              foreign_currency=True)
    assert ledger.sum_later_in_day(TENANT, "acc-fx", date(2024, 4, 1), "fx-0") == Decimal(12)


def test_the_tenants_ledger_pages_across_accounts_newest_day_first(ledger):
    lines = [_line(n, 1 + n % 4, account=f"acc-{n % 3}", import_id=f"imp-{n % 2}") for n in range(24)]
    ledger.write(TENANT, lines)
    accounts = ["acc-0", "acc-1", "acc-2"]
    expected = sorted(lines, key=lambda line: (-line.date_posted.toordinal(), line.bank_account_id,
                                               [-ord(ch) for ch in line.transaction_id]))
    for size in (1, 5, 24, 100):
        paged = _all_pages(lambda cursor, size=size: ledger.tenant_page(TENANT, accounts, limit=size, cursor=cursor))
        assert [line.transaction_id for line in paged] == [line.transaction_id for line in expected], size
    ranged = _all_pages(lambda cursor: ledger.tenant_page(TENANT, ["acc-1", "acc-2"], start=date(2024, 1, 2),
                                                          end=date(2024, 1, 3), import_id="imp-1", limit=2,
                                                          cursor=cursor))
    assert [line.transaction_id for line in ranged] == [
        line.transaction_id for line in expected if line.bank_account_id != "acc-0" and line.import_id == "imp-1"
        and 2 <= line.date_posted.day <= 3]
    assert ledger.tenant_page(OTHER, accounts, limit=10) == ([], None)


def test_a_new_line_is_written_once_and_never_over_one_there(ledger):
    first, second = _line(1, 5), _line(2, 5)
    assert ledger.write_new(TENANT, [first]) == {first.transaction_id}
    changed = dataclasses.replace(first, description="written over")
    assert ledger.write_new(TENANT, [changed, second]) == {second.transaction_id}
    assert sorted(ledger.day_lines(TENANT, "acc", date(2024, 1, 5)), key=lambda x: x.transaction_id) == sorted(
        [first, second], key=lambda x: x.transaction_id)


def test_a_reference_is_claimed_once_and_follows_its_line(ledger):
    line = _line(1, 5)
    ref = ("acc", date(2024, 1, 5), line.transaction_id)
    assert ledger.claim_ref(TENANT, "acc", "bank-1", ref) == (ref, True)
    assert ledger.claim_ref(TENANT, "acc", "bank-1", ("acc", date(2024, 1, 6), "other")) == (ref, False)
    ledger.write(TENANT, [line])
    assert ledger.lines_at(TENANT, [ref]) == {("acc", line.transaction_id): line}
    moved = dataclasses.replace(line, date_posted=date(2024, 1, 7))
    ledger.replace(TENANT, ref, moved, "bank-1")
    assert ledger.refs(TENANT, [("acc", "bank-1"), ("acc", "bank-2")]) == {
        ("acc", "bank-1"): ("acc", date(2024, 1, 7), line.transaction_id)}
    assert ledger.day_lines(TENANT, "acc", date(2024, 1, 5)) == []
    assert ledger.day_lines(TENANT, "acc", date(2024, 1, 7)) == [moved]
    with pytest.raises(LineChanged):  # a second move from where the line was: it went meanwhile
        ledger.replace(TENANT, ref, dataclasses.replace(line, date_posted=date(2024, 1, 9)), "bank-1")
    assert ledger.day_lines(TENANT, "acc", date(2024, 1, 9)) == []
    assert ledger.refs(TENANT, [("acc", "bank-1")])[("acc", "bank-1")][1] == date(2024, 1, 7)


def test_a_day_whose_lines_all_went_is_no_longer_listed(ledger, monkeypatch):
    """After a revert empties days, listing the ledger newest first walks only days with lines (on DynamoDB a day
    indexed in the last minute keeps its index item: its writer may still be writing the lines)."""
    import tximport.storage.ledger as module

    lines = [_line(n, 1 + n % 3) for n in range(1, 10)]  # days 1..3
    hour_ago = time.time() - 3600
    monkeypatch.setattr(module.time, "time", lambda: hour_ago)
    ledger.write(TENANT, lines)
    monkeypatch.undo()
    ledger.delete_many_if_from_import(TENANT, [x for x in lines if x.date_posted.day == 2], "imp-1", workers=2)
    assert list(ledger.days(TENANT, "acc")) == [date(2024, 1, 3), date(2024, 1, 1)]
    ledger.write(TENANT, [x for x in lines if x.date_posted.day == 2][:1])  # a day written again is listed again
    assert list(ledger.days(TENANT, "acc")) == [date(2024, 1, 3), date(2024, 1, 2), date(2024, 1, 1)]


def test_a_claimed_line_is_written_only_where_its_reference_still_points_and_only_once(ledger):
    """The claim's first write can come after a resend placed the line and moved it (the resend found no line
    and wrote it where the reference pointed): the late write must not bring it back on its first day."""
    lines = [_line(n, 5) for n in (1, 2, 3)]
    for n, line in enumerate(lines, 1):
        ledger.claim_ref(TENANT, "acc", f"bank-{n}", ("acc", line.date_posted, line.transaction_id))
    assert ledger.write_claimed(TENANT, [(lines[0], "bank-1")]) == {lines[0].transaction_id}
    ledger.replace(TENANT, ("acc", date(2024, 1, 5), lines[0].transaction_id),
                   dataclasses.replace(lines[0], date_posted=date(2024, 1, 7)), "bank-1")  # a resend moved it
    # the late first write of line 1 (already placed and moved) and of line 3 (where bank-2's claim points:
    # not its reference), beside line 2's own
    assert ledger.write_claimed(TENANT, [(lines[0], "bank-1"), (lines[1], "bank-2"), (lines[2], "bank-2")]) == {
        lines[1].transaction_id}
    assert ledger.write_claimed(TENANT, [(lines[1], "bank-2")]) == set()  # there already
    assert ledger.day_lines(TENANT, "acc", date(2024, 1, 5)) == [lines[1]]
    assert [x.transaction_id for x in ledger.day_lines(TENANT, "acc", date(2024, 1, 7))] == [lines[0].transaction_id]
    assert [d for d, _ in ledger.day_totals(TENANT, "acc", None, None)] == [date(2024, 1, 5), date(2024, 1, 7)]


def test_a_replace_keeps_a_reconciliation_mark_and_never_moves_a_held_line(ledger):
    """A resend's correction writes the line only as it was read: a mark set meanwhile, or a held line moving to
    another day, is LineChanged and nothing changes."""
    line = _line(1, 5)
    ref = ("acc", date(2024, 1, 5), line.transaction_id)
    ledger.claim_ref(TENANT, "acc", "bank-1", ref)
    ledger.write(TENANT, [line])
    read = ledger.lines_at(TENANT, [ref])[("acc", line.transaction_id)]
    ledger.mark(TENANT, [LineMark("acc", "2024-01-05", line.transaction_id, "rec-1", "e-0", "MATCHED")])
    with pytest.raises(LineChanged):  # marked after it was read: neither moved nor rewritten without its mark
        ledger.replace(TENANT, ref, dataclasses.replace(read, date_posted=date(2024, 1, 7)), "bank-1")
    with pytest.raises(LineChanged):
        ledger.replace(TENANT, ref, dataclasses.replace(read, value_date=date(2024, 1, 4)), "bank-1")
    held = ledger.lines_at(TENANT, [ref])[("acc", line.transaction_id)]
    assert held.reconciliation == ReconciliationMark("rec-1", "e-0", "MATCHED") and held.value_date is None
    with pytest.raises(LineChanged):  # read with its mark, it still keeps its day
        ledger.replace(TENANT, ref, dataclasses.replace(held, date_posted=date(2024, 1, 7)), "bank-1")
    ledger.replace(TENANT, ref, dataclasses.replace(held, value_date=date(2024, 1, 4)), "bank-1")
    (kept,) = ledger.day_lines(TENANT, "acc", date(2024, 1, 5))
    assert (kept.value_date, kept.reconciliation) == (date(2024, 1, 4), held.reconciliation)
    assert ledger.day_lines(TENANT, "acc", date(2024, 1, 7)) == []
    assert ledger.refs(TENANT, [("acc", "bank-1")]) == {("acc", "bank-1"): ref}


def test_the_ledger_pages_newest_first_without_gaps(ledger):
    lines = [_line(n, 1 + n % 4) for n in range(11)]
    ledger.write(TENANT, lines)
    read = _all_pages(lambda cursor: ledger.list_page(TENANT, "acc", limit=3, cursor=cursor))
    assert read == sorted(lines, key=lambda x: (x.date_posted, x.transaction_id), reverse=True)


@pytest.mark.parametrize("fail_at", [1, 2, 3, 5])
def test_a_write_that_stops_part_way_leaves_every_written_line_listed(aws, fail_at: int):
    """Issue 13, item 5: a commit that stopped after some batches left lines without their day index item,
    invisible to GET transactions (the index items were written after every line)."""

    class Stops:
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(aws["dynamodb"], name)

        def batch_write_item(self, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == fail_at:
                raise RuntimeError("the process died here")
            return aws["dynamodb"].batch_write_item(**kwargs)

    stopping = LedgerRepository(aws["tables"]["ledger"], Stops())
    lines = [_line(n, 1 + n // 20) for n in range(80)]  # 4 days, several batches
    with pytest.raises(RuntimeError):
        stopping.write(TENANT, lines)
    reader = LedgerRepository(aws["tables"]["ledger"], aws["dynamodb"])
    stored = {item["transactionId"] for item in aws["tables"]["ledger"].scan()["Items"] if "transactionId" in item}
    pages = _all_pages(lambda cursor: reader.list_page(TENANT, "acc", limit=7, cursor=cursor))
    listed = {x.transaction_id for x in pages}
    assert listed == stored
    assert reader.write(TENANT, lines) == 80  # the retry finishes it
    assert len(_all_pages(lambda cursor: reader.list_page(TENANT, "acc", limit=50, cursor=cursor))) == 80


def test_the_ledger_says_which_lines_exist_and_removes_only_an_imports_own(ledger):
    mine, theirs = [_line(n, 1) for n in range(4)], [_line(n, 2, "imp-2") for n in range(4, 6)]
    ledger.write(TENANT, mine + theirs)
    refs = [(x.bank_account_id, x.date_posted, x.transaction_id) for x in [*mine, *theirs, _line(99, 1)]]
    assert ledger.existing(TENANT, refs) == {(x.bank_account_id, x.transaction_id) for x in mine + theirs}
    assert ledger.delete_many_if_from_import(TENANT, mine + theirs, "imp-1", workers=2) == (4, True)
    assert ledger.delete_many_if_from_import(TENANT, mine, "imp-1", workers=2) == (0, True)
    remaining = _all_pages(lambda cursor: ledger.list_page(TENANT, "acc", limit=10, cursor=cursor))
    assert [x.transaction_id for x in remaining] == sorted((x.transaction_id for x in theirs), reverse=True)
    stopped = ledger.delete_many_if_from_import(TENANT, theirs, "imp-2", stop=lambda: True)
    assert stopped == (0, False)


def test_ledger_lines_carry_one_reconciliation_mark_at_most(ledger):
    lines = [_line(n, 1) for n in range(3)]
    ledger.write(TENANT, lines)
    refs = [(x.bank_account_id, x.date_posted, x.transaction_id) for x in lines]
    day = lines[0].date_posted.isoformat()

    def mark(n: int, entry: str, recon: str = "rec-1", replaces: str | None = None) -> LineMark:
        return LineMark("acc", day, lines[n].transaction_id, recon, entry, "MATCHED", replaces=replaces)

    gone = LineMark("acc", day, "01-tx-999", "rec-1", "e-9", "MATCHED")
    assert ledger.mark(TENANT, [mark(0, "e-0"), mark(1, "e-1"), gone], workers=2) == [gone]
    assert ledger.mark(TENANT, [mark(0, "e-0")]) == []  # the same entry again: nothing refused
    assert ledger.mark(TENANT, [mark(0, "e-5", "rec-2")]) == [mark(0, "e-5", "rec-2")]  # held by another entry
    assert ledger.mark(TENANT, [mark(1, "e-5", "rec-2", replaces="rec-1")]) == []  # a FAILED holder gives way
    found = {x.transaction_id: x.reconciliation for x in ledger.get_lines(TENANT, [*refs, ("acc", date(2024, 1, 1),
                                                                                          "01-tx-999")])}
    assert found == {lines[0].transaction_id: ReconciliationMark("rec-1", "e-0", "MATCHED"),
                     lines[1].transaction_id: ReconciliationMark("rec-2", "e-5", "MATCHED"),
                     lines[2].transaction_id: None}
    assert ledger.get_lines(OTHER, refs) == []
    ledger.unmark(TENANT, [mark(0, "e-7"), mark(1, "e-5", "rec-2")])  # e-7 holds nothing: left alone
    assert [x.reconciliation for x in ledger.get_lines(TENANT, refs[:2])] == [
        ReconciliationMark("rec-1", "e-0", "MATCHED"), None]
    assert [x.reconciliation for x in ledger.day_lines(TENANT, "acc", date(2024, 1, 1))][:1] == [
        ReconciliationMark("rec-1", "e-0", "MATCHED")]


def test_a_bulk_delete_keeps_the_lines_a_reconciliation_holds_and_names_it(ledger):
    """A revert never removes a matched line behind its reconciliation's back: the delete is conditional on
    the mark, the held lines are counted by reconciliation; a released (FAILED) reconciliation holds none."""
    lines = [_line(n, 1) for n in range(5)]
    ledger.write(TENANT, lines)
    day = lines[0].date_posted.isoformat()
    marks = [LineMark("acc", day, lines[n].transaction_id, rec, f"e-{n}", "MATCHED")
             for n, rec in ((0, "rec-1"), (1, "rec-1"), (2, "rec-2"), (3, "rec-old"))]
    assert ledger.mark(TENANT, marks) == []
    with pytest.raises(LinesHeld) as held:
        ledger.delete_many_if_from_import(TENANT, lines, "imp-1", workers=2, released=frozenset({"rec-old"}))
    assert (held.value.removed, held.value.holders) == (2, {"rec-1": 2, "rec-2": 1})
    kept = ledger.get_lines(TENANT, [(x.bank_account_id, x.date_posted, x.transaction_id) for x in lines])
    assert sorted(x.transaction_id for x in kept) == sorted(x.transaction_id for x in lines[:3])
    with pytest.raises(LinesHeld):  # another import's delete says nothing of lines it did not write
        ledger.delete_many_if_from_import(TENANT, lines, "imp-1", workers=2)
    assert ledger.delete_many_if_from_import(TENANT, lines, "imp-2", workers=2) == (0, True)


# --- reconciliations --------------------------------------------------------------------------------

@pytest.fixture(params=["moto", "fake"])
def reconciliations(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """A reconciliations repository and the ledger its manual changes mark."""
    if request.param == "fake":
        fake_ledger = InMemoryLedger()
        return InMemoryReconciliations(fake_ledger), fake_ledger
    aws = request.getfixturevalue("aws")
    real_ledger = LedgerRepository(aws["tables"]["ledger"], aws["dynamodb"])
    return DynamoReconciliations(aws["tables"]["imports"], aws["dynamodb"], real_ledger), real_ledger


def _reconciliation(start: int, end: int, account: str = "acc") -> Reconciliation:
    rec_id = new_id()
    return Reconciliation(id=rec_id, organisation_id=TENANT.organisation_id, company_id=TENANT.company_id,
                          account_id=account, period_start=date(2024, 1, start), period_end=date(2024, 1, end),
                          source=Source.API_IMPORT, entries_key=f"reconciliations/org/co/{rec_id}/")


def test_reconciliations_claim_their_days_and_save_over_their_version(reconciliations):
    store, _ = reconciliations
    first, second = _reconciliation(1, 10), _reconciliation(11, 20)
    store.create(first)
    store.create(second)  # adjacent: no day in common
    with pytest.raises(Clash) as clash:
        store.create(_reconciliation(10, 12))
    assert clash.value.details["conflictingReconciliationId"] in (first.id, second.id)
    store.create(_reconciliation(5, 6, account="acc-2"))  # another account
    assert [r.id for r in store.list_all(TENANT)][1:] == [second.id, first.id] and store.list_all(OTHER) == []
    store.release_days(first)
    store.create(_reconciliation(1, 3))
    read, stale = store.get(TENANT, second.id), store.get(TENANT, second.id)
    read.status = ReconciliationStatus.PROCESSING
    assert store.save(read).version == 1
    with pytest.raises(Clash):
        store.save(stale)
    assert store.get(TENANT, second.id).status == ReconciliationStatus.PROCESSING
    assert store.get(OTHER, second.id) is None


def test_a_manual_change_and_its_ledger_marks_are_one_transaction(reconciliations):
    store, ledger = reconciliations
    lines = [_line(n, 2) for n in range(2)]
    ledger.write(TENANT, lines)
    rec = _reconciliation(1, 31)
    store.create(rec)
    rec = store.get(TENANT, rec.id)
    day = "2024-01-02"
    record = EntryRecord(index=0, type=Direction.DEBIT, amount=Decimal("1.00"), description="x",
                         transaction_date=date(2024, 1, 2), status=MatchStatus.MANUAL, line=lines[0].transaction_id)
    override = Override(index=0, status=MatchStatus.MANUAL, line=lines[0].transaction_id, statement_day=day,
                        base_status=MatchStatus.UNMATCHED)
    mark = LineMark("acc", day, lines[0].transaction_id, rec.id, "e-0", "MANUAL")
    store.apply_manual(rec, override, record, mark=mark, unmark=None)
    assert rec.version == 1 and store.override(rec, 0) == (override, record)
    assert ledger.get_lines(TENANT, [("acc", date(2024, 1, 2), lines[0].transaction_id)])[0].reconciliation == \
        ReconciliationMark(rec.id, "e-0", "MANUAL")
    # another entry may not take the line: nothing of the change is kept
    other = override.model_copy(update={"index": 1})
    with pytest.raises(Clash):
        store.apply_manual(rec, other, record.model_copy(update={"index": 1}), unmark=None,
                           mark=LineMark("acc", day, lines[0].transaction_id, rec.id, "e-1", "MANUAL"))
    assert store.get(TENANT, rec.id).version == 1 and store.override(rec, 1) is None
    # a stale version loses too
    stale = rec.model_copy(update={"version": 0})
    with pytest.raises(Clash):
        store.apply_manual(stale, other, record, mark=None, unmark=None)
    assert list(store.overrides(rec)) == [0]
    store.put_overrides(rec, [(other, record.model_copy(update={"index": 1}))])
    assert list(store.overrides(rec)) == [0, 1]


def test_a_reconciliation_is_deleted_with_its_overrides_only_if_unchanged(reconciliations):
    store, _ = reconciliations
    rec, other = _reconciliation(1, 10), _reconciliation(11, 20)
    store.create(rec)
    store.create(other)
    record = EntryRecord(index=0, type=Direction.DEBIT, amount=Decimal("1.00"), description="x",
                         transaction_date=date(2024, 1, 2))
    override = Override(index=0, status=MatchStatus.UNMATCHED, base_status=MatchStatus.MATCHED)
    store.put_overrides(rec, [(override, record)])
    store.put_overrides(other, [(override, record)])
    stale = store.get(TENANT, rec.id)
    store.save(store.get(TENANT, rec.id))
    with pytest.raises(Clash):  # changed since read: nothing goes
        store.delete(stale)
    assert store.get(TENANT, rec.id) is not None and list(store.overrides(rec)) == [0]
    store.delete(store.get(TENANT, rec.id))
    assert store.get(TENANT, rec.id) is None and store.overrides(rec) == {}
    assert store.get(TENANT, other.id) is not None and list(store.overrides(other)) == [0]  # another is untouched
    with pytest.raises(Clash):  # gone
        store.delete(rec)


# --- the workflow engine ----------------------------------------------------------------------------

_MACHINE = '{"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 5, "End": true}}}'


@pytest.fixture(params=["moto", "fake"])
def engine(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeWorkflow()
    sfn = request.getfixturevalue("aws")["sfn"]
    arn = sfn.create_state_machine(name="m", definition=_MACHINE,
                                   roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
    return StepFunctionsEngine(sfn, arn)


def test_an_execution_starts_once_per_name_and_an_unknown_token_no_longer_waits(engine):
    arn = engine.start("import-1", {"importId": "import-1"})
    assert arn and arn.endswith("import-1")
    assert engine.start("import-1", {"importId": "import-1"}) == arn  # the same request again: the same execution
    assert engine.start("import-1", {"importId": "import-1", "more": 1}) is None
    assert engine.resume("a-token-nobody-parked", {"action": "confirm"}) is False


# --- import sessions: the sessions table's store and the ledger's session lines ---------------------

store = both(lambda aws: DynamoStore(aws["dynamodb"], "sessions"), MemoryStore)


def test_the_store_honours_its_conditions_and_pages_by_sort_key(store):
    store.write(Put({"pk": "p", "sk": "A#1", "version": 0}, if_absent=True))
    with pytest.raises(ConditionFailed):
        store.write(Put({"pk": "p", "sk": "A#1", "version": 0}, if_absent=True))
    with pytest.raises(ConditionFailed):
        store.write(Put({"pk": "p", "sk": "A#1", "version": 1}, if_version=5))
    item = store.write(Update(("p", "A#1"), add={"total": 2, "sum": Decimal("1.10")}, set={"name": "x"}))
    assert (item["total"], item["sum"], item["name"]) == (2, Decimal("1.10"), "x")
    with pytest.raises(ConditionFailed):
        store.write(Update(("p", "missing"), add={"total": 1}))
    store.write(Update(("p", "upsert"), add={"count": 1}, must_exist=False))
    store.write(Update(("p", "A#1"), set={"lock_owner": "me", "lock_until": 2**40}))
    with pytest.raises(ConditionFailed) as failed:
        store.transact([Put({"pk": "p", "sk": "A#2"}), Update(("p", "A#1"), add={"total": 1}, unlocked_for="other")])
    assert failed.value.indexes == [1] and store.get(("p", "A#2")) is None
    store.transact([Put({"pk": "p", "sk": "A#2"}), Update(("p", "A#1"), add={"total": 1}, locked_by="me")])
    assert store.get(("p", "A#1"))["total"] == 3
    with pytest.raises(ConditionFailed):  # a counter past its limit
        store.transact([Put({"pk": "p", "sk": "A#3"}), Update(("p", "A#1"), add={"total": 1}, at_most={"total": 2})])
    assert store.get(("p", "A#3")) is None
    store.write(Update(("p", "A#1"), add={"total": 1, "fresh": 1}, at_most={"total": 3, "fresh": 0}))
    assert store.get(("p", "A#1"))["total"] == 4
    store.put_many([{"pk": "p", "sk": f"B#{n}", "n": n} for n in range(5)])
    page, last = store.query("p", prefix="B#", limit=2)
    assert [i["n"] for i in page] == [0, 1] and last == "B#1"
    rest, end = store.query("p", prefix="B#", after=last, fields=["sk"])
    assert [i["sk"] for i in rest] == ["B#2", "B#3", "B#4"] and end is None and "n" not in rest[0]
    between, _ = store.query("p", prefix="B#1", until="B#3")
    assert [i["n"] for i in between] == [1, 2, 3]
    assert [i["sk"] for i in store.get_many([("p", "B#4"), ("p", "none"), ("p", "A#2")])] in (
        ["B#4", "A#2"], ["A#2", "B#4"])
    store.delete_many([("p", f"B#{n}") for n in range(5)])
    with pytest.raises(ConditionFailed):
        store.write(Delete(("p", "B#0"), if_exists=True))
    assert store.query("p", prefix="B#")[0] == []


def test_an_invoice_changes_on_its_version_and_a_commit_holds_it_against_a_close(store):
    catalog = CatalogRepository(store)
    catalog.put(TENANT, "ws", Invoice(card_id="card", billing_month="2024-03"), create=True)  # no version yet
    read = catalog.get_invoice(TENANT, "ws", "card", "2024-03")
    assert read is not None and read.version == 0
    # Given a commit holds it, a close cannot pay it, and another commit cannot hold it
    catalog.hold_invoice(TENANT, "ws", read, "commit-1")
    catalog.hold_invoice(TENANT, "ws", read, "commit-1")  # renewed
    paying = read.model_copy(update={"status": InvoiceStatus.PAID})
    with pytest.raises(ConditionFailed):
        catalog.set_invoice(TENANT, "ws", paying)
    with pytest.raises(ConditionFailed):
        catalog.hold_invoice(TENANT, "ws", read, "commit-2")
    # When it is released, the close pays it, and a commit that read it OPEN can no longer hold it
    catalog.release_invoice(TENANT, "ws", read, "commit-1")
    catalog.set_invoice(TENANT, "ws", paying)
    assert paying.version == 1
    with pytest.raises(ConditionFailed):
        catalog.hold_invoice(TENANT, "ws", read, "commit-2")
    with pytest.raises(ConditionFailed):  # a second close on the old version
        catalog.set_invoice(TENANT, "ws", read.model_copy(update={"status": InvoiceStatus.CLOSED}))
    fresh = catalog.get_invoice(TENANT, "ws", "card", "2024-03")
    assert fresh is not None and (fresh.status, fresh.version) == (InvoiceStatus.PAID, 1)


def _session_line(n: int, day: int, account: str, status: TransactionStatus, **entry: Any) -> LedgerLine:
    kind = entry.pop("type", StagedTransactionType.EXPENSE)
    return LedgerLine(
        transaction_id=f"s-{n}", bank_account_id=account, amount=Decimal(-n), date_posted=date(2024, 3, day),
        description=f"session line {n}", import_id="", committed=utcnow().replace(microsecond=0),
        session=SessionLedgerEntry(type=kind, status=status, workspace_id="ws", session_id="s",
                                   staged_transaction_id=f"st-{n}", tag_ids=["t"], **entry))


def test_session_lines_sum_by_type_and_invoice_and_close_pays_only_validating_lines(ledger):
    v, i = TransactionStatus.VALIDATING, TransactionStatus.IGNORE
    ledger.write(TENANT, [_line(1, 2, account="acc"), _line(2, 20, account="acc"),  # a file import: + income
                          _session_line(3, 5, "acc", v), _session_line(4, 25, "acc", i),
                          _session_line(5, 6, "card", v, type=StagedTransactionType.CARD_EXPENSE,
                                        billing_month="2024-03", card_id="card"),
                          _session_line(6, 7, "card", v, type=StagedTransactionType.CARD_EXPENSE,
                                        billing_month="2024-04", card_id="card")])
    assert sum(t for _, t in ledger.day_totals(TENANT, "acc", None, date(2024, 1, 10))) == Decimal("0.25")
    # the line committed IGNORE (the 25th's) counts in no balance
    assert ledger.day_totals(TENANT, "acc", date(2024, 2, 29), date(2024, 3, 31)) == [(date(2024, 3, 5), Decimal(-3))]
    days = [date(2024, 3, 25), date(2024, 3, 5), date(2024, 3, 6)]  # in parallel, as one by one
    assert ledger.days_lines(TENANT, "acc", days) == {day: ledger.day_lines(TENANT, "acc", day) for day in days}
    assert ledger.invoice_sums(TENANT, "card", "2024-03").card_expense == Decimal(5)
    assert ledger.mark_paid(TENANT, "acc", "", "2024-03-31") == 1
    assert ledger.mark_paid(TENANT, "acc", "", "2024-03-31") == 0
    assert ledger.mark_paid(TENANT, "card", "2024-04", "2024-04") == 1
    statuses = {line.transaction_id: line.session.status for day in (5, 6, 7, 25)
                for account in ("acc", "card") for line in ledger.day_lines(TENANT, account, date(2024, 3, day))}
    assert statuses == {"s-3": TransactionStatus.PAID, "s-4": i, "s-5": v, "s-6": TransactionStatus.PAID}
    (read,) = ledger.day_lines(TENANT, "acc", date(2024, 3, 5))
    assert read.session.tag_ids == ["t"] and read.import_id == "" and read.session.staged_transaction_id == "st-3"


def test_a_card_payments_mirror_is_settled_by_the_paying_accounts_close_not_the_cards(ledger):
    v, paid = TransactionStatus.VALIDATING, TransactionStatus.PAID
    payment = {"type": StagedTransactionType.CARD_PAYMENT, "billing_month": "2024-03", "card_id": "card"}
    ledger.write(TENANT, [_session_line(1, 9, "acc", v, **payment),
                          _session_line(2, 9, "card", v, counterpart_account_id="acc", **payment),
                          _session_line(3, 5, "card", v, type=StagedTransactionType.CARD_EXPENSE,
                                        billing_month="2024-03", card_id="card")])

    def status() -> dict[str, TransactionStatus]:
        return {line.transaction_id: line.session.status for account, day in (("acc", 9), ("card", 9), ("card", 5))
                for line in ledger.day_lines(TENANT, account, date(2024, 3, day))}

    assert ledger.mark_paid(TENANT, "card", "2024-03", "2024-03") == 1  # the card's expense only
    assert status() == {"s-1": v, "s-2": v, "s-3": paid}
    assert ledger.mark_paid(TENANT, "acc", "", "2024-03-31") == 1  # the payment, its mirror with it
    assert status() == {"s-1": paid, "s-2": paid, "s-3": paid}


def test_a_card_line_retyped_as_a_payments_mirror_is_settled_by_the_paying_account(ledger):
    """The card's own line of a payment, committed first as a chargeback (the card's close settled it), retyped as
    the payment's mirror: the card's close no longer settles it, the paying account's close does."""
    v, paid = TransactionStatus.VALIDATING, TransactionStatus.PAID
    chargeback = _session_line(1, 9, "card", v, type=StagedTransactionType.CARD_CHARGEBACK, billing_month="2024-03",
                               card_id="card")
    ledger.write(TENANT, [chargeback, _session_line(2, 9, "card", v, type=StagedTransactionType.CARD_EXPENSE,
                                                    billing_month="2024-03", card_id="card")])
    assert chargeback.session is not None
    paying = replace(chargeback, session=replace(chargeback.session, type=StagedTransactionType.CARD_PAYMENT,
                                                 counterpart_account_id="acc"))
    ledger.retype(TENANT, chargeback, paying)
    assert ledger.day_lines(TENANT, "card", date(2024, 3, 9))[0] == paying
    assert [line.transaction_id for line in ledger.invoice_lines(TENANT, "card", "2024-03")] == ["s-1", "s-2"]
    assert ledger.mark_paid(TENANT, "card", "2024-03", "2024-03") == 1  # the expense only
    assert [line.session.status for line in ledger.day_lines(TENANT, "card", date(2024, 3, 9))] == [v, paid]
    assert ledger.mark_paid(TENANT, "acc", "", "2024-03-31") == 0  # the mirror: none of the account's own
    assert [line.session.status for line in ledger.day_lines(TENANT, "card", date(2024, 3, 9))] == [paid, paid]


def test_a_line_is_linked_to_one_other_line_only(ledger):
    line = _session_line(1, 9, "acc", TransactionStatus.VALIDATING)
    ledger.write(TENANT, [line])
    assert ledger.link(TENANT, line, "own-1") and ledger.link(TENANT, line, "own-1")  # a retried commit: its own
    assert not ledger.link(TENANT, line, "own-2")
    assert ledger.day_lines(TENANT, "acc", date(2024, 3, 9))[0].linked_by == "own-1"
    assert not ledger.link(TENANT, _session_line(2, 9, "acc", TransactionStatus.VALIDATING), "own-1")  # not there


def test_a_days_balance_beyond_a_dynamodb_number_is_kept_exactly(ledger):
    """10^37 and a cent on one day: each line is a DynamoDB number, their sum (40 significant digits) is not; the
    day's balance is kept as its exact text and read back as the number it is."""
    big, cent = _line(1, 2), _line(2, 2)
    ledger.write(TENANT, [replace(big, amount=Decimal("1E+37")), replace(cent, amount=Decimal("0.01"))])
    assert ledger.day_totals(TENANT, "acc", None, None) == [(date(2024, 1, 2), Decimal("1E+37") + Decimal("0.01"))]


def test_day_totals_are_recomputed_so_a_retried_write_and_a_removal_count_once(ledger):
    lines = [_line(n, 1 + n % 3) for n in range(1, 10)]  # amounts n/4 on days 1..3
    ledger.write(TENANT, lines)
    ledger.write(TENANT, lines[:4])  # a retried chunk: the same lines again
    expected = {day: sum((x.amount for x in lines if x.date_posted.day == day), Decimal(0)) for day in (1, 2, 3)}
    assert ledger.day_totals(TENANT, "acc", None, None) == [(date(2024, 1, d), expected[d]) for d in (1, 2, 3)]
    assert ledger.day_totals(TENANT, "acc", date(2024, 1, 1), date(2024, 1, 2)) == [(date(2024, 1, 2), expected[2])]
    assert ledger.day_totals(OTHER, "acc", None, None) == []
    ledger.delete_many_if_from_import(TENANT, [x for x in lines if x.date_posted.day == 2], "imp-1", workers=2)
    assert [d.day for d, _ in ledger.day_totals(TENANT, "acc", None, None)] == [1, 3]
    day_one = sorted((x for x in lines if x.date_posted.day == 1), key=lambda x: x.transaction_id)
    assert ledger.sum_later_in_day(TENANT, "acc", date(2024, 1, 1), day_one[0].transaction_id) == sum(
        (x.amount for x in day_one[1:]), Decimal(0))
