"""Bearer tokens: generated with 256 bits of randomness, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIXES = {"button": "hbk_", "admin": "hba_", "callout": "hbc_"}


def new_token(kind: str) -> str:
    return PREFIXES.get(kind, "hb_") + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(token: str, expected_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), expected_hash)


def new_id(prefix: str = "") -> str:
    return prefix + secrets.token_hex(8)
