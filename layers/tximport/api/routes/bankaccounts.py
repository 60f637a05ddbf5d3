"""`/bankaccounts`: placeholder bank accounts and their ledgers."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tximport.api import schemas
from tximport.api.context import tenant_of
from tximport.api.envelope import answer
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
                   idempotency_key: IdempotencyKey = None) -> Response[schemas.BankAccountEnvelope]:
    tenant = tenant_of(router)

    def create() -> Response[schemas.BankAccountEnvelope]:
        account = container().account_service.create(tenant, body.data.to_command())
        return answer(schemas.BankAccountEnvelope(data=account_view(account), meta=schemas.EmptyMeta(),
                                                  links={"self": f"/bankaccounts/{account.id}"}), status=201)

    return answer_once(router, "POST /bankaccounts", idempotency_key, body, create)


@router.get("/bankaccounts", summary="List bank accounts", tags=["Bank accounts"],
            responses=schemas.ok(schemas.BankAccountsEnvelope, "A page of accounts", 200, None, 400, 401, 429))
def list_accounts(pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
                  cursor: Annotated[str | None, Query()] = None) -> Response[schemas.BankAccountsEnvelope]:
    tenant = tenant_of(router)
    cursors = pages(tenant, "bankaccounts")
    accounts, nxt = container().account_service.list_page(tenant, limit=pageSize, cursor=cursors.open(cursor))
    nxt = cursors.seal(nxt)
    links = {"next": f"/bankaccounts?pageSize={pageSize}&cursor={nxt}"} if nxt else {}
    return answer(schemas.BankAccountsEnvelope(data=[account_view(a) for a in accounts], links=links,
                                               meta=schemas.CountMeta(count=len(accounts))))


@router.get("/bankaccounts/<account_id>", summary="Get a bank account", tags=["Bank accounts"],
            responses=schemas.ok(schemas.BankAccountEnvelope, "The account", 200, None, 400, 401, 404, 429))
def get_account(account_id: PathId) -> Response[schemas.BankAccountEnvelope]:
    account = container().account_service.get(tenant_of(router), account_id)
    return answer(schemas.BankAccountEnvelope(data=account_view(account), meta=schemas.EmptyMeta()))


@router.get("/bankaccounts/<account_id>/transactions", summary="The ledger of an account",
            tags=["Bank accounts"],
            description="Confirmed transactions, newest first, paginated. `?include=balance` adds each line's "
                        "`runningBalance` (the account's balance after it) and `meta.balance`, the account's "
                        "current balance anchored on its last confirmed statement.",
            responses=schemas.ok(schemas.LedgerEnvelope, "A page of the ledger", 200, None, 400, 401, 404, 429))
def ledger(account_id: PathId, pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,  # noqa: N803
           cursor: Annotated[str | None, Query()] = None,
           include: Annotated[Literal["balance"] | None, Query()] = None) -> Response[schemas.LedgerEnvelope]:
    queries = container().ledger_queries
    tenant = tenant_of(router)
    cursors = pages(tenant, "ledger", account_id)
    opened = cursors.open(cursor)
    if include == "balance":
        page = queries.page_with_balances(tenant, account_id, limit=pageSize, cursor=opened)
        lines, nxt = page.lines, page.next_cursor
        rows = [ledger_row(line, balance) for line, balance in zip(lines, page.running or [], strict=True)]
        # money in minor units of the account's currency, else its last statement's, else its lines'
        anchor = page.balance.statement if page.balance else None
        currency = (queries.accounts.get(tenant, account_id).currency or (anchor.currency if anchor else None)
                    or next((line.currency for line in lines if line.currency), None))
        meta = schemas.LedgerMeta(count=len(lines),
                                  balance=balance_view(page.balance, currency) if page.balance else None)
    else:
        lines, nxt = queries.page(tenant, account_id, limit=pageSize, cursor=opened)
        rows, meta = [ledger_row(line) for line in lines], schemas.LedgerMeta(count=len(lines))
    nxt = cursors.seal(nxt)
    suffix = "&include=balance" if include else ""
    links = ({"next": f"/bankaccounts/{account_id}/transactions?pageSize={pageSize}&cursor={nxt}{suffix}"}
             if nxt else {})
    return answer(schemas.LedgerEnvelope(data=rows, links=links, meta=meta))
