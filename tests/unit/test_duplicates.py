"""Duplicate detection against a ledger stand-in."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.support.mirrors import committed_line, mirror_line
from tximport.models import LedgerLine, Tenant, utcnow
from tximport.services.duplicates import DuplicateDetector

TENANT = Tenant(organisation_id="o", company_id="c")


def _line(account_id: str, day: date, item: dict) -> LedgerLine:
    if "mirrorOf" in item:  # a transfer's (or card payment's) mirror another account's session wrote here
        return mirror_line(account_id, day, item["amount"], counterpart=item["mirrorOf"], staged=item["transactionId"],
                           card_payment=item.get("card", False), description=item.get("description", ""),
                           ignored=item.get("ignored", False))
    if item.get("session"):  # a line this account's session committed
        return committed_line(account_id, day, item["amount"], item.get("description", ""),
                              staged=item["transactionId"], ignored=item.get("ignored", False))
    return LedgerLine(transaction_id=item["transactionId"], bank_account_id=account_id, amount=Decimal(item["amount"]),
                      date_posted=day, description=item.get("description", ""),
                      bank_transaction_id=item.get("bankTransactionId"),
                      import_id="public-api" if item.get("posted") else "earlier", committed=utcnow())


class FakeLedger:
    def __init__(self, items: dict[str, list[dict]]) -> None:
        self.items = items
        self.reads: list[str] = []
        self.batches: list[int] = []

    def day_lines(self, tenant: Tenant, account_id: str, day: date) -> list[LedgerLine]:
        self.reads.append(day.isoformat())
        return [_line(account_id, day, item) for item in self.items.get(day.isoformat(), [])]

    def days_lines(self, tenant: Tenant, account_id: str, days: list[date], *, workers: int = 16
                   ) -> dict[date, list[LedgerLine]]:
        self.batches.append(len(days))
        return {day: self.day_lines(tenant, account_id, day) for day in days}

    def days(self, tenant: Tenant, account_id: str, newest_first: bool = True) -> list[date]:
        return sorted((date.fromisoformat(day) for day in self.items), reverse=newest_first)


def test_same_bank_id_in_file_and_ledger_is_a_certain_duplicate():
    ledger = FakeLedger({"2024-01-02": [{"transactionId": "L1", "bankTransactionId": "F1", "amount": "5",
                                         "description": "x"}]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    v = det.check("a", "T1", date(2024, 1, 2), Decimal(5), "other", "F1")
    assert v and v.certain and v.reason == "sameBankTransactionId" and v.duplicate_of == "L1"
    # another amount under the bank id: possibly the same transaction, possibly a bank reusing its ids
    other = det.check("a", "T1b", date(2024, 1, 2), Decimal(9), "other", "F1")
    assert other and not other.certain and other.evidence["amountsDiffer"] is True
    assert det.check("a", "T2", date(2024, 1, 3), Decimal(1), "y", "F9") is None
    again = det.check("a", "T3", date(2024, 1, 3), Decimal(1), "y", "F9")
    assert again and again.evidence["in"] == "file" and again.duplicate_of == "T2"
    assert det.check("a", "T4", date(2024, 1, 3), Decimal(2), "y", "F9") is None  # another amount: its own line
    assert det.check("a", "T5", date(2024, 1, 3), Decimal(2), "y", "F9").duplicate_of == "T4"  # type: ignore[union-attr]
    assert det.collides("a", "L1", date(2024, 1, 2), Decimal(9)) and not det.collides("a", "L1", date(2024, 1, 2),
                                                                                       Decimal(5))


def test_a_line_whose_id_the_ledger_holds_is_that_line_whatever_line_of_its_bank_id_comes_first():
    """A bank id reused on one day (-800.00 and 250.00 under X1): the statement imported again finds each line
    by its own id, never the other line of the bank id first (which left it uncertain, and its confirm overwrote
    the ledger's line)."""
    ledger = FakeLedger({"2024-02-01": [
        {"transactionId": "L250", "bankTransactionId": "X1", "amount": "250.00", "description": "Gutschrift"},
        {"transactionId": "L800", "bankTransactionId": "X1", "amount": "-800.00", "description": "Miete"}]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    day = date(2024, 2, 1)
    rent = det.check("a", "L800", day, Decimal("-800.00"), "Miete", "X1")
    credit = det.check("a", "L250", day, Decimal("250.00"), "Gutschrift", "X1")
    assert rent and (rent.duplicate_of, rent.reason, rent.certain) == ("L800", "alreadyImported", True)
    assert credit and (credit.duplicate_of, credit.reason, credit.certain) == ("L250", "alreadyImported", True)
    # a third line under the bank id, of its own amount and id: possibly one of them, never certain
    third = det.check("a", "L3", day, Decimal("-1.00"), "Kaffee", "X1")
    assert third and not third.certain and third.evidence["amountsDiffer"] is True


def test_similar_line_within_window_is_possible_not_certain():
    ledger = FakeLedger({"2024-01-01": [{"transactionId": "L1", "amount": "-20.00",
                                         "description": "AMAZON MKTPLACE"}]})
    det = DuplicateDetector(ledger, TENANT, window_days=3)  # type: ignore[arg-type]
    v = det.check("a", "T1", date(2024, 1, 3), Decimal("-20"), "Amazon Mktplace ref 1", None)
    assert v and not v.certain and v.evidence["daysApart"] == 2
    assert det.check("a", "T2", date(2024, 1, 9), Decimal("-20"), "Amazon Mktplace", None) is None
    assert det.check("a", "T3", date(2024, 1, 2), Decimal("-21"), "Amazon Mktplace", None) is None


def test_same_amount_a_week_apart_and_daily_interest_are_not_duplicates():
    ledger = FakeLedger({"2024-01-01": [{"transactionId": "L1", "amount": "0.01", "description": "INTEREST"}]})
    det = DuplicateDetector(ledger, TENANT, window_days=3)  # type: ignore[arg-type]
    assert det.check("a", "T1", date(2024, 1, 8), Decimal("0.01"), "INTEREST", None) is None
    # interest lines on consecutive days inside the window are similar: flagged as possible only
    v = det.check("a", "T2", date(2024, 1, 2), Decimal("0.01"), "INTEREST", None)
    assert v is not None and not v.certain


def test_overlap_counts_ledger_lines_on_file_days_only():
    ledger = FakeLedger({"2024-01-01": [{"transactionId": "L1", "amount": "1", "description": "a"}],
                         "2024-01-02": [{"transactionId": "L2", "amount": "1", "description": "b"},
                                        {"transactionId": "L3", "amount": "2", "description": "c"}]})
    det = DuplicateDetector(ledger, TENANT, window_days=1)  # type: ignore[arg-type]
    det.check("a", "T", date(2024, 1, 2), Decimal(5), "new", None)
    assert det.overlap_count() == 2


def test_pending_then_booked_under_the_same_bank_id_is_a_duplicate_days_apart():
    ledger = FakeLedger({"2024-01-01": [{"transactionId": "L1", "bankTransactionId": "F7", "amount": "-9.99",
                                         "description": "CARD 1234 PENDING"}]})
    det = DuplicateDetector(ledger, TENANT, window_days=3)  # type: ignore[arg-type]
    v = det.check("a", "T1", date(2024, 1, 3), Decimal("-9.99"), "CARD 1234 SHOP", "F7")
    assert v and v.certain and v.evidence["daysApart"] == 2


def test_memory_is_bounded_by_a_window_of_days():
    ledger = FakeLedger({})
    det = DuplicateDetector(ledger, TENANT, window_days=0)  # type: ignore[arg-type]
    for n in range(1000):
        det.check("a", f"T{n}", date.fromordinal(738000 + n), Decimal(1), "x", f"B{n}")
    assert len(det._days) <= det.CACHED_DAYS and len(det._file_bank_ids) <= det.CACHED_DAYS


def test_days_without_ledger_lines_cost_no_reads_even_in_an_unordered_file():
    ledger = FakeLedger({"2024-01-05": [{"transactionId": "L1", "amount": "1", "description": "a"}]})
    det = DuplicateDetector(ledger, TENANT, window_days=3)  # type: ignore[arg-type]
    for n in range(300):
        det.check("a", f"T{n}", date(2024, 1 + n % 12, 1 + n % 28), Decimal(n), "x", None)
    assert ledger.reads.count("2024-01-05") == 1
    assert set(ledger.reads) == {"2024-01-05"}


def vars_of(verdict) -> tuple:
    return verdict.duplicate_of, verdict.reason, verdict.evidence, verdict.certain


def test_the_per_day_join_judges_exactly_as_the_row_scan():
    """The indexed detector against the row-by-row scan it replaced (tests/support/reference), on random
    ledgers and lines: same amounts in many shapes, shared and differing bank ids, days inside and outside
    the window, identical ids."""
    import random

    from tests.support.reference.row_duplicates import DuplicateDetector as RowScan

    rng = random.Random(3)
    words = ["AMAZON MKTPLACE", "Amazon Mktplace ref 1", "INTEREST", "coffee", "Coffee shop", "rent"]
    amounts = ["-20", "-20.00", "0.01", "5", "-3.50"]
    items: dict[str, list[dict]] = {}
    for n in range(300):
        day = date(2024, 1, 1 + rng.randrange(0, 20)).isoformat()
        items.setdefault(day, []).append({
            "transactionId": f"L{n:03d}", "amount": rng.choice(amounts), "description": rng.choice(words),
            **({"bankTransactionId": f"F{rng.randrange(0, 60)}"} if rng.random() < 0.4 else {}),
            **rng.choice([{}] * 6 + [{"mirrorOf": "other", "card": rng.random() < 0.5}, {"session": True},
                                     {"posted": True}, {"session": True, "description": f"typed by hand {n}"},
                                     {"session": True, "ignored": True}, {"mirrorOf": "other", "ignored": True}])})
    for account in ("a", "b"):
        ours, oracle = DuplicateDetector(FakeLedger(items), TENANT), RowScan(FakeLedger(items), TENANT)
        flagged = mirrored = committed = same_day = posted = 0
        for n in range(600):
            day = date(2024, 1, 1) + timedelta(days=rng.randrange(-5, 26))
            tx = f"L{rng.randrange(0, 330):03d}" if rng.random() < 0.3 else f"T{n}"
            args = (account, tx, day, Decimal(rng.choice(amounts)), rng.choice(words),
                    f"F{rng.randrange(0, 80)}" if rng.random() < 0.4 else None)
            verdict, expected = ours.check(*args), oracle.check(*args)
            assert (verdict and vars_of(verdict)) == (expected and vars_of(expected))
            flagged += verdict is not None
            mirrored += verdict is not None and verdict.reason in ("transferMirror", "cardPaymentMirror")
            committed += verdict is not None and verdict.reason == "alreadyCommitted"
            same_day += verdict is not None and verdict.reason == "sameDayCommittedLine"
            posted += verdict is not None and verdict.reason == "alreadyPosted"
        assert flagged > 100 and mirrored > 10 and committed > 5 and same_day > 0 and posted > 0
        assert ours.overlap_count() == oracle.overlap_count()


def test_a_line_a_feed_posted_is_the_statements_line_one_for_one():
    """The public endpoint wrote the bank's feed: two coffees and a rent of Jan 2, under ids of their own. The file's
    two coffees of that day are their copies (alreadyPosted, certain); a third only looks like them; a line of
    another bank id is no copy."""
    ledger = FakeLedger({"2024-01-02": [{"transactionId": f"P{n}", "amount": amount, "description": text,
                                         "bankTransactionId": f"FEED-{n}", "posted": True}
                                        for n, (amount, text) in enumerate([("-3.5", "Coffee Shop"),
                                                                            ("-3.5", "Coffee Shop"),
                                                                            ("-900", "Rent")])]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    found = [det.check("b", f"T{n}", date(2024, 1, 2), Decimal("-3.50"), "COFFEE SHOP", None) for n in range(3)]
    assert [v and (v.reason, v.certain) for v in found] == [("alreadyPosted", True)] * 2 + [
        ("similarLedgerLine", False)]
    assert det.check("b", "T5", date(2024, 1, 2), Decimal(-900), "Rent", "OFX-77") is None  # both bank ids, differing
    rent = det.check("b", "T6", date(2024, 1, 2), Decimal(-900), "RENT", None)
    assert rent is not None and (rent.reason, rent.duplicate_of) == ("alreadyPosted", "P2")


def test_a_feed_line_without_an_id_answers_one_file_line():
    """The feed posted one lunch without a transactionId: its id is the file's first lunch's (the same content), so
    that line is alreadyImported, and the feed's line answers no second lunch of the file (which is imported)."""
    from tests.support.reference.row_duplicates import DuplicateDetector as RowScan
    from tximport.ids import transaction_id

    day = date(2024, 1, 2)
    first = transaction_id("b", date_posted=day, amount=Decimal("-9.00"), description="Lunch", bank_transaction_id=None,
                           occurrence=1)
    items = {"2024-01-02": [{"transactionId": first, "amount": "-9.00", "description": "Lunch", "posted": True}]}
    for det in (DuplicateDetector(FakeLedger(items), TENANT), RowScan(FakeLedger(items), TENANT)):  # type: ignore[arg-type]
        found = [det.check("b", tx, day, Decimal("-9.00"), "Lunch", None) for tx in (first, "second")]
        assert [v and (v.reason, v.certain) for v in found] == [("alreadyImported", True), ("similarLedgerLine", False)]


def test_the_calendars_last_and_first_days_are_judged_without_an_overflow():
    ledger = FakeLedger({"9999-12-30": [{"transactionId": "L1", "amount": "5", "description": "x"}],
                         "0001-01-02": [{"transactionId": "L2", "amount": "5", "description": "x"}]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    late = det.check("a", "T1", date(9999, 12, 31), Decimal(5), "x", None)
    early = det.check("a", "T2", date(1, 1, 1), Decimal(5), "x", None)
    assert (late.duplicate_of, early.duplicate_of) == ("L1", "L2")  # type: ignore[union-attr]


def test_placeholder_bank_ids_and_their_batch_lines_are_no_bank_ids():
    from tximport.formats.base import is_placeholder_id

    assert all(map(is_placeholder_id, ["NOTPROVIDED", " nonref ", "0", "000000", "N/A", "NOTPROVIDED/1",
                                       "000000/12", "NONE/2"]))
    assert not any(map(is_placeholder_id, ["REF1", "REF1/2", "0/A", "X"]))


def test_a_file_out_of_date_order_reads_each_ledger_day_once_in_parallel_batches():
    """4,000 lines in random day order over 546 days of a ledger of 15 lines a day: each day is read once, in
    batches read at once (it read them one by one, and again and again as a cache of 400 days turned over)."""
    import random

    start = date(2023, 1, 1)
    rng = random.Random(7)
    items = {(start + timedelta(days=d)).isoformat(): [{"transactionId": f"L{d}-{k}", "amount": str(k + 1),
                                                       "description": f"shop {k}"} for k in range(15)]
             for d in range(546)}
    ledger = FakeLedger(items)
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    days = [start + timedelta(days=rng.randrange(546)) for _ in range(4000)]
    det.prefetch("a", days)
    for n, day in enumerate(days):
        det.check("a", f"T{n}", day, Decimal(3), "shop 2", None)
    assert sorted(ledger.reads) == sorted(items) and max(ledger.batches) == det.PREFETCH_BATCH
    dense = FakeLedger({day: rows * 400 for day, rows in items.items()})  # 6,000 lines a day: read as needed
    det = DuplicateDetector(dense, TENANT)  # type: ignore[arg-type]
    det.prefetch("a", days)
    assert len(dense.reads) == det.PREFETCH_BATCH  # one batch, then the lines read their days as they need them


def test_a_line_answering_a_mirror_is_a_certain_duplicate_and_each_mirror_answers_one_line():
    """A transfer another account's session booked here (its mirror, +100 on Jan 2) and a card payment's (-50 on
    Jan 5): this account's statement shows them under its own words. The nearest mirror first; a mirror answers one
    line (the second +100 is new); another sign or amount is none; a line the ledger holds by id stays
    alreadyImported. A mirror reaches 5 days."""
    ledger = FakeLedger({"2024-01-02": [{"transactionId": "S1", "amount": "100", "description": "Transfer",
                                         "mirrorOf": "A"},
                                        {"transactionId": "L1", "amount": "7", "description": "kept"}],
                         "2024-01-05": [{"transactionId": "S2", "amount": "-50", "description": "Card",
                                         "mirrorOf": "A", "card": True}]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    first = det.check("b", "T1", date(2024, 1, 3), Decimal(100), "SEPA CREDIT JOHN", None)
    assert first is not None and first.certain and first.reason == "transferMirror"
    assert first.evidence == {"in": "ledger", "counterpartAccountId": "A", "amount": "100", "daysApart": 1,
                              "ledgerDescription": "Transfer"}
    assert det.check("b", "T2", date(2024, 1, 3), Decimal(100), "SEPA CREDIT JOHN 2", None) is None
    assert det.check("b", "T3", date(2024, 1, 3), Decimal(-100), "DEBIT", None) is None
    assert det.check("b", "L1", date(2024, 1, 2), Decimal(7), "kept", None).reason == "alreadyImported"  # type: ignore[union-attr]
    card = det.check("b", "T5", date(2024, 1, 8), Decimal(-50), "CARD BILL", None)
    assert card is not None and card.reason == "cardPaymentMirror" and card.evidence["daysApart"] == 3
    assert list(det.taken) == [first.duplicate_of, card.duplicate_of]
    # the money of a transfer arrives within 5 days (a weekend and a holiday), not 6
    ledger.items["2024-01-20"] = [{"transactionId": "S3", "amount": "200", "description": "T", "mirrorOf": "A"},
                                  {"transactionId": "S4", "amount": "300", "description": "T", "mirrorOf": "A"}]
    late = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    arrived = late.check("b", "T6", date(2024, 1, 25), Decimal(200), "TRANSFER IN", None)
    assert arrived is not None and arrived.reason == "transferMirror" and arrived.evidence["daysApart"] == 5
    assert late.check("b", "T7", date(2024, 1, 26), Decimal(300), "TRANSFER IN", None) is None


def test_a_statement_a_session_committed_is_held_back_line_for_line_when_it_comes_as_a_file():
    """Two coffees and a rent a session committed on Jan 2 (ids of their own): the file's two coffees of that day
    are copies (alreadyCommitted, certain), a third coffee or one of another day only looks like them."""
    ledger = FakeLedger({"2024-01-02": [{"transactionId": f"S{n}", "amount": amount, "description": text,
                                         "session": True}
                                        for n, (amount, text) in enumerate([("-3.5", "Coffee  Shop"),
                                                                            ("-3.5", "Coffee  Shop"),
                                                                            ("-900", "Rent")])]})
    det = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    found = [det.check("b", f"T{n}", date(2024, 1, 2), Decimal("-3.50"), "coffee shop", None) for n in range(3)]
    assert [v and (v.reason, v.certain) for v in found[:2]] == [("alreadyCommitted", True)] * 2
    # a third coffee, and a coffee of the next day: only look-alikes
    later = det.check("b", "T4", date(2024, 1, 3), Decimal("-3.50"), "coffee shop", None)
    assert [(v.reason, v.certain) for v in (found[2], later) if v] == [("similarLedgerLine", False)] * 2
    rent = det.check("b", "T5", date(2024, 1, 2), Decimal(-900), "RENT", None)
    assert rent is not None and rent.reason == "alreadyCommitted"
    # the session's line under the text its client gave it: the bank's own words are only possibly the same line
    ledger.items["2024-01-04"] = [{"transactionId": "S9", "amount": "-100", "description": "TRANSFER TO B",
                                   "session": True}]
    other = DuplicateDetector(ledger, TENANT)  # type: ignore[arg-type]
    sepa = other.check("b", "T6", date(2024, 1, 4), Decimal(-100), "SEPA OUT B", None)
    assert sepa is not None and (sepa.reason, sepa.certain) == ("sameDayCommittedLine", False)
    assert other.check("b", "T7", date(2024, 1, 5), Decimal(-100), "SEPA OUT B", None) is None  # another day
    # import sessions weigh mirrors themselves, after their own copies
    quiet = DuplicateDetector(ledger, TENANT, session_lines=False)  # type: ignore[arg-type]
    assert quiet.check("b", "T1", date(2024, 1, 3), Decimal(100), "SEPA CREDIT JOHN", None) is None
