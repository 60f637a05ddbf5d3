"""The client commands of `tximport`: formats, accounts, import, list, show, review, confirm, delete,
ledger, detect, openapi. Each `register_*` adds a subparser; each `run_*` answers an ExitCode.

They talk to any deployment: `--api-url` / $TXIMPORT_API_URL (default the local stack,
http://127.0.0.1:3000) with `--token` / $TXIMPORT_TOKEN (for the local default URL a dev token for
the demo tenant demo-org/demo-co is minted when none is given).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tximport_cli.client import API_URL_ENV, DEFAULT_API_URL, TOKEN_ENV, ApiClient, ApiError, resolve_token
from tximport_cli.exitcodes import ExitCode
from tximport_cli.output import Output

REVIEW_LEVELS = {"full": "fullReview", "exception": "exceptionReview", "minimal": "minimalReview"}
DATE_STYLES = {"auto": None, "ymd": "bigEndian", "dmy": "littleEndian", "mdy": "middleEndian",
               "bigEndian": "bigEndian", "littleEndian": "littleEndian", "middleEndian": "middleEndian"}
#: statuses after which the workflow waits for a person or has finished
WAITING = {"awaitingConfirmation", "error", "complete", "deleted"}
FINISHED = {"complete", "error", "deleted"}
POLL_SECONDS = 0.4
ERROR_ROWS_SHOWN = 20


# --- shared options -----------------------------------------------------------------------------------
def add_connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--api-url, --token and --json, taken before the command (`top`: the program's parser, with the
    defaults) or after it (a command's: given there, they win; left out, the ones before the command stay)."""
    group = parser.add_argument_group("connection and output")
    group.add_argument("--api-url", default=None if top else argparse.SUPPRESS, metavar="URL",
                       help=f"the API (default: ${API_URL_ENV} or {DEFAULT_API_URL}, the local stack)")
    group.add_argument("--token", default=None if top else argparse.SUPPRESS,
                       help=f"bearer token (default: ${TOKEN_ENV}; for the local default URL a dev token for "
                            "the demo tenant demo-org/demo-co)")
    group.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="print one JSON document (machine-readable)")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_connection_options(common, top=False)
    return common


