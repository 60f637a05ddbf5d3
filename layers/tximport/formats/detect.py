"""Format detection: which of the service's formats a file is, from its first bytes.

`detect(sample)` reads at most `DETECT_SAMPLE_SIZE` bytes (the start of the file) and answers a
`Detection`: the format, a confidence from 0 to 1, the other candidates, and for CSV files the
layout (delimiter, header row, the role of each column, decimal separator, date style) with a
mapping usable as the `CSV#mapped#v1` mapping.

Structured formats are told by their markers: an OFX header (`OFXHEADER:` in OFX 1.x SGML,
`<?OFX` in 2.x XML, or a bare `<OFX>`), the ISO 20022 namespace of camt.052/053/054 (its message
version is reported), the MT940 tags `:20:` `:25:` `:61:`, QIF's `!Type:` header and JSON#v0's keys.
Anything else that splits into a regular table is CSV.

Detection never guesses: when two readings fit equally (two delimiters, columns that are either a
credit/debit pair or an amount and a balance, no amount column at all) the answer is `ambiguous`,
lists the candidates and says why.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tximport.formats.base import DateStyle, FileError
from tximport.formats.csv_mapped import (
    DEFAULT_BOOKED_VALUES,
    DEFAULT_CREDIT_VALUES,
    DEFAULT_DEBIT_VALUES,
    DEFAULT_PENDING_VALUES,
    DELIMITERS,
    CsvMapping,
)
from tximport.formats.csv_rows import status_key
from tximport.formats.dates import DateStyleVote, looks_like_date
from tximport.formats.encoding import decode_sample, detect_encoding
from tximport.formats.values import amount_evidence, infer_decimal_separator

#: how much of a file detection reads (the API refuses larger samples)
DETECT_SAMPLE_SIZE = 64 * 1024
#: below this confidence the best candidate is not named as the format
MIN_CONFIDENCE = 0.5
#: rows of a CSV sample that are looked at
_MAX_ROWS = 500

_CAMT_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d{2})")
_CAMT_ROOTS = {"BkToCstmrStmt": "053", "BkToCstmrAcctRpt": "052", "BkToCstmrDbtCdtNtfctn": "054"}
_MT940_TAG = re.compile(r"^:(20|25|28C?|60[FM]|61|62[FM]|86):", re.MULTILINE)
_QIF_HEADER = re.compile(r"^\s*!(Type:\w+|Account|Option:|Clear:)", re.IGNORECASE | re.MULTILINE)
_JSON_KEYS = re.compile(r'"(bankAccounts|transactions|datePosted|accountIdentifier)"\s*:')
#: a short name with a number (GLS's `VWZ1`): a header's word, though it reads as a currency code and a number
_IDENTIFIER = re.compile(r"^\s*[A-Za-z]{1,6}\d{1,3}\s*$")
#: a number with neither sign nor decimals (an account number, a record type): no amount beside one that has them
_WHOLE = re.compile(r"^\d+$")
_NUMBER = re.compile(r"^\s*[-+(]?\s*(?:[€$£¥]|[A-Z]{3})?\s*[-+]?\d[\d.,' \u00a0]*\s*(?:[A-Z]{3}|CR|DR|-|\))?\s*$")

#: header words of the date a bank books a line on: preferred as `date` over a transaction's (started,
#: authorised) date when a file has both (Revolut's `Completed Date` beside its `Started Date`)
_BOOKING_DATES = ("buchungstag", "booking date", "posting date", "posted", "posted date", "post date", "date posted",
                  "buchungsdatum", "completed date", "boekdatum", "date comptable",
                  "datum verrekening", "datum zaúčtování")

#: header words per column role, most specific first (matched on the lower-cased, trimmed header)
_HEADER_ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("originalAmount", ("amount currency", "original amount", "foreign amount", "amount in currency",
                        "betrag ursprung", "montant devise", "originalbetrag")),
    ("originalCurrency", ("original currency", "foreign currency", "originalwährung")),
    ("valueDate", ("értéknap", "value date", "valuta", "valutadatum", "wertstellung", "wertstellungsdatum",
                   "date de valeur", "valuedate")),
    ("indicator", ("d/c", "dc", "c/d", "cr/dr", "dr/cr", "debit/credit", "credit/debit", "soll/haben", "s/h", "d/k",
                   "sign", "debitcredit", "creditdebit", "af bij", "af/bij", "bij/af", "af-bij")),
    ("balance", ("egyenleg", "balance", "saldo", "solde", "running balance", "kontostand", "current balance",
                 "balance after", "account balance")),
    ("credit", ("credit", "credits", "haben", "paid in", "money in", "deposit", "deposits", "crédit", "credit amount",
                "einnahme", "gutschrift")),
    ("debit", ("debit", "debits", "soll", "paid out", "money out", "withdrawal", "withdrawals", "débit",
               "debit amount", "ausgabe", "lastschrift")),
    ("amount", ("tranzakció összege", "összeg", "amount", "betrag", "umsatz", "montant", "bedrag", "importe", "value",
                "transaction amount", "buchungsbetrag", "suma", "částka", "zaúčtovaná částka")),
    ("currency", ("tranzakció devizaneme", "devizanem", "currency", "ccy", "währung", "waehrung", "devise",
                  "valuta code", "cur", "buchungswährung", "valiuta", "měna", "měna účtu")),
    ("date", _BOOKING_DATES + ("date", "datum", "data", "transaction date", "date opération", "fecha", "trans date",
                               "transactiedatum", "started date", "authorisation date", "authorization date",
                               "tranzakció dátuma", "dátum")),
    ("counterpartyAccount", ("partner számlaszáma", "bank account", "iban", "counterparty account", "account number",
                             "kontonummer", "kontonummer/iban", "gegenkonto", "payee account", "tegenrekening",
                             "tegenrekeningnummer", "partner iban", "číslo protiúčtu")),
    ("counterpartyName", ("partner neve", "partner name", "payee", "counterparty", "beneficiary", "name",
                          "beguenstigter/zahlungspflichtiger", "auftraggeber", "empfänger", "auftraggeber/empfänger",
                          "empfänger/auftraggeber", "tegenrekeninghouder", "auftraggebername", "naam tegenpartij",
                          "gavėjas", "název protiúčtu")),
    ("bankTransactionId", ("transaction id", "operation number", "id", "transaction number", "fitid")),
    ("reference", ("reference", "ref", "referenz", "kundenreferenz")),
    ("description", ("közlemény", "részletek", "description", "label", "memo", "details", "detail", "text",
                     "narrative", "verwendungszweck", "buchungstext", "libellé", "libelle", "particulars",
                     "transaction details", "concepto", "omschrijving", "naam / omschrijving", "mededelingen",
                     "reason")),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One format the sample may be, with how sure detection is and why."""

    file_format: str
    confidence: float
    reason: str

    def to_api(self) -> dict[str, Any]:
        return {"fileFormat": self.file_format, "confidence": self.confidence, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CsvColumn:
    index: int
    header: str | None
    role: str | None  # a CSV#mapped#v1 role, or None when the column is not used


@dataclass(slots=True)
class CsvLayout:
    """What a CSV sample looks like."""

    delimiter: str
    has_header: bool
    header_row: int | None  # 0-based row of the header (rows above it are a preamble)
    columns: list[CsvColumn]
    decimal_separator: str
    date_style: DateStyle | None
    footer_rows: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "delimiter": self.delimiter,
            "hasHeader": self.has_header,
            "headerRow": self.header_row,
            "columns": [{"index": c.index, "header": c.header, "role": c.role} for c in self.columns],
            "decimalSeparator": self.decimal_separator,
            "dateStyle": self.date_style.value if self.date_style else None,
        }


