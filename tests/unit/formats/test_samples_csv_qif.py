"""Every CSV and QIF sample under shared/samples is imported, with figures checked by reading the file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tximport.formats.base import AMBIGUOUS_DATE_STYLE, INVALID_DATE, FileError, FileNote, FileSource
from tximport.formats.csv_mapped import parse_csv_mapped
from tximport.formats.qif import parse_qif
from tximport.models import DateStyle

from .helpers import errors, lines, run, total

# shared/ sits beside the repository
SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "samples"

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples are not present")

PARTNER = {"counterpartyName": "Partner Name", "counterpartyAccount": "Bank Account"}

#: file -> (mapping, number of lines, total, amounts)
CSV_CASES: dict[str, tuple[dict[str, Any], int, str, list[str]]] = {
    "oca-balance.csv": (
        {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "balance": "Balance",
                     **PARTNER}},
        2, "1500.00", ["-33.50", "1533.50"]),
    "oca-debit_credit.csv": (
        {"columns": {"date": "Date", "description": "Label", "amount": "Amount", "indicator": "D/C",
                     "balance": "Balance", **PARTNER}},
        2, "1500.00", ["-33.50", "1533.50"]),
    "oca-debit_credit_amount.csv": (
        {"columns": {"date": "Date", "description": "Label", "debit": "Debit", "credit": "Credit",
                     "balance": "Balance", **PARTNER}},
        4, "-1527.00", ["20.00", "-13.50", "-33.50", "-1500.00"]),
    "oca-meta_data_separated_credit_debit.csv": (
        {"columns": {"date": "Date", "bankTransactionId": "Operation Number",
                     "description": ["Label", "Detail"], "debit": "Debit", "credit": "Credit"},
         "dateStyle": "littleEndian", "skipFooterRows": 1, "currency": "EUR"},
        4, "1069.32", ["-50.00", "-100.00", "-80.68", "1300.00"]),
    "oca-multi_currency.csv": (
        {"columns": {"date": "Date", "description": "Label", "currency": "Currency", "amount": "Amount",
                     **PARTNER}},
        2, "1491.50", ["-33.50", "1525.00"]),
    "oca-original_currency.csv": (
        {"columns": {"date": "Date", "description": "Label", "originalCurrency": "Currency",
                     "amount": "Amount", "originalAmount": "Amount Currency", **PARTNER}},
        1, "1525.00", ["1525.00"]),
    "oca-sample_statement_credit_card_inverse_sign_en.csv": (
        {"columns": {"date": "Date", "description": "Label", "originalCurrency": "Currency",
                     "amount": "Amount", "originalAmount": "Amount Currency", **PARTNER}},
        2, "-1491.50", ["33.50", "-1525.00"]),
    "oca-sample_statement_en.csv": (
        {"columns": {"date": "Date", "description": "Label", "originalCurrency": "Currency",
                     "amount": "Amount", "originalAmount": "Amount Currency", **PARTNER}},
        2, "1491.50", ["-33.50", "1525.00"]),
}


def test_every_csv_sample_has_a_case() -> None:
    assert sorted(p.name for p in (SAMPLES / "csv").glob("*.csv")) == sorted(CSV_CASES)


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_sample(name: str) -> None:
    mapping, count, expected_total, amounts = CSV_CASES[name]
    events = run(parse_csv_mapped, FileSource(str(SAMPLES / "csv" / name)), mapping=mapping)
    assert not errors(events)
    assert not [e for e in events if isinstance(e, FileNote)]
    parsed = lines(events)
    assert len(parsed) == count
    assert total(events) == Decimal(expected_total)
    assert [str(line.amount) for line in parsed] == amounts


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_sample_without_its_last_line_break_reads_the_same(name: str) -> None:
    """Many exports omit the last line break: a last line with all its cells is no cut (no FileTruncated)."""
    mapping = CSV_CASES[name][0]
    data = (SAMPLES / "csv" / name).read_bytes()
    assert data.endswith(b"\n")
    assert run(parse_csv_mapped, data.rstrip(b"\r\n"), mapping=mapping) == run(parse_csv_mapped, data, mapping=mapping)


def _parse(name: str) -> list:
    mapping = CSV_CASES[name][0]
    return lines(run(parse_csv_mapped, FileSource(str(SAMPLES / "csv" / name)), mapping=mapping))


def test_balance_sample_fields() -> None:
    first, second = _parse("oca-balance.csv")
    assert first.date_posted == date(2018, 12, 15)  # 12/15/2018: the column is month/day/year
    assert (first.description, first.balance, first.counterparty_name, first.counterparty_account) == (
        "Your best supplier", Decimal("-23.50"), "John Doe", "123456789")
    assert (second.line_number, second.balance, second.counterparty_account) == (3, Decimal("1510.00"), None)


def test_debit_credit_amount_sample_fields() -> None:
    parsed = _parse("oca-debit_credit_amount.csv")
    assert [line.description for line in parsed] == ["Credit 20.00", "Credit 13.50", "Debit 33.50", "Debit 1500"]
    assert parsed[3].balance == Decimal("1510.00")


def test_meta_data_sample_fields() -> None:
    parsed = _parse("oca-meta_data_separated_credit_debit.csv")
    assert [line.line_number for line in parsed] == [6, 7, 8, 9]
    assert [line.date_posted for line in parsed] == [date(2020, 4, 1)] * 2 + [date(2020, 4, 2)] * 2
    assert (parsed[0].bank_transaction_id, parsed[0].description, parsed[0].currency) == (
        "UNIQUE OP 1", "LABEL 1 DETAILS 1", "EUR")


def test_meta_data_sample_reads_the_same_with_its_preamble_skipped() -> None:
    # its four preamble rows include an empty `,,,,,` one: skipRows counts it with skipFooterRows set too
    mapping = {**CSV_CASES["oca-meta_data_separated_credit_debit.csv"][0], "skipRows": 4}
    events = run(parse_csv_mapped, FileSource(str(SAMPLES / "csv" / "oca-meta_data_separated_credit_debit.csv")),
                 mapping=mapping)
    assert not errors(events)
    assert [(line.line_number, str(line.amount)) for line in lines(events)] == [
        (6, "-50.00"), (7, "-100.00"), (8, "-80.68"), (9, "1300.00")]


def test_meta_data_sample_dates_are_ambiguous_without_a_style() -> None:
    # 01/04/20 and 02/04/20 read as April or January/February: the import must say which.
    mapping = dict(CSV_CASES["oca-meta_data_separated_credit_debit.csv"][0])
    del mapping["dateStyle"]
    with pytest.raises(FileError) as info:
        run(parse_csv_mapped, FileSource(str(SAMPLES / "csv" / "oca-meta_data_separated_credit_debit.csv")),
            mapping=mapping)
    assert info.value.code == AMBIGUOUS_DATE_STYLE
    events = run(parse_csv_mapped,
                 FileSource(str(SAMPLES / "csv" / "oca-meta_data_separated_credit_debit.csv")),
                 mapping={**mapping, "skipFooterRows": 0}, date_style=DateStyle.LITTLE_ENDIAN)
    [footer] = errors(events)
    assert (footer.line_number, footer.code) == (10, INVALID_DATE)


def test_currency_samples_fields() -> None:
    usd, eur = _parse("oca-multi_currency.csv")
    assert (usd.currency, eur.currency, eur.counterparty_name) == ("USD", "EUR", "Azure Interior")
    [line] = _parse("oca-original_currency.csv")
    assert (line.original_currency, line.original_amount) == ("EUR", Decimal("-1000.00"))
    first, second = _parse("oca-sample_statement_credit_card_inverse_sign_en.csv")
    assert (first.original_amount, second.original_amount) == (Decimal("0.0"), Decimal("-1000.00"))
    first, _ = _parse("oca-sample_statement_en.csv")
    assert first.description == "Your best supplier on 12/15/2018"


def test_qif_sample() -> None:
    events = run(parse_qif, FileSource(str(SAMPLES / "qif" / "oca-test_qif.qif")))
    assert not errors(events)
    parsed = lines(events)
    assert len(parsed) == 5
    assert total(events) == Decimal("-1896.09")
    assert [line.line_number for line in parsed] == [2, 6, 10, 14, 18]
    # 8/15/13 is only month/day/year: the whole file reads that way
    assert [line.date_posted for line in parsed] == [date(2013, 8, 12), date(2013, 8, 15), date(2013, 3, 3),
                                                     date(2013, 3, 4), date(2013, 3, 3)]
    assert (parsed[0].description, parsed[0].amount) == ("Delta PC", Decimal("-1000.00"))
    assert parsed[4].counterparty_name == "SPRINGFIELD WATER UTILITY"
