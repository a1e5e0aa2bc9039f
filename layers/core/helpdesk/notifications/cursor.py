"""The notification feed's cursor (pure): no event lost, none shown twice.

Timeline events are ordered by the time they were recorded (`at`), but a write can become visible a moment
after a later one (two Lambda instances, an index that is eventually consistent). A plain "after timestamp"
cursor would lose such an event. So the cursor is a *floor* plus the events already delivered at or after it:

    next page = events with at >= floor that are not in `seen`, oldest first, at most `limit`

and the new floor trails the newest delivered event by `LATE_WINDOW` (events recorded more than that late are
the only ones that could be missed; writers record `at` right before the write, so this is generous). `seen`
holds 4-byte digests of the feed ids delivered since the floor, so the cursor stays a few hundred bytes.
It is opaque to the agent: `c1.<base64url>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LATE_WINDOW = timedelta(minutes=10)
MAX_SEEN = 500
MAX_CURSOR_CHARS = 4000
PREFIX = "c1."
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    """The `since` value is not a cursor this API issued."""


def digest(feed_id: str) -> bytes:
    return hashlib.sha256(feed_id.encode("utf-8")).digest()[:4]


@dataclass(frozen=True)
class Cursor:
    floor: datetime = EPOCH
    seen: frozenset[bytes] = field(default_factory=frozenset)

    def encode(self) -> str:
        micros = int((self.floor - EPOCH) / timedelta(microseconds=1))
        payload = {"f": micros, "s": base64.b64encode(b"".join(sorted(self.seen))).decode("ascii")}
        raw = json.dumps(payload, separators=(",", ":")).encode("ascii")
        return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Cursor:
        """`None` / empty: from the beginning of the retained history."""
        if value is None or not value.strip():
            return cls()
        text = value.strip()
        if len(text) > MAX_CURSOR_CHARS or not text.startswith(PREFIX):
            raise InvalidCursor("`since` must be the `cursor` of a previous answer")
        body = text[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = json.loads(raw)
            micros = payload["f"]
            seen = base64.b64decode(payload["s"], validate=True)
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidCursor("`since` must be the `cursor` of a previous answer") from None
        if not isinstance(micros, int) or isinstance(micros, bool) or not 0 <= micros < 2**62 or len(seen) % 4:
            raise InvalidCursor("`since` must be the `cursor` of a previous answer")
        floor = EPOCH + timedelta(microseconds=micros)
        return cls(floor=floor, seen=frozenset(seen[i : i + 4] for i in range(0, len(seen), 4)))


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    cursor: Cursor
    more: bool


def next_page[T](
    items: Iterable[T],
    cursor: Cursor,
    *,
    feed_id: Callable[[T], str],
    at: Callable[[T], datetime],
    now: datetime,
    limit: int,
    window: timedelta = LATE_WINDOW,
) -> Page[T]:
    """The next page of `items` (any order, duplicates allowed) after `cursor`, and the cursor after it."""
    unique: dict[str, T] = {}
    for item in items:
        if at(item) >= cursor.floor:
            unique.setdefault(feed_id(item), item)
    ordered = sorted(unique.items(), key=lambda kv: (at(kv[1]), kv[0]))
    fresh = [(fid, item) for fid, item in ordered if digest(fid) not in cursor.seen]
    chosen = fresh[: max(1, limit)]
    more = len(fresh) > len(chosen)
    trailing = now - window
    if more:
        trailing = min(trailing, at(chosen[-1][1]))
    floor = max(cursor.floor, trailing)
    chosen_ids = {fid for fid, _ in chosen}
    delivered = [
        (at(item), digest(fid))
        for fid, item in ordered
        if at(item) >= floor and (fid in chosen_ids or digest(fid) in cursor.seen)
    ]
    delivered.sort()
    seen = frozenset(d for _, d in delivered[-MAX_SEEN:])
    return Page(items=[item for _, item in chosen], cursor=Cursor(floor=floor, seen=seen), more=more)
