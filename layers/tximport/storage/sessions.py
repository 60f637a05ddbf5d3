"""The import-sessions table: workspaces, sessions, staged lines and the catalog they refer to.

Key layout (every key starts with the tenant; every workspace item also with the workspace):
  pk = T#org#company                       sk = WS#<workspaceId>            a workspace (+ session_seq)
  pk = T#org#company#W#<ws>                sk = SESSION#<id>                a session: doc, counters, lock
                                           sk = SESSIONNO#<number>          session number -> id
                                           sk = CARD#<id> | INVOICE#<card>#<YYYY-MM> | CATEGORY#<id> |
                                                SUBCATEGORY#<id> | TAG#<id> | TAGNAME#<name> |
                                                RECURRING#<type>#<id> | RULE#<id> | LEARN#<type>#<key> |
                                                BINDING#<session>#<id>
  pk = T#org#company#W#<ws>#S#<id>#B#<block>   sk = ST#<seq>            staged lines, 2,000 per block
A session's lines are a few partitions (blocks of BLOCK_SIZE sequence numbers), so a page is one Query
(two where it crosses a block) and a large upload spreads its writes. The session item keeps the
counters (total, ready, pending, processing, sums per type), changed in the same transaction as every
line write, so reading one session never reads its lines.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import suppress
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from tximport import exactjson
from tximport.errors import Conflict, NotFound, ValidationFailed
from tximport.ids import new_id
from tximport.models import Tenant
from tximport.sessions.models import (
    BindingStatus,
    Card,
    Category,
    EnrichmentRule,
    ImportSession,
    Invoice,
    LearningExample,
    RecurringBinding,
    RecurringItem,
    StagedTransaction,
    Subcategory,
    Tag,
    TypeSums,
    Workspace,
)
from tximport.sessions.rules import counter_delta
from tximport.storage.keys import tenant_pk
from tximport.storage.kv import LOCK_OWNER, LOCK_UNTIL, ConditionFailed, Delete, Put, Store, Update, query_all

BLOCK_SIZE = 2000
#: what a staged line is read from (a page reads only these attributes)
LINE_FIELDS = ("doc", "version")
#: lines per transaction with their session's counter update (TransactWriteItems takes 100 actions)
LINES_PER_TRANSACTION = 99
COUNTERS = ("total", "ready", "pending", "processing")
SUM_FIELDS = tuple(f"sum_{name}" for name in TypeSums.model_fields)
M = TypeVar("M", bound=BaseModel)
#: `unlocked_for` of writes that never hold the lock (line edits): they need the session unlocked
NOBODY = "-"


def dump(model: BaseModel) -> str:
    """A model as JSON text with exact decimals (numbers in `data` stay numbers)."""
    return exactjson.dumps(model.model_dump(mode="python"))


def load(cls: type[M], text: str) -> M:
    return cls.model_validate(exactjson.loads(text))


def workspace_pk(tenant: Tenant, workspace_id: str) -> str:
    return f"{tenant_pk(tenant)}#W#{workspace_id}"


def block_pk(tenant: Tenant, workspace_id: str, session_id: str, block: int) -> str:
    return f"{workspace_pk(tenant, workspace_id)}#S#{session_id}#B#{block:06d}"


def line_sk(seq: int) -> str:
    return f"ST#{seq:010d}"


def _int(value: Any) -> int:
    return int(value or 0)


def _at_version(version: int) -> dict[str, Any]:
    """The condition "the item is still at `version`", where an item without one is at 0 (versions only grow)."""
    return {"at_most": {"version": 0}} if version == 0 else {"if_version": version}


class SessionsRepository:
    """Workspaces, sessions, staged lines and bindings on a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # workspaces ---------------------------------------------------------------------------------
    def create_workspace(self, tenant: Tenant, workspace: Workspace) -> None:
        self.store.write(Put({"pk": tenant_pk(tenant), "sk": f"WS#{workspace.id}", "doc": dump(workspace),
                              "session_seq": 0}, if_absent=True))

    def get_workspace(self, tenant: Tenant, workspace_id: str) -> Workspace | None:
        item = self.store.get((tenant_pk(tenant), f"WS#{workspace_id}"))
        return load(Workspace, item["doc"]) if item else None

    def list_workspaces(self, tenant: Tenant) -> list[Workspace]:
        return [load(Workspace, i["doc"]) for i in query_all(self.store, tenant_pk(tenant), prefix="WS#")]

    def next_session_number(self, tenant: Tenant, workspace_id: str) -> int:
        item = self.store.write(Update((tenant_pk(tenant), f"WS#{workspace_id}"), add={"session_seq": 1}))
        return _int((item or {}).get("session_seq"))

    # sessions -----------------------------------------------------------------------------------
    @staticmethod
    def _session_key(tenant: Tenant, session: ImportSession | tuple[str, str]) -> tuple[str, str]:
        workspace_id, session_id = (session.workspace_id, session.id) if isinstance(session, ImportSession) \
            else session
        return workspace_pk(tenant, workspace_id), f"SESSION#{session_id}"

    def create_session(self, tenant: Tenant, session: ImportSession) -> None:
        pk, sk = self._session_key(tenant, session)
        item: dict[str, Any] = {"pk": pk, "sk": sk, "doc": dump(session), "version": 0, "next_seq": 0,
                                **dict.fromkeys(COUNTERS, 0), **dict.fromkeys(SUM_FIELDS, Decimal(0))}
        self.store.transact([Put(item, if_absent=True),
                             Put({"pk": pk, "sk": f"SESSIONNO#{session.number:012d}", "session_id": session.id},
                                 if_absent=True)])

    @staticmethod
    def _session(item: dict[str, Any]) -> ImportSession:
        session = load(ImportSession, item["doc"])
        session.version = _int(item.get("version"))
        for name in COUNTERS:
            setattr(session, name, _int(item.get(name)))
        session.sums = TypeSums(**{n: Decimal(item.get(f"sum_{n}") or 0) for n in TypeSums.model_fields})
        session.next_seq = _int(item.get("next_seq"))
        return session

    def get_session(self, tenant: Tenant, workspace_id: str, session_id: str) -> ImportSession:
        item = self.store.get(self._session_key(tenant, (workspace_id, session_id)))
        if not item:
            raise NotFound(f"import session {session_id} not found", code="SessionNotFound", target="id")
        return self._session(item)

    def session_by_number(self, tenant: Tenant, workspace_id: str, number: int) -> ImportSession | None:
        pointer = self.store.get((workspace_pk(tenant, workspace_id), f"SESSIONNO#{number:012d}"))
        if not pointer:
            return None
        try:
            return self.get_session(tenant, workspace_id, pointer["session_id"])
        except NotFound:
            return None

    def list_sessions(self, tenant: Tenant, workspace_id: str) -> list[ImportSession]:
        items = query_all(self.store, workspace_pk(tenant, workspace_id), prefix="SESSION#")
        return sorted((self._session(i) for i in items), key=lambda s: s.created_at, reverse=True)

    def save_session(self, tenant: Tenant, session: ImportSession, *, owner: str | None = None) -> ImportSession:
        """Write the session's own fields if nobody changed them since it was read (counters are
        untouched: line writes add to them concurrently). `owner`: the lease the caller holds on it."""
        doc = session.model_copy(update={"version": session.version + 1})
        try:
            self.store.write(Update(self._session_key(tenant, session), set={"doc": dump(doc)},
                                    add={"version": 1}, if_version=session.version, unlocked_for=owner or NOBODY))
        except ConditionFailed:
            raise Conflict(f"import session {session.id} was changed concurrently (or is busy); read it again",
                           code="ConcurrentUpdate", target="id") from None
        session.version += 1
        return session

    def lock(self, tenant: Tenant, session: ImportSession, *, seconds: int = 300) -> str:
        """Take the session for a long operation (commit, close, delete all): a lease. Line writes fail
        with 409 while it is held."""
        owner = uuid.uuid4().hex
        try:
            self.store.write(Update(self._session_key(tenant, session),
                                    set={LOCK_OWNER: owner, LOCK_UNTIL: int(time.time()) + seconds},
                                    unlocked_for=owner))
        except ConditionFailed:
            raise Conflict(f"import session {session.id} is busy with another operation; retry shortly",
                           code="SessionBusy", target="id") from None
        return owner

    def unlock(self, tenant: Tenant, session: ImportSession, owner: str) -> None:
        # gone (closed), or the lease expired and someone else holds it: nothing of ours to free
        with contextlib.suppress(ConditionFailed):
            self.store.write(Update(self._session_key(tenant, session), remove=(LOCK_OWNER, LOCK_UNTIL),
                                    locked_by=owner))

    def set_enrichment(self, tenant: Tenant, session: ImportSession, running: dict[str, Any] | None,
                       outcome: dict[str, Any] | None = None, *, expect_idle: bool = False) -> None:
        """Record an asynchronous enrichment run (or its end) on the session, conditionally."""
        fresh = self.get_session(tenant, session.workspace_id, session.id)
        if expect_idle and fresh.enrichment is not None:
            raise Conflict("an enrichment of this session is already running", code="EnrichmentRunning", target="id")
        fresh.enrichment = running
        if outcome is not None:
            fresh.last_enrichment = outcome
        self.save_session(tenant, fresh)
        session.enrichment, session.last_enrichment, session.version = fresh.enrichment, fresh.last_enrichment, \
            fresh.version

    def delete_session(self, tenant: Tenant, session: ImportSession) -> None:
        pk, sk = self._session_key(tenant, session)
        keys = [(i["pk"], i["sk"]) for i in self._line_items(tenant, session)]
        keys += [(i["pk"], i["sk"]) for i in query_all(self.store, pk, prefix=f"BINDING#{session.id}#")]
        self.store.delete_many(keys)
        self.store.delete_many([(pk, f"SESSIONNO#{session.number:012d}"), (pk, sk)])

    # staged lines -------------------------------------------------------------------------------
    def allocate(self, tenant: Tenant, session: ImportSession, count: int) -> int:
        """Reserve `count` sequence numbers; answers the first."""
        item = self.store.write(Update(self._session_key(tenant, session), add={"next_seq": count}))
        end = _int((item or {}).get("next_seq"))
        session.next_seq = end
        return end - count

    def _line_item(self, tenant: Tenant, line: StagedTransaction, workspace_id: str) -> dict[str, Any]:
        return {"pk": block_pk(tenant, workspace_id, line.session_id, line.seq // BLOCK_SIZE),
                "sk": line_sk(line.seq), "doc": dump(line), "version": line.version, "status": line.status.value}

    def _line_key(self, tenant: Tenant, session: ImportSession, seq: int) -> tuple[str, str]:
        return block_pk(tenant, session.workspace_id, session.id, seq // BLOCK_SIZE), line_sk(seq)

    @staticmethod
    def _line(item: dict[str, Any]) -> StagedTransaction:
        line = load(StagedTransaction, item["doc"])
        line.version = _int(item.get("version"))
        return line

    def _counters(self, tenant: Tenant, session: ImportSession, delta: dict[str, Decimal | int], *,
                  owner: str | None) -> Update:
        # `line_writes` counts every line write: the update is never empty (a line can change without moving
        # a counter) and still checks the session's lock
        return Update(self._session_key(tenant, session), add={**delta, "line_writes": 1},
                      locked_by=owner, unlocked_for=None if owner else NOBODY)

    def add_lines(self, tenant: Tenant, session: ImportSession, lines: Sequence[StagedTransaction],
                  max_total: int | None = None, *, owner: str | None = None) -> None:
        """Create lines (their seq already allocated) with their counters, 99 per transaction; with `max_total`,
        each transaction holds only while the session stays within that many lines (concurrent adds too):
        SessionFull otherwise. A refused add leaves nothing: the lines its earlier transactions wrote go again.
        `owner`: the lease the caller holds on the session (else the session must be free)."""
        written: list[StagedTransaction] = []
        try:
            self._add_chunks(tenant, session, lines, max_total, written, owner)
        except (ValidationFailed, Conflict):
            with suppress(Conflict):  # (a commit or close holding the session: its own check refuses them)
                self.delete_lines(tenant, session, written, owner=owner)
            raise

    def _add_chunks(self, tenant: Tenant, session: ImportSession, lines: Sequence[StagedTransaction],
                    max_total: int | None, written: list[StagedTransaction], owner: str | None) -> None:
        for start in range(0, len(lines), LINES_PER_TRANSACTION):
            chunk = lines[start:start + LINES_PER_TRANSACTION]
            delta: dict[str, Decimal | int] = {}
            for line in chunk:
                for key, value in counter_delta(None, line).items():
                    delta[key] = delta.get(key, 0) + value
            actions: list[Any] = [Put(self._line_item(tenant, ln, session.workspace_id), if_absent=True)
                                  for ln in chunk]
            counters = self._counters(tenant, session, delta, owner=owner)
            if max_total is not None:
                counters.at_most["total"] = max_total - len(chunk)
            try:
                self.store.transact([*actions, counters], token=f"add-{session.id}-{chunk[0].seq}"[:36])
            except ConditionFailed:
                current = self.store.get(self._session_key(tenant, session)) or {}
                if max_total is not None and _int(current.get("total")) + len(chunk) > max_total:
                    raise ValidationFailed(f"a session holds at most {max_total} staged lines "
                                           f"({_int(current.get('total'))} already)", code="SessionFull",
                                           target="transactions") from None
                raise Conflict(f"import session {session.id} is busy (commit, close or delete in progress)",
                               code="SessionBusy", target="id") from None
            written += chunk

    def get_line(self, tenant: Tenant, session: ImportSession, seq: int) -> StagedTransaction | None:
        item = self.store.get(self._line_key(tenant, session, seq))
        return self._line(item) if item else None

    def replace_line(self, tenant: Tenant, session: ImportSession, old: StagedTransaction,
                     new: StagedTransaction, *, owner: str | None = None,
                     session_version: int | None = None) -> StagedTransaction:
        """Write `new` over `old` if `old` is still what is stored; counters follow in the same
        transaction. Conflict when the line or the session changed (or the session is busy); with
        `session_version`, also when the session's own fields changed since (a move to another account)."""
        new.version = old.version + 1
        counters = self._counters(tenant, session, counter_delta(old, new), owner=owner)
        counters.if_version = session_version
        try:
            self.store.transact([Put(self._line_item(tenant, new, session.workspace_id), if_version=old.version),
                                 counters])
        except ConditionFailed as exc:
            new.version = old.version
            busy = 1 in exc.indexes
            if busy and session_version is not None:
                current = self.store.get(self._session_key(tenant, session)) or {}
                busy = _int(current.get("version")) == session_version
            raise Conflict("the import session is busy (commit, close or delete in progress)" if busy else
                           f"staged transaction {old.id} or its session was changed concurrently; read it again",
                           code="SessionBusy" if busy else "ConcurrentUpdate", target="id") from None
        return new

    def replace_lines(self, tenant: Tenant, session: ImportSession,
                      pairs: Sequence[tuple[StagedTransaction, StagedTransaction]]) -> int:
        """Write many (old, new) pairs, 99 per transaction with their counters; a pair whose line changed
        meanwhile is skipped (the rest of its transaction is written again without it). Answers how many
        were written."""
        written = 0
        pending = list(pairs)
        while pending:
            chunk, pending = pending[:LINES_PER_TRANSACTION], pending[LINES_PER_TRANSACTION:]
            delta: dict[str, Decimal | int] = {}
            for old, new in chunk:
                new.version = old.version + 1
                for key, value in counter_delta(old, new).items():
                    delta[key] = delta.get(key, 0) + value
            actions: list[Any] = [Put(self._line_item(tenant, new, session.workspace_id), if_version=old.version)
                                  for old, new in chunk]
            try:
                self.store.transact([*actions, self._counters(tenant, session, delta, owner=None)])
                written += len(chunk)
            except ConditionFailed as exc:
                for old, new in chunk:
                    new.version = old.version
                if len(chunk) in exc.indexes or not exc.indexes:
                    raise Conflict("the import session is busy", code="SessionBusy", target="id") from None
                pending = [p for i, p in enumerate(chunk) if i not in exc.indexes] + pending
        return written

    def delete_lines(self, tenant: Tenant, session: ImportSession, lines: Sequence[StagedTransaction], *,
                     owner: str | None = None) -> list[StagedTransaction]:
        """Remove lines that are still as read, with their counters; answers the ones that were not
        (changed concurrently), which stay."""
        skipped: list[StagedTransaction] = []
        pending = list(lines)
        while pending:
            chunk, pending = pending[:LINES_PER_TRANSACTION], pending[LINES_PER_TRANSACTION:]
            delta: dict[str, Decimal | int] = {}
            for line in chunk:
                for key, value in counter_delta(line, None).items():
                    delta[key] = delta.get(key, 0) + value
            actions: list[Any] = [Delete(self._line_key(tenant, session, ln.seq), if_version=ln.version)
                                  for ln in chunk]
            try:
                self.store.transact([*actions, self._counters(tenant, session, delta, owner=owner)])
            except ConditionFailed as exc:
                if len(chunk) in exc.indexes or not exc.indexes:
                    raise Conflict("the import session is busy", code="SessionBusy", target="id") from None
                skipped += [chunk[i] for i in exc.indexes]
                pending = [ln for i, ln in enumerate(chunk) if i not in exc.indexes] + pending
        return skipped

    def _line_items(self, tenant: Tenant, session: ImportSession, start: int = 0) -> Iterator[dict[str, Any]]:
        last_block = max(session.next_seq - 1, 0) // BLOCK_SIZE
        for block in range(start // BLOCK_SIZE, last_block + 1):
            after = line_sk(start - 1) if start and block == start // BLOCK_SIZE else None
            yield from query_all(self.store, block_pk(tenant, session.workspace_id, session.id, block),
                                 prefix="ST#", after=after)

    def lines(self, tenant: Tenant, session: ImportSession, start: int = 0) -> Iterator[StagedTransaction]:
        """Every line from sequence `start` on, in order."""
        for item in self._line_items(tenant, session, start):
            yield self._line(item)

    def page(self, tenant: Tenant, session: ImportSession, *, limit: int, start: int = 0
             ) -> tuple[list[StagedTransaction], int | None]:
        """Up to `limit` lines from sequence `start`; answers the next start (None at the end). One
        Query per block touched (a page of up to BLOCK_SIZE lines touches at most two)."""
        items: list[dict[str, Any]] = []
        block = start // BLOCK_SIZE
        last_block = (session.next_seq - 1) // BLOCK_SIZE if session.next_seq else -1
        after = line_sk(start - 1) if start % BLOCK_SIZE else None
        while block <= last_block and len(items) <= limit:
            found, last = self.store.query(block_pk(tenant, session.workspace_id, session.id, block),
                                           prefix="ST#", after=after, limit=limit + 1 - len(items),
                                           fields=LINE_FIELDS)
            items += found
            block, after = (block + 1, None) if last is None else (block, last)
        lines = [self._line(i) for i in items]
        if len(lines) > limit:
            return lines[:limit], lines[limit].seq
        return lines, None

    # bindings -----------------------------------------------------------------------------------
    def put_binding(self, tenant: Tenant, binding: RecurringBinding, *, over_pending: bool = False) -> None:
        """Write a binding (its item's `version`: 0 while PENDING, 1 once CONFIRMED). `over_pending`: only over the
        binding still stored PENDING (ConditionFailed where a confirm or a reject took it first)."""
        self.store.write(Put({"pk": workspace_pk(tenant, binding.workspace_id),
                              "sk": f"BINDING#{binding.session_id}#{binding.id}", "doc": dump(binding),
                              "version": 0 if binding.status == BindingStatus.PENDING else 1},
                             if_version=0 if over_pending else None))

    def delete_pending_binding(self, tenant: Tenant, binding: RecurringBinding) -> None:
        """Delete a binding still stored PENDING (ConditionFailed where a confirm or a reject took it first)."""
        self.store.write(Delete((workspace_pk(tenant, binding.workspace_id),
                                 f"BINDING#{binding.session_id}#{binding.id}"), if_version=0))

    def bindings(self, tenant: Tenant, session: ImportSession) -> list[RecurringBinding]:
        items = query_all(self.store, workspace_pk(tenant, session.workspace_id), prefix=f"BINDING#{session.id}#")
        return [load(RecurringBinding, i["doc"]) for i in items]

    def get_binding(self, tenant: Tenant, session: ImportSession, binding_id: str) -> RecurringBinding:
        item = self.store.get((workspace_pk(tenant, session.workspace_id), f"BINDING#{session.id}#{binding_id}"))
        if not item:
            raise NotFound(f"recurring binding {binding_id} not found", code="BindingNotFound", target="binding_id")
        return load(RecurringBinding, item["doc"])

    def delete_bindings(self, tenant: Tenant, bindings: Sequence[RecurringBinding]) -> None:
        self.store.delete_many([(workspace_pk(tenant, b.workspace_id), f"BINDING#{b.session_id}#{b.id}")
                                for b in bindings])


#: the sort-key prefix of each kind of catalog document in the workspace's partition
CATALOG_PREFIXES: dict[type[BaseModel], str] = {
    Card: "CARD#", Category: "CATEGORY#", Subcategory: "SUBCATEGORY#", Tag: "TAG#", EnrichmentRule: "RULE#",
    RecurringItem: "RECURRING#", Invoice: "INVOICE#", LearningExample: "LEARN#",
}
TAG_NAME_PREFIX = "TAGNAME#"


def catalog_key(model: BaseModel) -> tuple[str, ...]:
    """What names a catalog document within its kind: a recurring item by its type and id, an invoice
    by its card and month, a learning example by its key, everything else by its id."""
    if isinstance(model, RecurringItem):
        return model.type.value, model.id
    if isinstance(model, Invoice):
        return model.card_id, model.billing_month
    if isinstance(model, LearningExample):
        return (model.key,)
    return (str(getattr(model, "id")),)  # noqa: B009 - every other kind has an id


def _catalog_sk(cls: type[BaseModel], *parts: str) -> str:
    return CATALOG_PREFIXES[cls] + "#".join(parts)


class CatalogRepository:
    """Cards, invoices, categories, subcategories, tags, recurring items, rules and learning examples:
    documents in the workspace's partition, each kind under its own sort-key prefix (`CATALOG_PREFIXES`).
    A document is named by its kind and its key parts (`catalog_key`); a prefix of the parts lists the
    documents under it (a card's invoices, one type of recurring items)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, tenant: Tenant, workspace_id: str, model: BaseModel, *, create: bool = False) -> None:
        """Store a document (Conflict AlreadyExists when `create` and it exists)."""
        item = {"pk": workspace_pk(tenant, workspace_id), "sk": _catalog_sk(type(model), *catalog_key(model)),
                "doc": dump(model)}
        try:
            self.store.write(Put(item, if_absent=create))
        except ConditionFailed:
            raise Conflict(f"{type(model).__name__.lower()} already exists", code="AlreadyExists") from None

    def get(self, tenant: Tenant, workspace_id: str, cls: type[M], *key: str) -> M | None:
        item = self.store.get((workspace_pk(tenant, workspace_id), _catalog_sk(cls, *key)))
        return load(cls, item["doc"]) if item else None

    def get_many(self, tenant: Tenant, workspace_id: str, cls: type[M], keys: Sequence[tuple[str, ...]]
                 ) -> dict[tuple[str, ...], M]:
        """The documents that exist among `keys`, by key."""
        pk = workspace_pk(tenant, workspace_id)
        found = [load(cls, i["doc"]) for i in self.store.get_many([(pk, _catalog_sk(cls, *k)) for k in keys])]
        return {catalog_key(model): model for model in found}

    def list_of(self, tenant: Tenant, workspace_id: str, cls: type[M], *parent: str) -> list[M]:
        """Every document of a kind, or those under the key parts `parent` (in key order)."""
        prefix = _catalog_sk(cls, *parent) + ("#" if parent else "")
        return [load(cls, i["doc"]) for i in query_all(self.store, workspace_pk(tenant, workspace_id), prefix=prefix)]

    def delete(self, tenant: Tenant, workspace_id: str, cls: type[BaseModel], *key: str) -> bool:
        """Remove a document; False when there was none."""
        try:
            self.store.write(Delete((workspace_pk(tenant, workspace_id), _catalog_sk(cls, *key)), if_exists=True))
        except ConditionFailed:
            return False
        return True

    def claim_tag_name(self, tenant: Tenant, workspace_id: str, name: str, tag_id: str) -> str:
        """Map a tag's (normalised) name to its id, first writer wins; answers the id the name maps to."""
        key = (workspace_pk(tenant, workspace_id), f"{TAG_NAME_PREFIX}{name}")
        try:
            self.store.write(Put({"pk": key[0], "sk": key[1], "target": tag_id}, if_absent=True))
            return tag_id
        except ConditionFailed:
            item = self.store.get(key)
            return str((item or {}).get("target", tag_id))

    def take_tag_name(self, tenant: Tenant, workspace_id: str, name: str, tag_id: str) -> None:
        """Map a name to `tag_id` whatever it mapped to (its tag was deleted)."""
        self.store.write(Put({"pk": workspace_pk(tenant, workspace_id), "sk": f"{TAG_NAME_PREFIX}{name}",
                              "target": tag_id}))

    # invoices: every change of state is conditional on the version read; a commit holds the invoice -----
    @staticmethod
    def _invoice_key(tenant: Tenant, workspace_id: str, invoice: Invoice) -> tuple[str, str]:
        return workspace_pk(tenant, workspace_id), _catalog_sk(Invoice, invoice.card_id, invoice.billing_month)

    def get_invoice(self, tenant: Tenant, workspace_id: str, card_id: str, billing_month: str) -> Invoice | None:
        """The invoice with the version its item holds (0 for an item written before invoices had one)."""
        item = self.store.get((workspace_pk(tenant, workspace_id), _catalog_sk(Invoice, card_id, billing_month)))
        if not item:
            return None
        invoice = load(Invoice, item["doc"])
        invoice.version = _int(item.get("version"))
        return invoice

    def hold_invoice(self, tenant: Tenant, workspace_id: str, invoice: Invoice, owner: str, *,
                     seconds: int = 300) -> None:
        """Hold the invoice for a commit (a lease renewed by calling again) while it is still as read at
        `invoice.version` and no other commit holds it: a close cannot pay it meanwhile (`set_invoice`), and a
        commit cannot start into an invoice a close changed. Raises ConditionFailed otherwise."""
        self.store.write(Update(self._invoice_key(tenant, workspace_id, invoice),
                                set={LOCK_OWNER: owner, LOCK_UNTIL: int(time.time()) + seconds},
                                unlocked_for=owner, **_at_version(invoice.version)))

    def release_invoice(self, tenant: Tenant, workspace_id: str, invoice: Invoice, owner: str) -> None:
        with contextlib.suppress(ConditionFailed):  # the lease expired and another holds it: nothing of ours
            self.store.write(Update(self._invoice_key(tenant, workspace_id, invoice), remove=(LOCK_OWNER, LOCK_UNTIL),
                                    locked_by=owner))

    def set_invoice(self, tenant: Tenant, workspace_id: str, invoice: Invoice) -> None:
        """Write the invoice's new state if its item is still at `invoice.version` and no commit holds it
        (raises ConditionFailed, and nothing changes); `invoice.version` moves on."""
        doc = invoice.model_copy(update={"version": invoice.version + 1})
        self.store.write(Update(self._invoice_key(tenant, workspace_id, invoice), set={"doc": dump(doc)},
                                add={"version": 1}, unlocked_for=NOBODY, **_at_version(invoice.version)))
        invoice.version += 1

    def learn(self, tenant: Tenant, workspace_id: str, examples: Sequence[LearningExample]) -> None:
        """Put learning examples, 25 to a request: the latest filing of a description wins (of two with one key,
        the later in `examples`)."""
        pk = workspace_pk(tenant, workspace_id)
        latest = {example.key: example for example in examples}
        self.store.put_many([{"pk": pk, "sk": _catalog_sk(LearningExample, key), "doc": dump(example)}
                             for key, example in latest.items()])


#: how long an outbox item stays after it was written (DynamoDB TTL removes it; its event left at once)
OUTBOX_TTL_SECONDS = 7 * 24 * 3600
#: outbox items live in the imports table, whose stream the events function already reads (the sessions
#: table, written line by line, is not streamed)
OUTBOX_PREFIX = "SESSIONEVENT#"


class EventSink(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Announce an event (the detail names the tenant: organisationId, companyId)."""
        ...


class OutboxSink:
    """Session events as outbox items `SESSIONEVENT#<id>` in the tenant's partition of the imports table:
    its stream hands each new one to the events function (`tximport.services.events`), which puts it on
    the bus at least once with an `eventId`. The detail names the tenant."""

    def __init__(self, imports_store: Store) -> None:
        self.store = imports_store

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        tenant = Tenant(organisation_id=detail["organisationId"], company_id=detail["companyId"])
        self.store.write(Put({"pk": tenant_pk(tenant), "sk": f"{OUTBOX_PREFIX}{new_id()}", "detail_type": detail_type,
                              "detail": json.dumps(detail, default=str),
                              "expiresAt": int(time.time()) + OUTBOX_TTL_SECONDS}))


def outbox_event(new_image: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(detail type, detail) of an outbox item as its stream record shows it."""
    return str(new_image["detail_type"]), json.loads(str(new_image["detail"]))
