"""Routes of the button agent API (docs/api.md). Thin: authenticate, validate, call helpdesk.intake.service.

Order of checks for every route but health/openapi: authentication (401) -> content type (415) -> body
validation (422, or 413 for sizes) -> the use case. Powertools validates the body before middlewares run,
so the validation-error handler repeats the first two checks: a bad key never learns anything about its body.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path
from dependencies import ENV, SERVICE, TENANTS
from feed import router as feed_router
from pydantic import BaseModel, Field

from helpdesk import aws
from helpdesk.domain.submission import (
    SUBMISSION_ID_PATTERN,
    SubmissionRequest,
    SubmissionView,
    SubmitAccepted,
    UploadRequest,
)
from helpdesk.domain.tenant import Credential, CredentialKind
from helpdesk.errors import Malformed, NotFound, ServiceError, TenantDisabled, Unauthorized, UnsupportedMediaType
from helpdesk.http_edge import (
    bearer_token,
    check_json_request,
    document_errors,
    error_response,
    error_responses,
    invalid_request,
)
from helpdesk.observability import logger, metrics

PUBLIC_PATHS = {"/v1/health", "/v1/openapi.json"}
REALM = "helpdesk-buttons"
API_TITLE = "Helpdesk Buttons: button agent API"
API_VERSION = "1.0.0"

app = APIGatewayRestResolver(enable_validation=True)


# ------------------------------------------------------------------------------------------ models
class UploadAnswer(BaseModel):
    upload_id: str
    url: str
    method: str = Field(default="POST", description="Always POST: a multipart/form-data upload (no Authorization)")
    fields: dict[str, str] = Field(
        description="Form fields to send first, in this order; the file goes last, as the part named `file`"
    )
    expires_in: int


class Health(BaseModel):
    status: str
    tenants_table: str


ERRORS = error_responses(400, 401, 403, 404, 409, 413, 415, 422)


# ------------------------------------------------------------------------------------------ plumbing
def _credential() -> Credential:
    """The caller's button key, resolved against the stored hashes (cached per request)."""
    cached = app.context.get("credential")
    if isinstance(cached, Credential):
        return cached
    token = bearer_token(app.current_event.headers)
    if token is None:
        raise Unauthorized("Send the tenant's button key as `Authorization: Bearer hbk_...`.")
    credential = TENANTS.resolve_credential(CredentialKind.BUTTON_KEY, token)
    if credential is None:
        raise Unauthorized("The button key is unknown or was revoked.")
    if credential.suspended:
        raise TenantDisabled("This account is disabled: requests are not accepted. Please call your IT team.")
    app.append_context(credential=credential, token=token)
    logger.append_keys(tenant_id=credential.tenant_id)
    return credential


