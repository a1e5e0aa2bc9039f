"""AdminService: every admin use case, scoped to one tenant id that comes from the authenticated token."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from helpdesk.admin import settings as settings_mod
from helpdesk.admin.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotConfigured,
    NotFound,
    RulesFailOnReplay,
    Unauthorized,
    Upstream,
)
from helpdesk.admin.ports import AutotaskFactory, AutotaskGateway, ConnectionSettings, PicklistSet
from helpdesk.admin.presses import Outcome, OutcomeSummary, PressDetail, Presses, PressPage
from helpdesk.admin.replay import MAX_PRESSES, RulesReplay, replay
from helpdesk.admin.settings import SettingsUpdate, SettingsView
from helpdesk.domain.ports import (
    ConflictError,
    CredentialLimitReached,
    LastCredential,
    SecretBox,
    SubmissionRepository,
    TenantRepository,
    WorkQueue,
)
from helpdesk.domain.rules import (
    MAX_SOURCE_CHARS,
    Classification,
    RuleResult,
    RulesAction,
    RulesFunctionFailed,
    RulesRequest,
    RulesUnavailable,
)
from helpdesk.domain.tenant import (
    Credential,
    CredentialKind,
    IssuedCredential,
    RulesVersion,
    SecretPurpose,
    Tenant,
    WebhookRegistration,
)
from helpdesk.ports import RulesRunner
from helpdesk.triage import Triage, TriageError, describe

TEST_BUDGET_S = 24.0
"""ai_categorize model calls one test run (or replayed press) may start within (API Gateway allows 29 s)."""

PICKLIST_TTL_SECONDS = 600


class _PicklistCache:
    """Per execution environment: (tenant, connection fingerprint) -> (fetched at, picklists), with a TTL.

    Deliberately not helpdesk.autotask.cache: importing anything from helpdesk.autotask loads the HTTP client,
    which the admin function's cold start should not pay for."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._data: dict[tuple[str, str], tuple[float, tuple[datetime, PicklistSet]]] = {}

    def get(self, key: tuple[str, str]) -> tuple[datetime, PicklistSet] | None:
        hit = self._data.get(key)
        if hit is None or hit[0] <= time.monotonic():
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, key: tuple[str, str], value: tuple[datetime, PicklistSet]) -> None:
        if len(self._data) >= self.max_entries:
            self._data.pop(next(iter(self._data)))
        self._data[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        self._data.clear()


_PICKLISTS = _PicklistCache(PICKLIST_TTL_SECONDS, max_entries=500)


class KeyView(BaseModel):
    """A credential as listed: never its hash, never the token (only its last 4 characters)."""

    id: str
    label: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, credential: Credential) -> KeyView:
        return cls(
            id=credential.credential_id,
            label=credential.label,
            hint=credential.token_hint,
            created_at=credential.created_at,
            revoked_at=credential.revoked_at,
            active=credential.active,
        )


class IssuedKey(BaseModel):
    key: KeyView
    token: str = Field(description="Shown once: store it in the button agent's configuration now")


class CalloutUrls(BaseModel):
    extension_callout_url: str = Field(description="Paste into the Autotask Extension Callout (Tickets) URL")
    webhook_url: str = Field(description="Used for REST webhooks (TicketWebhooks / TicketNoteWebhooks)")
    created_at: datetime
    webhooks_registered: bool
    note: str = ""


class RulesVersionView(BaseModel):
    version: int
    created_at: datetime
    author: str
    note: str
    active: bool
    source: str | None = None
    lines: int = 0
    replay: RulesReplay | None = Field(
        default=None, description="saving: the replay the rules passed (absent when saved with confirm)"
    )
    settings_revision: int | None = Field(
        default=None,
        description="saving: the settings' revision after this save (activating rules changes the tenant), so a "
        "page holding the revision from before can keep its other sections' saves free of false conflicts",
    )


class RulesCheck(BaseModel):
    ok: bool
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class RulesTestResult(RulesCheck):
    variables: dict[str, Any] = Field(default_factory=dict)
    changed: dict[str, Any] = Field(default_factory=dict)
    exception: str | None = None
    output: str = ""
    helpers: dict[str, Any] = Field(default_factory=dict)
    classifications: list[dict[str, Any]] = Field(default_factory=list)
    """ai_categorize questions with their scores, best_match, matches and any error (model, cached)."""


