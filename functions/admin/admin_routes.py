"""Routes of the admin API and the settings page. Every /v1/admin route is scoped to the admin token's tenant.

Secrets never appear in an answer or a log line: the API key is a SecretStr in the request model, validation
errors are answered without the offending input, and only route, tenant and status are logged.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from helpdesk import env
from helpdesk.admin.presses import OutcomeSummary, PressDetail, PressPage
from helpdesk.admin.replay import RulesReplay
from helpdesk.admin.service import (
    AdminService,
    CalloutUrls,
    IssuedKey,
    KeyView,
    PicklistsView,
    RulesCheck,
    RulesTestResult,
    RulesVersionView,
    WebhookView,
)
from helpdesk.admin.settings import SettingsUpdate, SettingsView
from helpdesk.domain.rules import MAX_SOURCE_CHARS
from helpdesk.errors import Malformed, NotFound, ServiceError, UnsupportedMediaType
from helpdesk.http_edge import bearer_token, check_json_request, document_errors, error_response, invalid_request
from helpdesk.observability import logger, metrics

ENV = env.load(env.AdminEnv)
STATIC = Path(__file__).resolve().parent / "static"
API_PREFIX = "/v1/admin"
PUBLIC_API_PATHS = {f"{API_PREFIX}/openapi.json"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

# What any admin route can answer besides its success: a body nested too deeply, no/bad token, disabled tenant, unknown id or route, a
# conflict (revision, not configured), validation, a body over the API's size limit, Autotask/rules failing.
ADMIN_REFUSALS = (400, 401, 403, 404, 409, 413, 415, 422, 502)

app = APIGatewayRestResolver(enable_validation=True)
_service: AdminService | None = None


def service() -> AdminService:
    """Built on first use (lazy: plain page loads never create boto3 clients)."""
    global _service
    if _service is None:
        from helpdesk.adapters.bedrock_classifier import BedrockClassifier
        from helpdesk.adapters.dynamodb_classifications import DynamoClassificationCache
        from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
        from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
        from helpdesk.adapters.kms import KmsSecretBox
        from helpdesk.adapters.lambda_rules import LambdaRulesRunner
        from helpdesk.adapters.sqs import SqsWorkQueue
        from helpdesk.admin.gateway import client_gateway
        from helpdesk.triage import Triage

        _service = AdminService(
            tenants=DynamoTenantRepository(ENV.tenants_table),
            secrets=KmsSecretBox(ENV.credentials_key_id),
            rules=LambdaRulesRunner(ENV.rules_function_name),
            autotask=client_gateway,
            submissions=DynamoSubmissionRepository(ENV.submissions_table, retention_days=ENV.submission_retention_days),
            work_queue=SqsWorkQueue(ENV.work_queue_url),
            # ai_categorize in test runs and replays: the same model and per-tenant cache as the dispatcher
            triage=Triage(
                BedrockClassifier(ENV.classifier_model_id) if ENV.classifier_model_id else None,
                DynamoClassificationCache(ENV.tenants_table),
            ),
        )
    return _service


def use_service(replacement: AdminService | None) -> None:
    """Tests: run the routes over fakes (None restores the real adapters on next use)."""
    global _service
    _service = replacement


# ---------------------------------------------------------------------- auth, errors, logging
def authenticate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    path = app.current_event.path
    if path.startswith(API_PREFIX) and path not in PUBLIC_API_PATHS:
        tenant, credential = service().authenticate(bearer_token(app.current_event.headers))
        app.append_context(tenant_id=tenant.tenant_id, author=credential.label or credential.credential_id)
        logger.append_keys(tenant_id=tenant.tenant_id)
    check_json_request(app.current_event)
    response = next_middleware(app)
    logger.info(
        "admin request",
        extra={"method": app.current_event.http_method, "route": path, "status": response.status_code},
    )
    return response


app.use(middlewares=[authenticate])


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


@app.exception_handler(ServiceError)
def _service_error(exc: ServiceError) -> Response[str]:
    return _refused(exc)


def _refused(exc: ServiceError) -> Response[str]:
    """Every refusal of this API (the exception handlers below all answer through here)."""
    logger.info("admin request refused", extra={"status": exc.status, "error": exc.code})
    return error_response(exc, realm="admin", headers=SECURITY_HEADERS)


def _caller_or_body_problem() -> ServiceError | None:
    """Powertools' request validation parses the body before any middleware runs, so a refusal of the body checks
    the token first (a bad token learns nothing about the body), then the media type and the encoding
    (http_edge.check_json_request). None: neither is the problem."""
    path = app.current_event.path
    try:
        if path.startswith(API_PREFIX) and path not in PUBLIC_API_PATHS:
            service().authenticate(bearer_token(app.current_event.headers))
        check_json_request(app.current_event)
    except ServiceError as err:
        return err
    return None


def _body_refused(problem: ServiceError) -> Response[str]:
    """A body that cannot be served: the token, the media type and the encoding first, then the problem found."""
    return _refused(_caller_or_body_problem() or problem)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    """422 naming each bad field in words; the submitted values are never echoed (one may be the API key)."""
    return _body_refused(invalid_request(exc.errors()))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response[str]:
    return _body_refused(UnsupportedMediaType("Send the body as application/json."))


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(exc: UnicodeDecodeError) -> Response[str]:
    """The body's bytes are not UTF-8 (check_json_request says where). A decoding error that is not the body's is
    a fault of ours: it is raised on, not passed off as a 400."""
    problem = _caller_or_body_problem()
    if problem is None:
        raise exc
    return _refused(problem)


@app.exception_handler(RecursionError)
def _too_deep(exc: RecursionError) -> Response[str]:
    """A body nested thousands of levels deep overflows the JSON parser: still the token first, then a 400."""
    return _body_refused(Malformed("The body is nested too deeply to be a request."))


@app.not_found
def _not_found(exc: NotFoundError) -> Response[str]:
    return _refused(NotFound("No such route."))


def tenant_id() -> str:
    return str(app.context["tenant_id"])


def base_url() -> str:
    """The public base URL of this API as the caller reached it (https://<api>/<stage>)."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    ctx = event.request_context
    host = headers.get("host") or ctx.domain_name or "localhost"
    proto = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip()
    return f"{proto}://{host}{stage_prefix()}"


def stage_prefix() -> str:
    ctx = app.current_event.request_context
    stage = ctx.stage or ""
    raw_path = ctx.path or ""
    return f"/{stage}" if stage and raw_path.startswith(f"/{stage}/") else ""


# ---------------------------------------------------------------------- request models
class RulesSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=MAX_SOURCE_CHARS)
    note: str = Field(default="", max_length=200)


