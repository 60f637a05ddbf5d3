"""`POST /api/public/v1/transactions`: up to 1,000 transactions posted as JSON go straight into the
ledger.

Deduplication is by accountIdentifier + transactionId, whatever the dates: the first line written for a
pair claims a reference item (a conditional write) pointing at its ledger line; a resend finds it and
counts as existing. A resend with other dates (a corrected valutaAt, an added bookedAt or purchasedAt)
updates those fields of the stored line (and moves it to its new posting day), never a second row; the
other fields keep their first values. A transaction without a transactionId is identified by its
content and its occurrence in the request, like a file line.

An accountIdentifier the tenant has no bank account for gets a placeholder bank account (a client of
the public endpoint has no other way to make one), unless the tenant's `autoCreateAccounts` setting is
off; the answer says so per transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

from schwifty import IBAN

from tximport.commands import PostedTransaction
from tximport.formats.accounts import match_account, same_identifier
from tximport.ids import transaction_id
from tximport.models import BankAccount, LedgerLine, Tenant, utcnow
from tximport.services.accounts import AccountService
from tximport.services.duplicates import PUBLIC_SOURCE_ID
from tximport.storage.ledger import LedgerStore, LineChanged, LineRef
from tximport.storage.repository import AccountsStore, SettingsStore

SOURCE_ID = PUBLIC_SOURCE_ID
MAX_TRANSACTIONS = 1000
#: the longest text value of a transaction: a ledger line holds several, and a DynamoDB item at most 400 KB
MAX_TEXT_CHARS = 1000
#: reads of a stored line a resend's correction makes while the line changes under it
_CORRECTION_ATTEMPTS = 6
#: the first pause before reading a changed line again (doubling: 1.6 s in all)
_RETRY_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class RejectedTransaction:
    """A posted transaction that was not written, and why."""

    index: int
    code: str
    message: str
    target: str


@dataclass(slots=True)
class ItemOutcome:
    """What happened to one posted transaction."""

    index: int
    result: Literal["new", "existing", "error"]
    bank_account_id: str | None = None
    transaction_id: str | None = None
    account_created: bool = False
    updated_fields: tuple[str, ...] = ()
    #: an existing transaction resent with other values for these fields: the stored values stay
    kept_fields: tuple[str, ...] = ()


@dataclass(slots=True)
class IngestResult:
    """What happened to the posted transactions."""

    existing: int = 0
    new: int = 0
    errors: list[RejectedTransaction] = field(default_factory=list)
    items: list[ItemOutcome] = field(default_factory=list)
    #: (accountIdentifier, bank account id) of each placeholder account created
    created_accounts: list[tuple[str, str]] = field(default_factory=list)
    #: the file imports awaiting confirmation of these accounts, processed again (their review missed these lines)
    reviewed_again: list[str] = field(default_factory=list)


def _country_of(identifier: str) -> str | None:
    """The ISO 3166 alpha-3 country of an IBAN (None for any other identifier)."""
    compact = "".join(identifier.split()).upper()
    try:
        country = IBAN(compact).country
    except (ValueError, LookupError):
        return None
    return str(country.alpha_3) if country is not None else None


class _Accounts:
    """The bank account of each accountIdentifier, matched once per identifier, exactly (spaces and case aside:
    the document makes the identifier the account's key, and a masked card number `****5678` is no current account
    `12345678`), created when unknown and the tenant allows it."""

    def __init__(self, service: AccountService, tenant: Tenant, *, create: bool, bank_id: str,
                 country_code: str) -> None:
        self.service, self.tenant = service, tenant
        self.create, self.bank_id, self.country_code = create, bank_id, country_code
        self.known: list[BankAccount] = service.all(tenant)
        self.resolved: dict[str, tuple[str | None, bool]] = {}
        self.created: list[tuple[str, str]] = []
        #: identifiers that several of the tenant's accounts have
        self.ambiguous: set[str] = set()

    def currency(self, account_id: str) -> str | None:
        """The currency of a known (or just created) bank account, None when it names none."""
        return next((a.currency for a in self.known if a.id == account_id), None)

    def of(self, identifier: str, currency: str | None) -> tuple[str | None, bool]:
        """(bank account id or None, whether this request created it: in `currency`, the one of the transaction
        that names it first)."""
        if identifier not in self.resolved:
            pairs = [(a.id, a.account_identifier) for a in self.known]
            found = match_account(identifier, pairs, False)
            created = False
            if found is None and len(set(same_identifier(identifier, pairs))) > 1:
                self.ambiguous.add(identifier)  # never a new one beside them: which is meant cannot be told
            elif found is None and self.create:
                account, created = self.service.find_or_create(
                    self.tenant, identifier, country_code=_country_of(identifier) or self.country_code,
                    bank_id=self.bank_id, currency=currency.upper() if currency else None, known=self.known)
                found = account.id
                if created:
                    self.known.append(account)
                    self.created.append((identifier, account.id))
            self.resolved[identifier] = (found, created)
        return self.resolved[identifier]


def _refusal(index: int, item: PostedTransaction, account_id: str | None, accounts: _Accounts
             ) -> RejectedTransaction | None:
    """Why a readable transaction cannot be written: no bank account, or one in another currency."""
    if account_id is None and item.account_identifier in accounts.ambiguous:
        return RejectedTransaction(
            index, "AmbiguousBankAccount", f"several bank accounts have the identifier {item.account_identifier!r}",
            f"$.transactions[{index}].accountIdentifier")
    if account_id is None:
        return RejectedTransaction(
            index, "BankAccountNotFound", f"no bank account has the identifier {item.account_identifier!r} "
            "(the tenant's autoCreateAccounts setting is off)", f"$.transactions[{index}].accountIdentifier")
    expected = accounts.currency(account_id)
    if expected and item.currency and item.currency.upper() != expected.upper():
        return RejectedTransaction(
            index, "CurrencyMismatch", f"the transaction is in {item.currency} and its bank account in {expected} "
            "(a foreign amount goes in originalAmount/originalCurrency)", f"$.transactions[{index}].currency")
    return None


class Reviews(Protocol):
    """The file imports under review: one whose accounts' ledger changed is reviewed again."""

    def hold_reviews(self, tenant: Tenant, days: set[tuple[str, date]]) -> list[str]: ...

    def release_reviews(self, tenant: Tenant, import_ids: list[str]) -> None: ...

    def review_again(self, tenant: Tenant, days: set[tuple[str, date]], why: str) -> list[str]: ...


