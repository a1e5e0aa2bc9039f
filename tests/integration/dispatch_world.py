"""Shared wiring for dispatch integration tests: moto (aws_env) + the Autotask simulator + the real adapters."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from devstack.autotask_sim import DEMO, AutotaskSimulator
from helpdesk.adapters.autotask_clients import KmsClientFactory
from helpdesk.adapters.dynamodb_limits import DynamoBreakerStore, DynamoConcurrencyLimiter
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.adapters.s3 import S3AttachmentStore, inline_key
from helpdesk.dispatch.breaker import TenantBreaker
from helpdesk.dispatch.create_ticket import CreateTicket, DispatchDeps, LookupCaches
from helpdesk.domain.rules import RuleResult, RulesRequest
from helpdesk.domain.submission import StoredAttachment, Submission, SubmissionRequest, receipt_for
from helpdesk.domain.tenant import AutotaskSettings, SecretPurpose, Tenant, TicketDefaults
from helpdesk.domain.work import SubmissionWork
from helpdesk.rules.service import RulesService

TENANT = "acme"
DEFAULTS = TicketDefaults(
    queue="Tier 1 Support",
    priority="Medium",
    ticketStatus="New",
    type="Service Request",
    source="Helpdesk Button",
    category="Helpdesk Buttons",
    worktype=29682801,
)


class InProcessRules:
    """The rules function's service, called in-process instead of through lambda.invoke."""

    def __init__(self) -> None:
        self.service = RulesService()
        self.calls = 0

    def run(self, request: RulesRequest) -> RuleResult:
        self.calls += 1
        answer = self.service.handle(request.model_dump(mode="json")).model_dump(mode="json")  # JSON both ways
        return RuleResult.model_validate(answer)


@dataclass
class World:
    sim: AutotaskSimulator
    env: dict[str, str]
    tenants: DynamoTenantRepository = field(init=False)
    submissions: DynamoSubmissionRepository = field(init=False)
    blobs: S3AttachmentStore = field(init=False)
    box: KmsSecretBox = field(init=False)
    rules: InProcessRules = field(default_factory=InProcessRules)
    metrics: dict[str, float] = field(default_factory=dict)
    caches: LookupCaches = field(default_factory=LookupCaches)

    def __post_init__(self) -> None:
        self.tenants = DynamoTenantRepository(self.env["TENANTS_TABLE"])
        self.submissions = DynamoSubmissionRepository(self.env["SUBMISSIONS_TABLE"])
        self.blobs = S3AttachmentStore(self.env["ATTACHMENTS_BUCKET"])
        self.box = KmsSecretBox(self.env["CREDENTIALS_KEY_ID"])
        self.limiter = DynamoConcurrencyLimiter(self.env["TENANTS_TABLE"], hourly_budget=1000)
        self.factory = KmsClientFactory(
            self.box, limiter=self.limiter, client_options={"max_retry_wait": 0.5, "backoff_base": 0.05}
        )
        self.deps = DispatchDeps(
            tenants=self.tenants,
            submissions=self.submissions,
            clients=self.factory,
            rules=self.rules,
            blobs=self.blobs,
            breaker=TenantBreaker(DynamoBreakerStore(self.env["TENANTS_TABLE"])),
            caches=self.caches,
            metric=self._metric,
        )
        self.create = CreateTicket(self.deps)

    def _metric(self, name: str, value: float) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + value

    def add_tenant(
        self, tenant_id: str = TENANT, *, api_key: str = DEMO.api_key, rules: str | None = None, **over: Any
    ) -> Tenant:
        tenant = Tenant(
            tenant_id=tenant_id,
            name="Acme MSP",
            autotask=AutotaskSettings(
                host=self.sim.host,
                integration_code=DEMO.integration_code,
                api_user=DEMO.username,
                api_key_ciphertext=self.box.seal(tenant_id, api_key, purpose=SecretPurpose.AUTOTASK_API_KEY),
                api_key_mask="****",
            ),
            defaults=over.pop("defaults", DEFAULTS),
            **over,
        )
        created = self.tenants.create(tenant)
        if rules is not None:
            version = self.tenants.add_rules_version(tenant_id, rules)
            created = self.tenants.save(created.model_copy(update={"rules_version": version.version}))
        return created

    def submit(
        self,
        sid: str,
        *,
        email: str = "alice@contoso.com",
        hostname: str = "CONTOSO-PC1",
        msg: str = "The printer says PC LOAD LETTER",
        files: dict[str, bytes] | None = None,
        tenant_id: str = TENANT,
        **over: Any,
    ) -> Submission:
        body: dict[str, Any] = {
            "submission_id": sid,
            "contact": {"name": "Alice Typed", "email": email, "phone": "555-0100"},
            "machine": {
                "hostname": hostname,
                "ip": "10.1.2.3",
                "username": "alice",
                "domain": "CONTOSO",
                "os": "Win 11",
            },
            "msg": msg,
            "selections": ["Printer"],
            "append": "script output",
            **over,
        }
        stored: list[StoredAttachment] = []
        for n, (name, data) in enumerate((files or {}).items()):
            body.setdefault("attachments", []).append(
                {"filename": name, "content_type": "image/png", "data_base64": base64.b64encode(data).decode()}
            )
            key = inline_key(tenant_id, sid, n, name)
            self.blobs.put(key, data, "image/png")
            stored.append(StoredAttachment(filename=name, content_type="image/png", s3_key=key, size=len(data)))
        request = SubmissionRequest.model_validate(body)
        sub = Submission.from_request(tenant_id, request, stored, receipt=receipt_for("hbk_t", tenant_id, sid))
        return self.submissions.create(sub)

    def work(self, sid: str, tenant_id: str = TENANT) -> SubmissionWork:
        return SubmissionWork(tenant_id=tenant_id, submission_id=sid)

    def ticket_for(self, sid: str) -> list[dict[str, Any]]:
        return [t for t in self.sim.tickets("demo") if t.get("externalID") == sid]
