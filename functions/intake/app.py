"""intake: the button agent API. Thin: Powertools decorators, then resolve; routes live in routes.py.

Intake is on the button agent's hot path, so its cold start stays light: no X-Ray SDK here (the function's
active tracing still records every invocation and API Gateway traces the request); the dispatcher, where the
slow Autotask calls happen, is the function that carries the Tracer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import app

from helpdesk.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