def _client(args: argparse.Namespace) -> ApiClient:
    url = (getattr(args, "api_url", None) or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    return ApiClient(url, resolve_token(url, getattr(args, "token", None)))


def _run(fn: Callable[[argparse.Namespace, Any, Output], ExitCode],
         client: Callable[[argparse.Namespace], ApiClient] = _client) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: build the client (`client`: the core API's by default) and the output, turn
    ApiError into its message and exit code."""

    def handler(args: argparse.Namespace) -> int:
        out = Output(json_mode=getattr(args, "json", False))
        try:
            return int(fn(args, client(args), out))
        except ApiError as exc:
            if out.json:
                out.emit({"error": exc.to_json(), "exitCode": int(exc.exit_code)})
            out.error(exc.message)
            return int(exc.exit_code)
        except KeyboardInterrupt:
            out.error("interrupted")
            return int(ExitCode.INTERRUPTED)

    return handler


def _add(subparsers: Any, name: str, fn: Callable[..., ExitCode], help_text: str, description: str = ""
         ) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, parents=[_common()], help=help_text, description=description or help_text)
    parser.set_defaults(handler=_run(fn))
    return parser


def _total(summary: dict[str, Any], side: str) -> str:
    """A summary's credit or debit total as a decimal: one currency's, or each currency's."""
    if summary.get(f"{side}Amount") is not None:
        return _money(summary[f"{side}Amount"])
    totals = summary.get("currencyTotals") or []
    return ", ".join(f"{_money(t[f'{side}Amount'])} {t.get('currency') or ''}".strip() for t in totals) or "-"


def _money(value: Any) -> str:
    return "" if value is None else str(value)


# --- formats ------------------------------------------------------------------------------------------
def register_formats(subparsers: Any) -> None:
    _add(subparsers, "formats", run_formats, "list the file formats the service imports")


def run_formats(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    formats = api.formats()
    if out.json:
        out.emit(formats)
        return ExitCode.OK
    out.table("File formats", ["format", "extensions", "accounts", "description"],
              [(f["fileFormat"], " ".join(f.get("fileExtensions", [])), f.get("accountsSupported"),
                f.get("description")) for f in formats])
    return ExitCode.OK


# --- accounts -----------------------------------------------------------------------------------------
def register_accounts(subparsers: Any) -> None:
    parser = _add(subparsers, "accounts", run_accounts, "list bank accounts, or create one",
                  "`tximport accounts` lists the tenant's bank accounts; `tximport accounts create` adds one.")
    sub = parser.add_subparsers(dest="accounts_command", metavar="ACTION")
    create = sub.add_parser("create", parents=[_common()], help="create a bank account")
    create.add_argument("--identifier", required=True, help="account identifier: IBAN or account number")
    create.add_argument("--bank-id", default="demo-bank", help="bank id (default demo-bank)")
    create.add_argument("--country", default="GBR", help="country code, 2 or 3 letters (default GBR)")
    create.add_argument("--name", default=None, help="a name for people")
    create.add_argument("--currency", default=None, help="ISO 4217 currency, e.g. EUR")
    create.set_defaults(handler=_run(run_accounts_create))


def _account_rows(accounts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(a["id"], a.get("accountIdentifier"), a.get("name"), a.get("currency"), a.get("bankId"),
             a.get("countryCode")) for a in accounts]


_ACCOUNT_COLUMNS = ["id", "identifier", "name", "currency", "bank", "country"]


def run_accounts(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    accounts = api.accounts()
    if out.json:
        out.emit(accounts)
    else:
        out.table("Bank accounts", _ACCOUNT_COLUMNS, _account_rows(accounts))
    return ExitCode.OK


def run_accounts_create(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    body = {"bankId": args.bank_id, "countryCode": args.country.upper(), "accountIdentifier": args.identifier}
    if args.name:
        body["name"] = args.name
    if args.currency:
        body["currency"] = args.currency.upper()
    account = api.create_account(body)
    if out.json:
        out.emit(account)
    else:
        out.table("Created bank account", _ACCOUNT_COLUMNS, _account_rows([account]))
    return ExitCode.OK


# --- detect -------------------------------------------------------------------------------------------
def register_detect(subparsers: Any) -> None:
    parser = _add(subparsers, "detect", run_detect, "detect a file's format (sends its first 64 KB)")
    parser.add_argument("file", type=Path, help="the statement file")


def _show_detection(out: Output, found: dict[str, Any]) -> None:
    verdict = found.get("fileFormat") or ("ambiguous" if found.get("ambiguous") else "not recognised")
    out.line(f"format: {verdict} (confidence {found.get('confidence', 0):.2f})")
    for reason in found.get("reasons") or []:
        out.line(f"  - {reason}")
    if found.get("csv"):
        csv = found["csv"]
        out.line(f"csv: delimiter {csv['delimiter']!r}, header {'yes' if csv['hasHeader'] else 'no'}, "
                 f"decimal {csv['decimalSeparator']!r}, dates {csv.get('dateStyle') or 'undecided'}")
        out.table(None, ["column", "header", "role"],
                  [(c["index"], c.get("header"), c.get("role") or "-") for c in csv["columns"]])
    if found.get("ambiguous") or not found.get("fileFormat"):
        out.table("Candidates", ["format", "confidence", "reason"],
                  [(c["fileFormat"], f"{c['confidence']:.2f}", c["reason"]) for c in found.get("candidates", [])])


def run_detect(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    path = _existing_file(args.file)
    found = api.detect(path)
    if out.json:
        out.emit(found)
    else:
        _show_detection(out, found)
    return ExitCode.OK if found.get("fileFormat") else ExitCode.FORMAT_UNDETECTED


def _existing_file(path: Path) -> Path:
    if path.is_dir():
        raise ApiError(f"{path}: a directory, not a file")
    if not path.is_file():
        raise ApiError(f"{path}: no such file")
    return path


# --- import -------------------------------------------------------------------------------------------
def register_import(subparsers: Any) -> None:
    parser = _add(
        subparsers, "import", run_import, "import a statement file: upload, report, confirm",
        "Create an import, upload the file (streamed, with a progress bar), follow the processing, print the "
        "report, ask before confirming (or --yes) and follow the import to complete.")
    parser.add_argument("file", type=Path, help="the statement file")
    parser.add_argument("--account", action="append", default=None, metavar="ID",
                        help="bank account id or account identifier (IBAN); repeat for a multi-account file. "
                             "Left out: the tenant's only account for a single-account format; for a "
                             "multi-account file the accounts the file holds are discovered first and matched "
                             "to the tenant's accounts by identifier")
    parser.add_argument("--fuzzy", action="store_true",
                        help="match the file's accounts to bank accounts fuzzily (fuzzyAccountMatching: an IBAN "
                             "and the domestic number inside it, punctuation, masked card numbers; never two "
                             "banks), on the service and when naming the discovered accounts")
    parser.add_argument("--create-accounts", action="store_true",
                        help="with a multi-account file and no --account: create a placeholder bank account "
                             "for each account in the file that has none yet (IBANs and account numbers alike)")
    parser.add_argument("--country", default=None, metavar="CODE",
                        help="country of the accounts --create-accounts creates when the identifier is no IBAN "
                             "(default: the country of the tenant's accounts)")
    parser.add_argument("--format", default="auto", metavar="auto|ID",
                        help="file format id (see `tximport formats`), or auto to detect it (default)")
    parser.add_argument("--date-style", default="auto", choices=sorted(DATE_STYLES),
                        help="day/month order: ymd, dmy, mdy (default: auto, from the file)")
    parser.add_argument("--review", default="full", choices=sorted(REVIEW_LEVELS),
                        help="review level (default full)")
    parser.add_argument("--mapping", type=Path, default=None, metavar="FILE.json",
                        help="CSV#mapped#v1 column mapping (default: the detected one)")
    parser.add_argument("--yes", "-y", action="store_true", help="confirm without asking")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for each stage (default 300)")


def run_import(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    path = _existing_file(args.file)
    accounts = [api.resolve_account(ref) for ref in args.account or []]
    body: dict[str, Any] = {"fileName": path.name, "reviewLevel": REVIEW_LEVELS[args.review]}
    if args.fuzzy:
        body["fuzzyAccountMatching"] = True
    detection = None
    if args.format == "auto":
        detection = api.detect(path)
        if not detection.get("fileFormat"):
            if out.json:
                out.emit({"detection": detection, "exitCode": int(ExitCode.FORMAT_UNDETECTED)})
            else:
                _show_detection(out, detection)
            out.error("could not tell the file's format; pass --format ID (candidates above)")
            return ExitCode.FORMAT_UNDETECTED
        body["fileFormat"] = detection["fileFormat"]
        out.line(f"detected {detection['fileFormat']} (confidence {detection['confidence']:.2f}): "
                 f"{'; '.join(detection.get('reasons') or [])}")
    else:
        body["fileFormat"] = args.format
    style = DATE_STYLES[args.date_style] or ((detection or {}).get("csv") or {}).get("dateStyle")
    if style:
        body["dateStyle"] = style
    if args.mapping is not None:
        body["mapping"] = json.loads(args.mapping.read_text())
    elif body["fileFormat"] == "CSV#mapped#v1" and detection and detection.get("suggestedMapping"):
        body["mapping"] = detection["suggestedMapping"]

    discover = False
    if not accounts:
        discover = _multi_account(api, body)
        if not discover:
            accounts = _only_account(api, out)
            if not accounts:
                return ExitCode.ERROR
    if accounts:
        body["bankAccounts"] = [{"id": a["id"]} for a in accounts]
    created = api.create_import(body)
    import_id = created["data"]["id"]
    named = ", ".join(a["id"] for a in accounts) if accounts else "the accounts the file holds"
    out.line(f"import {import_id} created for {named} ({body['fileFormat']})")
    with out.bytes_progress(f"uploading {path.name}", path.stat().st_size) as advance:
        api.upload(created["links"]["uploadPath"], path, advance)

    result: dict[str, Any] = {"importId": import_id, "fileFormat": body["fileFormat"], "detection": detection}
    imp = _follow(api, out, import_id, WAITING, args.timeout, "processing" if accounts else "discovering accounts",
                  # uploaded: processing starts once the service has seen the upload
                  frozenset({"awaitingFileUpload"}))
    if discover and imp is not None and imp.get("status") == "awaitingConfirmation" and not imp.get("bankAccounts"):
        # account discovery: name the accounts the file holds, and the import goes on from the same file
        choices = _choose_accounts(args, api, out, imp)
        if not choices:
            api.delete(import_id)
            return _finish(out, result, ExitCode.ERROR, f"no bank account to import into: import {import_id} "
                           "deleted", imp)
        api.name_accounts(import_id, choices)
        imp = _after_naming(api, import_id, args.timeout)
    if imp is None:
        return _finish(out, result, ExitCode.TIMED_OUT, f"no answer within {args.timeout:.0f}s: "
                       f"follow it with `tximport show {import_id}`")
    problems = api.error_details(import_id, limit=200) if imp.get("status") in ("error", "awaitingConfirmation") \
        else []
    result.update(report=_report(imp), errors=problems)
    if not out.json:
        _print_report(out, imp, problems)
    status = imp.get("status")
    if status == "error":
        hint = ": the file names no bank account; pass --account ID|IBAN (see `tximport accounts`)" \
            if discover and not imp.get("bankAccounts") and not imp.get("accountIdentifiers") else ""
        return _finish(out, result, ExitCode.IMPORT_FAILED, f"import {import_id} ended in error{hint}", imp)
    if status == "awaitingConfirmation":
        if not _confirmed(args, out, imp):
            return _finish(out, result, ExitCode.NOT_CONFIRMED,
                           f"not confirmed: the import waits; `tximport confirm {import_id}` or "
                           f"`tximport delete {import_id}`", imp)
        api.confirm(import_id)
        imp = _follow(api, out, import_id, FINISHED, args.timeout, "confirmed")
        if imp is None:
            return _finish(out, result, ExitCode.TIMED_OUT, f"not complete within {args.timeout:.0f}s")
        status = imp.get("status")
    if status == "complete":
        return _finish(out, result, ExitCode.OK, f"import {import_id} complete", imp)
    return _finish(out, result, ExitCode.IMPORT_FAILED, f"import {import_id} ended in {status}", imp)


def _squeeze(identifier: str) -> str:
    return "".join(identifier.split()).upper()


def _multi_account(api: ApiClient, body: dict[str, Any]) -> bool:
    """Whether the import's format holds several accounts (then the accounts are discovered first)."""
    fmt = next((f for f in api.formats() if f["fileFormat"] == body["fileFormat"]), {})
    return bool(fmt.get("accountsSupported") == "multi")


def _only_account(api: ApiClient, out: Output) -> list[dict[str, Any]]:
    """A single-account file without --account: the tenant's only bank account (empty after saying why not)."""
    known = api.accounts()
    if len(known) == 1:
        out.line(f"importing into the only bank account, {known[0]['id']} ({known[0].get('accountIdentifier')})")
        return known
    have = f"{len(known)} bank accounts" if known else "no bank account"
    out.error(f"pass --account ID: the tenant has {have}")
    return []


def _after_naming(api: ApiClient, import_id: str, timeout: float) -> dict[str, Any] | None:
    """After naming the accounts the import processes the file again: wait until it is done with that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        imp = api.get_import(import_id)
        if imp.get("status") in WAITING and imp.get("bankAccounts"):
            return imp
        time.sleep(POLL_SECONDS)
    return None


def _country(identifier: str, known: list[dict[str, Any]], default: str | None) -> str:
    """The country of an account the file names: an IBAN's own, else --country, else the tenant's accounts'."""
    compact = _squeeze(identifier)
    try:
        from schwifty import IBAN

        country = IBAN(compact).country
        if country is not None:
            return str(country.alpha_3)
    except (ValueError, LookupError):
        pass
    return default or next((a["countryCode"] for a in known if a.get("countryCode")), "ZZZ")


def _choose_accounts(args: argparse.Namespace, api: ApiClient, out: Output, imp: dict[str, Any]
                     ) -> list[dict[str, Any]]:
    """The bank accounts to name for the accounts a discovery found: the tenant's account with the same
    identifier, else (with --create-accounts, IBAN or not) a new placeholder account the service creates."""
    known = api.accounts()
    by_identifier = {_squeeze(a.get("accountIdentifier", "")): a for a in known}
    choices: list[dict[str, Any]] = []
    for entry in imp.get("accountIdentifiers") or []:
        identifier = entry["accountIdentifier"]
        match = by_identifier.get(_squeeze(identifier)) or (
            _fuzzy_match(identifier, entry.get("bank"), known) if args.fuzzy else None)
        if match:
            out.line(f"file account {identifier}: bank account {match['id']}")
            choices.append({"id": match["id"]})
        elif args.create_accounts:
            country = _country(identifier, known, args.country)
            out.line(f"file account {identifier}: a new bank account ({country})")
            choices.append({"accountIdentifier": identifier, "countryCode": country})
        else:
            out.line(f"file account {identifier}: no bank account (its lines are left out)")
    if not choices:
        names = ", ".join(e["accountIdentifier"] for e in imp.get("accountIdentifiers") or []) or "none"
        out.error(f"no bank account matches the accounts in the file ({names}): create them with "
                  "`tximport accounts create --identifier ...`, or rerun with --create-accounts")
    return choices


def _fuzzy_match(identifier: str, bank: str | None, known: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The one bank account the service's fuzzy rules match `identifier` (of `bank`, if the file names it) to
    (None: none, or several)."""
    from tximport.formats.accounts import match_account

    found = match_account(identifier, [(a["id"], a.get("accountIdentifier") or "") for a in known], True, bank)
    return next((a for a in known if a["id"] == found), None)


def _confirmed(args: argparse.Namespace, out: Output, imp: dict[str, Any]) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        out.error("no terminal to ask for confirmation: pass --yes to confirm")
        return False
    count = (((imp.get("statement") or {}).get("summary")) or {}).get("transactionDetailsCount", 0)
    from rich.prompt import Confirm

    return Confirm.ask(f"Import {count} transactions into the ledger?", console=out.err, default=False)


def _finish(out: Output, result: dict[str, Any], code: ExitCode, message: str,
            imp: dict[str, Any] | None = None) -> ExitCode:
    if imp is not None:
        result["status"] = imp.get("status")
        result["import"] = imp
    result.update(exitCode=int(code), outcome=message)
    if out.json:
        out.emit(result)
    elif code == ExitCode.OK:
        out.line(message, style="bold green")
    else:
        out.error(message)
    return code


def _follow(api: ApiClient, out: Output, import_id: str, until: set[str], timeout: float, first: str,
            behind: frozenset[str] = frozenset(), field: str = "status") -> dict[str, Any] | None:
    """Poll the import until its status (or `field`) is in `until`; None on timeout. Shows a spinner and each
    change; a status in `behind` (one the import had before what `first` says, not seen by the service yet)
    shows as `first`, so the status never seems to go back."""
    deadline = time.monotonic() + timeout
    with out.status(f"{field}: {first}") as update:
        while True:
            imp = api.get_import(import_id)
            status = imp.get(field)
            update(f"{field}: {first if status in behind else status}")
            if status in until:
                return imp
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)


def _report(imp: dict[str, Any]) -> dict[str, Any]:
    return ((imp.get("statement") or {}).get("summary")) or {}


def _print_report(out: Output, imp: dict[str, Any], problems: list[dict[str, Any]]) -> None:
    s = _report(imp)
    if s:
        # the document's datetimes are a statement day's midnight UTC: the day is what a person reads
        start, end = (str(v)[:10] if v else None for v in (s.get("transactionRangeStartDate"),
                                                           s.get("transactionRangeEndDate")))
        out.pairs(f"Report for import {imp['id']}", [
            ("lines", s.get("transactionDetailsCount")),
            ("credits", f"{s.get('transactionCreditCount')} totalling {_total(s, 'credit')}"),
            ("debits", f"{s.get('transactionDebitCount')} totalling {_total(s, 'debit')}"),
            ("date range", f"{start} to {end}" if start else "-"),
            ("possible duplicates", s.get("possibleDuplicateCount", 0)),
            ("ledger lines on these days", s.get("transactionDateOverlapCount")),
            ("rejected lines", s.get("rejectedLineCount")),
            ("accounts", s.get("accountDetailsCount")),
            ("currencies", ", ".join(s.get("currencies") or []) or "-"),
        ])
    if problems:
        shown = problems[:ERROR_ROWS_SHOWN]
        out.table(f"Errors ({len(problems)})", ["line", "code", "target", "message"],
                  [(p.get("lineNumber", "-"), p.get("code"), p.get("target"), p.get("message")) for p in shown])
        if len(problems) > len(shown):
            out.line(f"... {len(problems) - len(shown)} more: tximport show {imp['id']} --json")


# --- list / show / review / confirm / delete / ledger ----------------------------------------------------
def register_list(subparsers: Any) -> None:
    parser = _add(subparsers, "list", run_list, "list imports, newest first")
    parser.add_argument("--status", default=None, help="only imports in this status")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")


def run_list(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    imports = api.imports(limit=args.limit, status=args.status)
    if out.json:
        out.emit(imports)
    else:
        out.table("Imports", ["id", "status", "format", "file", "created"],
                  [(i["id"], i.get("status"), i.get("fileFormat"), i.get("fileName"), i.get("created"))
                   for i in imports])
    return ExitCode.OK


def register_show(subparsers: Any) -> None:
    parser = _add(subparsers, "show", run_show, "show an import with its report and errors")
    parser.add_argument("import_id", metavar="ID")


def run_show(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    imp = api.get_import(args.import_id)
    problems = api.error_details(args.import_id, limit=1000)
    if out.json:
        out.emit({"import": imp, "errors": problems})
        return ExitCode.OK
    out.pairs(f"Import {imp['id']}", [
        ("status", imp.get("status")), ("format", imp.get("fileFormat")), ("file", imp.get("fileName")),
        ("accounts", ", ".join(a["id"] for a in imp.get("bankAccounts", []))),
        ("review level", imp.get("reviewLevel")), ("created", imp.get("created")),
        ("updated", imp.get("updated")), ("completed", imp.get("completed") or "-"),
    ])
    _print_report(out, imp, problems)
    return ExitCode.OK


def register_review(subparsers: Any) -> None:
    parser = _add(subparsers, "review", run_review, "list an import's staged transactions")
    parser.add_argument("import_id", metavar="ID")
    parser.add_argument("--limit", type=int, default=200, help="at most this many rows (default 200)")


def run_review(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    rows = api.review(args.import_id, limit=args.limit)
    if out.json:
        out.emit(rows)
        return ExitCode.OK
    out.table(f"Transactions of import {args.import_id}",
              ["line", "date", "amount", "currency", "description", "duplicate", "decision"],
              [(r.get("lineNumber"), r.get("postingDate"), r.get("amount"), r.get("currency"),
                r.get("description"), r.get("duplicateReason") or ("yes" if r.get("possibleDuplicate") else ""),
                r.get("decision")) for r in rows])
    return ExitCode.OK


def _add_followed(subparsers: Any, name: str, fn: Callable[..., ExitCode], help_text: str, until: str,
                  description: str = "") -> None:
    """A command on one import that asks for something and follows the import until `until` (or --timeout)."""
    parser = _add(subparsers, name, fn, help_text, description)
    parser.add_argument("import_id", metavar="ID")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    parser.add_argument("--no-wait", action="store_true", help=f"do not wait for {until}")


def register_confirm(subparsers: Any) -> None:
    _add_followed(subparsers, "confirm", run_confirm, "confirm an import and follow it to complete", "complete")


def run_confirm(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    api.confirm(args.import_id)
    result: dict[str, Any] = {"importId": args.import_id}
    if args.no_wait:
        return _finish(out, result, ExitCode.OK, f"import {args.import_id} confirmed")
    imp = _follow(api, out, args.import_id, FINISHED, args.timeout, "confirmed")
    if imp is None:
        return _finish(out, result, ExitCode.TIMED_OUT, f"not complete within {args.timeout:.0f}s")
    if imp.get("status") == "complete":
        return _finish(out, result, ExitCode.OK, f"import {args.import_id} complete", imp)
    return _finish(out, result, ExitCode.IMPORT_FAILED, f"import {args.import_id} ended in {imp.get('status')}",
                   imp)


def register_delete(subparsers: Any) -> None:
    parser = _add(subparsers, "delete", run_delete, "delete an import")
    parser.add_argument("import_id", metavar="ID")


def run_delete(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    api.delete(args.import_id)
    if out.json:
        out.emit({"importId": args.import_id, "deleted": True})
    else:
        out.line(f"import {args.import_id} deleted")
    return ExitCode.OK


def register_revert(subparsers: Any) -> None:
    _add_followed(subparsers, "revert", run_revert, "revert a complete import: remove the lines it wrote",
                  "the revert to end", "Asks for the revert (POST /imports/ID/revert) and follows revertStatus until "
                  "reverted or revertFailed (lines a reconciliation matched are never removed: the reason is printed).")


def run_revert(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    api.revert(args.import_id)
    result: dict[str, Any] = {"importId": args.import_id}
    if args.no_wait:
        return _finish(out, result, ExitCode.OK, f"revert of import {args.import_id} started")
    imp = _follow(api, out, args.import_id, {"reverted", "revertFailed"}, args.timeout, "reverting",
                  field="revertStatus")
    if imp is None:
        return _finish(out, result, ExitCode.TIMED_OUT, f"not reverted within {args.timeout:.0f}s: follow it with "
                       f"`tximport show {args.import_id}`")
    if imp.get("revertStatus") == "reverted":
        return _finish(out, result, ExitCode.OK, f"import {args.import_id} reverted: "
                       f"{imp.get('revertedLineCount') or 0} line(s) removed", imp)
    reasons = "; ".join(f"{d.get('code')}: {d.get('message')}" for d in imp.get("errorDetails") or []
                        if d.get("severity") == "error") or "see `tximport show`"
    return _finish(out, result, ExitCode.IMPORT_FAILED, f"revert of import {args.import_id} failed ({reasons}); "
                   f"`tximport revert {args.import_id}` again continues it", imp)


def register_ledger(subparsers: Any) -> None:
    parser = _add(subparsers, "ledger", run_ledger, "list an account's confirmed transactions, newest first")
    parser.add_argument("account", metavar="ACCOUNT", help="bank account id or account identifier")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")


def run_ledger(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    account = api.resolve_account(args.account)
    rows = api.ledger(account["id"], limit=args.limit)
    if out.json:
        out.emit(rows)
        return ExitCode.OK
    out.table(f"Ledger of {account['id']} ({account.get('accountIdentifier')})",
              ["date", "amount", "currency", "description", "import"],
              [(r.get("postingDate"), r.get("amount"), r.get("currency"), r.get("description"),
                r.get("importId")) for r in rows])
    return ExitCode.OK


# --- openapi ------------------------------------------------------------------------------------------
def register_openapi(subparsers: Any) -> None:
    parser = subparsers.add_parser("openapi", help="write the API's OpenAPI document (docs/openapi.json)",
                                   description="Generate the OpenAPI 3.1 document from the code.")
    parser.add_argument("--output", type=Path, default=None, help="write it here (default: stdout)")
    parser.set_defaults(handler=run_openapi)


def openapi_text() -> str:
    """The OpenAPI document as committed: sorted keys, two-space indent, final newline."""
    from tximport.api.app import openapi_document

    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run_openapi(args: argparse.Namespace) -> int:
    text = openapi_text()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return int(ExitCode.OK)


CLIENT_COMMANDS: list[Callable[[Any], None]] = [
    register_formats, register_accounts, register_import, register_detect, register_list, register_show,
    register_review, register_confirm, register_delete, register_revert, register_ledger, register_openapi,
]
