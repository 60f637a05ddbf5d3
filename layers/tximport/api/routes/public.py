"""`/api/public/v1/transactions`: post transactions as JSON, deduplicated into the ledger."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from tximport import commands
from tximport.api import schemas
from tximport.api.access import TRANSACTIONS_CREATE
from tximport.api.context import require_scope, tenant_of
from tximport.api.envelope import answer
from tximport.api.idempotency import IdempotencyKey, answer_once
from tximport.api.models import PublicTransactionIn
from tximport.api.views import ingest_view
from tximport.runtime import container
from tximport.services.public import MAX_TRANSACTIONS, RejectedTransaction

router = Router()

#: the document's item, as the OpenAPI document shows it (each item is checked on its own: a bad one is
#: counted in errorTransactions, the others are written)
_ITEM_SCHEMA = PublicTransactionIn.model_json_schema(by_alias=True)
_ITEM_SCHEMA.pop("title", None)


class PublicTransactions(BaseModel):
    """1 to 1,000 transactions; each is checked on its own (a bad one is counted, not fatal). Nothing else
    goes beside them: a field 001 does not have is refused, as one inside a transaction is."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[Annotated[Any, WithJsonSchema(_ITEM_SCHEMA)]] = Field(
        min_length=1, max_length=MAX_TRANSACTIONS,
        examples=[[{"accountIdentifier": "GB33BUKB20201555555555", "transactionId": "tx-1", "text": "Coffee",
                    "creditDebit": "debit", "amount": "3.50", "currency": "GBP", "valutaAt": "2024-03-01"}]])


#: the error code of a field whose value is refused for a reason pydantic names generically
_FIELD_CODES = {"amount": "InvalidAmount", "originalAmount": "InvalidAmount", "currency": "InvalidCurrency",
                "originalCurrency": "InvalidCurrency", "valutaAt": "InvalidDate", "bookedAt": "InvalidDate",
                "purchasedAt": "InvalidDate"}
_OUR_CODES = frozenset({"InvalidAmount", "InvalidCurrency", "InvalidDate", "InvalidValue", "RequiredValueMissing"})


def _rejection(index: int, exc: ValidationError) -> RejectedTransaction:
    error = exc.errors()[0]
    loc = [str(p) for p in error.get("loc", ())]
    name = loc[0] if loc else ""
    field = {"account_identifier": "accountIdentifier"}.get(name, name)
    kind = str(error.get("type", ""))
    if kind == "missing" or (error.get("input", "") is None and kind.endswith("_type")):
        code = "RequiredValueMissing"
    elif kind == "extra_forbidden":
        code = "UnknownField"
    elif kind in _OUR_CODES:
        code = kind
    else:
        code = _FIELD_CODES.get(field, "InvalidValue")
    message = f"{field}: {error.get('msg', 'invalid')}" if field else str(error.get("msg", "invalid"))
    return RejectedTransaction(index, code, message, f"$.transactions[{index}]" + (f".{field}" if field else ""))


def _read(items: list[Any]) -> tuple[list[tuple[int, commands.PostedTransaction]], list[RejectedTransaction]]:
    """Each posted item as a checked transaction, or the reason it is refused."""
    posted: list[tuple[int, commands.PostedTransaction]] = []
    rejected: list[RejectedTransaction] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append(RejectedTransaction(index, "InvalidValue", "a transaction must be an object",
                                                f"$.transactions[{index}]"))
            continue
        try:
            posted.append((index, PublicTransactionIn.model_validate(item).to_command()))
        except ValidationError as exc:
            rejected.append(_rejection(index, exc))
    return posted, rejected


@router.post("/api/public/v1/transactions", summary="Import transactions posted as JSON", tags=["Public"],
             description="Needs a token with the scope `api:transactions:create` (else 403 InsufficientScope). "
                         "Deduplicated by accountIdentifier + transactionId whatever the dates: a resend counts as "
                         "existing and updates the stored line's valueDate, datePosted and purchaseDate when they "
                         "changed. An accountIdentifier the tenant has no bank account for creates a placeholder "
                         "account (unless the tenant's autoCreateAccounts setting is off). Answers the counts of "
                         "existing, new and rejected transactions, and per transaction what happened. With an "
                         "Idempotency-Key a retry answers the first answer again and writes nothing.",
             responses=schemas.idempotent(schemas.ok(schemas.PublicResultOut,
                                                     "Counts of existing, new and rejected transactions",
                                                     201, None, 400, 401, 403, 429)))
def post_transactions(body: PublicTransactions,
                      idempotency_key: IdempotencyKey = None) -> Response[schemas.PublicResultOut]:
    tenant = tenant_of(router)
    require_scope(router, TRANSACTIONS_CREATE)  # resolve() refused a token without it already

    def ingest() -> Response[schemas.PublicResultOut]:
        posted, rejected = _read(body.transactions)
        result = container().public.ingest(tenant, posted, rejected)
        return answer(ingest_view(result), status=201)

    return answer_once(router, "POST /api/public/v1/transactions", idempotency_key, body, ingest)
