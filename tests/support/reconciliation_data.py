"""Generated reconciliation data with known truth, for the engine's tests and `make bench`.

`generate(n)` makes `n` expected entries and the statement lines a bank would book for them, with what
makes matching hard: booking dates shifted by 0 to 3 days, amounts off by a cent (rounding), weekly
series of identical amounts and descriptions, typos in references, lines missing (an entry the bank never
booked) and extra lines (bank fees, transfers nobody expected, some with amounts equal to real ones).
`truth` maps each entry's index to its line's transaction id, or None when the bank never booked it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tximport.reconciliation.models import Direction, Entry, StatementLine

PERIOD_START = date(2024, 1, 1)
PERIOD_DAYS = 90
COMPANIES = ["ACME LTDA", "GLOBEX SA", "INITECH", "UMBRELLA CORP", "STARK IND", "WAYNE ENT", "HOOLI",
             "VANDELAY", "SOYLENT", "TYRELL", "CYBERDYNE", "WONKA", "DUNDER MIFFLIN", "MOMCORP", "OSCORP"]
KINDS = ["Pagamento NF", "Recebimento cliente", "Pagamento fornecedor", "Transferencia", "Boleto",
         "Invoice", "Payroll", "Refund"]


@dataclass
class Dataset:
    entries: list[Entry]
    lines: list[StatementLine]
    truth: dict[int, str | None]


def _typo(ref: str, rnd: random.Random) -> str:
    chars = list(ref)
    digits = [i for i, c in enumerate(chars) if c.isdigit()]
    if len(digits) >= 2:
        a, b = rnd.sample(digits, 2)
        if chars[a] == chars[b]:
            chars[a] = str((int(chars[a]) + 1) % 10)
        else:
            chars[a], chars[b] = chars[b], chars[a]
    return "".join(chars)


def _shift(rnd: random.Random) -> int:
    return rnd.choices([0, 1, 2, 3], weights=[45, 30, 17, 8])[0]


def generate(n: int, *, seed: int = 7, missing: float = 0.04, extra: float = 0.05, weekly: float = 0.08,
             typo: float = 0.10, rounding: float = 0.05, with_ref: float = 0.6) -> Dataset:
    """`n` entries, their lines and the truth (see the module docstring)."""
    rnd = random.Random(seed)
    entries: list[Entry] = []
    lines: list[StatementLine] = []
    truth: dict[int, str | None] = {}

    def add(day: date, direction: Direction, cents: int, company: str, kind: str, ref: str | None,
            *, booked: bool = True, line_ref: bool = True) -> None:
        index = len(entries)
        amount = Decimal(cents).scaleb(-2)
        entries.append(Entry(index=index, direction=direction, amount=amount, description=f"{kind} {company}",
                             transaction_date=day, external_ref=ref if rnd.random() < 0.9 else None))
        if not booked:
            truth[index] = None
            return
        line_cents = cents + (rnd.choice([-1, 1]) if rnd.random() < rounding else 0)
        text_ref = ref if ref and line_ref else None
        if text_ref and rnd.random() < typo:
            text_ref = _typo(text_ref, rnd)
        description = f"{'PIX' if rnd.random() < 0.5 else 'TED'} {company[:12]} {text_ref or ''}".strip()
        tx = f"{(day + timedelta(days=_shift(rnd))).isoformat()}-{index:08d}"
        lines.append(StatementLine(
            transaction_id=tx, direction=direction, amount=Decimal(abs(line_cents)).scaleb(-2),
            booking_date=date.fromisoformat(tx[:10]), description=description, currency="BRL",
            bank_transaction_id=f"B{index:09d}", counterparty=company if rnd.random() < 0.5 else None))
        truth[index] = tx

    series = int(n * weekly / 12)
    for s in range(series):  # weekly series: identical amounts, descriptions and (no) references
        cents, company = rnd.randint(5_000, 50_000), rnd.choice(COMPANIES)
        first = rnd.randint(0, 6)
        for week in range(12):
            add(PERIOD_START + timedelta(days=first + 7 * week), Direction.DEBIT, cents, company,
                f"Weekly service {s}", None, booked=rnd.random() >= missing)
    while len(entries) < n:
        day = PERIOD_START + timedelta(days=rnd.randrange(PERIOD_DAYS))
        direction = Direction.CREDIT if rnd.random() < 0.4 else Direction.DEBIT
        cents = rnd.choice([rnd.randint(100, 500_000), rnd.randint(100, 10_000) * 100])
        kind = rnd.choice(KINDS)
        ref = f"ERP-{kind[:3].upper()}-{len(entries):06d}" if rnd.random() < with_ref else None
        add(day, direction, cents, rnd.choice(COMPANIES), kind, ref, booked=rnd.random() >= missing,
            line_ref=rnd.random() < 0.7)
    for k in range(int(n * extra)):  # lines nobody expected; a third copy a real line's amount
        day = PERIOD_START + timedelta(days=rnd.randrange(PERIOD_DAYS))
        if lines and rnd.random() < 0.33:
            twin = rnd.choice(lines)
            cents, direction = int(twin.amount * 100), twin.direction
        else:
            cents, direction = rnd.randint(100, 200_000), rnd.choice([Direction.CREDIT, Direction.DEBIT])
        lines.append(StatementLine(
            transaction_id=f"{day.isoformat()}-X{k:07d}", direction=direction, amount=Decimal(cents).scaleb(-2),
            booking_date=day, description=rnd.choice(["TARIFA BANCARIA", "IOF", "PIX RECEBIDO", "ESTORNO"]),
            currency="BRL"))
    rnd.shuffle(lines)
    return Dataset(entries, lines, truth)


def precision_recall(results: list, truth: dict[int, str | None]) -> tuple[float, float, int, int]:
    """(precision of MATCHED, recall over entries the bank booked, matched count, correct count)."""
    matched = [r for r in results if r.status.value == "MATCHED"]
    correct = sum(1 for r in matched if truth.get(r.index) == r.line)
    booked = sum(1 for v in truth.values() if v is not None)
    precision = correct / len(matched) if matched else 1.0
    recall = correct / booked if booked else 1.0
    return precision, recall, len(matched), correct
