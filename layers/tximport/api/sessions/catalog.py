"""The catalog routes (as far as sessions need them): cards and their invoices, categories and
subcategories, tags, recurring transactions (`/recurring`, `/recurring-card-transactions`) and
enrichment rules (`/enrichment-rules`, our extension), all scoped by workspace."""

# no `from __future__ import annotations`: the route factory below hands Powertools real types
from typing import Annotated, Any, Literal, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from tximport.api.sessions.context import WorkspaceHeader, scope_of
from tximport.api.sessions.docs import answers
from tximport.api.sessions.http import no_content, respond
from tximport.api.sessions.models import (
    Canonical,
    CardList,
    CardOut,
    CardRequest,
    CategoryList,
    CategoryOut,
    CategoryRequest,
    IdQuery,
    InvoiceList,
    InvoiceOut,
    PendingList,
    ProjectionList,
    RecurringInput,
    RecurringList,
    RecurringOut,
    RecurringSummaryOut,
    RouteId,
    RuleList,
    RuleOut,
    RuleRequest,
    SubcategoryList,
    SubcategoryOut,
    SubcategoryRequest,
    TagList,
    TagOut,
    TagRequest,
)
from tximport.api.sessions.views import invoice_view, model_view
from tximport.errors import NotFound, ValidationFailed
from tximport.runtime import container
from tximport.services.sessions.recurring import Figures, Slot, Standing
from tximport.sessions.models import MONTH_PATTERN, RecurringItem, RecurringType, Scope

router = Router()


