"""AWS round trips per press, counted (not estimated): intake submit and status read, dispatcher per ticket.

    .venv/bin/python -m bench calls

Every AWS API call the service's code makes goes through the one boto3 Session in `helpdesk.aws`; this module
registers a botocore `before-call` hook on that session's event system and counts (service, operation) while
the real code runs in-process against moto (the template's tables, queue, bucket and key, provisioned by the
devstack's own code) and the Autotask simulator over HTTP:

- intake: the intake function's handler (`functions/intake/app.py`, the same object Lambda calls) answering
  `POST /v1/tickets` for a new submission without files, with one inline file, a repeat of the same POST, and
  `GET /v1/tickets/{id}`;
- dispatch: the dispatcher's use case (`CreateTicket`) with the real DynamoDB adapters, limiter and breaker,
  one warm-up ticket first (per-environment caches, KMS decrypt of the tenant's key), then the mean over
  `HELPDESK_BENCH_CALLS_N` (5) warm tickets without attachments.

Goals (issue 16): intake <= 3 calls per accepted submission without files (+1 per inline file), <= 2 per
status read; dispatch at most half of the DynamoDB calls per ticket measured before that work
(`DISPATCH_BEFORE`, counted by this module on 2026-12-02).
"""

from __future__ import annotations

import base64
import os
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch

from bench.pipeline_bench import ROOT_ENV as PIPELINE_ENV

ROOT = Path(__file__).resolve().parents[1]
ROOT_ENV = {**PIPELINE_ENV, "AWS_LAMBDA_FUNCTION_NAME": "bench-calls", "POWERTOOLS_METRICS_DISABLED": "true"}

# Counted by this module on main at ceea05b (2026-12-02), before issue 16's changes.
INTAKE_BEFORE = 7
STATUS_BEFORE = 3
DISPATCH_BEFORE = 30.0

INTAKE_GOAL = 3
STATUS_GOAL = 2
DISPATCH_GOAL = DISPATCH_BEFORE / 2


@dataclass
class AwsCalls:
    """Counts AWS API calls (one per `client.<operation>()` call; botocore's own HTTP retries are not calls)."""

    by_operation: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model is None:
            return
        with self._lock:
            self.by_operation[(model.service_model.service_name, model.name)] += 1

    def total(self, service: str | None = None) -> int:
        with self._lock:
            return sum(n for (s, _), n in self.by_operation.items() if service is None or s == service)

    def reset(self) -> None:
        with self._lock:
            self.by_operation.clear()

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.by_operation)


@contextmanager
def counting_aws() -> Iterator[AwsCalls]:
    """A fresh `helpdesk.aws` registry whose boto3 Session reports every API call to the returned counter.

    Clients copy the session's event emitter when they are created, so the hook is registered before any
    client or resource exists (`cache_clear` first)."""
    from helpdesk import aws

    aws.client.cache_clear()
    aws.table.cache_clear()
    calls = AwsCalls()
    with aws._REGISTRY._lock:
        session = aws._REGISTRY._session_locked()
    session.events.register("before-call.*.*", calls)
    try:
        yield calls
    finally:
        session.events.unregister("before-call.*.*", calls)
        aws.client.cache_clear()
        aws.table.cache_clear()


@contextmanager
def moto_world() -> Iterator[dict[str, str]]:
    """moto in-process with every data resource of template.yaml; yields the handlers' environment."""
    from moto import mock_aws

    from devstack.resources import provision

    keys = (*ROOT_ENV, "TENANTS_TABLE", "SUBMISSIONS_TABLE", "IDEMPOTENCY_TABLE", "WORK_QUEUE_URL")
    keys = (*keys, "DEAD_LETTER_QUEUE_URL", "ATTACHMENTS_BUCKET", "CREDENTIALS_KEY_ID", "RULES_FUNCTION_NAME")
    saved = {k: os.environ.get(k) for k in keys}
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        saved[var] = os.environ.pop(var)
    os.environ.update(ROOT_ENV)
    try:
        with mock_aws():
            bound = provision(ROOT / "template.yaml").bound
            names = {logical_id: str(bound[logical_id]["Ref"]) for logical_id in bound}
            wanted = {
                "TENANTS_TABLE": "TenantsTable",
                "SUBMISSIONS_TABLE": "SubmissionsTable",
                "IDEMPOTENCY_TABLE": "IdempotencyTable",
                "WORK_QUEUE_URL": "WorkQueue",
                "DEAD_LETTER_QUEUE_URL": "DeadLetterQueue",
                "ATTACHMENTS_BUCKET": "AttachmentsBucket",
                "CREDENTIALS_KEY_ID": "CredentialsKey",
            }
            env = {var: names[lid] for var, lid in wanted.items() if lid in names}  # what the template defines
            env["RULES_FUNCTION_NAME"] = "helpdesk-rules"
            os.environ.update(env)
            yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _body(sid: str, files: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submission_id": sid,
        "contact": {"name": "Ann Smith", "email": "ann@contoso.com"},
        "machine": {"hostname": "PC-ANN"},
        "msg": "Printer is broken again",
        "device_id": "device-0001",
    }
    if files:
        body["attachments"] = [
            {"filename": f"f{i}.png", "content_type": "image/png", "data_base64": base64.b64encode(b"x").decode()}
            for i in range(files)
        ]
    return body


@dataclass
class IntakeCounts:
    submit: Counter[tuple[str, str]]
    submit_one_file: Counter[tuple[str, str]]
    repeat: Counter[tuple[str, str]]
    status: Counter[tuple[str, str]]


