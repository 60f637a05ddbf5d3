"""What a caller does with an import: create it, confirm it, amend it, delete it, ask for its revert."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from tximport.adapters.workflow import WorkflowEngine
from tximport.commands import AccountChoice, Amendment, CreateImport, FlipSigns, NameAccounts
from tximport.errors import Conflict, NotFound, TooManyRequests, Unavailable, ValidationFailed
from tximport.formats.base import FileError, FileFormat
from tximport.formats.csv_mapped import CsvMapping
from tximport.formats.registry import get_format
from tximport.ids import new_id
from tximport.models import (
    DELETABLE_STATUSES,
    BankAccount,
    DiscoveredAccount,
    ErrorDetail,
    Import,
    ImportBankAccount,
    ImportStatus,
    PollMonitor,
    Severity,
    Tenant,
    TransactionSign,
    utcnow,
)
from tximport.services.accounts import AccountService
from tximport.services.duplicates import DuplicateDetector
from tximport.services.lifecycle import SESSION_HOLDER_PREFIX, Lifecycle, describe_holder, held_by, revert_holder
from tximport.services.processing import REVIEWED_AGAIN
from tximport.services.workflow import expires_at
from tximport.storage.objects import ObjectStore
from tximport.storage.repository import AccountsStore
from tximport.storage.staging import Staging, import_prefix
from tximport.tasks import RevertRunTask, TenantRef

MAX_AMENDS = 10
#: the longest a public write holds an import's review (`ImportService.hold_reviews`): beyond any request's time
FEED_HOLD_SECONDS = 60
#: how long a revert asked right after the import's completion waits for the import to give its accounts back
#: (the completion step writes the status, then releases them)
_RELEASE_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8)
#: the bank of a placeholder account created while naming a discovery's accounts, when neither the
#: import nor the tenant's other accounts name one
PLACEHOLDER_BANK_ID = "unknown"


def _within_reach(imp: Import, day: date) -> bool:
    """Whether a ledger line of `day` is one the import's duplicate check compares its lines with."""
    summary = imp.summary
    if summary is None or summary.transaction_range_start_date is None or summary.transaction_range_end_date is None:
        return True
    reach = timedelta(days=DuplicateDetector.MIRROR_DAYS)
    return summary.transaction_range_start_date - reach <= day <= summary.transaction_range_end_date + reach


