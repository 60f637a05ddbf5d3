"""The catalog sessions refer to: cards, invoices, categories, subcategories, tags, recurring items and
enrichment rules, scoped by workspace (create, read, list, update, delete)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.ids import new_id
from tximport.models import LedgerLine, utcnow
from tximport.services.sessions.deps import Deps, check_amount, check_currency
from tximport.sessions.binding import DATA_FIELD, LOOKUP_ORDER
from tximport.sessions.enrichment import compile_pattern
from tximport.sessions.models import (
    Card,
    Category,
    EnrichmentRule,
    Invoice,
    InvoiceStatus,
    RecurringItem,
    RecurringType,
    Scope,
    Subcategory,
    Tag,
)
from tximport.storage.kv import ConditionFailed
from tximport.storage.sessions import catalog_key

_SPACES = re.compile(r"\s+")


def tag_name_key(name: str) -> str:
    """What makes two tag names one tag: the same letters whatever their case and accents, and spaces; digits count
    ("Viagem 2023" and "Viagem 2024" are two tags, as are "Parcela 1/10" and "Parcela 2/10")."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _SPACES.sub(" ", plain).strip()

M = TypeVar("M", bound=BaseModel)

#: the plain catalog kinds: model, error code when missing
KINDS: dict[str, tuple[type[BaseModel], str]] = {
    "card": (Card, "CardNotFound"),
    "category": (Category, "CategoryNotFound"),
    "subcategory": (Subcategory, "SubcategoryNotFound"),
    "tag": (Tag, "TagNotFound"),
    "rule": (EnrichmentRule, "RuleNotFound"),
}


def _validated(cls: type[M], fields: dict[str, Any]) -> M:
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        target = ".".join(str(p) for p in first.get("loc", ())) or None
        raise ValidationFailed(f"{target}: {first.get('msg')}", target=target) from None


