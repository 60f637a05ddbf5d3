"""Typed domain errors. Handlers map them to HTTP once; the workflow maps them to errorDetails."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the API turns into a 4xx answer."""

    status_code = 400
    code = "BadRequest"

    def __init__(self, message: str, *, code: str | None = None, target: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.target = target
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    status_code = 400
    code = "ValidationError"


class Unauthorized(DomainError):
    status_code = 401
    code = "Unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "Forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "NotFound"


class Conflict(DomainError):
    status_code = 409
    code = "Conflict"


class TooManyRequests(DomainError):
    status_code = 429
    code = "TooManyRequests"


class Unavailable(DomainError):
    """A service the call depends on did not answer; nothing was lost and calling again is safe."""

    status_code = 503
    code = "ServiceUnavailable"


class TransientError(Exception):
    """A step may succeed if run again (throughput exceeded, a concurrent update of the import): the
    state machine retries the task that raised it (its Retry names `TransientError`)."""
