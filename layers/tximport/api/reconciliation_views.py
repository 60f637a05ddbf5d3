"""How the reconciliation dialect shows things: JSON:API resources, pages, errors; amounts as exact JSON
numbers (Decimal written as its text with at least two decimals: `23000.00`, never through float)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from tximport import exactjson, money
from tximport.api.reconciliation_models import PREFIX
from tximport.reconciliation.errors import ReconciliationError
from tximport.reconciliation.ids import entry_id, statement_id
from tximport.reconciliation.models import Reconciliation
from tximport.reconciliation.records import EntryRecord


def in_currency(value: Decimal | None, currency: str | None) -> Decimal | None:
    """An amount with its currency's decimals (`1500` JPY, `23000.00` BRL, `0.125` BHD; two for no currency):
    amounts are whole minor units, so nothing is rounded."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-money.exponent(currency)))


def dumps(body: Any) -> str:
    """JSON with every Decimal written as an exact number (amounts are given their currency's decimals first)."""
    return exactjson.dumps(body)


def answer(body: Any, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=dumps(body))


def error_answer(exc: ReconciliationError) -> Response[str]:
    return answer(exc.body(), exc.status_code)


def timestamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def self_link(rec_id: str) -> str:
    return f"{PREFIX}/{rec_id}"


def reconciliation_resource(rec: Reconciliation) -> dict[str, Any]:
    c = rec.counts
    return {"type": "reconciliations", "id": rec.id, "links": {"self": self_link(rec.id)}, "attributes": {
        "accountId": rec.account_id, "status": rec.status.value, "periodStart": rec.period_start.isoformat(),
        "periodEnd": rec.period_end.isoformat(), "totalEntries": c.total_entries, "matchedEntries": c.matched_entries,
        "unmatchedEntries": c.unmatched_entries, "totalAmount": in_currency(c.total_amount, rec.currency),
        "matchedAmount": in_currency(c.matched_amount, rec.currency),
        "unmatchedAmount": in_currency(c.unmatched_amount, rec.currency), "source": rec.source.value,
        "failureReason": rec.failure_reason,
        "completedAt": timestamp(rec.completed), "createdAt": timestamp(rec.created),
        "updatedAt": timestamp(rec.updated),
        # our extensions, beside the documented attributes
        "manualEntries": c.manual_entries, "ambiguousEntries": c.ambiguous_entries,
        "suggestedEntries": c.suggested_entries, "currency": rec.currency,
        "matchingOptions": rec.options.model_dump(by_alias=True),  # amountTolerance: an exact number
    }}


def reconciliation_document(rec: Reconciliation) -> dict[str, Any]:
    return {"data": reconciliation_resource(rec), "links": {"self": self_link(rec.id)}}


def entry_resource(rec_id: str, r: EntryRecord) -> dict[str, Any]:
    match = None
    if r.line:
        match = {"rule": r.rule.value if r.rule else None, "score": r.score, "parts": r.parts,
                 "amountDelta": in_currency(r.amount_delta, r.currency), "dateDeltaDays": r.date_delta}
    runner_up = None
    if r.runner_up:
        runner_up = {"matchedStatementId": statement_id(r.runner_up.line), "transactionId": r.runner_up.line,
                     "score": r.runner_up.score, "regret": r.runner_up.regret, "reason": r.runner_up.reason}
    return {"type": "reconciliation-entries", "id": entry_id(rec_id, r.index), "attributes": {
        "type": r.type.value, "amount": in_currency(r.amount, r.currency), "description": r.description,
        "transactionDate": r.transaction_date.isoformat(), "matchStatus": r.status.value,
        "matchedStatementId": statement_id(r.line) if r.line else None, "externalRef": r.external_ref,
        # our extensions: the explanation
        "matchedTransactionId": r.line, "match": match, "runnerUp": runner_up, "ambiguous": r.ambiguous,
        "reason": r.reason,
        "suggestions": [{"matchedStatementId": statement_id(s.line), "transactionId": s.line, "score": s.score,
                         "parts": s.parts, "amountDelta": in_currency(s.amount_delta, r.currency),
                         "dateDeltaDays": s.date_delta}
                        for s in r.suggestions],
    }}


def page_of(data: list[dict[str, Any]], total: int, number: int, size: int, path: str,
            query: dict[str, str]) -> dict[str, Any]:
    """A JSON:API page: data, meta (as the document shows it, plus the has-pages flags) and links. A page past
    the end is empty, and its `prev` is the last page (the previous page that has data)."""
    pages = max(1, math.ceil(total / size))

    def link(n: int) -> str:
        params = {**query, "page[number]": str(n), "page[size]": str(size)}
        return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())

    return {"data": data,
            "meta": {"totalItems": total, "totalPages": pages, "currentPage": number, "itemsPerPage": size,
                     "hasNextPage": number < pages, "hasPreviousPage": number > 1},
            "links": {"self": link(number), "first": link(1),
                      "prev": link(min(number - 1, pages)) if number > 1 else None,
                      "next": link(number + 1) if number < pages else None, "last": link(pages)}}
