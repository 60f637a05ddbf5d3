"""Reviewing an import before it is confirmed: its staged rows with their decisions, a decision per
line, a dry run of the confirm, and the problems found in the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.models import Decision, ErrorDetail, Import, ImportStatus, StagedRow, Tenant
from tximport.storage.objects import ObjectMissing
from tximport.storage.pagination import decode_cursor, encode_cursor
from tximport.storage.repository import ImportsStore
from tximport.storage.staging import Staging

T = TypeVar("T")

#: how many skipped transaction ids a dry run lists per account
MAX_SKIPPED_IDS = 1000

_REVIEWABLE = (ImportStatus.AWAITING_CONFIRMATION, ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE)


@dataclass(slots=True)
class ReviewLine:
    """A staged row and the decision that holds for it (its own, or the row's default)."""

    row: StagedRow
    decision: Decision


@dataclass(slots=True)
class ReviewPage:
    imp: Import
    lines: list[ReviewLine]
    next_cursor: str | None


@dataclass(slots=True)
class AccountPlan:
    """What confirm would do in one bank account."""

    bank_account_id: str
    #: the currency of the account's lines (the first line's)
    currency: str | None = None
    add: int = 0
    skip: int = 0
    add_sum: Decimal = Decimal(0)
    skipped_transaction_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DryRun:
    imp: Import
    accounts: list[AccountPlan]

    @property
    def add(self) -> int:
        return sum(a.add for a in self.accounts)

    @property
    def skip(self) -> int:
        return sum(a.skip for a in self.accounts)


@dataclass(slots=True)
class ErrorDetailsPage:
    details: list[ErrorDetail]
    next_cursor: str | None
    #: whole-file problems plus rejected lines
    total: int


def _same_generation(state: dict[str, Any], imp: Import) -> None:
    """A page's cursor walks the rows of the generation it was issued for: after an amend (a new generation, other
    rows and ids) it is refused, and the client starts again from the first page."""
    if "g" in state and state["g"] != imp.generation:
        raise ValidationFailed("this cursor belongs to what the import showed before it was amended: read again "
                               "from the first page", code="InvalidCursor", target="cursor")


class ReviewService:
    def __init__(self, *, imports: ImportsStore, staging: Staging) -> None:
        self.imports = imports
        self.staging = staging

    def _reviewable(self, tenant: Tenant, import_id: str) -> Import:
        imp = self.imports.get(tenant, import_id)
        if imp.status not in _REVIEWABLE:
            raise Conflict(f"an import in status {imp.status.value} has no transactions to review",
                           code="InvalidImportStatus", target="status")
        return imp

    def _staged(self, read_import: Callable[[], Import], read: Callable[[Import], T]) -> T:
        """`read` the import's staged chunks. An amend processed meanwhile (or a delete) removes the chunks
        of the generation the import was read at: it is read again, and answers as it is now (a 409 when
        it no longer has rows to review), never a missing chunk."""
        imp = read_import()
        try:
            return read(imp)
        except ObjectMissing:
            again = read_import()
            if (again.generation, again.chunk_keys, again.error_chunk_keys) == (
                    imp.generation, imp.chunk_keys, imp.error_chunk_keys):
                raise  # the import still points to it: lost, not replaced
            return read(again)

    def review(self, tenant: Tenant, import_id: str, *, page_size: int, cursor: str | None) -> ReviewPage:
        """A page of staged rows with their decisions."""
        state = decode_cursor(cursor) or {"c": 0, "s": 0}

        def page(imp: Import) -> ReviewPage:
            _same_generation(state, imp)
            rows, nxt = self.staging.page_rows(imp.chunk_keys, chunk=int(state.get("c", 0)),
                                               skip=int(state.get("s", 0)), limit=page_size)
            decisions = self.imports.decisions(imp) if rows else {}
            lines = [ReviewLine(row, decisions.get(row.transaction_id) or row.default_decision) for row in rows]
            return ReviewPage(imp, lines, encode_cursor({"c": nxt[0], "s": nxt[1], "g": imp.generation})
                              if nxt else None)

        return self._staged(lambda: self._reviewable(tenant, import_id), page)

    def _decidable(self, tenant: Tenant, import_id: str) -> Import:
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.AWAITING_CONFIRMATION:
            raise Conflict("decisions can be changed only while awaiting confirmation",
                           code="InvalidImportStatus", target="status")
        return imp

    def set_decision(self, tenant: Tenant, import_id: str, transaction_id: str, decision: Decision) -> None:
        """Import or skip one staged line (only while the import awaits confirmation)."""
        def staged(imp: Import) -> Import:
            if not any(row.transaction_id == transaction_id for row in self.staging.all_rows(imp.chunk_keys)):
                raise NotFound(f"transaction {transaction_id} is not staged in this import",
                               code="TransactionNotFound", target="transactionId")
            return imp

        imp = self._staged(lambda: self._decidable(tenant, import_id), staged)
        self.imports.put_decision(imp, transaction_id, decision)

    def dry_run(self, tenant: Tenant, import_id: str) -> DryRun:
        """What confirm would do: adds and skips, per account, with counts."""
        return self._staged(lambda: self._reviewable(tenant, import_id), self._plan)

    def _plan(self, imp: Import) -> DryRun:
        decisions = self.imports.decisions(imp)
        per_account: dict[str, AccountPlan] = {}
        for row in self.staging.all_rows(imp.chunk_keys):
            plan = per_account.get(row.bank_account_id)
            if plan is None:
                plan = per_account[row.bank_account_id] = AccountPlan(row.bank_account_id, row.currency)
            if decisions.get(row.transaction_id, row.default_decision) == "import":
                plan.add += 1
                plan.add_sum += row.amount
            else:
                plan.skip += 1
                if len(plan.skipped_transaction_ids) < MAX_SKIPPED_IDS:
                    plan.skipped_transaction_ids.append(row.transaction_id)
        return DryRun(imp, list(per_account.values()))

    def error_details(self, tenant: Tenant, import_id: str, *, page_size: int, cursor: str | None
                      ) -> ErrorDetailsPage:
        """Whole-file problems first, then every rejected line, `page_size` of them a page (a deleted import's
        rejected lines went with its staged rows: its whole-file problems remain)."""
        state = decode_cursor(cursor) or {"c": 0, "s": 0}

        def page(imp: Import) -> ErrorDetailsPage:
            _same_generation(state, imp)
            lines_left = imp.status != ImportStatus.DELETED and bool(imp.error_chunk_keys)
            total = len(imp.error_details) + (imp.summary.rejected_line_count if imp.summary and lines_left else 0)
            # the whole-file problems shown so far (a cursor of before they were counted says all or none)
            shown = int(state.get("d", 0 if state.get("f", True) else len(imp.error_details)))
            details = list(imp.error_details[shown:shown + page_size])
            shown += len(details)
            if shown < len(imp.error_details) or len(details) == page_size:
                more = shown < len(imp.error_details) or lines_left
                return ErrorDetailsPage(details, encode_cursor({"c": 0, "s": 0, "d": shown, "g": imp.generation})
                                        if more else None, total)
            if not lines_left:
                return ErrorDetailsPage(details, None, total)
            rejected, nxt = self.staging.page_errors(imp.error_chunk_keys, chunk=int(state.get("c", 0)),
                                                     skip=int(state.get("s", 0)), limit=page_size - len(details))
            details.extend(rejected)
            return ErrorDetailsPage(
                details, encode_cursor({"c": nxt[0], "s": nxt[1], "d": shown, "g": imp.generation}) if nxt else None,
                total)

        return self._staged(lambda: self.imports.get(tenant, import_id), page)
