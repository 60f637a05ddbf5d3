"""Load against the local stack: `make load` (or `python -m tests.load --clients 50 --seconds 60`).

Starts its own local stack (`tximport local` in a child process, on free ports of 127.0.0.1; nothing
else is ever addressed), creates one tenant with `--accounts` bank accounts, and runs `--clients`
concurrent clients for `--seconds`. Each client does what a real one does, over and over: create an
import on one of the accounts, upload a small statement through its presigned URL, poll until it is
processed, read the review (every page), confirm, and poll until it is complete. One file in
`--fuzz` (default 1 in 5) is a mutated statement (bytes flipped, cut short, junk spliced in, empty,
binary, another encoding, a 40-digit amount, a line of 100,000 characters, the same file again);
those may end in `error`, which is a final status like `complete`.

When the time is up no new import starts; the clients finish the ones they hold, for at most
`--drain` seconds. Then it prints:

- requests: how many, how many answered 5xx (any is a failure), 4xx by code, timeouts and
  connection errors (any is a failure);
- imports: how many ended complete, error (and whether each error names its cause) or deleted, and
  how many are stuck in another status (any is a failure);
- ledger totals against file totals, per account: the lines and the sum of the ledger must equal
  the lines the completed imports' reviews said would be imported;
- p50, p90 and p99 latency of the API requests (uploads apart).

It is bounded in count (`--max-imports`) and time (seconds + drain + the stack's start). The exit
status is 0 only with no 5xx, no stuck import, no failed request and equal totals. Nothing here runs
under pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
FINAL = {"complete", "error", "deleted"}
SETTLED = FINAL | {"awaitingConfirmation"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REQUEST_TIMEOUT = 30.0  # API Gateway gives up after 29 s


# --- statements, and their mutations ---------------------------------------------------------------
def statement(rng: random.Random, tag: str) -> bytes:
    """A small valid CSV statement (3 to 12 lines) whose lines no other file repeats."""
    lines = ["Date,Description,Amount"]
    for n in range(rng.randint(3, 12)):
        cents = rng.randint(-500_000, 500_000) or 1
        lines.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},Load {tag} line {n},"
                     f"{Decimal(cents) / 100:.2f}")
    return ("\n".join(lines) + "\n").encode()


def fuzzed(rng: random.Random, tag: str, previous: bytes | None) -> tuple[str, bytes]:
    """A mutated statement and the name of the mutation."""
    base = statement(rng, tag)
    kind = rng.choice(["flip", "truncate", "splice", "empty", "binary", "cp1252", "long-amount", "long-line",
                       "again", "columns", "bom"])
    if kind == "flip":
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "truncate":
        return kind, base[: rng.randrange(1, len(base))]
    if kind == "splice":
        at = rng.randrange(len(base))
        return kind, base[:at] + rng.randbytes(rng.randint(1, 64)) + base[at:]
    if kind == "empty":
        return kind, b""
    if kind == "binary":
        return kind, rng.randbytes(rng.randint(1, 2048))
    if kind == "cp1252":
        return kind, base.decode().replace("Load", "Café € Load").encode("cp1252")
    if kind == "long-amount":
        return kind, base + f"2024-06-01,Load {tag} huge,{'9' * 40}.00\n".encode()
    if kind == "long-line":
        return kind, base + f"2024-06-02,Load {tag} {'x' * 100_000},1.00\n".encode()
    if kind == "again" and previous is not None:
        return kind, previous
    if kind == "bom":
        return kind, b"\xef\xbb\xbf" + base
    return "columns", base.replace(b",", b";", 3)


# --- what the clients saw ---------------------------------------------------------------------------
@dataclass
class Tally:
    """Everything the clients observed, shared under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    upload_latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    client_errors: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # timeouts, resets, unexpected answers
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> what we know of it
    expected: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(list))  # import id -> amounts
    started: int = 0
    fuzzed: Counter[str] = field(default_factory=Counter)

    def record(self, what: str, answer: requests.Response | None, seconds: float, *, upload: bool = False) -> None:
        with self.lock:
            (self.upload_latencies if upload else self.latencies).append(seconds)
            if answer is None:
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code >= 500:
                self.server_errors.append(f"{what}: {answer.status_code} {answer.text[:200]}")
            elif answer.status_code >= 400 and not upload:
                try:
                    code = (answer.json().get("error") or {}).get("code", "?")
                except ValueError:
                    code = "?"
                self.client_errors[f"{answer.status_code} {code}"] += 1


