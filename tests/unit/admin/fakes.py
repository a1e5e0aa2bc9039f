"""Fakes for the admin use cases: an in-memory tenant repository, a secret box, an Autotask gateway, rules."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from helpdesk.admin.ports import (
    ConnectionSettings,
    EntityAccess,
    PicklistOption,
    PicklistSet,
    ZoneInfo,
)
from helpdesk.admin.service import AdminService
from helpdesk.domain.ports import ConflictError, CredentialLimitReached, LastCredential, SecretUnreadable
from helpdesk.domain.rules import RuleDiagnostic, RuleResult, RulesRequest
from helpdesk.domain.tenant import (
    CREDENTIAL_LIMITS,
    Credential,
    CredentialKind,
    IntegrationTestSummary,
    IssuedCredential,
    RulesVersion,
    SecretPurpose,
    Tenant,
    TenantStatus,
    utcnow,
)
from helpdesk.domain.tokens import new_id, new_token, token_hash


class MemoryTenants:
    def __init__(self, *, limits: dict[CredentialKind, int] | None = None) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.credentials: dict[str, Credential] = {}
        self.rules: dict[str, list[RulesVersion]] = {}
        self.last_tests: dict[str, IntegrationTestSummary] = {}
        self.limits = dict(limits or CREDENTIAL_LIMITS)

    def get(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def create(self, tenant: Tenant) -> Tenant:
        if tenant.tenant_id in self.tenants:
            raise ConflictError("exists")
        stored = tenant.model_copy(update={"revision": 1})
        self.tenants[tenant.tenant_id] = stored
        return stored

    def save(self, tenant: Tenant) -> Tenant:
        current = self.tenants.get(tenant.tenant_id)
        if current is None or current.revision != tenant.revision:
            raise ConflictError("changed")
        stored = tenant.model_copy(update={"revision": tenant.revision + 1, "updated_at": utcnow()})
        self.tenants[tenant.tenant_id] = stored
        return stored

    def list_tenants(self) -> list[Tenant]:
        return sorted(self.tenants.values(), key=lambda t: t.tenant_id)

    def save_integration_test(self, tenant_id: str, summary: IntegrationTestSummary) -> None:
        self.last_tests[tenant_id] = summary

    def last_integration_test(self, tenant_id: str) -> IntegrationTestSummary | None:
        return self.last_tests.get(tenant_id)

    def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        tenant = self.tenants[tenant_id]
        if tenant.status is not status:
            tenant = self.save(tenant.model_copy(update={"status": status}))
        for h, c in self.credentials.items():
            if c.tenant_id == tenant_id:
                self.credentials[h] = c.model_copy(update={"suspended": status is TenantStatus.DISABLED})
        return tenant

    def _active(self, tenant_id: str, kind: CredentialKind) -> int:
        return sum(1 for c in self.list_credentials(tenant_id, kind) if c.active)

    def issue_credential(self, tenant_id: str, kind: CredentialKind, label: str = "") -> IssuedCredential:
        if self._active(tenant_id, kind) >= self.limits[kind]:
            raise CredentialLimitReached(f"at most {self.limits[kind]}")
        token = new_token(kind.value)
        tenant = self.tenants.get(tenant_id)
        credential = Credential(
            credential_id=new_id(f"{kind.value}_"),
            tenant_id=tenant_id,
            kind=kind,
            label=label,
            token_hash=token_hash(token),
            token_hint=token[-4:],
            suspended=tenant is not None and tenant.status is TenantStatus.DISABLED,
        )
        self.credentials[credential.token_hash] = credential
        return IssuedCredential(credential=credential, token=token)

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        c = self.credentials.get(token_hash(token))
        return c if c and c.kind is kind and c.active else None

    def list_credentials(self, tenant_id: str, kind: CredentialKind) -> list[Credential]:
        return [c for c in self.credentials.values() if c.tenant_id == tenant_id and c.kind is kind]

    def revoke_credential(
        self, tenant_id: str, kind: CredentialKind, credential_id: str, *, keep_at_least: int = 0
    ) -> bool:
        for h, c in self.credentials.items():
            if c.tenant_id == tenant_id and c.kind is kind and c.credential_id == credential_id:
                if c.active:
                    if self._active(tenant_id, kind) <= keep_at_least:
                        raise LastCredential("last one")
                    self.credentials[h] = c.model_copy(update={"revoked_at": utcnow()})
                return True
        return False

    def add_rules_version(self, tenant_id: str, source: str, author: str = "", note: str = "") -> RulesVersion:
        versions = self.rules.setdefault(tenant_id, [])
        v = RulesVersion(tenant_id=tenant_id, version=len(versions) + 1, source=source, author=author, note=note)
        versions.append(v)
        return v

    def get_rules_version(self, tenant_id: str, version: int) -> RulesVersion | None:
        return next((v for v in self.rules.get(tenant_id, []) if v.version == version), None)

    def list_rules_versions(self, tenant_id: str) -> list[RulesVersion]:
        return list(self.rules.get(tenant_id, []))


class FakeSecretBox:
    """Reversible 'encryption' bound to tenant and purpose (opening with another of either fails, like a KMS
    encryption context)."""

    def seal(self, tenant_id: str, plaintext: str, *, purpose: SecretPurpose) -> str:
        return base64.b64encode(json.dumps([tenant_id, str(purpose), plaintext[::-1]]).encode()).decode()

    def open(self, tenant_id: str, ciphertext: str, *, purpose: SecretPurpose) -> str:
        owner, sealed_for, reversed_text = json.loads(base64.b64decode(ciphertext))
        if owner != tenant_id or sealed_for != str(purpose):
            raise SecretUnreadable("wrong context")
        return str(reversed_text[::-1])


def demo_picklists() -> PicklistSet:
    def opts(*labels: str, parent: str | None = None) -> list[PicklistOption]:
        return [PicklistOption(value=str(i + 1), label=label, parent=parent) for i, label in enumerate(labels)]

    return PicklistSet(
        fields={
            "queue": opts("Client Portal", "Tier 1 Support", "Tier 2 Support"),
            "priority": opts("Critical", "High", "Medium", "Low"),
            "ticketStatus": opts("New", "In Progress", "Complete"),
            "type": opts("Service Request", "Incident", "Problem", "Alert"),
            "source": opts("Phone", "Email", "Web Portal", "Other"),
            "issue": opts("Hardware", "Software"),
            "subIssue": [
                PicklistOption(value="11", label="Printer", parent="1"),
                PicklistOption(value="12", label="Office", parent="2"),
            ],
            "category": opts("Standard", "AEM Alert"),
            "worktype": [PicklistOption(value="29682800", label="Remote Support")],
        }
    )


@dataclass
class FakeGateway:
    """Autotask as the admin use cases see it. Set `fail[method] = exception` to inject a failure."""

    contacts: set[str] = field(default_factory=lambda: {"unregistered@helpdeskbuttons.com"})
    access: dict[str, EntityAccess] = field(default_factory=dict)
    lists: PicklistSet = field(default_factory=demo_picklists)
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    webhooks: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    connections: list[ConnectionSettings] = field(default_factory=list)
    next_id: int = 100

    def __call__(self, connection: ConnectionSettings) -> FakeGateway:
        self.connections.append(connection)
        return self

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def zone(self) -> ZoneInfo:
        self._enter("zone")
        return ZoneInfo(name="Demo Zone", url="https://webservices5.autotask.net/ATServicesRest/")

    def check_authentication(self) -> None:
        self._enter("check_authentication")

    def entity_access(self, entity: str) -> EntityAccess:
        self._enter("entity_access")
        return self.access.get(entity, EntityAccess(entity=entity))

    def contact_exists(self, email: str) -> bool:
        self._enter("contact_exists")
        return email.lower() in self.contacts

    def picklists(self) -> PicklistSet:
        self._enter("picklists")
        return self.lists

    def register_webhooks(self, url: str, secret: str, name: str) -> tuple[int, int]:
        self._enter("register_webhooks")
        ids = (self.next_id, self.next_id + 1)
        self.next_id += 2
        for i in ids:
            self.webhooks[i] = (url, secret, name)
        return ids

    def delete_webhooks(self, ticket_webhook_id: int | None, note_webhook_id: int | None) -> None:
        self._enter("delete_webhooks")
        for i in (ticket_webhook_id, note_webhook_id):
            if i is not None:
                self.webhooks.pop(i, None)


class FakeRules:
    """Python's own compiler for syntax errors; a run executes nothing, it echoes variables with a change (and
    fails like the engine on `int(priority)` of a priority that is not a number)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def run(self, request: RulesRequest) -> RuleResult:
        label = {"validate": "validate", "test": "evaluate", "evaluate": "run"}[request.action]
        self.calls.append((label, request.tenant_id))
        try:
            compile(request.source, "<rules>", "exec")
        except SyntaxError as exc:
            error = RuleDiagnostic(
                severity="error", code="syntax", message=str(exc.msg), line=exc.lineno or 0, column=exc.offset or 0
            )
            return RuleResult(action=request.action, valid=False, errors=[error])
        warnings = (
            [
                RuleDiagnostic(
                    severity="warning", code="is-literal", message="use == to compare with a literal", line=1, column=1
                )
            ]
            if " is '" in request.source
            else []
        )
        if request.action == "validate":
            return RuleResult(action=request.action, valid=True, warnings=warnings)
        priority = request.variables.get("priority", "")
        if request.action == "evaluate" and "int(priority)" in request.source and not str(priority).isdigit():
            # the dispatcher's evaluation; `int(priority)` fails on a priority that is not a number (line 1)
            message = f"ValueError: invalid literal for int(): {priority!r}"
            error = RuleDiagnostic(severity="error", code="runtime", message=message, line=1, column=1)
            return RuleResult(action=request.action, variables=dict(request.variables), exception=message, error=error)
        out = dict(request.variables)
        changed: list[str] = []
        if "priority = 'Critical'" in request.source:
            out["priority"] = "Critical"
            changed.append("priority")
        return RuleResult(action=request.action, valid=True, variables=out, changed=changed)


def make_service(
    tenants: Any = None, secrets: Any = None, gateway: FakeGateway | None = None, rules: FakeRules | None = None
) -> tuple[AdminService, MemoryTenants | Any, FakeGateway, FakeRules]:
    repo = tenants if tenants is not None else MemoryTenants()
    gw = gateway or FakeGateway()
    rr = rules or FakeRules()
    return AdminService(tenants=repo, secrets=secrets or FakeSecretBox(), rules=rr, autotask=gw), repo, gw, rr
