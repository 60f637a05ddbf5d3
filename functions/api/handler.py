"""API Lambda: API Gateway (HTTP API, payload 2.0) -> the Powertools resolver in tximport.api."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tximport.api.app import resolve
from tximport.runtime import cold_start

logger = Logger(service="tximport")
tracer = Tracer(service="tximport")
# a missing setting fails here, when Lambda loads the function; so does an unreadable cursor key, read once
_cursors = cold_start("api").cursors


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(event, context)
