"""Validation errors said for a person: pydantic's error dicts in words, without the value, the pattern or
pydantic's own wording ("String should match pattern '^...'", "Input should be ..."). Plain Python, no HTTP: the
HTTP edge (helpdesk.http_edge) and the use cases (e.g. the admin's rules test inputs) both say errors this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpdesk.domain.submission import EMAIL_PATTERN, SUBMISSION_ID_PATTERN, TOO_LARGE

PATTERN_TEXT: dict[str, str] = {
    EMAIL_PATTERN: "not a valid e-mail address",
    SUBMISSION_ID_PATTERN: "must be 8 to 64 letters, digits, '-' or '_'",
    r"^[A-Za-z0-9_-]{8,64}$": "must be 8 to 64 letters, digits, '-' or '_'",
    r"^upl_[a-f0-9]{16,64}$": "not an upload id from POST /v1/uploads",
}

_TYPE_TEXT: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "none_required": "must be null",
    "url_parsing": "not a valid URL",
    "url_scheme": "not a valid URL",
    "url_type": "not a valid URL",
    "datetime_parsing": "not a valid date and time",
    "datetime_type": "not a valid date and time",
    "string_unicode": "must be text",
    "bytes_type": "must be text",
    "union_tag_invalid": "has an unknown kind",
    "union_tag_not_found": "says not what kind it is",
    "json_invalid": "is not valid JSON",
    "json_type": "is not valid JSON",
    "base64_decode": "is not valid base64",
}


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def human_message(error: Mapping[str, Any]) -> str:
    """One validation error, said for a person (the value, the pattern and pydantic's wording never appear)."""
    kind = str(error.get("type") or "")
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return PATTERN_TEXT.get(str(ctx.get("pattern")), "is not in the expected form")
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {_plural(n, 'character')}"
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length'), 'character')}"
    if kind == "too_short":
        return f"must have at least {_plural(ctx.get('min_length'), 'item')}"
    if kind == "too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'item')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": "at least", "greater_than": "more than"}
        words |= {"less_than_equal": "at most", "less_than": "less than"}
        bound = next(iter(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")), "")
        return f"must be {words[kind]} {bound}"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected") or "").replace("'", "")
        return f"must be one of: {expected}" if expected else "is not one of the allowed values"
    if kind == "value_error":  # our own validators: their text is written for people
        return str(error.get("msg") or "is not valid").removeprefix("Value error, ")
    if kind == TOO_LARGE:
        return str(error.get("msg") or "is too large")
    return _TYPE_TEXT.get(kind, "is not valid")


def field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    # Discriminated unions add the member name (e.g. "InlineAttachment") to the path: drop it.
    parts = [p for p in parts if not (p[:1].isupper() and p.isidentifier())]
    return ".".join(parts) or "body"
