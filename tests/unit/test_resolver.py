"""The API's resolver keeps the request it resolves per thread: concurrent requests never see each
other's event (and so never another tenant's claims)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from tximport.api.resolver import ThreadLocalHttpResolver


def _event(tenant: str, path: str = "/whoami") -> dict[str, Any]:
    return {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "",
            "headers": {}, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                               "requestId": tenant, "stage": "$default",
                               "authorizer": {"jwt": {"claims": {"organisationId": tenant}, "scopes": []}}}}


def _app(parties: int) -> ThreadLocalHttpResolver:
    router = Router()
    barrier = threading.Barrier(parties)

    @router.get("/whoami")
    def whoami() -> dict[str, Any]:
        before = router.current_event.request_context.authorizer.jwt_claim["organisationId"]
        barrier.wait(timeout=10)  # every request has now been handed to the resolver
        after = router.current_event.request_context.authorizer.jwt_claim["organisationId"]
        return {"before": before, "after": after, "context": router.lambda_context}

    app = ThreadLocalHttpResolver(enable_validation=True)
    app.include_router(router)
    return app


def test_concurrent_requests_each_see_their_own_event_and_context():
    parties = 8
    app = _app(parties)

    def resolve(n: int) -> str:
        return app.resolve(_event(f"tenant-{n}"), f"context-{n}")["body"]

    with ThreadPoolExecutor(max_workers=parties) as pool:
        bodies = list(pool.map(resolve, range(parties)))
    assert bodies == [f'{{"before":"tenant-{n}","after":"tenant-{n}","context":"context-{n}"}}'
                      for n in range(parties)]


def test_one_thread_resolves_one_request_after_another_as_in_lambda():
    app = _app(1)
    for n in range(3):
        assert f'"after":"tenant-{n}"' in app.resolve(_event(f"tenant-{n}"), None)["body"]
    assert app.current_event is None and app.context == {}
