"""The HTTP client of the `tximport` commands: every call to the API goes through `ApiClient`.

Errors become `ApiError` with a message a person can act on (connection refused, 401, the error
envelope's code, message and target) and the exit code the command should end with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from json import loads
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlparse

import requests

from tximport_cli.exitcodes import ExitCode
from tximport_cli.output import json_text

DEFAULT_API_URL = "http://127.0.0.1:3000"
API_URL_ENV = "TXIMPORT_API_URL"
TOKEN_ENV = "TXIMPORT_TOKEN"
#: how much of a file `--format auto` sends to POST /fileformats/detect
DETECT_BYTES = 64 * 1024
UPLOAD_CHUNK = 256 * 1024


class ApiError(Exception):
    """A call failed; `exit_code` is what the command exits with."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.ERROR, status: int | None = None,
                 code: str | None = None, target: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.status = message, exit_code, status
        self.code, self.target, self.body = code, target, body

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message, "target": self.target}


def resolve_token(api_url: str, token: str | None) -> str | None:
    """`--token`, else $TXIMPORT_TOKEN, else (only for a local stack on this machine, whatever its port) a
    dev token for the demo tenant demo-org/demo-co, signed with the local dev secret."""
    token = token or os.environ.get(TOKEN_ENV)
    if token:
        return token
    if urlparse(api_url).hostname in ("127.0.0.1", "localhost", "::1"):
        from tximport_cli.local.stack import DEMO_COMPANY, DEMO_ORGANISATION, DEMO_PERMISSIONS, DEMO_SCOPES
        from tximport_cli.local.tokens import dev_token

        return dev_token(DEMO_ORGANISATION, DEMO_COMPANY, permissions=DEMO_PERMISSIONS, scopes=DEMO_SCOPES)
    return None


class _Progress:
    """A file read in chunks for `requests` (which then sends Content-Length, as S3 needs), reporting
    each chunk: the file is streamed, never read whole."""

    def __init__(self, handle: IO[bytes], size: int, on_chunk: Callable[[int], None]) -> None:
        self._handle, self._size, self._on_chunk = handle, size, on_chunk

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        chunk = self._handle.read(UPLOAD_CHUNK if n is None or n < 0 else min(n, UPLOAD_CHUNK))
        if chunk:
            self._on_chunk(len(chunk))
        return chunk

    def __iter__(self) -> Iterator[bytes]:  # requests iterates bodies that have no fileno
        while chunk := self.read(UPLOAD_CHUNK):
            yield chunk