class RulesSave(RulesSource):
    confirm: bool = Field(
        default=False,
        description="Save even if the rules fail on replayed presses (without it: 409 rules_fail_on_replay)",
    )


class RulesReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(
        default=None, max_length=MAX_SOURCE_CHARS, description="Omit to replay the active version"
    )
    limit: int = Field(default=50, ge=0, le=50, description="How many of the last presses to replay (+ the sample)")


class RulesTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(default=None, max_length=MAX_SOURCE_CHARS, description="Omit to test the active version")
    variables: dict[str, Any] = Field(default_factory=dict, description="Sample inputs (msg, email, selections...)")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(default="", max_length=100)


class Me(BaseModel):
    tenant_id: str
    name: str
    status: str
    configured: bool


# ---------------------------------------------------------------------- API
@app.get(f"{API_PREFIX}/me", tags=["session"], summary="The signed-in tenant")
def me() -> Me:
    tenant = service().tenant(tenant_id())
    return Me(tenant_id=tenant.tenant_id, name=tenant.name, status=tenant.status, configured=tenant.autotask.configured)


@app.get(f"{API_PREFIX}/settings", tags=["settings"], summary="Read settings (the API key only as a mask)")
def get_settings() -> SettingsView:
    return service().get_settings(tenant_id())


@app.put(f"{API_PREFIX}/settings", tags=["settings"], summary="Change settings (only the fields sent change)")
def put_settings(update: SettingsUpdate) -> SettingsView:
    return _update_settings(update)


@app.patch(f"{API_PREFIX}/settings", tags=["settings"], summary="Same as PUT: only the fields sent change")
def patch_settings(update: SettingsUpdate) -> SettingsView:
    return _update_settings(update)


def _update_settings(update: SettingsUpdate) -> SettingsView:
    view = service().update_settings(tenant_id(), update)
    changed = sorted(update.model_fields_set - {"revision"})
    if update.autotask is not None:
        changed += [f"autotask.{name}" for name in sorted(update.autotask.model_fields_set)]
    # an audit line: which settings changed, by which admin token; never a value
    logger.info(
        "settings saved", extra={"changed": changed, "by": app.context.get("author"), "revision": view.revision}
    )
    return view


@app.get(f"{API_PREFIX}/picklists", tags=["settings"], summary="Dropdown options read live from Autotask (cached)")
def picklists(refresh: Annotated[bool, Query()] = False) -> PicklistsView:
    return service().picklists(tenant_id(), refresh=refresh)


def _created(model: type[BaseModel]) -> dict[int, Any]:
    """OpenAPI for routes that answer 201 Created with `model` (the default would document 200)."""
    return {201: {"description": "Created", "content": {"application/json": {"model": model}}}}


