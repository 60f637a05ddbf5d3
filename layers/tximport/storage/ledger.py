"""The ledger: confirmed transactions per bank account.

Transactions are partitioned by account and day (`...#A#<account>#D#<day>`), which spreads the writes
of a large commit over many partition keys and lets the duplicate check and the overlap count read
exactly the days a file covers. A small `DAY#` index item per account and day lets the ledger be
listed newest first without a scan. This module owns that key layout and the item mapping: a ledger
item holds a `LedgerLine` by the API's field names (`transactionId`, `amount` as a number, `datePosted`
as an ISO date, `committed` as an ISO timestamp, `reconciliation` as the map of the entry matched to
it, ...; absent values are left out).

Lines committed from an import session add their own attributes (`type`, `transactionStatus`,
`categoryId`, ..., see `_session_attributes`) and two kinds of index items in the account's partition
(`INVOICEDAY#`, `VALIDATING#`: storage/keys.py), so that an invoice's sums and close read only the days
and lines they need.

Balances: a `BAL#<day>` item per account and day holds the sum and count of that day's lines. It is
recomputed from the day's lines (never added to) after every write or removal that touches the day, so
a retried chunk cannot count twice; the write is conditional on the version read before the lines, so
two writers of one day (a commit, a public post) cannot leave a stale sum: the loser reads again. The
commit workers of an import write lines only, and its days are recomputed once after the last chunk
(`refresh_totals` with workers, from the workflow's RefreshBalances step): chunks of a file not ordered
by date share most of their days, and recomputing each day in every chunk, at the same moments, made
the work grow with the chunks times the days. A running balance then needs the day items between a
statement's closing and the day asked for, never the lines of the whole ledger (services/ledger_queries.py).
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from tximport.models import LedgerLine, LineMark, ReconciliationMark, Tenant, Transaction, iso
from tximport.sessions.balances import ledger_sums
from tximport.sessions.models import SessionLedgerEntry, StagedTransactionType, TransactionStatus, TypeSums
from tximport.statements.pending import LineKey
from tximport.storage import keys
from tximport.storage.batch import TransientError as TransientError  # what the workflow retries on
from tximport.storage.batch import batch_write, failed_actions
from tximport.storage.pagination import decode_cursor, encode_cursor, query_all
from tximport.storage.transactions import transaction_fields

_serializer = TypeSerializer()
#: a decimal written plainly, with at most 38 significant digits (DynamoDB's precision)
_PLAIN_NUMBER = re.compile(r"-?\d{1,38}(\.\d{1,38})?")
_deserializer = TypeDeserializer()

#: what a day's balance reads of its lines
_AMOUNT_NAMES = {"#a": "amount", "#p": "pending", "#s": "transactionStatus", "#f": "foreignCurrency"}
#: a session line committed IGNORE (`data.ignore`: a copy the client settled) counts in no balance
_IGNORED = TransactionStatus.IGNORE.value
#: how long after putting a day's `DAY#` item a writer may still be writing its lines (the item is kept that long
#: even when the day is read empty)
_DAY_WRITE_SECONDS = 60
#: how far before its booked line a replaced pending line is looked for when it is opened again
_PENDING_LOOKBACK_DAYS = 62

#: a ledger line named by where it is: (bank account id, day posted, transaction id)
LineRef = tuple[str, date, str]


def _text(value: str | None) -> dict[str, str] | None:
    return None if value is None else {"S": value}


def _number(value: Decimal | int | None) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Decimal) and len(value.as_tuple().digits) > _DYNAMODB_DIGITS:
        # written with more digits than it has significant ones (`1` and 38 zeros, `...678.0`): DynamoDB counts the
        # significant ones, the serializer every digit written; the same value without its trailing zeros
        value = value.normalize(_WIDE)
    serialized: dict[str, str] = _serializer.serialize(value)  # {"N": "..."}, checked as DynamoDB numbers
    return serialized


#: digits a DynamoDB number holds; a context wide enough to drop trailing zeros without rounding
_DYNAMODB_DIGITS = 38
_WIDE = Context(prec=1000)


def _total_value(total: Decimal) -> dict[str, str]:
    """A day's balance as its item keeps it: a number, or its exact text when it has more significant digits than a
    DynamoDB number holds (amounts of 10^36 and cents on one day); `day_totals` reads either."""
    if storable(total):
        return {"N": _number_text(total)}
    return {"S": format(total, "f")}


def storable(value: Decimal) -> bool:
    """Whether the ledger stores `value` exactly: a DynamoDB number has at most 38 significant digits and
    a magnitude from 1E-130 to below 1E+126 (the check the item serializer makes on write)."""
    if not value.is_finite() or (value != 0 and not -130 <= value.adjusted() <= 125):
        return False  # DynamoDB refuses these (the serializer lets an exact subnormal like 1E-131 pass)
    try:
        DYNAMODB_CONTEXT.create_decimal(value)
    except (ArithmeticError, ValueError):  # Inexact, Rounded, Overflow, Underflow, Clamped
        return False
    return True


def encode_line(tenant: Tenant, line: LedgerLine) -> dict[str, dict[str, Any]]:
    """The ledger item of a line (low-level attribute values), keyed by account, day and id."""
    attributes: dict[str, dict[str, Any] | None] = {
        "pk": {"S": keys.ledger_day_pk(tenant, line.bank_account_id, line.date_posted)},
        "sk": {"S": keys.ledger_tx_sk(line.transaction_id)},
        "transactionId": {"S": line.transaction_id},
        "bankAccountId": {"S": line.bank_account_id},
        "amount": _number(line.amount),
        "currency": _text(line.currency),
        "datePosted": {"S": line.date_posted.isoformat()},
        "valueDate": _text(line.value_date.isoformat() if line.value_date else None),
        "description": {"S": line.description},
        "bankTransactionId": _text(line.bank_transaction_id),
        "reference": _text(line.reference),
        "counterpartyName": _text(line.counterparty_name),
        "counterpartyAccount": _text(line.counterparty_account),
        "balance": _number(line.balance),
        "originalAmount": _number(line.original_amount),
        "originalCurrency": _text(line.original_currency),
        "purchaseDate": _text(line.purchase_date.isoformat() if line.purchase_date else None),
        "reversal": {"BOOL": True} if line.reversal else None,
        "pending": {"BOOL": True} if line.pending else None,
        "replacesPendingId": _text(line.replaces_pending_id),
        "reversalOf": _text(line.reversal_of),
        "replacedBy": _text(line.replaced_by),
        "importId": _text(line.import_id or None),
        "lineNumber": _number(line.line_number),
        "committed": {"S": iso(line.committed)},
        "bookedAtGiven": {"BOOL": True} if line.booked_at_given else None,
        "linkedBy": _text(line.linked_by),
        "foreignCurrency": {"BOOL": True} if line.foreign_currency else None,
        "reconciliation": _mark_value(line.reconciliation) if line.reconciliation else None,
        **(_session_attributes(line.session) if line.session else {}),
    }
    return {name: value for name, value in attributes.items() if value is not None}


#: the optional text attributes of a staged chunk line, copied as they are
_STAGED_TEXT = ("currency", "valueDate", "bankTransactionId", "reference", "counterpartyName", "counterpartyAccount",
                "originalCurrency")
#: its optional numbers (decimal strings in the chunk line; a DynamoDB number is its decimal text)
_STAGED_NUMBERS = ("balance", "originalAmount")
#: its statement-truth marks (written only where true) and links (only where set)
_STAGED_FLAGS = ("reversal", "pending", "foreignCurrency")
_STAGED_LINKS = ("replacesPendingId", "reversalOf")


def encode_staged(pk_prefix: str, record: Mapping[str, Any], import_id: str, committed: str) -> dict[str, Any]:
    """The ledger item of a staged chunk line (storage/staging.py, by the API's names) confirmed by
    `import_id`: the same item `encode_line` writes for the row, built straight from the line's text
    (the commit workers write millions; no model is built per line). `pk_prefix` is
    `keys.ledger_day_pk` up to the account; `committed` the ISO timestamp."""
    account_id = record["bankAccountId"]
    day = record["datePosted"]
    item: dict[str, Any] = {
        "pk": {"S": f"{pk_prefix}{account_id}#D#{day}"},
        "sk": {"S": keys.ledger_tx_sk(record["transactionId"])},
        "transactionId": {"S": record["transactionId"]},
        "bankAccountId": {"S": account_id},
        "amount": {"N": _number_text(record["amount"])},
        "datePosted": {"S": day},
        "description": {"S": record.get("description") or ""},
        "importId": {"S": import_id},
        "committed": {"S": committed},
    }
    for name in _STAGED_TEXT:
        value = record.get(name)
        if value is not None:
            item[name] = {"S": value}
    for name in _STAGED_NUMBERS:
        value = record.get(name)
        if value is not None:
            item[name] = {"N": _number_text(value)}
    if record.get("lineNumber") is not None:
        item["lineNumber"] = {"N": str(int(record["lineNumber"]))}
    for name in _STAGED_FLAGS:
        if record.get(name):
            item[name] = {"BOOL": True}
    for name in _STAGED_LINKS:
        value = record.get(name)
        if value:
            item[name] = {"S": value}
    return item


def _staged_pending_item(tenant: Tenant, record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The open-pending index item of a staged pending line (the item `_pending_item` writes for its row)."""
    item = {"pk": {"S": keys.ledger_account_pk(tenant, record["bankAccountId"])},
            "sk": {"S": keys.ledger_pending_sk(record["transactionId"])},
            "transactionId": {"S": record["transactionId"]}, "day": {"S": record["datePosted"]},
            "amount": {"N": _number_text(record["amount"])}, "description": {"S": record.get("description") or ""}}
    if record.get("bankTransactionId"):
        item["bankTransactionId"] = {"S": record["bankTransactionId"]}
    return item


def _number_text(value: Any) -> str:
    """A staged amount as a DynamoDB number: the staged decimal text when it is one (what processing
    writes), else through the serializer's checks."""
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        return value
    serialized = _number(Decimal(str(value)))
    assert serialized is not None
    return serialized["N"]


def _session_attributes(entry: SessionLedgerEntry) -> dict[str, dict[str, Any] | None]:
    return {
        "type": {"S": entry.type.value},
        "transactionStatus": {"S": entry.status.value},
        "workspaceId": {"S": entry.workspace_id},
        "sessionId": {"S": entry.session_id},
        "stagedTransactionId": {"S": entry.staged_transaction_id},
        "categoryId": _text(entry.category_id),
        "subcategoryId": _text(entry.subcategory_id),
        "tagIds": {"L": [{"S": tag} for tag in entry.tag_ids]} if entry.tag_ids else None,
        "billingMonth": _text(entry.billing_month),
        "cardId": _text(entry.card_id),
        "counterpartAccountId": _text(entry.counterpart_account_id),
        "counterpartTransactionId": _text(entry.counterpart_transaction_id),
        "recurringId": _text(entry.recurring_id),
        "recurringType": _text(entry.recurring_type),
    }


def _session_entry(item: dict[str, Any]) -> SessionLedgerEntry | None:
    if "sessionId" not in item:
        return None
    return SessionLedgerEntry(
        type=StagedTransactionType(item["type"]), status=TransactionStatus(item["transactionStatus"]),
        workspace_id=item["workspaceId"], session_id=item["sessionId"],
        staged_transaction_id=item["stagedTransactionId"], category_id=item.get("categoryId"),
        subcategory_id=item.get("subcategoryId"), tag_ids=list(item.get("tagIds") or []),
        billing_month=item.get("billingMonth"), card_id=item.get("cardId"),
        counterpart_account_id=item.get("counterpartAccountId"),
        counterpart_transaction_id=item.get("counterpartTransactionId"), recurring_id=item.get("recurringId"),
        recurring_type=item.get("recurringType"))


def _pending_item(tenant: Tenant, line: Transaction) -> dict[str, dict[str, Any]]:
    """The index item of an open pending line (what matching a booked line needs)."""
    attributes = {
        "pk": {"S": keys.ledger_account_pk(tenant, line.bank_account_id)},
        "sk": {"S": keys.ledger_pending_sk(line.transaction_id)},
        "transactionId": {"S": line.transaction_id}, "day": {"S": line.date_posted.isoformat()},
        "amount": _number(line.amount), "description": {"S": line.description},
        "bankTransactionId": _text(line.bank_transaction_id),
    }
    return {name: value for name, value in attributes.items() if value is not None}


def decode_line(item: dict[str, Any]) -> LedgerLine:
    """A line from its ledger item (as the table resource reads it: numbers are Decimal)."""
    return LedgerLine(**transaction_fields(item), import_id=item.get("importId", ""),
                      committed=datetime.fromisoformat(item["committed"]),
                      reconciliation=_mark_of(item.get("reconciliation")), session=_session_entry(item),
                      booked_at_given=bool(item.get("bookedAtGiven")), linked_by=item.get("linkedBy"),
                      foreign_currency=bool(item.get("foreignCurrency")))


def ignored(line: LedgerLine) -> bool:
    """Whether an import session committed the line IGNORE: a copy the client settled, kept as a record only."""
    return line.session is not None and line.session.status == TransactionStatus.IGNORE


def counts_in_balance(line: LedgerLine) -> bool:
    """Whether a ledger line moves the account's balance (as the day balances count it): a pending line never
    does, nor a line committed IGNORE (`ignored`), nor one in another currency than the account's."""
    return not line.pending and not ignored(line) and not line.foreign_currency


def invoice_month(line: LedgerLine) -> str | None:
    """The card invoice a line of a card's own partition belongs to (None for any other line)."""
    entry = line.session
    return entry.billing_month if entry and entry.card_id == line.bank_account_id else None


def settled_by(line: LedgerLine) -> str:
    """The account or card whose session's close turns the line PAID: its own, except a card payment's mirror in
    the card's ledger, which is the account's payment (the user guide's account close settles the account's
    transactions, card payments among them; a card close its card expenses and chargebacks), so it turns PAID
    with the account's line: one payment, one status."""
    entry = line.session
    if (entry is not None and entry.type == StagedTransactionType.CARD_PAYMENT and invoice_month(line)
            and entry.counterpart_account_id):
        return entry.counterpart_account_id
    return line.bank_account_id


def validating_period(line: LedgerLine) -> str | None:
    """Where close finds a VALIDATING line in the index of `settled_by(line)`: its invoice's month for a card's
    own line, else its day (None for a line that is not VALIDATING)."""
    if line.session is None or line.session.status != TransactionStatus.VALIDATING:
        return None
    own = settled_by(line) == line.bank_account_id
    return (invoice_month(line) if own else None) or line.date_posted.isoformat()


def _transaction_groups(lines: list[tuple[LedgerLine, str | None]]) -> Iterator[list[tuple[LedgerLine, str | None]]]:
    """Lines and their bank ids (None: a line put without its reference) in groups of at most 50 that name no line
    nor reference twice (a transaction takes 100 actions, one each)."""
    group: list[tuple[LedgerLine, str | None]] = []
    named: set[tuple[str, ...]] = set()
    for line, bank_id in lines:
        names: set[tuple[str, ...]] = {(line.bank_account_id, line.date_posted.isoformat(), line.transaction_id)}
        if bank_id is not None:
            names.add((line.bank_account_id, bank_id))
        if len(group) == 50 or names & named:
            yield group
            group, named = [], set()
        group.append((line, bank_id))
        named |= names
    if group:
        yield group


def _day_index_item(tenant: Tenant, account_id: str, day: date) -> dict[str, dict[str, str]]:
    """The `DAY#` item of an account's day, stamped with when it was written (`at`, epoch seconds): a day whose
    lines are all gone loses it again (`_drop_empty_day`), unless a writer put it lately (its lines may follow)."""
    return {"pk": {"S": keys.ledger_account_pk(tenant, account_id)}, "sk": {"S": keys.ledger_day_sk(day)},
            "at": {"N": str(int(time.time()))}}


def _line_index_items(tenant: Tenant, line: LedgerLine) -> list[dict[str, dict[str, Any]]]:
    """The index items a line needs before it is written: its day's, a session line's INVOICEDAY#/VALIDATING#
    items, and an open-pending item for a pending line no booked line replaced."""
    items: list[dict[str, dict[str, Any]]] = [_day_index_item(tenant, line.bank_account_id, line.date_posted)]
    if line.session is not None:
        items += _index_items(tenant, line)
    if line.pending and not line.replaced_by:
        items.append(_pending_item(tenant, line))
    return items


def _index_items(tenant: Tenant, line: LedgerLine) -> Iterator[dict[str, dict[str, str]]]:
    """The INVOICEDAY# and VALIDATING# index items of a session line (none for other lines)."""
    account_pk = {"S": keys.ledger_account_pk(tenant, line.bank_account_id)}
    month = invoice_month(line)
    if month:
        yield {"pk": account_pk, "sk": {"S": keys.ledger_invoice_day_sk(month, line.date_posted)}}
    period = validating_period(line)
    settler = settled_by(line)
    if period and settler == line.bank_account_id:
        yield {"pk": account_pk, "sk": {"S": keys.ledger_validating_sk(period, line.transaction_id)},
               "day": {"S": line.date_posted.isoformat()}}
    elif period:  # in the settling account's index, naming the ledger the line is in
        yield {"pk": {"S": keys.ledger_account_pk(tenant, settler)},
               "sk": {"S": keys.ledger_validating_sk(period, line.transaction_id)},
               "day": {"S": line.date_posted.isoformat()}, "account": {"S": line.bank_account_id}}


class LedgerStore(Protocol):
    def open_pending(self, tenant: Tenant, account_id: str) -> list[LineKey]:
        """The account's pending lines no booked line has replaced yet."""
        ...

    def restore_pending(self, tenant: Tenant, booked: Transaction) -> None:
        """Open again the pending line `booked` replaced (its import was reverted)."""
        ...

    def day_totals(self, tenant: Tenant, account_id: str, after: date | None, until: date | None
                   ) -> list[tuple[date, Decimal]]:
        """The sum of the account's lines per day, for days in (after, until] (None: open-ended), oldest first."""
        ...

    def sum_later_in_day(self, tenant: Tenant, account_id: str, day: date, transaction_id: str) -> Decimal:
        """The sum of the day's lines listed before `transaction_id` newest first (ids above it)."""
        ...

    """What the services rely on (`LedgerRepository` on DynamoDB; an in-memory fake in tests/fakes)."""

    def write(self, tenant: Tenant, lines: Iterable[LedgerLine], *, refresh: bool = True) -> int:
        """Put ledger lines (idempotent: a line's key is its deterministic transaction id); answers how many.
        `refresh=False` leaves the days' balances to the caller's `refresh_totals` (a writer of many batches
        recomputes each day once, at the end)."""
        ...

    def write_staged(self, tenant: Tenant, records: Iterable[Mapping[str, Any]], *, import_id: str,
                     committed: datetime) -> int:
        """Put staged chunk lines (storage/staging.py) as the ledger lines `import_id` confirmed: the same
        items as `write` of their rows (the commit workers' path); answers how many. The days' balances
        are left to `refresh_totals`, once the import's every chunk is written."""
        ...

    def refresh_totals(self, tenant: Tenant, days: Iterable[tuple[str, date]], *, workers: int = 1) -> None:
        """Recompute the balance of each (account, day) from its lines, `workers` days at a time."""
        ...

    def write_claimed(self, tenant: Tenant, claimed: Iterable[tuple[LedgerLine, str]]) -> set[str]:
        """Put lines whose references (`claim_ref`, by their bank transaction ids) point at them, each only while its
        reference still does and no line is there yet: a resend may have moved the line meanwhile, and it must
        not come back on its first day. Answers the transaction ids written."""
        ...

    def write_new(self, tenant: Tenant, lines: Iterable[LedgerLine]) -> set[str]:
        """Put lines only where no line is yet (a conditional write each: of two concurrent writers of one line,
        one writes it); answers the transaction ids written."""
        ...

    def day_lines(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        """Every ledger line of an account on one day."""
        ...

    def days_lines(self, tenant: Tenant, account_id: str, days: Iterable[date], *, workers: int = 16
                   ) -> dict[date, list[LedgerLine]]:
        """Every ledger line of an account on each of `days`, `workers` days read at a time."""
        ...

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True,
             start_after: date | None = None) -> Iterator[date]:
        """The days on which an account has ledger lines."""
        ...

    def list_page(self, tenant: Tenant, account_id: str, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[LedgerLine], str | None]:
        """Lines newest first (by day, then by id within a day), `limit` at a time."""
        ...

    def existing(self, tenant: Tenant, refs: Iterable[LineRef]) -> set[tuple[str, str]]:
        """Which of the lines are in the ledger, as (bank account id, transaction id)."""
        ...

    def tenant_page(self, tenant: Tenant, account_ids: list[str], *, start: date | None = None,
                    end: date | None = None, import_id: str | None = None, limit: int = 100,
                    cursor: str | None = None) -> tuple[list[LedgerLine], str | None]:
        """Lines of several accounts, newest day first (then by account, then newest id), from `start` to
        `end` (inclusive), only `import_id`'s when given; `limit` at a time. Reads the accounts' day
        indexes and the day partitions in range only: never a scan."""
        ...

    def delete_many_if_from_import(self, tenant: Tenant, lines: Iterable[Transaction], import_id: str, *,
                                   workers: int = 16, stop: Callable[[], bool] | None = None,
                                   released: frozenset[str] = frozenset(),
                                   touched: set[tuple[str, date]] | None = None) -> tuple[int, bool]:
        """Remove the lines `import_id` wrote; answers (lines removed, whether every line was handled). A
        line a reconciliation entry holds (its mark names a reconciliation not in `released`) is kept:
        `LinesHeld` is raised once the other lines are handled, naming the reconciliations. The balances of
        the days handled are recomputed, unless `touched` is given: then those days go into it, for the caller
        to recompute once (`refresh_totals`) after all its deletes."""
        ...

    def refs(self, tenant: Tenant, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LineRef]:
        """Where the lines of these (bank account id, bank transaction id) pairs are, for those written."""
        ...

    def claim_ref(self, tenant: Tenant, account_id: str, bank_transaction_id: str, ref: LineRef
                  ) -> tuple[LineRef, bool]:
        """Point the pair at `ref` unless it points somewhere already; answers where it points and whether
        this call set it (a conditional write: of two concurrent callers one wins)."""
        ...

    def lines_at(self, tenant: Tenant, refs: Iterable[LineRef]) -> dict[tuple[str, str], LedgerLine]:
        """The ledger lines at `refs`, by (bank account id, transaction id)."""
        ...

    def replace(self, tenant: Tenant, old: LineRef, line: LedgerLine, bank_transaction_id: str) -> None:
        """Write `line` as it was read and changed (its day indexed); when it moved to another day, remove the
        item at `old` and point the pair's reference at the line, in one transaction. Only while the stored line
        is still at `old` with the reconciliation mark `line` has (and the reference still points there); a line
        a reconciliation entry holds never moves: else `LineChanged`, and nothing is written."""
        ...

    def get_lines(self, tenant: Tenant, refs: Iterable[LineRef]) -> list[LedgerLine]:
        """The lines among `refs` that exist (consistent reads)."""
        ...

    def mark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> list[LineMark]:
        """Mark each line as held by its reconciliation entry, unless the line is gone or another entry
        holds it (a FAILED reconciliation's mark, named by `replaces`, gives way); answers the marks refused."""
        ...

    def unmark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> None:
        """Remove the marks their entries hold (a line another entry holds is left alone)."""
        ...

    def lines_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> Iterator[LedgerLine]:
        """Every line of an account booked from `start` (None: the beginning) to `end` inclusive, oldest day
        first: the day index of the period, then one query per day with lines (never the whole ledger)."""
        ...

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        """Per-type sums of the lines a card's invoice for `billing_month` holds."""
        ...

    def invoice_lines(self, tenant: Tenant, card_id: str, billing_month: str) -> list[LedgerLine]:
        """The lines a card's invoice for `billing_month` holds, oldest day first."""
        ...

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        """VALIDATING -> PAID for the lines the account settles (`settled_by`: its own, and the card's mirror
        lines of its card payments) whose period (`validating_period`) is in [low, high]; answers how many
        changed."""
        ...

    def link(self, tenant: Tenant, line: LedgerLine, by: str) -> bool:
        """Mark `line` as the mirror the line `by` of another account's session did not write (`linked_by`), unless
        another line took it first; answers whether it is `by`'s (also when it already was)."""
        ...

    def retype(self, tenant: Tenant, before: LedgerLine, after: LedgerLine) -> None:
        """Put `after` over `before`, the same line with its session entry changed (its day and amount kept), so
        that it is found as `after` is: in the index of the account that now settles it, and no longer in the
        one that settled `before`."""
        ...


class _References:
    """The public endpoint's references: (bank account, bank transaction id) -> the ledger line."""

    table_name: str
    client: Any

    @staticmethod
    def _ref_key(tenant: Tenant, account_id: str, bank_transaction_id: str) -> dict[str, dict[str, str]]:
        return {"pk": {"S": keys.ledger_account_pk(tenant, account_id)},
                "sk": {"S": keys.ledger_ref_sk(bank_transaction_id)}}

    def refs(self, tenant: Tenant, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LineRef]:
        pairs = list(dict.fromkeys(wanted))
        found: dict[tuple[str, str], LineRef] = {}
        by_sk = {(keys.ledger_account_pk(tenant, a), keys.ledger_ref_sk(b)): (a, b) for a, b in pairs}
        for start in range(0, len(pairs), 100):
            request: dict[str, Any] = {self.table_name: {"Keys": [self._ref_key(tenant, a, b)
                                                                  for a, b in pairs[start:start + 100]]}}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    account_id, bank_id = by_sk[(item["pk"]["S"], item["sk"]["S"])]
                    found[(account_id, bank_id)] = (account_id, date.fromisoformat(item["day"]["S"]),
                                                    item["transactionId"]["S"])
                request = answer.get("UnprocessedKeys") or {}
        return found

    def claim_ref(self, tenant: Tenant, account_id: str, bank_transaction_id: str, ref: LineRef
                  ) -> tuple[LineRef, bool]:
        key = self._ref_key(tenant, account_id, bank_transaction_id)
        try:
            self.client.put_item(TableName=self.table_name, Item={
                **key, "day": {"S": ref[1].isoformat()}, "transactionId": {"S": ref[2]}},
                ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            held = self.refs(tenant, [(account_id, bank_transaction_id)]).get((account_id, bank_transaction_id))
            if held is None:  # removed meanwhile: claim again
                return self.claim_ref(tenant, account_id, bank_transaction_id, ref)
            return held, False
        return ref, True

    def _point(self, tenant: Tenant, account_id: str, bank_transaction_id: str, ref: LineRef) -> None:
        self.client.put_item(TableName=self.table_name, Item={
            **self._ref_key(tenant, account_id, bank_transaction_id), "day": {"S": ref[1].isoformat()},
            "transactionId": {"S": ref[2]}})


class PartialDelete(Exception):
    """A bulk delete stopped on an error after removing `removed` lines."""

    def __init__(self, removed: int, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause} (after removing {removed} line(s))")
        self.removed = removed
        self.cause = cause


class LineChanged(Exception):
    """A line was not replaced: its reconciliation mark is no longer the one read, or it is held and would
    move to another day."""


class LinesHeld(Exception):
    """A bulk delete kept lines that reconciliation entries hold, after removing `removed` lines;
    `holders` counts the kept lines by reconciliation id."""

    def __init__(self, removed: int, holders: dict[str, int]) -> None:
        super().__init__(f"{sum(holders.values())} line(s) held by reconciliation(s) {', '.join(sorted(holders))}")
        self.removed = removed
        self.holders = holders


class LedgerRepository(_References):
    """Reads with the table resource; bulk writes with the low-level client (3x less CPU per item), and the
    commit workers' staged writes with `bulk_client` where one is given (a client with botocore's parameter
    validation off: the items are built by `encode_staged`, and validation was ~40% of the CPU a line)."""

    def __init__(self, table: Any, client: Any, bulk_client: Any = None) -> None:
        self.table = table
        self.client = client
        self.bulk_client = bulk_client or client
        self.table_name = table.name

    def write_staged(self, tenant: Tenant, records: Iterable[Mapping[str, Any]], *, import_id: str,
                     committed: datetime) -> int:
        """Put staged chunk lines as the ledger lines `import_id` confirmed (see `encode_staged`): what
        `write` does for their rows (index items before their lines, open-pending items, the pending lines
        booked lines replace), without a model per line. The days' balances are not recomputed here: the
        workflow does it once for the whole import (`refresh_totals`)."""
        pk_prefix = keys.ledger_account_pk(tenant, "")
        stamp = iso(committed)
        requests: list[dict[str, Any]] = []
        days: set[tuple[str, str]] = set()
        new_index: list[dict[str, dict[str, Any]]] = []
        replacing: list[tuple[str, str, str]] = []
        written = 0
        for record in records:
            requests.append({"PutRequest": {"Item": encode_staged(pk_prefix, record, import_id, stamp)}})
            account_id, day = record["bankAccountId"], record["datePosted"]
            if (account_id, day) not in days:
                days.add((account_id, day))
                new_index.append(_day_index_item(tenant, account_id, date.fromisoformat(day)))
            if record.get("pending"):
                new_index.append(_staged_pending_item(tenant, record))
            if record.get("replacesPendingId"):
                replacing.append((account_id, record["replacesPendingId"], record["transactionId"]))
            written += 1
            if len(requests) == 25:
                self._index_then_batch(new_index, requests, self.bulk_client)
                requests, new_index = [], []
        if requests:
            self._index_then_batch(new_index, requests, self.bulk_client)
        for account_id, pending_id, booked_id in replacing:
            self._replace_pending(tenant, account_id, pending_id, booked_id)
        return written

    def write(self, tenant: Tenant, lines: Iterable[LedgerLine], *, refresh: bool = True) -> int:
        """Put ledger lines (idempotent: a line's key is its deterministic transaction id); with `refresh`, the
        balances of their days are recomputed.

        A line's index items (its day's, and a session line's INVOICEDAY#/VALIDATING# items) are written
        before the line: each batch of 25 lines is preceded by the index items it adds, so a write that
        stops part-way never leaves a line that listing the ledger cannot reach (an index item whose
        lines never came lists an empty day)."""
        requests: list[dict[str, Any]] = []
        indexed: set[str] = set()
        new_index: list[dict[str, dict[str, str]]] = []
        written = 0
        days: set[tuple[str, date]] = set()
        replacing: list[LedgerLine] = []
        for line in lines:
            requests.append({"PutRequest": {"Item": encode_line(tenant, line)}})
            days.add((line.bank_account_id, line.date_posted))
            if line.replaces_pending_id:
                replacing.append(line)
            for item in _line_index_items(tenant, line):
                if (name := item["pk"]["S"] + item["sk"]["S"]) not in indexed:
                    indexed.add(name)
                    new_index.append(item)
            written += 1
            if len(requests) == 25:
                self._index_then_batch(new_index, requests)
                requests, new_index = [], []
        if requests:
            self._index_then_batch(new_index, requests)
        for line in replacing:
            self._replace_pending(tenant, line.bank_account_id, line.replaces_pending_id or "", line.transaction_id)
        if refresh:
            self.refresh_totals(tenant, days)
        return written

    def write_claimed(self, tenant: Tenant, claimed: Iterable[tuple[LedgerLine, str]]) -> set[str]:
        """Put each line with a check that its reference still points at it, up to 50 lines (100 actions) per
        transaction; a transaction a line's condition cancels is sent again without that line. The index
        items go first, as in `write`."""
        return self._put_if(tenant, list(claimed))

    def write_new(self, tenant: Tenant, lines: Iterable[LedgerLine]) -> set[str]:
        """Put each line only where no line is yet (of two concurrent writers of one line, one writes it), in
        transactions as `write_claimed`; answers the transaction ids written."""
        return self._put_if(tenant, [(line, None) for line in lines])

    def _put_if(self, tenant: Tenant, lines: list[tuple[LedgerLine, str | None]]) -> set[str]:
        """Conditional puts (`_conditional_put`), index items first; answers the transaction ids written."""
        index = list({item["pk"]["S"] + item["sk"]["S"]: item
                      for line, _ in lines for item in _line_index_items(tenant, line)}.values())
        if index:
            batch_write(self.client, self.table_name, [{"PutRequest": {"Item": item}} for item in index])
        written: list[LedgerLine] = []
        for group in _transaction_groups(lines):
            while group:
                per_line = [self._conditional_put(tenant, line, bank_id) for line, bank_id in group]
                owner = [n for n, actions in enumerate(per_line) for _ in actions]
                try:
                    self.client.transact_write_items(TransactItems=[a for actions in per_line for a in actions])
                except ClientError as exc:
                    failed = failed_actions(exc)
                    if not failed:
                        raise
                    dropped = {owner[index] for index in failed}
                    group = [pair for n, pair in enumerate(group) if n not in dropped]
                    continue
                written += [line for line, _ in group]
                break
        for line in written:
            if line.replaces_pending_id:
                self._replace_pending(tenant, line.bank_account_id, line.replaces_pending_id, line.transaction_id)
        self.refresh_totals(tenant, {(line.bank_account_id, line.date_posted) for line in written})
        return {line.transaction_id for line in written}

    def _conditional_put(self, tenant: Tenant, line: LedgerLine, bank_id: str | None) -> list[dict[str, Any]]:
        """A line's put, if no line is there yet, and (with its bank id) the check that its reference points at it."""
        put = {"Put": {"TableName": self.table_name, "Item": encode_line(tenant, line),
                       "ConditionExpression": "attribute_not_exists(pk)"}}
        if bank_id is None:
            return [put]
        return [put, {"ConditionCheck": {
                    "TableName": self.table_name, "Key": self._ref_key(tenant, line.bank_account_id, bank_id),
                    "ConditionExpression": "#day = :day AND transactionId = :id", "ExpressionAttributeNames": {
                        "#day": "day"}, "ExpressionAttributeValues": {
                        ":day": {"S": line.date_posted.isoformat()}, ":id": {"S": line.transaction_id}}}}]

    def _index_then_batch(self, index: list[dict[str, dict[str, Any]]], requests: list[dict[str, Any]],
                          client: Any = None) -> None:
        # TransientError (throughput exceeded after retries): the workflow retries the chunk
        client = client or self.client
        if index:
            batch_write(client, self.table_name, [{"PutRequest": {"Item": item}} for item in index])
        batch_write(client, self.table_name, requests)

    # pending lines (tximport.statements.pending) ----------------------------------------------------
    def open_pending(self, tenant: Tenant, account_id: str) -> list[LineKey]:
        """The account's pending lines no booked line has replaced yet."""
        prefix = keys.LEDGER_PENDING_PREFIX
        return [LineKey(i["transactionId"], date.fromisoformat(i["day"]), Decimal(i["amount"]),
                        i.get("description", ""), i.get("bankTransactionId"))
                for i in self._index(tenant, account_id, prefix, prefix + "~")]

    def _replace_pending(self, tenant: Tenant, account_id: str, pending_id: str, booked_id: str) -> None:
        """Mark the pending line `pending_id` the booked line `booked_id` replaces (`replacedBy`) and close
        its index item; a retry finds the index item gone and does nothing."""
        index_key = {"pk": keys.ledger_account_pk(tenant, account_id), "sk": keys.ledger_pending_sk(pending_id)}
        item = self.table.get_item(Key=index_key, ConsistentRead=True).get("Item")
        if item is None:
            return
        try:
            self.table.update_item(
                Key={"pk": keys.ledger_day_pk(tenant, account_id, item["day"]), "sk": keys.ledger_tx_sk(pending_id)},
                UpdateExpression="SET replacedBy = :booked", ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":booked": booked_id})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        self.table.delete_item(Key=index_key)

    def restore_pending(self, tenant: Tenant, booked: Transaction) -> None:
        """The booked line that replaced a pending line is gone (its import was reverted): the pending
        line is open again."""
        pending_id = booked.replaces_pending_id
        if not pending_id:
            return
        account_id = booked.bank_account_id
        oldest = booked.date_posted - timedelta(days=_PENDING_LOOKBACK_DAYS)
        for day in self.days(tenant, account_id, newest_first=True, start_after=booked.date_posted + timedelta(days=2)):
            if day < oldest:
                return
            try:
                answer = self.table.update_item(
                    Key={"pk": keys.ledger_day_pk(tenant, account_id, day), "sk": keys.ledger_tx_sk(pending_id)},
                    UpdateExpression="REMOVE replacedBy", ConditionExpression="replacedBy = :booked",
                    ExpressionAttributeValues={":booked": booked.transaction_id}, ReturnValues="ALL_NEW")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue
            line = decode_line(answer["Attributes"])
            item = _pending_item(tenant, line)
            self.client.put_item(TableName=self.table_name, Item=item)
            return

    def refresh_totals(self, tenant: Tenant, days: Iterable[tuple[str, date]], *, workers: int = 1) -> None:
        """Recompute the `BAL#` item of each (account, day) from the day's lines, `workers` days at a time (each
        day by one thread, with the low-level client: it is thread-safe, the table resource is not). A day
        that kept changing while it was recomputed raises `TransientError` once the others are done."""
        ordered = sorted(set(days))
        if workers <= 1 or len(ordered) <= 1:
            for account_id, day in ordered:
                self._refresh_total(tenant, account_id, day)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="balances") as pool:
            futures = [pool.submit(self._refresh_total, tenant, account_id, day) for account_id, day in ordered]
            errors = [error for future in futures if (error := future.exception()) is not None]
        if errors:
            raise errors[0]

    def _refresh_total(self, tenant: Tenant, account_id: str, day: date) -> None:
        key = {"pk": {"S": keys.ledger_account_pk(tenant, account_id)}, "sk": {"S": keys.ledger_total_sk(day)}}
        pages = self.client.get_paginator("query")
        for _ in range(20):
            started = int(time.time())
            current = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            version = int(current["version"]["N"]) if current else 0
            total, count, lines = Decimal(0), 0, 0
            for page in pages.paginate(
                    TableName=self.table_name, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                    ExpressionAttributeValues={":pk": {"S": keys.ledger_day_pk(tenant, account_id, day)}},
                    ProjectionExpression="#a, #p, #s, #f", ExpressionAttributeNames=_AMOUNT_NAMES):
                lines += len(page["Items"])
                for item in page["Items"]:
                    if item.get("pending", {}).get("BOOL") or item.get("transactionStatus", {}).get("S") == _IGNORED \
                            or item.get("foreignCurrency", {}).get("BOOL"):
                        continue  # a booked balance leaves pending, ignored and other currencies' lines out
                    total += Decimal(item["amount"]["N"]) if "amount" in item else 0
                    count += 1
            condition = ({"ConditionExpression": "version = :v",
                          "ExpressionAttributeValues": {":v": {"N": str(version)}}}
                         if current else {"ConditionExpression": "attribute_not_exists(pk)"})
            try:
                self.client.put_item(TableName=self.table_name, Item={
                    **key, "day": {"S": day.isoformat()}, "total": _total_value(total),
                    "count": {"N": str(count)}, "version": {"N": str(version + 1)}}, **condition)
                if not lines:
                    self._drop_empty_day(tenant, account_id, day, started)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        raise TransientError(f"the balance of {account_id} on {day} kept changing while it was recomputed")

    def _drop_empty_day(self, tenant: Tenant, account_id: str, day: date, read_at: int) -> None:
        """A day read without a line loses its `DAY#` item, so that listing the ledger (newest day first) does not
        walk the days a revert emptied. A writer puts the item before its lines: one put since a minute before
        the read may still be writing them, and keeps it (a later put brings it back in any case)."""
        try:
            self.client.delete_item(
                TableName=self.table_name, Key={"pk": {"S": keys.ledger_account_pk(tenant, account_id)},
                                                "sk": {"S": keys.ledger_day_sk(day)}},
                ConditionExpression="attribute_not_exists(#at) OR #at < :cutoff",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":cutoff": {"N": str(read_at - _DAY_WRITE_SECONDS)}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def day_totals(self, tenant: Tenant, account_id: str, after: date | None, until: date | None
                   ) -> list[tuple[date, Decimal]]:
        """The sum of the account's lines per day, for days in (after, until], oldest first."""
        low = keys.ledger_total_sk(after) + "~" if after else keys.LEDGER_TOTAL_PREFIX
        high = keys.ledger_total_sk(until) if until else keys.LEDGER_TOTAL_PREFIX + "~"
        if low > high:
            return []
        return [(date.fromisoformat(i["day"]), Decimal(i["total"])) for i in self._index(
            tenant, account_id, low, high) if i.get("count")]

    def sum_later_in_day(self, tenant: Tenant, account_id: str, day: date, transaction_id: str) -> Decimal:
        """The sum of the day's lines whose ids sort above `transaction_id` (listed before it, newest first)."""
        items = query_all(self.table, KeyConditionExpression="pk = :pk AND sk > :sk",
                          ExpressionAttributeValues={":pk": keys.ledger_day_pk(tenant, account_id, day),
                                                     ":sk": keys.ledger_tx_sk(transaction_id)},
                          ProjectionExpression="#a, #p, #s, #f", ExpressionAttributeNames=_AMOUNT_NAMES)
        return sum((Decimal(i.get("amount", 0)) for i in items
                    if not i.get("pending") and i.get("transactionStatus") != _IGNORED
                    and not i.get("foreignCurrency")), Decimal(0))

    def day_lines(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        """Every ledger line of an account on one day."""
        return [decode_line(item) for item in query_all(
            self.table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": keys.ledger_day_pk(tenant, account_id, day)})]

    def days_lines(self, tenant: Tenant, account_id: str, days: Iterable[date], *, workers: int = 16
                   ) -> dict[date, list[LedgerLine]]:
        """Every ledger line of an account on each of `days`, `workers` days at a time (each by a thread, with the
        low-level client: it is thread-safe, the table resource is not): a duplicate check of a file over 500 days
        waited for 500 queries one after the other."""
        wanted = sorted(set(days))
        if workers <= 1 or len(wanted) <= 1:
            return {day: self.day_lines(tenant, account_id, day) for day in wanted}
        with ThreadPoolExecutor(max_workers=min(workers, len(wanted)), thread_name_prefix="days") as pool:
            return dict(zip(wanted, pool.map(lambda day: self._read_day(tenant, account_id, day), wanted),
                            strict=True))

    def _read_day(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table_name, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.ledger_day_pk(tenant, account_id, day)}})
        return [decode_line({name: _deserializer.deserialize(value) for name, value in item.items()})
                for page in pages for item in page["Items"]]

    def days(self, tenant: Tenant, account_id: str, *, newest_first: bool = True,
             start_after: date | None = None) -> Iterator[date]:
        """The days on which an account has ledger lines."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :day)",
            "ExpressionAttributeValues": {":pk": keys.ledger_account_pk(tenant, account_id),
                                          ":day": keys.LEDGER_DAY_PREFIX},
            "ScanIndexForward": not newest_first,
        }
        if start_after:
            kwargs["ExclusiveStartKey"] = {"pk": keys.ledger_account_pk(tenant, account_id),
                                           "sk": keys.ledger_day_sk(start_after)}
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield date.fromisoformat(item["sk"].removeprefix(keys.LEDGER_DAY_PREFIX))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_page(self, tenant: Tenant, account_id: str, *, limit: int = 100, cursor: str | None = None
                  ) -> tuple[list[LedgerLine], str | None]:
        """Lines newest first (by day, then by id within a day), `limit` at a time."""
        state = decode_cursor(cursor) or {}
        day_cursor = date.fromisoformat(state["day"]) if state.get("day") else None
        within: dict[str, Any] | None = state.get("lek")
        out: list[dict[str, Any]] = []
        days = self.days(tenant, account_id, start_after=day_cursor if within is None else None)
        if within is not None and day_cursor:
            days = _chain([day_cursor], self.days(tenant, account_id, start_after=day_cursor))
        for day in days:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": keys.ledger_day_pk(tenant, account_id, day)},
                "ScanIndexForward": False,
            }
            if within is not None and day == day_cursor:
                kwargs["ExclusiveStartKey"] = within
            within = None
            while True:
                kwargs["Limit"] = limit - len(out)
                page = self.table.query(**kwargs)
                out.extend(page.get("Items", []))
                lek = page.get("LastEvaluatedKey")
                if len(out) >= limit:
                    next_state = {"day": day.isoformat(), "lek": lek} if lek else {"day": day.isoformat()}
                    return [decode_line(i) for i in out], encode_cursor(next_state)
                if not lek:
                    break
                kwargs["ExclusiveStartKey"] = lek
        return [decode_line(i) for i in out], None

    def existing(self, tenant: Tenant, refs: Iterable[LineRef]) -> set[tuple[str, str]]:
        """Which of the lines are in the ledger, as (bank account id, transaction id)."""
        return {(item["bankAccountId"]["S"], item["transactionId"]["S"])
                for item in self._batch_get(tenant, refs, ProjectionExpression="bankAccountId, transactionId")}

    def _batch_get(self, tenant: Tenant, refs: Iterable[LineRef], **options: Any) -> Iterator[dict[str, Any]]:
        """The items among `refs` that exist, as low-level attribute values (BatchGetItem reads at most 100
        keys a call)."""
        wanted = list(refs)
        for start in range(0, len(wanted), 100):
            request_keys = [self._key(tenant, account_id, day, transaction_id)
                            for account_id, day, transaction_id in wanted[start:start + 100]]
            pending: dict[str, Any] = {self.table_name: {"Keys": request_keys, **options}}
            while pending:
                answer = self.client.batch_get_item(RequestItems=pending)
                yield from answer.get("Responses", {}).get(self.table_name, [])
                pending = answer.get("UnprocessedKeys") or {}

    @staticmethod
    def _key(tenant: Tenant, account_id: str, day: date | str, transaction_id: str) -> dict[str, dict[str, str]]:
        return {"pk": {"S": keys.ledger_day_pk(tenant, account_id, day)},
                "sk": {"S": keys.ledger_tx_sk(transaction_id)}}

    def delete_many_if_from_import(self, tenant: Tenant, lines: Iterable[Transaction], import_id: str, *,
                                   workers: int = 16, stop: Callable[[], bool] | None = None,
                                   released: frozenset[str] = frozenset(),
                                   touched: set[tuple[str, date]] | None = None) -> tuple[int, bool]:
        """Remove the ledger lines of `lines` that this import wrote and no live reconciliation entry holds,
        `workers` conditional deletes at a time (the low-level client is thread-safe, the table resource
        is not). Answers (lines removed, whether every line was handled); when `stop()` turns true no new
        delete starts and the lines left are not handled. At most `workers * 4` lines are held in flight,
        whatever the chunk's size. Held lines are kept (the condition is on the mark, so an entry matching
        a line meanwhile is never undone behind its reconciliation's back): `LinesHeld` names them."""
        removed = 0
        errors: list[BaseException] = []
        holders: dict[str, int] = {}
        pending: set[Future[bool | str]] = set()
        complete = True

        def collect(done: set[Future[bool | str]]) -> None:
            nonlocal removed
            for future in done:
                error = future.exception()
                if error is not None:
                    errors.append(error)
                elif isinstance(outcome := future.result(), str):
                    holders[outcome] = holders.get(outcome, 0) + 1
                else:
                    removed += outcome

        days: set[tuple[str, date]] = set() if touched is None else touched
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="revert") as pool:
            try:
                for line in lines:
                    if errors or (stop is not None and stop()):
                        complete = False
                        break
                    days.add((line.bank_account_id, line.date_posted))
                    if len(pending) >= workers * 4:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        collect(done)
                    pending.add(pool.submit(self._delete_one, tenant, line, import_id, released))
            finally:
                collect(wait(pending).done)
                if touched is None:  # the days' balances, also after a partial run (else the caller's)
                    self.refresh_totals(tenant, days, workers=workers)
        if errors:
            # the lines already removed are counted in the error: a retry finds them gone and does not
            # count them again
            raise PartialDelete(removed, errors[0]) from errors[0]
        if holders:
            raise LinesHeld(removed, holders)
        return removed, complete

    def lines_at(self, tenant: Tenant, refs: Iterable[LineRef]) -> dict[tuple[str, str], LedgerLine]:
        wanted = list(dict.fromkeys(refs))
        found: dict[tuple[str, str], LedgerLine] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table.name: {"Keys": [
                {"pk": keys.ledger_day_pk(tenant, a, d), "sk": keys.ledger_tx_sk(t)} for a, d, t in
                wanted[start:start + 100]]}}
            while request:
                # the table resource's client reads plain values, as decode_line expects
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table.name, []):
                    line = decode_line(item)
                    found[(line.bank_account_id, line.transaction_id)] = line
                request = answer.get("UnprocessedKeys") or {}
        return found

    def replace(self, tenant: Tenant, old: LineRef, line: LedgerLine, bank_transaction_id: str) -> None:
        moved = old[1] != line.date_posted
        if moved and line.reconciliation is not None:
            raise LineChanged(f"line {line.transaction_id} is held by reconciliation "
                              f"{line.reconciliation.reconciliation_id} and keeps its day")
        put: dict[str, Any] = {"TableName": self.table_name, "Item": encode_line(tenant, line)}
        if line.reconciliation is None:
            put["ConditionExpression"] = "attribute_exists(pk) AND attribute_not_exists(reconciliation)"
        else:
            put["ConditionExpression"] = "reconciliation.entryId = :e"
            put["ExpressionAttributeValues"] = {":e": {"S": line.reconciliation.entry_id}}
        try:
            if moved:  # the new day indexed first, then the line and its reference moved in one transaction
                self._index_then_batch([_day_index_item(tenant, line.bank_account_id, line.date_posted)], [])
                leave = {"TableName": self.table_name, "Key": self._key(tenant, old[0], old[1], old[2]),
                         "ConditionExpression": put.pop("ConditionExpression")}
                point = {"TableName": self.table_name, "Item": {
                    **self._ref_key(tenant, line.bank_account_id, bank_transaction_id),
                    "day": {"S": line.date_posted.isoformat()}, "transactionId": {"S": line.transaction_id}},
                    "ConditionExpression": "#day = :old", "ExpressionAttributeNames": {"#day": "day"},
                    "ExpressionAttributeValues": {":old": {"S": old[1].isoformat()}}}
                self.client.transact_write_items(TransactItems=[{"Put": put}, {"Delete": leave}, {"Put": point}])
            else:
                self.client.put_item(**put)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("ConditionalCheckFailedException",
                                                                  "TransactionCanceledException"):
                raise
            raise LineChanged(f"line {line.transaction_id} changed while it was replaced") from None
        self.refresh_totals(tenant, {(old[0], old[1]), (line.bank_account_id, line.date_posted)})

    def tenant_page(self, tenant: Tenant, account_ids: list[str], *, start: date | None = None,
                    end: date | None = None, import_id: str | None = None, limit: int = 100,
                    cursor: str | None = None) -> tuple[list[LedgerLine], str | None]:
        state = decode_cursor(cursor) or {}
        after_day = date.fromisoformat(state["d"]) if state.get("d") else None
        after_account: str = state.get("a", "")
        within: dict[str, Any] | None = state.get("k")
        out: list[dict[str, Any]] = []
        for day, account_id in _merge_days({a: self._days_between(
                tenant, a, start, end, after_day, inclusive=after_day is not None and a > after_account)
                for a in sorted(set(account_ids))}, first=(after_day, after_account) if within else None):
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": keys.ledger_day_pk(tenant, account_id, day)},
                "ScanIndexForward": False,
            }
            if import_id is not None:
                kwargs["FilterExpression"] = "importId = :import"
                kwargs["ExpressionAttributeValues"][":import"] = import_id
            if within is not None and (day, account_id) == (after_day, after_account):
                kwargs["ExclusiveStartKey"] = within
            while True:
                kwargs["Limit"] = limit - len(out)
                page = self.table.query(**kwargs)
                out.extend(page.get("Items", []))
                lek = page.get("LastEvaluatedKey")
                if len(out) >= limit:
                    more = {"d": day.isoformat(), "a": account_id, **({"k": lek} if lek else {})}
                    return [decode_line(i) for i in out], encode_cursor(more)
                if not lek:
                    break
                kwargs["ExclusiveStartKey"] = lek
        return [decode_line(i) for i in out], None

    def _days_between(self, tenant: Tenant, account_id: str, start: date | None, end: date | None,
                      before: date | None, *, inclusive: bool) -> Iterator[date]:
        """The account's days from `end` down to `start`, below `before` (or at it, when inclusive)."""
        high = end
        if before is not None and (high is None or before <= high):
            high = before if inclusive else before - timedelta(days=1)
        low_sk = keys.ledger_day_sk(start) if start else keys.LEDGER_DAY_PREFIX
        high_sk = keys.ledger_day_sk(high) if high else keys.LEDGER_DAY_PREFIX + "~"
        if low_sk > high_sk:
            return
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": keys.ledger_account_pk(tenant, account_id), ":low": low_sk,
                                          ":high": high_sk},
            "ScanIndexForward": False,
        }
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield date.fromisoformat(item["sk"].removeprefix(keys.LEDGER_DAY_PREFIX))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # import-session lines: balances, invoices and statuses ------------------------------------------
    def _index(self, tenant: Tenant, account_id: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        """The account's index items whose sort keys are in [low, high]."""
        return query_all(self.table, KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                         ExpressionAttributeValues={":pk": keys.ledger_account_pk(tenant, account_id),
                                                    ":low": low, ":high": high})

    def _lines_on(self, tenant: Tenant, account_id: str, days: Iterable[date]) -> Iterator[LedgerLine]:
        for day in days:
            yield from self.day_lines(tenant, account_id, day)

    def lines_between(self, tenant: Tenant, account_id: str, start: date | None, end: date) -> Iterator[LedgerLine]:
        """Every line of an account booked in [start, end] (None: from the beginning), read day by day
        through the DAY# index."""
        low = keys.ledger_day_sk(start) if start else keys.LEDGER_DAY_PREFIX
        days = [date.fromisoformat(i["sk"].removeprefix(keys.LEDGER_DAY_PREFIX))
                for i in self._index(tenant, account_id, low, keys.ledger_day_sk(end))]
        return self._lines_on(tenant, account_id, days)

    def invoice_sums(self, tenant: Tenant, card_id: str, billing_month: str) -> TypeSums:
        """Per-type sums of the lines a card's invoice for `billing_month` holds."""
        return ledger_sums(self.invoice_lines(tenant, card_id, billing_month))

    def invoice_lines(self, tenant: Tenant, card_id: str, billing_month: str) -> list[LedgerLine]:
        """The lines a card's invoice for `billing_month` holds (the INVOICEDAY# index names their days)."""
        prefix = f"{keys.LEDGER_INVOICE_DAY_PREFIX}{billing_month}#"
        days = sorted({date.fromisoformat(i["sk"].removeprefix(prefix))
                       for i in self._index(tenant, card_id, prefix, prefix + "~")})
        return [line for line in self._lines_on(tenant, card_id, days) if invoice_month(line) == billing_month]

    def link(self, tenant: Tenant, line: LedgerLine, by: str) -> bool:
        try:
            self.table.update_item(
                Key={"pk": keys.ledger_day_pk(tenant, line.bank_account_id, line.date_posted.isoformat()),
                     "sk": keys.ledger_tx_sk(line.transaction_id)},
                UpdateExpression="SET linkedBy = :by",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(linkedBy) OR linkedBy = :by)",
                ExpressionAttributeValues={":by": by})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def retype(self, tenant: Tenant, before: LedgerLine, after: LedgerLine) -> None:
        self.write(tenant, [after], refresh=False)  # its index items first, then the line
        # a VALIDATING# item names one line (an INVOICEDAY# item a day other lines share: a stale one lists
        # nothing, as `invoice_lines` keeps the lines of its month)
        kept = {(i["pk"]["S"], i["sk"]["S"]) for i in _index_items(tenant, after)}
        for item in _index_items(tenant, before):
            key = (item["pk"]["S"], item["sk"]["S"])
            if key not in kept and key[1].startswith(keys.LEDGER_VALIDATING_PREFIX):
                self.table.delete_item(Key={"pk": key[0], "sk": key[1]})

    def mark_paid(self, tenant: Tenant, account_id: str, low: str, high: str) -> int:
        """VALIDATING -> PAID for the lines the account settles whose period is in [low, high] (days or billing
        months); answers how many of its own lines changed (a card payment's mirror turns PAID with its payment
        and is not counted again). Each change is conditional on the line still being VALIDATING."""
        changed = 0
        prefix = keys.LEDGER_VALIDATING_PREFIX
        for entry in list(self._index(tenant, account_id, f"{prefix}{low}", f"{prefix}{high}~")):
            tx_id = entry["sk"].rsplit("#", 1)[1]
            try:
                self.table.update_item(
                    Key={"pk": keys.ledger_day_pk(tenant, entry.get("account", account_id), entry["day"]),
                         "sk": keys.ledger_tx_sk(tx_id)},
                    UpdateExpression="SET transactionStatus = :paid",
                    ConditionExpression="transactionStatus = :validating",
                    ExpressionAttributeValues={":paid": TransactionStatus.PAID.value,
                                               ":validating": TransactionStatus.VALIDATING.value})
                changed += "account" not in entry
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            self.table.delete_item(Key={"pk": entry["pk"], "sk": entry["sk"]})
        return changed

    def _delete_one(self, tenant: Tenant, line: Transaction, import_id: str, released: frozenset[str]
                    ) -> bool | str:
        """Delete the line if this import wrote it and no live reconciliation entry holds it: True when
        deleted, False when it is gone or another import's, the holding reconciliation's id when held."""
        values: dict[str, Any] = {":id": {"S": import_id}}
        names = {f":r{i}": {"S": rec} for i, rec in enumerate(sorted(released))}
        values |= names
        free = "attribute_not_exists(reconciliation)"
        if names:
            free = f"({free} OR reconciliation.reconciliationId IN ({', '.join(names)}))"
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._key(tenant, line.bank_account_id, line.date_posted, line.transaction_id),
                ConditionExpression=f"importId = :id AND {free}",
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old = exc.response.get("Item") or {}
                mark = old.get("reconciliation", {}).get("M")
                if mark and old.get("importId", {}).get("S") == import_id:
                    return str(mark["reconciliationId"]["S"])
                return False
            raise
        return True

    # reconciliation marks -----------------------------------------------------------------------------
    # A line matched by a reconciliation entry carries `reconciliation` = {reconciliationId, entryId,
    # matchStatus}; marks are set and cleared with conditions, so one line is never held by two entries.

    def get_lines(self, tenant: Tenant, refs: Iterable[LineRef]) -> list[LedgerLine]:
        """The lines among `refs` that exist (consistent reads)."""
        return [decode_line({name: _deserializer.deserialize(value) for name, value in item.items()})
                for item in self._batch_get(tenant, refs, ConsistentRead=True)]

    def mark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> list[LineMark]:
        """Mark each line as held by its entry, `workers` conditional updates at a time; answers the marks
        refused (the line is gone, or another live entry holds it)."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mark") as pool:
            done = list(pool.map(lambda m: self._update(self.mark_action(tenant, m)), marks))
        return [m for m, ok in zip(marks, done, strict=True) if not ok]

    def unmark(self, tenant: Tenant, marks: list[LineMark], *, workers: int = 16) -> None:
        """Remove the marks their entries hold (a line another entry holds meanwhile is left alone)."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unmark") as pool:
            list(pool.map(lambda m: self._update(self.unmark_action(tenant, m)), marks))

    def mark_action(self, tenant: Tenant, m: LineMark) -> dict[str, Any]:
        """The TransactWriteItems Update that sets a line's mark: only if the line exists and no other entry
        holds it (the same entry's mark, or one of the FAILED reconciliation `m.replaces`, is overwritten)."""
        condition = "attribute_exists(pk) AND (attribute_not_exists(reconciliation) OR reconciliation.entryId = :e"
        values: dict[str, Any] = {":m": _mark_value(m.mark), ":e": {"S": m.entry_id}}
        if m.replaces:
            condition += " OR reconciliation.reconciliationId = :r"
            values[":r"] = {"S": m.replaces}
        return {"Update": {
            "TableName": self.table_name, "Key": self._key(tenant, m.account_id, m.day, m.transaction_id),
            "UpdateExpression": "SET reconciliation = :m", "ConditionExpression": condition + ")",
            "ExpressionAttributeValues": values,
        }}

    def unmark_action(self, tenant: Tenant, m: LineMark) -> dict[str, Any]:
        """The TransactWriteItems Update that removes a line's mark if `m.entry_id` holds it."""
        return {"Update": {
            "TableName": self.table_name, "Key": self._key(tenant, m.account_id, m.day, m.transaction_id),
            "UpdateExpression": "REMOVE reconciliation", "ConditionExpression": "reconciliation.entryId = :e",
            "ExpressionAttributeValues": {":e": {"S": m.entry_id}},
        }}

    def _update(self, action: dict[str, Any]) -> bool:
        """Run one mark or unmark action on its own; False when its condition does not hold."""
        try:
            self.client.update_item(**action["Update"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _mark_value(mark: ReconciliationMark) -> dict[str, Any]:
    return {"M": {"reconciliationId": {"S": mark.reconciliation_id}, "entryId": {"S": mark.entry_id},
                  "matchStatus": {"S": mark.match_status}}}


def _mark_of(value: Any) -> ReconciliationMark | None:
    if not value:
        return None
    return ReconciliationMark(value["reconciliationId"], value["entryId"], value["matchStatus"])


def _merge_days(days: dict[str, Iterator[date]], *, first: tuple[date | None, str] | None
                ) -> Iterator[tuple[date, str]]:
    """(day, account) pairs of several accounts' newest-first days: newest day first, then by account.
    `first` comes before everything (a page that stopped inside its day partition)."""
    if first is not None and first[0] is not None:
        yield first[0], first[1]
    heap: list[tuple[int, str, Iterator[date]]] = []
    for account_id, it in days.items():
        day = next(it, None)
        if day is not None:
            heapq.heappush(heap, (-day.toordinal(), account_id, it))
    while heap:
        ordinal, account_id, it = heapq.heappop(heap)
        yield date.fromordinal(-ordinal), account_id
        day = next(it, None)
        if day is not None:
            heapq.heappush(heap, (-day.toordinal(), account_id, it))


def _chain(first: list[date], rest: Iterator[date]) -> Iterator[date]:
    yield from first
    yield from rest
