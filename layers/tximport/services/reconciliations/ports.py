"""What the reconciliation services need from the outside, as small protocols. The boto3 implementations
live in `tximport.storage.reconciliations` (DynamoDB), `tximport.storage.ledger` (ledger lines) and
`tximport.adapters.reconciliation` (S3, Step Functions, EventBridge); unit tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from tximport.models import BankAccount, Tenant
from tximport.reconciliation.models import Override, Reconciliation, ResultChunks, StatementLine
from tximport.reconciliation.records import EntryRecord


@dataclass(frozen=True, slots=True)
class LineMark:
    """A ledger line marked as matched by one entry of one reconciliation."""

    account_id: str
    day: str
    transaction_id: str
    reconciliation_id: str
    entry_id: str
    status: str  # MATCHED | MANUAL
    #: a FAILED reconciliation whose mark on the line may be replaced
    replaces: str | None = None


class Accounts(Protocol):
    def find(self, tenant: Tenant, account_id: str) -> BankAccount | None: ...


class Reconciliations(Protocol):
    """Reconciliation items, the days they claim on an account, and manual overrides (one table)."""

    def create(self, rec: Reconciliation) -> None:
        """Save a new reconciliation and claim each day of its period on the account, atomically; raises
        `Clash` naming the reconciliation that already holds a day."""

    def get(self, tenant: Tenant, reconciliation_id: str) -> Reconciliation | None: ...

    def save(self, rec: Reconciliation) -> Reconciliation:
        """Write if unchanged since read (version); raises `Clash` otherwise."""

    def list_all(self, tenant: Tenant) -> list[Reconciliation]:
        """Every reconciliation of a tenant, newest first."""

    def release_days(self, rec: Reconciliation) -> None:
        """Give the period's days back (a FAILED reconciliation blocks nothing)."""

    def overrides(self, rec: Reconciliation) -> dict[int, tuple[Override, EntryRecord]]: ...

    def override(self, rec: Reconciliation, index: int) -> tuple[Override, EntryRecord] | None: ...

    def apply_manual(self, rec: Reconciliation, override: Override, record: EntryRecord, *,
                     mark: LineMark | None, unmark: LineMark | None) -> Reconciliation:
        """In one transaction: save `rec` (version checked), put the override, mark one ledger line (only if
        no other entry holds it) and unmark another (only if this entry holds it). Raises `Clash`."""

    def put_overrides(self, rec: Reconciliation, overrides: list[tuple[Override, EntryRecord]]) -> None:
        """Rewrite overrides (a run rebases them on its own results); no version check: a run holds the
        reconciliation in PROCESSING, when manual changes are refused."""


class LedgerLines(Protocol):
    """The statement side: the account's ledger lines."""

    def lines_between(self, tenant: Tenant, account_id: str, start: date, end: date
                      ) -> Iterator[tuple[StatementLine, dict[str, str] | None]]:
        """Every line booked in [start, end] with its reconciliation mark (O(days) queries)."""

    def find(self, tenant: Tenant, account_id: str, transaction_id: str) -> tuple[StatementLine, dict | None] | None:
        ...

    def find_digest(self, tenant: Tenant, account_id: str, digest: str, days: Iterable[date]
                    ) -> tuple[StatementLine, dict | None] | None:
        """The line whose id is `<day>-<digest>` on one of `days`."""

    def mark(self, tenant: Tenant, marks: list[LineMark]) -> list[LineMark]:
        """Mark lines that no other reconciliation holds; answers the marks that were refused."""

    def unmark(self, tenant: Tenant, marks: list[LineMark]) -> None:
        """Remove marks this reconciliation holds (others are left alone)."""


class ResultObjects(Protocol):
    """Entries and results as compressed JSON-lines objects (S3)."""

    def put_entries(self, key: str, records: Iterable[EntryRecord]) -> None: ...

    def entries(self, key: str) -> Iterator[EntryRecord]: ...

    def write_results(self, prefix: str, records: list[EntryRecord], chunk_size: int, run: int) -> ResultChunks:
        """Write the run's records in chunks: ALL (entry order) and one listing per match status."""

    def chunk(self, key: str) -> list[EntryRecord]: ...

    def delete_prefix(self, prefix: str) -> None: ...


class Executions(Protocol):
    def start(self, rec: Reconciliation, run: int) -> str:
        """Start the matching workflow for run `run`; answers the execution ARN."""

