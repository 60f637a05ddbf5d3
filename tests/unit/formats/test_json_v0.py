"""JSON#v0."""

import json
from datetime import date
from decimal import Decimal

import pytest

from tximport.formats.base import (
    EMPTY_FILE,
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_LINE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    BytesSource,
    FileError,
    ParseOptions,
    StatementAccount,
)
from tximport.formats.json_v0 import parse_json_v0
from tximport.formats.registry import FORMATS

from .helpers import errors, lines, run, total


def test_multi_account_document() -> None:
    doc = {"bankAccounts": [
        {"accountIdentifier": "DE89370400440532013000", "currency": "EUR", "transactions": [
            {"transactionId": "t1", "datePosted": "2024-01-31", "amount": "-12.50", "description": "Café",
             "valueDate": "2024-02-01", "reference": "R1", "counterpartyName": "Bäcker",
             "counterpartyAccount": "DE02120300000000202051", "balance": "100.00"},
            {"transactionId": 77, "datePosted": "2024-02-01T10:00:00Z", "amount": 0.1, "text": "alias",
             "currency": "usd", "originalAmount": "9.99", "originalCurrency": "CHF", "pending": True},
        ]},
        {"accountIdentifier": "CARD-1234", "transactions": [
            {"datePosted": "2024-03-01", "amount": "5.00", "creditDebit": "debit"}]},
        {"accountIdentifier": "EMPTY", "transactions": []},
    ]}
    events = run(parse_json_v0, json.dumps(doc).encode())
    accounts = [(e.account_ref, e.currency) for e in events if isinstance(e, StatementAccount)]
    assert accounts == [("DE89370400440532013000", "EUR"), ("CARD-1234", None), ("EMPTY", None)]
    first, second, third = lines(events)
    assert (first.line_number, first.amount, first.description, first.value_date, first.reference,
            first.counterparty_name, first.balance, first.bank_transaction_id, first.currency) == (
        1, Decimal("-12.50"), "Café", date(2024, 2, 1), "R1", "Bäcker", Decimal("100.00"), "t1", "EUR")
    # a JSON number is read exactly as written, never through float
    assert second.amount == Decimal("0.1") and str(second.amount) == "0.1"
    assert (second.date_posted, second.currency, second.original_amount, second.original_currency,
            second.pending, second.bank_transaction_id, second.description) == (
        date(2024, 2, 1), "USD", Decimal("9.99"), "CHF", True, "77", "alias")
    assert (third.line_number, third.amount, third.account_ref) == (3, Decimal("-5.00"), "CARD-1234")


def test_rejected_transactions_carry_a_json_path() -> None:
    doc = {"bankAccounts": [{"accountIdentifier": "A", "transactions": [
        {"datePosted": "2024-01-01", "amount": "1"},
        {"datePosted": "31.12.2024", "amount": "1"},
        {"amount": "1"},
        {"datePosted": "2024-01-01", "amount": "1,50"},
        {"datePosted": "2024-01-01"},
        "not an object",
        {"datePosted": "2024-01-01", "amount": True},
        {"datePosted": "2024-01-01", "amount": "1", "currency": "euro"},
        {"datePosted": "2024-01-01", "amount": "1", "valueDate": "soon"},
        {"datePosted": "2024-01-01", "amount": "1", "description": 5},
    ]}]}
    events = run(parse_json_v0, json.dumps(doc).encode())
    base = "$.bankAccounts[0].transactions"
    assert [(e.line_number, e.code, e.target) for e in errors(events)] == [
        (2, INVALID_DATE, f"{base}[1].datePosted"),
        (3, REQUIRED_VALUE_MISSING, f"{base}[2].datePosted"),
        (4, INVALID_AMOUNT, f"{base}[3].amount"),
        (5, REQUIRED_VALUE_MISSING, f"{base}[4].amount"),
        (6, INVALID_LINE, f"{base}[5]"),
        (7, INVALID_AMOUNT, f"{base}[6].amount"),
        (8, INVALID_LINE, f"{base}[7].currency"),
        (9, INVALID_DATE, f"{base}[8].valueDate"),
        (10, INVALID_LINE, f"{base}[9].description"),
    ]
    assert errors(events)[2].actual_value == "1,50"
    assert len(lines(events)) == 1


def test_single_account_shape_and_identifier_after_transactions() -> None:
    single = b'{"currency": "EUR", "transactions": [{"datePosted": "2024-01-01", "amount": "2"}]}'
    [line] = lines(run(parse_json_v0, single))
    assert (line.account_ref, line.currency, line.amount) == (None, "EUR", Decimal("2"))
    late = (b'{"bankAccounts": [{"transactions": [{"datePosted": "2024-01-01", "amount": 1}],'
            b' "accountIdentifier": "LATE", "currency": "GBP"}]}')
    events = run(parse_json_v0, late)
    assert isinstance(events[0], StatementAccount) and events[0].account_ref == "LATE"
    assert lines(events)[0].account_ref == "LATE" and lines(events)[0].currency == "GBP"


