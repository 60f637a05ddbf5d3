"""`tximport`: the command line entry point.

Each subcommand is a `register(subparsers)` function that adds its parser and sets `handler` (a
callable taking the parsed arguments and answering an exit code). Add a command by writing one and
listing it in COMMANDS.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from tximport_cli.commands import CLIENT_COMMANDS, add_connection_options
from tximport_cli.exitcodes import ExitCode, describe
from tximport_cli.reconcile import register as _register_reconcile
from tximport_cli.sessions import register_session

DEFAULT_PORT = 3000


# --- tximport local --------------------------------------------------------------------------------
def _register_local(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local", help="run the service on this machine (moto + the API on http://127.0.0.1:PORT)",
        description="Start moto in server mode, create the stack's resources, run the Lambda handlers "
                    "in-process and serve the API. Ctrl-C stops everything.")
    parser.add_argument("--port", type=int, default=None,
                        help=f"API port (default: $PORT or {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--moto-port", type=int, default=0, help="moto server port (default: a free one)")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo tenant's bank account")
    parser.add_argument("--confirmation-timeout", type=int, default=None, metavar="SECONDS",
                        help="how long an import may wait for confirmation")
    parser.add_argument("--sweep-every", type=float, default=60.0, metavar="SECONDS",
                        help="how often the reaper sweeps imports left in flight by an ended execution "
                             "(default 60; 0 turns the sweep off)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="write the stack's endpoints as JSON to this file once it is up")
    # tests run the stack with stand-in functions: a module with HANDLERS = {"api": fn, ...} and
    # optionally EXTRA_ROUTES = [(method, path, auth_required), ...]
    parser.add_argument("--handlers-module", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(handler=_run_local)


def _api_port(arg: int | None) -> int:
    if arg is not None:
        return arg
    env = os.environ.get("PORT")
    return int(env) if env else DEFAULT_PORT


def _run_local(args: argparse.Namespace) -> int:
    import importlib

    from tximport_cli.local.stack import LocalStack

    _configure_logging()
    handlers, extra_routes = None, ()
    if args.handlers_module:
        module = importlib.import_module(args.handlers_module)
        handlers, extra_routes = module.HANDLERS, getattr(module, "EXTRA_ROUTES", ())

    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(port=_api_port(args.port), moto_port=args.moto_port, handlers=handlers,
                       demo=not args.no_demo, confirmation_timeout_seconds=args.confirmation_timeout,
                       extra_routes=extra_routes)
    try:
        try:
            stack.start()
        except OSError as exc:
            print(f"tximport local: cannot start: {exc}", file=sys.stderr)
            return 1
        _print_banner(stack)
        if args.ready_file is not None:
            stack.write_ready_file(args.ready_file)
        next_sweep = time.monotonic() + args.sweep_every
        while not stop.wait(0.5):
            if args.sweep_every and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + args.sweep_every
                try:
                    stack.sweep()
                except Exception as exc:  # the next sweep tries again; the stack keeps serving
                    print(f"tximport local: the reaper's sweep failed: {exc}", file=sys.stderr)
        print("tximport local: stopping", file=sys.stderr)
        return 0
    finally:
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _configure_logging() -> None:
    """One line per request and per event from the stack; warnings only from libraries.

    The stack's loggers get their own handler: Powertools (in the handlers) filters records whose
    logger name contains its service name ("tximport") out of the root handlers.
    """
    formatter = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    stack_log = logging.getLogger("tximport_cli")
    stack_log.addHandler(handler)
    stack_log.setLevel(logging.INFO)
    stack_log.propagate = False
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)


def walkthrough(base_url: str, token: str, account_id: str | None) -> str:
    """The curl session a person can paste to try the import flow end to end."""
    account = account_id or "<create one: POST /bankaccounts>"
    py = "python3 -c 'import json,sys; d=json.load(sys.stdin); print({expr})'"
    status = py.format(expr='d["data"]["status"]')
    return f"""\
export API={base_url}
export TOKEN={token}
export ACCOUNT={account}
AUTH="Authorization: Bearer $TOKEN"

# 1. file formats (no token needed)
curl -s "$API/fileformats"; echo

# 2. create an import and take its id and upload URL
IMPORT_JSON=$(curl -s -X POST "$API/imports" -H "$AUTH" -H 'Content-Type: application/json' \\
  -d '{{"data":{{"fileFormat":"Tabular3column#v1","fileName":"statement.csv","dateStyle":"bigEndian",\
"bankAccounts":[{{"id":"'"$ACCOUNT"'"}}]}}}}')
export IMPORT=$(printf '%s' "$IMPORT_JSON" | {py.format(expr='d["data"]["id"]')})
export UPLOAD=$(printf '%s' "$IMPORT_JSON" | {py.format(expr='d["links"]["uploadPath"]')})

# 3. upload a small statement with the presigned URL (valid 15 minutes)
cat > statement.csv <<'CSV'
Date,Description,Amount
2024-01-02,Coffee,-3.50
2024-01-03,Salary,2500.00
2024-01-04,Rent,-1200.00
CSV
curl -s -T statement.csv "$UPLOAD" -w 'upload: %{{http_code}}\\n'

# 4. poll until awaitingConfirmation (or error), then review
until s=$(curl -s "$API/imports/$IMPORT?include=report" -H "$AUTH" | {status}); \\
  echo "$s"; [ "$s" = awaitingConfirmation ] || [ "$s" = error ]; do sleep 1; done
