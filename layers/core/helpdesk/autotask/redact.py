"""Remove secrets from any text that could reach a log line or an exception message."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"


def _variants(secret: str) -> set[str]:
    out = {secret, quote(secret, safe=""), quote_plus(secret)}
    return {v for v in out if len(v) >= 1}


def redact(text: str, secrets: Iterable[str]) -> str:
    variants: set[str] = set()
    for s in secrets:
        if s:
            variants |= _variants(s)
    # Longest first, so the API key (which contains the secret) is masked as a whole.
    for v in sorted(variants, key=len, reverse=True):
        text = text.replace(v, MASK)
    return text
