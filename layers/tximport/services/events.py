"""Status events, published from the DynamoDB stream of the table that holds the items, so none is lost.

Every write to a streamed table reaches its stream (NEW_AND_OLD_IMAGES). The events function reads the
stream in order and turns each change of an item's status into EventBridge events: a status that was
saved is announced at least once, even when the function that saved it stopped right after. When
EventBridge does not accept an event, the function reports the record it came from and Lambda reads the
stream again from there (ReportBatchItemFailures), so nothing is skipped; an event may then arrive
twice, with the same `detail.eventId` (the stream record's id) for consumers to drop the repeat.

Item types announce their own changes by registering a translator for their table and sort-key prefix
in `default_translators()`; the stack subscribes the events function to the tables named there and lets
only those prefixes through its stream filter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBStreamEvent

from tximport.models import Import, ImportStatus, iso
from tximport.storage.keys import import_sk
from tximport.storage.repository import ImportsRepository
from tximport.storage.sessions import OUTBOX_PREFIX, outbox_event

log = logging.getLogger(__name__)

SOURCE = "tximport"
IMPORT_STATUS_CHANGED = "ImportStatusChanged"
#: at most this many entries per PutEvents call (an EventBridge limit)
MAX_ENTRIES_PER_CALL = 10


@dataclass(frozen=True)
class StreamChange:
    """One stream record, decoded: the item before and after the write (None where there is none)."""

    event_id: str  # the stream record's id: the same on every retry of the record
    sequence_number: str  # what a partial batch failure reports
    table: str  # the table's logical key in infra/definitions.TABLES ("imports")
    keys: Mapping[str, Any]
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class Event:
    """One event for the bus. `detail` carries `eventId`, the key consumers deduplicate on."""

    detail_type: str
    detail: dict[str, Any]
    time: datetime | None = None
    source: str = SOURCE


#: turns one change into its events (none when nothing worth announcing changed)
Translator = Callable[[StreamChange], list[Event]]


@dataclass
class TranslatorRegistry:
    """Translators by table and sort-key prefix."""

    sort_key: str = "sk"
    _entries: list[tuple[str, str, Translator]] = field(default_factory=list)

    def register(self, table: str, sort_key_prefix: str, translator: Translator) -> None:
        """Announce the changes of `table`'s items whose sort key starts with `sort_key_prefix`."""
        self._entries.append((table, sort_key_prefix, translator))

    def tables(self) -> tuple[str, ...]:
        """The tables whose streams carry events."""
        return tuple(dict.fromkeys(table for table, _, _ in self._entries))

    def prefixes(self, table: str) -> tuple[str, ...]:
        """The sort-key prefixes registered for `table` (the stream filter lets only these through)."""
        return tuple(dict.fromkeys(prefix for t, prefix, _ in self._entries if t == table))

    def translate(self, change: StreamChange) -> list[Event]:
        """Every event of one change. A record's second and later events get `<eventId>#<n>` ids."""
        sort_key = str(change.keys.get(self.sort_key, ""))
        events = [event for table, prefix, translate in self._entries
                  if table == change.table and sort_key.startswith(prefix) for event in translate(change)]
        for n, event in enumerate(events):
            event.detail["eventId"] = change.event_id if n == 0 else f"{change.event_id}#{n}"
        return events


# --- imports ---------------------------------------------------------------------------------------
def import_status_events(change: StreamChange) -> list[Event]:
    """`ImportStatusChanged` for a new import, a change of status, and a finished revert (newStatus
    `reverted`, with the import's status as oldStatus)."""
    if change.new is None:
        return []  # removed (a delete or TTL): the import's last status was announced already
    new = ImportsRepository.from_item(change.new)
    old = ImportsRepository.from_item(change.old) if change.old is not None else None
    events = []
    if old is None or old.status != new.status:
        events.append(_import_event(new, old.status.value if old else None, new.status.value))
    if new.revert.status == "reverted" and (old is None or old.revert.status != "reverted"):
        events.append(_import_event(new, new.status.value, "reverted"))
    return events


def _import_event(imp: Import, old: str | None, new: str) -> Event:
    detail: dict[str, Any] = {
        "importId": imp.id,
        "organisationId": imp.organisation_id,
        "companyId": imp.company_id,
        "oldStatus": old,
        "newStatus": new,
        "bankAccountIds": [a.id for a in imp.bank_accounts],
        "time": iso(imp.updated),  # when the change was saved, however late it is published
    }
    if imp.error_details and new == "error":
        detail["errorCodes"] = sorted({e.code for e in imp.error_details})
    return Event(IMPORT_STATUS_CHANGED, detail, time=imp.updated)


# --- statement checks -----------------------------------------------------------------------------
#: check code -> the event it raises (README "Statement checks")
STATEMENT_EVENTS = {"StatementGap": "StatementGapDetected", "BalanceMismatch": "BalanceMismatch",
                    "StatementOverlap": "StatementOverlapDetected"}
#: the statuses processing hands an import on in, once its statements are checked
_CHECKED = frozenset({ImportStatus.AWAITING_CONFIRMATION, ImportStatus.FINAL_PROCESSING})


