"""`/api/public/v1/transactions`: post transactions as JSON, deduplicated into the ledger."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.idempotency import IdempotencyKey, answer_once
from tximport.api.views import ingest_view
from tximport.runtime import container
from tximport.services.public import MAX_TRANSACTIONS

router = Router()


class PublicTransactions(BaseModel):
    """1 to 1,000 transactions; each is checked on its own (a bad one is counted, not fatal)."""

    transactions: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_TRANSACTIONS,
        examples=[[{"accountIdentifier": "GB33BUKB20201555555555", "transactionId": "tx-1", "text": "Coffee",
                    "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"}]])


@router.post("/api/public/v1/transactions", summary="Import transactions posted as JSON", tags=["Public"],
             description="Deduplicated by accountIdentifier + transactionId. Answers the counts of existing, new "
                         "and rejected transactions, with the reason for each rejected one. With an Idempotency-Key a "
                         "retry answers the first counts again and writes nothing.",
             responses=schemas.idempotent(schemas.ok(schemas.PublicResultOut,
                                                     "Counts of existing, new and rejected transactions",
                                                     201, None, 400, 401, 429)))
def post_transactions(body: PublicTransactions,
                      idempotency_key: IdempotencyKey = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)

    def ingest() -> Response[dict[str, Any]]:
        result = container().public.ingest(tenant, body.transactions)
        return Response(status_code=201, content_type="application/json", body=ingest_view(result))

    return answer_once(router, "POST /api/public/v1/transactions", idempotency_key, body, ingest)
