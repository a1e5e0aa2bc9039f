"""The HTTP edge the intake and admin functions share: bearer tokens, the error body, validation messages.

- `bearer_token(headers)`: the token of `Authorization: Bearer ...` (header name in any case), or None.
- `error_response(exc)`: a ServiceError (helpdesk.errors) as the one JSON error body, ErrorBody.
- `invalid_request(errors)`: pydantic / Powertools validation errors as a ServiceError a person can read
  (`contact.email: not a valid e-mail address`), never validator internals (patterns, error types, offsets);
  a size error is a 413, a body that is not JSON says so.
- `document_errors(spec, statuses)`: adds the refusals every route can give to an OpenAPI document, with
  ErrorBody, so a published document lists every status its routes answer.
- `check_json_request(event)`: a body is application/json in UTF-8, or a 415 / 400 before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, Field

from helpdesk import errors
from helpdesk.domain.submission import TOO_LARGE
from helpdesk.errors import Invalid, Malformed, ServiceError, TooLarge, UnsupportedMediaType, error_body
from helpdesk.validation_text import field_name, human_message

ERROR_BODY_REF = "#/components/schemas/ErrorBody"

# What a refusal means, per status (OpenAPI descriptions; each route lists those it can answer).
STATUS_TEXT: dict[int, str] = {
    400: "The request cannot be served as sent",
    401: "Missing, unknown or revoked credential",
    403: "The tenant is disabled; nothing was stored or changed",
    404: "No such resource (or it belongs to another tenant)",
    409: "Conflict: changed by someone else, used for another request, or not configured yet",
    413: "The request or one of its parts is too large",
    415: "The body is not application/json",
    422: "Validation failed; `fields` lists every problem",
    502: "Autotask or the rules engine failed; the message says what to do",
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. contact.email")
    message: str
    line: int | None = Field(default=None, description="Rules source only: the line (1-based)")
    column: int | None = Field(default=None, description="Rules source only: the column (1-based)")


class ErrorBody(BaseModel):
    """Every refusal of every route, whatever the status."""

    error: str = Field(description="unauthorized | tenant_disabled | validation_error | too_large | not_found | ...")
    message: str = Field(description="What went wrong and what to do, for a person")
    fields: list[FieldError] = Field(default_factory=list)


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "authorization"), "") or ""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def error_response(exc: ServiceError, *, realm: str, headers: Mapping[str, str] | None = None) -> Response[str]:
    extra = dict(headers or {})
    if exc.status == 401:
        extra["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return Response(
        status_code=exc.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body(exc)),
        headers=extra or None,
    )


# ------------------------------------------------------------------------------------ request bodies
JSON_MEDIA_TYPE = "application/json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def media_type(headers: Mapping[str, str] | None) -> str:
    """The request's media type without parameters, lower case ("" when there is no Content-Type)."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "") or ""
    return value.split(";")[0].strip().lower()


def check_json_request(event: BaseProxyEvent, *, even_without_body: bool = False) -> None:
    """A request body is application/json encoded as UTF-8, or it is refused before any route runs.

    API Gateway hands application/json bodies over as the bytes that were sent (template.yaml lists it in
    BinaryMediaTypes, so they arrive base64-encoded): a text body would have had invalid UTF-8 replaced by U+FFFD
    on the way, and the bytes `caf\\xe9` would have been stored as `caf` and U+FFFD without anyone knowing. Here such bytes are
    a 400 that says where they are. The decoded text is Powertools' cached `decoded_body`, so the routes' own
    parsing does not decode the body again. `even_without_body`: the media type is checked on every POST/PUT/PATCH.
    """
    if event.http_method.upper() not in BODY_METHODS or not (event.body or even_without_body):
        return
    given = media_type(event.headers)
    if given != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(f"Send the body as application/json (got {given[:60] or 'no content type'!r}).")
    try:
        event.decoded_body  # noqa: B018 - decodes (and caches) the body; bytes that are not UTF-8 raise
    except UnicodeDecodeError as exc:
        raise Malformed(
            f"The body is not valid UTF-8 (byte {exc.start} is 0x{exc.object[exc.start]:02x}). "
            "Send the JSON encoded as UTF-8."
        ) from None
    except ValueError:  # binascii.Error: not base64 (API Gateway always sends valid base64)
        raise Malformed("The body could not be read.") from None


# ------------------------------------------------------------------------------------ validation messages
def invalid_request(problems: Iterable[Mapping[str, Any]]) -> ServiceError:
    """Validation errors -> 422 naming every field (413 when a size limit is what failed)."""
    found = list(problems)
    if any(e.get("type") == "json_invalid" for e in found):
        return Invalid("The body is not valid JSON.", fields=[errors.FieldError("body", "is not valid JSON")])
    fields = [errors.FieldError(field_name(e.get("loc", ())), human_message(e)) for e in found]
    too_big = [f for f, e in zip(fields, found, strict=True) if e.get("type") == TOO_LARGE]
    if too_big:
        return TooLarge(too_big[0].message, fields=too_big)
    if not fields:
        return Invalid("The request is invalid.")
    summary = "; ".join(f"{f.field}: {f.message}" for f in fields[:5])
    return Invalid(f"The request is invalid: {summary}", fields=fields)


# ------------------------------------------------------------------------------------------- OpenAPI
def error_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI `responses` entries for these refusals, each with ErrorBody."""
    return {
        status: {
            "description": STATUS_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": ERROR_BODY_REF}}},
        }
        for status in statuses
    }


def document_errors(spec: dict[str, Any], statuses: Iterable[int], *, public: Iterable[str] = ()) -> dict[str, Any]:
    """Give every operation of `spec` the refusals every route can answer (`public` paths: no 401/403), with
    ErrorBody; the 422 of an operation with nothing to validate is dropped, any other 422 is ErrorBody too."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    models: dict[str, type[BaseModel]] = {"ErrorBody": ErrorBody, "FieldError": FieldError}
    for name, model in models.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[name] = schema
    # Powertools bug: its ValidationError schema requires `msg`, which its sanitized errors never carry.
    validation = schemas.get("ValidationError")
    if isinstance(validation, dict) and "msg" in validation.get("required", []):
        validation["required"] = [r for r in validation["required"] if r != "msg"]
    statuses = list(statuses)
    public = set(public)
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            takes_input = "requestBody" in operation or bool(operation.get("parameters"))
            wanted = [s for s in statuses if not (path in public and s in (401, 403))]
            for status, entry in error_responses(*wanted).items():
                responses.setdefault(str(status), entry)
            if "422" in responses:
                if takes_input:
                    responses["422"] = error_responses(422)[422]
                else:
                    del responses["422"]
    return spec
