"""Upload a statement file into a session: every format the file importer reads, through the same
parsers (format detection, then the registry's parser); the sign rule types the lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tximport import money
from tximport.errors import ValidationFailed
from tximport.formats import base
from tximport.formats.accounts import match_account, names_bank
from tximport.formats.dates import EARLIEST_DAY, LATEST_DAY, bookable
from tximport.formats.detect import detect
from tximport.formats.registry import FORMATS
from tximport.models import DateStyle
from tximport.services.sessions.deps import MAX_LINES_PER_SESSION, Deps, amount_code, amount_problem
from tximport.services.sessions.staged import StagedService
from tximport.sessions.commands import StagedInput
from tximport.sessions.models import Scope, SessionType

#: API Gateway's payload limit: a larger body never reaches the function
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(slots=True)
class UploadResult:
    processed: int
    file_format: str
    rejected: list[dict[str, Any]] = field(default_factory=list)
    possible_duplicates: int = 0
    #: pending (not booked) entries, left out as the file importer leaves them out
    pending_skipped: int = 0
    #: lines of a multi-account file's other accounts
    other_account_lines: int = 0

    @property
    def message(self) -> str:
        return f"{self.processed} linhas processadas"


def _session_account(identifier: str, named: set[str], banks: dict[str, str]) -> str | None:
    """The file's reference naming the session's account: the one written as its identifier, else the one
    only that matches it fuzzily (the bank a statement names beside its account counting: of a statement naming
    the account's bank and one of the same number naming none, the first is the account's)."""
    exact = match_account(identifier, [(r, r) for r in named], False)
    if exact is not None:
        return exact
    found = [r for r in named if match_account(r, [(r, identifier)], True, banks.get(r))]
    if len(found) > 1:
        found = [r for r in found if names_bank(r, banks.get(r))]
    return found[0] if len(found) == 1 else None


@dataclass(slots=True)
class _Parsed:
    """A file's booked lines, the account references they name, its rejected lines and pending entries."""

    lines: list[base.ParsedLine] = field(default_factory=list)
    refs: set[str] = field(default_factory=set)
    banks: dict[str, str] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0


def _format_of(content: bytes, file_name: str | None, requested: str | None) -> tuple[str, base.ParseOptions]:
    found = detect(content[:64 * 1024], file_name, complete=len(content) <= 64 * 1024)
    file_format = requested or found.file_format
    if not file_format and _header_only(content):
        raise ValidationFailed("the file holds no transaction (a header line and no rows)", code="EmptyFile",
                               target="file")
    if not file_format:
        reasons = "; ".join(found.reasons) or "no format fits"
        raise ValidationFailed(f"the file's format could not be told ({reasons}); send the form field "
                               "`file_format`", code="UnknownFormat", target="file",
                               details=[c.to_api() for c in found.candidates[:5]])
    if file_format not in FORMATS:
        raise ValidationFailed(f"unknown file format {file_format!r}", code="UnknownFileFormat", target="file_format")
    date_style = found.csv.date_style if found.csv else None
    mapping = found.suggested_mapping if file_format == "CSV#mapped#v1" else None
    return file_format, base.ParseOptions(date_style=date_style, mapping=mapping)


#: what separates the cells of a CSV header line
_DELIMITERS = ",;\t|"


def _header_only(content: bytes) -> bool:
    """Whether the file is one line of column names and nothing else (a CSV with its header and no rows, as
    the document's `data,descricao,valor`): cells and no digit in any, so no row of data."""
    lines = [ln for ln in content.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines() if ln.strip()]
    if len(lines) != 1:
        return False
    line = lines[0]
    return any(d in line for d in _DELIMITERS) and not any(c.isdigit() for c in line)