@app.post(f"{API_PREFIX}/integration-test", tags=["settings"], summary="Run the Integration Test")
def integration_test() -> dict[str, Any]:
    report = service().integration_test(tenant_id())
    metrics.add_metric(name="IntegrationTests", unit="Count", value=1)
    result: dict[str, Any] = report.model_dump(mode="json")
    return result


@app.get(f"{API_PREFIX}/rules", tags=["rules"], summary="The active Dispatcher Rules")
def get_rules() -> RulesVersionView:
    active = service().active_rules(tenant_id())
    if active is None:
        from datetime import UTC, datetime

        return RulesVersionView(version=0, created_at=datetime.now(UTC), author="", note="", active=True, source="")
    return active


@app.post(
    f"{API_PREFIX}/rules",
    tags=["rules"],
    summary="Validate and save a new version (made active)",
    responses=_created(RulesVersionView),
)
def save_rules(body: RulesSave) -> Response[str]:
    saved = service().save_rules(
        tenant_id(), body.source, author=str(app.context.get("author", "")), note=body.note, confirm=body.confirm
    )
    logger.info(
        "rules saved", extra={"version": saved.version, "by": app.context.get("author"), "confirm": body.confirm}
    )
    return _json(201, saved.model_dump(mode="json"))


@app.post(
    f"{API_PREFIX}/rules/replay",
    tags=["rules"],
    summary="Run rules on the last presses and a sample from the defaults; compare with today (nothing is stored)",
)
def replay_rules(body: RulesReplayRequest) -> RulesReplay:
    return service().replay_rules(tenant_id(), body.source, limit=body.limit)


@app.post(f"{API_PREFIX}/rules/validate", tags=["rules"], summary="Check syntax without saving")
def validate_rules(body: RulesSource) -> RulesCheck:
    return service().validate_rules(tenant_id(), body.source)


@app.post(f"{API_PREFIX}/rules/test", tags=["rules"], summary="Run rules on sample inputs (nothing is stored)")
def test_rules(body: RulesTestRequest) -> RulesTestResult:
    return service().test_rules(tenant_id(), body.source, body.variables)


@app.get(f"{API_PREFIX}/rules/versions", tags=["rules"], summary="History, newest first")
def rules_history() -> list[RulesVersionView]:
    return service().rules_history(tenant_id())


@app.get(f"{API_PREFIX}/rules/versions/<version>", tags=["rules"], summary="One saved version")
def rules_version(version: str) -> RulesVersionView:
    if not version.isdigit() or len(version) > 9:
        from helpdesk.admin.errors import NotFound

        raise NotFound(f"There is no rules version {version[:20]!r}.")
    return service().rules_version(tenant_id(), int(version))


@app.post(
    f"{API_PREFIX}/rules/rollback",
    tags=["rules"],
    summary="Make an earlier version active again",
    responses=_created(RulesVersionView),
)
def rollback_rules(body: RollbackRequest) -> Response[str]:
    saved = service().rollback_rules(tenant_id(), body.version, author=str(app.context.get("author", "")))
    return _json(201, saved.model_dump(mode="json"))


# ---------------------------------------------------------------------- press outcomes
PRESS_FILTERS = {"outcome", "q", "cursor", "limit"}


def _known_query(allowed: set[str]) -> None:
    """Unknown query parameters are refused (a misspelt filter must not silently list everything)."""
    given = set(app.current_event.query_string_parameters or {})
    unknown = sorted(given - allowed)
    if unknown:
        from helpdesk.admin.errors import FieldError, Invalid

        raise Invalid(
            f"Unknown filter {unknown[0][:40]!r}: use {', '.join(sorted(allowed))}.",
            fields=[FieldError(name[:40], "unknown filter") for name in unknown[:10]],
        )


