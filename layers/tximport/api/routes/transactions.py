"""`/transactions`: the tenant's ledger across its bank accounts (the document's "normal GET
/transactions" once an import is complete)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import answer
from tximport.api.pages import pages
from tximport.api.views import ledger_row
from tximport.ids import SAFE_ID_PATTERN
from tximport.runtime import container

router = Router()


@router.get("/transactions", summary="The tenant's ledger", tags=["Transactions"],
            description="Confirmed transactions of every bank account of the tenant (or of `bankAccountId`), "
                        "newest day first, between `dateFrom` and `dateTo` (posting days, inclusive), only those "
                        "`importId` wrote when given (`public-api` for the public endpoint's). Paged with "
                        "links.next, which keeps the filters. Reads the accounts' day indexes, never a scan.",
            responses=schemas.ok(schemas.LedgerEnvelope, "A page of the ledger", 200, None, 400, 401, 404, 429))
def transactions(bankAccountId: Annotated[str | None, Query(pattern=SAFE_ID_PATTERN)] = None,  # noqa: N803
                 dateFrom: Annotated[date | None, Query()] = None,  # noqa: N803
                 dateTo: Annotated[date | None, Query()] = None,  # noqa: N803
                 importId: Annotated[str | None, Query(pattern=SAFE_ID_PATTERN)] = None,  # noqa: N803
                 pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
                 cursor: Annotated[str | None, Query()] = None) -> Response[schemas.LedgerEnvelope]:
    tenant = tenant_of(router)
    filters = {"bankAccountId": bankAccountId, "dateFrom": dateFrom.isoformat() if dateFrom else None,
               "dateTo": dateTo.isoformat() if dateTo else None, "importId": importId}
    # a cursor is good for exactly these filters
    cursors = pages(tenant, "transactions", *(v or "" for v in filters.values()))
    lines, nxt = container().ledger_queries.search(
        tenant, account_id=bankAccountId, start=dateFrom, end=dateTo, import_id=importId,
        limit=pageSize, cursor=cursors.open(cursor))
    nxt = cursors.seal(nxt)
    query = {k: v for k, v in filters.items() if v is not None}
    links = {"next": "/transactions?" + urlencode({**query, "pageSize": pageSize, "cursor": nxt})} if nxt else {}
    return answer(schemas.LedgerEnvelope(data=[ledger_row(line) for line in lines], links=links,
                                         meta=schemas.LedgerMeta(count=len(lines))))
