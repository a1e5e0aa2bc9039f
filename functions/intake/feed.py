"""GET /v1/notifications: the button agent's notification feed (routes.py includes this router).

Authentication (the button key) runs in routes.py's middleware like for every other route; this module only
reads the receipts / device id, then helpdesk.notifications.feed.FeedService does the rest.
"""

from __future__ import annotations

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from dependencies import FEED, TENANTS

from helpdesk.domain.tenant import Credential
from helpdesk.errors import ServiceError, Unauthorized
from helpdesk.http_edge import error_responses
from helpdesk.notifications.feed import (
    DEFAULT_LIMIT,
    DEVICE_ID_PATTERN,
    MAX_LIMIT,
    FeedAnswer,
    FeedError,
)

router = Router()


class _FeedProblem(ServiceError):
    def __init__(self, error: FeedError) -> None:
        super().__init__(error.message, field=error.field)
        self.status = error.status
        self.code = error.code


def _header(name: str) -> str:
    headers = router.current_event.headers or {}
    return next((str(v) for k, v in headers.items() if k.lower() == name.lower()), "")


@router.get(
    "/v1/notifications",
    summary="New notification events for this agent (cursor-based)",
    description=(
        "Send the receipts you hold in `X-Receipt` (comma separated) and/or your `X-Device-Id` (given at submit "
        "time). Each event's `text` is rendered from the MSP's template for that event. Pass the answer's "
        "`cursor` as `since` next time: no event is lost or shown twice. Unknown or expired receipts are skipped."
    ),
    tags=["notifications"],
    responses={
        200: {"description": "New events, oldest first, and the next cursor"},
        **error_responses(401, 403, 404, 422),
    },
    security=[{"bearerAuth": []}],
)
def notifications(
    since: Annotated[str | None, Query(max_length=4000, description="The `cursor` of the previous answer")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per answer")] = DEFAULT_LIMIT,
) -> Response[FeedAnswer]:
    credential = router.context.get("credential")  # routes.py's guard authenticated the key before this runs
    if not isinstance(credential, Credential):
        raise Unauthorized("Send the tenant's button key as `Authorization: Bearer hbk_...`.")
    tenant = TENANTS.get(credential.tenant_id)
    if tenant is None or not tenant.active:
        raise _FeedProblem(FeedError(404, "not_found", "No such tenant."))
    receipts = [r.strip() for r in _header("X-Receipt").split(",") if r.strip()]
    device_id = _header("X-Device-Id").strip() or None
    if device_id is not None and not re.fullmatch(DEVICE_ID_PATTERN, device_id):
        raise _FeedProblem(
            FeedError(422, "validation_error", "X-Device-Id must be 8-64 of [A-Za-z0-9_-].", "X-Device-Id")
        )
    try:
        answer = FEED.read(tenant, receipts=receipts, device_id=device_id, since=since, limit=limit)
    except FeedError as exc:
        raise _FeedProblem(exc) from None
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=answer,
        headers={"Cache-Control": "no-store"},
    )
