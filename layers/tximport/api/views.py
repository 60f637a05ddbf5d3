"""How the API shows domain objects: the typed wire models of `tximport.api.schemas`, built from the
domain. Money the document shows as an integer is an integer of minor units with the exact decimal
beside it; timestamps are ISO 8601 with milliseconds and a Z (the models' annotated types write them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tximport import money
from tximport.api import schemas
from tximport.models import (
    BankAccount,
    ErrorDetail,
    Import,
    LedgerLine,
    PollMonitor,
    Summary,
    Transaction,
)
from tximport.reconciliation.ids import statement_id
from tximport.services.ledger_queries import AccountBalance
from tximport.services.public import IngestResult
from tximport.services.review import DryRun, ReviewLine, ReviewPage
from tximport.statements.models import StatementCheck, StatementReport


def _text(value: Decimal | None, currency: str | None) -> str | None:
    return None if value is None else money.money_text(value, currency)


def account_view(account: BankAccount) -> schemas.BankAccountOut:
    """A bank account as `/bankaccounts` shows it."""
    return schemas.BankAccountOut(
        id=account.id, bank_id=account.bank_id, country_code=account.country_code,
        account_identifier=account.account_identifier, name=account.name, currency=account.currency,
        created=account.created)


def error_detail_view(detail: ErrorDetail) -> schemas.ErrorDetailOut:
    """A whole-file problem or a rejected line, as `errorDetails` and `/errordetails` show it."""
    return schemas.ErrorDetailOut(
        severity=detail.severity.value, code=detail.code, message=detail.message, target=detail.target,
        line_number=detail.line_number, actual_value=detail.actual_value)


def _transaction_fields(line: Transaction) -> dict[str, object]:
    """The fields every transaction shows (money in minor units and as exact decimals)."""
    currency = line.currency
    return {
        "transaction_id": line.transaction_id,
        "bank_account_id": line.bank_account_id,
        "transaction_amount": money.minor_units(line.amount, currency),
        "transaction_type": "CREDIT" if line.amount >= 0 else "DEBIT",
        "date_posted": line.date_posted,
        "description": line.description,
        "amount": money.money_text(line.amount, currency),
        "currency": currency,
        "posting_date": line.date_posted,
        "value_date": line.value_date,
        "purchase_date": line.purchase_date,
        "balance": _text(line.balance, currency),
        "original_amount": _text(line.original_amount, line.original_currency),
        "original_currency": line.original_currency,
        "bank_transaction_id": line.bank_transaction_id,
        "reference": line.reference,
        "counterparty_name": line.counterparty_name,
        "counterparty_account": line.counterparty_account,
        "reversal": line.reversal,
        "reversal_of": line.reversal_of,
        "pending": line.pending,
        "replaces_pending_id": line.replaces_pending_id,
        "replaced_by": line.replaced_by,
    }


def review_row(line: ReviewLine) -> schemas.ReviewRowOut:
    """A staged row as `reviewtransactions` shows it, with its decision."""
    row = line.row
    return schemas.ReviewRowOut.model_validate({
        **_transaction_fields(row), "possible_duplicate": row.possible_duplicate, "line_number": row.line_number,
        "duplicate_of": row.duplicate_of, "duplicate_reason": row.duplicate_reason, "decision": line.decision})


def review_meta(page: ReviewPage) -> schemas.ReviewMeta:
    """The counts beside a page of `reviewtransactions`."""
    s = page.imp.summary
    return schemas.ReviewMeta(
        transaction_count=s.transaction_details_count if s else 0,
        credit_count=s.transaction_credit_count if s else 0,
        debit_count=s.transaction_debit_count if s else 0,
        date_overlap_count=s.transaction_date_overlap_count if s else 0,
        page_count=len(page.lines), interim_report=page.imp.interim_report)


def ledger_row(line: LedgerLine, running: Decimal | None = None) -> schemas.LedgerRowOut:
    """A ledger line as the ledger routes show it: with the statement id reconciliations know it by (their
    `matchedStatementId`), and the reconciliation entry that holds it, when one does; a line committed from
    an import session has no importId and shows what the session filed it under. `running`: the account's
    balance after the line (`?include=balance`)."""
    mark = line.reconciliation
    entry = line.session
    filed: dict[str, Any] = {} if entry is None else {
        "type": entry.type.value, "transaction_status": entry.status.value, "category_id": entry.category_id,
        "subcategory_id": entry.subcategory_id, "tag_ids": entry.tag_ids or None,
        "workspace_id": entry.workspace_id, "session_id": entry.session_id,
        "staged_transaction_id": entry.staged_transaction_id, "billing_month": entry.billing_month,
        "card_id": entry.card_id, "counterpart_account_id": entry.counterpart_account_id,
        "counterpart_transaction_id": entry.counterpart_transaction_id,
        "recurring_id": entry.recurring_id, "recurring_type": entry.recurring_type}
    balance: dict[str, Any] = {} if running is None else {
        "running_balance": money.minor_units(running, line.currency),
        "running_balance_amount": money.money_text(running, line.currency)}
    return schemas.LedgerRowOut.model_validate({
        **_transaction_fields(line), "import_id": line.import_id or None, "committed": line.committed,
        "statement_id": statement_id(line.transaction_id),
        "reconciliation": {"reconciliation_id": mark.reconciliation_id, "entry_id": mark.entry_id,
                           "match_status": mark.match_status} if mark else None, **filed, **balance})


def balance_view(balance: AccountBalance, currency: str | None) -> schemas.AccountBalanceOut:
    """An account's current balance (`meta.balance` of the ledger with `?include=balance`), in minor units
    of the account's currency with the exact decimal beside."""
    anchor = balance.statement
    last = None if anchor is None else schemas.LastStatementOut(
        closing_balance=money.minor_units(anchor.closing, anchor.currency or currency),
        closing_balance_amount=money.money_text(anchor.closing, anchor.currency or currency),
        closing_date=anchor.closing_date, import_id=anchor.import_id, statement_id=anchor.statement_id)
    return schemas.AccountBalanceOut(
        balance=None if balance.amount is None else money.minor_units(balance.amount, currency),
        amount=None if balance.amount is None else money.money_text(balance.amount, currency),
        currency=currency, as_of=balance.as_of, last_statement=last,
        provisional=balance.changing_import_id is not None, changing_import_id=balance.changing_import_id)


