"""Create a reconciliation: check the period, the entries and the account, claim the period's days on the
account (409 when another reconciliation holds one), stage the entries in S3 and start the matching
workflow. Answers at once (PROCESSING); the workflow does the matching."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from tximport import money
from tximport.adapters.workflow import WorkflowEngine
from tximport.errors import NotFound
from tximport.ids import new_id
from tximport.models import Tenant, utcnow
from tximport.reconciliation.commands import NewReconciliation
from tximport.reconciliation.errors import Clash, Invalid, Missing, Unprocessable
from tximport.reconciliation.models import (
    MAX_ENTRIES,
    MAX_PERIOD_DAYS,
    Counts,
    Reconciliation,
    ReconciliationStatus,
)
from tximport.reconciliation.records import pending
from tximport.reconciliation.tasks import ReconcileInput
from tximport.storage.reconciliation_results import ResultChunkStore, reconciliation_prefix
from tximport.storage.reconciliations import ReconciliationsStore
from tximport.storage.repository import AccountsStore
from tximport.tasks import TenantRef

log = logging.getLogger(__name__)
#: entries per result chunk: a page reads one or two chunks
CHUNK_SIZE = 1000


def check_period(start: date, end: date) -> None:
    """422 when the period ends before it starts or covers more than MAX_PERIOD_DAYS days."""
    if end < start:
        raise Unprocessable("periodEnd is before periodStart", details={"field": "periodEnd"})
    days = (end - start).days + 1
    if days > MAX_PERIOD_DAYS:
        raise Unprocessable(f"the period covers {days} days; at most {MAX_PERIOD_DAYS} are allowed",
                            details={"field": "periodEnd", "maxDays": MAX_PERIOD_DAYS})


def check_entries(request: NewReconciliation) -> None:
    if not request.entries:
        raise Unprocessable("a reconciliation needs at least one entry", details={"field": "entries"})
    if len(request.entries) > MAX_ENTRIES:
        raise Unprocessable(f"{len(request.entries)} entries; at most {MAX_ENTRIES} are allowed per request",
                            details={"field": "entries", "maxEntries": MAX_ENTRIES})
    for e in request.entries:
        if not request.period_start <= e.transaction_date <= request.period_end:
            raise Invalid(f"entries[{e.index}].transactionDate {e.transaction_date} is outside the period",
                          f"entries[{e.index}].transactionDate")


def check_amounts(request: NewReconciliation, currency: str | None) -> None:
    """Every entry's amount is a whole number of the account currency's minor units (as ledger lines are); each
    is kept with exactly the currency's decimals (`100.0000` EUR is `100.00`, as `7.5` is `7.50`)."""
    quantum = Decimal(1).scaleb(-money.exponent(currency))
    for e in request.entries:
        if not money.fits(e.amount, currency):
            raise Invalid(f"entries[{e.index}].amount {e.amount} has more decimals than "
                          f"{currency or 'an amount of unknown currency'} allows ({money.exponent(currency)})",
                          f"entries[{e.index}].amount")
        e.amount = e.amount.quantize(quantum)


class CreateReconciliation:
    def __init__(self, *, accounts: AccountsStore, store: ReconciliationsStore, results: ResultChunkStore,
                 executions: WorkflowEngine) -> None:
        self.accounts, self.store, self.results = accounts, store, results
        self.executions = executions

    def __call__(self, tenant: Tenant, request: NewReconciliation) -> Reconciliation:
        """Check, claim the period, stage the entries and start run 1 (PROCESSING; FAILED if it cannot start)."""
        check_period(request.period_start, request.period_end)
        check_entries(request)
        try:
            account = self.accounts.get(tenant, request.account_id)
        except NotFound:
            raise Missing(f"bank account {request.account_id} not found", details={"field": "accountId"}) from None
        check_amounts(request, account.currency)
        for e in request.entries:
            e.currency = account.currency
        rec_id = new_id()
        prefix = reconciliation_prefix(tenant, rec_id)
        total = sum((e.amount for e in request.entries), Decimal("0"))
        rec = Reconciliation(
            id=rec_id, organisation_id=tenant.organisation_id, company_id=tenant.company_id,
            account_id=account.id, period_start=request.period_start, period_end=request.period_end,
            source=request.source, currency=account.currency, options=request.options, entries_key=prefix,
            counts=Counts(total_entries=len(request.entries), unmatched_entries=len(request.entries),
                          total_amount=total, unmatched_amount=total))
        rec.results = self.results.write_results(prefix, [pending(e) for e in request.entries], CHUNK_SIZE, 0)
        try:
            self._claim(rec)
        except Clash:
            self.results.delete_prefix(prefix)
            raise
        return start_run(rec, self.store, self.executions)

    def _claim(self, rec: Reconciliation) -> None:
        """Save with the period's day claims; a claim left by a FAILED reconciliation (or one released
        meanwhile) is no conflict: it is released and the claim tried again."""
        for attempt in range(3):
            try:
                self.store.create(rec)
                return
            except Clash as exc:
                holder_id = exc.details.get("conflictingReconciliationId")
                holder = self.store.get(rec.tenant, holder_id) if holder_id else None
                if attempt == 2 or (holder is not None and holder.status != ReconciliationStatus.FAILED):
                    raise
                if holder is not None:
                    self.store.release_days(holder)


def start_run(rec: Reconciliation, store: ReconciliationsStore, executions: WorkflowEngine) -> Reconciliation:
    """Mark the reconciliation PROCESSING for its next run, then start the workflow (FAILED if it cannot
    start). Saved first, so the workflow's first step always finds its run (a conditional write: a
    concurrent start loses with 409). The execution `<id>-run<N>` gets ids only, never entries."""
    run = rec.runs + 1
    rec.status, rec.runs, rec.failure_reason, rec.completed = ReconciliationStatus.PROCESSING, run, None, None
    store.save(rec)
    payload = ReconcileInput(reconciliation_id=rec.id, run=run, tenant_ref=TenantRef.of(rec.tenant)).payload()
    try:
        arn = executions.start(f"{rec.id}-run{run}", payload)
    except Exception as exc:  # the workflow could not start: the reconciliation must not stay PROCESSING
        log.exception("could not start reconciliation %s", rec.id)
        return fail(rec, store, f"the matching workflow could not start: {exc}")
    if arn is None:  # an execution of this run exists already: it has the run in hand
        return rec
    rec.execution_arn = arn
    try:
        store.save(rec)
    except Clash:  # the workflow saved first; its execution ARN is worth no retry
        return store.get(rec.tenant, rec.id) or rec
    return rec


def fail(rec: Reconciliation, store: ReconciliationsStore, reason: str) -> Reconciliation:
    """Status FAILED with its reason; the period's days are released (a FAILED one blocks nothing)."""
    store.release_days(rec)  # first: once FAILED shows, the period is free
    rec.status, rec.failure_reason, rec.completed = ReconciliationStatus.FAILED, reason[:1000], utcnow()
    store.save(rec)
    return rec
