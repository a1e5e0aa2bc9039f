"""The callout function's use case: answer Autotask fast, never call Autotask.

For every request: token -> tenant (404 if unknown, revoked or the tenant is disabled) -> for webhooks the HMAC
signature over the raw body (401) -> parse (400 / 413) -> is the ticket one of ours (a button press)? If not:
200 "ignored", nothing stored. If it is: record the notification on the (tenant, ticket) "sync pending" marker
and, unless a sync is already scheduled within the collapse window, enqueue one SyncWork delayed by that window.
A burst of callouts and webhooks for one ticket (Autotask fires one per workflow rule, plus each webhook) thus
becomes one Autotask re-read. Rejections change nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.domain.ports import CredentialLookup, SecretBox, SyncMarkers, WorkQueue
from helpdesk.domain.tenant import CredentialKind, SecretPurpose, Tenant
from helpdesk.domain.tokens import same_token
from helpdesk.domain.work import SyncWork

from .inbound import SIGNATURE_HEADER, MalformedPayload, PayloadTooLarge, parse_callout, parse_webhook, verify_signature

COLLAPSE_SECONDS = 10
SECRET_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"error": code, "message": message})


NOT_FOUND = _error(404, "not_found", "No such notification URL.")
BAD_SIGNATURE = _error(401, "bad_signature", "The X-Hook-Signature does not match this webhook's secret key.")


@dataclass
class NotificationReceiver:
    tenants: CredentialLookup
    markers: SyncMarkers
    queue: WorkQueue
    secrets: SecretBox
    collapse_seconds: int = COLLAPSE_SECONDS
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    metric: Callable[[str, float], None] = lambda name, value: None
    log: Callable[[str, dict[str, Any]], None] = lambda message, extra: None
    _secret_cache: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------------------------------ entry points
    def callout(self, token: str, body: bytes, content_type: str = "") -> Answer:
        tenant = self._tenant(token)
        if tenant is None:
            self.metric("CalloutsRejected", 1)
            return NOT_FOUND
        try:
            payload = parse_callout(body, content_type)
        except MalformedPayload as exc:
            return self._malformed(exc, "callout")
        self.metric("CalloutsReceived", 1)
        return self._accept(tenant, payload.ticket_id, "callout")

    def webhook(self, token: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        tenant = self._tenant(token)
        if tenant is None:
            self.metric("WebhooksRejected", 1)
            return NOT_FOUND
        signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        secret = self._webhook_secret(tenant)
        if secret is None or not verify_signature(secret, body, signature):
            self.metric("WebhooksRejected", 1)
            self.log("webhook signature rejected", {"tenant_id": tenant.tenant_id, "signed": bool(signature)})
            return BAD_SIGNATURE
        try:
            payload = parse_webhook(body)
        except MalformedPayload as exc:
            return self._malformed(exc, "webhook")
        self.metric("WebhooksReceived", 1)
        if not payload.relevant or payload.ticket_id is None:
            return Answer(200, {"status": "ignored", "reason": f"{payload.entity_type} {payload.action}"})
        return self._accept(tenant, payload.ticket_id, f"webhook:{payload.entity_type}"[:32])

    # ------------------------------------------------------------------------------------------ steps
    def _tenant(self, token: str) -> Tenant | None:
        if not token or len(token) > 200:
            return None
        credential = self.tenants.resolve_credential(CredentialKind.CALLOUT_TOKEN, token)
        if credential is None or not same_token(token, credential.token_hash):
            return None
        tenant = self.tenants.get(credential.tenant_id)
        return tenant if tenant is not None and tenant.active else None

    def _webhook_secret(self, tenant: Tenant) -> str | None:
        ciphertext = tenant.webhook_secret_ciphertext
        if not ciphertext:
            return None
        key = (tenant.tenant_id, ciphertext)
        now = time.monotonic()
        with self._lock:
            hit = self._secret_cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        try:
            secret = self.secrets.open(tenant.tenant_id, ciphertext, purpose=SecretPurpose.WEBHOOK_SECRET)
        except Exception as exc:  # a broken ciphertext must not become a 500 storm; it cannot verify anything
            self.log("webhook secret could not be decrypted", {"error": type(exc).__name__})
            return None
        with self._lock:
            if len(self._secret_cache) > 1000:
                self._secret_cache.clear()
            self._secret_cache[key] = (now + SECRET_CACHE_SECONDS, secret)
        return secret

    def _malformed(self, exc: MalformedPayload, kind: str) -> Answer:
        self.metric(f"{kind.title()}sMalformed", 1)
        if isinstance(exc, PayloadTooLarge):
            return _error(413, "too_large", str(exc))
        return _error(400, "malformed", str(exc))

    def _accept(self, tenant: Tenant, ticket_id: int, source: str) -> Answer:
        submission_id = self.markers.submission_for_ticket(tenant.tenant_id, ticket_id)
        if submission_id is None:
            self.metric("NotificationsIgnored", 1)
            return Answer(200, {"status": "ignored", "reason": "not a ticket from a button press"})
        scheduled = self.markers.schedule(
            tenant.tenant_id, ticket_id, source=source, now=self.now(), window_seconds=self.collapse_seconds
        )
        if not scheduled:
            self.metric("SyncsCollapsed", 1)
            return Answer(200, {"status": "collapsed", "ticket_id": ticket_id})
        work = SyncWork(tenant_id=tenant.tenant_id, ticket_id=ticket_id, reason=source)
        try:
            self.queue.send(work, delay_seconds=self.collapse_seconds + 1)
        except Exception:
            self.markers.release(tenant.tenant_id, ticket_id)
            raise
        self.metric("SyncsQueued", 1)
        self.log("sync queued", {"tenant_id": tenant.tenant_id, "ticket_id": ticket_id, "source": source})
        return Answer(200, {"status": "queued", "ticket_id": ticket_id})