def _crud(path: str, kind: str, label: str, request: type[BaseModel], out: type[BaseModel],
          many: type[BaseModel], tag: str) -> None:
    """POST/GET list at `path`; GET/PUT/DELETE at `path/{id}`."""

    # `request` is a class chosen per resource: Powertools reads the annotation at run time, mypy cannot
    def create(body: request, workspace: WorkspaceHeader = None) -> Response[str]:  # type: ignore[valid-type]
        fields = cast(BaseModel, body).model_dump(exclude_none=True)
        item = container().sessions.catalog.create(scope_of(router, workspace), kind, fields)
        return respond(model_view(item), 201)

    def list_all(workspace: WorkspaceHeader = None) -> Response[str]:
        items = container().sessions.catalog.list_all(scope_of(router, workspace), kind)
        return respond([model_view(i) for i in items])

    def get_one(item_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
        return respond(model_view(container().sessions.catalog.get(scope_of(router, workspace), kind, item_id)))

    def update(item_id: RouteId, body: request, workspace: WorkspaceHeader = None) -> Response[str]:  # type: ignore[valid-type]
        item = container().sessions.catalog.update(scope_of(router, workspace), kind, item_id,
                                                   cast(BaseModel, body).model_dump(exclude_unset=True))
        return respond(model_view(item))

    def delete(item_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
        container().sessions.catalog.delete(scope_of(router, workspace), kind, item_id)
        return no_content()

    for fn, name in ((create, "create"), (list_all, "list"), (get_one, "get"), (update, "update"), (delete, "delete")):
        fn.__name__ = f"{name}_{kind}"
    router.post(path, summary=f"Create a {label}", tags=[tag], responses=answers(out, 201, 409))(create)
    router.get(path, summary=f"List {label}s", tags=[tag], responses=answers(many, 200))(list_all)
    router.get(f"{path}/<item_id>", summary=f"Get a {label}", tags=[tag], responses=answers(out, 200, 404))(get_one)
    router.put(f"{path}/<item_id>", summary=f"Update a {label}", tags=[tag],
               responses=answers(out, 200, 404, 409))(update)
    router.delete(f"{path}/<item_id>", summary=f"Delete a {label}", tags=[tag],
                  responses=answers(None, 204, 404, description="Deleted"))(delete)


_crud("/cards", "card", "card", CardRequest, CardOut, CardList, "Cards")
_crud("/categories", "category", "category", CategoryRequest, CategoryOut, CategoryList, "Categories")
_crud("/tags", "tag", "tag", TagRequest, TagOut, TagList, "Tags")
_crud("/enrichment-rules", "rule", "enrichment rule", RuleRequest, RuleOut, RuleList, "Enrichment")


@router.get("/cards/<card_id>/invoices", summary="List a card's invoices", tags=["Cards"],
            description="Invoices are opened by card sessions and paid by their close.",
            responses=answers(InvoiceList, 200, 404))
def list_invoices(card_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond([invoice_view(i) for i in container().sessions.catalog.invoices(scope_of(router, workspace),
                                                                                   card_id)])


@router.get("/cards/<card_id>/invoices/<billing_month>", summary="Get a card's invoice", tags=["Cards"],
            responses=answers(InvoiceOut, 200, 404))
def get_invoice(card_id: RouteId, billing_month: Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")],
                workspace: WorkspaceHeader = None) -> Response[str]:
    scope, catalog = scope_of(router, workspace), container().sessions.catalog
    invoice = catalog.invoice(scope, card_id, billing_month)
    lines = catalog.invoice_lines(scope, invoice)
    return respond(invoice_view(invoice, lines, _tags_by_id(scope) if any(
        line.session is not None and line.session.tag_ids for line in lines) else None))


@router.post("/categories/<category_id>/subcategories", summary="Create a subcategory", tags=["Categories"],
             responses=answers(SubcategoryOut, 201, 404))
def create_subcategory(category_id: RouteId, body: SubcategoryRequest, workspace: WorkspaceHeader = None
                       ) -> Response[str]:
    scope = scope_of(router, workspace)
    container().sessions.catalog.get(scope, "category", category_id)
    item = container().sessions.catalog.create(scope, "subcategory", {**body.model_dump(exclude_none=True),
                                                                      "category_id": category_id})
    return respond(model_view(item), 201)


@router.get("/categories/<category_id>/subcategories", summary="List a category's subcategories",
            tags=["Categories"], responses=answers(SubcategoryList, 200, 404))
def list_subcategories(category_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    container().sessions.catalog.get(scope, "category", category_id)
    return respond([model_view(s) for s in container().sessions.catalog.list_all(scope, "subcategory")
                    if s.category_id == category_id])


@router.get("/subcategories/<item_id>", summary="Get a subcategory", tags=["Categories"],
            responses=answers(SubcategoryOut, 200, 404))
def get_subcategory(item_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    return respond(model_view(container().sessions.catalog.get(scope_of(router, workspace), "subcategory", item_id)))


@router.put("/subcategories/<item_id>", summary="Update a subcategory", tags=["Categories"],
            responses=answers(SubcategoryOut, 200, 404))
def update_subcategory(item_id: RouteId, body: SubcategoryRequest, workspace: WorkspaceHeader = None) -> Response[str]:
    item = container().sessions.catalog.update(scope_of(router, workspace), "subcategory", item_id,
                                               body.model_dump(exclude_unset=True))
    return respond(model_view(item))


@router.delete("/subcategories/<item_id>", summary="Delete a subcategory", tags=["Categories"],
               responses=answers(None, 204, 404, description="Deleted"))
def delete_subcategory(item_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    container().sessions.catalog.delete(scope_of(router, workspace), "subcategory", item_id)
    return no_content()


# --- recurring ------------------------------------------------------------------------------------
def _recurring_fields(body: RecurringInput, *, creating: bool) -> dict[str, Any]:
    fields = body.model_dump(exclude_none=creating, exclude_unset=not creating)
    if creating:
        for name in ("type", "amount", "description", "start_date"):
            if fields.get(name) is None:
                raise ValidationFailed(f"{name} is required", code="ValidationError", target=name)
    return fields


@router.post("/recurring", summary="Create a recurring transaction", tags=["Recurring"],
             description="usecase.RecurringInput; type income, expense or transfer (account_id, or source and "
                         "destination accounts) or card_transaction (card_id).",
             responses=answers(RecurringOut, 201))
def create_recurring(body: RecurringInput, workspace: WorkspaceHeader = None) -> Response[str]:
    item = container().sessions.catalog.create_recurring(scope_of(router, workspace),
                                                         _recurring_fields(body, creating=True))
    return respond(model_view(item), 201)


#: the association entity of an item's tags, by the item's type (entity.RecurringExpenseTag and its siblings)
_TAG_OWNER = {RecurringType.EXPENSE: "recurring_expense_id", RecurringType.INCOME: "recurring_income_id",
              RecurringType.CARD_TRANSACTION: "recurring_card_transaction_id"}
#: a flag in a query string: `true` or `false`, nothing else (a `yes` or `1` is a 400, as in a body)
FlagQuery = Annotated[Literal["true", "false"] | None, Query(description="true or false")]


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "true"


MonthQuery = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="Reference month YYYY-MM (defaults to "
                                         "the current month): has_transaction_in_month, payment_status and "
                                         "pending_amount are of this month")]


def _recurring_views(scope: Scope, items: list[RecurringItem], month: str | None) -> list[dict[str, Any]]:
    """The items as stored, with how each stands in `month` and its tags (entity.RecurringExpense)."""
    standings = container().sessions.recurring.standings(scope, items, month)
    tags = _tags_by_id(scope) if any(item.tag_ids for item in items) else {}
    return [{**model_view(item), **_standing_view(standings[item.id]), "tags": [
        {"tag_id": tag_id, "tag": tags[tag_id], **({_TAG_OWNER[item.type]: item.id} if item.type in _TAG_OWNER
                                                   else {})}
        for tag_id in item.tag_ids if tag_id in tags]} for item in items]


def _tags_by_id(scope: Scope) -> dict[str, dict[str, Any]]:
    """The workspace's tags as the API shows them, by id."""
    return {t["id"]: t for t in (model_view(tag) for tag in container().sessions.catalog.list_all(scope, "tag"))}


def _standing_view(standing: Standing) -> dict[str, Any]:
    return {"has_transaction_in_month": standing.has_transaction, "payment_status": standing.payment_status,
            "pending_amount": standing.pending_amount}


@router.get("/recurring", summary="List recurring transactions", tags=["Recurring"],
            description="The items, each with how it stands in `month` (this month by default): "
                        "has_transaction_in_month (a committed line paid, in full or in part, or ignored one of its "
                        "slots of the month), payment_status (PAID, PENDING while a slot is not paid in full, "
                        "IGNORE, or NOT_DUE when no slot falls in the month) and pending_amount (what is still to "
                        "pay of its slots of the month), and its tags.",
            responses=answers(RecurringList, 200))
def list_recurring(account_id: IdQuery = None,
                   card_id: IdQuery = None,
                   type: Annotated[str | None, Query(max_length=32, description="income, expense, transfer, "  # noqa: A002
                                                                                "card_transaction")] = None,
                   is_active: FlagQuery = None, month: MonthQuery = None,
                   workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    kind = None
    if type:
        try:
            kind = RecurringType(type.lower())
        except ValueError:
            raise ValidationFailed("type is income, expense, transfer or card_transaction", target="type") from None
    items = container().sessions.catalog.list_recurring(scope, kind=kind, account_id=account_id, card_id=card_id,
                                                        is_active=_flag(is_active))
    return respond(_recurring_views(scope, items, month))


def _slot_view(slot: Slot) -> dict[str, Any]:
    return {"amount": slot.amount, "date": slot.day.isoformat(), "status": slot.status,
            "transaction_id": slot.transaction_id, "type": slot.item.type.value}


def _pending_view(slot: Slot, tags: dict[str, dict[str, Any]]) -> dict[str, Any]:
    item = slot.item
    return {"account_id": item.account_id or item.source_account_id, "amount": slot.amount, "card_id": item.card_id,
            "category_id": item.category_id, "description": item.description,
            "include_in_summary": item.include_in_summary, "recurring_id": item.id,
            "recurring_status": "Active" if item.is_active else "Inactive", "reference_date": slot.day.isoformat(),
            "sub_category_id": item.sub_category_id, "tags": [tags[t] for t in item.tag_ids if t in tags],
            "type": item.type.value}


@router.get("/recurring/pending", summary="List pending recurring transactions", tags=["Recurring"],
            description="The slots of the active recurring items (of one account or card) that committed lines "
                        "have not paid in full, up to the end of this month (amount: what is still to pay).",
            responses=answers(PendingList, 200))
def pending_recurring(account_id: IdQuery = None,
                      card_id: IdQuery = None,
                      workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    slots = container().sessions.recurring.pending(scope, account_id, card_id)
    tags = _tags_by_id(scope) if any(slot.item.tag_ids for slot in slots) else {}
    return respond([_pending_view(slot, tags) for slot in slots])


@router.get("/recurring/summary", summary="Recurring summary", tags=["Recurring"],
            description="A month's projected, paid and pending amounts over the active recurring items counted in "
                        "summaries (include_in_summary): the document's three numbers add every item, whatever "
                        "its currency; by_currency (ours) has the same three per currency.",
            responses=answers(RecurringSummaryOut, 200))
def recurring_summary(month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")],
                      workspace: WorkspaceHeader = None) -> Response[str]:
    summary = container().sessions.recurring.summary(scope_of(router, workspace), month)
    return respond({**_figures_view(summary.total), "by_currency": [
        {"currency": currency, **_figures_view(figures)}
        for currency, figures in sorted(summary.by_currency.items(), key=lambda pair: pair[0] or "~")]})


def _figures_view(figures: Figures) -> dict[str, Any]:
    return {"paid_current_month": figures.paid, "pending_until_month_end": figures.pending,
            "projected_current_month": figures.projected}


@router.get("/recurring/<item_id>/projection", summary="Get projection for a recurring item", tags=["Recurring"],
            description="The item's slots with their status: every paid or ignored one, and the pending ones up to "
                        "the end of `month` (this month by default).", responses=answers(ProjectionList, 200, 404))
def recurring_projection(item_id: RouteId, month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
                         workspace: WorkspaceHeader = None) -> Response[str]:
    slots = container().sessions.recurring.projection(scope_of(router, workspace), item_id, month)
    return respond([_slot_view(slot) for slot in slots])


@router.get("/recurring/<item_id>", summary="Get a recurring transaction", tags=["Recurring"],
            responses=answers(RecurringOut, 200, 404))
def get_recurring(item_id: RouteId, month: MonthQuery = None, workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    return respond(_recurring_views(scope, [container().sessions.catalog.get_recurring(scope, item_id)], month)[0])


@router.patch("/recurring/<item_id>", summary="Update a recurring transaction", tags=["Recurring"],
              responses=answers(RecurringOut, 200, 404))
def patch_recurring(item_id: RouteId, body: RecurringInput, workspace: WorkspaceHeader = None) -> Response[str]:
    item = container().sessions.catalog.update_recurring(scope_of(router, workspace), item_id,
                                                         _recurring_fields(body, creating=False))
    return respond(model_view(item))


@router.delete("/recurring/<item_id>", summary="Delete a recurring transaction", tags=["Recurring"],
               responses=answers(None, 204, 404, description="Deleted"))
def delete_recurring(item_id: RouteId, workspace: WorkspaceHeader = None) -> Response[str]:
    container().sessions.catalog.delete_recurring(scope_of(router, workspace), item_id)
    return no_content()


@router.get("/recurring-card-transactions", summary="List recurring card transactions", tags=["Recurring"],
            responses=answers(RecurringList, 200))
def list_recurring_card(card_id: Annotated[str, Query(min_length=1, max_length=64), Canonical],
                        is_active: FlagQuery = None, month: MonthQuery = None,
                        workspace: WorkspaceHeader = None) -> Response[str]:
    scope, catalog = scope_of(router, workspace), container().sessions.catalog
    # the card the listing is by is one of the workspace's (400 UnknownReference, as for a card a body names)
    catalog.get_ref(scope, "card", card_id, "card_id")
    items = catalog.list_recurring(scope, kind=RecurringType.CARD_TRANSACTION, card_id=card_id,
                                   is_active=_flag(is_active))
    return respond(_recurring_views(scope, items, month))


@router.get("/recurring-card-transactions/<item_id>", summary="Get a recurring card transaction", tags=["Recurring"],
            responses=answers(RecurringOut, 200, 404))
def get_recurring_card(item_id: RouteId, month: MonthQuery = None, workspace: WorkspaceHeader = None) -> Response[str]:
    scope = scope_of(router, workspace)
    item = container().sessions.catalog.get_recurring(scope, item_id)
    if item.type != RecurringType.CARD_TRANSACTION:
        raise NotFound(f"recurring card transaction {item_id} not found", code="RecurringNotFound", target="id")
    return respond(_recurring_views(scope, [item], month)[0])
