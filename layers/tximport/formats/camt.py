"""ISO 20022 cash management statements: camt.053 (`CAMT053#v1`), camt.052 (`CAMT052#v1`) and
camt.054 (`CAMT054#v1`), any version of the message (`camt.053.001.02` ... `.13`).

The file is read with lxml `iterparse`, entry by entry; each `Ntry` is dropped from the tree once
read, so memory stays flat. DTDs, entities and network access are off. camt files never carry a
DOCTYPE: one that declares entities is refused before parsing starts, any other as soon as the
root element is seen (`FileError(InvalidSourceData)`), as is XML that is not well formed.

Mapping (paths relative to the entry, `Ntry`):

* every statement (`Stmt`, `Rpt` in camt.052, `Ntfctn` in camt.054) yields a `StatementAccount`:
  `Acct/Id/IBAN` or `Acct/Id/Othr/Id`, currency `Acct/Ccy` (else the currency of the first
  balance or entry), bank id `Acct/Svcr/FinInstnId/BIC(FI)`. A statement without entries is a
  valid, empty import.
* amount: `Amt` with its `Ccy`; the sign comes from `CdtDbtInd` (CRDT money in, DBIT money out),
  never from the number. `RvslInd` (reversal) does not change it, it marks the line `reversal`: by
  the ISO 20022 usage rule the indicator of a reversal entry already states the direction of the
  reversal itself (a reversed
  debit is reported as CRDT, money in; a reversed credit as DBIT, money out).
* batches: when an entry carries several `NtryDtls/TxDtls` and each has its own amount in the entry's
  currency (`TxDtls/Amt`, or `TxDtls/AmtDtls/TxAmt/Amt` in older versions or where `Amt` is the
  instructed foreign amount), the entry is split into one line per `TxDtls`, signed by the
  `TxDtls/CdtDbtInd` when present, provided they add up to the entry's `Amt`. If any of them lacks
  such an amount, or they do not add up (charges not itemised), the entry stays one line: what the bank
  booked (no amount is invented or lost).
* `BookgDt` (`Dt` or `DtTm`) -> `date_posted` (falls back to `ValDt`), `ValDt` -> `value_date`.
* `AcctSvcrRef` of the entry (else of the TxDtls, else `NtryRef`) -> `bank_transaction_id`; lines
  split from one entry get `<id>/<n>` (n = 1-based position of the TxDtls) so each stays unique,
  as banks often repeat one reference on every TxDtls of a batch.
* `Refs/EndToEndId` (not `NOTPROVIDED`) -> `reference`, else the structured creditor reference.
* description: `RmtInf/Ustrd` joined, else `RmtInf/Strd/CdtrRefInf/Ref`, else `AddtlTxInf`, else
  `AddtlNtryInf`, else the counterparty's name.
* counterparty: `RltdPties/Dbtr` for money in, `RltdPties/Cdtr` for money out (`Nm`, or `Pty/Nm`
  from version .08 on), with `DbtrAcct`/`CdtrAcct` `Id/IBAN` or `Id/Othr/Id`; a reversal's, those of the
  transaction it reverses (the creditor of a reversed debit), else the other party where only it is given.
* `AmtDtls/InstdAmt/Amt` in another currency -> `original_amount` / `original_currency`.
* `Sts` (plain text up to .02/.06, `Sts/Cd` later): `BOOK` lines are ordinary; `PDNG` (pending)
  and `INFO` (information only) entries are yielded with `pending=True`. The parser does not drop
  them: the import service skips and counts them unless `ParseOptions.include_pending` is set.
* an entry without an amount, a credit/debit indicator or any date -> `LineError` with
  lineNumber = the line of its `<Ntry>` and target an XPath such as
  `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import IO, Any

from lxml import etree

from tximport.formats import camt_fast
from tximport.formats.balances import camt_balances
from tximport.formats.base import (
    INVALID_AMOUNT,
    INVALID_DATE,
    INVALID_SOURCE_DATA,
    REQUIRED_VALUE_MISSING,
    AccountNames,
    FileError,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)
from tximport.formats.values import MAX_SIGNIFICANT_DIGITS, check_storable, negated, plain_decimal

_NS = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)$")
#: message kind -> (document element, statement element)
_KINDS = {
    "053": ("BkToCstmrStmt", "Stmt"),
    "052": ("BkToCstmrAcctRpt", "Rpt"),
    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_BY_DOC = {doc: kind for kind, (doc, _stmt) in _KINDS.items()}
_PENDING = frozenset({"PDNG", "INFO", "FUTR"})
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY|<!DOCTYPE[^>]*\[", re.IGNORECASE)


class _Paths:
    """Clark-notation paths for one namespace, built once per file."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        found = self._cache.get(path)
        if found is None:
            if self.ns:
                found = "/".join(f"{{{self.ns}}}{part}" if part not in (".", "..") else part
                                 for part in path.split("/"))
            else:
                found = path
            self._cache[path] = found
        return found


