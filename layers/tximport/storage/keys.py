"""DynamoDB key layout. Every key starts with the tenant, so one tenant can never read another's items.

imports table (pk = T#org#company):
  ACCOUNT#<accountId>                 bank account
  IDENTIFIER#<IDENTIFIER>             the account created for an identifier (spaces out, upper case)
  SETTINGS                            the tenant's settings
  POLL#<importId>                     how often the import was polled (statusMonitor), beside the import
  IMPORT#<importId>                   import (ids are time-ordered: newest first by key); its statusKey
                                      (T#org#company#S#<status>) keys the sparse byStatus index (sk as range)
  DECISION#<importId>#g<generation>#<transactionId>  per-line decision overriding the default, for one
                                      processing run (an amend starts a new generation: old decisions no
                                      longer apply, and nothing has to delete them first)
  LOCK#<accountId>                    the active import of an account
  QUEUE#<accountId>#<created>#<importId>  an import waiting for the account (task token)
  REPLAY#<accountId>#<fileSha256>     a file already imported into an account
  IDEMPOTENCY#<sha256>                a creating request's stored answer, per Idempotency-Key (storage/idempotency.py)
  SESSIONEVENT#<id>                   an import session's event, published from the stream (storage/sessions.py)
  RECON#<reconciliationId>            a reconciliation (storage/reconciliations.py)
  RECONDAY#<accountId>#<yyyy-mm-dd>   a day of an account claimed by a reconciliation's period (the overlap guard)
  RECONOVR#<reconciliationId>#<index:08d>  a manual decision on one reconciliation entry
  STMT#<accountId>#<yyyy-mm-dd>#<importId>#<index:04d>  a confirmed statement of an account, by the day it
                                   ends (storage/statements.py: the latest is the account's last closing)
  index "inflight": an import whose workflow is under way (queued to finalProcessing) also carries
  inflightShard = S<0..7> and updatedAt = <ISO time>, so the reaper's sweep finds those not changed
  for a while without scanning every tenant (8 shards spread the writes)
ledger table:
  pk = T#org#company#A#<accountId>#D#<yyyy-mm-dd>, sk = TX#<transactionId>   a confirmed transaction
  pk = T#org#company#A#<accountId>,                sk = DAY#<yyyy-mm-dd>      the account has lines that day
  pk = T#org#company#A#<accountId>,                sk = REF#<transactionId>   a public transaction's line
                                                     (the posted transactionId -> its day and ledger id)
  pk = T#org#company#A#<accountId>,                sk = BAL#<yyyy-mm-dd>      the sum and count of the day's lines
  pk = T#org#company#A#<accountId>,                sk = PENDING#<transactionId>  a pending line not booked yet
                                   (recomputed from the day's lines whenever lines of that day are written or removed)
  pk = T#org#company#A#<cardId>,  sk = INVOICEDAY#<yyyy-mm>#<yyyy-mm-dd>  a card's invoice has lines that day
  pk = T#org#company#A#<accountId>, sk = VALIDATING#<period>#<transactionId>  an import-session line awaiting
                                   close (period: its day, or its invoice's month in a card's partition)
sessions table: see storage/sessions.py
"""

from __future__ import annotations

import hashlib
from datetime import date

from tximport.models import Tenant


def tenant_pk(tenant: Tenant) -> str:
    return f"T#{tenant.organisation_id}#{tenant.company_id}"


def account_sk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def identifier_sk(identifier: str) -> str:
    return "IDENTIFIER#" + "".join(identifier.split()).upper()


def poll_sk(import_id: str) -> str:
    return f"POLL#{import_id}"


SETTINGS_SK = "SETTINGS"


def status_key(tenant: Tenant, status: str) -> str:
    """The partition key of the imports table's byStatus index: one tenant's imports in one status."""
    return f"{tenant_pk(tenant)}#S#{status}"


def import_sk(import_id: str) -> str:
    return f"IMPORT#{import_id}"