def dry_run_view(plan: DryRun) -> schemas.PlanOut:
    """What confirm would do, as `/dryrun` shows it."""
    return schemas.PlanOut(
        import_id=plan.imp.id, status=plan.imp.status, add=plan.add, skip=plan.skip,
        accounts=[schemas.PlanAccountOut(
            bank_account_id=a.bank_account_id, add=a.add, skip=a.skip, currency=a.currency,
            add_sum=money.money_text(a.add_sum, a.currency), skipped_transaction_ids=a.skipped_transaction_ids)
            for a in plan.accounts])


def ingest_view(result: IngestResult) -> schemas.PublicResultOut:
    """The counts `POST /api/public/v1/transactions` answers (not enveloped), and what happened to each."""
    return schemas.PublicResultOut(
        existing_transactions=result.existing, new_transactions=result.new,
        error_transactions=len(result.errors),
        errors=[schemas.PublicErrorOut(index=e.index, code=e.code, message=e.message, target=e.target)
                for e in result.errors],
        items=[schemas.PublicItemOut(
            index=i.index, result=i.result, bank_account_id=i.bank_account_id, transaction_id=i.transaction_id,
            account_created=i.account_created, updated_fields=list(i.updated_fields),
            kept_fields=list(i.kept_fields)) for i in result.items],
        created_accounts=[schemas.CreatedAccountOut(account_identifier=identifier, bank_account_id=account_id)
                          for identifier, account_id in result.created_accounts])


def summary_view(s: Summary) -> schemas.SummaryOut:
    """`statement.summary` of the import report: the integer sums add every line's minor units, so
    they equal the sums of the review rows' transactionAmount; the decimals are per currency."""
    totals = [schemas.CurrencyTotalOut(
        currency=t.currency, credit_count=t.credit_count, credit_sum=money.minor_units(t.credit_sum, t.currency),
        credit_amount=money.money_text(t.credit_sum, t.currency), debit_count=t.debit_count,
        debit_sum=money.minor_units(t.debit_sum, t.currency), debit_amount=money.money_text(t.debit_sum, t.currency))
        for t in s.totals]
    single = totals[0] if len(totals) == 1 else None
    return schemas.SummaryOut(
        account_details_count=s.account_details_count,
        transaction_details_count=s.transaction_details_count,
        transaction_credit_count=s.transaction_credit_count,
        transaction_credit_sum=sum(t.credit_sum for t in totals),
        transaction_debit_count=s.transaction_debit_count,
        transaction_debit_sum=sum(t.debit_sum for t in totals),
        transaction_range_start_date=s.transaction_range_start_date,
        transaction_range_end_date=s.transaction_range_end_date,
        transaction_date_overlap_count=s.transaction_date_overlap_count,
        credit_amount=single.credit_amount if single else (None if totals else "0.00"),
        debit_amount=single.debit_amount if single else (None if totals else "0.00"),
        currency_totals=totals, possible_duplicate_count=s.possible_duplicate_count,
        rejected_line_count=s.rejected_line_count, ignored_line_count=s.ignored_line_count,
        currencies=s.currencies)


def _figure(name: str, value: Decimal | None, currency: str | None) -> dict[str, Any]:
    """A money figure of the statement report: `<name>` in minor units, `<name>_amount` the exact decimal."""
    return {name: None if value is None else money.minor_units(value, currency),
            f"{name}_amount": _text(value, currency)}


