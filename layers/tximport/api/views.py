"""How the API shows domain objects: field names of the reference API, money as decimal strings (never
floats), timestamps as ISO 8601 with a Z, and absent values left out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tximport.models import BankAccount, ErrorDetail, Import, LedgerLine, Summary, Transaction, iso
from tximport.reconciliation.ids import statement_id
from tximport.services.ledger_queries import AccountBalance
from tximport.services.public import IngestResult
from tximport.services.review import DryRun, ReviewLine, ReviewPage
from tximport.statements.models import StatementCheck, StatementReport


def _money(value: Any) -> str | None:
    return None if value is None else format(Decimal(str(value)), "f")


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def account_view(account: BankAccount) -> dict[str, Any]:
    """A bank account as `/bankaccounts` shows it."""
    return _present({
        "id": account.id, "bankId": account.bank_id, "countryCode": account.country_code,
        "accountIdentifier": account.account_identifier, "name": account.name, "currency": account.currency,
        "created": iso(account.created),
    })


def error_detail_view(detail: ErrorDetail) -> dict[str, Any]:
    """A whole-file problem or a rejected line, as `errorDetails` and `/errordetails` show it."""
    return _present({
        "severity": detail.severity.value, "code": detail.code, "message": detail.message,
        "target": detail.target, "lineNumber": detail.line_number, "actualValue": detail.actual_value,
    })


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def transaction_view(line: Transaction) -> dict[str, Any]:
    """A staged row or a ledger line as the API shows a transaction (money as decimal strings)."""
    return _present({
        "transactionId": line.transaction_id,
        "bankAccountId": line.bank_account_id,
        "transactionAmount": _money(line.amount),
        "transactionType": "CREDIT" if line.amount >= 0 else "DEBIT",
        "datePosted": line.date_posted.isoformat(),
        "balance": _money(line.balance),
        "originalAmount": _money(line.original_amount),
        "description": line.description,
        "bankTransactionId": line.bank_transaction_id,
        "reference": line.reference,
        "counterpartyName": line.counterparty_name,
        "counterpartyAccount": line.counterparty_account,
        "originalCurrency": line.original_currency,
        "currency": line.currency,
        "valueDate": _day(line.value_date),
        # statement truth: pending and reversal lines and their links (absent on ordinary lines)
        "pending": line.pending or None,
        "replacesPendingId": line.replaces_pending_id,
        "replacedBy": line.replaced_by,
        "reversal": line.reversal or None,
        "reversalOf": line.reversal_of,
    })


def review_row(line: ReviewLine) -> dict[str, Any]:
    """A staged row as `reviewtransactions` shows it, with its decision."""
    row = line.row
    return {
        **transaction_view(row),
        **_present({"lineNumber": row.line_number, "duplicateOf": row.duplicate_of,
                    "duplicateReason": row.duplicate_reason}),
        "possibleDuplicate": row.possible_duplicate,
        "decision": line.decision,
    }


def review_meta(page: ReviewPage) -> dict[str, int]:
    """The counts beside a page of `reviewtransactions`."""
    s = page.imp.summary
    return {
        "transactionCount": s.transaction_details_count if s else 0,
        "creditCount": s.transaction_credit_count if s else 0,
        "debitCount": s.transaction_debit_count if s else 0,
        "dateOverlapCount": s.transaction_date_overlap_count if s else 0,
        "pageCount": len(page.lines),
    }


def ledger_row(line: LedgerLine) -> dict[str, Any]:
    """A ledger line as `GET /bankaccounts/{id}/transactions` shows it: with the statement id reconciliations
    know it by (their `matchedStatementId`), and the reconciliation entry that holds it, when one does; a
    line committed from an import session has no importId and shows what the session filed it under."""
    mark = line.reconciliation
    row = {**transaction_view(line), "importId": line.import_id, "committed": iso(line.committed),
           "statementId": statement_id(line.transaction_id),
           **_present({"reconciliation": {"reconciliationId": mark.reconciliation_id, "entryId": mark.entry_id,
                                          "matchStatus": mark.match_status} if mark else None})}
    entry = line.session
    if entry is None:
        return row
    del row["importId"]
    return {**row, **_present({
        "type": entry.type.value, "transactionStatus": entry.status.value, "categoryId": entry.category_id,
        "subcategoryId": entry.subcategory_id, "tagIds": entry.tag_ids or None, "workspaceId": entry.workspace_id,
        "sessionId": entry.session_id, "stagedTransactionId": entry.staged_transaction_id,
        "billingMonth": entry.billing_month, "cardId": entry.card_id,
        "counterpartAccountId": entry.counterpart_account_id, "recurringId": entry.recurring_id,
        "recurringType": entry.recurring_type})}


def balance_view(balance: AccountBalance) -> dict[str, Any]:
    """An account's current balance (`meta.balance` of the ledger with `?include=balance`)."""
    anchor = balance.statement
    return _present({
        "amount": _money(balance.amount), "asOf": _day(balance.as_of),
        "lastStatement": _present({"closingBalance": _money(anchor.closing), "closingDate": _day(anchor.closing_date),
                                   "importId": anchor.import_id, "statementId": anchor.statement_id})
        if anchor else None,
    })


def dry_run_view(plan: DryRun) -> dict[str, Any]:
    """What confirm would do, as `/dryrun` shows it."""
    return {
        "importId": plan.imp.id, "status": plan.imp.status.value, "add": plan.add, "skip": plan.skip,
        "accounts": [{"bankAccountId": a.bank_account_id, "add": a.add, "skip": a.skip,
                      "addSum": format(a.add_sum, "f"), "skippedTransactionIds": a.skipped_transaction_ids}
                     for a in plan.accounts],
    }