def decision_sk(import_id: str, generation: int | None = None, transaction_id: str = "") -> str:
    """A decision's sort key; without a generation, the prefix of every decision of the import."""
    if generation is None:
        return f"DECISION#{import_id}#"
    return f"DECISION#{import_id}#g{generation}#{transaction_id}"


def lock_sk(account_id: str) -> str:
    return f"LOCK#{account_id}"


def queue_prefix(account_id: str) -> str:
    return f"QUEUE#{account_id}#"


def replay_sk(account_id: str, digest: str) -> str:
    return f"REPLAY#{account_id}#{digest}"


def statement_prefix(account_id: str) -> str:
    return f"STMT#{account_id}#"


def statement_sk(account_id: str, end: date, import_id: str, index: int) -> str:
    return f"{statement_prefix(account_id)}{end.isoformat()}#{import_id}#{index:04d}"


def reconciliation_sk(reconciliation_id: str) -> str:
    return f"RECON#{reconciliation_id}"


def reconciliation_day_sk(account_id: str, day: str) -> str:
    return f"RECONDAY#{account_id}#{day}"


def reconciliation_override_sk(reconciliation_id: str, index: int | None = None) -> str:
    """The override of entry `index`, or (without it) the prefix of every override of the reconciliation."""
    return f"RECONOVR#{reconciliation_id}#" + ("" if index is None else f"{index:08d}")


def ledger_day_pk(tenant: Tenant, account_id: str, day: date | str) -> str:
    day_text = day if isinstance(day, str) else day.isoformat()
    return f"{tenant_pk(tenant)}#A#{account_id}#D#{day_text}"


def ledger_account_pk(tenant: Tenant, account_id: str) -> str:
    return f"{tenant_pk(tenant)}#A#{account_id}"


def ledger_tx_sk(transaction_id: str) -> str:
    return f"TX#{transaction_id}"


LEDGER_DAY_PREFIX = "DAY#"
LEDGER_TOTAL_PREFIX = "BAL#"
LEDGER_PENDING_PREFIX = "PENDING#"


def ledger_pending_sk(transaction_id: str) -> str:
    """An account's pending line not yet replaced by its booked line (storage/ledger.py)."""
    return f"{LEDGER_PENDING_PREFIX}{transaction_id}"


def ledger_total_sk(day: date) -> str:
    """The sum of an account's lines on `day` (storage/ledger.py, LedgerRepository.refresh_totals)."""
    return f"{LEDGER_TOTAL_PREFIX}{day.isoformat()}"


def ledger_ref_sk(bank_transaction_id: str) -> str:
    return f"REF#{bank_transaction_id}"


def ledger_day_sk(day: date) -> str:
    return f"{LEDGER_DAY_PREFIX}{day.isoformat()}"


#: index items of import-session lines in an account's partition (storage/ledger.py)
LEDGER_INVOICE_DAY_PREFIX = "INVOICEDAY#"
LEDGER_VALIDATING_PREFIX = "VALIDATING#"


def ledger_invoice_day_sk(billing_month: str, day: date) -> str:
    return f"{LEDGER_INVOICE_DAY_PREFIX}{billing_month}#{day.isoformat()}"


def ledger_validating_sk(period: str, transaction_id: str) -> str:
    return f"{LEDGER_VALIDATING_PREFIX}{period}#{transaction_id}"


#: the imports table's index of imports whose workflow is under way, and its keys
IN_FLIGHT_INDEX = "inflight"
IN_FLIGHT_SHARD = "inflightShard"
IN_FLIGHT_UPDATED = "updatedAt"
IN_FLIGHT_SHARDS = 8


def in_flight_shard(import_id: str) -> str:
    """The index partition an import's entry goes to (stable per import)."""
    return f"S{int(hashlib.sha256(import_id.encode()).hexdigest()[:8], 16) % IN_FLIGHT_SHARDS}"
