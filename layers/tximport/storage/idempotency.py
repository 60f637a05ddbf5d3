"""Safe retries: Powertools' idempotency utility, with its records in the imports table.

A record lives in the caller's own partition (pk = T#org#company, sk = IDEMPOTENCY#<sha256>), so a key
can never answer another tenant, and it expires through the table's TTL attribute (expiresAt). The hash
covers organisationId, companyId, the route and the client's Idempotency-Key; the request body is
hashed separately and compared on every reuse of the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from tximport.errors import Conflict
from tximport.models import Tenant
from tximport.storage import keys

#: the sort-key prefix of idempotency records (Powertools' key prefix: sk = IDEMPOTENCY#<hash>)
KEY_PREFIX = "IDEMPOTENCY"
#: joins pk and sk inside Powertools' single idempotency key string; tenant ids never hold it (api.context)
_SEPARATOR = "|"
#: how long a key answers the same again, unless configured otherwise
DEFAULT_TTL_SECONDS = 24 * 3600
#: the imports table's keys (storage/keys.py)
_KEY_ATTR, _SORT_KEY_ATTR = "pk", "sk"
#: the imports table's TTL attribute (epoch seconds; infra/definitions.TTL_ATTRIBUTE)
TTL_ATTRIBUTE = "expiresAt"


class TenantIdempotencyLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB persistence layer, placing each record in its tenant's partition.

    The stock layer puts every record under one static partition key; here the partition is the
    tenant's, taken from the hashed request itself (`organisationId`, `companyId`), so the key
    layout of storage/keys.py holds for idempotency records too.
    """

    def __init__(self, table_name: str, *, boto3_client: Any = None, **kwargs: Any) -> None:
        super().__init__(table_name=table_name, key_attr=_KEY_ATTR, sort_key_attr=_SORT_KEY_ATTR,
                         expiry_attr=TTL_ATTRIBUTE, in_progress_expiry_attr="inProgressExpiresAt",
                         status_attr="status", data_attr="response", validation_key_attr="payloadHash",
                         boto3_client=boto3_client, **kwargs)

    def _get_hashed_idempotency_key(self, data: dict[str, Any]) -> str | None:
        hashed = super()._get_hashed_idempotency_key(data)  # "IDEMPOTENCY#<sha256 of tenant, route, key>"
        if hashed is None:
            return None
        tenant = Tenant(organisation_id=data["organisationId"], company_id=data["companyId"])
        return f"{keys.tenant_pk(tenant)}{_SEPARATOR}{hashed}"

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        pk, sk = idempotency_key.split(_SEPARATOR, 1)
        return {_KEY_ATTR: {"S": pk}, _SORT_KEY_ATTR: {"S": sk}}

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        record = super()._item_to_data_record(item)
        # the stock layer reads the key back from the partition key alone; ours spans both attributes
        record.idempotency_key = f"{record.idempotency_key}{_SEPARATOR}{record.sort_key}"
        return record


class IdempotentCalls:
    """Runs a creating call at most once per tenant, route and Idempotency-Key.

    The first call with a key runs the action and stores its JSON answer; the same key with the same
    body answers that stored answer again until it expires; the same key with another body is
    `IdempotencyKeyReused` (409); the same key while the first call still runs is
    `IdempotencyRequestInProgress` (409). An action that raises stores nothing, so a retry runs again.
    """

    def __init__(self, persistence: TenantIdempotencyLayer, *, expires_after_seconds: int = DEFAULT_TTL_SECONDS
                 ) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="[organisationId, companyId, route, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
            hash_function="sha256",
            response_hook=_mark_replayed,
        )
        # one decorated function for every route (the route is part of the hashed key): the layer's
        # key prefix is then the same on every call
        self._call = idempotent_function(_run_action, data_keyword_argument="request", persistence_store=persistence,
                                         config=self._config, key_prefix=KEY_PREFIX)

    def run(self, tenant: Tenant, route: str, key: str, body: Any, action: Callable[[], dict[str, Any]], *,
            lambda_context: Any = None) -> tuple[dict[str, Any], bool]:
        """The answer of `action` for this tenant, route and key (run now or stored), and whether it
        is a replay. `body` is the request as validated (JSON-serialisable); `action` answers a
        JSON-serialisable dict. With the Lambda context, a call that dies mid-way holds its key only
        until the invocation would have timed out."""
        remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
        # without a Lambda context (tests, the local stack's direct calls) no deadline is known
        self._config.lambda_context = lambda_context if callable(remaining) else None
        request = {"organisationId": tenant.organisation_id, "companyId": tenant.company_id, "route": route,
                   "key": key, "body": body}
        try:
            answer = self._call(action, request=request)
        except IdempotencyValidationError as exc:
            raise Conflict("this Idempotency-Key was already used with a different request body",
                           code="IdempotencyKeyReused", target="Idempotency-Key") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry later",
                           code="IdempotencyRequestInProgress", target="Idempotency-Key") from exc
        replayed = bool(answer.pop(_REPLAYED, False))
        return answer, replayed


_REPLAYED = "__replayed__"


def _run_action(action: Callable[[], dict[str, Any]], *, request: dict[str, Any]) -> dict[str, Any]:
    """Run the action; its answer goes through JSON now, so the first answer and every replay of it
    are the same text (Decimal amounts become the decimal strings the API answers anyway)."""
    answer: dict[str, Any] = json.loads(json.dumps(action(), cls=Encoder))
    return answer


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only for an answer read back from the store."""
    return {**response, _REPLAYED: True} if isinstance(response, dict) else response