class PublicTransactionsService:
    def __init__(self, *, accounts: AccountsStore, ledger: LedgerStore, settings: SettingsStore,
                 reviews: Reviews | None = None) -> None:
        self.accounts = accounts
        self.ledger = ledger
        self.settings = settings
        self.reviews = reviews

    def ingest(self, tenant: Tenant, posted: list[tuple[int, PostedTransaction]],
               rejected: list[RejectedTransaction]) -> IngestResult:
        """Write the new transactions, count (and correct the dates of) the existing ones; `rejected` are
        the ones the caller could not read, counted as errors."""
        settings = self.settings.get(tenant)
        accounts = _Accounts(AccountService(self.accounts), tenant, create=settings.auto_create_accounts,
                             bank_id=settings.placeholder_bank_id, country_code=settings.placeholder_country_code)
        result = IngestResult(errors=list(rejected))
        outcomes = {r.index: ItemOutcome(r.index, "error") for r in rejected}
        builder = _LineBuilder(committed=utcnow())
        keyed: list[tuple[ItemOutcome, LedgerLine, str]] = []
        plain: list[tuple[ItemOutcome, LedgerLine]] = []
        for index, item in posted:
            account_id, created = accounts.of(item.account_identifier, item.currency)
            refused = _refusal(index, item, account_id, accounts)
            if refused is not None:
                result.errors.append(refused)
                outcomes[index] = ItemOutcome(index, "error")
                continue
            assert account_id is not None
            line = builder.line(item, account_id)
            outcome = outcomes[index] = ItemOutcome(index, "new", account_id, line.transaction_id, created)
            if item.transaction_id:
                keyed.append((outcome, line, item.transaction_id))
            else:
                plain.append((outcome, line))
        # a review the lines may change is held first, so that no confirm lands while they are written
        reach = {(line.bank_account_id, line.date_posted) for _, line, _ in keyed} | {
            (line.bank_account_id, line.date_posted) for _, line in plain}
        held = self.reviews.hold_reviews(tenant, reach) if reach and self.reviews is not None else []
        try:
            self._write_keyed(tenant, keyed, result.errors)
            self._write_plain(tenant, plain)
        except BaseException:
            self._reviewed(tenant, set(reach), held, result)  # what was written before the failure
            raise
        result.items = [outcomes[i] for i in sorted(outcomes)]
        result.new = sum(1 for o in result.items if o.result == "new")
        result.existing = sum(1 for o in result.items if o.result == "existing")
        result.errors.sort(key=lambda e: e.index)
        result.created_accounts = accounts.created
        lines = {line.transaction_id: line for _, line, _ in keyed} | {line.transaction_id: line for _, line in plain}
        changed = {(o.bank_account_id, lines[o.transaction_id].date_posted) for o in result.items
                   if o.bank_account_id and o.transaction_id in lines and (o.result == "new" or o.updated_fields)}
        self._reviewed(tenant, changed, held, result)
        return result

    def _reviewed(self, tenant: Tenant, changed: set[tuple[str, date]], held: list[str],
                  result: IngestResult) -> None:
        """A file import of one of the accounts awaiting confirmation was reviewed without the lines written on
        `changed`: it is processed again, so its review shows what they duplicate (confirmed as it was, the money
        would be there twice); the imports held and not sent back are let go."""
        if self.reviews is None:
            return
        if changed:
            result.reviewed_again = self.reviews.review_again(tenant, changed, "public transactions were written")
        if held:
            self.reviews.release_reviews(tenant, [i for i in held if i not in result.reviewed_again])

    def _write_plain(self, tenant: Tenant, items: list[tuple[ItemOutcome, LedgerLine]]) -> None:
        """Lines without a transactionId: their content ids say whether they exist; each is written only where no
        line is yet, so of concurrent requests posting one line, one answers `new`."""
        existing = self.ledger.existing(tenant, [(line.bank_account_id, line.date_posted, line.transaction_id)
                                                 for _, line in items])
        new: dict[tuple[str, str], LedgerLine] = {}
        for outcome, line in items:
            key = (line.bank_account_id, line.transaction_id)
            if key in existing or key in new:
                outcome.result = "existing"
            else:
                new[key] = line
        written = self.ledger.write_new(tenant, new.values())
        for outcome, line in items:
            if outcome.result == "new" and line.transaction_id not in written:
                outcome.result = "existing"  # another request wrote it meanwhile

    def _write_keyed(self, tenant: Tenant, items: list[tuple[ItemOutcome, LedgerLine, str]],
                     errors: list[RejectedTransaction]) -> None:
        """Lines with a transactionId: the first of a pair claims its reference; the others are existing
        and correct the stored line's dates (a refused correction is an error of its own)."""
        known = self.ledger.refs(tenant, [(line.bank_account_id, bank_id) for _, line, bank_id in items])
        fresh: list[tuple[ItemOutcome, LedgerLine, str]] = []
        for outcome, line, bank_id in items:
            key = (line.bank_account_id, bank_id)
            ref = known.get(key)
            if ref is None:
                ref, won = self.ledger.claim_ref(tenant, line.bank_account_id, bank_id,
                                                 (line.bank_account_id, line.date_posted, line.transaction_id))
                known[key] = ref
                if won:
                    fresh.append((outcome, line, bank_id))
                    continue
            outcome.result = "existing"
            outcome.transaction_id = ref[2]
            # a line claimed earlier in this request must be there to update (written only where its reference
            # still points: a concurrent resend may have placed and moved it already)
            self._write_fresh(tenant, fresh)
            fresh = []
            corrected = self._correct_retried(tenant, outcome.index, line, bank_id, known)
            if isinstance(corrected, RejectedTransaction):
                outcome.result = "error"
                errors.append(corrected)
            else:
                outcome.updated_fields, outcome.kept_fields = corrected
        self._write_fresh(tenant, fresh)

    def _write_fresh(self, tenant: Tenant, fresh: list[tuple[ItemOutcome, LedgerLine, str]]) -> None:
        """Write the lines whose references this request claimed. One that finds a line at its id already (a file
        import wrote the bank's line with this transactionId on that day) is `existing`: nothing was created."""
        written = self.ledger.write_claimed(tenant, [(line, bank_id) for _, line, bank_id in fresh])
        for outcome, line, _ in fresh:
            if line.transaction_id not in written:
                outcome.result = "existing"

    def _correct_retried(self, tenant: Tenant, index: int, line: LedgerLine, bank_id: str,
                         known: dict[tuple[str, str], LineRef]) -> Correction | RejectedTransaction:
        """`_correct`, read again while the stored line changes under it (a reconciliation marks it, another
        resend moves it)."""
        key = (line.bank_account_id, bank_id)
        for attempt in range(_CORRECTION_ATTEMPTS):
            try:
                return self._correct(tenant, index, known[key], line, bank_id, known,
                                     last=attempt == _CORRECTION_ATTEMPTS - 1)
            except LineChanged:
                if attempt < _CORRECTION_ATTEMPTS - 1:
                    time.sleep(_RETRY_SECONDS * 2 ** attempt)
                known.update(self.ledger.refs(tenant, [key]))
        return RejectedTransaction(index, "TransactionBusy", "the stored transaction kept changing while its dates "
                                   "were corrected: send it again", f"$.transactions[{index}].transactionId")

    def _correct(self, tenant: Tenant, index: int, ref: LineRef, line: LedgerLine, bank_id: str,
                 known: dict[tuple[str, str], LineRef], *, last: bool = False
                 ) -> Correction | RejectedTransaction:
        """Update the stored line's dates from a resend; answers the fields that changed and those the resend
        gave other values that stay as stored (its amount, text, currency: the id names the first sent), or why
        the line cannot move (a reconciliation entry holds it: its booking day is what was reconciled)."""
        stored = self.ledger.lines_at(tenant, [ref]).get((ref[0], ref[2]))
        if stored is None:
            if not last:  # the claim's own request has not written its line yet, or another resend moved it
                raise LineChanged(f"no line at {ref}")
            # the reference was claimed but its line never written: write it where the reference points, while
            # it still does (the claim's own request may write it, and a resend move it, meanwhile)
            if self.ledger.write_claimed(tenant, [(replace(line, transaction_id=ref[2], date_posted=ref[1]), bank_id)]):
                return (), ()
            stored = self.ledger.lines_at(tenant, [ref]).get((ref[0], ref[2]))  # placed meanwhile: correct it
            if stored is None:
                raise LineChanged(f"the line at {ref} was moved meanwhile")
        # a booking day given before (bookedAt; a line stored before the flag: a day other than its value day)
        # stays when this resend gives none
        given_before = stored.booked_at_given or stored.date_posted != stored.value_date
        posted = line.date_posted if line.booked_at_given or not given_before else stored.date_posted
        changes = {"valueDate": (stored.value_date, line.value_date), "datePosted": (stored.date_posted, posted),
                   "purchaseDate": (stored.purchase_date, line.purchase_date or stored.purchase_date)}
        changed = tuple(name for name, (old, new) in changes.items() if old != new)
        if stored.import_id != SOURCE_ID:
            # the bank's line of a file import (or a session's): its import owns it (its revert removes it), and a
            # resend here changes none of its fields
            return (), _kept(stored, line) + changed
        if stored.reconciliation is not None and posted != stored.date_posted:
            mark = stored.reconciliation
            return RejectedTransaction(
                index, "TransactionReconciled", f"the transaction is matched by reconciliation "
                f"{mark.reconciliation_id} (entry {mark.entry_id}) on {stored.date_posted.isoformat()}: its booking "
                "day stays until that entry is unmatched", f"$.transactions[{index}]."
                f"{'bookedAt' if line.booked_at_given else 'valutaAt'}")
        if changed:
            stored.value_date, stored.date_posted = line.value_date, posted
            stored.booked_at_given = line.booked_at_given or given_before
            stored.purchase_date = line.purchase_date or stored.purchase_date
            self.ledger.replace(tenant, ref, stored, bank_id)
            known[(ref[0], bank_id)] = (ref[0], posted, ref[2])
        return changed, _kept(stored, line)