def count_intake() -> IntakeCounts:
    """Calls made by the intake handler, in-process on moto (a fresh import binds it to this environment)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
    from helpdesk.domain.tenant import CredentialKind, Tenant
    from tests.integration.intake_handler import IntakeCaller, load_intake

    with moto_world() as env, counting_aws() as calls:
        repo = DynamoTenantRepository(env["TENANTS_TABLE"])
        repo.create(Tenant(tenant_id="acme", name="Acme"))
        key = repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token
        api = IntakeCaller(load_intake())

        def measured(method: str, path: str, **kwargs: Any) -> tuple[Counter[tuple[str, str]], Any]:
            calls.reset()
            status, answer, _ = api(method, path, token=key, **kwargs)
            assert status in (200, 202), (status, answer)
            return calls.snapshot(), answer

        api("POST", "/v1/tickets", body=_body(f"warm-{uuid.uuid4().hex[:12]}"), token=key)  # warm-up
        sid = f"calls-{uuid.uuid4().hex[:12]}"
        submit, answer = measured("POST", "/v1/tickets", body=_body(sid))
        repeat, _ = measured("POST", "/v1/tickets", body=_body(sid))
        status, _ = measured(
            "GET",
            f"/v1/tickets/{sid}",
            resource="/v1/tickets/{id}",
            path_parameters={"id": sid},
            headers={"X-Receipt": answer["receipt"]},
        )
        one_file, _ = measured("POST", "/v1/tickets", body=_body(f"calls-{uuid.uuid4().hex[:12]}", files=1))
    return IntakeCounts(submit=submit, submit_one_file=one_file, repeat=repeat, status=status)


@dataclass
class DispatchCounts:
    tickets: int
    per_ticket: Counter[tuple[str, str]]  # summed over `tickets`
    autotask_requests: float

    def mean(self, service: str | None = None) -> float:
        return sum(n for (s, _), n in self.per_ticket.items() if service is None or s == service) / self.tickets


def count_dispatch(n: int = 5) -> DispatchCounts:
    """DynamoDB (and other AWS) calls of the dispatcher's use case per warm ticket without attachments."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from devstack.autotask_sim import AutotaskSimulator

    sim = AutotaskSimulator(seed_random=1)
    sim.start()
    try:
        with patch.dict(os.environ, sim.client_env()), moto_world() as env, counting_aws() as calls:
            from tests.integration.dispatch_world import World

            world = World(sim=sim, env=env)
            world.add_tenant()

            def one(label: str) -> tuple[Counter[tuple[str, str]], int]:
                sid = f"calls-{label}-{uuid.uuid4().hex[:8]}"
                world.submit(sid)
                calls.reset()
                world.create(world.work(sid))
                counted = calls.snapshot()
                sub = world.submissions.get("acme", sid)
                assert sub is not None and sub.status.value == "created", sub
                return counted, sub.autotask_requests

            one("cold")
            total: Counter[tuple[str, str]] = Counter()
            requests = 0
            for i in range(n):
                counted, spent = one(f"warm{i}")
                total.update(counted)
                requests += spent
    finally:
        sim.stop()
    return DispatchCounts(tickets=n, per_ticket=total, autotask_requests=requests / n)


def _breakdown(counted: Counter[tuple[str, str]], per: float = 1.0) -> str:
    parts = [f"{s}:{op} {n / per:g}" for (s, op), n in sorted(counted.items())]
    return ", ".join(parts) or "none"


def main() -> int:
    n = int(os.environ.get("HELPDESK_BENCH_CALLS_N", "5"))
    intake = count_intake()
    dispatch = count_dispatch(n)
    submit, status = sum(intake.submit.values()), sum(intake.status.values())
    one_file = sum(intake.submit_one_file.values())
    dynamodb = dispatch.mean("dynamodb")
    print("AWS calls per press, counted with botocore before-call hooks (moto in-process, Autotask simulator)")
    print(f"intake: {submit} AWS calls per accepted submission (no files)")
    print(f"  by operation: {_breakdown(intake.submit)}")
    print(f"intake: {one_file} AWS calls per accepted submission (1 inline file)")
    print(f"  by operation: {_breakdown(intake.submit_one_file)}")
    print(f"intake: {sum(intake.repeat.values())} AWS calls per repeated submission (same id and body)")
    print(f"  by operation: {_breakdown(intake.repeat)}")
    print(f"intake: {status} AWS calls per status read")
    print(f"  by operation: {_breakdown(intake.status)}")
    print(f"dispatch: {dynamodb:g} DynamoDB calls per ticket (warm, no attachments)")
    print(f"  by operation (mean of {dispatch.tickets} tickets): {_breakdown(dispatch.per_ticket, dispatch.tickets)}")
    print(f"  Autotask requests per ticket: {dispatch.autotask_requests:g}")
    goals = [
        (f"intake submit <= {INTAKE_GOAL} calls (before: {INTAKE_BEFORE})", submit <= INTAKE_GOAL),
        (f"intake submit with 1 inline file <= {INTAKE_GOAL + 1} calls", one_file <= INTAKE_GOAL + 1),
        (f"status read <= {STATUS_GOAL} calls (before: {STATUS_BEFORE})", status <= STATUS_GOAL),
        (
            f"dispatch <= {DISPATCH_GOAL:g} DynamoDB calls per ticket (half of {DISPATCH_BEFORE:g} before)",
            dynamodb <= DISPATCH_GOAL,
        ),
    ]
    print("Goals:")
    for text, met in goals:
        print(f"  {text}: {'met' if met else 'NOT met'}")
    return 0 if all(met for _, met in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
