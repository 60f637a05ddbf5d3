"""Errors of the reconciliation dialect: `{"code", "message", "statusCode", "details"}` on the wire (see
api/routes/reconciliations.py). Services raise these; the API turns them into answers once."""

from __future__ import annotations

from typing import Any


class ReconciliationError(Exception):
    """Base: a 4xx answer in the reconciliation dialect."""

    status_code = 400
    code = "VALIDATION"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "statusCode": self.status_code,
                "details": self.details}


class Invalid(ReconciliationError):
    """400: a field is missing or malformed (`details.field` names it)."""

    status_code, code = 400, "VALIDATION"

    def __init__(self, message: str, field: str, **details: Any) -> None:
        super().__init__(message, details={"field": field, **details})


class Unauthenticated(ReconciliationError):
    status_code, code = 401, "UNAUTHORIZED"


class Forbidden(ReconciliationError):
    status_code, code = 403, "FORBIDDEN"


class Missing(ReconciliationError):
    status_code, code = 404, "NOT_FOUND"


class Clash(ReconciliationError):
    status_code, code = 409, "CONFLICT"


class Unprocessable(ReconciliationError):
    status_code, code = 422, "UNPROCESSABLE"
