"""Domain models of reconciliations: what a client expects (entries), what the bank booked (statement
lines from the ledger), how the two are matched (options, results) and the reconciliation itself.

Money is Decimal at the edges; the engine compares amounts in integer ten-thousandths (`to_units`), which is
exact for every amount of every currency (JPY 0, EUR 2, BHD 3, CLF 4 decimals) and rounds half-even beyond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tximport import money
from tximport.models import LedgerLine, Tenant, utcnow

#: at most this many entries in one POST (the Lambda request payload is 6 MB, API Gateway's body 10 MB)
MAX_ENTRIES = 20_000
#: the longest period one reconciliation covers, in days (periodStart and periodEnd included)
MAX_PERIOD_DAYS = 90
#: manual matches and unmatches kept per reconciliation (each is one small item)
MAX_OVERRIDES = 10_000
#: the most integer digits an entry's amount may have (it is below 10^15): what a bank statement can hold. An
#: MT940 amount is at most 15 characters with its decimal comma; no real movement comes near a quadrillion in
#: any currency, so a larger amount is a mistake (a misplaced decimal point, an id in the amount column)
MAX_AMOUNT_DIGITS = 15
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_DIGITS


class Direction(StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


class MatchStatus(StrEnum):
    MATCHED = "MATCHED"
    UNMATCHED = "UNMATCHED"
    MANUAL = "MANUAL"


class ReconciliationStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    PARTIALLY_MATCHED = "PARTIALLY_MATCHED"
    FAILED = "FAILED"


#: statuses after which matching has finished (manual changes and re-runs are allowed)
SETTLED = frozenset({ReconciliationStatus.COMPLETED, ReconciliationStatus.PARTIALLY_MATCHED})


class Source(StrEnum):
    FILE_UPLOAD = "FILE_UPLOAD"
    API_IMPORT = "API_IMPORT"
    AUTOMATIC = "AUTOMATIC"


class Rule(StrEnum):
    """Why an entry was matched."""

    EXACT_REFERENCE = "EXACT_REFERENCE"
    SCORED = "SCORED"
    MANUAL = "MANUAL"


#: the decimals of the engine's integer unit: every currency's minor unit is a whole number of it (ISO 4217 has
#: none finer than four decimals), so amounts of 0, 2 and 3 decimals compare exactly
UNIT_PLACES = 4


def to_units(amount: Decimal) -> int:
    """An amount in integer ten-thousandths (half-even beyond four decimals)."""
    return int(amount.scaleb(UNIT_PLACES).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-UNIT_PLACES)


#: the near range of an entry (`near_units`): lines whose amount differs by no more than it may be suggested for
#: an unmatched entry, never matched unless within `amountTolerance`. It is 1% of the entry's amount, but at
#: least 5 and at most 100 of the currency's minor units: rounding is a few minor units whatever the amount
#: (EUR 0.05, KWD 0.005, JPY 5), a small fee or charge deducted a little more (EUR 1.00, KWD 0.100, JPY 100 at
#: most), and a tiny amount is never near one many times its size (BHD 0.050 and 0.001 are not near)
NEAR_PERCENT = 1
NEAR_MINOR_UNITS_MIN = 5
NEAR_MINOR_UNITS_MAX = 100


def near_units(units: int, currency: str | None) -> int:
    """The near range of an entry of `units` (its amount in ten-thousandths) in `currency`, in ten-thousandths:
    NEAR_PERCENT of the amount (rounded down) bounded by NEAR_MINOR_UNITS_MIN and NEAR_MINOR_UNITS_MAX minor units
    of the currency (ISO 4217: EUR 0.01, KWD 0.001, JPY 1; two decimals for an unknown one)."""
    minor: int = 10 ** max(0, UNIT_PLACES - money.exponent(currency))
    return min(NEAR_MINOR_UNITS_MAX * minor, max(NEAR_MINOR_UNITS_MIN * minor, abs(units) * NEAR_PERCENT // 100))


class MatchingOptions(BaseModel):
    """Tolerances, windows and thresholds of one reconciliation (`matchingOptions`, all optional).

    Scores run from 0 to 1: the weighted sum of the parts (amount, date, text, reference, counterparty);
    a part that cannot be judged (no counterparty on the line) is left out and the weights of the others
    are scaled up.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    amount_tolerance: Decimal = Field(
        default=Decimal("0"), alias="amountTolerance", ge=0, le=1000,
        description="largest absolute amount difference (in the account's currency) an automatic match may have; "
                    "0, the default, matches only the exact amount. Lines of a near amount are suggested for an "
                    "unmatched entry whatever this is, never matched beyond it")
    date_window_days: int = Field(default=5, alias="dateWindowDays", ge=0, le=31,
                                  description="largest distance in days between the entry's date and the "
                                              "line's booking date")
    auto_match_score: float = Field(default=0.72, alias="autoMatchScore", gt=0, le=1,
                                    description="a score at or above this matches on its own")
    suggest_score: float = Field(default=0.45, alias="suggestScore", ge=0, le=1,
                                 description="a score at or above this (and below autoMatchScore) is a suggestion")
    ambiguity_margin: float = Field(default=0.05, alias="ambiguityMargin", ge=0, le=1,
                                    description="an alternative assignment within this of the chosen one makes "
                                                "the match ambiguous: the entry stays UNMATCHED and is flagged")
    max_suggestions: int = Field(default=3, alias="maxSuggestions", ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> MatchingOptions:
        if self.suggest_score > self.auto_match_score:
            raise ValueError("suggestScore must not exceed autoMatchScore")
        return self

    @property
    def tolerance_units(self) -> int:
        return to_units(self.amount_tolerance)


#: the weights of the score's parts (they add up to 1)
WEIGHTS = {"amount": 0.40, "date": 0.25, "text": 0.15, "reference": 0.15, "counterparty": 0.05}


@dataclass(slots=True)
class Entry:
    """One expected entry (what the client's books say)."""

    index: int
    direction: Direction
    amount: Decimal
    description: str
    transaction_date: date
    external_ref: str | None = None
    currency: str | None = None


@dataclass(slots=True)
class StatementLine:
    """One ledger line as the matcher sees it (direction from the sign, amount absolute)."""

    transaction_id: str
    direction: Direction
    amount: Decimal
    booking_date: date
    description: str = ""
    currency: str | None = None
    bank_transaction_id: str | None = None
    reference: str | None = None
    counterparty: str | None = None


def statement_line(line: LedgerLine) -> StatementLine:
    """A ledger line as the matcher sees it: the direction from the sign, the amount absolute."""
    return StatementLine(
        transaction_id=line.transaction_id, direction=Direction.CREDIT if line.amount >= 0 else Direction.DEBIT,
        amount=abs(line.amount), booking_date=line.date_posted, description=line.description,
        currency=line.currency, bank_transaction_id=line.bank_transaction_id, reference=line.reference,
        counterparty=line.counterparty_name)


@dataclass(slots=True)
class Candidate:
    """A statement line scored against an entry."""

    line: str  # transaction id
    score: float
    parts: dict[str, float]
    amount_delta: Decimal  # line amount minus entry amount (both absolute)
    date_delta: int  # line date minus entry date, in days


@dataclass(slots=True)
class RunnerUp:
    """The best alternative to a chosen match and what it would cost (`regret`, in score)."""

    line: str
    score: float
    regret: float
    reason: str


@dataclass(slots=True)
class EntryResult:
    """The engine's answer for one entry, with everything needed to explain it."""

    index: int
    status: MatchStatus = MatchStatus.UNMATCHED
    rule: Rule | None = None
    line: str | None = None
    score: float | None = None
    parts: dict[str, float] | None = None
    amount_delta: Decimal | None = None
    date_delta: int | None = None
    runner_up: RunnerUp | None = None
    ambiguous: bool = False
    reason: str = ""
    suggestions: list[Candidate] = field(default_factory=list)


class Counts(BaseModel):
    """Entry counts and sums (absolute amounts) per match status."""

    total_entries: int = 0
    matched_entries: int = 0
    manual_entries: int = 0
    unmatched_entries: int = 0
    total_amount: Decimal = Decimal("0")
    matched_amount: Decimal = Decimal("0")
    unmatched_amount: Decimal = Decimal("0")
    ambiguous_entries: int = 0
    suggested_entries: int = 0


class ResultChunks(BaseModel):
    """Where one run's results are: chunk keys per listing, with the first entry index of each chunk."""

    run: int = 0
    chunk_size: int = 1000
    keys: dict[str, list[str]] = Field(default_factory=dict)  # "ALL" | MatchStatus -> chunk keys
    firsts: dict[str, list[int]] = Field(default_factory=dict)  # same keys -> first entry index per chunk
    counts: dict[str, int] = Field(default_factory=dict)  # same keys -> entries in the listing


class Reconciliation(BaseModel):
    """One reconciliation of an account's period: its entries live in S3, its results in result chunks."""

    id: str
    organisation_id: str
    company_id: str
    account_id: str
    period_start: date
    period_end: date
    source: Source
    status: ReconciliationStatus = ReconciliationStatus.PENDING
    currency: str | None = None
    options: MatchingOptions = Field(default_factory=MatchingOptions)
    entries_key: str
    counts: Counts = Field(default_factory=Counts)
    results: ResultChunks | None = None
    failure_reason: str | None = None
    execution_arn: str | None = None
    runs: int = 0
    overrides: int = 0
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
    completed: datetime | None = None
    version: int = 0
    #: a DELETE has begun (services/reconciliations/withdraw.py): no change but the DELETE that finishes it
    withdrawing: bool = False

    @property
    def tenant(self) -> Tenant:
        return Tenant(organisation_id=self.organisation_id, company_id=self.company_id)

    def overlaps(self, start: date, end: date) -> bool:
        """Periods overlap when they share at least one day (both ends included)."""
        return self.period_start <= end and start <= self.period_end


class Override(BaseModel):
    """A manual decision on one entry, laid over the run's results (MANUAL match or an unmatch)."""

    index: int
    status: MatchStatus
    line: str | None = None  # the ledger transaction id of a MANUAL match
    statement_day: str | None = None
    base_status: MatchStatus
    at: datetime = Field(default_factory=utcnow)