def statement_check_events(change: StreamChange) -> list[Event]:
    """`StatementGapDetected`, `BalanceMismatch` (and `StatementOverlapDetected`) for each failed check of
    an import's statements, once: when processing hands the import on (it leaves `processing`)."""
    if change.new is None or change.old is None:
        return []
    new = ImportsRepository.from_item(change.new)
    old = ImportsRepository.from_item(change.old)
    if old.status != ImportStatus.PROCESSING or new.status not in _CHECKED:
        return []
    events = []
    for report in new.statements:
        for check in report.checks:
            detail_type = STATEMENT_EVENTS.get(check.code)
            if detail_type is None:
                continue
            detail: dict[str, Any] = {
                "importId": new.id, "organisationId": new.organisation_id, "companyId": new.company_id,
                "bankAccountId": report.bank_account_id, "statementId": report.statement_id,
                "statementIndex": report.index, "code": check.code, "message": check.message,
                **{k: (format(v, "f") if v is not None else None) for k, v in (
                    ("expected", check.expected), ("computed", check.computed), ("difference", check.difference))},
                "lineNumber": check.line_number,
                "startDate": check.start_date.isoformat() if check.start_date else None,
                "endDate": check.end_date.isoformat() if check.end_date else None,
                "lineCount": check.line_count, "previousImportId": check.previous_import_id,
                "time": iso(new.updated),
            }
            events.append(Event(detail_type, detail, time=new.updated))  # every field, null when unknown
    return events


# --- import sessions ------------------------------------------------------------------------------
def session_outbox_events(change: StreamChange) -> list[Event]:
    """The event an import session wrote to its outbox (commit, close): published once it is saved."""
    if change.new is None:
        return []  # the outbox item expired: its event left when it was written
    detail_type, detail = outbox_event(dict(change.new))
    return [Event(detail_type, detail)]


def default_translators() -> TranslatorRegistry:
    """The service's translators: each item type with status events registers here."""
    registry = TranslatorRegistry()
    registry.register("imports", import_sk(""), import_status_events)
    registry.register("imports", import_sk(""), statement_check_events)
    registry.register("imports", OUTBOX_PREFIX, session_outbox_events)
    # reconciliations (services/reconciliations/status_events.py imports this module: imported here)
    from tximport.services.reconciliations.status_events import PREFIX, reconciliation_status_events

    registry.register("imports", PREFIX, reconciliation_status_events)
    return registry


# --- reading the stream, publishing --------------------------------------------------------------
def stream_changes(event: Mapping[str, Any], tables: Mapping[str, str]) -> list[StreamChange]:
    """The changes of a DynamoDB stream event, in order. `tables` maps table names to logical keys."""
    changes = []
    for record in DynamoDBStreamEvent(dict(event)).records:
        stream = record.dynamodb
        if stream is None:
            continue
        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        table_name = (record.event_source_arn or "").split(":table/", 1)[-1].split("/", 1)[0]
        changes.append(StreamChange(
            event_id=record.event_id or "", sequence_number=stream.sequence_number or "",
            table=tables.get(table_name, table_name), keys=stream.keys or {},
            old=stream.old_image or None, new=stream.new_image or None))
    return changes


class EventBusPublisher:
    """Puts events on the service's bus (EventBridge PutEvents, up to 10 entries a call)."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def put(self, events: Sequence[Event]) -> int | None:
        """Put `events` in order; answer the index of the first one EventBridge did not accept, or None.
        Entries after a refused one may have been accepted (at least once, never lost)."""
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            batch = events[start:start + MAX_ENTRIES_PER_CALL]
            answer = self.client.put_events(Entries=[self._entry(e) for e in batch])
            if answer.get("FailedEntryCount"):
                refused = [i for i, result in enumerate(answer.get("Entries", [])) if result.get("ErrorCode")]
                log.warning("EventBridge refused %s of %s events: %s", answer["FailedEntryCount"], len(batch),
                            [answer["Entries"][i] for i in refused][:3])
                return start + (refused[0] if refused else 0)
        return None

    def _entry(self, event: Event) -> dict[str, Any]:
        entry: dict[str, Any] = {"Source": event.source, "DetailType": event.detail_type,
                                 "Detail": json.dumps(event.detail),
                                 "EventBusName": self.bus_name, "Resources": []}
        if event.time is not None:
            entry["Time"] = event.time.astimezone(UTC)
        return entry


class StatusEventPublisher:
    """Publishes the events of a batch of stream changes (what the events function runs)."""

    def __init__(self, publisher: EventBusPublisher, translators: TranslatorRegistry | None = None) -> None:
        self.publisher = publisher
        self.translators = translators or default_translators()

    def publish(self, changes: Sequence[StreamChange]) -> str | None:
        """Publish every event of `changes`, in order. Answer the sequence number of the first change
        whose events are not all on the bus (Lambda reads the stream again from it), or None."""
        events: list[Event] = []
        owner: list[int] = []  # the change each event came from
        stop = len(changes)
        for index, change in enumerate(changes):
            try:
                translated = self.translators.translate(change)
            except Exception:  # a record we cannot read yet is retried, never skipped
                log.exception("cannot translate stream record %s", change.event_id)
                stop = index
                break
            events += translated
            owner += [index] * len(translated)
        refused = self.publisher.put(events)
        failed = min(stop, owner[refused]) if refused is not None else stop
        return changes[failed].sequence_number if failed < len(changes) else None


def batch_item_failures(sequence_number: str | None) -> dict[str, list[dict[str, str]]]:
    """The answer ReportBatchItemFailures reads: Lambda retries the stream from this record on."""
    return {"batchItemFailures": [{"itemIdentifier": sequence_number}] if sequence_number else []}
