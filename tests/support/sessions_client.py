"""A client of the import-sessions dialect, as a client of the document sees it: JSON numbers read as
exact decimals, the X-Workspace-ID header on every call."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from tests.support import conformance
from tests.support.client import Api, poll


@dataclass
class SessionsClient:
    base_url: str
    token: str
    admin_token: str
    workspace_id: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, *, json_body: Any = None, admin: bool = False, workspace: str | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        sent = {"Authorization": f"Bearer {self.admin_token if admin else self.token}"}
        if workspace is not None or self.workspace_id:
            sent["X-Workspace-ID"] = self.workspace_id if workspace is None else workspace
        if json_body is not None:
            sent["Content-Type"] = "application/json"
            kwargs["data"] = json.dumps(json_body, default=str)
        answer = self.session.request(method, f"{self.base_url}{path}", headers={**sent, **(headers or {})},
                                      timeout=60, **kwargs)
        conformance.check(method, path, answer.status_code, answer.text)  # our schema and the documents'
        return answer

    def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text[:1500]}"
        return json.loads(answer.text, parse_float=Decimal) if answer.content else None

    def error(self, method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text[:1500]}"
        body = answer.json()
        assert set(body) >= {"error", "code"} and isinstance(body["error"], str), body
        return body

    # conveniences --------------------------------------------------------------------------------
    def new_workspace(self, name: str = "Casa") -> str:
        self.workspace_id = ""
        self.workspace_id = self.ok("POST", "/workspaces", 201, json_body={"name": name})["id"]
        return self.workspace_id

    def bank_account(self, name: str = "Conta Corrente", identifier: str | None = None,
                     currency: str | None = None) -> str:
        body = {"data": {"bankId": "b", "countryCode": "BRA", "accountIdentifier": identifier or uuid.uuid4().hex[:10],
                         "name": name, **({"currency": currency} if currency else {})}}
        return self.ok("POST", "/bankaccounts", 201, json_body=body)["data"]["id"]

    def category(self, name: str, kind: str = "EXPENSE") -> str:
        return self.ok("POST", "/categories", 201, json_body={"name": name, "type": kind})["id"]

    def card(self, name: str = "Visa Gold") -> str:
        return self.ok("POST", "/cards", 201, json_body={"name": name, "closing_date": 25, "due_date": 5})["id"]

    def create_session(self, **body: Any) -> dict[str, Any]:
        return self.ok("POST", "/import-sessions", 201, json_body=body)

    def stage(self, session_id: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.ok("POST", f"/import-sessions/{session_id}/staged-transactions", 201, json_body=lines)

    def get_session(self, session_id: str, **params: Any) -> dict[str, Any]:
        return self.ok("GET", f"/import-sessions/{session_id}", params=params)

    def upload(self, session_id: str, name: str, content: bytes, **fields: str) -> requests.Response:
        return self.call("POST", f"/import-sessions/{session_id}/upload", files={"file": (name, content)},
                         data=fields)

    def wait_enriched(self, session_id: str, timeout: float = 120) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            found = self.get_session(session_id, page_size=1)
            return found if found.get("enrichment", {}).get("status") not in ("PROCESSING", None) else None

        return poll(done, timeout=timeout, interval=0.3, what=f"session {session_id} to finish enriching")


def tenant_client(stack: Any) -> SessionsClient:
    """A fresh tenant with one workspace (`core`: its client of the file-import routes)."""
    org, company = f"org-{uuid.uuid4().hex[:8]}", f"co-{uuid.uuid4().hex[:8]}"
    c = SessionsClient(stack.base_url, stack.token_for(org, company), stack.token_for(org, company, roles=["admin"]))
    c.new_workspace()
    c.core = Api(stack.base_url, c.token, org, company)  # type: ignore[attr-defined]
    return c