class ImportService:
    def __init__(self, *, accounts: AccountsStore, lifecycle: Lifecycle, objects: ObjectStore,
                 staging: Staging, upload_ttl: int, retention_days: int, revert_window: int,
                 reverts: WorkflowEngine | None = None) -> None:
        self.accounts = accounts
        self.lifecycle = lifecycle
        self.imports = lifecycle.imports
        self.objects = objects
        self.staging = staging
        self.upload_ttl = upload_ttl
        self.retention_days = retention_days
        self.revert_window = revert_window
        #: reverts run in their own workflow (statemachines/revert.asl.json)
        self.reverts = reverts

    def create(self, tenant: Tenant, command: CreateImport) -> Import:
        """Create an import awaiting its file; the caller answers with a presigned upload URL."""
        fmt = get_format(command.file_format)
        accounts, regions = self._accounts(tenant, fmt, command)
        mapping = self._mapping(fmt, command.mapping)
        product = next((a.product_dates for a in command.bank_accounts if a.product_dates), None)
        import_id = new_id()
        imp = Import(
            id=import_id, organisation_id=tenant.organisation_id, company_id=tenant.company_id,
            file_format=fmt.file_format, file_name=command.file_name, description=command.description,
            date_style=command.date_style, review_level=command.review_level, bank_accounts=accounts,
            bank_id=command.bank_id or next(iter(regions), None), source=command.source,
            data_source=command.data_source, source_product=command.source_product,
            api_type=command.api_type or ("multi" if fmt.accounts_supported == "multi" else "single"),
            fuzzy_account_matching=command.fuzzy_account_matching,
            bypass_replay_validation=command.bypass_replay_validation, mapping=mapping,
            include_pending=command.include_pending, product_dates=product,
            s3_key=f"uploads/{tenant.key}/{import_id}",
            expires_at=expires_at(self.retention_days),
        )
        self.imports.create(imp)  # its first status is announced from the table's stream
        return imp

    def _accounts(self, tenant: Tenant, fmt: FileFormat, command: CreateImport
                  ) -> tuple[list[ImportBankAccount], set[str]]:
        """The import's accounts as the tenant knows them (one bank only), and the banks they are at."""
        if fmt.accounts_supported == "single" and len(command.bank_accounts) != 1:
            raise ValidationFailed(f"{fmt.file_format} holds one bank account: give exactly one in bankAccounts",
                                   code="BankAccountsInvalid", target="bankAccounts")
        if len({a.id for a in command.bank_accounts}) != len(command.bank_accounts):
            raise ValidationFailed("a bank account is listed twice", code="BankAccountsInvalid",
                                   target="bankAccounts")
        accounts: list[ImportBankAccount] = []
        regions: set[str] = set()
        for index, given in enumerate(command.bank_accounts):
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
                currency=known.currency,
            ))
        if len(regions) > 1:
            raise ValidationFailed("Bank accounts must be processed separately: they belong to different banks",
                                   code="BankAccountsMustBeProcessedSeparately", target="bankAccounts",
                                   details=[{"id": a.id} for a in accounts])
        return accounts, regions

    @staticmethod
    def _mapping(fmt: FileFormat, mapping: dict[str, Any] | None) -> CsvMapping | None:
        """A mapped format needs a valid mapping now, not a failed import later; others take none."""
        if fmt.validate_mapping is None:
            if mapping is not None:
                raise ValidationFailed(f"{fmt.file_format} takes no mapping", code="MappingNotSupported",
                                       target="mapping")
            return None
        if mapping is None:
            raise ValidationFailed(f"{fmt.file_format} needs a column mapping", code="MappingRequired",
                                   target="mapping")
        try:
            validated = fmt.validate_mapping(mapping)
        except FileError as exc:
            raise ValidationFailed(exc.message, code=exc.code, target="mapping",
                                   details=[{"problem": p} for p in exc.details.get("problems", [])]) from None
        if not isinstance(validated, CsvMapping):  # the one kind of mapping an import holds
            raise TypeError(f"{fmt.file_format} validates its mapping into {type(validated).__name__}")
        return validated

    def upload_url(self, imp: Import) -> str:
        """A presigned PUT for the import's object key (plain `curl -T file URL` works)."""
        return self.objects.presign_put(imp.s3_key, self.upload_ttl)

    def get(self, tenant: Tenant, import_id: str) -> Import:
        """One of the tenant's imports (NotFound ImportNotFound otherwise)."""
        return self.imports.get(tenant, import_id)

    def poll(self, tenant: Tenant, import_id: str) -> tuple[Import, PollMonitor]:
        """A client polls the import: it is counted (statusMonitor) beside the import, which stays as it is."""
        imp = self.imports.get(tenant, import_id)
        return imp, self.imports.poll(imp)

    def monitors(self, tenant: Tenant, import_ids: list[str]) -> dict[str, PollMonitor]:
        """How often each of these imports was polled."""
        return self.imports.monitors(tenant, import_ids) if import_ids else {}

    def list_page(self, tenant: Tenant, *, limit: int, cursor: str | None, status: ImportStatus | None
                  ) -> tuple[list[Import], str | None]:
        """A page of the tenant's imports, newest first, and the cursor of the next one."""
        return self.imports.list_page(tenant, limit=limit, cursor=cursor, status=status)

    def delete(self, tenant: Tenant, import_id: str) -> Import:
        """Delete an import awaiting confirmation, complete or in error: one conditional write decides
        (a concurrent confirm, amend or expiry that wins makes this a 409 that changed nothing); then the
        waiting execution ends, staged rows, the file (every version) and decisions go, and its
        accounts are released. Deleting again repeats that clean-up, so an interrupted one finishes, and a delete
        that loses its write to another delete answers as that one does."""
        imp = self.imports.get(tenant, import_id)
        if imp.status == ImportStatus.DELETED:
            self._clean_up(imp)
            return imp
        try:
            return self._delete(imp)
        except Conflict:
            again = self.imports.get(tenant, import_id)
            if again.status != ImportStatus.DELETED:
                raise  # a confirm, amend or expiry won: theirs is the outcome
            self._clean_up(again)
            return again

    def _delete(self, imp: Import) -> Import:
        if imp.revert.status == "reverting":
            raise Conflict("the import is being reverted; delete it once the revert has finished",
                           code="InvalidImportStatus", target="revertStatus")
        if imp.revert_unfinished:  # deleting would lose what says which of its lines are still in the ledger
            raise Conflict("the import's revert stopped part-way: revert again to finish it, then delete it",
                           code="InvalidImportStatus", target="revertStatus")
        if imp.holds_failed_commit:  # deleting would lose what says which ledger lines it wrote
            raise Conflict("the import's failed commit left ledger lines: revert it, then delete it",
                           code="InvalidImportStatus", target="revertStatus")
        if imp.status not in DELETABLE_STATUSES:
            raise Conflict(f"an import in status {imp.status.value} cannot be deleted; delete is allowed in "
                           "awaitingConfirmation, complete or error", code="InvalidImportStatus",
                           target="status")
        deleted = [*imp.error_details,
                   ErrorDetail(severity=Severity.INFO, code="Deleted", message="deleted TransactionImport")]
        if imp.task_token:
            self.lifecycle.take_token(imp, "delete", ImportStatus.DELETED, error_details=deleted)
            if imp.token_taken:
                # a token that no longer waits changes nothing: the delete stands either way
                self.lifecycle.resume(imp.token_taken.token, {"action": "delete"})
        else:
            self.lifecycle.transition(imp, ImportStatus.DELETED, error_details=deleted)
        self._clean_up(imp)
        return imp

    def _clean_up(self, imp: Import) -> None:
        """What a deleted import leaves behind goes (each step may run again)."""
        tenant = imp.tenant
        self.staging.delete(import_prefix(tenant, imp.id))
        self.objects.delete(imp.s3_key)  # the statement itself goes too
        self.imports.delete_decisions(imp)
        if imp.file_sha256:
            for account in imp.bank_accounts:
                self.imports.delete_replay(tenant, account.id, imp.file_sha256, imp.id)
        self.lifecycle.release(imp)

    def confirm(self, tenant: Tenant, import_id: str) -> None:
        """Confirm an import awaiting confirmation. Idempotent: confirming again does nothing (and sends
        the token again if an earlier confirm could not reach the workflow)."""
        imp = self.imports.get(tenant, import_id)
        if imp.status in (ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE):
            self._resend_confirm(imp)
            return
        if imp.status != ImportStatus.AWAITING_CONFIRMATION or not imp.task_token:
            raise Conflict(f"an import in status {imp.status.value} cannot be confirmed",
                           code="InvalidImportStatus", target="status")
        if not imp.bank_accounts:
            raise Conflict("the import has no bank accounts yet: name them (amendtransactions with bankAccounts) "
                           "or delete the import", code="BankAccountsRequired", target="bankAccounts")
        if imp.feed_hold_until is not None and imp.feed_hold_until > utcnow():
            raise Conflict("public transactions are being written into one of the import's bank accounts, on a day "
                           "its review reaches: it is reviewed again once they are (read it again)",
                           code="BankAccountBusy", target="bankAccounts")
        try:
            before = self.lifecycle.take_token(imp, "confirm", ImportStatus.FINAL_PROCESSING)
        except Conflict:
            latest = self.imports.get(tenant, import_id)
            if latest.status in (ImportStatus.FINAL_PROCESSING, ImportStatus.COMPLETE):
                return  # a concurrent confirm won: confirming again does nothing
            raise
        self.lifecycle.send_taken(imp, before, {"action": "confirm"})

    def _resend_confirm(self, imp: Import) -> None:
        taken = imp.token_taken
        if imp.status == ImportStatus.FINAL_PROCESSING and taken is not None and taken.action == "confirm":
            try:  # already answered, or expired (the expiry step ends the import): nothing to do either way
                self.lifecycle.resume(taken.token, {"action": "confirm"})
            except Exception as exc:
                raise Unavailable("the workflow did not answer; confirm again") from exc

    def amend(self, tenant: Tenant, import_id: str, command: Amendment) -> None:
        """Flip the signs of the listed accounts, or name the accounts of an import created without any,
        and run processing again from the staged file. One conditional write takes the confirmation token
        (a concurrent confirm or delete that wins makes this a 409 that changed nothing); the decisions
        made so far belong to the old generation and stop applying."""
        imp = self.imports.get(tenant, import_id)
        if imp.status != ImportStatus.AWAITING_CONFIRMATION or not imp.task_token:
            raise Conflict(f"an import in status {imp.status.value} cannot be amended",
                           code="InvalidImportStatus", target="status")
        if isinstance(command, NameAccounts):
            self._name_accounts(tenant, imp, command)
            return
        self._flip(imp, command)

    def _flip(self, imp: Import, command: FlipSigns) -> None:
        if imp.amend_count >= MAX_AMENDS:
            raise TooManyRequests(f"an import can be amended at most {MAX_AMENDS} times",
                                  code="AmendLimitReached", target="flipTransactions")
        known = {a.id: a.model_copy() for a in imp.bank_accounts}
        for index, account_id in enumerate(command.bank_account_ids):
            if account_id not in known:
                raise ValidationFailed(f"bank account {account_id} is not part of this import",
                                       code="BankAccountNotInImport",
                                       target=f"flipTransactions.bankAccountIds[{index}]")
        for account_id in set(command.bank_account_ids):
            account = known[account_id]
            account.transaction_sign = (TransactionSign.REVERSED if account.transaction_sign ==
                                        TransactionSign.ORIGINAL else TransactionSign.ORIGINAL)
        before = self.lifecycle.take_token(imp, "amend", ImportStatus.PROCESSING,
                                           bank_accounts=[known[a.id] for a in imp.bank_accounts],
                                           amend_count=imp.amend_count + 1)
        self.lifecycle.send_taken(imp, before, {"action": "amend"})

    def hold_reviews(self, tenant: Tenant, days: set[tuple[str, date]]) -> list[str]:
        """Before public transactions are written on these (account, day)s: each import awaiting confirmation of one
        of the accounts whose duplicate check reaches one of the days is held, in a write on its version, so a
        confirm answers 409 until the writer sends it back to processing (`review_again`) or lets it go
        (`release_reviews`), or FEED_HOLD_SECONDS pass. A confirm that won first is left to: the writer comes
        after it. Answers the ids held."""
        held: list[str] = []
        for imp, _ in self._under_review(tenant, days):
            imp.feed_hold_until = utcnow() + timedelta(seconds=FEED_HOLD_SECONDS)
            try:
                self.imports.save(imp)
            except Conflict:
                continue
            held.append(imp.id)
        return held

    def release_reviews(self, tenant: Tenant, import_ids: list[str]) -> None:
        """Let go of the imports `hold_reviews` held that were not sent back (nothing the review reaches changed)."""
        for import_id in import_ids:
            for _ in range(3):
                imp = self.imports.get(tenant, import_id)
                if imp.feed_hold_until is None:
                    break
                imp.feed_hold_until = None
                try:
                    self.imports.save(imp)
                    break
                except Conflict:
                    continue

    def review_again(self, tenant: Tenant, days: set[tuple[str, date]], why: str) -> list[str]:
        """The ledger of these (account, day)s changed under an import awaiting confirmation of the account (public
        transactions were written): where a day is within the reach of its duplicate check (its file's days, and
        MIRROR_DAYS around them), its review, made against the ledger as it was, no longer says what confirm would
        add, so the import is processed again (as an amend that flips nothing: a new generation, whose duplicates
        are found against the ledger as it is now; the decisions made before no longer apply), and a hold
        (`hold_reviews`) ends. An import a confirm, amend or delete took meanwhile is left to that. Answers the ids
        of the imports sent back."""
        sent: list[str] = []
        for imp, account_id in self._under_review(tenant, days):
            note = ErrorDetail(severity=Severity.INFO, code=REVIEWED_AGAIN, target="bankAccounts",
                               message=f"processed again: {why} into bank account {account_id} after the review "
                                       "was made; the decisions made before no longer apply",
                               actual_value=account_id)
            try:
                before = self.lifecycle.take_token(imp, "amend", ImportStatus.PROCESSING,
                                                   error_details=[*imp.error_details, note], feed_hold_until=None)
                self.lifecycle.send_taken(imp, before, {"action": "amend"})
            except (Conflict, Unavailable):
                continue  # a confirm, amend or delete took it, or the window closed: theirs is the outcome
            sent.append(imp.id)
        return sent

    def _under_review(self, tenant: Tenant, days: set[tuple[str, date]]) -> list[tuple[Import, str]]:
        """The imports awaiting confirmation (a task token parked) that hold one of the accounts of `days`, with a
        day of it within the reach of their duplicate check, each once with the first such account (by id)."""
        by_account: dict[str, list[date]] = {}
        for account_id, day in days:
            by_account.setdefault(account_id, []).append(day)
        found: list[tuple[Import, str]] = []
        for account_id in sorted(by_account):
            holder = self.lifecycle.locks.holder(tenant, account_id)
            if holder is None or holder.startswith(SESSION_HOLDER_PREFIX) or held_by(holder)[1]:
                continue
            try:
                imp = self.imports.get(tenant, held_by(holder)[0])
            except NotFound:
                continue
            if imp.status == ImportStatus.AWAITING_CONFIRMATION and imp.task_token \
                    and any(_within_reach(imp, day) for day in by_account[account_id]) \
                    and all(imp.id != other.id for other, _ in found):
                found.append((imp, account_id))
        return found

    def _name_accounts(self, tenant: Tenant, imp: Import, command: NameAccounts) -> None:
        """Continue an account discovery: the named accounts (found or created) become the import's, and
        the workflow claims them (or queues behind the import holding them) and processes the file again."""
        if imp.bank_accounts:
            raise Conflict("the import already has its bank accounts: naming them continues an import created "
                           "without any (account discovery)", code="BankAccountsAlreadyNamed", target="bankAccounts")
        service = AccountService(self.accounts)
        known = service.all(tenant)
        discovered = {"".join(d.account_identifier.split()).upper(): d for d in imp.discovered_accounts}
        named: list[ImportBankAccount] = []
        for index, choice in enumerate(command.accounts):
            account = self._choose(tenant, service, known, choice, index, imp, discovered)
            if any(a.id == account.id for a in named):
                raise ValidationFailed("a bank account is named twice", code="BankAccountsInvalid",
                                       target=f"bankAccounts[{index}]")
            named.append(ImportBankAccount(
                id=account.id, account_identifier=choice.account_identifier or account.account_identifier,
                country_code=choice.country_code or account.country_code, bank_identifier=choice.bank_identifier,
                transaction_sign=choice.transaction_sign, currency=account.currency))
        regions = {a.bank_id for a in known if a.id in {n.id for n in named}}
        if len(regions) > 1:
            raise ValidationFailed("Bank accounts must be processed separately: they belong to different banks",
                                   code="BankAccountsMustBeProcessedSeparately", target="bankAccounts",
                                   details=[{"id": a.id} for a in named])
        # the workflow claims the accounts first (one active import per account), then processes
        before = self.lifecycle.take_token(imp, "accounts", ImportStatus.PROCESSING, bank_accounts=named,
                                           bank_id=imp.bank_id or next(iter(regions), None))
        self.lifecycle.send_taken(imp, before, {"action": "accounts"})

    @staticmethod
    def _choose(tenant: Tenant, service: AccountService, known: list[BankAccount], choice: AccountChoice,
                index: int, imp: Import, discovered: dict[str, DiscoveredAccount]) -> BankAccount:
        """The bank account a choice names: by id, or by identifier (found, else created)."""
        if choice.id:
            found = next((a for a in known if a.id == choice.id), None)
            if found is None:
                raise NotFound(f"bank account {choice.id} not found", code="BankAccountNotFound",
                               target=f"bankAccounts[{index}].id")
            return found
        identifier, country = choice.account_identifier or "", choice.country_code or ""
        entry = discovered.get("".join(identifier.split()).upper())
        bank = imp.bank_id or next((a.bank_id for a in known), None) or PLACEHOLDER_BANK_ID
        account, created = service.find_or_create(tenant, identifier, country_code=country, bank_id=bank,
                                                  currency=entry.currency if entry else None, known=known)
        if created:
            known.append(account)
        return account

    def _hold_accounts(self, imp: Import) -> None:
        """A revert holds the import's accounts until it is done, as an import does while it is processed: an
        import of one of them queues behind it. While another import holds one (processing, or awaiting
        confirmation with a review made against the ledger the revert would change: a line shown as
        already imported would then be in no ledger line), 409 BankAccountBusy and nothing changes."""
        for pause in (*_RELEASE_PAUSES, None):
            if self.lifecycle.acquire(imp, revert=True):
                return
            self._busy_elsewhere(imp)
            if pause is not None:  # the import's own completion is giving its accounts back (milliseconds)
                time.sleep(pause)
        raise Conflict("the import is still giving its bank accounts back after its completion: revert again",
                       code="BankAccountBusy", target="bankAccounts")

    def _busy_elsewhere(self, imp: Import) -> None:
        """409 BankAccountBusy naming the import (or revert) that holds one of the import's accounts, if another
        than the import itself (which holds them from its processing until its completion gives them back)."""
        for account_id in self.lifecycle.account_ids(imp):
            holder = self.lifecycle.locks.holder(imp.tenant, account_id)
            if holder in (None, imp.id, revert_holder(imp.id)):
                continue
            if holder.startswith(SESSION_HOLDER_PREFIX):
                raise Conflict(f"{describe_holder(holder)} is writing to bank account {account_id}: revert again "
                               "once it ends", code="BankAccountBusy", target="bankAccounts")
            other, reverting = held_by(holder)
            raise Conflict(f"{'the revert of ' if reverting else ''}import {other} holds bank account {account_id} "
                           "(it is processed, awaits confirmation against the ledger as it is, or is reverted): "
                           "wait for it, or confirm or delete it, then revert", code="BankAccountBusy",
                           target="bankAccounts")

    def revert(self, tenant: Tenant, import_id: str) -> tuple[Import, bool]:
        """Start the revert workflow, which removes the ledger lines this import added (not lines others added),
        run after run until none is left. Answers the import and whether the revert is still under way (False
        once reverted). Idempotent: while its workflow runs nothing new starts; a failed revert, or one whose
        workflow ended without recording an outcome, is started again and continues."""
        imp = self.imports.get(tenant, import_id)
        if imp.reverted or imp.revert.status == "reverted":
            return imp, False
        if imp.revert.status == "reverting" and self._revert_running(imp):
            return imp, True
        if imp.revert.status != "reverting":
            self._may_revert(imp)
        if self.reverts is None:
            raise RuntimeError("no workflow is configured to run reverts")
        self._hold_accounts(imp)
        imp.revert.status = "reverting"
        imp.revert.execution = f"{imp.id}-revert-{new_id()[-12:]}"
        try:
            self.imports.save(imp)
        except Conflict:
            latest = self.imports.get(tenant, import_id)
            if latest.revert.status in ("reverting", "reverted"):
                return latest, latest.revert.status == "reverting"  # a concurrent revert won (and holds)
            self.lifecycle.release(latest, revert=True)
            raise
        view = imp.model_copy(deep=True)  # as it was asked: the workflow may finish before we answer
        try:
            self.reverts.start(imp.revert.execution, RevertRunTask(
                import_id=imp.id, tenant_ref=TenantRef.of(tenant)).model_dump(by_alias=True, exclude={"action"}))
        except Exception:
            imp.revert.status = "revertFailed"
            imp.error_details = [*imp.error_details, ErrorDetail(
                severity=Severity.ERROR, code="RevertFailed",
                message="the revert could not be started; revert again")]
            self.imports.save(imp)
            if not imp.revert_unfinished:
                self.lifecycle.release(imp, revert=True)
            raise
        return view, True

    def _may_revert(self, imp: Import) -> None:
        """A complete import within the revert window, or one whose commit failed part-way (its workflow removes
        what it wrote; should that clean-up fail too, a revert removes the rest); else 409."""
        since = imp.completed if imp.status == ImportStatus.COMPLETE else (
            imp.commit_started if imp.status == ImportStatus.ERROR else None)
        if since is None:
            raise Conflict(f"only a complete import, or one whose commit failed, can be reverted (status "
                           f"{imp.status.value})", code="InvalidImportStatus", target="status")
        if utcnow() - since > timedelta(seconds=self.revert_window):
            raise Conflict("the revert window of this import has passed", code="RevertWindowPassed")

    def _revert_running(self, imp: Import) -> bool:
        """Whether the import's revert workflow still runs (one that ended without recording an outcome, e.g.
        its failure record failed too, leaves the import reverting: a new call starts it again)."""
        if self.reverts is None or imp.revert.execution is None:
            return True  # a revert started before reverts had a workflow: its own run records the outcome
        return self.reverts.status(imp.revert.execution) == "RUNNING"