@dataclass
class ApiClient:
    base_url: str
    token: str | None
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)

    # --- plumbing ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                auth: bool = True) -> Any:
        """Call the API; answers the decoded JSON body (None for 204). Raises ApiError."""
        headers = {"Accept": "application/json"}
        data = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            data = json_text(json).encode()
        if auth:
            if not self.token:
                raise ApiError(f"no token for {self.base_url}: pass --token or set {TOKEN_ENV}")
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.base_url.rstrip('/')}{path}"
        try:
            response = self.session.request(method, url, data=data, params=params, headers=headers,
                                            timeout=self.timeout)
        except requests.ConnectionError:
            raise ApiError(f"cannot connect to {self.base_url} (connection refused): is `make run` running? "
                           f"Point elsewhere with --api-url or {API_URL_ENV}.",
                           exit_code=ExitCode.UNREACHABLE) from None
        except requests.Timeout:
            raise ApiError(f"{method} {path}: no answer within {self.timeout:.0f}s",
                           exit_code=ExitCode.UNREACHABLE) from None
        return self._answer(method, path, response)

    @staticmethod
    def _answer(method: str, path: str, response: requests.Response) -> Any:
        if (response.status_code == 204 or not response.content) and response.ok:
            return None
        try:
            body = loads(response.text, parse_float=Decimal)  # amounts exact, never through a float
        except ValueError:
            body = None
        if response.ok:
            return body if body is not None else response.text
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and "statusCode" in body and "code" in body:
            # the reconciliation dialect: {"code", "message", "statusCode", "details": {"field"}}
            error = {"code": body["code"], "message": body.get("message"),
                     "target": (body.get("details") or {}).get("field")}
        if not isinstance(error, dict):
            error = {"message": (body or {}).get("message") if isinstance(body, dict) else response.text[:300]}
        code, message, target = error.get("code"), error.get("message") or response.reason, error.get("target")
        if response.status_code == 401:
            hint = ("the token was refused (missing, expired or signed with another secret): pass --token or "
                    f"set {TOKEN_ENV}")
            raise ApiError(f"401 {code or 'Unauthorized'}: {message} ({hint})", status=401, code=code,
                           target=target, body=body)
        text = f"{response.status_code} {code or response.reason}: {message}"
        if target:
            text += f" (target: {target})"
        raise ApiError(text, status=response.status_code, code=code, target=target, body=body)

    # --- resources --------------------------------------------------------------------------------
    def formats(self) -> list[dict[str, Any]]:
        return self.request("GET", "/fileformats", auth=False)["data"]

    def detect(self, path: Path) -> dict[str, Any]:
        import base64

        with path.open("rb") as handle:
            head = handle.read(DETECT_BYTES)
        body = {"data": {"content": base64.b64encode(head).decode("ascii"), "fileName": path.name}}
        return self.request("POST", "/fileformats/detect", json=body)["data"]

    def paged(self, path: str, params: dict[str, Any] | None = None, limit: int | None = None
              ) -> list[dict[str, Any]]:
        """Every item of a paged list (up to `limit`), following links.next."""
        out: list[dict[str, Any]] = []
        params = dict(params or {})
        while True:
            page = self.request("GET", path, params=params)
            out.extend(page.get("data") or [])
            nxt = (page.get("links") or {}).get("next")
            if not nxt or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            params["cursor"] = nxt.split("cursor=", 1)[1]

    def accounts(self) -> list[dict[str, Any]]:
        return self.paged("/bankaccounts", {"pageSize": 1000})

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/bankaccounts", json={"data": body})["data"]

    def resolve_account(self, ref: str) -> dict[str, Any]:
        """An account by its id or its accountIdentifier (IBAN, account number)."""
        accounts = self.accounts()
        for account in accounts:
            if ref == account["id"]:
                return account
        squeezed = ref.replace(" ", "").upper()
        found = [a for a in accounts if a.get("accountIdentifier", "").replace(" ", "").upper() == squeezed]
        if len(found) == 1:
            return found[0]
        known = ", ".join(f"{a['id']} ({a.get('accountIdentifier')})" for a in accounts) or "none"
        if found:
            raise ApiError(f"account {ref!r}: several accounts have that identifier; name one by its id: {known}.")
        raise ApiError(f"account {ref!r}: no account has that id or identifier; accounts: {known}. "
                       "Create one with `tximport accounts create`.")

    def ledger(self, account_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.paged(f"/bankaccounts/{quote(account_id, safe='')}/transactions", {"pageSize": 1000}, limit)

    def imports(self, limit: int | None = None, status: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"pageSize": 200}
        if status:
            params["status"] = status
        return self.paged("/imports", params, limit)

    def create_import(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/imports", json={"data": body})

    def get_import(self, import_id: str, report: bool = True) -> dict[str, Any]:
        return self.request("GET", f"/imports/{quote(import_id, safe='')}",
                            params={"include": "report"} if report else None)["data"]

    def error_details(self, import_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.paged(f"/imports/{quote(import_id, safe='')}/errordetails", {"pageSize": 1000}, limit)

    def review(self, import_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.paged(f"/imports/{quote(import_id, safe='')}/reviewtransactions", {"pageSize": 1000}, limit)

    def name_accounts(self, import_id: str, accounts: list[dict[str, Any]]) -> None:
        """Continue an account discovery: the import goes on for these accounts (ids, or identifiers with
        their country), from the file already uploaded."""
        self.request("POST", f"/imports/{quote(import_id, safe='')}/amendtransactions",
                     json={"data": {"bankAccounts": accounts}})

    def confirm(self, import_id: str) -> None:
        self.request("POST", f"/imports/{quote(import_id, safe='')}/confirm")

    def delete(self, import_id: str) -> None:
        self.request("DELETE", f"/imports/{quote(import_id, safe='')}")

    def revert(self, import_id: str) -> None:
        self.request("POST", f"/imports/{quote(import_id, safe='')}/revert")

    def upload(self, url: str, path: Path, on_chunk: Callable[[int], None]) -> None:
        """PUT the file to the presigned URL, streamed in chunks."""
        size = path.stat().st_size
        try:
            with path.open("rb") as handle:
                response = self.session.put(url, data=_Progress(handle, size, on_chunk),
                                            headers={"Content-Length": str(size)}, timeout=max(self.timeout, 300))
        except requests.ConnectionError:
            raise ApiError(f"cannot connect to the upload URL {url.split('?')[0]}",
                           exit_code=ExitCode.UNREACHABLE) from None
        if not response.ok:
            raise ApiError(f"upload refused: {response.status_code} {response.text[:300]}",
                           status=response.status_code)
