"""Domain objects as the sessions dialect shows them (dicts with Decimal amounts; `http.dumps` writes
them as JSON numbers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tximport import exactjson
from tximport.models import LedgerLine, iso
from tximport.services.sessions.commit import CloseResult, CommitResult
from tximport.services.sessions.enrich import EnrichedItem, EnrichResult
from tximport.services.sessions.sessions import SessionDetail
from tximport.sessions.balances import final_payment
from tximport.sessions.models import (
    ImportSession,
    Invoice,
    RecurringBinding,
    StagedTransaction,
    StagedTransactionType,
    Workspace,
)


def _drop_none(out: dict[str, Any]) -> dict[str, Any]:
    """Our extensions without a value are left out; the documents' fields are always there (null when
    unset): a client reads `session["card_id"]`, never has to test for the key."""
    return {k: v for k, v in out.items() if v is not None}


def staged_view(line: StagedTransaction) -> dict[str, Any]:
    return {
        "id": line.id, "session_id": line.session_id, "type": line.type.value, "status": line.status.value,
        "transaction_date": line.transaction_date.isoformat(), "amount": line.amount,
        "description": line.description, "data": line.data, "processing_enrichment": line.processing_enrichment,
        "on_hold": line.on_hold, "line_number": line.line_number, "created_at": iso(line.created_at),
        "updated_at": iso(line.updated_at),
    }


def session_view(session: ImportSession) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": session.id, "workspace_id": session.workspace_id, "user_id": session.user_id,
        "description": session.description, "name": session.description, "account_id": session.account_id,
        "card_id": session.card_id, "billing_month": session.billing_month, "target_value": session.target_value,
        "type": session.type.value, "created_at": iso(session.created_at), "updated_at": iso(session.updated_at),
        "stats": {"ready": session.ready, "total": session.total, "pending": session.pending,
                  "processing": session.processing},
    }
    if session.enrichment:
        out["enrichment"] = {"status": "PROCESSING", **session.enrichment}
    elif session.last_enrichment:
        out["enrichment"] = session.last_enrichment
    return out


def binding_view(binding: RecurringBinding) -> dict[str, Any]:
    return {
        "id": binding.id, "session_id": binding.session_id, "workspace_id": binding.workspace_id,
        "staged_transaction_id": binding.staged_transaction_id,
        "recurring_transaction_id": binding.recurring_transaction_id, "recurring_type": binding.recurring_type.value,
        "recurring_amount": binding.recurring_amount, "recurring_description": binding.recurring_description,
        "source": binding.source.value, "status": binding.status.value,
        "confirmed_at": iso(binding.confirmed_at) if binding.confirmed_at else None,
        "created_at": iso(binding.created_at), "updated_at": iso(binding.updated_at),
        **_drop_none({"score": binding.score, "reasons": binding.reasons or None}),  # our extensions
    }


#: what the lines of one answer may weigh in JSON: Lambda answers 6 MB at most, and a line's `data` alone may hold
#: 16 KB (5,000 such lines would be 80 MB)
PAGE_BYTES = 4_000_000


def fitting(views: list[dict[str, Any]], budget: int | None = None) -> list[dict[str, Any]]:
    """The first of `views` that fit in `budget` bytes of JSON (PAGE_BYTES; at least one: a line is far below
    it)."""
    budget = PAGE_BYTES if budget is None else budget
    used = 0
    for count, view in enumerate(views):
        used += len(exactjson.dumps(view).encode()) + 1
        if used > budget and count:
            return views[:count]
    return views


def detail_view(detail: SessionDetail) -> dict[str, Any]:
    """GET one session; its page of lines (in `transactions` and again in `staged_transactions`) ends early where
    the two would pass PAGE_BYTES, `next_cursor` then naming the first line left out."""
    b = detail.balances
    lines = fitting([staged_view(ln) for ln in detail.lines], PAGE_BYTES // 2)
    next_seq = detail.lines[len(lines)].seq if len(lines) < len(detail.lines) else detail.next_cursor
    return {
        **session_view(detail.session), "initial_balance": b.initial_balance, "context_value": b.context_value,
        "current_total": b.current_total, "stats": {**session_view(detail.session)["stats"], "ready": b.ready,
                                                    "total": b.total},
        "status": b.status.value, "transactions": lines, "staged_transactions": lines,
        "next_cursor": str(next_seq) if next_seq is not None else None,
        "recurring_transaction_bindings": [binding_view(x) for x in detail.bindings],
    }


def workspace_view(workspace: Workspace) -> dict[str, Any]:
    return {"id": workspace.id, "name": workspace.name, "created_at": iso(workspace.created_at)}


def model_view(model: BaseModel) -> dict[str, Any]:
    """A catalog document as stored (dates as ISO text, amounts as numbers; unset fields null)."""
    out = model.model_dump(mode="python")
    for key, value in list(out.items()):
        if hasattr(value, "isoformat"):
            out[key] = iso(value) if hasattr(value, "hour") else value.isoformat()
        elif hasattr(value, "value") and not isinstance(value, int | float | str):
            out[key] = value.value
    return out


def invoice_view(invoice: Invoice, lines: list[LedgerLine] | None = None,
                 tags: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """entity.Invoice; with `lines` (the ledger lines it holds), its card_expenses, card_chargebacks and
    card_payments, each amount as a magnitude (what was spent, given back or paid), a payment's
    `is_final_payment` true for the one that paid the invoice off (`final_payment`); `tags`: the workspace's tags
    by id (a card expense's tags name them)."""
    out = {"card_id": invoice.card_id, "billing_month": invoice.billing_month, "status": invoice.status.value,
           "created_at": iso(invoice.created_at), "updated_at": iso(invoice.updated_at)}
    if lines is None:
        return out
    held: dict[str, list[dict[str, Any]]] = {"card_expenses": [], "card_chargebacks": [], "card_payments": []}
    final = final_payment(lines)
    for line in lines:
        kind = _INVOICE_ARRAYS.get(line.session.type) if line.session is not None else None
        if kind is not None:
            held[kind].append(_invoice_line_view(invoice, line, kind, tags or {}, final))
    return out | held


#: which array of entity.Invoice holds a line of each type
_INVOICE_ARRAYS = {StagedTransactionType.CARD_EXPENSE: "card_expenses",
                   StagedTransactionType.CARD_CHARGEBACK: "card_chargebacks",
                   StagedTransactionType.CARD_PAYMENT: "card_payments"}


def _invoice_line_view(invoice: Invoice, line: LedgerLine, kind: str, tags: dict[str, dict[str, Any]],
                       final: str | None) -> dict[str, Any]:
    """entity.CardExpense, entity.CardChargeback or entity.CardPayment: a ledger line of the card's invoice."""
    entry = line.session
    assert entry is not None
    out: dict[str, Any] = {
        "id": line.transaction_id, "amount": abs(line.amount), "billing_month": invoice.billing_month,
        "card_id": invoice.card_id, "transaction_date": line.date_posted.isoformat(),
        "transaction_status": entry.status.value, "created_at": iso(line.committed), "updated_at": iso(line.committed)}
    if kind == "card_payments":
        return out | {"account_id": entry.counterpart_account_id, "is_final_payment": line.transaction_id == final}
    out["description"] = line.description
    if kind == "card_expenses":
        out |= {"category_id": entry.category_id, "sub_category_id": entry.subcategory_id,
                "recurring_card_transaction_id": entry.recurring_id,
                "tags": [{"tag_id": tag_id, "tag": tags.get(tag_id), "card_expense_id": line.transaction_id}
                         for tag_id in entry.tag_ids]}
    return out


def enriched_view(item: EnrichedItem) -> dict[str, Any]:
    """usecase.EnrichedTransaction; a low-confidence suggestion names nothing (it is only shown in
    `suggestion`)."""
    s = item.suggestion
    applied = s is not None and s.band != "low"
    out: dict[str, Any] = {
        "category_id": s.category_id if applied and s else None, "category_name": item.category_name,
        "description": (s.description if applied and s and s.description else item.description),
        "sub_category_id": s.subcategory_id if applied and s else None, "sub_category_name": item.subcategory_name,
        "type": item.type.value if item.type else None,
    }
    if s is not None:
        out |= {"confidence": round(s.confidence, 4), "band": s.band.value, "source": s.source,
                "needs_review": s.band == "review"}
        if not applied:
            out["suggestion"] = {"category_id": s.category_id, "sub_category_id": s.subcategory_id}
    return out


def commit_view(result: CommitResult) -> dict[str, Any]:
    """`POST .../commit`: the document's message, with the counts beside it."""
    return {"message": f"{result.committed} transações efetivadas", "committed": result.committed,
            "validating": result.validating, "ignored": result.ignored, "held_back": result.held_back,
            "linked": result.linked}


def close_view(result: CloseResult) -> dict[str, Any]:
    """`POST .../close`: the document's message, with what close did beside it."""
    return {"message": "Sessão encerrada", "paid": result.paid, "discarded_staged": result.discarded_staged,
            "invoice_status": result.invoice_status.value if result.invoice_status else None,
            "discarded_ready": result.discarded_ready, "invoice_settled_elsewhere": result.invoice_settled_elsewhere}


def enrich_view(result: EnrichResult) -> dict[str, Any]:
    """`POST .../enrich`: done within the call (its counts), or started (its run; poll the session)."""
    if result.mode == "async":
        return {"message": "enrichment started", "mode": "async", "status": "PROCESSING", "run_id": result.run_id,
                "execution_arn": result.execution_arn, "pending": result.pending}
    return {"message": "enrichment done", "mode": "sync", "status": "DONE", "enriched": result.enriched,
            "ready": result.ready, "pending": result.pending, "needs_review": result.needs_review,
            "suggested_bindings": result.suggested_bindings}
