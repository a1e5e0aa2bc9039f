"""rules: evaluates tenant Dispatcher Rules in the sandbox. Invoked with boto3 ``lambda.invoke`` only.

Event: helpdesk.domain.rules.RulesRequest  ``{"action": "evaluate"|"validate"|"test", "tenant_id", "version",
"source", "variables"}``. Returns helpdesk.domain.rules.RuleResult as a JSON-compatible dict; a bad event gives
``{"status": "invalid_request", "request_error": ...}``, never an unhandled error. See docs/rules.md.

Defence in depth: this function's role may only write its own logs and its environment holds no secrets. The
engine (and its compiled-rules LRU cache keyed by tenant and version) lives for the execution environment.
Rules source and variables are never logged (they hold end-user data).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.observability import logger, tracer
from helpdesk.rules.service import RulesService

SERVICE = RulesService()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = SERVICE.handle(event)
    logger.info(
        "rules handled",
        extra={
            "status": result.status,
            "action": result.action,
            "tenant_id": result.tenant_id,
            "version": result.version,
            "duration_ms": result.duration_ms,
            "steps": result.steps,
            "blocked": result.exception is not None,
            "error_code": result.error.code if result.error else None,
            "compile_cached": result.compile_cached,
        },
    )
    return result.model_dump(mode="json")
