"""Autotask limits shared by every dispatcher instance, kept in the TenantsTable (docs/architecture.md,
"Dispatch: Autotask limits across instances").

- `DynamoConcurrencyLimiter`: a lease semaphore per (database, integration code, entity) with 3 slots
  (Autotask's thread limit). A slot is a pair of attributes `s<i>` (lease expiry, epoch ms) / `o<i>` (owner)
  taken with a conditional UpdateItem (free or expired) and given back with a conditional REMOVE. A crashed
  holder's lease simply expires. Waiting is short and bounded: when no slot frees up in `wait_timeout`, it
  raises `ThreadLimitExceeded` so the work item backs off through the queue instead of holding an instance.
- A request to a child collection (`Tickets/{id}/Notes`) can hold a slot of the parent entity too
  (`LimiterKey.parent`, the client's `hold_parent_slots`): both slots are taken in one `TransactWriteItems` and
  given back in another.
- The same limiter enforces an hourly request budget per database: a counter per clock hour, incremented
  conditionally; over budget -> `Throttled` with `retry_after` = the rest of the hour. It is taken in chunks of
  `budget_chunk` requests (a warm ticket's cost, so once per ticket) and the rest of a chunk is used by this
  execution environment's next requests in the same hour: at most `budget_chunk - 1` requests per environment
  and hour are counted without being sent.
- `DynamoBreakerStore`: the per-tenant circuit breaker's state (policy in helpdesk.dispatch.breaker).

Item layout (pk / sk), all with TTL `expires_at`:
  LIMIT#<hash of database + integration code> / THREADS#<entity>    slots s0..s2 / o0..o2
  LIMIT#<hash of database>                    / BUDGET#<yyyymmddhh>  n (requests this hour)
  DISPATCH#<tenant id>                        / BREAKER              the breaker document (JSON in `doc`)
  DISPATCH#<tenant id>                        / INFLIGHT             the tenant's share of the dispatcher:
                                                                     slots s0..s<n-1> (lease expiry) / o0.. (owner)
The integration code is hashed into the key: it is a credential and never stored in clear. The dispatcher
writes only items whose partition key starts with LIMIT# or DISPATCH# (pinned by a dynamodb:LeadingKeys
condition in template.yaml): it cannot touch tenant profiles, rules or token items.
- `DynamoTenantLeases`: a tenant's share of the dispatcher's concurrency, the same lease-slot scheme as the
  thread semaphore (a crashed invocation's lease lapses when the invocation must have ended). Taking a lease
  costs one conditional UpdateItem when the chosen slot is free; when it is not, the failed write returns the
  item (ReturnValuesOnConditionCheckFailure) so the second try goes straight to a free slot or gives up.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.ports import (
    AUTOTASK_THREAD_LIMIT,
    DEFAULT_HOURLY_BUDGET,
    LimiterKey,
    ThreadLimitExceeded,
    Throttled,
)

LEASE_SECONDS = 45.0  # > the client's connect + read timeout, so a live request never loses its slot
BUDGET_CHUNK = 3  # Autotask requests of a warm ticket without attachments: the budget is taken once per ticket


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoConcurrencyLimiter:
    """Implements helpdesk.ports.ConcurrencyLimiter across processes (and the hourly budget)."""

    def __init__(
        self,
        table_name: str,
        *,
        limit: int = AUTOTASK_THREAD_LIMIT,
        overrides: dict[str, int] | None = None,
        hourly_budget: int | None = DEFAULT_HOURLY_BUDGET,
        wait_timeout: float = 3.0,
        lease_seconds: float = LEASE_SECONDS,
        budget_chunk: int = BUDGET_CHUNK,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table_name = table_name
        self._table = aws.table(table_name)
        self.limit = limit
        self.budget_chunk = max(1, budget_chunk)
        self._budget_lock = threading.Lock()
        self._allowance: dict[tuple[str, str], int] = {}  # (database, hour) -> requests taken and not yet used
        self.overrides = dict(overrides or {"ThresholdInformation": 1})
        self.hourly_budget = hourly_budget
        self.wait_timeout = wait_timeout
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._sleep = sleep
        self.acquired = 0  # counters for tests and metrics
        self.contended = 0

    # ------------------------------------------------------------------ budget
    def consume_budget(self, database: str, requests: int = 1) -> None:
        if self.hourly_budget is None:
            return
        now = datetime.fromtimestamp(self._clock(), UTC)
        hour = f"{now:%Y%m%d%H}"
        with self._budget_lock:
            left = self._allowance.get((database, hour), 0)
            if left >= requests:
                self._allowance[(database, hour)] = left - requests
                return
        for take in dict.fromkeys((max(requests, self.budget_chunk), requests)):  # a chunk; near the end, exactly
            if self._take_budget(database, hour, take):
                with self._budget_lock:
                    kept = {k: v for k, v in self._allowance.items() if k[1] == hour}  # older hours are over
                    kept[(database, hour)] = kept.get((database, hour), 0) + take - requests
                    self._allowance = kept
                return
        rest_of_hour = 3600 - (now.minute * 60 + now.second)
        raise Throttled(
            f"this service's hourly budget of {self.hourly_budget} Autotask requests is used up",
            retry_after=float(rest_of_hour + random.randint(5, 120)),
        )

    def _take_budget(self, database: str, hour: str, take: int) -> bool:
        assert self.hourly_budget is not None
        if take > self.hourly_budget:
            return False
        try:
            self._table.update_item(
                Key={"pk": f"LIMIT#{_hash(database)}", "sk": f"BUDGET#{hour}"},
                UpdateExpression="ADD n :take SET expires_at = :ttl",
                ConditionExpression="attribute_not_exists(n) OR n <= :room",
                ExpressionAttributeValues={
                    ":take": take,
                    ":room": self.hourly_budget - take,
                    ":ttl": int(self._clock()) + 7200,
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------------ semaphore
    def _slots(self, entity: str) -> int:
        return max(1, self.overrides.get(entity, self.limit))

    def _try_take(self, key: dict[str, str], slot: int, owner: str) -> bool:
        now_ms = int(self._clock() * 1000)
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression=f"SET s{slot} = :lease, o{slot} = :me, expires_at = :ttl",
                ConditionExpression=f"attribute_not_exists(s{slot}) OR s{slot} < :now",
                ExpressionAttributeValues={
                    ":lease": now_ms + int(self.lease_seconds * 1000),
                    ":me": owner,
                    ":now": now_ms,
                    ":ttl": int(self._clock()) + 86400,
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _give_back(self, key: dict[str, str], slot: int, owner: str) -> None:
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression=f"REMOVE s{slot}, o{slot}",
                ConditionExpression=f"o{slot} = :me",
                ExpressionAttributeValues={":me": owner},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):  # lease expired and someone else holds it now: nothing to give back
                raise

    def _item_key(self, key: LimiterKey) -> dict[str, str]:
        return {"pk": f"LIMIT#{_hash(key.database, key.integration_code)}", "sk": f"THREADS#{key.entity}"}

    def _slot_update(self, item_key: dict[str, str], slot: int, owner: str, *, take: bool) -> dict[str, Any]:
        """One slot's take or give-back as a TransactWriteItems `Update` (low-level attribute values)."""
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {name: {"S": value} for name, value in item_key.items()},
        }
        if take:
            now_ms = int(self._clock() * 1000)
            update["UpdateExpression"] = f"SET s{slot} = :lease, o{slot} = :me, expires_at = :ttl"
            update["ConditionExpression"] = f"attribute_not_exists(s{slot}) OR s{slot} < :now"
            update["ExpressionAttributeValues"] = {
                ":lease": {"N": str(now_ms + int(self.lease_seconds * 1000))},
                ":me": {"S": owner},
                ":now": {"N": str(now_ms)},
                ":ttl": {"N": str(int(self._clock()) + 86400)},
            }
        else:
            update["UpdateExpression"] = f"REMOVE s{slot}, o{slot}"
            update["ConditionExpression"] = f"o{slot} = :me"
            update["ExpressionAttributeValues"] = {":me": {"S": owner}}
        return update

    def _transact(self, items: list[dict[str, str]], slots: list[int], owner: str, *, take: bool) -> list[bool]:
        """Take (or give back) one slot per item in one transaction. Returns, per item, whether its condition
        held (all True: done)."""
        updates = [
            {"Update": self._slot_update(k, slot, owner, take=take)} for k, slot in zip(items, slots, strict=True)
        ]
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=updates)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if len(reasons) == len(items):
                return [r.get("Code") in (None, "None") for r in reasons]
            return [False] * len(items)
        return [True] * len(items)

    def _give_back_all(self, items: list[dict[str, str]], taken: list[int], owner: str) -> None:
        if len(items) == 1:
            self._give_back(items[0], taken[0], owner)
        elif not all(self._transact(items, taken, owner, take=False)):
            for item_key, slot in zip(items, taken, strict=True):  # one lease expired meanwhile: one by one
                self._give_back(item_key, slot, owner)

    def _take_round(self, keys: list[LimiterKey], items: list[dict[str, str]], owner: str) -> list[int] | None:
        """One pass over the slots (random order); the taken slot per item, or None when every one was busy."""
        own = list(range(self._slots(keys[-1].entity)))
        random.shuffle(own)
        if len(keys) == 1:
            for slot in own:
                if self._try_take(items[0], slot, owner):
                    return [slot]
            return None
        parents = list(range(self._slots(keys[0].entity)))
        random.shuffle(parents)
        for parent in parents:
            for child in own:
                ok = self._transact(items, [parent, child], owner, take=True)
                if all(ok):
                    return [parent, child]
                if not ok[0]:
                    break  # this parent slot is busy: the next one
        return None

    @contextmanager
    def _hold(self, key: LimiterKey) -> Iterator[None]:
        self.consume_budget(key.database)
        keys = key.slots()
        items = [self._item_key(k) for k in keys]
        owner = secrets.token_hex(8)
        deadline = self._clock() + self.wait_timeout
        taken: list[int] | None = None
        for round_ in range(1000):  # bounded; the deadline ends it much sooner
            taken = self._take_round(keys, items, owner)
            if taken is not None:
                break
            self.contended += 1
            if self._clock() >= deadline:
                names = " + ".join(k.entity for k in keys)
                raise ThreadLimitExceeded(
                    f"all Autotask threads for {names} are busy in other dispatcher instances",
                    retry_after=float(random.randint(2, 8)),
                )
            self._sleep(min(0.05 * (2 ** min(round_, 4)), 0.5) * (0.5 + random.random()))
        if taken is None:  # pragma: no cover - the loop bound is far beyond the deadline
            raise ThreadLimitExceeded("no Autotask thread slot", retry_after=5.0)
        self.acquired += 1
        try:
            yield
        finally:
            self._give_back_all(items, taken, owner)

    def acquire(self, key: LimiterKey) -> AbstractContextManager[None]:
        return self._hold(key)


