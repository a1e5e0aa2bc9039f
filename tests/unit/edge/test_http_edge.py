"""The HTTP edge shared by intake and admin: bearer tokens, the error body, validation errors in words."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk.domain.submission import SubmissionRequest
from helpdesk.errors import Forbidden, NotFound, TooLarge, Unauthorized, error_body
from helpdesk.http_edge import bearer_token, document_errors, human_message, invalid_request


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"Authorization": "Bearer hbk_abc"}, "hbk_abc"),
        ({"authorization": "bearer  hbk_abc "}, "hbk_abc"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, None),
        ({"Authorization": "Bearer "}, None),
        ({}, None),
        (None, None),
    ],
)
def test_bearer_tokens_are_read_the_same_way_everywhere(headers: dict[str, str] | None, token: str | None) -> None:
    assert bearer_token(headers) == token


def _errors(doc: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as info:
        SubmissionRequest.model_validate(doc)
    return list(info.value.errors())


def test_pattern_and_type_errors_are_said_in_words() -> None:
    errors = _errors({"submission_id": "no!", "contact": {"name": "A", "email": "not-an-address"}, "msg": 5})
    messages = {".".join(str(p) for p in e["loc"]): human_message(e) for e in errors}
    assert messages["contact.email"] == "not a valid e-mail address"
    assert messages["submission_id"] == "must be 8 to 64 letters, digits, '-' or '_'"
    assert messages["msg"] == "must be text"
    assert all("pattern" not in m and "should" not in m for m in messages.values())


def test_an_unknown_pattern_never_shows_the_expression() -> None:
    error = {"type": "string_pattern_mismatch", "loc": ("x",), "msg": "String should match pattern '^a+$'"}
    assert human_message(error | {"ctx": {"pattern": "^a+$"}}) == "is not in the expected form"


def test_size_errors_are_413_and_broken_json_says_so() -> None:
    big = invalid_request([{"type": "too_large", "loc": ("body", "attachments", 0), "msg": "a.png is too large"}])
    assert isinstance(big, TooLarge) and big.fields[0].field == "attachments.0"
    broken = invalid_request([{"type": "json_invalid", "loc": ("body", 14), "msg": "JSON decode error"}])
    assert error_body(broken) == {
        "error": "validation_error",
        "message": "The body is not valid JSON.",
        "fields": [{"field": "body", "message": "is not valid JSON"}],
    }


def test_every_refusal_has_the_same_body() -> None:
    for exc in (Unauthorized("Sign in."), Forbidden("Disabled."), NotFound("No such tenant.")):
        assert set(error_body(exc)) == {"error", "message", "fields"}


def test_document_errors_lists_every_refusal_with_the_error_body() -> None:
    spec: dict[str, Any] = {
        "paths": {
            "/v1/a": {"post": {"requestBody": {}, "responses": {"200": {}, "422": {"description": "x"}}}},
            "/v1/b": {"get": {"responses": {"200": {}, "422": {}}}},
            "/v1/public": {"get": {"responses": {"200": {}}}},
        }
    }
    out = document_errors(spec, (401, 404, 422), public={"/v1/public"})
    a, b, public = (
        out["paths"][p][m]["responses"] for p, m in (("/v1/a", "post"), ("/v1/b", "get"), ("/v1/public", "get"))
    )
    assert set(a) == {"200", "401", "404", "422"} and a["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert set(b) == {"200", "401", "404"}  # nothing to validate: no 422
    assert set(public) == {"200", "404"}
    assert "ErrorBody" in out["components"]["schemas"] and "FieldError" in out["components"]["schemas"]
