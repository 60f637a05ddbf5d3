"""`POST /enrichment/transactions`: a suggestion (EnrichedTransaction) per description, synchronously."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tximport.api.sessions.context import WorkspaceHeader, scope_of
from tximport.api.sessions.docs import answers
from tximport.api.sessions.http import respond
from tximport.api.sessions.models import EnrichedTransactionList, EnrichmentRequest
from tximport.api.sessions.views import enriched_view
from tximport.runtime import container

router = Router()


@router.post("/enrichment/transactions", summary="Enrich a batch of transactions", tags=["Enrichment"],
             description="Up to 1,000 `{description, type}` (type INCOME or EXPENSE, the category type). Each answer "
                         "names the category and subcategory the workspace's rules or its committed transactions "
                         "suggest, with `confidence`, `band` (applied > 0.85, review 0.60 to 0.85, low below: then "
                         "nothing is named) and `source` (rule, learning) beside the document's fields.",
             responses=answers(EnrichedTransactionList, 200))
def enrich_transactions(body: Annotated[EnrichmentRequest, Body()], workspace: WorkspaceHeader = None
                        ) -> Response[str]:
    scope = scope_of(router, workspace)
    found = container().sessions.enrich.enrich_descriptions(scope, [(t.description, t.type) for t in body.root])
    return respond([enriched_view(item) for item in found])
