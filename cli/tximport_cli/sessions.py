"""`tximport session ...`: import sessions from the command line (create, upload, show, enrich, commit,
close, list), with the output conventions of `tximport import`: rich tables on a terminal, plain lines
otherwise, one JSON document with --json, and the exit codes of `tximport --help`.

The workspace is `--workspace` / $TXIMPORT_WORKSPACE, else the tenant's only workspace. Closing needs
the admin role: for the local stack without --token, the minted dev token carries it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import requests

from tximport_cli.client import API_URL_ENV, DEFAULT_API_URL, TOKEN_ENV, ApiClient, ApiError, resolve_token
from tximport_cli.commands import _common, _run
from tximport_cli.exitcodes import ExitCode
from tximport_cli.output import Output, json_text

WORKSPACE_ENV = "TXIMPORT_WORKSPACE"
POLL_SECONDS = 0.5
LINES_SHOWN = 50


class SessionsApi(ApiClient):
    """The API client for the sessions dialect: its error shape and the X-Workspace-ID header."""

    workspace_id: str | None = None

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
             files: dict[str, Any] | None = None, data: dict[str, Any] | None = None, workspace: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        if not self.token:
            raise ApiError(f"no token for {self.base_url}: pass --token or set {TOKEN_ENV}")
        headers["Authorization"] = f"Bearer {self.token}"
        if workspace and self.workspace_id:
            headers["X-Workspace-ID"] = self.workspace_id
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json_text(body)  # type: ignore[assignment]
        try:
            response = self.session.request(method, f"{self.base_url}{path}", params=params, headers=headers,
                                            data=data, files=files, timeout=max(self.timeout, 120))
        except requests.ConnectionError:
            raise ApiError(f"cannot connect to {self.base_url} (connection refused): is `make run` running? "
                           f"Point elsewhere with --api-url or {API_URL_ENV}.",
                           exit_code=ExitCode.UNREACHABLE) from None
        if response.ok:
            return json.loads(response.text, parse_float=Decimal) if response.content else None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            code, field = answer.get("code"), answer.get("field")
            text = f"{response.status_code} {code or response.reason}: {answer['error']}"
            raise ApiError(text + (f" (field: {field})" if field else ""), status=response.status_code, code=code,
                           target=field, body=answer)
        return self._answer(method, path, response)

    def pick_workspace(self, given: str | None) -> str:
        chosen = given or os.environ.get(WORKSPACE_ENV)
        if not chosen:
            found = self.call("GET", "/workspaces", workspace=False)
            if len(found) != 1:
                have = f"{len(found)} workspaces" if found else "no workspace (POST /workspaces creates one)"
                raise ApiError(f"pass --workspace ID or set {WORKSPACE_ENV}: the tenant has {have}")
            chosen = found[0]["id"]
        self.workspace_id = chosen
        return chosen


def _client(args: argparse.Namespace, admin: bool = False) -> SessionsApi:
    url = (getattr(args, "api_url", None) or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV)
    if token is None and admin and urlparse(url).hostname in ("127.0.0.1", "localhost", "::1"):
        from tximport_cli.local.stack import DEMO_COMPANY, DEMO_ORGANISATION, dev_token

        token = dev_token(DEMO_ORGANISATION, DEMO_COMPANY, roles=["admin"])
    api = SessionsApi(url, token or resolve_token(url, None))
    api.pick_workspace(args.workspace)
    return api


def _add(sub: Any, name: str, fn: Callable[..., ExitCode], help_text: str, *, admin: bool = False
         ) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, parents=[_common()], help=help_text, description=help_text)
    parser.add_argument("--workspace", default=None, metavar="ID",
                        help=f"the workspace (default: ${WORKSPACE_ENV}, else the tenant's only workspace)")
    parser.set_defaults(handler=_run(fn, lambda args: _client(args, admin)))
    return parser


def _money(value: Any) -> str:
    return "" if value is None else format(Decimal(str(value)), "f")


def _session_pairs(s: dict[str, Any]) -> list[tuple[str, Any]]:
    stats = s.get("stats") or {}
    pairs = [("id", s["id"]), ("description", s.get("description")), ("type", s.get("type")),
             ("account", s.get("account_id") or "-"), ("card", s.get("card_id") or "-"),
             ("billing month", s.get("billing_month")), ("target value", _money(s.get("target_value"))),
             ("lines", f"{stats.get('ready', 0)} READY of {stats.get('total', 0)}")]
    if "context_value" in s:
        pairs += [("initial balance", _money(s["initial_balance"])), ("context value", _money(s["context_value"])),
                  ("current total", _money(s["current_total"])), ("status", s.get("status"))]
    if s.get("enrichment"):
        pairs.append(("enrichment", s["enrichment"].get("status")))
    return pairs


def _lines_table(out: Output, title: str, lines: list[dict[str, Any]]) -> None:
    out.table(title, ["id", "date", "amount", "type", "status", "description", "category"],
              [(ln["id"], ln.get("transaction_date"), _money(ln.get("amount")), ln.get("type"), ln.get("status"),
                ln.get("description"), (ln.get("data") or {}).get("category_id") or "") for ln in lines])


# --- commands ---------------------------------------------------------------------------------------
def run_create(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    if bool(args.account) == bool(args.card):
        raise ApiError("give exactly one of --account and --card")
    body: dict[str, Any] = {"billing_month": args.month}
    if args.account:
        body["account_id"] = api.resolve_account(args.account)["id"]
    else:
        body["card_id"] = args.card
    if args.target is not None:
        body["target_value"] = Decimal(args.target)
    if args.description:
        body["description"] = args.description
    session = api.call("POST", "/import-sessions", body=body)
    if out.json:
        out.emit(session)
    else:
        out.pairs("Created import session", _session_pairs(session))
    return ExitCode.OK


def run_list(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    sessions = api.call("GET", "/import-sessions")
    if out.json:
        out.emit(sessions)
    else:
        out.table("Import sessions", ["id", "description", "type", "month", "ready", "total"],
                  [(s["id"], s.get("description"), s.get("type"), s.get("billing_month"),
                    (s.get("stats") or {}).get("ready"), (s.get("stats") or {}).get("total")) for s in sessions])
    return ExitCode.OK


def run_upload(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    path: Path = args.file
    if not path.is_file():
        raise ApiError(f"{path}: no such file")
    fields = {k: v for k, v in (("file_format", args.format), ("date_style", args.date_style)) if v}
    with path.open("rb") as handle:
        answer = api.call("POST", f"/import-sessions/{quote(args.session_id, safe='')}/upload",
                          files={"file": (path.name, handle)}, data=fields)
    if out.json:
        out.emit(answer)
        return ExitCode.OK
    out.line(f"{answer['message']} ({answer.get('file_format')}; possible duplicates: "
             f"{answer.get('possible_duplicates', 0)})", style="bold green")
    left_out = [f"{answer[k]} {label}" for k, label in (("pending_skipped", "pending entries"),
                                                       ("other_account_lines", "lines of other accounts"))
                if answer.get(k)]
    if left_out:
        out.line(f"left out: {', '.join(left_out)}")
    rejected = answer.get("rejected") or []
    if rejected:
        out.table(f"Rejected lines ({len(rejected)})", ["line", "code", "field", "message"],
                  [(r.get("line_number"), r.get("code"), r.get("field"), r.get("message")) for r in rejected[:20]])
    return ExitCode.OK


def run_show(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    session = api.call("GET", f"/import-sessions/{quote(args.session_id, safe='')}", params={"page_size": args.lines})
    if out.json:
        out.emit(session)
        return ExitCode.OK
    out.pairs(f"Import session {session['id']}", _session_pairs(session))
    _lines_table(out, f"Staged transactions (first {len(session.get('transactions') or [])})",
                 session.get("transactions") or [])
    pending = [b for b in session.get("recurring_transaction_bindings") or [] if b.get("status") == "PENDING"]
    if pending:
        out.table("Suggested bindings", ["binding", "staged transaction", "recurring", "amount", "score"],
                  [(b["id"], b["staged_transaction_id"], b.get("recurring_description"),
                    _money(b.get("recurring_amount")), b.get("score")) for b in pending])
    return ExitCode.OK


def run_enrich(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    answer = api.call("POST", f"/import-sessions/{quote(args.session_id, safe='')}/enrich")
    if answer.get("mode") == "async" and not args.no_wait:
        deadline = time.monotonic() + args.timeout
        with out.status("enrichment: PROCESSING") as update:
            while True:
                session = api.call("GET", f"/import-sessions/{quote(args.session_id, safe='')}",
                                   params={"page_size": 1})
                state = (session.get("enrichment") or {}).get("status", "PROCESSING")
                update(f"enrichment: {state}")
                if state != "PROCESSING":
                    answer = {**answer, "outcome": session.get("enrichment"), "stats": session.get("stats")}
                    break
                if time.monotonic() >= deadline:
                    if out.json:
                        out.emit({**answer, "exitCode": int(ExitCode.TIMED_OUT)})
                    out.error(f"enrichment still running after {args.timeout:.0f}s")
                    return ExitCode.TIMED_OUT
                time.sleep(POLL_SECONDS)
    if out.json:
        out.emit(answer)
        return ExitCode.OK
    shown = {k: v for k, v in answer.items() if k not in ("message",)}
    out.pairs(answer.get("message", "enrichment"), [(k, json.dumps(v, default=str) if isinstance(v, dict) else v)
                                                    for k, v in shown.items()])
    failed = (answer.get("outcome") or {}).get("status") == "FAILED"
    return ExitCode.ERROR if failed else ExitCode.OK


def run_commit(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    answer = api.call("POST", f"/import-sessions/{quote(args.session_id, safe='')}/commit")
    if out.json:
        out.emit(answer)
    else:
        out.line(f"{answer['message']} (VALIDATING {answer['validating']}, IGNORE {answer['ignored']})",
                 style="bold green")
    return ExitCode.OK


def run_close(args: argparse.Namespace, api: SessionsApi, out: Output) -> ExitCode:
    if not args.yes:
        if not sys.stdin.isatty():
            out.error("closing is irreversible and there is no terminal to ask: pass --yes")
            return ExitCode.NOT_CONFIRMED
        from rich.prompt import Confirm

        if not Confirm.ask(f"Close session {args.session_id} (VALIDATING -> PAID, the session is removed)?",
                           console=out.err, default=False):
            return ExitCode.NOT_CONFIRMED
    answer = api.call("POST", f"/import-sessions/{quote(args.session_id, safe='')}/close")
    if out.json:
        out.emit(answer)
    else:
        out.line(f"{answer['message']}: {answer['paid']} transaction(s) PAID", style="bold green")
    return ExitCode.OK


def register_session(subparsers: Any) -> None:
    parser = subparsers.add_parser("session", help="import sessions: create, upload, show, enrich, commit, close",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    create = _add(sub, "create", run_create, "create a session for a bank account or a card and a billing month")
    create.add_argument("--account", default=None, help="bank account id or account identifier")
    create.add_argument("--card", default=None, help="card id (POST /cards)")
    create.add_argument("--month", required=True, help="billing month, YYYY-MM")
    create.add_argument("--target", default=None, help="target value (default 0; a card: its payments)")
    create.add_argument("--description", default=None)
    _add(sub, "list", run_list, "list the workspace's sessions")
    upload = _add(sub, "upload", run_upload, "upload a statement file into a session (CSV, OFX, camt, MT940, QIF ...)")
    upload.add_argument("session_id", metavar="SESSION")
    upload.add_argument("file", type=Path)
    upload.add_argument("--format", default=None, help="file format id (default: detected)")
    upload.add_argument("--date-style", default=None, choices=["bigEndian", "littleEndian", "middleEndian"])
    show = _add(sub, "show", run_show, "show a session: balances, stats, status and its first lines")
    show.add_argument("session_id", metavar="SESSION")
    show.add_argument("--lines", type=int, default=LINES_SHOWN, help=f"lines shown (default {LINES_SHOWN})")
    enrich = _add(sub, "enrich", run_enrich, "enrich the PENDING lines (rules, then learning) and suggest bindings")
    enrich.add_argument("session_id", metavar="SESSION")
    enrich.add_argument("--no-wait", action="store_true", help="do not wait for an asynchronous enrichment")
    enrich.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    commit = _add(sub, "commit", run_commit, "commit the READY lines to the ledger")
    commit.add_argument("session_id", metavar="SESSION")
    close = _add(sub, "close", run_close, "close the session (admin): VALIDATING -> PAID, the session removed",
                 admin=True)
    close.add_argument("session_id", metavar="SESSION")
    close.add_argument("--yes", "-y", action="store_true", help="close without asking")
