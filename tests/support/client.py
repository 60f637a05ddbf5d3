"""A small HTTP client for the service as a client sees it, and polling with timeouts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

TERMINAL = {"awaitingConfirmation", "complete", "error", "deleted"}


def poll(check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Call `check` until it answers something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


@dataclass
class Api:
    """Calls the API as one tenant (a fresh tenant per test keeps tests apart)."""

    base_url: str
    token: str
    organisation_id: str = ""
    company_id: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
             token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.session.request(method, f"{self.base_url}{path}", json=json, params=params,
                                    headers=headers, timeout=30)

    def ok(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    # conveniences -------------------------------------------------------------------------------
    def create_account(self, identifier: str | None = None, **extra: Any) -> str:
        body = {"bankId": "test-bank", "countryCode": "GBR",
                "accountIdentifier": identifier or uuid.uuid4().hex[:12], **extra}
        return self.ok("POST", "/bankaccounts", json={"data": body}, expect=201)["data"]["id"]

    def create_import(self, account_ids: list[str] | str | None, *, file_format: str = "Tabular3column#v1",
                      **extra: Any) -> tuple[str, str]:
        if isinstance(account_ids, str):
            account_ids = [account_ids]
        body: dict[str, Any] = {"fileFormat": file_format, "fileName": "statement", **extra}
        body.setdefault("dateStyle", "bigEndian") if file_format.startswith(("Tabular", "CSV")) else None
        if account_ids is not None:
            body["bankAccounts"] = [{"id": a} for a in account_ids]
        answer = self.ok("POST", "/imports", json={"data": body}, expect=201)
        return answer["data"]["id"], answer["links"]["uploadPath"]

    def upload(self, upload_path: str, content: bytes) -> None:
        response = requests.put(upload_path, data=content, timeout=30)
        assert response.status_code == 200, response.text

    def get_import(self, import_id: str, *, report: bool = True) -> dict[str, Any]:
        params = {"include": "report"} if report else None
        return self.ok("GET", f"/imports/{import_id}", params=params)["data"]

    # a busy 2-core machine running twenty imports at once needs more than half a minute
    def wait(self, import_id: str, *statuses: str, timeout: float = 120.0) -> dict[str, Any]:
        wanted = set(statuses) or TERMINAL
        return poll(lambda: (d := self.get_import(import_id)) and d["status"] in wanted and d,
                    timeout=timeout, what=f"import {import_id} to reach {sorted(wanted)}")

    def import_file(self, account_ids: list[str] | str | None, content: bytes, *,
                    wait_for: tuple[str, ...] = ("awaitingConfirmation", "error", "complete"),
                    **extra: Any) -> dict[str, Any]:
        import_id, upload_path = self.create_import(account_ids, **extra)
        self.upload(upload_path, content)
        return self.wait(import_id, *wait_for)

    def review(self, import_id: str, page_size: int = 1000) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"pageSize": page_size}
        while True:
            page = self.ok("GET", f"/imports/{import_id}/reviewtransactions", params=params)
            rows.extend(page["data"])
            nxt = (page.get("links") or {}).get("next")
            if not nxt:
                return rows
            params = {"pageSize": page_size, "cursor": nxt.split("cursor=")[1]}

    def ledger(self, account_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"pageSize": 1000}
        while True:
            page = self.ok("GET", f"/bankaccounts/{account_id}/transactions", params=params)
            rows.extend(page["data"])
            nxt = (page.get("links") or {}).get("next")
            if not nxt:
                return rows
            params = {"pageSize": 1000, "cursor": nxt.split("cursor=")[1]}

    def confirm_and_complete(self, import_id: str) -> dict[str, Any]:
        self.ok("POST", f"/imports/{import_id}/confirm", expect=204)
        return self.wait(import_id, "complete", "error")