class UploadService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.staged = StagedService(deps)

    def upload(self, scope: Scope, session_id: str, content: bytes, file_name: str | None,
               file_format: str | None = None, date_style: DateStyle | None = None) -> UploadResult:
        """Parse the whole file first (bounded by MAX_UPLOAD_BYTES), then stage its lines at once: a file
        with an unreadable whole stages nothing."""
        session = self.d.session(scope, session_id)
        if not content.strip():
            raise ValidationFailed("the file is empty", code="EmptyFile", target="file")
        if len(content) > MAX_UPLOAD_BYTES:
            raise ValidationFailed(f"the file is larger than {MAX_UPLOAD_BYTES} bytes", code="FileTooLarge",
                                   target="file")
        fmt_id, options = _format_of(content, file_name, file_format)
        if date_style is not None:
            options.date_style = date_style
        account = self.d.account(scope, session.context_id, "account_id") if session.type == SessionType.ACCOUNT \
            else None
        try:
            try:
                parsed = self._parse(fmt_id, content, options)
            except base.FileError as exc:
                if exc.code != base.AMBIGUOUS_DATE_STYLE or date_style is not None:
                    raise
                # the document's file (`data,descricao,valor`) is Brazilian: day/month/year unless told
                options.date_style = DateStyle.LITTLE_ENDIAN
                parsed = self._parse(fmt_id, content, options)
        except base.FileError as exc:
            raise ValidationFailed(exc.message, code=exc.code, target="file") from None
        mine = self._lines_of_account(parsed, account.account_identifier if account else None)
        rejected = parsed.rejected
        lines = _fitting(mine, account.currency if account else None, rejected)
        rejected.sort(key=lambda r: r["line_number"] or 0)
        inputs = [StagedInput(amount=ln.amount, transaction_date=ln.date_posted, description=ln.description or "",
                              data=_data_of(ln), line_number=ln.line_number) for ln in lines]
        if not inputs and not (parsed.lines or rejected or parsed.pending):
            raise ValidationFailed("the file holds no transaction", code="EmptyFile", target="file")
        if not inputs:
            raise ValidationFailed("no line of the file could be staged", code="InvalidSourceData", target="file",
                                   details=rejected[:20])
        staged = self.staged.add(scope, session.id, inputs)
        duplicates = sum(1 for s in staged if s.data.get("possible_duplicate"))
        return UploadResult(len(staged), fmt_id, rejected, duplicates, pending_skipped=parsed.pending,
                            other_account_lines=len(parsed.lines) - len(mine))

    @staticmethod
    def _parse(fmt_id: str, content: bytes, options: base.ParseOptions) -> _Parsed:
        parsed = _Parsed()
        for event in FORMATS[fmt_id].parser(base.BytesSource(content), options):
            if isinstance(event, base.LineError) and event.pending:
                parsed.pending += 1  # a session stages booked lines only: an unreadable pending entry too
            elif isinstance(event, base.LineError):
                parsed.rejected.append({"line_number": event.line_number, "code": event.code,
                                        "message": event.message, "field": event.target})
            elif isinstance(event, base.ParsedLine) and event.pending:
                parsed.pending += 1
            elif isinstance(event, base.StatementAccount) and event.bank_id:
                parsed.banks.setdefault(event.account_ref, event.bank_id)
            elif isinstance(event, base.ParsedLine):
                parsed.lines.append(event)
                parsed.refs.add(event.account_ref or "")
                if len(parsed.lines) > MAX_LINES_PER_SESSION:
                    raise ValidationFailed(f"the file holds more than {MAX_LINES_PER_SESSION} lines",
                                           code="TooManyLines", target="file")
        base.clear_placeholder_ids(parsed.lines)
        return parsed

    @staticmethod
    def _lines_of_account(parsed: _Parsed, identifier: str | None) -> list[base.ParsedLine]:
        """A file that names no account (a CSV, a QIF without one) feeds the session whole; a file that names its
        account or accounts gives it only the lines of the account matching the session's (by identifier, as
        a file import matches them: 400 AccountNotInFile when none does). A card session (a card has no account
        identifier) takes a file of one account whole, and no file of several."""
        lines, named = parsed.lines, {r for r in parsed.refs if r}
        if not named or (identifier is None and len(named) == 1):
            return lines
        match = _session_account(identifier, named, parsed.banks) if identifier else None
        if match is None:
            mine = identifier or "a card"
            refs = sorted(f"{r} (bank {parsed.banks[r]})" if r in parsed.banks else r for r in named)
            told = f"the file is the statement of account {refs[0]}, not of the session's ({mine})" \
                if len(named) == 1 else \
                f"the file holds {len(named)} accounts ({', '.join(refs)}) and none is the session's ({mine})"
            raise ValidationFailed(told, code="AccountNotInFile", target="file")
        return [ln for ln in lines if ln.account_ref == match]


def _data_of(line: base.ParsedLine) -> dict[str, Any]:
    data = {"bank_transaction_id": line.bank_transaction_id, "counterparty_name": line.counterparty_name,
            "counterparty_account": line.counterparty_account, "reference": line.reference,
            "currency": line.currency}
    return {k: v for k, v in data.items() if v}


def _fitting(lines: list[base.ParsedLine], currency: str | None, rejected: list[dict[str, Any]]
             ) -> list[base.ParsedLine]:
    """The lines booked on a day a ledger keeps, in the account's currency (where both name one), whose amounts are
    whole minor units of their currency (the line's, else the account's); the others go to `rejected`
    (InvalidDate, CurrencyMismatch, InvalidAmount)."""
    kept: list[base.ParsedLine] = []
    for line in lines:
        if not bookable(line.date_posted):
            rejected.append({"line_number": line.line_number, "code": "InvalidDate", "field": "date",
                             "message": f"{line.date_posted} lies outside {EARLIEST_DAY} to {LATEST_DAY}"})
            continue
        if line.currency and line.currency.upper() not in money.EXPONENTS:
            rejected.append({"line_number": line.line_number, "code": "InvalidCurrency", "field": "currency",
                             "message": f"{line.currency!r} is not an ISO 4217 currency code"})
            continue
        if line.currency and currency and line.currency.upper() != currency.upper():
            rejected.append({"line_number": line.line_number, "code": "CurrencyMismatch", "field": "currency",
                             "message": f"the line is in {line.currency} and its bank account keeps {currency}"})
            continue
        problem = amount_problem(line.amount, line.currency or currency)
        if problem is None:
            kept.append(line)
        else:
            rejected.append({"line_number": line.line_number, "code": amount_code(line.amount), "message": problem,
                             "field": "amount"})
    return kept