class CatalogService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    # plain kinds --------------------------------------------------------------------------------
    def create(self, scope: Scope, kind: str, fields: dict[str, Any]) -> BaseModel:
        cls, _ = KINDS[kind]
        model = _validated(cls, {**fields, "id": new_id(), "workspace_id": scope.workspace_id})
        self._check(scope, kind, model)
        if isinstance(model, Tag):
            self._claim_tag_name(scope, model)
        self.d.catalog.put(scope.tenant, scope.workspace_id, model, create=True)
        return model

    def get(self, scope: Scope, kind: str, item_id: str) -> Any:
        cls, code = KINDS[kind]
        found = self.d.catalog.get(scope.tenant, scope.workspace_id, cls, item_id)
        if found is None:
            raise NotFound(f"{kind} {item_id} not found", code=code, target="id")
        return found

    def list_all(self, scope: Scope, kind: str) -> list[Any]:
        cls, _ = KINDS[kind]
        return sorted(self.d.catalog.list_of(scope.tenant, scope.workspace_id, cls),
                      key=lambda m: (getattr(m, "priority", 0), m.created_at))

    def update(self, scope: Scope, kind: str, item_id: str, fields: dict[str, Any]) -> Any:
        current = self.get(scope, kind, item_id)
        cls, _ = KINDS[kind]
        model = _validated(cls, {**current.model_dump(), **fields, "id": item_id, "workspace_id": scope.workspace_id,
                                 "updated_at": utcnow()})
        self._check(scope, kind, model)
        if isinstance(model, Tag) and tag_name_key(model.name) != tag_name_key(current.name):
            self._claim_tag_name(scope, model)
        self.d.catalog.put(scope.tenant, scope.workspace_id, model)
        return model

    def delete(self, scope: Scope, kind: str, item_id: str) -> None:
        cls, code = KINDS[kind]
        if not self.d.catalog.delete(scope.tenant, scope.workspace_id, cls, item_id):
            raise NotFound(f"{kind} {item_id} not found", code=code, target="id")

    def _claim_tag_name(self, scope: Scope, tag: Tag) -> None:
        name = tag_name_key(tag.name)
        owner = self.d.catalog.claim_tag_name(scope.tenant, scope.workspace_id, name, tag.id)
        if owner != tag.id and self.d.catalog.get(scope.tenant, scope.workspace_id, Tag, owner):
            raise Conflict(f"a tag named {tag.name!r} already exists", code="TagExists", target="name")
        if owner != tag.id:  # the name's tag was deleted: take the name over
            self.d.catalog.take_tag_name(scope.tenant, scope.workspace_id, name, tag.id)

    def _check(self, scope: Scope, kind: str, model: Any) -> None:
        if kind == "subcategory":
            self.get_ref(scope, "category", model.category_id, "category_id")
        if kind == "rule":
            self._check_rule(scope, model)

    def _check_rule(self, scope: Scope, rule: EnrichmentRule) -> None:
        conditions = (rule.description_contains, rule.description_regex, rule.amount_min, rule.amount_max,
                      rule.counterparty)
        if all(c is None or c == "" for c in conditions):
            raise ValidationFailed("a rule needs at least one condition", code="RuleWithoutCondition",
                                   target="description_contains")
        if rule.amount_min is not None and rule.amount_max is not None and rule.amount_min > rule.amount_max:
            raise ValidationFailed(f"amount_max ({rule.amount_max}) is below amount_min ({rule.amount_min}): the rule "
                                   "would match no amount", code="ValidationError", target="amount_max")
        actions = (rule.category_id, rule.subcategory_id, rule.tag_ids, rule.set_description, rule.set_type)
        if not any(actions):
            raise ValidationFailed("a rule needs at least one thing to set", code="RuleWithoutAction",
                                   target="category_id")
        if rule.description_regex:
            try:
                compile_pattern(rule.description_regex)
            except ValueError as exc:
                raise ValidationFailed(str(exc), code="InvalidPattern", target="description_regex") from None
        self.check_refs(scope, {"category_id": rule.category_id, "subcategory_id": rule.subcategory_id,
                                "tag_ids": rule.tag_ids}, prefix="")

    # references ---------------------------------------------------------------------------------
    def get_ref(self, scope: Scope, kind: str, item_id: str, target: str) -> Any:
        try:
            return self.get(scope, kind, item_id)
        except NotFound:
            raise ValidationFailed(f"{kind} {item_id} not found in this workspace", code="UnknownReference",
                                   target=target) from None

    def check_refs(self, scope: Scope, data: dict[str, Any], *, prefix: str = "data.") -> None:
        """Every id `data` names must exist in the workspace (a subcategory under its category)."""
        # a staged line's data names it subcategory_id, a recurring item sub_category_id (the document's names)
        sub_field = "sub_category_id" if "sub_category_id" in data else "subcategory_id"
        category_id, subcategory_id = data.get("category_id"), data.get(sub_field)
        if category_id:
            self.get_ref(scope, "category", str(category_id), f"{prefix}category_id")
        if subcategory_id:
            sub = self.get_ref(scope, "subcategory", str(subcategory_id), f"{prefix}{sub_field}")
            if category_id and sub.category_id != category_id:
                raise ValidationFailed("the subcategory belongs to another category", code="SubcategoryMismatch",
                                       target=f"{prefix}{sub_field}")
        tag_ids = data.get("tag_ids") or []
        if not isinstance(tag_ids, list) or not all(isinstance(t, str) for t in tag_ids):
            raise ValidationFailed("tag_ids must be a list of ids", target=f"{prefix}tag_ids")
        found = self.d.catalog.get_many(scope.tenant, scope.workspace_id, Tag, [(t,) for t in tag_ids])
        for index, tag_id in enumerate(tag_ids):
            if (tag_id,) not in found:
                raise ValidationFailed(f"tag {tag_id} not found in this workspace", code="UnknownReference",
                                       target=f"{prefix}tag_ids[{index}]")
        if data.get("card_id"):
            self.get_ref(scope, "card", str(data["card_id"]), f"{prefix}card_id")
        for name in ("destination_account_id", "source_account_id"):
            if data.get(name):
                self.d.account(scope, str(data[name]), f"{prefix}{name}")
        for kind, name in DATA_FIELD.items():  # a recurring item of the field's own kind, in this workspace
            if data.get(name):
                item = self.find_recurring(scope, str(data[name]))
                if item is None or item.type != kind:
                    raise ValidationFailed(f"no recurring {kind.value.replace('_', ' ')} {data[name]} in this "
                                           "workspace", code="UnknownReference", target=f"{prefix}{name}")

    def tags_by_name(self, scope: Scope, names: Iterable[Any], target: str) -> list[str]:
        """Tag ids for names, creating the tags that do not exist yet (user guide: "Criar novas tags
        informando o nome")."""
        ids: list[str] = []
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name.strip() or len(name) > 100:
                raise ValidationFailed("a tag name is a text of 1 to 100 characters", target=f"{target}[{index}]")
            tag = Tag(id=new_id(), workspace_id=scope.workspace_id, name=name.strip())
            key = tag_name_key(tag.name)
            owner = self.d.catalog.claim_tag_name(scope.tenant, scope.workspace_id, key, tag.id)
            if owner == tag.id or not self.d.catalog.get(scope.tenant, scope.workspace_id, Tag, owner):
                self.d.catalog.put(scope.tenant, scope.workspace_id, tag)
                if owner != tag.id:
                    self.d.catalog.take_tag_name(scope.tenant, scope.workspace_id, key, tag.id)
                owner = tag.id
            ids.append(owner)
        return ids

    # recurring items ----------------------------------------------------------------------------
    def create_recurring(self, scope: Scope, fields: dict[str, Any]) -> RecurringItem:
        item = _validated(RecurringItem, {**fields, "id": new_id(), "workspace_id": scope.workspace_id})
        self._check_recurring(scope, item)
        self.d.catalog.put(scope.tenant, scope.workspace_id, item, create=True)
        return item

    def find_recurring(self, scope: Scope, item_id: str) -> RecurringItem | None:
        """Looked up in the user guide's order: incomes, expenses, transfers, card transactions."""
        keys = [(kind.value, item_id) for kind in LOOKUP_ORDER]
        found = self.d.catalog.get_many(scope.tenant, scope.workspace_id, RecurringItem, keys)
        return next((found[key] for key in keys if key in found), None)

    def get_recurring(self, scope: Scope, item_id: str) -> RecurringItem:
        item = self.find_recurring(scope, item_id)
        if item is None:
            raise NotFound(f"recurring transaction {item_id} not found", code="RecurringNotFound", target="id")
        return item

    def list_recurring(self, scope: Scope, *, kind: RecurringType | None = None, account_id: str | None = None,
                       card_id: str | None = None, is_active: bool | None = None) -> list[RecurringItem]:
        parent = (kind.value,) if kind else ()
        items = self.d.catalog.list_of(scope.tenant, scope.workspace_id, RecurringItem, *parent)
        out = [i for i in items
               if (account_id is None or account_id in (i.account_id, i.source_account_id, i.destination_account_id))
               and (card_id is None or i.card_id == card_id) and (is_active is None or i.is_active == is_active)]
        return sorted(out, key=lambda i: i.created_at)

    def update_recurring(self, scope: Scope, item_id: str, fields: dict[str, Any]) -> RecurringItem:
        current = self.get_recurring(scope, item_id)
        if "type" in fields and fields["type"] is not None and RecurringType(fields["type"]) != current.type:
            raise ValidationFailed("the type of a recurring transaction cannot change", code="TypeImmutable",
                                   target="type")
        if "currency" not in fields and fields.keys() & {"account_id", "source_account_id"}:
            fields = {**fields, "currency": None}  # another account: its currency, not the old one's
        item = _validated(RecurringItem, {**current.model_dump(), **fields, "id": item_id,
                                          "workspace_id": scope.workspace_id, "updated_at": utcnow()})
        self._check_recurring(scope, item)
        self.d.catalog.put(scope.tenant, scope.workspace_id, item)
        return item

    def delete_recurring(self, scope: Scope, item_id: str) -> None:
        item = self.get_recurring(scope, item_id)
        self.d.catalog.delete(scope.tenant, scope.workspace_id, RecurringItem, *catalog_key(item))

    def _check_recurring(self, scope: Scope, item: RecurringItem) -> None:
        if item.type == RecurringType.CARD_TRANSACTION:
            if not item.card_id:
                raise ValidationFailed("a recurring card transaction needs card_id", target="card_id")
            self.get_ref(scope, "card", item.card_id, "card_id")
        elif item.type == RecurringType.TRANSFER:
            if not (item.source_account_id or item.account_id) or not item.destination_account_id:
                raise ValidationFailed("a recurring transfer needs source_account_id and destination_account_id",
                                       target="destination_account_id")
        elif not item.account_id:
            raise ValidationFailed(f"a recurring {item.type.value} needs account_id", target="account_id")
        if item.end_date and item.start_date and item.end_date < item.start_date:
            raise ValidationFailed("end_date is before start_date", target="end_date")
        self.check_refs(scope, {"category_id": item.category_id, "sub_category_id": item.sub_category_id,
                                "tag_ids": item.tag_ids}, prefix="")
        self._check_money(scope, item)

    def _check_money(self, scope: Scope, item: RecurringItem) -> None:
        """The item's accounts exist, its currency is its account's (a transfer's two accounts keep one currency)
        and its amount fits that currency, as for a staged line (InvalidCurrency, CurrencyMismatch, InvalidAmount);
        sets `item.currency` to the account's when the item names none."""
        source = item.source_account_id or item.account_id
        account_currency = None
        if source and item.type != RecurringType.CARD_TRANSACTION:
            account_currency = self.d.account(scope, source, "source_account_id" if item.source_account_id
                                              else "account_id").currency
        if item.type == RecurringType.TRANSFER and item.destination_account_id:
            if item.destination_account_id == source:
                raise ValidationFailed("a transfer goes to another account than its source", code="InvalidValue",
                                       target="destination_account_id")
            theirs = self.d.account(scope, item.destination_account_id, "destination_account_id").currency
            if account_currency and theirs and account_currency.upper() != theirs.upper():
                raise ValidationFailed(f"account {item.destination_account_id} keeps {theirs} and the transfer's "
                                       f"source keeps {account_currency}", code="CurrencyMismatch",
                                       target="destination_account_id")
        named: dict[str, Any] = {} if item.currency is None else {"currency": item.currency}
        check_currency(named, account_currency, "currency", "the recurring transaction")
        item.currency = named.get("currency") or account_currency
        check_amount(item.amount, item.currency, "amount")
        if item.amount < 0:
            raise ValidationFailed("a recurring amount is a magnitude above zero (the type gives its direction)",
                                   code="InvalidAmount", target="amount")

    # invoices -----------------------------------------------------------------------------------
    def invoices(self, scope: Scope, card_id: str) -> list[Invoice]:
        self.get(scope, "card", card_id)
        return self.d.catalog.list_of(scope.tenant, scope.workspace_id, Invoice, card_id)

    def invoice(self, scope: Scope, card_id: str, billing_month: str) -> Invoice:
        found = self.d.catalog.get(scope.tenant, scope.workspace_id, Invoice, card_id, billing_month)
        if found is None:
            raise NotFound(f"no invoice of card {card_id} for {billing_month}", code="InvoiceNotFound",
                           target="billing_month")
        return found

    def invoice_lines(self, scope: Scope, invoice: Invoice) -> list[LedgerLine]:
        """The card's ledger lines the invoice holds, committed from this workspace's sessions: card expenses and
        chargebacks, and the mirror lines of the card payments that paid it."""
        return [line for line in self.d.ledger.invoice_lines(scope.tenant, invoice.card_id, invoice.billing_month)
                if line.session is not None and line.session.workspace_id == scope.workspace_id]

    def open_invoice(self, scope: Scope, card_id: str, billing_month: str) -> Invoice:
        """The card's invoice for the month, created OPEN when missing; 400 when it is in another status."""
        found = self.d.catalog.get(scope.tenant, scope.workspace_id, Invoice, card_id, billing_month)
        if found is None:
            found = Invoice(card_id=card_id, billing_month=billing_month)
            try:
                self.d.catalog.put(scope.tenant, scope.workspace_id, found, create=True)
            except Conflict:  # created concurrently: read what won
                found = self.invoice(scope, card_id, billing_month)
        if found.status != InvoiceStatus.OPEN:
            raise ValidationFailed(f"the invoice of {billing_month} is {found.status.value}, not OPEN",
                                   code="InvoiceNotOpen", target="billing_month")
        return found

    def set_invoice_status(self, scope: Scope, card_id: str, billing_month: str, status: InvoiceStatus, *,
                           paid_by: str | None = None) -> Invoice:
        """Change the invoice's status, on the version read: 409 InvoiceBusy while a commit into it runs,
        409 ConcurrentUpdate when another change came first (nothing changes either way)."""
        invoice = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, card_id, billing_month)
        if invoice is None:
            raise NotFound(f"no invoice of card {card_id} for {billing_month}", code="InvoiceNotFound",
                           target="billing_month")
        invoice.status, invoice.updated_at = status, utcnow()
        invoice.paid_by_session_id = paid_by if status == InvoiceStatus.PAID else None
        try:
            self.d.catalog.set_invoice(scope.tenant, scope.workspace_id, invoice)
        except ConditionFailed:
            fresh = self.d.catalog.get_invoice(scope.tenant, scope.workspace_id, card_id, billing_month)
            if fresh is not None and fresh.version == invoice.version:
                raise Conflict(f"a commit into the invoice of {billing_month} is running; retry when it ends",
                               code="InvoiceBusy", target="billing_month") from None
            raise Conflict(f"the invoice of {billing_month} was changed concurrently; read it again",
                           code="ConcurrentUpdate", target="billing_month") from None
        return invoice