def _text(el: Any, path: str, q: _Paths) -> str | None:
    found = el.find(q(path))
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def _date(el: Any, path: str, q: _Paths) -> str | None:
    """The `Dt` or `DtTm` under `path`, as text."""
    node = el.find(q(path))
    if node is None:
        return None
    return _text(node, "Dt", q) or _text(node, "DtTm", q)


def _iso_date(text: str) -> date:
    return date.fromisoformat(text[:10])


def _amount_text(text: str | None) -> Decimal:
    """A camt amount: unsigned (the indicator gives the sign), decimal point, no exponent (xs:decimal; `Decimal`
    alone would read `1E2` as 100)."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty amount")
    if not plain_decimal(text):
        raise ValueError(f"not an amount: {text!r} (an ISO 20022 amount is a plain decimal such as 100.00)")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0 or value.adjusted() > 14:  # 1E999999 is damage, not money
        raise ValueError(f"not an amount: {text!r}")
    return value if len(text) <= MAX_SIGNIFICANT_DIGITS else check_storable(value, text)


def _account_id(el: Any, path: str, q: _Paths) -> str | None:
    node = el.find(q(path))
    if node is None:
        return None
    return _text(node, "Id/IBAN", q) or _text(node, "Id/Othr/Id", q)


def _check_prolog(raw: IO[bytes]) -> bytes:
    head = raw.read(4096)
    if _DOCTYPE.search(head) and _ENTITY.search(head):
        raise FileError(INVALID_SOURCE_DATA, "the file declares a DTD with entities, which is refused",
                        target="File")
    return head


class _Prefixed:
    """A file-like reader that first returns bytes already read (the prolog check)."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self.head = head
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.raw.read(size if size and size > 0 else 1 << 20)