@dataclass(slots=True)
class Detection:
    """The answer of `detect`."""

    file_format: str | None
    confidence: float
    candidates: list[Candidate] = field(default_factory=list)
    csv: CsvLayout | None = None
    suggested_mapping: dict[str, Any] | None = None
    ambiguous: bool = False
    reasons: list[str] = field(default_factory=list)
    encoding: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "fileFormat": self.file_format,
            "confidence": self.confidence,
            "candidates": [c.to_api() for c in self.candidates],
            "csv": self.csv.to_api() if self.csv else None,
            "suggestedMapping": self.suggested_mapping,
            "ambiguous": self.ambiguous,
            "reasons": list(self.reasons),
            "encoding": self.encoding,
        }


def detect(sample: bytes, file_name: str | None = None, *, complete: bool | None = None) -> Detection:
    """Detect the format of a file from its first bytes (`complete`: the sample is the whole file;
    by default it is when shorter than DETECT_SAMPLE_SIZE). The file name's extension only breaks
    ties between candidates; it never names a format on its own."""
    sample = sample[:DETECT_SAMPLE_SIZE]
    if complete is None:
        complete = len(sample) < DETECT_SAMPLE_SIZE
    if not sample.strip():
        return Detection(None, 0.0, reasons=["the file is empty"])
    try:
        encoding = detect_encoding(sample, complete=complete)
    except FileError as exc:
        return Detection(None, 0.0, reasons=[exc.message])
    text = decode_sample(sample, encoding).lstrip("\ufeff")
    head = text.lstrip()

    structured = _structured(head, complete)
    if structured:
        return _decide(structured, encoding, file_name)

    found = _csv(text, complete)
    if found is None:
        best = Candidate("CSV#mapped#v1", 0.1, "no regular table of columns was found")
        return Detection(None, 0.0, candidates=[best], encoding=encoding,
                         reasons=["not recognised: no format marker (OFX, camt, MT940, QIF, JSON) and no "
                                  "regular table of columns"])
    candidates, layout, mapping, reasons, ambiguous = found
    detection = _decide(candidates, encoding, file_name, extra_reasons=reasons, force_ambiguous=ambiguous)
    detection.csv = layout
    detection.suggested_mapping = mapping
    return detection


