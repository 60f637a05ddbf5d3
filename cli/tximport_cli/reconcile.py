"""`tximport reconcile`: create a reconciliation from a CSV or JSON file of entries, follow it, and show its
matches with their explanations; list, match or unmatch an entry by hand, re-run.

Output follows the other commands: rich tables on a terminal, plain lines otherwise, one JSON document with
`--json`; exit codes as `tximport --help` lists them.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tximport_cli.client import ApiClient, ApiError
from tximport_cli.commands import _add, _existing_file
from tximport_cli.exitcodes import ExitCode
from tximport_cli.output import Output

BASE = "/baas/api/v1/reconciliations"
SETTLED = {"COMPLETED", "PARTIALLY_MATCHED", "FAILED"}
POLL_SECONDS = 0.4
ENTRY_FIELDS = ("type", "amount", "description", "transactionDate", "externalRef")
OPTION_NAMES = ("amountTolerance", "dateWindowDays", "autoMatchScore", "suggestScore", "ambiguityMargin",
                "maxSuggestions")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile", help="reconcile expected entries against an account's ledger",
        description="Create a reconciliation from a file of entries and show its matches, explained.")
    sub = parser.add_subparsers(dest="reconcile_command", metavar="ACTION", required=True)

    create = _add(sub, "create", run_create, "create a reconciliation from a CSV or JSON file of entries",
                  "CSV columns: type (CREDIT|DEBIT), amount, description, transactionDate (YYYY-MM-DD), "
                  "externalRef (optional). JSON: a list of entries, {\"entries\": [...]}, or the API's request "
                  "document. Follows the matching and prints the result like `reconcile show`.")
    create.add_argument("file", type=Path, help="the entries (.csv or .json)")
    create.add_argument("--account", required=True, metavar="ID", help="bank account id or its identifier")
    create.add_argument("--period-start", required=True, metavar="YYYY-MM-DD")
    create.add_argument("--period-end", required=True, metavar="YYYY-MM-DD")
    create.add_argument("--source", default="FILE_UPLOAD", choices=["FILE_UPLOAD", "API_IMPORT"])
    create.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help=f"a matching option ({', '.join(OPTION_NAMES)}); repeat")
    create.add_argument("--no-wait", action="store_true", help="answer at once, without following the matching")
    create.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    create.add_argument("--limit", type=int, default=100, help="entries shown (default 100)")

    show = _add(sub, "show", run_show, "show a reconciliation and its entries with their explanations")
    show.add_argument("reconciliation_id", metavar="ID")
    show.add_argument("--status", choices=["MATCHED", "UNMATCHED", "MANUAL"], default=None,
                      help="only entries in this match status")
    show.add_argument("--limit", type=int, default=100, help="entries shown (default 100)")

    listing = _add(sub, "list", run_list, "list reconciliations, newest first")
    listing.add_argument("--account", default=None, metavar="ID")
    listing.add_argument("--status", default=None)
    listing.add_argument("--limit", type=int, default=50)

    match = _add(sub, "match", run_match, "match an entry to a ledger line by hand (MANUAL)")
    match.add_argument("reconciliation_id", metavar="ID")
    match.add_argument("entry_id", metavar="ENTRY")
    match.add_argument("statement", metavar="STATEMENT", help="the line's statementId or ledger transactionId")

    unmatch = _add(sub, "unmatch", run_unmatch, "take an entry's match away")
    unmatch.add_argument("reconciliation_id", metavar="ID")
    unmatch.add_argument("entry_id", metavar="ENTRY")

    rerun = _add(sub, "rerun", run_rerun, "match again (new ledger lines arrived); manual decisions stay")
    rerun.add_argument("reconciliation_id", metavar="ID")
    rerun.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    rerun.add_argument("--limit", type=int, default=100)


# --- reading entries ---------------------------------------------------------------------------------
def read_entries(path: Path) -> list[dict[str, Any]]:
    """Entries from a CSV (header row) or JSON file, as the API takes them (amounts as JSON numbers)."""
    if path.suffix.lower() == ".json":
        document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        if isinstance(document, dict):
            document = (document.get("data", {}).get("attributes", {}).get("entries")
                        if "data" in document else document.get("entries"))
        if not isinstance(document, list):
            raise ApiError(f"{path}: expected a list of entries (or {{\"entries\": [...]}})")
        return [_entry(item, f"{path}: entry {i + 1}") for i, item in enumerate(document)]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"type", "amount", "description", "transactionDate"} - set(reader.fieldnames or [])
        if missing:
            raise ApiError(f"{path}: the header lacks {', '.join(sorted(missing))} "
                           f"(columns: {', '.join(ENTRY_FIELDS)})")
        return [_entry(row, f"{path}: line {n}") for n, row in enumerate(reader, start=2)]


def _entry(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(f"{where}: not an object")
    out: dict[str, Any] = {k: item[k] for k in ENTRY_FIELDS if item.get(k) not in (None, "")}
    if "type" in out:
        out["type"] = str(out["type"]).strip().upper()
    if isinstance(out.get("amount"), str):  # (a CSV cell) read exactly, as the API reads a JSON number
        try:
            amount = Decimal(out["amount"].strip())
        except ArithmeticError:
            raise ApiError(f"{where}: amount {item['amount']!r} is not a number") from None
        if not amount.is_finite():
            raise ApiError(f"{where}: amount {item['amount']!r} is not a number")
        out["amount"] = amount
    return out


def _options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in OPTION_NAMES or not value:
            raise ApiError(f"--option {pair!r}: use NAME=VALUE with NAME one of {', '.join(OPTION_NAMES)}")
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise ApiError(f"--option {pair!r}: {value!r} is not a number") from None
        out[name] = number if "." in value or "e" in value.lower() else int(number)
    return out


# --- commands ----------------------------------------------------------------------------------------
def run_create(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    entries = read_entries(_existing_file(args.file))
    account = api.resolve_account(args.account)
    attributes: dict[str, Any] = {"accountId": account["id"], "periodStart": args.period_start,
                                  "periodEnd": args.period_end, "source": args.source, "entries": entries}
    if args.option:
        attributes["matchingOptions"] = _options(args.option)
    created = api.request("POST", BASE, json={"data": {"type": "reconciliations", "attributes": attributes}})
    rec = created["data"]
    out.line(f"reconciliation {rec['id']} created: {len(entries)} entries, {rec['attributes']['status']}")
    if args.no_wait:
        if out.json:
            out.emit({"reconciliation": rec, "exitCode": 0})
        return ExitCode.OK
    return _follow_and_show(api, out, rec["id"], args.timeout, None, args.limit)


def run_show(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    rec = api.request("GET", f"{BASE}/{args.reconciliation_id}")["data"]
    return _show(api, out, rec, args.status, args.limit)


def run_list(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    params: dict[str, Any] = {"page[size]": min(100, args.limit)}
    if args.account:
        params["filter[accountId]"] = api.resolve_account(args.account)["id"]
    if args.status:
        params["filter[status]"] = args.status
    found = api.request("GET", BASE, params=params)["data"][: args.limit]
    if out.json:
        out.emit(found)
        return ExitCode.OK
    out.table("Reconciliations", ["id", "status", "account", "period", "entries", "matched", "unmatched"],
              [(r["id"], r["attributes"]["status"], r["attributes"]["accountId"],
                f"{r['attributes']['periodStart']}..{r['attributes']['periodEnd']}", r["attributes"]["totalEntries"],
                r["attributes"]["matchedEntries"], r["attributes"]["unmatchedEntries"]) for r in found])
    return ExitCode.OK


def _change(api: ApiClient, out: Output, rec_id: str, entry: str, attributes: dict[str, Any]) -> ExitCode:
    answer = api.request("PATCH", f"{BASE}/{rec_id}/entries/{entry}",
                         json={"data": {"type": "reconciliation-entries", "attributes": attributes}})["data"]
    if out.json:
        out.emit(answer)
    else:
        a = answer["attributes"]
        out.line(f"entry {answer['id']}: {a['matchStatus']}"
                 + (f" to {a['matchedTransactionId']}" if a.get("matchedTransactionId") else ""))
    return ExitCode.OK


def run_match(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    return _change(api, out, args.reconciliation_id, args.entry_id,
                   {"matchStatus": "MANUAL", "matchedStatementId": args.statement})


def run_unmatch(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    return _change(api, out, args.reconciliation_id, args.entry_id, {"matchStatus": "UNMATCHED"})


def run_rerun(args: argparse.Namespace, api: ApiClient, out: Output) -> ExitCode:
    api.request("POST", f"{BASE}/{args.reconciliation_id}/rerun")
    out.line(f"reconciliation {args.reconciliation_id}: matching again")
    return _follow_and_show(api, out, args.reconciliation_id, args.timeout, None, args.limit)


# --- following and showing ---------------------------------------------------------------------------
def _follow_and_show(api: ApiClient, out: Output, rec_id: str, timeout: float, status: str | None,
                     limit: int) -> ExitCode:
    deadline = time.monotonic() + timeout
    with out.status("status: PROCESSING") as update:
        while True:
            rec = api.request("GET", f"{BASE}/{rec_id}")["data"]
            update(f"status: {rec['attributes']['status']}")
            if rec["attributes"]["status"] in SETTLED:
                break
            if time.monotonic() >= deadline:
                out.error(f"not settled within {timeout:.0f}s: `tximport reconcile show {rec_id}`")
                if out.json:
                    out.emit({"reconciliation": rec, "exitCode": int(ExitCode.TIMED_OUT)})
                return ExitCode.TIMED_OUT
            time.sleep(POLL_SECONDS)
    return _show(api, out, rec, status, limit)


def _entries(api: ApiClient, rec_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    number = 1
    while len(out) < limit:
        params: dict[str, Any] = {"page[number]": number, "page[size]": 100}
        if status:
            params["filter[matchStatus]"] = status
        page = api.request("GET", f"{BASE}/{rec_id}/entries", params=params)
        out.extend(page["data"])
        if not page["meta"]["hasNextPage"]:
            break
        number += 1
    return out[:limit]


def _show(api: ApiClient, out: Output, rec: dict[str, Any], status: str | None, limit: int) -> ExitCode:
    a = rec["attributes"]
    code = ExitCode.RECONCILIATION_FAILED if a["status"] == "FAILED" else ExitCode.OK
    entries = _entries(api, rec["id"], status, limit) if a["status"] != "FAILED" else []
    if out.json:
        out.emit({"reconciliation": rec, "entries": entries, "exitCode": int(code)})
        return code
    out.pairs(f"Reconciliation {rec['id']}", [
        ("status", a["status"]), ("account", a["accountId"]), ("period", f"{a['periodStart']} to {a['periodEnd']}"),
        ("entries", a["totalEntries"]),
        ("matched", f"{a['matchedEntries']} ({a.get('manualEntries', 0)} by hand), {a['matchedAmount']:.2f}"),
        ("unmatched", f"{a['unmatchedEntries']} ({a.get('ambiguousEntries', 0)} ambiguous, "
                      f"{a.get('suggestedEntries', 0)} with suggestions), {a['unmatchedAmount']:.2f}"),
        ("total", f"{a['totalAmount']:.2f} {a.get('currency') or ''}".strip()),
        ("failure", a.get("failureReason") or "-"),
    ])
    if entries:
        out.table(f"Entries ({len(entries)} shown)",
                  ["entry", "date", "type", "amount", "description", "status", "line", "rule", "score",
                   "Δ amount", "Δ days", "why"],
                  [_row(e) for e in entries])
    if code != ExitCode.OK:
        out.error(f"reconciliation {rec['id']} FAILED: {a.get('failureReason')}")
    return code


def _row(entry: dict[str, Any]) -> tuple[Any, ...]:
    a = entry["attributes"]
    match = a.get("match") or {}
    why = a.get("reason") or ""
    if a.get("runnerUp"):
        why += f"; runner-up {a['runnerUp']['transactionId']} (regret {a['runnerUp']['regret']:.2f})"
    if a.get("suggestions"):
        why += "; suggestions: " + ", ".join(f"{s['transactionId']} ({s['score']:.2f})" for s in a["suggestions"])
    return (entry["id"], a["transactionDate"], a["type"], f"{a['amount']:.2f}", a["description"], a["matchStatus"],
            a.get("matchedTransactionId") or "-", match.get("rule") or "-",
            f"{match['score']:.2f}" if match.get("score") is not None else "-",
            f"{match['amountDelta']:.2f}" if match.get("amountDelta") is not None else "-",
            match.get("dateDeltaDays", "-") if match else "-", why.strip("; "))
