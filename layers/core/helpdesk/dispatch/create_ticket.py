"""Use case: turn one stored submission into exactly one Autotask ticket (+ internal note + attachments).

Steps (product.md "What happens on a button press"): tenant settings and credentials; contact by e-mail, else
the tenant's catch-all contact; company name; configuration item by hostname; Dispatcher Rules (an
`exception` blocks the ticket); picklist mapping; create the ticket (`externalID` = submission id); internal
note; attachments; record ticket id and number on the submission.

Exactly once, end to end:
- A run first claims the submission with a short lease (optimistic-locked save). A concurrent duplicate
  delivery sees the lease and backs off; a crashed run's lease lapses.
- Every side effect in Autotask is recorded on the submission right after it happens, and marked as
  "attempted" right before it is sent. A retry resumes at the first step not done; for a step that was
  attempted but not recorded (crash, lost response, "commit then drop") it first looks in Autotask
  (ticket by externalID, note by its title, attachment by file name) and only sends again if nothing is there.
- Final submissions (created / blocked / failed) are never processed again.

Errors: retryable Autotask errors (throttle, thread limit, 5xx, timeouts) raise `RetryLater` (the dispatcher
changes the message visibility with backoff); permanent ones (authentication, permissions, validation) mark the
submission `failed` with a reason for the agent and the admin, and authentication/permission failures open the
tenant's circuit breaker so its other submissions fail fast without Autotask calls.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from helpdesk.autotask import errors as at_errors
from helpdesk.autotask.cache import TTLCache
from helpdesk.domain.ports import (
    BlobReader,
    ClassificationCache,
    Classifier,
    ConflictError,
    SubmissionRepository,
    TenantRepository,
)
from helpdesk.domain.refusals import Repair, parse_refusal, precheck, repair_fields
from helpdesk.domain.rules import (
    READ_WRITE_VARIABLES,
    Classification,
    RuleResult,
    RulesFunctionFailed,
    RulesRequest,
)
from helpdesk.domain.submission import (
    MAX_RECORDED_ERRORS,
    ResolvedContext,
    RulesOutcome,
    Submission,
    SubmissionStatus,
    TimelineEvent,
    TimelineEventKind,
)
from helpdesk.domain.tenant import RulesErrorPolicy, Tenant
from helpdesk.domain.ticket import build_ticket, internal_note, note_title, rule_input
from helpdesk.domain.work import SubmissionWork
from helpdesk.ports import AutotaskClients, AutotaskPort, RulesRunner, TenantNotConfigured
from helpdesk.triage import Triage, TriageError, submission_error

from .breaker import TenantBreaker, credentials_fingerprint

LEASE = timedelta(seconds=90)
NOT_FOUND: tuple[int, int | None, str] = (0, None, "")
# A contact found is remembered for 10 minutes; "no such contact" for at most a minute, so a contact the MSP adds
# right after a miss gets its own tickets (not the catch-all contact's) from the next minute on.
CONTACT_TTL = 600.0
CONTACT_MISS_TTL = 60.0
PUBLISH_INTERNAL_ONLY_FALLBACK = 2

MSG_CONTACT = "There was an error finding the contact."
MSG_UNAVAILABLE = (
    "Your request could not be turned into a ticket. Your IT team has been told; please call them if it is urgent."
)
MSG_NOT_ACCEPTING = "This helpdesk is not accepting requests through the button right now. Please contact your IT team."
MSG_DELAYED = (
    "Your request is saved, but the ticket system cannot be reached right now. Your IT team has been told and "
    "will create the ticket."
)


# Per-tenant metrics (`DispatchDeps.tenant_metric`): each press's outcome, and each cause of a press not becoming
# a ticket now. They are what the alarms watch (template.yaml, docs/operations.md), not the functions' errors.
TICKETS_CREATED = "TicketsCreated"
PRESSES_BLOCKED = "PressesBlocked"  # the tenant's rules raised their `exception` (intended)
TICKETS_FAILED = "TicketsFailed"  # final: the press will not become a ticket (the user is told why)
PRESSES_DEAD_LETTERED = "PressesDeadLettered"  # retries exhausted: the work item goes to the DLQ
AUTOTASK_UNAVAILABLE = "AutotaskUnavailable"  # 5xx, timeouts, dropped connections, or the outage breaker open
AUTOTASK_THROTTLED = "AutotaskThrottled"  # 429 / thread limit: Autotask is up, we slow down
CREDENTIALS_REJECTED = "CredentialsRejected"  # the tenant's API user is refused (authentication, permissions)
RULES_ERRORS = "RulesErrors"  # the tenant's rules could not run to an answer


class Outcome(StrEnum):
    CREATED = "created"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"


class RetryLater(Exception):
    """Try this work item again later (the dispatcher turns `retry_after` into a visibility change)."""

    retryable = True

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RulesDecision:
    """What the rules step means for the ticket (from the outcome recorded on the submission)."""

    variables: dict[str, Any]
    block: str | None = None
    """Do not create the ticket; show this text to the end user."""
    errors: list[str] = field(default_factory=list)
    """Rules errors the ticket was created despite (named in the internal note)."""
    submission_errors: list[str] = field(default_factory=list)
    """Problems the rules ran through (a failed ai_categorize): listed under "[Submission Errors]"."""


@dataclass
class LookupCaches:
    """Per execution environment: what costs Autotask requests and rarely changes (calls per ticket are a cost)."""

    # (contact id, company id, name); NOT_FOUND remembers "no such contact" for CONTACT_MISS_TTL only
    contacts: TTLCache[tuple[str, str], tuple[int, int | None, str]] = field(
        default_factory=lambda: TTLCache(ttl=CONTACT_TTL)
    )
    companies: TTLCache[tuple[str, int], str] = field(default_factory=lambda: TTLCache(ttl=3600))
    config_items: TTLCache[tuple[str, int, str], int] = field(default_factory=lambda: TTLCache(ttl=900))  # 0: none
    rules: TTLCache[tuple[str, int], str] = field(default_factory=lambda: TTLCache(ttl=3600))
    publish: TTLCache[str, int] = field(default_factory=lambda: TTLCache(ttl=3600))

    def clear(self) -> None:
        for cache in (self.contacts, self.companies, self.config_items, self.rules, self.publish):
            cache.clear()


@dataclass
class DispatchDeps:
    tenants: TenantRepository
    submissions: SubmissionRepository
    clients: AutotaskClients
    rules: RulesRunner
    blobs: BlobReader
    breaker: TenantBreaker
    caches: LookupCaches = field(default_factory=LookupCaches)
    metric: Callable[[str, float], None] = lambda name, value: None
    # Outcomes and failure causes, counted for the service and per tenant (alarms, dashboard; docs/operations.md)
    tenant_metric: Callable[[str, str, float], None] = lambda name, tenant_id, value: None
    log: Callable[[str, dict[str, Any]], None] = lambda message, extra: None
    max_receive_count: int = 8
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # How long a claim may last: the dispatcher sets it to the invocation's remaining time, so a killed run's
    # claim lapses when its invocation would have timed out anyway.
    lease: Callable[[], timedelta] = lambda: LEASE
    # Seconds this invocation may still spend before it must stop starting Autotask steps (its remaining time
    # minus a reserve). Every step is recorded, so stopping between steps loses nothing; a Lambda timeout in
    # the middle of a batch would instead hold every record of the batch until the visibility timeout.
    time_left: Callable[[], float] = lambda: math.inf
    # ai_categorize: the model (None: every classification fails softly) and the per-tenant answer cache.
    classifier: Classifier | None = None
    classification_cache: ClassificationCache | None = None


PERMANENT_CREDENTIALS = (
    at_errors.AuthenticationError,
    at_errors.PermissionError_,
    at_errors.InvalidCredentials,
    at_errors.UntrustedEndpoint,
)


class _Run:
    """One run over a submission: its latest state (saved, or staged for the next save) and the client."""

    def __init__(self, sub: Submission, repository: SubmissionRepository) -> None:
        self.sub = sub
        self.client: Any = None
        self.requests_before = 0
        self._repository = repository

    def spent(self) -> int:
        """Autotask requests this run has sent so far."""
        return (self.client.stats.total - self.requests_before) if self.client is not None else 0

    def stage(self, **changes: Any) -> None:
        """Record a step that is done; it is written with the next save (the repository writes what changed)."""
        self.sub = self.sub.model_copy(update=changes)

    def save(self, **changes: Any) -> None:
        """Record a step (and everything staged) before a side effect depends on it."""
        self.sub = self._repository.save(self.sub.model_copy(update=changes))


class CreateTicket:
    def __init__(self, deps: DispatchDeps) -> None:
        self.deps = deps

    # ------------------------------------------------------------------------------------------ entry
    def __call__(self, work: SubmissionWork, *, attempt: int = 1) -> Outcome:
        d = self.deps
        sub = d.submissions.get(work.tenant_id, work.submission_id)
        if sub is None:
            d.log("submission not found (expired or never stored); dropping the work item", {})
            return Outcome.SKIPPED
        if sub.status.final:
            return Outcome.SKIPPED
        now = d.now()
        if sub.lease_owner and sub.lease_until and sub.lease_until > now:
            raise RetryLater(
                "another dispatcher run holds this submission", (sub.lease_until - now).total_seconds() + 1
            )

        tenant = d.tenants.get(work.tenant_id)
        if tenant is None or not tenant.active:
            return self._fail(sub, MSG_NOT_ACCEPTING, "the tenant does not exist or is disabled")
        fingerprint = credentials_fingerprint(
            tenant.autotask.api_key_ciphertext, tenant.autotask.host, tenant.autotask.integration_code or ""
        )
        breaker = d.breaker.state(tenant.tenant_id)
        if breaker.blocking(now, fingerprint):
            if breaker.mode == "credentials":
                d.metric("BreakerFastFail", 1)
                d.tenant_metric(CREDENTIALS_REJECTED, tenant.tenant_id, 1)
                return self._fail(sub, breaker.user_message or MSG_UNAVAILABLE, breaker.reason)
            assert breaker.open_until is not None
            d.metric("BreakerDeferred", 1)
            d.tenant_metric(AUTOTASK_UNAVAILABLE, tenant.tenant_id, 1)
            raise RetryLater("the tenant's circuit breaker is open", (breaker.open_until - now).total_seconds() + 1)

        sub = self._claim(sub, now)
        # The run's submission with every step recorded so far: "attempted" marks are saved before their
        # request is sent; "done" marks ride along with the next save (a retry that finds only the attempt
        # looks the result up in Autotask first, so deferring them never repeats a side effect).
        run = _Run(sub, d.submissions)
        successes_before = d.clients.successes(tenant.tenant_id)
        try:
            run.client = d.clients.for_tenant(tenant)
            run.requests_before = run.client.stats.total
            outcome, sub = self._run(run, tenant)
        except TenantNotConfigured as exc:
            return self._fail(run.sub, MSG_NOT_ACCEPTING, f"Autotask is not configured: {exc}")
        except at_errors.AutotaskError as exc:
            sub = run.sub
            if exc.retryable:
                if isinstance(exc, at_errors.Throttled):
                    # Autotask is up and asked us to slow down: its Retry-After and our backoff handle it
                    d.tenant_metric(AUTOTASK_THROTTLED, tenant.tenant_id, 1)
                elif d.clients.successes(tenant.tenant_id) > successes_before:
                    d.breaker.success(tenant.tenant_id, breaker)  # it answered meanwhile: a failure, not an outage
                    d.tenant_metric(AUTOTASK_UNAVAILABLE, tenant.tenant_id, 1)
                else:
                    d.breaker.transient_failed(tenant.tenant_id, breaker, str(exc))
                    d.tenant_metric(AUTOTASK_UNAVAILABLE, tenant.tenant_id, 1)
                return self._retry(sub, attempt, str(exc), exc.retry_after, spent=run.spent())
            if isinstance(exc, PERMANENT_CREDENTIALS):
                d.breaker.credentials_failed(tenant.tenant_id, fingerprint, str(exc), MSG_UNAVAILABLE)
                d.tenant_metric(CREDENTIALS_REJECTED, tenant.tenant_id, 1)
            return self._fail(sub, MSG_UNAVAILABLE, str(exc), spent=run.spent())
        except RetryLater as exc:
            return self._retry(run.sub, attempt, str(exc), exc.retry_after, spent=run.spent())
        except Exception as exc:
            # Unknown failure (KMS or rules function unavailable, a bug): release the lease, retry with backoff.
            reason = f"{type(exc).__name__}: {exc}"[:500]
            self._retry(run.sub, attempt, reason, getattr(exc, "retry_after", None), raise_=False, spent=run.spent())
            raise
        d.breaker.success(tenant.tenant_id, breaker)
        return outcome

    # -------------------------------------------------------------------------------- bookkeeping
    def _check_time(self) -> None:
        if self.deps.time_left() <= 0:
            self.deps.metric("OutOfTimeDeferrals", 1)
            raise RetryLater("this invocation is running out of time; the next one continues", 1)

    def _save(self, sub: Submission, **changes: Any) -> Submission:
        return self.deps.submissions.save(sub.model_copy(update=changes))

    def _reload(self, sub: Submission) -> Submission:
        fresh = self.deps.submissions.get(sub.tenant_id, sub.submission_id)
        return fresh or sub

    def _claim(self, sub: Submission, now: datetime) -> Submission:
        first = sub.status is SubmissionStatus.QUEUED
        try:  # the first claim's timeline event is written with it (exactly once, like the claim)
            return self.deps.submissions.save(
                sub.model_copy(
                    update={
                        "status": SubmissionStatus.CREATING,
                        "lease_owner": secrets.token_hex(8),
                        "lease_until": now + self.deps.lease(),
                        "attempts": sub.attempts + 1,
                    }
                ),
                events=[self._timeline(TimelineEventKind.CREATING, "Creating your ticket.", visible=False)]
                if first
                else [],
            )
        except ConflictError:
            raise RetryLater("the submission changed under us (concurrent delivery)", 2) from None

    def _spent(self, sub: Submission, spent: int, *, final: bool = False) -> dict[str, Any]:
        """The change that records `spent` more Autotask requests on the submission (and the metrics)."""
        if spent <= 0:
            return {}
        self.deps.metric("AutotaskRequests", spent)
        if final:
            self.deps.metric("AutotaskRequestsPerTicket", sub.autotask_requests + spent)
        return {"autotask_requests": sub.autotask_requests + spent}

    def _save_or_reload(self, sub: Submission, spent: int, changes: dict[str, Any]) -> Submission:
        """Save `changes` (+ the requests spent); when someone else saved meanwhile, apply them to a fresh copy."""
        try:
            return self._save(sub, **changes, **self._spent(sub, spent))
        except ConflictError:
            fresh = self._reload(sub)
            more = {"autotask_requests": fresh.autotask_requests + spent} if spent > 0 else {}
            return self._save(fresh, **changes, **more)

    @staticmethod
    def _timeline(
        kind: TimelineEventKind | str,
        text: str,
        *,
        visible: bool = True,
        event_id: str | None = None,
        **data: Any,
    ) -> TimelineEvent:
        return TimelineEvent(
            event=str(kind),
            text=text[:2000],
            event_id=event_id or f"dispatch:{kind}",  # one event of each kind per submission, even on retries
            visible=visible,
            data={k: v for k, v in data.items() if isinstance(v, (str, int)) or v is None},
        )

    def _event(
        self,
        sub: Submission,
        kind: TimelineEventKind | str,
        text: str,
        *,
        visible: bool = True,
        event_id: str | None = None,
        **data: Any,
    ) -> None:
        event = self._timeline(kind, text, visible=visible, event_id=event_id, **data)
        self.deps.submissions.append_event(sub.tenant_id, sub.submission_id, event)

    def _fail(self, sub: Submission, user_message: str, reason: str, *, spent: int = 0) -> Outcome:
        # Final: the FAILED event is written with the change that makes it final (exactly once).
        self.deps.submissions.save(
            sub.model_copy(
                update={
                    "status": SubmissionStatus.FAILED,
                    "message": user_message,
                    "error": reason[:1000],
                    "lease_owner": None,
                    "lease_until": None,
                    **self._spent(sub, spent),
                }
            ),
            events=[self._timeline(TimelineEventKind.FAILED, user_message)],
        )
        self.deps.tenant_metric(TICKETS_FAILED, sub.tenant_id, 1)
        self.deps.log("submission failed", {"reason": reason[:500]})
        return Outcome.FAILED

    def _retry(
        self,
        sub: Submission,
        attempt: int,
        reason: str,
        retry_after: float | None,
        *,
        raise_: bool = True,
        spent: int = 0,
    ) -> Outcome:
        last = attempt >= self.deps.max_receive_count
        changes: dict[str, Any] = {"lease_owner": None, "lease_until": None, "error": reason[:1000]}
        if last:
            changes["message"] = MSG_DELAYED
            changes["dead_lettered_at"] = self.deps.now()  # the admin's "Recent presses" offers a re-queue
        with contextlib.suppress(ConflictError):
            sub = self._save_or_reload(sub, spent, changes)
        if last:
            self._event(sub, TimelineEventKind.RETRYING, MSG_DELAYED)
            self.deps.tenant_metric(PRESSES_DEAD_LETTERED, sub.tenant_id, 1)
        self.deps.metric("DispatchRetries", 1)
        if raise_:
            raise RetryLater(reason, retry_after)
        return Outcome.SKIPPED

    # ------------------------------------------------------------------------------------- the work
    def _run(self, run: _Run, tenant: Tenant) -> tuple[Outcome, Submission]:
        client = run.client
        if run.sub.progress.ticket_id is None:
            outcome = self._create(run, tenant)
            if outcome is not Outcome.CREATED:
                return outcome, run.sub
        p = run.sub.progress
        assert p.ticket_id is not None
        if p.ticket_number is None:
            self._check_time()
            ticket = client.get_ticket(p.ticket_id)  # a read: nothing to mark before it
            run.stage(progress=p.model_copy(update={"ticket_number": ticket.ticket_number if ticket else None}))
        self._note(run)
        self._attachments(run)
        sub = run.sub
        number = sub.progress.ticket_number or str(sub.progress.ticket_id)
        created = self._timeline(
            TimelineEventKind.CREATED,
            f"Ticket {number} was created: {sub.subject}",
            ticket_id=sub.progress.ticket_id,
            ticket_number=sub.progress.ticket_number,
        )
        # One write: the steps not yet saved, the final status, the requests spent and the CREATED event.
        sub = self.deps.submissions.save(
            sub.model_copy(
                update={
                    "status": SubmissionStatus.CREATED,
                    "message": None,
                    "error": None,
                    "lease_owner": None,
                    "lease_until": None,
                    **self._spent(sub, run.spent(), final=True),
                }
            ),
            events=[created],
        )
        self.deps.tenant_metric(TICKETS_CREATED, sub.tenant_id, 1)
        return Outcome.CREATED, sub

    def _resolve(self, sub: Submission, tenant: Tenant, client: AutotaskPort) -> ResolvedContext | None:
        self._check_time()
        caches, tid = self.deps.caches, tenant.tenant_id
        contact = self._contact(client, tid, sub.contact.email)
        catch_all = False
        if contact is None:
            contact = self._contact(client, tid, tenant.autotask.unregistered_email)
            catch_all = True
            if contact is None:
                return None
        contact_id, company_id, contact_name = contact
        if company_id is None:
            return None
        name = caches.companies.get((tid, company_id))
        if name is None:
            company = client.get_company(company_id)
            name = (company.company_name if company else None) or ""
            caches.companies.put((tid, company_id), name)
        host_key = (tid, company_id, sub.machine.hostname.casefold())
        ci_id = caches.config_items.get(host_key)
        if ci_id is None:
            ci = client.find_configuration_item(sub.machine.hostname, company_id)
            ci_id = ci.id if ci else 0
            caches.config_items.put(host_key, ci_id)
        return ResolvedContext(
            contact_id=contact_id,
            contact_name=contact_name if not catch_all else sub.contact.name,
            company_id=company_id,
            business_name=name,
            configuration_item_id=ci_id or None,
            catch_all_used=catch_all,
        )

    def _contact(self, client: AutotaskPort, tenant_id: str, email: str) -> tuple[int, int | None, str] | None:
        key = (tenant_id, email.casefold())
        cache = self.deps.caches.contacts
        hit = cache.get(key)
        if hit is not None:
            return None if hit == NOT_FOUND else hit
        found = client.find_contact_by_email(email)
        value = (found.id, found.company_id, found.full_name) if found else NOT_FOUND
        cache.put(key, value, ttl=CONTACT_MISS_TTL if found is None else None)
        return None if value == NOT_FOUND else value

    def _rules(self, run: _Run, tenant: Tenant, variables: dict[str, Any]) -> RulesDecision:
        """Run the tenant's rules once per submission and record the outcome on it; a retry of a later step
        (create, note, attachments) reuses the recorded outcome and never runs, or waits for, the rules again.

        A failure (run-time error, limit, the rules function crashing or timing out) is final for this step: by
        default the ticket is created as if no rules had run and the error is named in its note; with
        `rules_on_error = block` the press is refused with the error (the original product's behaviour). Only an
        intentional `exception = '...'` blocks under both."""
        outcome = run.sub.rules_outcome
        if outcome is None:
            outcome, errors, warnings = self._evaluate_rules(tenant, variables)
            resolved = run.sub.resolved.model_copy(update={"rule_warnings": warnings})
            if outcome.version > 0:  # rules ran: recorded now, never run again for this submission
                run.save(rules_outcome=outcome, rules_errors=errors, resolved=resolved)
            else:  # no rules: nothing to repeat; recorded with the next save
                run.stage(rules_outcome=outcome, rules_errors=errors, resolved=resolved)
            if outcome.failed:
                self.deps.tenant_metric(RULES_ERRORS, run.sub.tenant_id, 1)
                self.deps.log("rules failed", {"rules_errors": errors[:3]})
        if outcome.exception is not None:
            return RulesDecision(variables, block=outcome.exception)
        if outcome.failed:
            errors = run.sub.rules_errors or ["the rules failed"]
            if tenant.rules_on_error is RulesErrorPolicy.BLOCK:
                first = errors[0]
                return RulesDecision(
                    variables, block=("Rules error on " if first.startswith("line ") else "Rules error: ") + first
                )
            return RulesDecision(variables, errors=list(errors))
        merged = dict(variables)
        merged.update(outcome.changed)
        return RulesDecision(
            merged, submission_errors=[submission_error(c) for c in outcome.classifications if c.error]
        )

    def _evaluate_rules(self, tenant: Tenant, variables: dict[str, Any]) -> tuple[RulesOutcome, list[str], list[str]]:
        """(outcome, rules errors, warnings) of one evaluation. Raises only what a retry can fix (the rules
        function unreachable or throttled)."""
        version = tenant.rules_version
        if version <= 0:
            return RulesOutcome(version=0), [], []
        key = (tenant.tenant_id, version)
        source = self.deps.caches.rules.get(key)
        if source is None:
            rules = self.deps.tenants.get_rules_version(tenant.tenant_id, version)
            source = rules.source if rules else ""
            self.deps.caches.rules.put(key, source)
        if not source.strip():
            return RulesOutcome(version=version), [], []
        started = time.monotonic()
        failed = RulesOutcome(version=version, failed=True)

        def run(answers: Sequence[Classification]) -> RuleResult:
            request = RulesRequest(
                action="evaluate",
                tenant_id=tenant.tenant_id,
                version=str(version),
                source=source,
                variables=variables,
                classifications=list(answers),
            )
            return self.deps.rules.run(request)

        triage = Triage(
            self.deps.classifier,
            self.deps.classification_cache,
            time_left=self.deps.time_left,
            metric=self.deps.metric,
        )
        try:
            triaged = triage.run(tenant.tenant_id, run)
        except (RulesFunctionFailed, TriageError) as exc:
            return failed, [str(exc)[:500]], []
        finally:
            self.deps.metric("RulesMs", (time.monotonic() - started) * 1000)
        if triaged.runs > 1:
            self.deps.metric("RulesRuns", triaged.runs)
        result = triaged.result
        failed = failed.model_copy(update={"classifications": triaged.classifications})
        warnings = [w.message for w in result.warnings][:20]
        if not result.understood:
            what = "failed" if result.status == "internal_error" else "refused the request"
            return failed, [f"the rules function {what}: {result.request_error or result.status}"[:500]], warnings
        if result.error is not None:
            return failed, [result.error.describe()[:500]], warnings
        changed = {
            name: value
            for name, value in (result.variables or {}).items()
            if name in result.changed and name in READ_WRITE_VARIABLES
        }
        exception = result.exception if result.exception not in (None, "") else None
        outcome = RulesOutcome(
            version=version, changed=changed, exception=exception, classifications=triaged.classifications
        )
        return outcome, [], warnings

    def _create(self, run: _Run, tenant: Tenant) -> Outcome:
        sub, client = run.sub, run.client
        resolved = self._resolve(sub, tenant, client)
        if resolved is None:
            email = tenant.autotask.unregistered_email
            reason = f"no contact for {sub.contact.email!r} and no catch-all contact {email!r}"
            return self._fail(sub, MSG_CONTACT, reason, spent=run.spent())

        variables = rule_input(
            sub, tenant.defaults, contact_name=resolved.contact_name or "", business_name=resolved.business_name or ""
        )
        ruled = self._rules(run, tenant, variables)
        sub = run.sub
        resolved = resolved.model_copy(update={"rule_warnings": sub.resolved.rule_warnings})
        if ruled.block is not None:
            text = ruled.block[:1000]
            run.sub = self.deps.submissions.save(  # final: the BLOCKED event goes with it (exactly once)
                sub.model_copy(
                    update={
                        "status": SubmissionStatus.BLOCKED,
                        "message": text,
                        "resolved": resolved,
                        "lease_owner": None,
                        "lease_until": None,
                        **self._spent(sub, run.spent()),
                    }
                ),
                events=[self._timeline(TimelineEventKind.BLOCKED, text)],
            )
            self.deps.tenant_metric(PRESSES_BLOCKED, sub.tenant_id, 1)
            return Outcome.BLOCKED

        self._check_time()
        picklists = client.ticket_picklists()
        draft = build_ticket(
            sub,
            tenant.defaults,
            ruled.variables,
            picklists,
            company_id=resolved.company_id or 0,
            contact_id=resolved.contact_id,
            configuration_item_id=resolved.configuration_item_id,
            catch_all_used=resolved.catch_all_used,
            rules_errors=ruled.errors,
            submission_errors=ruled.submission_errors,
            # rule warnings stay on the submission for the admin; technicians get no lint in every note
        )
        if draft.submission_errors:
            self.deps.metric("SubmissionErrors", len(draft.submission_errors))
        submission_errors = draft.submission_errors[:MAX_RECORDED_ERRORS]

        ticket_id: int | None = None
        number: str | None = None
        if sub.progress.create_attempted:
            existing = client.find_ticket_by_external_id(sub.submission_id)
            if existing is not None:
                ticket_id, number = existing.id, existing.ticket_number
                self.deps.metric("DuplicateCreatesAvoided", 1)
        note_text = draft.note_text
        if ticket_id is None:
            run.save(
                resolved=resolved,
                submission_errors=submission_errors,
                progress=sub.progress.model_copy(update={"create_attempted": True, "note_text": note_text}),
            )
            sub = run.sub
            try:
                ticket_id = self._send_create(client, draft.fields)
            except at_errors.ValidationError_ as exc:
                # Autotask refused a field: replace or drop it and try once more (never lose the ticket for it)
                repaired = self._repair(client, tenant, draft.fields, exc)
                if repaired is None:
                    raise
                self.deps.metric("RefusedFieldsReplaced", len(repaired.errors))
                submission_errors = [*draft.submission_errors, *repaired.errors][:MAX_RECORDED_ERRORS]
                note_text = internal_note(
                    sub,
                    catch_all_used=resolved.catch_all_used,
                    priv_append=str(ruled.variables.get("priv_append") or ""),
                    submission_errors=[*draft.submission_errors, *repaired.errors],
                    rules_errors=ruled.errors,
                )
                # exactly once: whatever happened to the refused create, look for the ticket before sending again
                existing = client.find_ticket_by_external_id(sub.submission_id)
                if existing is not None:
                    ticket_id, number = existing.id, existing.ticket_number
                    self.deps.metric("DuplicateCreatesAvoided", 1)
                else:
                    run.save(
                        submission_errors=submission_errors,
                        progress=sub.progress.model_copy(update={"note_text": note_text}),
                    )
                    sub = run.sub
                    ticket_id = self._send_create(client, repaired.fields)
        progress = run.sub.progress.model_copy(
            update={
                "ticket_id": ticket_id,
                "ticket_number": number,
                "note_text": note_text,
                "create_attempted": True,
            }
        )
        # Done, recorded with the next save: a retry before it finds the ticket by externalID.
        run.stage(resolved=resolved, submission_errors=submission_errors, progress=progress)
        return Outcome.CREATED

    @staticmethod
    def _send_create(client: AutotaskPort, fields: dict[str, Any]) -> int:
        try:
            return int(client.create_ticket(fields))
        except at_errors.AutotaskError as exc:
            if getattr(exc, "maybe_committed", False) and not exc.retryable:
                exc = at_errors.TransientError(str(exc), maybe_committed=True)
            raise exc from None

    def _repair(
        self, client: AutotaskPort, tenant: Tenant, fields: dict[str, Any], exc: at_errors.ValidationError_
    ) -> Repair | None:
        """Autotask's refusal read field by field (helpdesk.domain.refusals); None when a retry cannot help."""
        refusals, repairable = parse_refusal(exc.errors or ([exc.detail] if exc.detail else []))
        if not repairable or not refusals:
            return None
        self._check_time()
        work_types: list[int] | None = None

        def active_work_types() -> list[int]:
            nonlocal work_types
            if work_types is None:
                work_types = [int(row["id"]) for row in client.billing_codes() if row.get("id") is not None]
            return work_types

        picklists = client.ticket_picklists()
        named = {r.field for r in refusals}
        more = [r for r in precheck(fields, picklists, active_work_types) if r.field not in named]
        return repair_fields(
            fields, [*refusals, *more], picklists, tenant.defaults, active_work_types=active_work_types
        )

    def _publish_internal(self, client: AutotaskPort, tenant_id: str) -> int:
        cached = self.deps.caches.publish.get(tenant_id)
        if cached is not None:
            return cached
        value = PUBLISH_INTERNAL_ONLY_FALLBACK
        try:
            found = client.note_picklists().resolve("publish", "Internal Only")
            if found is not None:
                value = found
        except at_errors.AutotaskError as exc:
            if exc.retryable:
                raise
        self.deps.caches.publish.put(tenant_id, value)
        return value

    def _note(self, run: _Run) -> None:
        client, p = run.client, run.sub.progress
        if p.note_id is not None or p.note_skipped:
            return
        assert p.ticket_id is not None
        if not p.note_text:
            run.stage(progress=p.model_copy(update={"note_skipped": True}))
            return
        title = note_title(run.sub.submission_id)
        self._check_time()
        if p.note_attempted:
            for note in client.list_ticket_notes(p.ticket_id):
                if (note.title or "") == title:
                    self.deps.metric("DuplicateNotesAvoided", 1)
                    run.stage(progress=p.model_copy(update={"note_id": note.id}))
                    return
        publish = self._publish_internal(client, run.sub.tenant_id)
        run.save(progress=p.model_copy(update={"note_attempted": True}))
        note_id = client.create_ticket_note(p.ticket_id, title, p.note_text, publish=publish)
        run.stage(progress=run.sub.progress.model_copy(update={"note_id": note_id}))

    def _attachments(self, run: _Run) -> None:
        client = run.client
        ticket_id = run.sub.progress.ticket_id
        assert ticket_id is not None
        for attachment in run.sub.attachments:
            p = run.sub.progress
            name = attachment.filename
            if name in p.attachments:
                continue
            self._check_time()
            if name in p.attachments_attempted:
                existing = self._find_attachment(client, ticket_id, name)
                if existing is not None:
                    self.deps.metric("DuplicateAttachmentsAvoided", 1)
                    run.stage(progress=p.model_copy(update={"attachments": {**p.attachments, name: existing}}))
                    continue
            data = self.deps.blobs.get(attachment.s3_key)
            run.save(progress=p.model_copy(update={"attachments_attempted": sorted({*p.attachments_attempted, name})}))
            try:
                attachment_id = client.create_ticket_attachment(ticket_id, name, data, title=name)
            except at_errors.ValidationError_ as exc:
                # A file Autotask refuses (type, size) must not hold the ticket hostage: note it and go on.
                self._event(
                    run.sub,
                    TimelineEventKind.NOTE,
                    f"Attachment {name} was not accepted: {exc}"[:500],
                    visible=False,
                    event_id=f"dispatch:attachment-refused:{name}",
                )
                attachment_id = 0
            p = run.sub.progress
            run.stage(progress=p.model_copy(update={"attachments": {**p.attachments, name: attachment_id}}))

    def _find_attachment(self, client: AutotaskPort, ticket_id: int, name: str) -> int | None:
        for attachment in client.find_ticket_attachments(ticket_id):
            if name in (attachment.full_path, attachment.title):
                return attachment.id
        return None