def _decide(candidates: list[Candidate], encoding: str, file_name: str | None, *,
            extra_reasons: list[str] | None = None, force_ambiguous: bool = False) -> Detection:
    ext = file_name.rsplit(".", 1)[-1].lower() if file_name and "." in file_name else ""
    ordered = sorted(candidates, key=lambda c: (-c.confidence, not _extension_fits(c.file_format, ext)))
    best = ordered[0]
    tied = [c for c in ordered[1:] if best.confidence - c.confidence < 0.05
            and _extension_fits(c.file_format, ext) == _extension_fits(best.file_format, ext)]
    reasons = [best.reason, *(extra_reasons or [])]
    ambiguous = force_ambiguous or bool(tied) or best.confidence < MIN_CONFIDENCE
    if tied:
        reasons.append("equally likely: " + ", ".join(c.file_format for c in [best, *tied]))
    return Detection(None if ambiguous else best.file_format, best.confidence, candidates=ordered,
                     ambiguous=ambiguous, reasons=reasons, encoding=encoding)


def _extension_fits(file_format: str, ext: str) -> bool:
    from tximport.formats.registry import FORMATS  # the registry imports every parser: only when asked

    fmt = FORMATS.get(file_format)
    return bool(ext) and fmt is not None and ext.upper() in fmt.file_extensions


# --------------------------------------------------------------------------------------------------
# structured formats


def _qif_first_line(head: str) -> str:
    """The first line of `head` that is neither blank nor a `#` comment (QIF files may open with comments)."""
    for line in head[:4096].split("\n"):
        text = line.strip()
        if text and not text.startswith("#"):
            return text
    return ""


def _structured(head: str, complete: bool) -> list[Candidate]:
    out: list[Candidate] = []
    start = head[:2048]
    if start.startswith("OFXHEADER:"):
        out.append(Candidate("XML#OFX#v1", 0.99, "OFX 1.x SGML header (OFXHEADER:)"))
    elif re.search(r"<\?OFX\b", start, re.IGNORECASE):
        out.append(Candidate("XML#OFX#v1", 0.99, "OFX 2.x processing instruction (<?OFX ...?>)"))
    elif re.search(r"<OFX>", head[:8192], re.IGNORECASE):
        out.append(Candidate("XML#OFX#v1", 0.9, "OFX root element <OFX> without a header"))
    if out:
        return out
    if head.startswith("<"):
        ns = _CAMT_NS.search(head)
        if ns:
            kind, version = ns.groups()
            out.append(Candidate(f"CAMT{kind}#v1", 0.99,
                                 f"ISO 20022 namespace camt.{kind}.001.{version}"))
            return out
        for root, kind in _CAMT_ROOTS.items():
            if f"<{root}>" in head or f":{root}>" in head:
                out.append(Candidate(f"CAMT{kind}#v1", 0.8,
                                     f"ISO 20022 message element {root} without the camt namespace"))
        return out
    tags = Counter(m.group(1) for m in _MT940_TAG.finditer(head))
    if tags["20"] and tags["25"] and (tags["61"] or tags["60F"] or tags["60M"]):
        confidence = 0.97 if tags["61"] else 0.85
        out.append(Candidate("MT940#v1", confidence,
                             "SWIFT MT940 tags " + " ".join(f":{t}:" for t in ("20", "25", "61", "60F")
                                                             if tags[t])))
        return out
    if tags and (tags["61"] or tags["60F"] or tags["60M"]) and head.startswith(":"):
        # a statement without its header block: still MT940's family, said with less certainty
        out.append(Candidate("MT940#v1", 0.7, "SWIFT MT940 tags " + " ".join(f":{t}:" for t in sorted(tags))
                             + " without the :20: and :25: header tags"))
        return out
    qif_first = _qif_first_line(head) if _QIF_HEADER.search(head[:4096]) else ""
    if qif_first.startswith("!"):
        out.append(Candidate("QIF#v1", 0.97, "QIF header (" + qif_first[:40] + ")"))
        return out
    if head.startswith(("{", "[")):
        keys = set(_JSON_KEYS.findall(head))
        parsed = None
        if complete:
            try:
                parsed = json.loads(head)
            except ValueError:
                parsed = None
        if parsed is not None and _json_v0_shape(parsed):
            out.append(Candidate("JSON#v0", 0.98, "JSON document with transactions (JSON#v0 shape)"))
        elif "transactions" in keys:
            out.append(Candidate("JSON#v0", 0.85 if keys & {"datePosted", "bankAccounts"} else 0.6,
                                 "JSON with a transactions key: " + ", ".join(sorted(keys))))
        else:
            out.append(Candidate("JSON#v0", 0.3, "a JSON document, but not the JSON#v0 shape"))
    return out