curl -s "$API/imports/$IMPORT/reviewtransactions?pageSize=100" -H "$AUTH"; echo

# 5. confirm (204; a second confirm does nothing), poll until complete, read the ledger
curl -s -X POST "$API/imports/$IMPORT/confirm" -H "$AUTH" -o /dev/null -w 'confirm: %{{http_code}}\\n'
until s=$(curl -s "$API/imports/$IMPORT" -H "$AUTH" | {status}); \\
  echo "$s"; [ "$s" = complete ] || [ "$s" = error ]; do sleep 1; done
curl -s "$API/bankaccounts/$ACCOUNT/transactions" -H "$AUTH"; echo     # the ledger, newest first
curl -s "$API/transactions?importId=$IMPORT" -H "$AUTH"; echo           # the tenant's ledger, filtered

# events the workflow published (local only)
curl -s "$API/local/events" -H "$AUTH"; echo
"""


def _print_banner(stack: Any) -> None:
    from rich.console import Console
    from rich.panel import Panel

    from tximport_cli.local.stack import DEMO_COMPANY, DEMO_ORGANISATION, DEMO_PERMISSIONS, DEMO_SCOPES

    token = stack.token_for(DEMO_ORGANISATION, DEMO_COMPANY, ttl_seconds=30 * 24 * 3600,
                            permissions=DEMO_PERMISSIONS, scopes=DEMO_SCOPES)
    console = Console(soft_wrap=True, highlight=False)
    # plain lines first: scripts and tests read these
    console.print(f"tximport local: API {stack.base_url}", markup=False)
    console.print(f"tximport local: moto {stack.moto_endpoint}", markup=False)
    console.print(f"tenant: organisationId={DEMO_ORGANISATION} companyId={DEMO_COMPANY}", markup=False)
    console.print(f"demo bank account: {stack.demo_bank_account_id or '(not created)'}", markup=False)
    console.print(f"demo workspace (X-Workspace-ID): {stack.demo_workspace_id or '(not created)'}", markup=False)
    console.print(f"token (30 days): {token}", markup=False)
    console.print(Panel.fit("Try it: paste into a shell", style="bold"))
    console.print(walkthrough(stack.base_url, token, stack.demo_bank_account_id), markup=False)
    if not stack.base_url.endswith(":3000"):  # the CLI's default is port 3000
        console.print(f"The CLI (.venv/bin/tximport) on this port: export TXIMPORT_API_URL={stack.base_url}",
                      markup=False)
    console.print("Ctrl-C stops the stack.", markup=False)
    sys.stdout.flush()


# --- tximport dev-token ----------------------------------------------------------------------------
def _register_dev_token(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dev-token", help="print a bearer token the local stack accepts",
        description="Sign an HS256 token with the local dev secret (TXIMPORT_DEV_SECRET overrides it).")
    parser.add_argument("--organisation", required=True, help="organisationId claim")
    parser.add_argument("--company", required=True, help="companyId claim")
    parser.add_argument("--ttl", type=int, default=12 * 3600, metavar="SECONDS",
                        help="lifetime (default 12h)")
    parser.add_argument("--permission", action="append", default=[], metavar="PERMISSION",
                        help="add PERMISSION to the `permissions` claim, e.g. BAAS_RECONCILIATION_CREATE "
                             "(repeatable)")
    parser.add_argument("--role", action="append", default=[], metavar="ROLE",
                        help="add ROLE to the `roles` claim, e.g. admin (repeatable)")
    parser.add_argument("--scope", action="append", default=[], metavar="SCOPE",
                        help="add SCOPE to the `scope` claim (space-separated, as OAuth writes it), e.g. "
                             "api:transactions:create, which POST /api/public/v1/transactions needs (repeatable)")
    parser.set_defaults(handler=_run_dev_token)


def _run_dev_token(args: argparse.Namespace) -> int:
    from tximport_cli.local.tokens import dev_token

    if args.ttl <= 0:
        print("tximport dev-token: --ttl must be positive", file=sys.stderr)
        return 2
    if any(not value.strip() or " " in value.strip() for value in [*args.permission, *args.role, *args.scope]):
        print("tximport dev-token: --permission, --role and --scope need a non-empty value without spaces",
              file=sys.stderr)
        return 2
    print(dev_token(args.organisation, args.company, ttl_seconds=args.ttl,
                    permissions=[p.strip() for p in args.permission], roles=[r.strip() for r in args.role],
                    scopes=[s.strip() for s in args.scope]))
    return 0


#: every subcommand's registration function, in the order `--help` lists them
COMMANDS: list[Callable[[Any], None]] = [*CLIENT_COMMANDS, register_session, _register_reconcile, _register_local,
                                         _register_dev_token]


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with ExitCode.ERROR (1), like every other error of the client commands."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.ERROR), f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tximport", formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Import bank statement files into a ledger.",
                     epilog=f"{describe()}\n\nThe API is $TXIMPORT_API_URL (default http://127.0.0.1:3000, the local "
                            "stack of `make run`),\nthe token $TXIMPORT_TOKEN (for the local default a dev token "
                            "for demo-org/demo-co).")
    add_connection_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one subcommand; answers the exit code."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
