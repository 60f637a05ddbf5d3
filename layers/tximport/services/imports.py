"""What the API does with bank accounts, imports, reviews and the ledger."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tximport.api import models as api
from tximport.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from tximport.formats.base import FileError, FileFormat
from tximport.formats.registry import get_format
from tximport.ids import new_id
from tximport.models import (
    DELETABLE_STATUSES,
    BankAccount,
    ErrorDetail,
    Import,
    ImportBankAccount,
    ImportStatus,
    Severity,
    Tenant,
    TransactionSign,
    iso,
    utcnow,
)
from tximport.services.lifecycle import Lifecycle
from tximport.services.workflow import expires_at
from tximport.storage.ledger import LedgerRepository
from tximport.storage.pagination import decode_cursor, encode_cursor
from tximport.storage.repository import AccountsRepository
from tximport.storage.staging import delete_prefix, page_rows, read_chunk

MAX_AMENDS = 10


class ImportService:
    def __init__(self, *, accounts: AccountsRepository, lifecycle: Lifecycle, ledger: LedgerRepository,
                 s3: Any, bucket: str, upload_ttl: int, retention_days: int, revert_window: int,
                 chunk_rows: int, lambda_client: Any = None, revert_function: str | None = None) -> None:
        self.accounts = accounts
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.s3 = s3
        self.bucket = bucket
        self.upload_ttl = upload_ttl
        self.retention_days = retention_days
        self.revert_window = revert_window
        self.chunk_rows = chunk_rows
        #: reverts run in the revert function, invoked asynchronously
        self.lambda_client = lambda_client
        self.revert_function = revert_function

    # bank accounts ------------------------------------------------------------------------------
    def create_account(self, tenant: Tenant, body: api.CreateBankAccount) -> BankAccount:
        """Create a placeholder bank account."""
        account = BankAccount(id=new_id(), bank_id=body.bank_id, country_code=body.country_code,
                              account_identifier=body.account_identifier, name=body.name,
                              currency=body.currency)
        self.accounts.put(tenant, account)
        return account

    # imports ------------------------------------------------------------------------------------
    def create_import(self, tenant: Tenant, body: api.CreateImport) -> Import:
        """Create an import awaiting its file; the caller answers with a presigned upload URL."""
        fmt = get_format(body.file_format)
        if fmt.accounts_supported == "single" and len(body.bank_accounts) != 1:
            raise ValidationFailed(f"{fmt.file_format} holds one bank account: give exactly one in bankAccounts",
                                   code="BankAccountsInvalid", target="bankAccounts")
        if len({a.id for a in body.bank_accounts}) != len(body.bank_accounts):
            raise ValidationFailed("a bank account is listed twice", code="BankAccountsInvalid",
                                   target="bankAccounts")
        accounts: list[ImportBankAccount] = []
        regions: set[str] = set()
        for index, given in enumerate(body.bank_accounts):
            try:
                known = self.accounts.get(tenant, given.id)
            except NotFound:
                raise NotFound(f"bank account {given.id} not found", code="BankAccountNotFound",
                               target=f"bankAccounts[{index}].id") from None
            regions.add(known.bank_id)
            accounts.append(ImportBankAccount(
                id=known.id,
                account_identifier=given.account_identifier or known.account_identifier,
                country_code=given.country_code or known.country_code,
                bank_identifier=given.bank_identifier,
                transaction_sign=given.transaction_sign,
            ))
        if len(regions) > 1:
            raise ValidationFailed("Bank accounts must be processed separately: they belong to different banks",
                                   code="BankAccountsMustBeProcessedSeparately", target="bankAccounts",
                                   details=[{"id": a.id} for a in accounts])
        self._check_mapping(fmt, body.mapping)
        product = next((a.product_dates for a in body.bank_accounts if a.product_dates), None)
        options: dict[str, Any] = {}
        if body.mapping is not None:
            options["mapping"] = body.mapping
        if body.include_pending:
            options["includePending"] = True
        if product:
            options["productDates"] = product.model_dump(by_alias=True, mode="json", exclude_none=True)
        import_id = new_id()
        imp = Import(
            id=import_id, organisation_id=tenant.organisation_id, company_id=tenant.company_id,
            file_format=fmt.file_format, file_name=body.file_name, description=body.description,
            date_style=body.date_style, review_level=body.review_level, bank_accounts=accounts,
            bank_id=body.bank_id or next(iter(regions), None), source=body.source,
            api_type=body.api_type or ("multi" if fmt.accounts_supported == "multi" else "single"),
            fuzzy_account_matching=body.fuzzy_account_matching,
            bypass_replay_validation=body.bypass_replay_validation, options=options,
            s3_key=f"uploads/{tenant.key}/{import_id}",
            expires_at=expires_at(self.retention_days),
        )
        self.imports.create(imp)  # its first status is announced from the table's stream
        return imp

    @staticmethod
    def _check_mapping(fmt: FileFormat, mapping: dict[str, Any] | None) -> None:
        """A mapped format needs a valid mapping now, not a failed import later; others take none."""
        if fmt.validate_mapping is None:
            if mapping is not None:
                raise ValidationFailed(f"{fmt.file_format} takes no mapping", code="MappingNotSupported",
                                       target="mapping")
            return
        if mapping is None:
            raise ValidationFailed(f"{fmt.file_format} needs a column mapping", code="MappingRequired",
                                   target="mapping")
        try:
            fmt.validate_mapping(mapping)
        except FileError as exc:
            raise ValidationFailed(exc.message, code=exc.code, target="mapping",
                                   details=[{"problem": p} for p in exc.details.get("problems", [])]) from None

    def upload_url(self, imp: Import) -> str:
        """A presigned PUT for the import's object key (plain `curl -T file URL` works)."""
        return self.s3.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": imp.s3_key},
                                              ExpiresIn=self.upload_ttl, HttpMethod="PUT")

    def get(self, tenant: Tenant, import_id: str) -> Import:
        return self.imports.get(tenant, import_id)

    def list(self, tenant: Tenant, *, limit: int, cursor: str | None, status: ImportStatus | None
             ) -> tuple[list[Import], str | None]:
        return self.imports.list(tenant, limit=limit, cursor=cursor, status=status)

    def delete(self, tenant: Tenant, import_id: str) -> Import:
        """Delete an import awaiting confirmation, complete or in error: staged rows go, a waiting
        execution ends, its accounts are released."""
        imp = self.imports.get(tenant, import_id)
        if imp.status == ImportStatus.DELETED:
            return imp
        if imp.revert_status == "reverting":
            raise Conflict("the import is being reverted; delete it once the revert has finished",
                           code="InvalidImportStatus", target="revertStatus")
        if imp.status not in DELETABLE_STATUSES:
            raise Conflict(f"an import in status {imp.status.value} cannot be deleted; delete is allowed in "
                           "awaitingConfirmation, complete or error", code="InvalidImportStatus",
                           target="status")
        token = imp.task_token
        imp.task_token = None
        imp.error_details = [*imp.error_details,
                             ErrorDetail(severity=Severity.INFO, code="Deleted", message="deleted TransactionImport")]
        self.lifecycle.transition(imp, ImportStatus.DELETED)
        if token:
            self.lifecycle.resume(token, {"action": "delete"})
        if imp.staging_prefix:
            delete_prefix(self.s3, self.bucket, f"staging/{tenant.key}/{imp.id}/")
        self.s3.delete_object(Bucket=self.bucket, Key=imp.s3_key)  # the statement itself goes too
        self.imports.delete_decisions(imp)
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.delete_replay(tenant, account.id, imp.file_sha256, imp.id)
        self.lifecycle.release(imp)
        return imp

    def confirm(self, tenant: Tenant, import_id: str) -> None:
        """Confirm an import awaiting confirmation. Idempotent: confirming again does nothing."""
        imp = self.imports.get(tenant, import_id)
        if imp.status in (ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE):
            return
        if imp.status != ImportStatus.AWAITING_CONFIRMATION or not imp.task_token:
            raise Conflict(f"an import in status {imp.status.value} cannot be confirmed",
                           code="InvalidImportStatus", target="status")
        token = imp.task_token
        imp.task_token = None
        try:
            self.lifecycle.transition(imp, ImportStatus.FINAL_PROCESSING)
        except Conflict:
            latest = self.imports.get(tenant, import_id)
            if latest.status in (ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE):
                return  # a concurrent confirm won
            raise
        if not self.lifecycle.resume(token, {"action": "confirm"}):
            raise Conflict("the import is no longer waiting for confirmation", code="ConfirmationExpired")

    def amend(self, tenant: Tenant, import_id: str, body: api.Amend) -> None:
        """Flip the signs of the listed accounts and run processing again."""
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.AWAITING_CONFIRMATION or not imp.task_token:
            raise Conflict(f"an import in status {imp.status.value} cannot be amended",
                           code="InvalidImportStatus", target="status")
        if imp.amend_count >= MAX_AMENDS:
            raise TooManyRequests(f"an import can be amended at most {MAX_AMENDS} times",
                                  code="AmendLimitReached", target="flipTransactions")
        known = {a.id: a for a in imp.bank_accounts}
        for index, account_id in enumerate(body.flip_transactions.bank_account_ids):
            if account_id not in known:
                raise ValidationFailed(f"bank account {account_id} is not part of this import",
                                       code="BankAccountNotInImport",
                                       target=f"flipTransactions.bankAccountIds[{index}]")
        for account_id in set(body.flip_transactions.bank_account_ids):
            account = known[account_id]
            account.transaction_sign = (TransactionSign.REVERSED if account.transaction_sign ==
                                        TransactionSign.ORIGINAL else TransactionSign.ORIGINAL)
        token = imp.task_token
        imp.task_token = None
        imp.amend_count += 1
        self.imports.delete_decisions(imp)
        self.lifecycle.transition(imp, ImportStatus.PROCESSING)
        if not self.lifecycle.resume(token, {"action": "amend"}):
            raise Conflict("the import is no longer waiting for confirmation", code="ConfirmationExpired")

    def revert(self, tenant: Tenant, import_id: str) -> tuple[Import, bool]:
        """Ask the revert function to remove the ledger lines this import added (not lines others
        added). Answers the import and whether the revert is still under way (False once reverted).
        Idempotent: while reverting nothing new starts; a failed revert is started again and continues."""
        imp = self.imports.get(tenant, import_id)
        if imp.reverted or imp.revert_status == "reverted":
            return imp, False
        if imp.revert_status == "reverting":
            return imp, True
        if imp.status != ImportStatus.COMPLETE or not imp.completed:
            raise Conflict(f"only a complete import can be reverted (status {imp.status.value})",
                           code="InvalidImportStatus", target="status")
        if utcnow() - imp.completed > timedelta(seconds=self.revert_window):
            raise Conflict("the revert window of this import has passed", code="RevertWindowPassed")
        if self.lambda_client is None or not self.revert_function:
            raise RuntimeError("REVERT_FUNCTION_NAME is not configured")
        imp.revert_status = "reverting"
        try:
            self.imports.save(imp)
        except Conflict:
            latest = self.imports.get(tenant, import_id)
            if latest.revert_status in ("reverting", "reverted"):
                return latest, latest.revert_status == "reverting"  # a concurrent revert won
            raise
        view = imp.model_copy(deep=True)  # as it was asked: the invocation may finish before we answer
        payload = {"importId": imp.id,
                   "tenant": {"organisationId": tenant.organisation_id, "companyId": tenant.company_id}}
        try:
            self.lambda_client.invoke(FunctionName=self.revert_function, InvocationType="Event",
                                      Payload=json.dumps(payload).encode())
        except Exception:
            imp.revert_status = "revertFailed"
            imp.error_details = [*imp.error_details, ErrorDetail(
                severity=Severity.ERROR, code="RevertFailed",
                message="the revert could not be started; revert again")]
            self.imports.save(imp)
            raise
        return view, True

    # review -------------------------------------------------------------------------------------
    def _reviewable(self, imp: Import) -> None:
        if imp.status not in (ImportStatus.AWAITING_CONFIRMATION, ImportStatus.FINAL_PROCESSING,
                              ImportStatus.COMPLETE):
            raise Conflict(f"an import in status {imp.status.value} has no transactions to review",
                           code="InvalidImportStatus", target="status")

    def review(self, tenant: Tenant, import_id: str, *, page_size: int, cursor: str | None
               ) -> tuple[Import, list[dict[str, Any]], str | None]:
        """A page of staged rows with their decisions."""
        imp = self.imports.get(tenant, import_id)
        self._reviewable(imp)
        state = decode_cursor(cursor) or {"c": 0, "s": 0}
        rows, nxt = page_rows(self.s3, self.bucket, imp.chunk_keys, chunk=int(state.get("c", 0)),
                              skip=int(state.get("s", 0)), limit=page_size)
        decisions = self.imports.decisions(imp) if rows else {}
        out = [review_row(row, decisions.get(row["transactionId"])) for row in rows]
        return imp, out, encode_cursor({"c": nxt[0], "s": nxt[1]}) if nxt else None

    def set_decision(self, tenant: Tenant, import_id: str, transaction_id: str, decision: str) -> None:
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.AWAITING_CONFIRMATION:
            raise Conflict("decisions can be changed only while awaiting confirmation",
                           code="InvalidImportStatus", target="status")
        if not any(row["transactionId"] == transaction_id for row in self._iter_rows(imp)):
            raise NotFound(f"transaction {transaction_id} is not staged in this import",
                           code="TransactionNotFound", target="transactionId")
        self.imports.put_decision(imp, transaction_id, decision)

    def _iter_rows(self, imp: Import) -> Any:
        for key in imp.chunk_keys:
            yield from read_chunk(self.s3, self.bucket, key)

    def plan(self, tenant: Tenant, import_id: str) -> dict[str, Any]:
        """What confirm would do: adds and skips, per account, with counts (a dry run)."""
        imp = self.imports.get(tenant, import_id)
        self._reviewable(imp)
        decisions = self.imports.decisions(imp)
        per_account: dict[str, dict[str, Any]] = {}
        for row in self._iter_rows(imp):
            decision = decisions.get(row["transactionId"], row.get("defaultDecision", "import"))
            acc = per_account.setdefault(row["bankAccountId"], {"bankAccountId": row["bankAccountId"],
                                                                "add": 0, "skip": 0, "addSum": Decimal(0),
                                                                "skippedTransactionIds": []})
            if decision == "import":
                acc["add"] += 1
                acc["addSum"] += Decimal(str(row["amount"]))
            else:
                acc["skip"] += 1
                if len(acc["skippedTransactionIds"]) < 1000:
                    acc["skippedTransactionIds"].append(row["transactionId"])
        accounts = list(per_account.values())
        for acc in accounts:
            acc["addSum"] = format(acc["addSum"], "f")
        return {"importId": imp.id, "status": imp.status.value,
                "add": sum(a["add"] for a in accounts), "skip": sum(a["skip"] for a in accounts),
                "accounts": accounts}

    def error_details(self, tenant: Tenant, import_id: str, *, page_size: int, cursor: str | None
                      ) -> tuple[list[dict[str, Any]], str | None, int]:
        """Whole-file problems first, then every rejected line, paged."""
        imp = self.imports.get(tenant, import_id)
        state = decode_cursor(cursor) or {"c": 0, "s": 0, "f": True}
        out: list[dict[str, Any]] = []
        if state.get("f", True):
            out.extend(d.to_api() for d in imp.error_details)
        keys = list(imp.options.get("errorChunkKeys", []))
        rows, nxt = page_rows(self.s3, self.bucket, keys, chunk=int(state.get("c", 0)),
                              skip=int(state.get("s", 0)), limit=page_size)
        out.extend({k: v for k, v in row.items() if v is not None} for row in rows)
        total = len(imp.error_details) + imp.validation_details_count
        return out, encode_cursor({"c": nxt[0], "s": nxt[1], "f": False}) if nxt else None, total

    # ledger -------------------------------------------------------------------------------------
    def ledger_page(self, tenant: Tenant, account_id: str, *, limit: int, cursor: str | None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        self.accounts.get(tenant, account_id)
        items, nxt = self.ledger.list(tenant, account_id, limit=limit, cursor=cursor)
        return [ledger_row(i) for i in items], nxt


def _money(value: Any) -> str | None:
    return None if value is None else format(Decimal(str(value)), "f")


_SHARED_TEXT = ("description", "bankTransactionId", "reference", "counterpartyName", "counterpartyAccount",
                "originalCurrency", "currency", "valueDate")


def transaction_view(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    """A staged row or a ledger item as the API shows a transaction (money as decimal strings), with
    the `extra` attributes the caller adds as they are."""
    amount = Decimal(str(row["amount"]))
    out: dict[str, Any] = {
        "transactionId": row["transactionId"],
        "bankAccountId": row["bankAccountId"],
        "transactionAmount": _money(amount),
        "transactionType": "CREDIT" if amount >= 0 else "DEBIT",
        "datePosted": row["datePosted"],
        "balance": _money(row.get("balance")),
        "originalAmount": _money(row.get("originalAmount")),
    }
    for name in (*_SHARED_TEXT, *extra):
        out[name] = row.get(name)
    out.setdefault("description", "")
    return {k: v for k, v in out.items() if v is not None}


def review_row(row: dict[str, Any], decision: str | None) -> dict[str, Any]:
    """A staged row as `reviewtransactions` shows it, with its decision."""
    out = transaction_view(row, "lineNumber", "duplicateOf", "duplicateReason")
    out["possibleDuplicate"] = bool(row.get("possibleDuplicate"))
    out["decision"] = decision or row.get("defaultDecision", "import")
    return out


def ledger_row(item: dict[str, Any]) -> dict[str, Any]:
    """A ledger item as `GET /bankaccounts/{id}/transactions` shows it."""
    return transaction_view(item, "importId", "committed", *SESSION_LEDGER_FIELDS)


#: what a line committed from an import session adds to its ledger view
SESSION_LEDGER_FIELDS = ("type", "transactionStatus", "categoryId", "subcategoryId", "tagIds", "workspaceId",
                         "sessionId", "stagedTransactionId", "billingMonth", "cardId", "counterpartAccountId",
                         "recurringId", "recurringType")


def import_view(imp: Import, *, include_report: bool, upload_path: str | None = None) -> dict[str, Any]:
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
            {k: v for k, v in {
                "id": a.id, "accountIdentifier": a.account_identifier, "countryCode": a.country_code,
                "bankIdentifier": a.bank_identifier, "transactionSign": a.transaction_sign.value,
            }.items() if v is not None}
            for a in imp.bank_accounts
        ],
        "fuzzyAccountMatching": imp.fuzzy_account_matching,
        "bypassReplayValidation": imp.bypass_replay_validation,
        "s3FilePath": imp.s3_key,
        "fileUploaded": imp.file_uploaded,
        "executionArn": imp.execution_arn,
        "validationDetails": [],
        "validationDetailsCount": imp.validation_details_count,
        "errorDetails": [d.to_api() for d in imp.error_details],
        "accountIdentifiers": [
            {k: v for k, v in {"accountIdentifier": d.account_identifier, "currency": d.currency,
                               "bankAccountId": d.bank_account_id,
                               "transactionCount": d.transaction_count}.items() if v is not None}
            for d in imp.discovered_accounts
        ],
        "amendCount": imp.amend_count,
        "created": iso(imp.created),
        "updated": iso(imp.updated),
        "completed": iso(imp.completed) if imp.completed else None,
        "reverted": iso(imp.reverted) if imp.reverted else None,
        # imports reverted before reverts ran asynchronously have `reverted` only
        "revertStatus": imp.revert_status or ("reverted" if imp.reverted else None),
        "expires": iso(imp.created + timedelta(days=365)),
    }
    for key in ("mapping", "productDates", "includePending", "revertedLineCount"):
        if key in imp.options:
            data[key] = imp.options[key]
    if include_report and imp.summary is not None:
        s = imp.summary
        data["statement"] = {
            "id": imp.id,
            "summary": {
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
            },
        }
    return {k: v for k, v in data.items() if v is not None}


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