def make_parser(kind: str) -> Any:
    """The parser for one message kind: `053`, `052` or `054`."""
    doc_tag, stmt_tag = _KINDS[kind]

    def parse(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
        """Parse a camt.05x file entry by entry."""
        return _parse(source, kind, doc_tag, stmt_tag)

    parse.__name__ = f"parse_camt{kind}"
    return parse


def _parse(source: Source, kind: str, doc_tag: str, stmt_tag: str) -> Iterator[ParseEvent]:
    """The text reader (`camt_fast`) where it follows the document, else lxml; a document the text
    reader leaves part way is read again with lxml, from the event after the last one given."""
    given = 0
    if camt_fast.ENABLED:
        try:
            for event in _read_text(source, kind, doc_tag, stmt_tag):
                yield event
                given += 1
            return
        except camt_fast.Unusual:
            pass
    yield from islice(_parse_lxml(source, kind, doc_tag, stmt_tag), given, None)


def _read_text(source: Source, kind: str, doc_tag: str, stmt_tag: str) -> Iterator[ParseEvent]:
    names = AccountNames()

    def statement_account(stmt: Any, q: _Paths, first_currency: str | None, line: int | None
                          ) -> StatementAccount | None:
        return names.named(_statement_account(stmt, q, first_currency, line))

    hooks = camt_fast.Hooks(kind, doc_tag, stmt_tag, frozenset(_BY_DOC), document_paths, check_message,
                            _read_entry, entry_events, statement_account, _balances)
    with source.open() as raw:
        head = _check_prolog(raw)
        if not head.strip():
            raise FileError(INVALID_SOURCE_DATA, "the file is empty", target="File")
        yield from camt_fast.Reader(raw, head, hooks).events()


def _parse_lxml(source: Source, kind: str, doc_tag: str, stmt_tag: str) -> Iterator[ParseEvent]:
    with source.open() as raw:
        head = _check_prolog(raw)
        if not head.strip():
            raise FileError(INVALID_SOURCE_DATA, "the file is empty", target="File")
        # only the elements that structure the file raise events; the rest is read from them
        tags = ["{*}Document", "{*}Ntry", f"{{*}}{stmt_tag}", *(f"{{*}}{d}" for d in _BY_DOC)]
        events = etree.iterparse(
            _Prefixed(head, raw), events=("start", "end"), tag=tags, resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True,
        )
        try:
            yield from _walk(events, kind, doc_tag, stmt_tag)
        except etree.XMLSyntaxError as exc:
            raise FileError(INVALID_SOURCE_DATA, f"the file is not well-formed XML: {exc}",
                            target="File", details={"lineNumber": getattr(exc, "lineno", None)}) from None


def document_paths(ns: str, kind: str) -> _Paths:
    """The paths of a document in namespace `ns`. Raises FileError unless it is a camt.`kind` one."""
    if ns:
        m = _NS.match(ns)
        if not m:
            raise FileError(INVALID_SOURCE_DATA, f"the namespace {ns!r} is not a camt.05x message",
                            target="Document")
        if m.group(1) != kind:
            raise FileError(INVALID_SOURCE_DATA, f"the file is a camt.{m.group(1)} message, not camt.{kind}",
                            target="Document")
    return _Paths(ns)


def check_message(local: str, kind: str) -> None:
    """Raises FileError when the message element `local` is not camt.`kind`'s."""
    if local != _KINDS[kind][0]:
        raise FileError(INVALID_SOURCE_DATA, f"the document holds a camt.{_BY_DOC[local]} message, not "
                        f"camt.{kind}", target="Document")


def _walk(events: Any, kind: str, doc_tag: str, stmt_tag: str) -> Iterator[ParseEvent]:
    q: _Paths | None = None
    seen_message = False
    stmt_index = 0
    ntry_index = 0
    stmt_el: Any = None
    announced = False
    account: StatementAccount | None = None
    stated: list[ParseEvent] = []
    names = AccountNames()
    for event, el in events:
        tag = el.tag
        local = tag[tag.index("}") + 1:] if tag[0] == "{" else tag
        if event == "start":
            if local == "Document" and q is None:
                if el.getroottree().docinfo.doctype:
                    # camt files never carry a DTD; one here is at best noise, at worst an attack
                    raise FileError(INVALID_SOURCE_DATA, "the file declares a DOCTYPE, which is refused",
                                    target="File")
                q = document_paths(tag[1:tag.index("}")] if tag[0] == "{" else "", kind)
            elif q is None:
                raise FileError(INVALID_SOURCE_DATA, f"the file is not a camt document (<{local}> before "
                                "<Document>)", target="File")
            elif local in _BY_DOC:
                seen_message = True
                check_message(local, kind)
            elif local == stmt_tag and stmt_el is None:
                stmt_index += 1
                ntry_index = 0
                stmt_el = el
                announced = False
                account = None
            continue
        if q is None or stmt_el is None:
            continue
        if local == "Ntry" and el.getparent() is stmt_el:
            ntry_index += 1
            fields = _read_entry(el, len(q.ns) + 2 if q.ns else 0)
            if not announced:
                announced = True
                amt = fields[0].get("Amt")
                account = names.named(_statement_account(stmt_el, q, amt[1] if amt else None,
                                                         stmt_el.sourceline))
                if account is not None:
                    yield account
                # the balances come before the entries, which are dropped as they are read
                stated = _balances(stmt_el, q, account, stmt_el.sourceline)
            yield from entry_events(el.sourceline, fields, account,
                                    f"/Document/{doc_tag}/{stmt_tag}[{stmt_index}]/Ntry[{ntry_index}]")
            # drop what was read: the entry and everything before it in this statement
            el.clear()
            while el.getprevious() is not None:
                del stmt_el[0]
        elif el is stmt_el:
            if not announced:
                account = names.named(_statement_account(stmt_el, q, None, stmt_el.sourceline))
                if account is not None:
                    yield account
                stated = _balances(stmt_el, q, account, stmt_el.sourceline)
            yield from stated
            stmt_el, stated = None, []
            el.clear()
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    if q is None:
        raise FileError(INVALID_SOURCE_DATA, "the file holds no camt document", target="File")
    if not seen_message:
        raise FileError(INVALID_SOURCE_DATA, f"the document holds no <{doc_tag}> message", target="Document")


def _balances(stmt: Any, q: _Paths, account: StatementAccount | None, line: int) -> list[ParseEvent]:
    """The statement's `Bal` elements (tximport.formats.balances) and the notes on those that do not read, both
    readers' hook (`line`: the file line of the statement's start tag)."""
    ref, currency, number = (account.account_ref, account.currency, account.line_number) if account else (None,) * 3
    stated, notes = camt_balances(stmt, q, ref, currency, number, stmt_line=line, read_amount=_amount_text)
    return [stated, *notes] if stated is not None else list(notes)


def _statement_account(stmt: Any, q: _Paths, first_currency: str | None, line: int | None
                       ) -> StatementAccount | None:
    acct = stmt.find(q("Acct"))
    if acct is None:
        return None
    ref = _account_id(acct, ".", q)
    if ref is None:
        return None
    currency = _text(acct, "Ccy", q)
    if currency is None:
        for path in ("Bal/Amt",):
            node = stmt.find(q(path))
            if node is not None and node.get("Ccy"):
                currency = node.get("Ccy")
                break
    if currency is None:
        currency = first_currency
    bank = _text(acct, "Svcr/FinInstnId/BIC", q) or _text(acct, "Svcr/FinInstnId/BICFI", q)
    return StatementAccount(account_ref=ref, currency=currency, bank_id=bank, line_number=line)


_Fields = dict[str, tuple[str | None, str | None]]


def _txt(el: Any) -> str | None:
    text = el.text
    if text is None:
        return None
    return text.strip() or None


def _read_entry(ntry: Any, cut: int) -> tuple[_Fields, list[_Fields], list[list[str]]]:
    """The entry's own fields, each TxDtls's fields and unstructured remittance lines.

    Walks only the branches it needs, child by child (a dozen `find` calls per entry cost several
    times more). Keys are paths relative to `Ntry` or `TxDtls`; values (text, Ccy attribute).
    `cut` is the length of the namespace prefix `{...}` of the tags.
    """
    entry: _Fields = {}
    txs: list[_Fields] = []
    ustrd: list[list[str]] = []
    for child in ntry:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[cut:]
        if local in ("Amt", "CdtDbtInd", "AcctSvcrRef", "NtryRef", "AddtlNtryInf", "RvslInd"):
            if local not in entry:
                entry[local] = (_txt(child), child.get("Ccy"))
        elif local == "Sts":
            code = next(iter(child), None)
            entry["Sts"] = (_txt(code) if code is not None else _txt(child), None)
        elif local in ("BookgDt", "ValDt"):
            for part in child:
                entry.setdefault(local, (_txt(part), None))
        elif local == "NtryDtls":
            for tx in child:
                if isinstance(tx.tag, str) and tx.tag[cut:] == "TxDtls":
                    fields, lines = _read_tx(tx, cut)
                    txs.append(fields)
                    ustrd.append(lines)
    return entry, txs, ustrd


def _read_tx(tx: Any, cut: int) -> tuple[_Fields, list[str]]:
    fields: _Fields = {}
    ustrd: list[str] = []
    for child in tx:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[cut:]
        if local in ("Amt", "CdtDbtInd", "AddtlTxInf"):
            fields.setdefault(local, (_txt(child), child.get("Ccy")))
        elif local == "Refs":
            for ref in child:
                if isinstance(ref.tag, str):
                    fields.setdefault("Refs/" + ref.tag[cut:], (_txt(ref), None))
        elif local == "AmtDtls":
            for kind in child:
                if isinstance(kind.tag, str):
                    for amt in kind:
                        if isinstance(amt.tag, str) and amt.tag[cut:] == "Amt":
                            fields.setdefault(f"AmtDtls/{kind.tag[cut:]}/Amt", (_txt(amt), amt.get("Ccy")))
        elif local == "RmtInf":
            for part in child:
                if not isinstance(part.tag, str):
                    continue
                name = part.tag[cut:]
                if name == "Ustrd":
                    text = _txt(part)
                    if text:
                        ustrd.append(text)
                elif name == "Strd":
                    for ref in part.iter(part.tag[:cut] + "Ref"):
                        if ref.getparent().tag[cut:] == "CdtrRefInf":
                            fields.setdefault("RmtInf/Strd/CdtrRefInf/Ref", (_txt(ref), None))
        elif local == "RltdPties":
            for party in child:
                if not isinstance(party.tag, str):
                    continue
                role = party.tag[cut:]
                if role in ("Dbtr", "Cdtr"):
                    for part in party:
                        if not isinstance(part.tag, str):
                            continue
                        if part.tag[cut:] == "Nm":
                            fields.setdefault(f"RltdPties/{role}/Nm", (_txt(part), None))
                        elif part.tag[cut:] == "Pty":
                            for sub in part:
                                if isinstance(sub.tag, str) and sub.tag[cut:] == "Nm":
                                    fields.setdefault(f"RltdPties/{role}/Nm", (_txt(sub), None))
                elif role in ("DbtrAcct", "CdtrAcct"):
                    for ident in party:
                        if not isinstance(ident.tag, str) or ident.tag[cut:] != "Id":
                            continue
                        for choice in ident:
                            if not isinstance(choice.tag, str):
                                continue
                            if choice.tag[cut:] == "IBAN":
                                fields.setdefault(f"RltdPties/{role}/Id", (_txt(choice), None))
                            elif choice.tag[cut:] == "Othr":
                                for sub in choice:
                                    if isinstance(sub.tag, str) and sub.tag[cut:] == "Id":
                                        fields.setdefault(f"RltdPties/{role}/Id", (_txt(sub), None))
    return fields, ustrd


def _get(fields: _Fields, *paths: str) -> str | None:
    for path in paths:
        found = fields.get(path)
        if found is not None and found[0]:
            return found[0]
    return None


EntryFields = tuple[_Fields, list[_Fields], list[list[str]]]


def entry_events(line: int, fields: EntryFields, account: StatementAccount | None, xpath: str
                 ) -> list[ParseEvent]:
    """The lines (or the LineError) of one entry, from what `_read_entry` read of it (or the text
    reader of `camt_fast`, which gives the same)."""
    entry, txs, ustrd = fields
    amt = entry.get("Amt")
    if amt is None:
        return [LineError(line, REQUIRED_VALUE_MISSING, "the entry has no amount", target=f"{xpath}/Amt")]
    try:
        amount = _amount_text(amt[0])
    except ValueError as exc:
        return [LineError(line, INVALID_AMOUNT, str(exc), actual_value=amt[0], target=f"{xpath}/Amt")]
    indicator = _get(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        return [LineError(line, REQUIRED_VALUE_MISSING if indicator is None else INVALID_AMOUNT,
                          "the entry has no valid credit/debit indicator (CRDT or DBIT)",
                          actual_value=indicator, target=f"{xpath}/CdtDbtInd")]
    dates = _entry_dates(line, entry, xpath)
    if isinstance(dates, LineError):
        return [dates]
    posted, value_date = dates
    pending = (_get(entry, "Sts") or "BOOK") in _PENDING
    reversal = (_get(entry, "RvslInd") or "").strip().lower() in ("true", "1")
    entry_ref = _get(entry, "AcctSvcrRef")
    ntry_ref = _get(entry, "NtryRef")
    entry_info = _get(entry, "AddtlNtryInf")
    account_ref = account.account_ref if account else None
    currency = amt[1] or (account.currency if account else None)
    common = (line, posted, value_date, currency, account_ref, entry_info, pending, reversal)
    split = _split(txs, indicator, amount, amt[1]) if len(txs) > 1 else []
    if split:
        base = entry_ref or ntry_ref
        events: list[ParseEvent] = []
        for index, tx_amount, tx_indicator, where in split:
            own = base or _get(txs[index], "Refs/AcctSvcrRef")
            events.append(_line(txs[index], ustrd[index], tx_amount if tx_indicator == "CRDT" else negated(tx_amount),
                                f"{own}/{index + 1}" if own else None, *common,
                                amount_target=f"{xpath}/NtryDtls/TxDtls[{index + 1}]/{where}"))
        return events
    tx = txs[0] if txs else {}
    bank_id = entry_ref or _get(tx, "Refs/AcctSvcrRef") or ntry_ref
    return [_line(tx, ustrd[0] if ustrd else [], amount if indicator == "CRDT" else negated(amount), bank_id, *common,
                  amount_target=f"{xpath}/Amt")]


_DATES: dict[str, date] = {}


def _entry_dates(line: int, entry: _Fields, xpath: str) -> tuple[date, date | None] | LineError:
    """(booking date, else value date; value date) or the LineError saying what is wrong."""
    booked = _get(entry, "BookgDt")
    valued = _get(entry, "ValDt")
    if booked is None and valued is None:
        return LineError(line, REQUIRED_VALUE_MISSING, "the entry has neither a booking nor a value date",
                         target=f"{xpath}/BookgDt")
    read: dict[str, date] = {}
    for name, text in (("BookgDt", booked), ("ValDt", valued)):
        if text is None:
            continue
        try:
            read[name] = _DATES.get(text) or _iso_date_cached(text)
        except ValueError:  # (the date that does not read is named, with its text)
            return LineError(line, INVALID_DATE, f"{text!r} is not a date", actual_value=text,
                             target=f"{xpath}/{name}")
    return read.get("BookgDt") or read["ValDt"], read.get("ValDt")


def _iso_date_cached(text: str) -> date:
    """`_iso_date`, remembered (a statement repeats a few hundred dates)."""
    found = _iso_date(text)
    if len(_DATES) > 4096:
        _DATES.clear()
    _DATES[text] = found
    return found


def _split(txs: list[_Fields], indicator: str, amount: Decimal, currency: str | None
           ) -> list[tuple[int, Decimal, str, str]]:
    """A batch entry's lines, one per TxDtls, when each has its own amount in the entry's currency and together
    they make the entry's amount; else none (the entry is one line: what the bank booked, never more or less).
    Each with the path of its amount in its TxDtls."""
    split: list[tuple[int, Decimal, str, str]] = []
    total = Decimal(0)
    for index, tx in enumerate(txs):
        found = _in_currency(tx, currency)
        if found is None:
            return []
        where, text = found
        try:
            tx_amount = _amount_text(text)
        except ValueError:
            return []
        tx_indicator = _get(tx, "CdtDbtInd") or indicator
        split.append((index, tx_amount, tx_indicator, where))
        total += tx_amount if tx_indicator == indicator else -tx_amount
    return split if total == amount else []


def _in_currency(tx: _Fields, currency: str | None) -> tuple[str, str] | None:
    """A TxDtls's amount in the entry's currency, with its path: `Amt`, else `AmtDtls/TxAmt/Amt` (an `Amt` in
    another currency is what was instructed, not what was booked)."""
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        found = tx.get(path)
        if found is not None and found[0] and (not found[1] or not currency or found[1] == currency):
            return path, found[0]
    return None


#: the counterparty's paths: debtor for money in, creditor for money out
_PARTY = {True: ("RltdPties/Dbtr/Nm", "RltdPties/DbtrAcct/Id"), False: ("RltdPties/Cdtr/Nm", "RltdPties/CdtrAcct/Id")}


def _party(tx: _Fields, money_in: bool, reversal: bool) -> tuple[str | None, str | None]:
    """The counterparty's name and account: the debtor's for money in, the creditor's for money out. A reversal
    keeps the parties of the transaction it reverses (a reversed debit names its creditor), as ISO 20022 has it;
    a bank that named the other party of a reversal is read too, when the expected one is missing."""
    if not reversal:
        name_path, account_path = _PARTY[money_in]
        return _get(tx, name_path), _get(tx, account_path)
    (name_path, account_path), (other_name, other_account) = _PARTY[not money_in], _PARTY[money_in]
    name = _get(tx, name_path)
    if name is None and _get(tx, account_path) is None:
        return _get(tx, other_name), _get(tx, other_account)
    return name, _get(tx, account_path)


def _line(tx: _Fields, ustrd: list[str], amount: Decimal, bank_id: str | None, line: int, posted: date,
          value_date: date | None, currency: str | None, account_ref: str | None, entry_info: str | None,
          pending: bool, reversal: bool = False, *, amount_target: str) -> ParsedLine:
    reference = description = name = counterparty_account = None
    original_amount = original_currency = None
    if tx:
        e2e = _get(tx, "Refs/EndToEndId")
        creditor_ref = _get(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        reference = e2e if e2e and e2e != "NOTPROVIDED" else creditor_ref
        description = " ".join(ustrd) or creditor_ref or _get(tx, "AddtlTxInf")
        name, counterparty_account = _party(tx, amount >= 0, reversal)
        instructed = tx.get("AmtDtls/InstdAmt/Amt")
        if instructed is not None and instructed[0] and instructed[1] and instructed[1] != currency:
            try:
                original_amount = _amount_text(instructed[0])
                original_amount = original_amount if amount >= 0 else negated(original_amount)
                original_currency = instructed[1]
            except ValueError:
                original_amount = original_currency = None
    elif ustrd:
        description = " ".join(ustrd)
    # positional, in ParsedLine's field order (a measurable share of the time per entry)
    return ParsedLine(line, posted, amount, description or entry_info or name or "", account_ref, currency,
                      value_date, bank_id, reference, name, counterparty_account, None, original_amount,
                      original_currency, pending, reversal, amount_target)


parse_camt053 = make_parser("053")
parse_camt052 = make_parser("052")
parse_camt054 = make_parser("054")