def _json_v0_shape(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    accounts = doc.get("bankAccounts")
    if isinstance(accounts, list):
        return all(isinstance(a, dict) and isinstance(a.get("transactions"), list) for a in accounts)
    return isinstance(doc.get("transactions"), list)


# --------------------------------------------------------------------------------------------------
# CSV


def _rows(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    lines = text.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a line
    try:
        return list(csv.reader(lines[:_MAX_ROWS], delimiter=delimiter))
    except csv.Error:
        return []


def _blank(row: list[str]) -> bool:
    return all(not cell.strip() for cell in row)


def _is_number(cell: str) -> bool:
    cell = cell.strip()
    return bool(cell) and bool(_NUMBER.match(cell)) and any(ch.isdigit() for ch in cell)


def _is_date(cell: str) -> bool:
    cell = cell.strip()
    return bool(cell) and any(ch.isdigit() for ch in cell) and looks_like_date(cell)


@dataclass(slots=True)
class _Table:
    delimiter: str
    rows: list[list[str]]
    width: int
    data: list[int]  # indexes of the data rows (regular width and a date cell)
    date_index: int
    score: float


def _table(text: str, delimiter: str, complete: bool) -> _Table | None:
    rows = _rows(text, delimiter, complete)
    filled = [r for r in rows if not _blank(r)]
    if not filled:
        return None
    widths = Counter(len(r) for r in filled)
    width, frequency = max(widths.items(), key=lambda item: (item[1], item[0]))
    if width < 2:
        return None
    regular = [i for i, r in enumerate(rows) if len(r) == width and not _blank(r)]
    date_hits = Counter(j for i in regular for j, cell in enumerate(rows[i]) if _is_date(cell))
    if not date_hits:
        return None
    date_index, dated = min(date_hits.items(), key=lambda item: (-item[1], item[0]))
    data = [i for i in regular if _is_date(rows[i][date_index])]
    score = (len(data) / len(filled)) * (frequency / len(filled)) ** 0.5
    return _Table(delimiter, rows, width, data, date_index, score)


def _first_dated_row(table: _Table) -> int:
    """The first data row: the table's first regular one, or the rows of another width right above it that read as
    lines too (a date in the date column, a number beside it, at least half the table's cells: Livebank's first line
    has fewer cells than the rest), which a suggested skipRows must not leave out without a word. A row that does not
    read so (a header) ends them: a preamble's dated rows above it stay the preamble (Sparda's `Umsätze ab`)."""
    first = table.data[0]
    for i in range(first - 1, -1, -1):
        row = table.rows[i]
        if _blank(row):
            continue
        if not (len(row) > table.date_index and len(row) >= max(2, table.width // 2)
                and _is_date(row[table.date_index])
                and any(_is_number(c) and not _is_date(c) for j, c in enumerate(row) if j != table.date_index)):
            break
        first = i
    return first


def _csv(text: str, complete: bool) -> tuple[list[Candidate], CsvLayout, dict[str, Any] | None, list[str],
                                             bool] | None:
    tables = [t for d in DELIMITERS if (t := _table(text, d, complete)) is not None and t.data]
    if not tables:
        return None
    tables.sort(key=lambda t: (-t.score, -t.width))
    table = tables[0]
    reasons: list[str] = []
    ambiguous = False
    rivals = [t for t in tables[1:] if t.score >= table.score * 0.95 and t.width == table.width]
    if rivals:
        ambiguous = True
        reasons.append("the rows split equally well on " + " and ".join(
            repr(t.delimiter) for t in [table, *rivals]))

    rows, width = table.rows, table.width
    first_data = _first_dated_row(table)
    # a delimiter after every data row's last value (Chase): the header has one cell less
    trailing = all(not rows[i][-1].strip() for i in table.data)
    header_row = None
    #: a header-like row wider than the rows under it (Swedbank LT: 17 names over rows of 13 or 14 cells)
    wide_header = False
    for i in range(first_data - 1, -1, -1):
        row = rows[i]
        if _blank(row):
            continue
        named = [c for c in row if c.strip()]
        # a delimiter after the header's last name (Lloyds): the header has one empty cell more than the rows
        fits = len(row) == width or (trailing and len(row) == width - 1) \
            or (len(row) == width + 1 and not row[-1].strip())
        names = len(named) >= max(2, width // 2) and not any(
            _is_date(c) or (_is_number(c) and not _IDENTIFIER.match(c)) for c in named)
        if fits and names:
            header_row = i
        wide_header = names and not fits and len(row) > width
        break
    header = [c.strip() for c in rows[header_row]][:width] if header_row is not None else None
    if header is not None and len(header) < width:
        header.append("")
    data_rows = [rows[i] for i in table.data]
    footer = 0
    if complete:
        last = table.data[-1]
        # as the parser counts: every row from the footer's first to its last that is not blank, blank ones between
        filled_after = [i for i in range(last + 1, len(rows)) if not _blank(rows[i])]
        footer = filled_after[-1] - filled_after[0] + 1 if filled_after else 0

    roles, role_reasons, role_ambiguous = _roles(header, data_rows, width, table.date_index)
    reasons.extend(role_reasons)
    ambiguous = ambiguous or role_ambiguous
    if wide_header:  # which name goes with which cell cannot be told: no mapping is guessed
        reasons.append(f"a header row of more names than the {width} cells of the rows under it: map the columns by "
                       "index (no mapping is suggested)")
        role_ambiguous = ambiguous = True
    amount_values = [r[i] for r in data_rows for role, idx in roles.items()
                     if role in ("amount", "credit", "debit", "balance") for i in idx if i < len(r)]
    telling = [v for v in amount_values if amount_evidence(v)]
    default_decimal = "," if table.delimiter == ";" else "."
    decimal = infer_decimal_separator(amount_values, default=default_decimal)
    if not telling:
        reasons.append(f"no amount tells the decimal separator: {decimal!r} assumed")
    vote = DateStyleVote()
    for r in data_rows:
        for i in roles.get("date", ()) + roles.get("valueDate", ()):
            if i < len(r):
                vote.add(r[i].strip())
    style: DateStyle | None
    try:
        style = vote.decide()
        if style is None:
            style = DateStyle.BIG_ENDIAN
    except FileError:
        style = None
        reasons.append("the dates read both as day/month and as month/day: pass a date style")

    columns = [CsvColumn(i, header[i] if header and header[i] else None,
                         next((role for role, idx in roles.items() if i in idx), None)) for i in range(width)]
    layout = CsvLayout(table.delimiter, header is not None, header_row, columns, decimal, style, footer)
    # a column the rows fill but the header has no name for: a mapping by names would find the rows too wide
    unnamed = header is not None and any(
        not header[i] and any(i < len(r) and r[i].strip() for r in data_rows) for i in range(width))
    mapping = None if wide_header else _mapping(layout, roles, header, header_row if header_row is not None
                                                else first_data, by_index=unnamed)
    marks = _sign_marks([r[roles["indicator"][0]].strip() for r in data_rows if roles["indicator"][0] < len(r)]) \
        if mapping is not None and "indicator" in roles else None
    if mapping is not None and marks:
        mapping["indicatorValues"] = marks

    candidates: list[Candidate] = []
    fixed = _fixed_layout(roles, width)
    base = round(min(0.95, 0.55 + 0.4 * table.score), 2)
    if mapping is None:
        candidates.append(Candidate("CSV#mapped#v1", 0.3,
                                    "a CSV table, but its amount column(s) were not recognised"))
        ambiguous = True
    elif fixed:
        candidates.append(Candidate(fixed, base, f"CSV with the columns of {fixed}"))
        candidates.append(Candidate("CSV#mapped#v1", round(base - 0.1, 2), "CSV readable through a mapping"))
    else:
        candidates.append(Candidate("CSV#mapped#v1", base if header is not None else round(base - 0.15, 2),
                                    f"CSV ({width} columns, delimiter {table.delimiter!r}"
                                    f"{', header row' if header is not None else ', no header'}) read "
                                    "through the suggested mapping"))
    if ambiguous:
        candidates = [Candidate(c.file_format, min(c.confidence, 0.45), c.reason) for c in candidates]
        fits_count = {3: "Tabular3column#v1", 4: "CSV#4col#v1"}.get(width)
        if role_ambiguous and fits_count and fits_count not in {c.file_format for c in candidates}:
            candidates.append(Candidate(fits_count, 0.4, f"has the {width} columns of {fits_count}"))
    return candidates, layout, mapping, reasons, ambiguous


def _header_key(name: str) -> str:
    """A header name's words, lower-cased; words run together in camel case (Schwab's `RunningBalance`) apart."""
    return " ".join(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.strip()).lower().replace("_", " ").split())


def _header_role(name: str) -> tuple[str, bool] | None:
    """The role a header's words name, and whether they name it exactly (not by a prefix)."""
    key = _header_key(name)
    if re.fullmatch(r"vwz ?\d{1,2}", key):  # GLS's Verwendungszweck lines VWZ1..VWZ14
        return "description", True
    for role, words in _HEADER_ROLES:
        if key in words:
            return role, True
    for role, words in _HEADER_ROLES:  # a header that starts with a role word ("Amount (EUR)")
        if any(key.startswith(word + " ") or key.startswith(word + "(") for word in words if len(word) > 3):
            return role, False
    return None


def _booking_date(name: str) -> bool:
    return _header_key(name) in _BOOKING_DATES


_PENDING_KEYS = frozenset(status_key(v) for v in DEFAULT_PENDING_VALUES)
_STATUS_KEYS = _PENDING_KEYS | {status_key(v) for v in DEFAULT_BOOKED_VALUES}


def _status_column(header: list[str], column: Callable[[int], list[str]], roles: dict[str, tuple[int, ...]]
                   ) -> int | None:
    """A column no role took whose every value is a booked or pending value (Sparkasse's `Info`: `Umsatz
    gebucht`, `Umsatz vorgemerkt`), one of them at least pending: its lines' status."""
    taken = {i for indexes in roles.values() for i in indexes}
    for i in range(len(header)):
        values = {status_key(v) for v in column(i) if v} if i not in taken else set()
        if values and values <= _STATUS_KEYS and values & _PENDING_KEYS:
            return i
    return None


#: roles whose values are money: only a column of numbers takes one
_MONEY = frozenset({"amount", "credit", "debit", "balance", "originalAmount"})
_CREDITS, _DEBITS = frozenset(DEFAULT_CREDIT_VALUES), frozenset(DEFAULT_DEBIT_VALUES)


def _indicator_column(header: list[str], column: Callable[[int], list[str]], roles: dict[str, tuple[int, ...]]
                      ) -> int | None:
    """A column no role took whose every value is a credit or debit mark (see `_sign_marks`; Mint's `Transaction
    Type`: `debit`, `credit`), beside an amount column with no negative value: without it every debit would read
    as a credit."""
    if any(v.startswith("-") for i in roles.get("amount", ()) for v in column(i)):
        return None
    taken = {i for indexes in roles.values() for i in indexes}
    for i in range(len(header)):
        if i not in taken and _sign_marks(column(i)) is not None:
            return i
    return None


def _lone_mark_column(column: Callable[[int], list[str]], roles: dict[str, tuple[int, ...]], width: int) -> bool:
    """Beside an amount with no negative value, a column of one letter that marks one kind only (Swedbank EE's `D`
    on every row of a file of debits): it may sign the amounts or not."""
    if any(v.startswith("-") for i in roles.get("amount", ()) for v in column(i)):
        return False
    taken = {i for indexes in roles.values() for i in indexes}
    return any(len(marks := {v.upper() for v in column(i) if v}) == 1 and marks <= {"C", "D", "K", "S", "H"}
               for i in range(width) if i not in taken)


def _sign_marks(values: list[str]) -> dict[str, list[str]] | None:
    """The `indicatorValues` a column's values need as credit/debit marks (empty: the defaults), or None when they
    are no marks. Words (`debit`, `Soll`) say it alone; one-letter marks (`D`, `S`, `-`) only where both kinds
    occur; `D`/`K` (Swedbank's debetas/kreditas) both; one credit mark (`CR`) beside empty cells (John Lewis's
    card) makes the empty ones debits."""
    marks = {v for v in values if v}
    upper = {v.upper() for v in marks}
    if not marks:
        return None
    if upper <= _CREDITS | _DEBITS and ((upper & _CREDITS and upper & _DEBITS) or all(len(v) > 2 for v in upper)):
        return {}
    if upper == {"D", "K"}:
        return {"credit": sorted(v for v in marks if v.upper() == "K"), "debit": sorted(
            v for v in marks if v.upper() == "D")}
    if len(upper) == 1 and len(marks) == 1 and "" in values and upper <= _CREDITS and len(next(iter(upper))) > 1:
        return {"credit": sorted(marks), "debit": [""]}
    return None


def _amount_like(values: list[str]) -> bool:
    """Values that may be amounts: every one a number, and not every one a date (a dotted date, `01.07.2013`,
    reads as a number too: Raiffeisen AT's value date is no amount)."""
    return bool(values) and all(map(_is_number, values)) and not all(map(_is_date, values))


def _roles(header: list[str] | None, rows: list[list[str]], width: int, date_index: int
           ) -> tuple[dict[str, tuple[int, ...]], list[str], bool]:
    """The role of each column: from the header words, else from the values."""
    roles: dict[str, tuple[int, ...]] = {}
    reasons: list[str] = []

    def column(i: int) -> list[str]:
        return [r[i].strip() for r in rows if i < len(r)]

    numeric = {i for i in range(width) if _amount_like([v for v in column(i) if v])}
    if header:
        by_header = [(i, name, *found) for i, name in enumerate(header) if name and (found := _header_role(name))]
        exact = {role for _, _, role, is_exact in by_header if is_exact and role != "description"}
        for i, name, role, is_exact in by_header:
            if role in _MONEY and not _amount_like([v for v in column(i) if v] or ["0"]):
                continue  # a card number under `Umsatz getätigt von`: no amount
            if not is_exact and role in exact:
                continue  # `Buchungsbetrag` is the amount, not `Umsatz getätigt von`
            if role == "description":
                roles[role] = (*roles.get(role, ()), i)
            elif role not in roles or (role == "date" and _booking_date(name) and not _booking_date(
                    header[roles[role][0]])):
                roles[role] = (i,)
        if "date" not in roles:
            roles["date"] = (date_index,)
        _drop_own_account(roles, header, column)
        if "amount" in roles and "credit" in roles and "debit" in roles:
            roles.pop("amount")  # a pair says more than one signed column
        if ("credit" in roles) != ("debit" in roles):
            lone = "credit" if "credit" in roles else "debit"
            roles.setdefault("amount", roles.pop(lone))
        if "indicator" in roles and "amount" not in roles:
            roles.pop("indicator")
        indicator = _indicator_column(header, column, roles) if "amount" in roles and "indicator" not in roles \
            else None
        if indicator is not None:
            roles["indicator"] = (indicator,)
            reasons.append(f"the column {header[indicator] or indicator!r} says which amounts are credits and "
                           "which debits")
        status = _status_column(header, column, roles)
        if status is not None:
            roles["status"] = (status,)
            reasons.append(f"the column {header[status]!r} says which lines are booked and which pending")
    if "amount" in roles or ("credit" in roles and "debit" in roles):
        named = "description" in roles
        if not named:
            texts = [i for i in range(width) if i not in numeric and all(i not in v for v in roles.values())]
            if texts:
                roles["description"] = (max(texts, key=lambda i: sum(len(v) for v in column(i))),)
        _payee_in_description(roles, rows, named)
        return roles, reasons, False

    # no header (or no amount in it): read the values
    roles = {"date": (date_index,)}
    amounts = [i for i in sorted(numeric) if i != date_index]
    whole = [i for i in amounts if all(_WHOLE.match(v) for v in column(i) if v)]
    if len(whole) < len(amounts):  # an account number or a record-type code beside amounts with decimals
        amounts = [i for i in amounts if i not in whole]
    texts = [i for i in range(width) if i not in numeric and i != date_index]
    if texts:
        roles["description"] = (max(texts, key=lambda i: sum(len(v) for v in column(i))),)
    if len(amounts) == 1:
        roles["amount"] = (amounts[0],)
        reasons.append("the one numeric column is the amount")
        indicator = _indicator_column([""] * width, column, roles)
        if indicator is not None:
            roles["indicator"] = (indicator,)
            reasons.append(f"the column {indicator} says which amounts are credits and which debits")
        elif _lone_mark_column(column, roles, width):
            del roles["amount"]
            reasons.append("a column of one credit/debit letter beside unsigned amounts: whether it signs them "
                           "cannot be told without a header (no mapping is suggested)")
            return roles, reasons, True
        return roles, reasons, False
    if len(amounts) == 2:
        a, b = amounts
        one_each = all(bool(r[a].strip()) != bool(r[b].strip()) for r in rows if max(a, b) < len(r))
        if one_each:
            roles["credit"], roles["debit"] = (a,), (b,)
            reasons.append("two numeric columns, never both filled: credit then debit")
            return roles, reasons, False
        reasons.append("two numeric columns both filled on every row: credit/debit or amount and balance "
                       "cannot be told apart without a header (no mapping is suggested)")
        return roles, reasons, True
    if not amounts:
        reasons.append("no numeric column for the amount")
    else:
        reasons.append(f"{len(amounts)} numeric columns: which one is the amount cannot be told without a header")
    return roles, reasons, True


#: header words of the holder's own account beside which an `account number` column is the holder's too
_OWN_ACCOUNT_BESIDE = ("sort code", "sortcode")


def _drop_own_account(roles: dict[str, tuple[int, ...]], header: list[str], column: Callable[[int], list[str]]
                      ) -> None:
    """A UK export's `Account Number` beside its `Sort Code` (Lloyds, Halifax) is the holder's own account, the
    same on every line: no counterparty's. So is an account in the file's first column that is the same on every
    line of several (ING-DiBa AT's and GLS's `Kontonummer`)."""
    account = roles.get("counterpartyAccount")
    keys = [_header_key(name) for name in header]
    if account is None:
        return
    values = column(account[0])
    if (keys[account[0]] == "account number" and any(k in _OWN_ACCOUNT_BESIDE for k in keys)) or (
            account[0] == 0 and len(values) > 1 and len(set(values)) == 1):
        del roles["counterpartyAccount"]


def _payee_in_description(roles: dict[str, tuple[int, ...]], rows: list[list[str]], named: bool) -> None:
    """The payee's name opens the description where no header names a description (N26, whose longest text is
    the partner's IBAN) or where the description is empty on most rows (Knab's `Omschrijving`)."""
    payee = roles.get("counterpartyName", ())
    texts = roles.get("description", ())
    if not payee or payee[0] in texts:
        return
    empty = sum(1 for r in rows if not any(i < len(r) and r[i].strip() for i in texts))
    if not named or 2 * empty > len(rows):
        roles["description"] = (payee[0], *texts)


def _fixed_layout(roles: dict[str, tuple[int, ...]], width: int) -> str | None:
    core = {r: i for r, i in roles.items() if r not in ("indicator",)}
    if width == 3 and core == {"date": (0,), "description": (1,), "amount": (2,)}:
        return "Tabular3column#v1"
    if width == 4 and core == {"date": (0,), "description": (1,), "credit": (2,), "debit": (3,)}:
        return "CSV#4col#v1"
    return None


def _mapping(layout: CsvLayout, roles: dict[str, tuple[int, ...]], header: list[str] | None,
             first_row: int, *, by_index: bool = False) -> dict[str, Any] | None:
    """The CSV#mapped#v1 mapping of the layout (`first_row`: the header's row, else the first data
    row); header names when they are unique and the rows have no cell past them (`by_index`), else indexes."""
    if "date" not in roles or not ("amount" in roles or ("credit" in roles and "debit" in roles)):
        return None
    names = Counter(h.casefold() for h in header or [] if h)
    by_name = header is not None and not by_index and all(
        header[i] and names[header[i].casefold()] == 1 for idx in roles.values() for i in idx)

    def ref(i: int) -> int | str:
        return header[i] if by_name and header is not None else i

    columns: dict[str, Any] = {}
    for role, idx in roles.items():
        refs = [ref(i) for i in idx]
        columns[role] = refs if role == "description" and len(refs) > 1 else refs[0]
    mapping: dict[str, Any] = {"columns": columns, "delimiter": layout.delimiter,
                               "decimalSeparator": layout.decimal_separator}
    if layout.date_style is not None:
        mapping["dateStyle"] = layout.date_style.value
    if not by_name:
        # a header without a name for every filled cell is passed over as a row: its width is not the rows'
        skip = first_row + 1 if header is not None and by_index else first_row
        mapping["header"] = header is not None and not by_index
        if skip:
            mapping["skipRows"] = skip
    if layout.footer_rows:
        mapping["skipFooterRows"] = min(layout.footer_rows, 100)
    try:
        CsvMapping.from_json(mapping)
    except FileError:
        return None
    return mapping
