"""What the import-session use cases need: repositories and adapters, injected (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tximport import money
from tximport.adapters.workflow import WorkflowEngine
from tximport.errors import NotFound, ValidationFailed
from tximport.models import BankAccount, Tenant
from tximport.services.lifecycle import Lifecycle
from tximport.sessions.ids import parse_staged_id
from tximport.sessions.models import ImportSession, Invoice, InvoiceStatus, Scope, SessionType, StagedTransaction
from tximport.storage.kv import RememberingStore
from tximport.storage.ledger import LedgerStore
from tximport.storage.repository import AccountsStore
from tximport.storage.sessions import CatalogRepository, EventSink, SessionsRepository

#: the most staged lines a session holds (and an upload adds)
MAX_LINES_PER_SESSION = 25_000


class RememberingAccounts:
    """Bank accounts read once each (the accounts of one request's transfers); writes go through."""

    def __init__(self, accounts: AccountsStore) -> None:
        self.accounts = accounts
        self._read: dict[str, BankAccount | NotFound] = {}

    def get(self, tenant: Tenant, account_id: str) -> BankAccount:
        if account_id not in self._read:
            try:
                self._read[account_id] = self.accounts.get(tenant, account_id)
            except NotFound as missing:
                self._read[account_id] = missing
        found = self._read[account_id]
        if isinstance(found, NotFound):
            raise found
        return found

    def put(self, tenant: Tenant, account: BankAccount) -> None:
        self._read.clear()
        self.accounts.put(tenant, account)

    def list_page(self, tenant: Tenant, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[BankAccount], str | None]:
        return self.accounts.list_page(tenant, limit=limit, cursor=cursor)

    def claim_identifier(self, tenant: Tenant, identifier: str, account_id: str) -> str:
        self._read.clear()
        return self.accounts.claim_identifier(tenant, identifier, account_id)


@dataclass
class Deps:
    repo: SessionsRepository
    catalog: CatalogRepository
    #: the ledger every import writes (balances, duplicate checks, commit and close)
    ledger: LedgerStore
    #: the bank accounts of `/bankaccounts` (an account session's context)
    accounts: AccountsStore
    #: where session events leave (the outbox of the imports table, published from its stream)
    events: EventSink
    #: the enrichment state machine (large sessions enrich asynchronously)
    enrichment: WorkflowEngine
    #: the bank accounts' holds file imports take (a commit holds the accounts it writes alike)
    writers: Lifecycle | None = None
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())

    def remembering(self) -> Deps:
        """A copy for one request whose catalog and bank-account reads are each made once (checking 5,000 staged
        lines read their category, account or invoice 5,000 times); what it writes goes through."""
        return replace(self, catalog=CatalogRepository(RememberingStore(self.catalog.store)),
                       accounts=RememberingAccounts(self.accounts))

    def session(self, scope: Scope, session_id: str) -> ImportSession:
        return self.repo.get_session(scope.tenant, scope.workspace_id, session_id)

    def locate(self, scope: Scope, staged_id: str) -> tuple[ImportSession, StagedTransaction]:
        """A staged line by its id alone (the id carries its session's number and its sequence)."""
        parsed = parse_staged_id(staged_id)
        session = self.repo.session_by_number(scope.tenant, scope.workspace_id, parsed[0]) if parsed else None
        line = self.repo.get_line(scope.tenant, session, parsed[1]) if session and parsed else None
        if session is None or line is None or line.id != staged_id:
            raise NotFound(f"staged transaction {staged_id} not found", code="StagedTransactionNotFound",
                           target="id")
        return session, line

    def check_invoice_open(self, scope: Scope, session: ImportSession) -> Invoice | None:
        """A card session adds to its month's invoice only while that invoice is OPEN (closing another session of
        the card and month pays it): else 400 InvoiceNotOpen, and nothing is staged or committed. Answers the
        invoice as read (with its version), None outside a card session."""
        if session.type != SessionType.CARD or not session.billing_month:
            return None
        invoice = self.catalog.get_invoice(scope.tenant, scope.workspace_id, session.context_id,
                                           session.billing_month)
        if invoice is not None and invoice.status != InvoiceStatus.OPEN:
            raise ValidationFailed(f"the invoice of {session.billing_month} is {invoice.status.value}, not OPEN: "
                                   "its lines are settled (close or delete this session to discard its lines)",
                                   code="InvoiceNotOpen", target="billing_month")
        return invoice

    def settled_invoice(self, scope: Scope, session: ImportSession) -> Invoice | None:
        """The invoice of a card session when another session's close has settled it (not OPEN), else None."""
        if session.type != SessionType.CARD or not session.billing_month:
            return None
        invoice = self.catalog.get(scope.tenant, scope.workspace_id, Invoice, session.context_id,
                                   session.billing_month)
        if invoice is None or invoice.status == InvoiceStatus.OPEN or invoice.paid_by_session_id == session.id:
            return None
        return invoice

    def currency(self, scope: Scope, session: ImportSession) -> str | None:
        """The currency of a session's lines that name none: its account's (a card has none: 2 decimals)."""
        if session.type != SessionType.ACCOUNT:
            return None
        return self.account(scope, session.context_id, "account_id").currency

    def account(self, scope: Scope, account_id: str, target: str) -> BankAccount:
        try:
            return self.accounts.get(scope.tenant, account_id)
        except NotFound:
            raise ValidationFailed(f"bank account {account_id} not found", code="UnknownAccount",
                                   target=target) from None


