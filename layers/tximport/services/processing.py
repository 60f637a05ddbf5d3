"""Parse and validate an uploaded file: stream it, stage rows in S3 chunks, write the report.

Answers the workflow's next step: `review` (wait for confirmation), `confirm` (the review level lets it
go on by itself), `done` (nothing to import: account discovery) or `failed` (status error).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from tximport.formats import base
from tximport.formats.accounts import match_account
from tximport.formats.registry import get_format
from tximport.ids import content_key, transaction_id
from tximport.models import (
    DiscoveredAccount,
    ErrorDetail,
    Import,
    ImportBankAccount,
    ImportStatus,
    ReviewLevel,
    Severity,
    Summary,
    TransactionSign,
)
from tximport.services.duplicates import DuplicateDetector
from tximport.services.lifecycle import Lifecycle
from tximport.storage.ledger import LedgerRepository
from tximport.storage.s3source import S3Source
from tximport.storage.staging import ChunkWriter, delete_prefix, staging_prefix

log = logging.getLogger(__name__)

FILE_CHANGED = "FileChanged"

#: how many distinct recent dates keep their identical-line counters (files are mostly date ordered)
_OCCURRENCE_WINDOW = 64


class _Occurrences:
    """Counts identical lines so their ids differ, with memory bounded by a window of recent dates.

    Statement files list lines in date order (ascending or descending), so a date's counter is no
    longer needed once the file has moved on. A date that comes back after its counter was dropped
    gets the line number mixed into the occurrence, which keeps ids unique (and still deterministic
    for the same file)."""

    def __init__(self) -> None:
        self._by_date: OrderedDict[date, dict[bytes, int]] = OrderedDict()
        self._evicted: set[date] = set()

    def next(self, day: date, key: bytes, line_number: int) -> int:
        counters = self._by_date.get(day)
        if counters is None:
            counters = {}
            self._by_date[day] = counters
            if len(self._by_date) > _OCCURRENCE_WINDOW:
                old, _ = self._by_date.popitem(last=False)
                self._evicted.add(old)
        else:
            self._by_date.move_to_end(day)
        n = counters.get(key, 0) + 1
        counters[key] = n
        if day in self._evicted:
            return n * 1_000_000_000 + line_number
        return n


class ProcessingService:
    def __init__(self, *, lifecycle: Lifecycle, ledger: LedgerRepository, s3: Any, bucket: str,
                 chunk_rows: int) -> None:
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.ledger = ledger
        self.s3 = s3
        self.bucket = bucket
        self.chunk_rows = chunk_rows

    def process(self, imp: Import) -> str:
        """Run the whole parse of `imp`; answers the next workflow step."""
        if imp.status == ImportStatus.DELETED:
            return "done"
        fmt = get_format(imp.file_format)
        head = self.s3.head_object(Bucket=self.bucket, Key=imp.s3_key)
        size = int(head["ContentLength"])
        if size == 0:
            return self._fail(imp, base.EMPTY_FILE, "the uploaded file is empty")
        if size > fmt.max_file_size:
            return self._fail(imp, base.FILE_TOO_LARGE,
                              f"the file has {size} bytes; {fmt.file_format} accepts at most {fmt.max_file_size}")
        etag = str(head.get("ETag", ""))
        if imp.file_etag and etag != imp.file_etag:
            return self._fail(imp, FILE_CHANGED, "the uploaded file was replaced after processing began; "
                              "create a new import for the new file")
        imp.file_etag = etag
        source = S3Source(self.s3, self.bucket, imp.s3_key, size, etag)
        if imp.bank_accounts and not imp.bypass_replay_validation:
            digest = source.sha256()
            for account in imp.bank_accounts:
                earlier = self.imports.replay_of(imp.tenant, account.id, digest)
                if earlier and earlier != imp.id:
                    return self._fail(imp, "ReplayDetected",
                                      f"this file was already imported into bank account {account.id} "
                                      f"by import {earlier}; create the import with "
                                      "bypassReplayValidation: true to import it again",
                                      target="File", extra={"duplicateImportId": earlier})
            imp.file_sha256 = digest
        # a re-run (amend) starts a new generation; the old staged rows go
        old_prefix = imp.staging_prefix
        imp.generation += 1
        prefix = staging_prefix(imp.tenant, imp.id, imp.generation)
        try:
            outcome = self._parse(imp, fmt, source, prefix)
        except base.FileError as exc:
            delete_prefix(self.s3, self.bucket, prefix)
            return self._fail(imp, exc.code, exc.message, target=exc.target, extra=exc.details)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
            delete_prefix(self.s3, self.bucket, prefix)
            return self._fail(imp, FILE_CHANGED, "the uploaded file was replaced while it was being read; "
                              "create a new import for the new file")
        if old_prefix and old_prefix != prefix:
            delete_prefix(self.s3, self.bucket, old_prefix)
        return outcome

    def _parse(self, imp: Import, fmt: base.FileFormat, source: S3Source, prefix: str) -> str:
        options = base.ParseOptions(
            date_style=imp.date_style,
            mapping=imp.options.get("mapping"),
            include_pending=bool(imp.options.get("includePending", False)),
            extra=imp.options,
        )
        rows = ChunkWriter(self.s3, self.bucket, prefix, "rows", self.chunk_rows)
        errors = ChunkWriter(self.s3, self.bucket, prefix, "errors", self.chunk_rows)
        summary = Summary()
        detector = DuplicateDetector(self.ledger, imp.tenant)
        occurrences = _Occurrences()
        discovery = fmt.accounts_supported == "multi" and not imp.bank_accounts
        discovered: dict[str, DiscoveredAccount] = {}
        resolved: dict[str | None, ImportBankAccount | None] = {}
        product = imp.options.get("productDates") or {}
        start = date.fromisoformat(product["transactionStartDate"]) if product.get("transactionStartDate") else None
        end = date.fromisoformat(product["transactionEndDate"]) if product.get("transactionEndDate") else None
        duplicates = pending = out_of_range = 0
        currencies: set[str] = set()

        def account_for(ref: str | None) -> ImportBankAccount | None:
            if ref not in resolved:
                if fmt.accounts_supported == "single" or ref is None:
                    resolved[ref] = imp.bank_accounts[0] if imp.bank_accounts else None
                else:
                    pairs = [(a.id, a.account_identifier or "") for a in imp.bank_accounts]
                    match = match_account(ref, pairs, imp.fuzzy_account_matching)
                    resolved[ref] = next((a for a in imp.bank_accounts if a.id == match), None)
            return resolved[ref]

        for event in fmt.parser(source, options):
            if isinstance(event, base.StatementAccount):
                entry = discovered.setdefault(event.account_ref,
                                              DiscoveredAccount(account_identifier=event.account_ref,
                                                                currency=event.currency))
                account = None if discovery else account_for(event.account_ref)
                entry.bank_account_id = account.id if account else None
                continue
            if isinstance(event, base.LineError):
                summary.rejected_line_count += 1
                errors.write({"severity": "error", "code": event.code, "message": event.message,
                              "lineNumber": event.line_number, "actualValue": event.actual_value,
                              "target": event.target})
                continue
            line: base.ParsedLine = event
            if line.account_ref is not None:
                entry = discovered.setdefault(line.account_ref,
                                              DiscoveredAccount(account_identifier=line.account_ref))
                entry.transaction_count += 1
            if discovery:
                continue
            if line.pending and not options.include_pending:
                pending += 1
                continue
            account = account_for(line.account_ref)
            if account is None:
                summary.ignored_line_count += 1
                continue
            if (start and line.date_posted < start) or (end and line.date_posted > end):
                out_of_range += 1
                continue
            amount = -line.amount if account.transaction_sign == TransactionSign.REVERSED else line.amount
            description = line.description or ""
            occurrence = occurrences.next(line.date_posted, content_key(account.id, line.date_posted, amount,
                                                                        description), line.line_number)
            tx_id = transaction_id(account.id, date_posted=line.date_posted, amount=amount,
                                   description=description, bank_transaction_id=line.bank_transaction_id,
                                   occurrence=occurrence)
            verdict = detector.check(account.id, tx_id, line.date_posted, amount, description,
                                     line.bank_transaction_id)
            if verdict:
                duplicates += 1
            currency = line.currency or (discovered.get(line.account_ref or "") or DiscoveredAccount(
                account_identifier="")).currency
            if currency:
                currencies.add(currency)
            summary.add(amount, line.date_posted)
            rows.write({
                "transactionId": tx_id,
                "bankAccountId": account.id,
                "amount": amount,
                "currency": currency,
                "datePosted": line.date_posted.isoformat(),
                "valueDate": line.value_date.isoformat() if line.value_date else None,
                "description": description,
                "lineNumber": line.line_number,
                "bankTransactionId": line.bank_transaction_id,
                "reference": line.reference,
                "counterpartyName": line.counterparty_name,
                "counterpartyAccount": line.counterparty_account,
                "balance": line.balance,
                "originalAmount": line.original_amount,
                "originalCurrency": line.original_currency,
                "possibleDuplicate": verdict is not None,
                "duplicateOf": verdict.duplicate_of if verdict else None,
                "duplicateReason": ({"reason": verdict.reason, "certain": verdict.certain, **verdict.evidence}
                                    if verdict else None),
                "defaultDecision": "skip" if verdict and verdict.certain else "import",
            })
        chunk_keys = rows.close()
        error_keys = errors.close()
        summary.transaction_date_overlap_count = detector.overlap_count() if not discovery else 0
        summary.account_details_count = len(discovered) if discovered else len(imp.bank_accounts)
        summary.currencies = sorted(currencies)
        warnings: list[ErrorDetail] = []
        if summary.rejected_line_count:
            warnings.append(ErrorDetail(severity=Severity.WARNING, code="RejectedLines",
                                        message=f"{summary.rejected_line_count} line(s) were rejected; "
                                                "see errordetails"))
        if summary.transaction_date_overlap_count:
            warnings.append(ErrorDetail(severity=Severity.WARNING, code="TransactionDateOverlap",
                                        message=f"{summary.transaction_date_overlap_count} transaction(s) "
                                                "already in the ledger on the days this file covers"))
        if duplicates:
            warnings.append(ErrorDetail(severity=Severity.WARNING, code="PossibleDuplicates",
                                        message=f"{duplicates} line(s) may already be in the ledger"))
        if summary.ignored_line_count:
            warnings.append(ErrorDetail(severity=Severity.INFO, code="UnlistedAccountLines",
                                        message=f"{summary.ignored_line_count} line(s) belong to accounts "
                                                "not listed on the import and were ignored"))
        if pending:
            warnings.append(ErrorDetail(severity=Severity.INFO, code="PendingEntriesSkipped",
                                        message=f"{pending} pending (not booked) entr(y/ies) skipped"))
        if out_of_range:
            warnings.append(ErrorDetail(severity=Severity.INFO, code="OutsideProductDates",
                                        message=f"{out_of_range} line(s) outside productDates left out"))
        imp.staging_prefix = prefix
        imp.chunk_keys = chunk_keys
        imp.options = {**imp.options, "errorChunkKeys": error_keys}
        imp.summary = summary
        imp.discovered_accounts = list(discovered.values())
        imp.validation_details_count = summary.rejected_line_count
        imp.error_details = [d for d in imp.error_details if d.severity == Severity.ERROR] + warnings
        if discovery:
            self.lifecycle.transition(imp, ImportStatus.COMPLETE, error_details=[*imp.error_details,
                                      ErrorDetail(severity=Severity.INFO, code="AccountDiscovery",
                                                  message="no bank accounts were listed: the accounts the "
                                                          "file holds are reported and nothing is imported")])
            self.lifecycle.release(imp)
            return "done"
        if summary.transaction_details_count == 0 and summary.rejected_line_count:
            return self._fail(imp, base.INVALID_SOURCE_DATA, "no line of the file could be imported; "
                              "see errordetails", target="File")
        has_warnings = any(w.severity == Severity.WARNING for w in warnings)
        # minimalReview goes on unless lines were rejected; exceptionReview unless anything warns
        goes_on = (imp.review_level == ReviewLevel.MINIMAL and not summary.rejected_line_count) or (
            imp.review_level == ReviewLevel.EXCEPTION and not has_warnings)
        outcome = "confirm" if goes_on else "review"
        if outcome == "confirm":
            self.lifecycle.transition(imp, ImportStatus.FINAL_PROCESSING)
        else:
            # stays `processing` until the await step has parked its task token, so a client never
            # sees awaitingConfirmation before a confirm can be accepted
            self.imports.save(imp)
        return outcome

    def _fail(self, imp: Import, code: str, message: str, *, target: str | None = "File",
              extra: dict[str, Any] | None = None) -> str:
        detail = ErrorDetail(code=code, message=message, target=target)
        if extra:
            candidates = extra.get("candidates")
            if candidates:
                detail.message = f"{message} (candidates: {', '.join(map(str, candidates))})"
            imp.options = {**imp.options, "errorContext": extra}
        self.lifecycle.fail(imp, [detail])
        return "failed"


def to_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