def _guard(app_: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    if app_.current_event.resource not in PUBLIC_PATHS:
        _credential()
        check_json_request(app_.current_event, even_without_body=True)
    return next_middleware(app_)


app.use(middlewares=[_guard])


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response[Any]:
    return _refused(exc)


def _refused(exc: ServiceError) -> Response[Any]:
    """Every refusal of this API, counted by kind (the exception handlers below all answer through here)."""
    if isinstance(exc, Unauthorized):
        metrics.add_metric(name="Unauthorized", unit="Count", value=1)
    elif isinstance(exc, TenantDisabled):
        metrics.add_metric(name="TenantDisabled", unit="Count", value=1)
    return error_response(exc, realm=REALM)


def _caller_or_body_problem() -> ServiceError | None:
    """The key comes first, as for valid bodies (a bad key learns nothing), then the media type and the encoding
    (http_edge.check_json_request). None: neither is the problem."""
    try:
        _credential()
        check_json_request(app.current_event, even_without_body=True)
    except ServiceError as err:
        return err
    return None


def _body_refused(problem: ServiceError) -> Response[Any]:
    """A body that cannot be served: the key, the media type and the encoding first, then the problem found."""
    found = _caller_or_body_problem()
    if found is None or isinstance(found, Malformed):
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
    return _refused(found or problem)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
    return _body_refused(UnsupportedMediaType("Send the body as application/json."))


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(exc: UnicodeDecodeError) -> Response[Any]:
    """Powertools' request validation decodes the body before any middleware runs; check_json_request says where.
    A decoding error that is not the body's is a fault of ours: it is raised on, not passed off as a 400."""
    found = _caller_or_body_problem()
    if found is None:
        raise exc
    if isinstance(found, Malformed):
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
    return _refused(found)


@app.exception_handler(RecursionError)
def _too_deep(exc: RecursionError) -> Response[Any]:
    """A body nested thousands of levels deep overflows the JSON parser: still the key first, then a 400."""
    return _body_refused(Malformed("The body is nested too deeply to be a request."))


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[Any]:
    return _body_refused(invalid_request(exc.errors()))


@app.exception_handler(NotFoundError)
def _not_found(exc: NotFoundError) -> Response[Any]:
    return _refused(NotFound("No such resource."))


# ------------------------------------------------------------------------------------------ routes
@app.get("/v1/health", summary="Liveness and a DynamoDB read", tags=["health"])
def health() -> Health:
    # A consistent single-item read proves the function reaches its table with its own role.
    aws.client("dynamodb").get_item(
        TableName=ENV.tenants_table, Key={"pk": {"S": "HEALTH"}, "sk": {"S": "HEALTH"}}, ConsistentRead=True
    )
    return Health(status="ok", tenants_table="reachable")


@app.post(
    "/v1/tickets",
    summary="Submit a help request (one button press)",
    description=(
        "Stores the submission and queues it for ticket creation; answers at once. `submission_id` is the "
        "idempotency key: a retry with the same id and body returns the same answer and never a second ticket; "
        "the same id with another body is a 409."
    ),
    tags=["tickets"],
    responses={202: {"description": "Accepted and queued"}, **ERRORS},
    security=[{"bearerAuth": []}],
)
def submit(request: SubmissionRequest) -> Response[SubmitAccepted]:
    credential = _credential()
    logger.append_keys(submission_id=request.submission_id)
    logger.set_correlation_id(request.submission_id)
    token = str(app.context.get("token"))
    accepted = SERVICE.submit(credential.tenant_id, request, token=token, credential_id=credential.credential_id)
    metrics.add_metric(name="SubmissionsAccepted", unit="Count", value=1)
    metrics.add_metric(
        name="InlineAttachmentBytes",
        unit="Bytes",
        value=sum(len(a.data_base64) * 3 // 4 for a in request.attachments if hasattr(a, "data_base64")),
    )
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)


@app.get(
    "/v1/tickets/<id>",
    summary="Status of a submission (needs its receipt in X-Receipt)",
    tags=["tickets"],
    responses={200: {"description": "The submission's status and timeline"}, **ERRORS},
    security=[{"bearerAuth": []}],
)
def status(id: Annotated[str, Path(pattern=SUBMISSION_ID_PATTERN, description="The submission_id")]) -> SubmissionView:
    credential = _credential()
    logger.set_correlation_id(id)
    receipt = app.current_event.headers.get("X-Receipt") or ""
    return SERVICE.status(credential.tenant_id, id, receipt.strip())


@app.post(
    "/v1/uploads",
    summary="Get a presigned URL to upload one large attachment",
    tags=["tickets"],
    responses={
        201: {
            "description": "POST the file to `url` as multipart/form-data (`fields` first, then `file`; at most "
            "the declared size), then name `upload_id` in the submission"
        },
        **ERRORS,
    },
    security=[{"bearerAuth": []}],
)
def uploads(request: UploadRequest) -> Response[UploadAnswer]:
    credential = _credential()
    ticket = SERVICE.request_upload(credential.tenant_id, request)
    answer = UploadAnswer(
        upload_id=ticket.upload_id,
        url=ticket.url,
        method=ticket.method,
        fields=ticket.fields,
        expires_in=ticket.expires_in,
    )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=answer)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


# ------------------------------------------------------------------------------------------ OpenAPI
def openapi_document() -> str:
    """The OpenAPI document generated from these routes and models (committed copy: docs/openapi.json)."""
    raw = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="The API button agents use. See docs/api.md.",
        security_schemes={"bearerAuth": HTTPBearer(description="A tenant button key (hbk_...)")},
    )
    spec = document_errors(json.loads(raw), ())
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


# ------------------------------------------------------------------------------------------ more routes
app.include_router(feed_router)  # GET /v1/notifications
