"""`/bankaccounts`: placeholder bank accounts and their ledgers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import envelope
from tximport.api.idempotency import IdempotencyKey, answer_once
from tximport.api.models import CreateBankAccountRequest, PathId
from tximport.api.pages import pages
from tximport.api.views import account_view, balance_view, ledger_row
from tximport.runtime import container

router = Router()


@router.post("/bankaccounts", summary="Create a placeholder bank account", tags=["Bank accounts"],
             responses=schemas.idempotent(schemas.ok(schemas.BankAccountEnvelope, "The account",
                                                     201, None, 400, 401, 409, 429)))
def create_account(body: CreateBankAccountRequest,
                   idempotency_key: IdempotencyKey = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)

    def create() -> Response[dict[str, Any]]:
        account = container().account_service.create(tenant, body.data.to_command())
        return envelope(account_view(account), status=201, links={"self": f"/bankaccounts/{account.id}"})

    return answer_once(router, "POST /bankaccounts", idempotency_key, body, create)


@router.get("/bankaccounts", summary="List bank accounts", tags=["Bank accounts"],
            responses=schemas.ok(schemas.BankAccountsEnvelope, "A page of accounts", 200, None, 400, 401, 429))
def list_accounts(pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
                  cursor: Annotated[str | None, Query()] = None) -> Response[dict[str, Any]]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "bankaccounts")
    accounts, nxt = container().account_service.list_page(tenant, limit=pageSize, cursor=cursors.open(cursor))
    nxt = cursors.seal(nxt)
    links = {"next": f"/bankaccounts?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return envelope([account_view(a) for a in accounts], links=links, meta={"count": len(accounts)})


@router.get("/bankaccounts/<account_id>", summary="Get a bank account", tags=["Bank accounts"],
            responses=schemas.ok(schemas.BankAccountEnvelope, "The account", 200, None, 400, 401, 404, 429))
def get_account(account_id: PathId) -> Response[dict[str, Any]]:
    account = container().account_service.get(tenant_of(router), account_id)
    return envelope(account_view(account))


@router.get("/bankaccounts/<account_id>/transactions", summary="The ledger of an account",
            tags=["Bank accounts"],
            description="Confirmed transactions, newest first, paginated. `?include=balance` adds each line's "
                        "`runningBalance` (the account's balance after it) and `meta.balance`, the account's "
                        "current balance anchored on its last confirmed statement.",
            responses=schemas.ok(schemas.LedgerEnvelope, "A page of the ledger", 200, None, 400, 401, 404, 429))
def ledger(account_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
           cursor: Annotated[str | None, Query()] = None,
           include: Annotated[Literal["balance"] | None, Query()] = None) -> Response[dict[str, Any]]:
    queries = container().ledger_queries
    tenant = tenant_of(router)
    cursors = pages(tenant, "ledger", account_id)
    opened = cursors.open(cursor)
    if include == "balance":
        page = queries.page_with_balances(tenant, account_id, limit=pageSize, cursor=opened)
        lines, nxt = page.lines, page.next_cursor
        rows = [{**ledger_row(line), "runningBalance": format(balance, "f")}
                for line, balance in zip(lines, page.running or [], strict=True)]
        meta: dict[str, Any] = {"count": len(lines)}
        if page.balance:
            meta["balance"] = balance_view(page.balance)
    else:
        lines, nxt = queries.page(tenant, account_id, limit=pageSize, cursor=opened)
        rows, meta = [ledger_row(line) for line in lines], {"count": len(lines)}
    nxt = cursors.seal(nxt)
    suffix = "&include=balance" if include else ""
    links = ({"next": f"/bankaccounts/{account_id}/transactions?pageSize={pageSize}&cursor={nxt}{suffix}"}
             if nxt else {})
    return envelope(rows, links=links, meta=meta)
