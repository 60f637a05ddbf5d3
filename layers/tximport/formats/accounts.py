"""Matching the account a file names to the bank accounts an import lists."""

from __future__ import annotations


def _normal(value: str) -> str:
    return "".join(value.split()).replace("-", "").upper()


def match_account(file_ref: str, accounts: list[tuple[str, str]], fuzzy: bool) -> str | None:
    """The id of the bank account whose identifier matches `file_ref` (exact after normalising)."""
    wanted = _normal(file_ref)
    for account_id, identifier in accounts:
        if _normal(identifier) == wanted:
            return account_id
    return None