def test_utf16_and_bom_documents() -> None:
    doc = '{"transactions": [{"datePosted": "2024-01-01", "amount": "-1.5", "description": "Grüße"}]}'
    for data in (doc.encode("utf-16"), b"\xef\xbb\xbf" + doc.encode()):
        [line] = lines(run(parse_json_v0, data))
        assert (line.description, line.amount) == ("Grüße", Decimal("-1.5"))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", EMPTY_FILE),
        (b"[]", INVALID_SOURCE_DATA),
        (b'{"other": 1}', INVALID_SOURCE_DATA),
        (b'{"bankAccounts": {}}', INVALID_SOURCE_DATA),
        (b'{"bankAccounts": [1]}', INVALID_SOURCE_DATA),
        (b'{"bankAccounts": [{"transactions": []}]}', INVALID_SOURCE_DATA),
        (b'{"bankAccounts": [{"accountIdentifier": "A", "transactions": 3}]}', INVALID_SOURCE_DATA),
        (b'{"transactions": [{"datePosted": "2024-01-01", "amount": 1}', INVALID_SOURCE_DATA),
        (b'{"transactions": "x"}', INVALID_SOURCE_DATA),
    ],
)
def test_broken_documents_are_file_errors(data: bytes, code: str) -> None:
    with pytest.raises(FileError) as info:
        run(parse_json_v0, data)
    assert info.value.code == code


def test_json_template_parses() -> None:
    fmt = FORMATS["JSON#v0"]
    assert fmt.template is not None and fmt.options_schema is not None
    events = run(fmt.parser, fmt.template[2].encode())
    assert not errors(events) and total(events) == Decimal("1550.00")
    assert fmt.to_api()["accountsSupported"] == "multi"


def test_the_places_of_the_amounts_are_the_json_paths_the_errors_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ParseOptions.places` names each line's amount as a LineError of it would (a check after parsing, such as an
    amount finer than its currency, gives it as its target): for lines the column reader made and for those read
    one by one, across accounts, an empty array and rejected transactions."""
    from tximport.formats import json_v0

    made: list[bool] = []
    columns = json_v0._Reader.columns

    def spy(self: object, *args: object) -> object:
        result = columns(self, *args)  # type: ignore[arg-type]
        made.append(result is not None)
        return result

    monkeypatch.setattr(json_v0._Reader, "columns", spy)
    many = [{"datePosted": f"2024-01-{i % 28 + 1:02d}", "amount": f"-{i}.25", "description": f"Line {i}"}
            for i in range(3000)]
    odd = [*many[:5], {"datePosted": "2024-01-01", "amount": "1", "pending": True}, {"amount": "x"}, *many[:5]]
    doc = {"bankAccounts": [{"accountIdentifier": "A", "transactions": many},
                            {"accountIdentifier": "B", "transactions": []},
                            {"accountIdentifier": "C", "transactions": odd}]}
    options = ParseOptions()
    events = list(parse_json_v0(BytesSource(json.dumps(doc).encode()), options))
    assert True in made  # (the column reader made some of the lines)
    expected = [f"$.bankAccounts[0].transactions[{i}].amount" for i in range(3000)] + [
        f"$.bankAccounts[2].transactions[{i}].amount" for i in range(12) if i != 6]
    assert [options.places.of(line) for line in lines(events)] == expected
    assert [e.target for e in errors(events)] == ["$.bankAccounts[2].transactions[6].datePosted"]

    options = ParseOptions()
    single = {"currency": "EUR", "transactions": many[:3]}
    assert [options.places.of(line) for line in lines(list(parse_json_v0(
        BytesSource(json.dumps(single).encode()), options)))] == [f"$.transactions[{i}].amount" for i in range(3)]


@pytest.mark.parametrize("before", [0, 5000])
def test_a_syntax_error_names_its_line_and_column_as_an_editor_shows_them(before: int) -> None:
    """Past the first block read too (5,000 transactions before it), the line and column are the text's."""
    good = "".join(f'\n    {{"datePosted": "2024-01-01", "amount": "-{n}.00", "description": "Coffee {n}"}},'
                   for n in range(before))
    doc = ('{\n  "bankAccounts": [{"accountIdentifier": "X",\n   "transactions": [' + good
           + '\n    {"datePosted": "2024-01-02" "amount": "1.00"}]}]}')
    with pytest.raises(FileError) as info:
        run(parse_json_v0, doc.encode())
    line, column = before + 4, len('    {"datePosted": "2024-01-02" ') + 1
    assert info.value.code == INVALID_SOURCE_DATA and f"(line {line}, column {column};" in info.value.message
    assert (info.value.details["lineNumber"], info.value.details["column"]) == (line, column)