class Client:
    """One client's session and what it does."""

    def __init__(self, base_url: str, token: str, tally: Tally) -> None:
        self.base_url, self.tally = base_url, tally
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response | None:
        started = time.monotonic()
        try:
            answer = self.session.request(method, f"{self.base_url}{path}", timeout=REQUEST_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.tally.record(what, None, time.monotonic() - started)
            with self.tally.lock:
                self.tally.failures.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
            return None
        self.tally.record(what, answer, time.monotonic() - started)
        return answer

    def upload(self, url: str, body: bytes) -> bool:
        started = time.monotonic()
        try:
            answer = requests.put(url, data=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            with self.tally.lock:
                self.tally.failures.append(f"upload: {type(exc).__name__}: {exc}"[:300])
            return False
        self.tally.record("PUT upload", answer, time.monotonic() - started, upload=True)
        if answer.status_code != 200:
            with self.tally.lock:
                self.tally.failures.append(f"upload: {answer.status_code} {answer.text[:200]}")
        return answer.status_code == 200

    def status(self, import_id: str) -> dict[str, Any] | None:
        answer = self.call("GET", f"/imports/{import_id}", "GET /imports/{id}")
        return answer.json()["data"] if answer is not None and answer.status_code == 200 else None

    def wait(self, import_id: str, wanted: set[str], deadline: float) -> dict[str, Any] | None:
        last = None
        while time.monotonic() < deadline:
            last = self.status(import_id) or last
            if last is not None and last["status"] in wanted:
                return last
            time.sleep(0.3 + random.random() * 0.3)
        return last

    def reviewed_amounts(self, import_id: str) -> list[Decimal] | None:
        """The amounts of the lines a confirm would import (decision import), every page read."""
        amounts: list[Decimal] = []
        params: dict[str, Any] = {"pageSize": 1000}
        while True:
            answer = self.call("GET", f"/imports/{import_id}/reviewtransactions", "GET reviewtransactions",
                               params=params)
            if answer is None or answer.status_code != 200:
                return None
            page = answer.json()
            amounts += [Decimal(t["amount"]) for t in page["data"] if t["decision"] == "import"]
            nxt = (page.get("links") or {}).get("next")
            if not nxt:
                return amounts
            params = {"pageSize": 1000, "cursor": nxt.split("cursor=", 1)[1]}

    def one_import(self, account: str, body: bytes, tag: str, deadline: float) -> None:
        """Create, upload, poll, review, confirm, poll; what happened goes to the tally."""
        created = self.call("POST", "/imports", "POST /imports", json={"data": {
            "fileFormat": "Tabular3column#v1", "fileName": f"{tag}.csv", "dateStyle": "bigEndian",
            "bankAccounts": [{"id": account}]}})
        if created is None or created.status_code != 201:
            return
        import_id, upload = created.json()["data"]["id"], created.json()["links"]["uploadPath"]
        with self.tally.lock:
            self.tally.imports[import_id] = {"account": account, "status": "awaitingFileUpload", "tag": tag}
        if not self.upload(upload, body):
            return
        settled = self.wait(import_id, SETTLED, deadline)
        if settled is None or settled["status"] != "awaitingConfirmation":
            self._note(import_id, settled)
            return
        amounts = self.reviewed_amounts(import_id)
        confirmed = self.call("POST", f"/imports/{import_id}/confirm", "POST confirm")
        if amounts is None or confirmed is None or confirmed.status_code != 204:
            self._note(import_id, settled)
            return
        with self.tally.lock:
            self.tally.expected[import_id] = amounts
        self._note(import_id, self.wait(import_id, FINAL, deadline))

    def _note(self, import_id: str, data: dict[str, Any] | None) -> None:
        if data is not None:
            with self.tally.lock:
                self.tally.imports[import_id].update(status=data["status"],
                                                     errorDetails=data.get("errorDetails") or [])


# --- the run --------------------------------------------------------------------------------------
class Stack:
    """`tximport local` in a child process, on free loopback ports."""

    def __init__(self, workdir: Path) -> None:
        self.ready = workdir / "ready.json"
        self.log = (workdir / "stack.log").open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("PORT", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tximport_cli.main", "local", "--port", "0", "--moto-port", "0", "--no-demo",
             "--confirmation-timeout", "3600", "--ready-file", str(self.ready)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"tximport local did not start (see {workdir / 'stack.log'})")
            time.sleep(0.2)
        self.info = json.loads(self.ready.read_text())
        host = urlsplit(self.info["baseUrl"]).hostname
        if host not in LOOPBACK or urlsplit(self.info["motoEndpoint"]).hostname not in LOOPBACK:
            self.stop()
            raise SystemExit(f"refusing to load anything but this machine (got {self.info['baseUrl']})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _clients(args: argparse.Namespace, base_url: str, token: str, accounts: list[str], tally: Tally) -> float:
    """Run the clients; answers the seconds they ran (the window plus the drain)."""
    started = time.monotonic()
    window_ends, drain_ends = started + args.seconds, started + args.seconds + args.drain
    budget = threading.Semaphore(args.max_imports)

    def run(n: int) -> None:
        rng = random.Random(args.seed * 1000 + n)
        client = Client(base_url, token, tally)
        previous: bytes | None = None
        while time.monotonic() < window_ends and budget.acquire(blocking=False):
            tag = f"c{n}-{uuid.uuid4().hex[:8]}"
            if rng.random() < args.fuzz:
                kind, body = fuzzed(rng, tag, previous)
                with tally.lock:
                    tally.fuzzed[kind] += 1
            else:
                body = statement(rng, tag)
                previous = body
            with tally.lock:
                tally.started += 1
            client.one_import(rng.choice(accounts), body, tag, drain_ends)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, drain_ends + 30 - time.monotonic()))
    return time.monotonic() - started


def _settle(base_url: str, token: str, tally: Tally, deadline: float) -> None:
    """Poll every import not known to be final until it is, or the drain is over."""
    client = Client(base_url, token, tally)
    while time.monotonic() < deadline:
        open_ids = [i for i, d in tally.imports.items() if d["status"] not in FINAL]
        if not open_ids:
            return
        for import_id in open_ids:
            client._note(import_id, client.status(import_id))
        time.sleep(1)


def _ledger(client: Client, account: str) -> list[Decimal]:
    amounts: list[Decimal] = []
    params: dict[str, Any] = {"pageSize": 1000}
    while True:
        answer = client.call("GET", f"/bankaccounts/{account}/transactions", "GET ledger", params=params)
        if answer is None or answer.status_code != 200:
            raise SystemExit(f"cannot read the ledger of {account}")
        page = answer.json()
        amounts += [Decimal(t["amount"]) for t in page["data"]]
        nxt = (page.get("links") or {}).get("next")
        if not nxt:
            return amounts
        params = {"pageSize": 1000, "cursor": nxt.split("cursor=", 1)[1]}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(args: argparse.Namespace, tally: Tally, accounts: list[str], client: Client, seconds: float) -> bool:
    by_status = Counter(d["status"] for d in tally.imports.values())
    stuck = {i: d["status"] for i, d in tally.imports.items() if d["status"] not in FINAL}
    errors_without_cause = [i for i, d in tally.imports.items() if d["status"] == "error" and not d.get("errorDetails")]
    total_requests = sum(tally.statuses.values())
    five = sum(n for s, n in tally.statuses.items() if s >= 500)
    print(f"make load: {args.clients} clients for {args.seconds} s (+ drain) on {len(accounts)} accounts, "
          f"{client.base_url}, {seconds:.0f} s in all")
    print(f"imports: {tally.started} started ({sum(tally.fuzzed.values())} fuzzed: "
          + ", ".join(f"{k} {v}" for k, v in sorted(tally.fuzzed.items())) + ")")
    print("  ended: " + ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
          + f"; stuck {len(stuck)}; errors without errorDetails {len(errors_without_cause)}")
    print(f"requests: {total_requests} ({total_requests / max(seconds, 1):.0f}/s); 5xx {five}; "
          f"4xx {sum(tally.client_errors.values())} " + json.dumps(dict(tally.client_errors))
          + f"; timeouts and connection errors {len(tally.failures)}")
    print(f"latency (API requests): p50 {_percentile(tally.latencies, 0.50):.0f} ms, "
          f"p90 {_percentile(tally.latencies, 0.90):.0f} ms, p99 {_percentile(tally.latencies, 0.99):.0f} ms, "
          f"max {_percentile(tally.latencies, 1.0):.0f} ms; uploads p50 {_percentile(tally.upload_latencies, 0.5):.0f} "
          f"ms, p99 {_percentile(tally.upload_latencies, 0.99):.0f} ms")
    expected: dict[str, list[Decimal]] = defaultdict(list)
    for import_id, amounts in tally.expected.items():
        if tally.imports[import_id]["status"] == "complete":
            expected[tally.imports[import_id]["account"]] += amounts
    matches = True
    lines = total = want_lines = want_total = 0
    for account in accounts:
        got = _ledger(client, account)
        want = expected[account]
        lines, total = lines + len(got), total + sum(got, Decimal(0))
        want_lines, want_total = want_lines + len(want), want_total + sum(want, Decimal(0))
        if sorted(got) != sorted(want):
            matches = False
            print(f"  ledger of {account}: {len(got)} lines, {sum(got, Decimal(0))}; the completed imports' "
                  f"reviews: {len(want)} lines, {sum(want, Decimal(0))}")
    print(f"ledger: {lines} lines totalling {total}; completed files: {want_lines} lines totalling {want_total}: "
          + ("equal" if matches else "DIFFERENT"))
    for problem in (tally.server_errors + tally.failures)[:10]:
        print(f"  {problem}")
    for import_id, status in list(stuck.items())[:10]:
        print(f"  stuck: {import_id} {status}")
    return five == 0 and not stuck and not tally.failures and matches and not errors_without_cause


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--fuzz", type=float, default=0.2, help="the share of fuzzed files (default 0.2)")
    parser.add_argument("--drain", type=float, default=240, help="the most seconds to finish imports after the window")
    parser.add_argument("--max-imports", type=int, default=5000, help="the most imports started")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tximport-load-") as tmp:
        stack = Stack(Path(tmp))
        try:
            from tximport_cli.local.tokens import dev_token

            token = dev_token(f"load-{uuid.uuid4().hex[:8]}", "load-co")
            setup = Client(stack.info["baseUrl"], token, Tally())
            accounts = []
            for n in range(args.accounts):
                answer = setup.call("POST", "/bankaccounts", "setup", json={"data": {
                    "bankId": "load-bank", "countryCode": "GBR", "accountIdentifier": f"LOAD{n:04d}"}})
                if answer is None or answer.status_code != 201:
                    raise SystemExit(f"cannot create the accounts: {answer.text if answer is not None else ''}")
                accounts.append(answer.json()["data"]["id"])
            tally = Tally()
            seconds = _clients(args, stack.info["baseUrl"], token, accounts, tally)
            _settle(stack.info["baseUrl"], token, tally, time.monotonic() + 30)
            ok = _report(args, tally, accounts, Client(stack.info["baseUrl"], token, Tally()), seconds)
        finally:
            with contextlib.suppress(Exception):
                stack.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