class DynamoBreakerStore:
    """Reads and writes the per-tenant breaker document (DISPATCH#<id> / BREAKER)."""

    def __init__(self, table_name: str) -> None:
        self._table = aws.table(table_name)

    def get(self, tenant_id: str) -> str | None:
        item = self._table.get_item(Key={"pk": f"DISPATCH#{tenant_id}", "sk": "BREAKER"}, ConsistentRead=True).get(
            "Item"
        )
        return str(item["doc"]) if item else None

    def put(self, tenant_id: str, doc: str, expires_at: int) -> None:
        item: dict[str, Any] = {"pk": f"DISPATCH#{tenant_id}", "sk": "BREAKER", "doc": doc, "expires_at": expires_at}
        self._table.put_item(Item=item)

    def delete(self, tenant_id: str) -> None:
        self._table.delete_item(Key={"pk": f"DISPATCH#{tenant_id}", "sk": "BREAKER"})


class DynamoTenantLeases:
    """Implements helpdesk.domain.ports.TenantLeases: at most `slots` concurrent holders per tenant."""

    def __init__(self, table_name: str, *, slots: int, clock: Callable[[], float] = time.time) -> None:
        self._table = aws.table(table_name)
        self.slots = max(1, slots)
        self._clock = clock
        self.round_trips = 0  # DynamoDB calls made (tests and the benchmark count them)

    @staticmethod
    def _key(tenant_id: str) -> dict[str, str]:
        return {"pk": f"DISPATCH#{tenant_id}", "sk": "INFLIGHT"}

    def _take(self, tenant_id: str, slot: int, owner: str, until_ms: int) -> dict[str, Any] | None:
        """None when taken; otherwise the item as it was (so the caller can see which slots are free)."""
        now_ms = int(self._clock() * 1000)
        self.round_trips += 1
        try:
            self._table.update_item(
                Key=self._key(tenant_id),
                UpdateExpression=f"SET s{slot} = :lease, o{slot} = :me, expires_at = :ttl",
                ConditionExpression=f"attribute_not_exists(s{slot}) OR s{slot} < :now",
                ExpressionAttributeValues={
                    ":lease": until_ms,
                    ":me": owner,
                    ":now": now_ms,
                    ":ttl": until_ms // 1000 + 86400,
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                old: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]
                return old
            raise
        return None

    def try_acquire(self, tenant_id: str, until_epoch_s: float) -> str | None:
        """A lease handle (`<slot>:<owner>`) valid until `until_epoch_s`, or None when the tenant's share is held."""
        owner = secrets.token_hex(8)
        until_ms = int(until_epoch_s * 1000)
        slot = random.randrange(self.slots)
        for _ in range(3):  # bounded: a first try, a targeted second, one more if another holder raced us
            old = self._take(tenant_id, slot, owner, until_ms)
            if old is None:
                return f"{slot}:{owner}"
            now_ms = int(self._clock() * 1000)
            free = [
                i for i in range(self.slots) if f"s{i}" not in old or int(next(iter(old[f"s{i}"].values()))) < now_ms
            ]
            if not free:
                return None
            slot = random.choice(free)
        return None

    def release(self, tenant_id: str, handle: str) -> None:
        slot, _, owner = handle.partition(":")
        self.round_trips += 1
        try:
            self._table.update_item(
                Key=self._key(tenant_id),
                UpdateExpression=f"REMOVE s{int(slot)}, o{int(slot)}",
                ConditionExpression=f"o{int(slot)} = :me",
                ExpressionAttributeValues={":me": owner},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):  # lapsed and taken by another holder: nothing to give back
                raise