#: what correcting a resent transaction did: the fields updated, and those kept as stored
Correction = tuple[tuple[str, ...], tuple[str, ...]]


def _kept(stored: LedgerLine, resent: LedgerLine) -> tuple[str, ...]:
    """The fields (the document's names) a resend gives other values that are not updated."""
    kept = []
    if stored.amount != resent.amount:
        kept.append("amount")
        if (stored.amount < 0) != (resent.amount < 0):
            kept.append("creditDebit")
    if (stored.currency or "").upper() != (resent.currency or "").upper():
        kept.append("currency")
    if stored.description != resent.description:
        kept.append("text")
    return tuple(kept)


class _LineBuilder:
    """Posted transactions as ledger lines; identical lines without a transactionId are counted so
    that each gets its own id."""

    def __init__(self, *, committed: datetime) -> None:
        self.committed = committed
        self.occurrences: Counter[tuple[str, str, str, str]] = Counter()

    def line(self, item: PostedTransaction, account_id: str) -> LedgerLine:
        signed: Decimal = -item.amount if item.credit_debit == "debit" else item.amount
        posted: date = item.booked_at or item.valuta_at
        description = item.text or ""
        occurrence = 0
        if not item.transaction_id:
            key = (account_id, posted.isoformat(), format(signed, "f"), description)
            self.occurrences[key] += 1
            occurrence = self.occurrences[key]
        tx_id = transaction_id(account_id, date_posted=posted, amount=signed, description=description,
                               bank_transaction_id=item.transaction_id, occurrence=occurrence)
        return LedgerLine(
            transaction_id=tx_id, bank_account_id=account_id, amount=signed, currency=item.currency,
            date_posted=posted, value_date=item.valuta_at, purchase_date=item.purchased_at, description=description,
            bank_transaction_id=item.transaction_id, original_amount=item.original_amount,
            original_currency=item.original_currency, import_id=SOURCE_ID, committed=self.committed,
            booked_at_given=item.booked_at is not None)