def line_currency(data: dict[str, Any], default: str | None) -> str | None:
    """A staged line's currency: the one its data names (a line read from a file), else `default`."""
    named = data.get("currency")
    return named if isinstance(named, str) and named else default


#: the largest magnitude a session amount may have (a POST's model refuses it too; a file's line is rejected)
MAX_AMOUNT = Decimal("1000000000000")


def amount_problem(amount: Decimal, currency: str | None) -> str | None:
    """Why the ledger cannot keep `amount` in whole minor units of `currency` (None: it can). Integers of
    minor units are the contract: an amount finer than its currency is refused, never rounded. Zero moves no
    money (`amount_code`: ZeroAmount)."""
    if amount == 0:
        return "an amount of zero moves no money"
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        return "an amount is a finite number below 10^12"
    if money.fits(amount, currency):
        return None
    return (f"{amount} has more decimals than {currency or 'an amount of unknown currency'} allows "
            f"({money.exponent(currency)})")


def check_currency(data: dict[str, Any], account_currency: str | None, target: str, what: str = "the line") -> None:
    """A currency a line's data (or `what` else names it) is an ISO 4217 code, and its account's where the
    account has one (InvalidCurrency, CurrencyMismatch): a session never mixes amounts of two currencies in one
    account."""
    named = data.get("currency")
    if named is None:
        return
    if not isinstance(named, str) or named.upper() not in money.EXPONENTS:
        raise ValidationFailed(f"{named!r} is not an ISO 4217 currency code", code="InvalidCurrency", target=target)
    data["currency"] = named = named.upper()  # as the ledger writes codes
    if account_currency and named.upper() != account_currency.upper():
        raise ValidationFailed(f"{what} is in {named} and its bank account keeps {account_currency}",
                               code="CurrencyMismatch", target=target)


def amount_code(amount: Decimal) -> str:
    """The code of what `amount_problem` finds: ZeroAmount, else InvalidAmount."""
    return "ZeroAmount" if amount == 0 else "InvalidAmount"


def check_amount(amount: Decimal, currency: str | None, target: str) -> None:
    """Raises ValidationFailed ZeroAmount or InvalidAmount where `amount_problem` finds a problem."""
    problem = amount_problem(amount, currency)
    if problem:
        raise ValidationFailed(problem, code=amount_code(amount), target=target)