def statement_check_view(check: StatementCheck, currency: str | None) -> schemas.StatementCheckOut:
    """A failed statement check (BalanceMismatch, StatementGap, StatementOverlap, StatementRepeated,
    DateOutsideStatement)."""
    return schemas.StatementCheckOut.model_validate({
        "code": check.code, "message": check.message, **_figure("expected", check.expected, currency),
        **_figure("computed", check.computed, currency), **_figure("difference", check.difference, currency),
        "line_number": check.line_number, "start_date": check.start_date, "end_date": check.end_date,
        "line_count": check.line_count, "previous_import_id": check.previous_import_id,
        "repeats_statement": check.repeats_statement})


def statement_view(report: StatementReport) -> schemas.StatementReportOut:
    """One statement of one account in `statement.statements`: balances, the lines' figures, checks."""
    currency = report.currency
    return schemas.StatementReportOut.model_validate({
        "bank_account_id": report.bank_account_id, "account_identifier": report.account_identifier,
        "index": report.index, "statement_id": report.statement_id, "sequence": report.sequence,
        "currency": currency, **_figure("opening_balance", report.opening, currency),
        "opening_date": report.opening_date, **_figure("closing_balance", report.closing, currency),
        "closing_date": report.closing_date, **_figure("available_balance", report.available, currency),
        **_figure("computed_closing_balance", report.computed_closing, currency), "line_count": report.line_count,
        **_figure("line_sum", report.line_sum, currency), "start_date": report.start_date,
        "end_date": report.end_date, "first_line_number": report.first_line,
        "last_line_number": report.last_line, "interim": report.interim, "foreign_currency": report.foreign,
        "checks": [statement_check_view(c, currency) for c in report.checks]})


def monitor_view(monitor: PollMonitor) -> schemas.StatusMonitorOut:
    return schemas.StatusMonitorOut(poll_first_attempt=monitor.first_attempt, poll_attempts=monitor.attempts,
                                    poll_last_attempt=monitor.last_attempt)


def import_view(imp: Import, *, include_report: bool, monitor: PollMonitor | None = None) -> schemas.ImportOut:
    """An import as the API shows it: every documented field, null when unknown."""
    statement = (schemas.StatementOut(id=imp.id, summary=summary_view(imp.summary),
                                      statements=[statement_view(r) for r in imp.statements],
                                      statement_count=imp.statement_count)
                 if include_report and imp.summary is not None else None)
    product = imp.product_dates
    return schemas.ImportOut(
        import_ref=imp.id, id=imp.id, status=imp.status, organisation_id=imp.organisation_id,
        company_id=imp.company_id, file_format=imp.file_format, file_name=imp.file_name,
        description=imp.description, date_style=imp.date_style, review_level=imp.review_level, source=imp.source,
        data_source=imp.data_source, source_product=imp.source_product, api_type=imp.api_type, bank_id=imp.bank_id,
        bank_accounts=[schemas.ImportAccountOut(
            id=a.id, account_identifier=a.account_identifier, country_code=a.country_code,
            bank_identifier=a.bank_identifier, transaction_sign=a.transaction_sign, currency=a.currency)
            for a in imp.bank_accounts],
        fuzzy_account_matching=imp.fuzzy_account_matching, bypass_replay_validation=imp.bypass_replay_validation,
        s3_file_path=imp.s3_key, file_uploaded=imp.file_uploaded, execution_arn=imp.execution_arn,
        status_monitor=monitor_view(monitor or PollMonitor()),
        validation_details=[schemas.ValidationDetailOut(
            code=v.code, target=v.target, message=v.message, count=v.count, first_line_number=v.first_line_number)
            for v in imp.validation_details],
        validation_details_count=imp.validation_details_count,
        error_details=[error_detail_view(d) for d in imp.error_details],
        account_identifiers=[schemas.DiscoveredAccountOut(
            account_identifier=d.account_identifier, currency=d.currency, bank_account_id=d.bank_account_id,
            transaction_count=d.transaction_count, bank=d.bank) for d in imp.discovered_accounts],
        statement=statement, created=imp.created, updated=imp.updated, interim_report=imp.interim_report,
        amend_count=imp.amend_count, completed=imp.completed,
        # imports reverted before reverts had a status of their own have `reverted` only
        revert_status=imp.revert.status or ("reverted" if imp.reverted else None),
        reverted=imp.reverted,
        # 0 from the moment a revert is asked (null: never reverted)
        reverted_line_count=imp.revert.line_count if imp.revert.line_count is not None or imp.revert.status is None
        else 0,
        mapping=imp.mapping.to_json() if imp.mapping else None,
        product_dates=schemas.ProductDatesOut(transaction_start_date=product.transaction_start_date,
                                              transaction_end_date=product.transaction_end_date)
        if product else None,
        include_pending=imp.include_pending,
        expires=datetime.fromtimestamp(imp.expires_at, UTC) if imp.expires_at else None)