@app.get(f"{API_PREFIX}/submissions", tags=["presses"], summary="Recent presses, newest first, with their outcome")
def list_presses(
    outcome: Annotated[
        str | None, Query(max_length=200, description="created, blocked, failed, waiting, dead_letter")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the e-mail or the hostname")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> PressPage:
    _known_query(PRESS_FILTERS)
    from helpdesk.admin.presses import parse_outcomes

    return service().list_presses(tenant_id(), outcomes=parse_outcomes(outcome), search=q, cursor=cursor, limit=limit)


@app.get(f"{API_PREFIX}/submissions/summary", tags=["presses"], summary="Counts per outcome over the last hours")
def press_summary(hours: Annotated[int, Query(ge=1, le=168)] = 24) -> OutcomeSummary:
    _known_query({"hours"})
    return service().press_summary(tenant_id(), hours=hours)


@app.get(f"{API_PREFIX}/submissions/<submission_id>", tags=["presses"], summary="One press with its timeline")
def press_detail(submission_id: str) -> PressDetail:
    return service().press(tenant_id(), submission_id)


@app.post(
    f"{API_PREFIX}/submissions/<submission_id>/requeue",
    tags=["presses"],
    summary="Send a fresh work message for a press that ended in the dead-letter queue",
)
def requeue_press(submission_id: str) -> PressDetail:
    detail = service().requeue_press(tenant_id(), submission_id, by=str(app.context.get("author", "")))
    logger.info("press re-queued", extra={"submission_id": detail.id, "by": app.context.get("author")})
    metrics.add_metric(name="PressesRequeued", unit="Count", value=1)
    return detail


@app.get(f"{API_PREFIX}/keys", tags=["keys"], summary="Button keys (never the keys themselves)")
def list_keys() -> list[KeyView]:
    return service().list_button_keys(tenant_id())


@app.post(
    f"{API_PREFIX}/keys", tags=["keys"], summary="Create a button key (shown once)", responses=_created(IssuedKey)
)
def create_key(body: KeyRequest) -> Response[str]:
    issued: IssuedKey = service().create_button_key(tenant_id(), body.label)
    return _json(201, issued.model_dump(mode="json"))


@app.delete(f"{API_PREFIX}/keys/<key_id>", tags=["keys"], summary="Revoke a button key")
def revoke_key(key_id: str) -> Response[str]:
    service().revoke_button_key(tenant_id(), key_id)
    return Response(status_code=204, body="", headers=SECURITY_HEADERS)


@app.get(f"{API_PREFIX}/admin-tokens", tags=["keys"], summary="Admin tokens (never the tokens themselves)")
def list_admin_tokens() -> list[KeyView]:
    return service().list_admin_tokens(tenant_id())


@app.post(
    f"{API_PREFIX}/admin-tokens",
    tags=["keys"],
    summary="Create an admin token (shown once)",
    responses=_created(IssuedKey),
)
def create_admin_token(body: KeyRequest) -> Response[str]:
    issued: IssuedKey = service().create_admin_token(tenant_id(), body.label)
    logger.info("admin token created", extra={"credential_id": issued.key.id})
    return _json(201, issued.model_dump(mode="json"))


@app.delete(f"{API_PREFIX}/admin-tokens/<token_id>", tags=["keys"], summary="Revoke an admin token (not the last)")
def revoke_admin_token(token_id: str) -> Response[str]:
    service().revoke_admin_token(tenant_id(), token_id)
    logger.info("admin token revoked", extra={"credential_id": token_id[:100]})
    return Response(status_code=204, body="", headers=SECURITY_HEADERS)


@app.get(f"{API_PREFIX}/callout-url", tags=["notifications"], summary="The Ticket Notification URL")
def callout_url() -> CalloutUrls:
    return service().callout_urls(tenant_id(), base_url())


@app.post(f"{API_PREFIX}/callout-url/rotate", tags=["notifications"], summary="New URL; the old one stops working")
def rotate_callout_url() -> CalloutUrls:
    return service().rotate_callout_url(tenant_id(), base_url())


@app.get(f"{API_PREFIX}/webhooks", tags=["notifications"], summary="REST webhook registration status")
def webhooks() -> WebhookView:
    return service().webhooks(tenant_id())


@app.post(f"{API_PREFIX}/webhooks", tags=["notifications"], summary="Register TicketWebhooks + TicketNoteWebhooks")
def register_webhooks() -> WebhookView:
    return service().register_webhooks(tenant_id(), base_url())


@app.delete(f"{API_PREFIX}/webhooks", tags=["notifications"], summary="Remove the webhooks from Autotask")
def unregister_webhooks() -> WebhookView:
    return service().unregister_webhooks(tenant_id())


@app.get(f"{API_PREFIX}/openapi.json", tags=["session"], summary="This API's OpenAPI document", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


@cache
def openapi_json() -> str:
    spec = json.loads(app.get_openapi_json_schema(title="Helpdesk Buttons admin API", version="1.0.0"))
    return json.dumps(document_errors(spec, ADMIN_REFUSALS, public=PUBLIC_API_PATHS))


# ---------------------------------------------------------------------- settings page
ASSETS = {
    "app.js": "application/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@cache
def _asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@app.get("/admin", include_in_schema=False)
def page() -> Response[str]:
    html = _asset("index.html").replace("{{BASE}}", stage_prefix())
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=html,
        headers={**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP},
    )


@app.get("/admin/<asset>", include_in_schema=False)
def asset(asset: str) -> Response[str]:
    if asset in ("", "index.html"):
        return page()
    if asset not in ASSETS:
        return _json(404, {"error": "not_found", "message": "No such file."})
    return Response(
        status_code=200,
        content_type=ASSETS[asset],
        body=_asset(asset),
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )
