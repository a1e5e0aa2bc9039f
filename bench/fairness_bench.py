"""Fairness benchmark: one tenant's flood or slowness must not slow another tenant's presses.

    .venv/bin/python -m bench fairness     (HELPDESK_BENCH_FAIRNESS_S=<seconds per phase>, default 60;
                                            HELPDESK_BENCH_FAIRNESS_BASELINE=0 skips the share-off baseline run)

Over the devstack (API Gateway -> intake -> SQS fair queue -> dispatcher -> rules -> Autotask simulator), three
tenants, each with its own simulated Autotask database:

* A (quiet) presses at a steady rate, one press every ``A_INTERVAL_S`` seconds;
* B (flood) presses 10x as often as A;
* C (slow) presses as often as A, its Autotask answers every request after 2 s and its rules run to their limit.

Phase 1: A alone. Phase 2: A at the same rate while B floods and C is slow (both start a few seconds earlier).
A press's time = from its first timeline event (received) to its "created" event, both server-side. The goal:
A's p95 under noise within 1.5x of A's p95 alone, measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from devstack.autotask_sim.seed import SimTenant

A_INTERVAL_S = 4.0
FLOOD_FACTOR = 10
SLOW_AUTOTASK_MS = 2000
LEAD_S = 5.0  # B and C start this much before A in phase 2 (their backlog and slow work are in place)
GOAL = 1.5

# Rules that run until the rules function stops them (the time limit, about 1 s).
SLOW_RULES = """\
n = 0
for i in range(100000):
    for j in range(100):
        n = n + max(range(20000))
"""


def _sim_tenant(name: str, ci: int) -> SimTenant:
    return SimTenant(
        database=f"fair-{name}",
        ci=ci,
        username=f"api-{name}@fair-msp.example",
        secret=f"Fair-{name}-secret-1",
        integration_code=f"FAIR{name.upper()}INTEGRATIONCODE0001"[:27],
    )


TENANTS = {
    "quiet": _sim_tenant("quiet", 281101),
    "flood": _sim_tenant("flood", 281102),
    "slow": _sim_tenant("slow", 281103),
}


@dataclass
class Press:
    tenant: str
    sid: str
    receipt: str
    sent_at: float


@dataclass
class Phase:
    name: str
    presses: list[Press] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, tenant: str) -> list[Press]:
        return [p for p in self.presses if p.tenant == tenant]


def body(sid: str) -> dict[str, Any]:
    return {
        "submission_id": sid,
        "contact": {"name": "Alice Anders", "email": "alice@contoso.com"},
        "machine": {"hostname": "CONTOSO-PC1", "username": "alice"},
        "msg": "Outlook crashes every time I open the calendar",
        "selections": [],
    }


@contextmanager
def fair_tenants(stack: Any) -> Iterator[dict[str, str]]:
    """The three tenants in the stack, each on its own simulated Autotask database; yields their button keys."""
    from devstack.client_env import StackEnv
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
    from helpdesk.adapters.kms import KmsSecretBox
    from helpdesk.domain.tenant import AutotaskSettings, CredentialKind, Tenant, TicketDefaults

    sim = stack.autotask_sim
    if sim is None:
        raise RuntimeError("the devstack runs without the Autotask simulator")
    stack_env = StackEnv(stack.env)
    stack_env.apply()
    try:
        tenants = DynamoTenantRepository(stack.resources["TenantsTable"]["Ref"])
        box = KmsSecretBox(stack.resources["CredentialsKey"]["Ref"])
        keys: dict[str, str] = {}
        for name, at in TENANTS.items():
            tenant_id = f"fair-{name}"
            if at.database not in sim.world.databases:
                sim.add_database(at)
            if tenants.get(tenant_id) is None:
                tenant = tenants.create(
                    Tenant(
                        tenant_id=tenant_id,
                        name=f"Fairness {name}",
                        autotask=AutotaskSettings(
                            host=sim.host,
                            integration_code=at.integration_code,
                            api_user=at.username,
                            api_key_ciphertext=_seal(box, tenant_id, at.api_key),
                            api_key_mask="****",
                        ),
                        defaults=TicketDefaults(
                            queue="Tier 1 Support",
                            priority="Medium",
                            ticketStatus="New",
                            type="Service Request",
                            source="Helpdesk Button",
                            category="Helpdesk Buttons",
                            worktype=29682801,
                        ),
                    )
                )
                if name == "slow":
                    version = tenants.add_rules_version(tenant_id, SLOW_RULES, author="bench")
                    tenants.save(tenant.model_copy(update={"rules_version": version.version}))
            keys[name] = tenants.issue_credential(tenant_id, CredentialKind.BUTTON_KEY, label="bench").token
        yield keys
    finally:
        stack_env.restore()


def _seal(box: Any, tenant_id: str, api_key: str) -> str:
    """The Autotask API key sealed the way the admin API seals it."""
    from helpdesk.domain.tenant import SecretPurpose

    return str(box.seal(tenant_id, api_key, purpose=SecretPurpose.AUTOTASK_API_KEY))


def press_once(session: requests.Session, api: str, key: str, tenant: str, phase: Phase) -> None:
    """One press; its receipt goes into the phase (a failed press is a figure, not a crash of the benchmark)."""
    sid = f"{tenant}-{uuid.uuid4().hex[:12]}"
    sent = time.time()
    try:
        answer = session.post(
            f"{api}/v1/tickets", json=body(sid), headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        if answer.status_code != 202:
            raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")
        with phase.lock:
            phase.presses.append(Press(tenant, sid, answer.json()["receipt"], sent))
    except Exception as exc:
        with phase.lock:
            phase.errors.append(f"{tenant}: {exc}")


def _presser(
    api: str, key: str, tenant: str, interval_s: float, until: float, phase: Phase, stop: threading.Event
) -> Callable[[], None]:
    def run() -> None:
        # Presses go out on schedule, each in a pool thread: a slow answer does not lower the rate.
        local = threading.local()

        def one() -> None:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            press_once(local.session, api, key, tenant, phase)

        with ThreadPoolExecutor(max_workers=8) as pool:
            next_at = time.monotonic()
            while not stop.is_set() and next_at < until:
                stop.wait(max(0.0, next_at - time.monotonic()))
                pool.submit(one)
                next_at += interval_s

    return run


def run_phase(
    api: str, keys: dict[str, str], *, name: str, duration_s: float, noisy: bool, a_interval_s: float = A_INTERVAL_S
) -> Phase:
    """Press for `duration_s` (A), with B flooding and C slow when `noisy`. Returns when the schedule ends."""
    phase = Phase(name)
    stop = threading.Event()
    start = time.monotonic()
    threads = []
    if noisy:
        until = start + LEAD_S + duration_s
        threads.append(_presser(api, keys["flood"], "flood", a_interval_s / FLOOD_FACTOR, until, phase, stop))
        threads.append(_presser(api, keys["slow"], "slow", a_interval_s, until, phase, stop))
    workers = [threading.Thread(target=t, daemon=True) for t in threads]
    for w in workers:
        w.start()
    if noisy:
        time.sleep(LEAD_S)
    quiet = threading.Thread(
        target=_presser(api, keys["quiet"], "quiet", a_interval_s, time.monotonic() + duration_s, phase, stop),
        daemon=True,
    )
    quiet.start()
    quiet.join(duration_s + 60)
    for w in workers:
        w.join(duration_s + LEAD_S + 60)
    stop.set()
    return phase


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def press_to_ticket(
    api: str, key: str, presses: list[Press], timeout_s: float, created_at: dict[str, float] | None = None
) -> dict[str, float]:
    """Seconds from each press's first timeline event to its 'created' event; waits up to `timeout_s`.
    `created_at` (optional) receives each press's 'created' time (epoch seconds)."""
    session = requests.Session()
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < len(presses) and time.monotonic() < deadline:
        for press in presses:
            if press.sid in done:
                continue
            answer = session.get(
                f"{api}/v1/tickets/{press.sid}",
                headers={"Authorization": f"Bearer {key}", "X-Receipt": press.receipt},
                timeout=30,
            )
            if answer.status_code != 200:  # a slow status read (the machine is loaded) is asked again
                continue
            view = answer.json()
            events = view.get("timeline") or []
            created = [e for e in events if e.get("event") == "created"]
            if created and events:
                done[press.sid] = _at(created[0]["at"]) - _at(events[0]["at"])
                if created_at is not None:
                    created_at[press.sid] = _at(created[0]["at"])
            elif view.get("status") in {"blocked", "failed"}:
                raise RuntimeError(f"{press.sid}: {view.get('status')} {view.get('message')}")
        time.sleep(0.5)
    return done


def queue_waits(stack: Any, tenant_id: str, presses: list[Press]) -> list[float]:
    """Seconds from received to the dispatcher's claim ("creating", an internal timeline event) per press."""
    import boto3
    from boto3.dynamodb.conditions import Key

    from devstack.client_env import pointed_at

    waits = []
    with pointed_at(stack.env):
        table = boto3.resource("dynamodb").Table(stack.resources["SubmissionsTable"]["Ref"])
        for press in presses:
            items = table.query(
                KeyConditionExpression=Key("pk").eq(f"SUB#{tenant_id}#{press.sid}") & Key("sk").begins_with("EVENT#")
            )["Items"]
            events = sorted((_at(d["at"]), d["event"]) for d in (json.loads(str(i["doc"])) for i in items))
            claimed = [at for at, kind in events if kind == "creating"]
            if events and claimed:
                waits.append(claimed[0] - events[0][0])
    return waits


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Figures:
    solo: list[float]
    noise: list[float]
    flood_sent: int
    slow_sent: int
    flood_done: dict[str, float]
    slow_done: dict[str, float]
    errors: list[str]
    solo_wait: list[float]
    noise_wait: list[float]

    @property
    def ratio(self) -> float:
        return percentile(self.noise, 0.95) / percentile(self.solo, 0.95)


def measure(stack: Any, duration_s: float, a_interval_s: float = A_INTERVAL_S) -> Figures:
    sim = stack.autotask_sim
    with fair_tenants(stack) as keys:
        api = stack.api_url
        # warm-up: one press per tenant end to end (cold starts, caches), not measured
        warm = run_phase(api, keys, name="warm-up", duration_s=0.1, noisy=False)
        press_to_ticket(api, keys["quiet"], warm.of("quiet"), 120)
        solo = run_phase(api, keys, name="solo", duration_s=duration_s, noisy=False, a_interval_s=a_interval_s)
        solo_done = press_to_ticket(api, keys["quiet"], solo.of("quiet"), 120)
        sim.set_faults(TENANTS["slow"].database, latency_ms=SLOW_AUTOTASK_MS)
        try:
            noise = run_phase(api, keys, name="noise", duration_s=duration_s, noisy=True, a_interval_s=a_interval_s)
            noise_done = press_to_ticket(api, keys["quiet"], noise.of("quiet"), 300)
            flood_done = press_to_ticket(api, keys["flood"], noise.of("flood"), 1)
            slow_done = press_to_ticket(api, keys["slow"], noise.of("slow"), 1)
            waits = (
                queue_waits(stack, "fair-quiet", solo.of("quiet")),
                queue_waits(stack, "fair-quiet", noise.of("quiet")),
            )
        finally:
            sim.clear_faults(TENANTS["slow"].database)
    if len(solo_done) < len(solo.of("quiet")) or len(noise_done) < len(noise.of("quiet")):
        raise RuntimeError(
            f"quiet tenant presses not finished: solo {len(solo_done)}/{len(solo.of('quiet'))}, "
            f"noise {len(noise_done)}/{len(noise.of('quiet'))}"
        )
    return Figures(
        solo=list(solo_done.values()),
        noise=list(noise_done.values()),
        flood_sent=len(noise.of("flood")),
        slow_sent=len(noise.of("slow")),
        flood_done=flood_done,
        slow_done=slow_done,
        errors=solo.errors + noise.errors,
        solo_wait=waits[0],
        noise_wait=waits[1],
    )


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:<34} {'-':>6}"
    return (
        f"  {label:<34} {len(values):>6} {statistics.median(values):>8.2f} {percentile(values, 0.95):>8.2f}"
        f" {max(values):>8.2f}"
    )


def _print(label: str, figures: Figures) -> None:
    print(f"-- {label}")
    print(_row("A alone", figures.solo))
    print(_row("A under noise", figures.noise))
    print(_row("A alone: received -> dispatcher", figures.solo_wait))
    print(_row("A under noise: received -> dispatcher", figures.noise_wait))
    print(_row(f"B flood (created of {figures.flood_sent} sent)", list(figures.flood_done.values())))
    print(_row(f"C slow (created of {figures.slow_sent} sent)", list(figures.slow_done.values())))
    if figures.errors:
        print(f"  press errors: {len(figures.errors)} (first: {figures.errors[0]})")
    print(f"  quiet tenant p95 under noise / solo = {figures.ratio:.2f}x")


def main() -> int:
    from devstack.stack import Devstack

    duration = float(os.environ.get("HELPDESK_BENCH_FAIRNESS_S", "60"))
    # The baseline, measured in the same run: the per-tenant share switched off (a tenant may hold all of the
    # dispatcher's slots). SQS's fair-queue order stays on in both: it is the queue's, not ours to switch.
    runs = [("fair share on (TenantConcurrencySharePercent 30, the default)", {"RetryBaseDelaySeconds": "0"})]
    if os.environ.get("HELPDESK_BENCH_FAIRNESS_BASELINE", "1") != "0":
        runs.append(
            (
                "baseline: fair share off (TenantConcurrencySharePercent 100)",
                {"RetryBaseDelaySeconds": "0", "TenantConcurrencySharePercent": "100"},
            )
        )
    results: list[tuple[str, Figures]] = []
    for label, overrides in runs:
        with Devstack(parameter_overrides=overrides, ports=0) as stack:
            results.append((label, measure(stack, duration)))
    print(
        f"A presses every {A_INTERVAL_S} s for {duration:.0f} s; B presses {FLOOD_FACTOR}x as often; C's Autotask"
        f" answers after {SLOW_AUTOTASK_MS} ms and its rules run to their limit. Seconds received -> created."
    )
    print(f"  {'series':<34} {'n':>6} {'p50':>8} {'p95':>8} {'max':>8}")
    for label, figures in results:
        _print(label, figures)
    ratio = results[0][1].ratio
    print(f"fairness: quiet tenant p95 under noise / solo = {ratio:.2f}x")
    if len(results) > 1:
        off = results[1][1]
        on_p95, off_p95 = percentile(results[0][1].noise, 0.95), percentile(off.noise, 0.95)
        print(
            f"  baseline (share off), same run: {off.ratio:.2f}x; A under noise p95 share on / off = {on_p95 / off_p95:.2f}x"
        )
    print(f"  goal (<= {GOAL}x) met: {'yes' if ratio <= GOAL else 'NO'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
