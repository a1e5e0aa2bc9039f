"""The TenantRepository contract: the same behaviour tests run against the in-memory fake (tests/unit/admin/fakes.py)
and the DynamoDB adapter (moto), so the fake the unit tests trust cannot drift from production. Tenants with
optimistic locking, rules versions, and credentials that are bounded and hold their state under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.domain.ports import CredentialLimitReached, LastCredential
from helpdesk.domain.tenant import CredentialKind, Tenant, TenantStatus
from tests.unit.admin.fakes import MemoryTenants

BUTTON = CredentialKind.BUTTON_KEY
ADMIN = CredentialKind.ADMIN_TOKEN
LIMITS = {BUTTON: 3, ADMIN: 3, CredentialKind.CALLOUT_TOKEN: 2}

Factory = Callable[..., Any]


@pytest.fixture
def serialisable_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB runs each transaction atomically and isolated. moto (in-process) cancels a transaction by restoring
    a copy of the whole table taken before it, which would undo other threads' writes made meanwhile: make its
    writes mutually exclusive, as DynamoDB's are per item, so these tests see DynamoDB's semantics (the devstack's
    moto server does the same, devstack/moto_process.py). Reads are not locked: the races under test are between
    a read and a later conditional write."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.fixture(params=["memory", "dynamodb"])
def make_repo(request: pytest.FixtureRequest) -> Factory:
    if request.param == "memory":
        return lambda **kw: MemoryTenants(limits=kw.get("limits", LIMITS))
    env = request.getfixturevalue("aws_env")
    return lambda **kw: DynamoTenantRepository(env["TENANTS_TABLE"], limits=kw.get("limits", LIMITS), page_size=2)


@pytest.fixture
def repo(make_repo: Factory) -> Any:
    repo = make_repo()
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    repo.create(Tenant(tenant_id="globex", name="Globex"))
    return repo


def active(repo: Any, tenant_id: str, kind: CredentialKind) -> list[Any]:
    return [c for c in repo.list_credentials(tenant_id, kind) if c.active]


def test_a_tenant_id_is_taken_once_and_reads_back_as_stored(repo: Any) -> None:
    from helpdesk.domain.ports import ConflictError

    with pytest.raises(ConflictError):
        repo.create(Tenant(tenant_id="acme", name="Another Acme"))
    stored = repo.get("acme")
    assert stored.name == "Acme" and stored.revision == 1
    assert repo.get("nobody") is None
    assert [t.tenant_id for t in repo.list_tenants()] == ["acme", "globex"]


def test_a_save_from_a_stale_revision_is_a_conflict_and_changes_nothing(repo: Any) -> None:
    from helpdesk.domain.ports import ConflictError

    first = repo.get("acme")
    saved = repo.save(first.model_copy(update={"name": "Acme MSP"}))
    assert saved.revision == first.revision + 1
    with pytest.raises(ConflictError):
        repo.save(first.model_copy(update={"name": "Lost update"}))
    assert repo.get("acme").name == "Acme MSP"


def test_rules_versions_are_numbered_in_order_per_tenant(repo: Any) -> None:
    one = repo.add_rules_version("acme", "priority = 'High'\n", author="ann")
    two = repo.add_rules_version("acme", "priority = 'Low'\n")
    other = repo.add_rules_version("globex", "queue = 'Tier 2'\n")
    assert (one.version, two.version, other.version) == (1, 2, 1)
    assert [v.version for v in repo.list_rules_versions("acme")] == [1, 2]
    assert repo.get_rules_version("acme", 1).source == "priority = 'High'\n"
    assert repo.get_rules_version("acme", 3) is None
    assert repo.get_rules_version("globex", 2) is None


def test_the_last_integration_test_is_kept_per_tenant_without_changing_the_settings_revision(repo: Any) -> None:
    from datetime import UTC, datetime

    from helpdesk.domain.tenant import ConnectionState, IntegrationTestSummary

    assert repo.last_integration_test("acme") is None
    revision = repo.get("acme").revision
    first = IntegrationTestSummary(ok=False, ran_at=datetime(2026, 1, 1, tzinfo=UTC), connection="rejected", failed=1)
    repo.save_integration_test("acme", first)
    second = first.model_copy(update={"ok": True, "connection": ConnectionState.CONNECTED, "failed": 0})
    repo.save_integration_test("acme", second)
    assert repo.last_integration_test("acme") == second  # the newer replaces the older
    assert repo.last_integration_test("globex") is None
    assert repo.get("acme").revision == revision  # a settings save from the page is no conflict afterwards
    assert [v.version for v in repo.list_rules_versions("acme")] == []


def test_a_tenant_cannot_hold_more_active_credentials_than_the_limit(repo: Any) -> None:
    for _ in range(3):
        repo.issue_credential("acme", BUTTON)
    with pytest.raises(CredentialLimitReached):
        repo.issue_credential("acme", BUTTON)
    assert len(repo.list_credentials("acme", BUTTON)) == 3
    # Limits are per tenant and per kind
    repo.issue_credential("globex", BUTTON)
    repo.issue_credential("acme", ADMIN)


def test_a_revoked_credential_frees_its_place_under_the_limit(repo: Any) -> None:
    issued = [repo.issue_credential("acme", BUTTON) for _ in range(3)]
    assert repo.revoke_credential("acme", BUTTON, issued[0].credential.credential_id)
    repo.issue_credential("acme", BUTTON)
    assert len(active(repo, "acme", BUTTON)) == 3


def test_list_and_revoke_see_every_credential_past_the_first_page(make_repo: Factory) -> None:
    repo = make_repo(limits={**LIMITS, BUTTON: 20})
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    issued = [repo.issue_credential("acme", BUTTON, f"key {n}") for n in range(7)]
    listed = repo.list_credentials("acme", BUTTON)
    assert sorted(c.credential_id for c in listed) == sorted(i.credential.credential_id for i in issued)
    last = max(issued, key=lambda i: i.credential.credential_id)
    assert repo.revoke_credential("acme", BUTTON, last.credential.credential_id)
    assert repo.resolve_credential(BUTTON, last.token) is None


def test_revoking_another_tenants_credential_finds_nothing(repo: Any) -> None:
    theirs = repo.issue_credential("globex", BUTTON)
    assert repo.revoke_credential("acme", BUTTON, theirs.credential.credential_id) is False
    assert repo.resolve_credential(BUTTON, theirs.token) is not None


def test_the_last_credential_to_keep_cannot_be_revoked(repo: Any) -> None:
    first, second = repo.issue_credential("acme", ADMIN), repo.issue_credential("acme", ADMIN)
    assert repo.revoke_credential("acme", ADMIN, first.credential.credential_id, keep_at_least=1)
    with pytest.raises(LastCredential):
        repo.revoke_credential("acme", ADMIN, second.credential.credential_id, keep_at_least=1)
    assert repo.resolve_credential(ADMIN, second.token) is not None
    # Revoking an already revoked one is a no-op, not a second decrement
    assert repo.revoke_credential("acme", ADMIN, first.credential.credential_id, keep_at_least=1)
    assert len(active(repo, "acme", ADMIN)) == 1


def test_a_disabled_tenants_credentials_resolve_as_suspended_until_it_is_enabled(repo: Any) -> None:
    before = repo.issue_credential("acme", BUTTON)
    other = repo.issue_credential("globex", BUTTON)
    repo.set_status("acme", TenantStatus.DISABLED)
    during = repo.issue_credential("acme", BUTTON)
    assert repo.resolve_credential(BUTTON, before.token).suspended
    assert repo.resolve_credential(BUTTON, during.token).suspended
    assert not repo.resolve_credential(BUTTON, other.token).suspended
    assert repo.get("acme").status is TenantStatus.DISABLED
    repo.set_status("acme", TenantStatus.ACTIVE)
    assert not repo.resolve_credential(BUTTON, before.token).suspended
    assert not repo.resolve_credential(BUTTON, during.token).suspended


def test_concurrent_revocations_never_take_the_last_admin_token(
    aws_env: dict[str, str], serialisable_moto: None
) -> None:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"], limits=LIMITS)
    for n in range(5):  # each round: a tenant with exactly two admin tokens, both revoked at the same moment
        tenant_id = f"acme-{n}"
        repo.create(Tenant(tenant_id=tenant_id, name="Acme"))
        tokens = [repo.issue_credential(tenant_id, ADMIN) for _ in range(2)]
        barrier = threading.Barrier(2, timeout=10)
        outcomes: list[str] = []

        def revoke(credential_id: str) -> None:
            barrier.wait()
            try:
                repo.revoke_credential(tenant_id, ADMIN, credential_id, keep_at_least=1)
                outcomes.append("revoked")
            except LastCredential:
                outcomes.append("refused")

        threads = [threading.Thread(target=revoke, args=(t.credential.credential_id,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert sorted(outcomes) == ["refused", "revoked"]
        assert len(active(repo, tenant_id, ADMIN)) == 1


def test_concurrent_creates_never_exceed_the_limit(aws_env: dict[str, str], serialisable_moto: None) -> None:
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"], limits=LIMITS)
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    barrier = threading.Barrier(6, timeout=10)
    refused: list[int] = []

    def create() -> None:
        barrier.wait()
        try:
            repo.issue_credential("acme", BUTTON)
        except CredentialLimitReached:
            refused.append(1)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(active(repo, "acme", BUTTON)) == 3 and len(refused) == 3
