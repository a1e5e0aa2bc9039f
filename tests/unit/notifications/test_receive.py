"""The callout function's use case with fakes: fast answers, nothing changed on rejection, bursts collapse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.domain.tenant import Credential, CredentialKind, SecretPurpose, Tenant, TenantStatus
from helpdesk.domain.tokens import token_hash
from helpdesk.domain.work import SyncWork
from helpdesk.notifications.inbound import signature_of
from helpdesk.notifications.receive import NotificationReceiver

TOKEN = "hbc_" + "x" * 43
SECRET = "webhook-secret"


@dataclass
class FakeTenants:
    tenant: Tenant

    def get(self, tenant_id: str) -> Tenant | None:
        return self.tenant if tenant_id == self.tenant.tenant_id else None

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        if kind is CredentialKind.CALLOUT_TOKEN and token == TOKEN:
            return Credential(credential_id="c1", tenant_id="acme", kind=kind, token_hash=token_hash(TOKEN))
        return None


@dataclass
class FakeMarkers:
    links: dict[int, str] = field(default_factory=lambda: {7: "sub-12345678"})
    until: dict[int, datetime] = field(default_factory=dict)
    received: list[tuple[int, str]] = field(default_factory=list)

    def submission_for_ticket(self, tenant_id: str, ticket_id: int) -> str | None:
        return self.links.get(ticket_id)

    def schedule(self, tenant_id: str, ticket_id: int, *, source: str, now: datetime, window_seconds: int) -> bool:
        self.received.append((ticket_id, source))
        if ticket_id in self.until and self.until[ticket_id] >= now:
            return False
        self.until[ticket_id] = now + timedelta(seconds=window_seconds)
        return True

    def release(self, tenant_id: str, ticket_id: int) -> None:
        self.until.pop(ticket_id, None)


@dataclass
class FakeQueue:
    sent: list[tuple[SyncWork, int]] = field(default_factory=list)
    fail: bool = False

    def send(self, message: SyncWork, *, delay_seconds: int = 0) -> str:
        if self.fail:
            raise RuntimeError("SQS is down")
        self.sent.append((message, delay_seconds))
        return "m1"


class PlainBox:
    def __init__(self) -> None:
        self.opened = 0

    def seal(self, tenant_id: str, plaintext: str, *, purpose: SecretPurpose) -> str:
        return f"{tenant_id}:{purpose}:{plaintext}"

    def open(self, tenant_id: str, ciphertext: str, *, purpose: SecretPurpose) -> str:
        self.opened += 1
        owner, _, rest = ciphertext.partition(":")
        sealed_for, _, secret = rest.partition(":")
        if owner != tenant_id or sealed_for != str(purpose):
            raise ValueError("wrong tenant or purpose")
        return secret


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def parts() -> tuple[NotificationReceiver, FakeMarkers, FakeQueue, Clock, PlainBox]:
    tenant = Tenant(tenant_id="acme", name="Acme", webhook_secret_ciphertext=f"acme:webhook-secret:{SECRET}")
    markers, queue, clock, box = FakeMarkers(), FakeQueue(), Clock(), PlainBox()
    receiver = NotificationReceiver(FakeTenants(tenant), markers, queue, box, collapse_seconds=10, now=clock)
    return receiver, markers, queue, clock, box


def test_a_callout_for_a_button_ticket_queues_one_delayed_sync(parts: tuple) -> None:
    receiver, _markers, queue, _, _ = parts
    answer = receiver.callout(TOKEN, b"id=7&number=T1&status=New", "application/x-www-form-urlencoded")
    assert answer.status == 200 and answer.body == {"status": "queued", "ticket_id": 7}
    [(work, delay)] = queue.sent
    assert work == SyncWork(tenant_id="acme", ticket_id=7, reason="callout") and delay == 11


def test_a_burst_of_callouts_and_webhooks_collapses_into_one_sync(parts: tuple) -> None:
    receiver, _markers, queue, clock, _ = parts
    hook = b'{"Action":"Create","EntityType":"TicketNote","Id":90,"Fields":{"ticketID":7}}'
    statuses = []
    for _ in range(5):
        statuses.append(receiver.callout(TOKEN, b"id=7", "").body["status"])
        statuses.append(receiver.webhook(TOKEN, hook, {"X-Hook-Signature": signature_of(SECRET, hook)}).body["status"])
        clock.now += timedelta(seconds=1)
    assert statuses == ["queued"] + ["collapsed"] * 9 and len(queue.sent) == 1
    clock.now += timedelta(seconds=10)
    assert receiver.callout(TOKEN, b"id=7", "").body["status"] == "queued" and len(queue.sent) == 2


def test_tickets_that_did_not_come_from_a_button_are_ignored_without_a_trace(parts: tuple) -> None:
    receiver, markers, queue, _, _ = parts
    assert receiver.callout(TOKEN, b"id=8", "").body["status"] == "ignored"
    assert queue.sent == [] and markers.received == []


@pytest.mark.parametrize("token", ["", "hbc_forged", TOKEN + "x", "a" * 500])
def test_unknown_tokens_are_404_and_change_nothing(parts: tuple, token: str) -> None:
    receiver, markers, queue, _, _ = parts
    assert receiver.callout(token, b"id=7", "").status == 404
    assert receiver.webhook(token, b"{}", {}).status == 404
    assert queue.sent == [] and markers.received == []


def test_a_disabled_tenant_is_unknown(parts: tuple) -> None:
    receiver, _, queue, _, _ = parts
    receiver.tenants.tenant = receiver.tenants.tenant.model_copy(update={"status": TenantStatus.DISABLED})  # type: ignore[attr-defined]
    assert receiver.callout(TOKEN, b"id=7", "").status == 404 and queue.sent == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Hook-Signature": "sha1=AAAA"}, {"X-Hook-Signature": signature_of("wrong", b'{"Id":7}')}],
)
def test_bad_signatures_are_401_and_change_nothing(parts: tuple, headers: dict[str, str]) -> None:
    receiver, markers, queue, _, _ = parts
    body = b'{"Action":"Update","EntityType":"Ticket","Id":7}'
    assert receiver.webhook(TOKEN, body, headers).status == 401
    assert queue.sent == [] and markers.received == []


def test_without_a_registered_secret_no_webhook_is_trusted(parts: tuple) -> None:
    receiver, _, _queue, _, _ = parts
    receiver.tenants.tenant = receiver.tenants.tenant.model_copy(update={"webhook_secret_ciphertext": None})  # type: ignore[attr-defined]
    body = b'{"Action":"Update","EntityType":"Ticket","Id":7}'
    assert receiver.webhook(TOKEN, body, {"x-hook-signature": signature_of(SECRET, body)}).status == 401


def test_garbage_is_400_and_changes_nothing(parts: tuple) -> None:
    receiver, markers, queue, _, _ = parts
    assert receiver.callout(TOKEN, b"\x00\x01garbage", "").status == 400
    body = b"not json at all"
    assert receiver.webhook(TOKEN, body, {"X-Hook-Signature": signature_of(SECRET, body)}).status == 400
    assert receiver.callout(TOKEN, b"id=1&x=" + b"a" * 300_000, "").status == 413
    assert queue.sent == [] and markers.received == []


def test_the_webhook_secret_is_decrypted_once_per_instance(parts: tuple) -> None:
    receiver, _, _, _, box = parts
    body = b'{"Action":"Update","EntityType":"Ticket","Id":7}'
    for _ in range(3):
        assert receiver.webhook(TOKEN, body, {"X-Hook-Signature": signature_of(SECRET, body)}).status == 200
    assert box.opened == 1


def test_a_failed_enqueue_releases_the_marker_so_the_next_callout_schedules_again(parts: tuple) -> None:
    receiver, _markers, queue, _, _ = parts
    queue.fail = True
    with pytest.raises(RuntimeError):
        receiver.callout(TOKEN, b"id=7", "")
    queue.fail = False
    assert receiver.callout(TOKEN, b"id=7", "").body["status"] == "queued"