def ingest_view(result: IngestResult) -> dict[str, Any]:
    """The counts `POST /api/public/v1/transactions` answers (not enveloped)."""
    return {
        "existingTransactions": result.existing,
        "newTransactions": result.new,
        "errorTransactions": len(result.errors),
        "errors": [{"index": e.index, "code": e.code, "message": e.message, "target": e.target}
                   for e in result.errors],
    }


def summary_view(s: Summary) -> dict[str, Any]:
    """`statement.summary` of the import report."""
    return {
        "accountDetailsCount": s.account_details_count,
        "transactionDetailsCount": s.transaction_details_count,
        "transactionCreditCount": s.transaction_credit_count,
        "transactionCreditSum": _money(s.transaction_credit_sum),
        "transactionDebitCount": s.transaction_debit_count,
        "transactionDebitSum": _money(s.transaction_debit_sum),
        "transactionRangeStartDate": s.transaction_range_start_date.isoformat()
        if s.transaction_range_start_date else None,
        "transactionRangeEndDate": s.transaction_range_end_date.isoformat()
        if s.transaction_range_end_date else None,
        "transactionDateOverlapCount": s.transaction_date_overlap_count,
        "rejectedLineCount": s.rejected_line_count,
        "ignoredLineCount": s.ignored_line_count,
        "currencies": s.currencies,
    }


def statement_check_view(check: StatementCheck) -> dict[str, Any]:
    """A failed statement check (BalanceMismatch, StatementGap, StatementOverlap)."""
    return _present({
        "code": check.code, "message": check.message, "expected": _money(check.expected),
        "computed": _money(check.computed), "difference": _money(check.difference),
        "lineNumber": check.line_number, "startDate": _day(check.start_date), "endDate": _day(check.end_date),
        "lineCount": check.line_count, "previousImportId": check.previous_import_id,
    })


def statement_view(report: StatementReport) -> dict[str, Any]:
    """One statement of one account in `statement.statements`: balances, the lines' figures, checks."""
    return {**_present({
        "bankAccountId": report.bank_account_id, "accountIdentifier": report.account_identifier,
        "index": report.index, "statementId": report.statement_id, "sequence": report.sequence,
        "currency": report.currency, "openingBalance": _money(report.opening),
        "openingDate": _day(report.opening_date), "closingBalance": _money(report.closing),
        "closingDate": _day(report.closing_date), "availableBalance": _money(report.available),
        "computedClosingBalance": _money(report.computed_closing), "lineCount": report.line_count,
        "lineSum": _money(report.line_sum), "startDate": _day(report.start_date), "endDate": _day(report.end_date),
    }), "interim": report.interim, "checks": [statement_check_view(c) for c in report.checks]}


def import_view(imp: Import, *, include_report: bool) -> dict[str, Any]:
    """An import as the API shows it (field names of the reference API)."""
    data: dict[str, Any] = {
        "_id": imp.id,
        "id": imp.id,
        "status": imp.status.value,
        "organisationId": imp.organisation_id,
        "companyId": imp.company_id,
        "fileFormat": imp.file_format,
        "fileName": imp.file_name,
        "description": imp.description,
        "dateStyle": imp.date_style.value if imp.date_style else None,
        "reviewLevel": imp.review_level.value,
        "bankId": imp.bank_id,
        "source": imp.source,
        "apiType": imp.api_type,
        "bankAccounts": [
            _present({"id": a.id, "accountIdentifier": a.account_identifier, "countryCode": a.country_code,
                      "bankIdentifier": a.bank_identifier, "transactionSign": a.transaction_sign.value})
            for a in imp.bank_accounts
        ],
        "fuzzyAccountMatching": imp.fuzzy_account_matching,
        "bypassReplayValidation": imp.bypass_replay_validation,
        "s3FilePath": imp.s3_key,
        "fileUploaded": imp.file_uploaded,
        "executionArn": imp.execution_arn,
        "validationDetails": [],
        "validationDetailsCount": imp.validation_details_count,
        "errorDetails": [error_detail_view(d) for d in imp.error_details],
        "accountIdentifiers": [
            _present({"accountIdentifier": d.account_identifier, "currency": d.currency,
                      "bankAccountId": d.bank_account_id, "transactionCount": d.transaction_count})
            for d in imp.discovered_accounts
        ],
        "amendCount": imp.amend_count,
        "created": iso(imp.created),
        "updated": iso(imp.updated),
        "completed": iso(imp.completed) if imp.completed else None,
        "reverted": iso(imp.reverted) if imp.reverted else None,
        # imports reverted before reverts ran asynchronously have `reverted` only
        "revertStatus": imp.revert.status or ("reverted" if imp.reverted else None),
        "revertedLineCount": imp.revert.line_count,
        "mapping": imp.mapping.to_json() if imp.mapping else None,
        "productDates": _present({"transactionStartDate": _day(imp.product_dates.transaction_start_date),
                                  "transactionEndDate": _day(imp.product_dates.transaction_end_date)})
        if imp.product_dates else None,
        "includePending": imp.include_pending or None,
        # the import expires (DynamoDB TTL) after the configured retention
        "expires": iso(datetime.fromtimestamp(imp.expires_at, UTC)) if imp.expires_at else None,
    }
    if include_report and imp.summary is not None:
        data["statement"] = {"id": imp.id, "summary": summary_view(imp.summary),
                             "statements": [statement_view(r) for r in imp.statements],
                             "statementCount": imp.statement_count}
    return _present(data)