class WebhookView(BaseModel):
    registered: bool
    ticket_webhook_id: int | None = None
    note_webhook_id: int | None = None
    url: str | None = None
    registered_at: datetime | None = None


class PicklistsView(BaseModel):
    fields: dict[str, list[dict[str, Any]]]
    fetched_at: datetime
    cached: bool


def _variable_name(loc: Sequence[Any]) -> str:
    """`("variables", "selections", 0)` -> `selections[0]`: where in the sample inputs a problem is."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "variables":
        parts = parts[1:]
    if not parts:
        return ""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def rules_check(result: RuleResult) -> RulesCheck:
    return RulesCheck(
        ok=result.compiles, errors=[d.view() for d in result.errors], warnings=[d.view() for d in result.warnings]
    )


def rules_test_result(result: RuleResult) -> RulesTestResult:
    exception = result.exception or None
    line = result.error.line if result.error is not None else 0
    if exception and line and f"line {line}" not in exception:
        exception = f"{exception} (line {line})"
    changed: dict[str, Any] = result.changed_values()
    if "exception" in changed:
        changed["exception"] = exception
    return RulesTestResult(
        **rules_check(result).model_dump(),
        variables=dict(result.variables or {}),
        changed=changed,
        exception=exception,
        output="\n".join(result.output),
        helpers=dict(result.helpers or {}),
        classifications=[describe(c) for c in result.classifications],
    )


@dataclass
class AdminService:
    tenants: TenantRepository
    secrets: SecretBox
    rules: RulesRunner
    autotask: AutotaskFactory
    clock: Callable[[], datetime] | None = None
    submissions: SubmissionRepository | None = None  # presses: replays and outcomes (None: the sample only)
    work_queue: WorkQueue | None = None  # re-queueing a press
    triage: Triage | None = None  # ai_categorize in test runs and replays (None: the rules stop at the question)

    # ------------------------------------------------------------------ auth and scoping
    def authenticate(self, token: str | None) -> tuple[Tenant, Credential]:
        """The active tenant of an admin token; Unauthorized for anything else (no hint which part failed)."""
        credential = self.tenants.resolve_credential(CredentialKind.ADMIN_TOKEN, token or "") if token else None
        if credential is None:
            raise Unauthorized("Sign in with a valid admin token.")
        tenant = self.tenants.get(credential.tenant_id)
        if tenant is None:
            raise Unauthorized("Sign in with a valid admin token.")
        if not tenant.active:
            raise Forbidden("This account is disabled. Contact support to re-enable it.")
        return tenant, credential

    def tenant(self, tenant_id: str) -> Tenant:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise NotFound("No such tenant.")
        return tenant

    def _save(self, tenant: Tenant) -> Tenant:
        try:
            return self.tenants.save(tenant)
        except ConflictError:
            raise Conflict("The settings were changed by someone else. Reload the page and try again.") from None

    # ------------------------------------------------------------------ settings
    def get_settings(self, tenant_id: str) -> SettingsView:
        return settings_mod.view(self.tenant(tenant_id), self.tenants.last_integration_test(tenant_id))

    def update_settings(self, tenant_id: str, update: SettingsUpdate) -> SettingsView:
        """Validate everything first, then store once: a bad value changes nothing."""
        tenant = self.tenant(tenant_id)
        if update.revision is not None and update.revision != tenant.revision:
            raise Conflict("The settings were changed by someone else. Reload the page and try again.")
        changes: dict[str, Any] = {}
        if update.name is not None:
            changes["name"] = update.name.strip() or tenant.name
        if update.autotask is not None:
            changes["autotask"] = self._autotask_changes(tenant, update)
        if update.defaults is not None:
            changes["defaults"] = update.defaults
        if update.notifications is not None:
            changes["notifications"] = update.notifications
        if update.rules_on_error is not None:
            changes["rules_on_error"] = update.rules_on_error
        last_test = self.tenants.last_integration_test(tenant_id)
        if not changes:
            return settings_mod.view(tenant, last_test)
        saved = self._save(tenant.model_copy(update=changes))
        return settings_mod.view(saved, last_test)

    def _autotask_changes(self, tenant: Tenant, update: SettingsUpdate) -> Any:
        assert update.autotask is not None
        given = update.autotask
        at = tenant.autotask
        fields: dict[str, Any] = {}
        errors: list[FieldError] = []

        def attempt(fn: Callable[[], None]) -> None:
            try:
                fn()
            except Invalid as exc:
                errors.extend(exc.fields)

        if given.host is not None:
            attempt(lambda: fields.__setitem__("host", settings_mod.clean_host(given.host or "")))
        if given.integration_code is not None:
            attempt(
                lambda: fields.__setitem__(
                    "integration_code", settings_mod.clean_integration_code(given.integration_code or "")
                )
            )
        if given.unregistered_email is not None:
            attempt(
                lambda: fields.__setitem__(
                    "unregistered_email",
                    settings_mod.clean_email(given.unregistered_email or "", "autotask.unregistered_email"),
                )
            )
        api_key = given.api_key.get_secret_value() if given.api_key is not None else None
        if api_key is not None and api_key.strip():
            attempt(lambda: fields.__setitem__("api_user", settings_mod.split_api_key(api_key)[0]))
        if errors:
            raise Invalid(errors[0].message, fields=errors)
        if api_key is not None and api_key.strip():
            fields["api_key_ciphertext"] = self.secrets.seal(
                tenant.tenant_id, api_key, purpose=SecretPurpose.AUTOTASK_API_KEY
            )
            fields["api_key_mask"] = settings_mod.mask_api_key(api_key)
        return at.model_copy(update=fields)

    # ------------------------------------------------------------------ Autotask connection
    def connection(self, tenant: Tenant, *, fresh: bool = False) -> ConnectionSettings:
        at = tenant.autotask
        missing = [
            label
            for label, value in (
                ("API endpoint host", at.host),
                ("API key", at.api_key_ciphertext),
                ("API integration code", at.integration_code),
            )
            if not value
        ]
        if missing:
            raise NotConfigured(f"Enter the Autotask {', '.join(missing)} in the settings first.")
        assert at.host and at.api_key_ciphertext and at.integration_code
        api_key = self.secrets.open(tenant.tenant_id, at.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY)
        return ConnectionSettings(
            tenant_id=tenant.tenant_id, host=at.host, api_key=api_key, integration_code=at.integration_code, fresh=fresh
        )

    def gateway(self, tenant: Tenant, *, fresh: bool = False) -> AutotaskGateway:
        return self.autotask(self.connection(tenant, fresh=fresh))

    def picklists(self, tenant_id: str, *, refresh: bool = False) -> PicklistsView:
        """Dropdown options from the tenant's Autotask, cached per tenant and per connection settings."""
        tenant = self.tenant(tenant_id)
        key = (tenant.tenant_id, settings_mod.connection_fingerprint(tenant))
        hit = None if refresh else _PICKLISTS.get(key)
        cached = hit is not None
        if hit is None:
            from helpdesk.admin.gateway import translate_errors

            with translate_errors():
                fetched = self.gateway(tenant, fresh=refresh).picklists()
            hit = (self._now(), fetched)
            _PICKLISTS.put(key, hit)
        fetched_at, picklists = hit
        return PicklistsView(
            fields={
                name: [
                    {k: v for k, v in vars(o).items() if v not in (None, False)} | {"is_default": o.is_default}
                    for o in options
                ]
                for name, options in picklists.fields.items()
            },
            fetched_at=fetched_at,
            cached=cached,
        )

    def cached_picklists(self, tenant: Tenant) -> PicklistSet | None:
        hit = _PICKLISTS.get((tenant.tenant_id, settings_mod.connection_fingerprint(tenant)))
        return hit[1] if hit else None

    def remember_picklists(self, tenant: Tenant, picklists: PicklistSet) -> None:
        _PICKLISTS.put((tenant.tenant_id, settings_mod.connection_fingerprint(tenant)), (self._now(), picklists))

    def _now(self) -> datetime:
        from helpdesk.domain.tenant import utcnow

        return self.clock() if self.clock else utcnow()

    # ------------------------------------------------------------------ Dispatcher Rules
    def _check_source(self, source: str) -> None:
        if len(source) > MAX_SOURCE_CHARS:
            raise Invalid(
                f"The rules are too long ({len(source)} characters; at most {MAX_SOURCE_CHARS}).",
                fields=[FieldError("source", "too long")],
            )

    def validate_rules(self, tenant_id: str, source: str) -> RulesCheck:
        self._check_source(source)
        self.tenant(tenant_id)
        return rules_check(self._run_rules("validate", tenant_id, source))

    def save_rules(
        self, tenant_id: str, source: str, *, author: str = "", note: str = "", confirm: bool = False
    ) -> RulesVersionView:
        """Validate with the rules function, replay on the tenant's last presses, then store a new immutable
        version and make it active. Rules that fail on a replayed press are only saved with `confirm`."""
        self._check_source(source)
        tenant = self.tenant(tenant_id)
        outcome = self._run_rules("validate", tenant_id, source)
        if not outcome.compiles:
            first = outcome.errors[0] if outcome.errors else None
            where = f" (line {first.line}, column {first.column})" if first and first.line else ""
            raise Invalid(
                (first.message if first else "The rules do not compile.") + where,
                fields=[FieldError("source", e.message, e.line or None, e.column or None) for e in outcome.errors]
                or [FieldError("source", "The rules do not compile.")],
            )
        replayed = None if confirm else self._replay(tenant, source, outcome)
        if replayed is not None and not replayed.ok:
            raise RulesFailOnReplay(
                f"{replayed.refusal()} Nothing was saved; save again with confirm to keep them anyway.",
                details={"replay": replayed.model_dump(mode="json")},
            )
        stored = self.tenants.add_rules_version(tenant_id, source, author=author[:100], note=note[:200])
        activated = self._save(tenant.model_copy(update={"rules_version": stored.version}))
        view = self._version_view(stored, active=True, with_source=True)
        view.replay = replayed
        view.settings_revision = activated.revision
        return view

    def replay_rules(self, tenant_id: str, source: str | None, *, limit: int = MAX_PRESSES) -> RulesReplay:
        """What the rules (the given source, else the active version) would do to the last presses; no save."""
        tenant = self.tenant(tenant_id)
        if source is None:
            active = self.active_rules(tenant_id)
            source = active.source if active and active.source else ""
        self._check_source(source)
        return self._replay(tenant, source, self._run_rules("validate", tenant_id, source), limit=limit)

    def _replay(self, tenant: Tenant, source: str, compiled: RuleResult, *, limit: int = MAX_PRESSES) -> RulesReplay:
        active = (
            self.tenants.get_rules_version(tenant.tenant_id, tenant.rules_version) if tenant.rules_version else None
        )
        limit = max(0, min(limit, MAX_PRESSES))
        presses = self.submissions.list_recent(tenant.tenant_id, limit=limit) if self.submissions and limit else []
        return replay(
            lambda src, variables: self._run_rules("evaluate", tenant.tenant_id, src, variables),
            tenant,
            source,
            active.source if active else None,
            presses,
            compiled=compiled,
            active_version=tenant.rules_version if active else 0,
        )

    def active_rules(self, tenant_id: str) -> RulesVersionView | None:
        tenant = self.tenant(tenant_id)
        if tenant.rules_version == 0:
            return None
        stored = self.tenants.get_rules_version(tenant_id, tenant.rules_version)
        return self._version_view(stored, active=True, with_source=True) if stored else None

    def rules_history(self, tenant_id: str) -> list[RulesVersionView]:
        tenant = self.tenant(tenant_id)
        versions = self.tenants.list_rules_versions(tenant_id)
        return [
            self._version_view(v, active=v.version == tenant.rules_version, with_source=False)
            for v in reversed(versions)
        ]

    def rules_version(self, tenant_id: str, version: int) -> RulesVersionView:
        tenant = self.tenant(tenant_id)
        stored = self.tenants.get_rules_version(tenant_id, version) if version >= 1 else None
        if stored is None:
            raise NotFound(f"There is no rules version {version}.")
        return self._version_view(stored, active=version == tenant.rules_version, with_source=True)

    def rollback_rules(self, tenant_id: str, version: int, *, author: str = "") -> RulesVersionView:
        """Make an earlier version active again, recorded as a new version so history only ever grows."""
        old = self.rules_version(tenant_id, version)
        assert old.source is not None
        # an earlier active version: restoring it is the confirmation (it is not replayed)
        return self.save_rules(
            tenant_id, old.source, author=author, note=f"Rollback to version {version}", confirm=True
        )

    def test_rules(self, tenant_id: str, source: str | None, variables: dict[str, Any]) -> RulesTestResult:
        """Run rules (the given source, else the active version) on sample inputs; nothing is stored."""
        if source is None:
            active = self.active_rules(tenant_id)
            source = active.source if active and active.source else ""
        else:
            self.tenant(tenant_id)
        self._check_source(source)
        return rules_test_result(self._run_rules("test", tenant_id, source, variables))

    def _run_rules(
        self, action: RulesAction, tenant_id: str, source: str, variables: dict[str, Any] | None = None
    ) -> RuleResult:
        """Rules on unsaved source, their failures as admin answers. Rules that call ai_categorize are run again
        with each answer (helpdesk.triage), exactly as the dispatcher does on a press."""
        if self.triage is None or action == "validate":
            return self._run_rules_once(action, tenant_id, source, variables)
        deadline = time.monotonic() + TEST_BUDGET_S

        def run(answers: Sequence[Classification]) -> RuleResult:
            return self._run_rules_once(action, tenant_id, source, variables, answers)

        try:
            return self.triage.run(tenant_id, run, time_left=lambda: deadline - time.monotonic()).result
        except TriageError:
            raise Upstream("The rules engine kept asking for classifications; try again.") from None

    def _run_rules_once(
        self,
        action: RulesAction,
        tenant_id: str,
        source: str,
        variables: dict[str, Any] | None = None,
        answers: Sequence[Classification] = (),
    ) -> RuleResult:
        """One call of the rules function on unsaved source, its failures as admin answers."""
        try:
            request = RulesRequest.draft(action, tenant_id, source, variables or {})
            if answers:
                request = request.model_copy(update={"classifications": list(answers)})
        except ValidationError as exc:
            from helpdesk.validation_text import human_message

            # the sample inputs in words, per variable (never pydantic's "Input should be ...")
            problems = [(_variable_name(e.get("loc", ())), human_message(e)) for e in exc.errors()[:10]]
            message = "; ".join(f"{name} {text}" if name else text for name, text in problems)
            raise Invalid(
                f"The rules cannot run on these inputs: {message}",
                fields=[FieldError("variables", message)],
            ) from None
        try:
            result = self.rules.run(request)
        except RulesUnavailable:
            raise Upstream("The rules engine is not reachable right now; try again.") from None
        except RulesFunctionFailed:
            raise Upstream(
                "The rules engine failed while checking these rules; try again or simplify the rules."
            ) from None
        if result.status == "invalid_request":
            message = result.request_error or "the request was not understood"
            raise Invalid(f"The rules engine refused the request: {message}", fields=[FieldError("variables", message)])
        if not result.understood:
            raise Upstream("The rules engine failed while checking these rules; try again.")
        return result

    @staticmethod
    def _version_view(v: RulesVersion, *, active: bool, with_source: bool) -> RulesVersionView:
        return RulesVersionView(
            version=v.version,
            created_at=v.created_at,
            author=v.author,
            note=v.note,
            active=active,
            source=v.source if with_source else None,
            lines=v.source.count("\n") + 1 if v.source else 0,
        )

    # ------------------------------------------------------------------ press outcomes
    def _presses(self, tenant_id: str) -> Presses:
        self.tenant(tenant_id)
        if self.submissions is None:
            raise NotConfigured("Press outcomes are not available here (no submissions table).")
        return Presses(self.submissions, self._now)

    def list_presses(
        self,
        tenant_id: str,
        *,
        outcomes: set[Outcome] | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = 25,
    ) -> PressPage:
        return self._presses(tenant_id).list(tenant_id, outcomes=outcomes, search=search, cursor=cursor, limit=limit)

    def press(self, tenant_id: str, submission_id: str) -> PressDetail:
        return self._presses(tenant_id).detail(tenant_id, submission_id)

    def press_summary(self, tenant_id: str, *, hours: int = 24) -> OutcomeSummary:
        return self._presses(tenant_id).summary(tenant_id, hours=hours)

    def requeue_press(self, tenant_id: str, submission_id: str, *, by: str = "") -> PressDetail:
        presses = self._presses(tenant_id)
        if self.work_queue is None:
            raise NotConfigured("Re-queueing is not available here (no work queue).")
        return presses.requeue(tenant_id, submission_id, self.work_queue, by=by)

    # ------------------------------------------------------------------ button keys
    def _issue(self, tenant_id: str, kind: CredentialKind, label: str) -> IssuedCredential:
        try:
            return self.tenants.issue_credential(tenant_id, kind, label.strip())
        except CredentialLimitReached as exc:
            raise Conflict(str(exc)) from None

    def create_button_key(self, tenant_id: str, label: str) -> IssuedKey:
        self.tenant(tenant_id)
        issued = self._issue(tenant_id, CredentialKind.BUTTON_KEY, label)
        return IssuedKey(key=KeyView.of(issued.credential), token=issued.token)

    def list_button_keys(self, tenant_id: str) -> list[KeyView]:
        self.tenant(tenant_id)
        keys = self.tenants.list_credentials(tenant_id, CredentialKind.BUTTON_KEY)
        return [KeyView.of(k) for k in sorted(keys, key=lambda k: k.created_at, reverse=True)]

    def revoke_button_key(self, tenant_id: str, key_id: str) -> None:
        if len(key_id) > 100 or not self.tenants.revoke_credential(tenant_id, CredentialKind.BUTTON_KEY, key_id):
            raise NotFound("No such button key.")

    # ------------------------------------------------------------------ admin tokens
    def create_admin_token(self, tenant_id: str, label: str) -> IssuedKey:
        self.tenant(tenant_id)
        issued = self._issue(tenant_id, CredentialKind.ADMIN_TOKEN, label)
        return IssuedKey(key=KeyView.of(issued.credential), token=issued.token)

    def list_admin_tokens(self, tenant_id: str) -> list[KeyView]:
        self.tenant(tenant_id)
        tokens = self.tenants.list_credentials(tenant_id, CredentialKind.ADMIN_TOKEN)
        return [KeyView.of(k) for k in sorted(tokens, key=lambda k: k.created_at, reverse=True)]

    def revoke_admin_token(self, tenant_id: str, token_id: str) -> None:
        """Revoke one admin token; never the last active one (that would lock every admin out). The repository
        checks that atomically, so two concurrent revocations cannot take the last two."""
        try:
            found = len(token_id) <= 100 and self.tenants.revoke_credential(
                tenant_id, CredentialKind.ADMIN_TOKEN, token_id, keep_at_least=1
            )
        except LastCredential:
            raise Conflict("This is the last admin token: create another one before revoking it.") from None
        if not found:
            raise NotFound("No such admin token.")

    # ------------------------------------------------------------------ Ticket Notification URL
    def _callout_token(self, tenant: Tenant) -> tuple[Tenant, str, datetime]:
        """The active callout token in clear (decrypted), issuing the first one on demand."""
        active = [c for c in self.tenants.list_credentials(tenant.tenant_id, CredentialKind.CALLOUT_TOKEN) if c.active]
        if tenant.callout_token_ciphertext and active:
            token = self.secrets.open(
                tenant.tenant_id, tenant.callout_token_ciphertext, purpose=SecretPurpose.CALLOUT_TOKEN
            )
            created = max(c.created_at for c in active)
            return tenant, token, created
        return self._issue_callout_token(tenant)

    def _issue_callout_token(self, tenant: Tenant) -> tuple[Tenant, str, datetime]:
        old = [c for c in self.tenants.list_credentials(tenant.tenant_id, CredentialKind.CALLOUT_TOKEN) if c.active]
        issued = self._issue(tenant.tenant_id, CredentialKind.CALLOUT_TOKEN, "Ticket Notification")
        try:
            saved = self._save(
                tenant.model_copy(
                    update={
                        "callout_token_ciphertext": self.secrets.seal(
                            tenant.tenant_id, issued.token, purpose=SecretPurpose.CALLOUT_TOKEN
                        )
                    }
                )
            )
        except Exception:
            self.tenants.revoke_credential(
                tenant.tenant_id, CredentialKind.CALLOUT_TOKEN, issued.credential.credential_id
            )
            raise
        for c in old:
            self.tenants.revoke_credential(tenant.tenant_id, CredentialKind.CALLOUT_TOKEN, c.credential_id)
        return saved, issued.token, issued.credential.created_at

    def callout_urls(self, tenant_id: str, base_url: str) -> CalloutUrls:
        tenant, token, created = self._callout_token(self.tenant(tenant_id))
        return self._urls(tenant, base_url, token, created)

    def rotate_callout_url(self, tenant_id: str, base_url: str) -> CalloutUrls:
        """A new token; the old URL stops working at once. Registered webhooks are re-pointed when possible."""
        tenant, token, created = self._issue_callout_token(self.tenant(tenant_id))
        note = "Update the URL in your Autotask Extension Callout now: the old URL no longer works."
        if tenant.webhooks is not None:
            try:
                self.register_webhooks(tenant_id, base_url)
                tenant = self.tenant(tenant_id)
                note += " The REST webhooks were re-registered with the new URL."
            except Exception as exc:  # the rotation itself stands; tell the admin what is left to do
                message = getattr(exc, "message", None) or type(exc).__name__
                note += f" Re-registering the REST webhooks failed ({message}); press Register webhooks again."
        urls = self._urls(tenant, base_url, token, created)
        urls.note = note
        return urls

    @staticmethod
    def _urls(tenant: Tenant, base_url: str, token: str, created: datetime) -> CalloutUrls:
        base = base_url.rstrip("/")
        return CalloutUrls(
            extension_callout_url=f"{base}/v1/callouts/{token}",
            webhook_url=f"{base}/v1/webhooks/{token}",
            created_at=created,
            webhooks_registered=tenant.webhooks is not None,
        )

    # ------------------------------------------------------------------ REST webhooks
    def webhooks(self, tenant_id: str) -> WebhookView:
        reg = self.tenant(tenant_id).webhooks
        if reg is None:
            return WebhookView(registered=False)
        return WebhookView(
            registered=True,
            ticket_webhook_id=reg.ticket_webhook_id,
            note_webhook_id=reg.note_webhook_id,
            url=reg.url,
            registered_at=reg.registered_at,
        )

    def register_webhooks(self, tenant_id: str, base_url: str) -> WebhookView:
        """(Re-)register TicketWebhooks + TicketNoteWebhooks in the tenant's Autotask with a fresh HMAC secret."""
        from helpdesk.admin.gateway import translate_errors

        tenant, token, _ = self._callout_token(self.tenant(tenant_id))
        gateway = self.gateway(tenant)
        secret = secrets.token_urlsafe(36)[:48]  # TicketWebhooks.secretKey is at most 64 characters
        url = f"{base_url.rstrip('/')}/v1/webhooks/{token}"
        with translate_errors():
            if tenant.webhooks is not None:
                gateway.delete_webhooks(tenant.webhooks.ticket_webhook_id, tenant.webhooks.note_webhook_id)
            ticket_id, note_id = gateway.register_webhooks(url, secret, f"Helpdesk Buttons ({tenant.tenant_id})")
        registration = WebhookRegistration(
            ticket_webhook_id=ticket_id, note_webhook_id=note_id, url=f"{base_url.rstrip('/')}/v1/webhooks/..."
        )
        self._save(
            tenant.model_copy(
                update={
                    "webhooks": registration,
                    "webhook_secret_ciphertext": self.secrets.seal(
                        tenant.tenant_id, secret, purpose=SecretPurpose.WEBHOOK_SECRET
                    ),
                }
            )
        )
        return self.webhooks(tenant_id)

    def unregister_webhooks(self, tenant_id: str) -> WebhookView:
        from helpdesk.admin.gateway import translate_errors

        tenant = self.tenant(tenant_id)
        if tenant.webhooks is not None:
            with translate_errors():
                self.gateway(tenant).delete_webhooks(tenant.webhooks.ticket_webhook_id, tenant.webhooks.note_webhook_id)
            self._save(tenant.model_copy(update={"webhooks": None, "webhook_secret_ciphertext": None}))
        return WebhookView(registered=False)

    # ------------------------------------------------------------------ Integration Test
    def integration_test(self, tenant_id: str) -> Any:
        from helpdesk.admin import integration_test

        tenant = self.tenant(tenant_id)
        active = self.tenants.get_rules_version(tenant_id, tenant.rules_version) if tenant.rules_version else None

        def validate(source: str) -> tuple[bool, str]:
            outcome = self._run_rules("validate", tenant_id, source)
            if outcome.compiles:
                warned = f" ({len(outcome.warnings)} warning(s))" if outcome.warnings else ""
                return True, "The rules compile." + warned
            first = outcome.errors[0] if outcome.errors else None
            if first is None:
                return False, "The rules do not compile."
            where = f"Line {first.line}, column {first.column}: " if first.line else ""
            return False, where + first.message

        report, picklists = integration_test.run(
            tenant, lambda: self.gateway(tenant, fresh=True), validate, active.source if active else None
        )
        if picklists is not None:
            self.remember_picklists(tenant, picklists)
        # Kept (bounded) so the page shows the last result at its top after a reload; never a secret
        summary = integration_test.summarise(report, tenant, settings_mod.connection_fingerprint(tenant))
        self.tenants.save_integration_test(tenant_id, summary)
        return report.model_copy(update={"summary": settings_mod.last_test_view(tenant, summary)})
