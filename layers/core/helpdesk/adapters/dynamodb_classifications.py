"""ClassificationCache in the TenantsTable: ``ai_categorize`` answers per tenant, bounded in number and in time.

Item: ``pk = AICLS#<tenant id>``, ``sk = SLOT#<n>`` with ``n`` = the question's key (SHA-256 of text and
categories) modulo :data:`SLOTS`. A slot holds one answer (its full key, the scores, the model) and is simply
overwritten by another question that lands on it, so a tenant can never hold more than SLOTS items (~300 bytes
each); ``expires_at`` (TTL) drops answers after :data:`TTL_SECONDS`, and reads ignore expired items because
DynamoDB deletes them lazily. The text itself is not stored (it is end-user data; the key is a hash of it).
Failed classifications are never cached. A cache that cannot be read or written is skipped, never an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final

from helpdesk import aws
from helpdesk.domain.rules import Classification, ClassificationRequest

SLOTS: Final = 1024
TTL_SECONDS: Final = 7 * 24 * 3600


def slot_key(tenant_id: str, key: str) -> dict[str, str]:
    return {"pk": f"AICLS#{tenant_id}", "sk": f"SLOT#{int(key[:8], 16) % SLOTS:04d}"}


class DynamoClassificationCache:
    def __init__(self, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self._table_name = table_name
        self._clock = clock

    def get(self, tenant_id: str, request: ClassificationRequest) -> Classification | None:
        key = request.key
        try:
            item = aws.table(self._table_name).get_item(Key=slot_key(tenant_id, key)).get("Item")
        except Exception:
            return None
        if not item or item.get("key") != key or int(item.get("expires_at", 0)) <= self._clock():
            return None
        try:
            scores = json.loads(str(item["scores"]))
            return Classification(
                text=request.text,
                categories=request.categories,
                scores={c: int(scores.get(c, 0)) for c in request.categories},
                model=str(item.get("model", "")),
                cached=True,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, tenant_id: str, answer: Classification) -> None:
        if answer.error is not None:
            return
        item: dict[str, Any] = {
            **slot_key(tenant_id, answer.key),
            "key": answer.key,
            "scores": json.dumps(answer.scores, ensure_ascii=False, separators=(",", ":")),
            "model": answer.model,
            "expires_at": int(self._clock()) + TTL_SECONDS,
        }
        try:
            aws.table(self._table_name).put_item(Item=item)
        except Exception:
            return
