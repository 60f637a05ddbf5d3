"""The `Idempotency-Key` header of the creating routes: a retried request answers the first answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from tximport.api.context import tenant_of
from tximport.runtime import container

#: answered (as "true") when the answer is a stored one, not a new run
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=128,
    description=(
        "Optional, 1 to 128 characters (a UUID is a good choice). Sending the same key with the same body "
        "again within 24 hours answers the first answer again (same ids, same status code, with the header "
        f"`{REPLAYED_HEADER}: true`) instead of creating twice; the same key with a different body answers "
        "409 `IdempotencyKeyReused`, and while the first request is still running, 409 "
        "`IdempotencyRequestInProgress`. Keys are per tenant and per route. A request that failed stores "
        "nothing, so retrying it runs it again."),
    examples=["5f0c6a2e-3b7d-4e0a-9c41-8d2f7b6a1e93"])]


#: the calling application, as the document's clients send it (the import's sourceProduct)
XApplication = Annotated[str | None, Header(
    alias="x-application", max_length=200,
    description="Your application's identifier (the document's x-application header): kept as the "
                "import's sourceProduct.", examples=["sage.integrate.myproduct"])]

BodyT = TypeVar("BodyT", bound=BaseModel)


def answer_once(router: Any, route: str, key: str | None, body: BaseModel,
                action: Callable[[], Response[BodyT]], *,
                on_replay: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Response[BodyT]:
    """Answer `action()`; with an Idempotency-Key, at most once per tenant, route and key.

    `action` answers a Response with a typed body (stored as its JSON); `on_replay` may refresh a
    stored answer body before it is answered again (a presigned URL that has expired since). The route's
    return annotation validates a replayed body like a fresh one.
    """
    if key is None:
        return action()

    def run() -> dict[str, Any]:
        response = action()
        stored = response.body.model_dump(mode="json", by_alias=True) if isinstance(response.body, BaseModel) \
            else response.body
        return {"statusCode": response.status_code, "body": stored}

    # the body as validated, dumped by its wire names: equal requests hash equal whatever the key order
    request_body = body.model_dump(mode="json", by_alias=True)
    stored, replayed = container().idempotency.run(tenant_of(router), route, key, request_body, run,
                                                   lambda_context=router.lambda_context)
    answer = stored["body"]
    if replayed and on_replay is not None:
        answer = on_replay(answer)
    return Response(status_code=stored["statusCode"], content_type="application/json",
                    body=answer, headers={REPLAYED_HEADER: "true"} if replayed else None)
