"""callout: receives Autotask Extension Callouts (`POST /v1/callouts/{token}`) and REST webhooks
(`POST /v1/webhooks/{token}`), answers within milliseconds and leaves every Autotask call to the dispatcher.

Thin: pick the route, hand the raw body to helpdesk.notifications.receive.NotificationReceiver, return its answer.
Cold start stays light: no Autotask client, no Powertools event-handler/validation machinery, no X-Ray SDK (the
function's active tracing still records each invocation; there is nothing here worth a subsegment), one KMS
decrypt per tenant webhook secret (cached). The token is a secret: it is never logged (only the route template is).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import env
from helpdesk.adapters.dynamodb_notifications import DynamoSyncMarkers
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.adapters.sqs import SqsWorkQueue
from helpdesk.notifications.receive import Answer, NotificationReceiver
from helpdesk.observability import logger, metrics

ENV = env.load(env.CalloutEnv)
COLLAPSE = ENV.notify_collapse_seconds


def _metric(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit="Count", value=value)


def _log(message: str, extra: dict[str, Any]) -> None:
    logger.info(message, extra=extra)


RECEIVER = NotificationReceiver(
    tenants=DynamoTenantRepository(ENV.tenants_table),
    markers=DynamoSyncMarkers(ENV.submissions_table),
    queue=SqsWorkQueue(ENV.work_queue_url),
    secrets=KmsSecretBox(ENV.credentials_key_id),
    collapse_seconds=COLLAPSE,
    metric=_metric,
    log=_log,
)
CALLOUT_ROUTE = "/v1/callouts/{token}"
WEBHOOK_ROUTE = "/v1/webhooks/{token}"


def _response(answer: Answer) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(answer.body, separators=(",", ":")),
    }


def _raw_body(event: dict[str, Any]) -> bytes | None:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8") if isinstance(body, str) else None


def route(event: dict[str, Any]) -> Answer:
    resource = str(event.get("resource") or "")
    token = str((event.get("pathParameters") or {}).get("token") or "")
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if str(event.get("httpMethod") or "").upper() != "POST" or resource not in {CALLOUT_ROUTE, WEBHOOK_ROUTE}:
        return Answer(404, {"error": "not_found", "message": "No such route."})
    body = _raw_body(event)
    if body is None:
        return Answer(400, {"error": "malformed", "message": "The body could not be read."})
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if resource == CALLOUT_ROUTE:
        return RECEIVER.callout(token, body, content_type)
    return RECEIVER.webhook(token, body, headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = route(event)
    logger.info(
        "notification answered",
        extra={"route": event.get("resource"), "status": answer.status, "outcome": answer.body.get("status")},
    )
    return _response(answer)
