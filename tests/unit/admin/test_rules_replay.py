"""Rules are replayed on the tenant's last presses (real rules engine, in process) before they are saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.admin.errors import Invalid, RulesFailOnReplay
from helpdesk.admin.replay import MAX_PRESSES, SAMPLE_ID, replay
from helpdesk.admin.service import AdminService
from helpdesk.domain.rules import RuleResult, RulesRequest
from helpdesk.domain.submission import Contact, Machine, Submission
from helpdesk.domain.tenant import Tenant, TicketDefaults
from helpdesk_cli.rules_local import LocalRulesRunner
from tests.unit.admin.fakes import FakeGateway, FakeSecretBox, MemoryTenants
from tests.unit.dispatch.fakes import InMemorySubmissions

# The example: a rule that works on the sample ('3') but raises on a real press's priority ('Medium').
RAISES_ON_LABELS = """\
if 'urgent' in msg:
    priority = 'High'
level = int(priority)
"""
ROUTES_PRINTERS = """\
if 'printer' in msg.lower():
    queue = 'Tier 2 Support'
    priority = 'High'
if hostname.startswith('KIOSK'):
    exception = 'Kiosks cannot open tickets; call the desk.'
"""


def press(n: int, msg: str, *, hostname: str = "PC-1", email: str = "jane@contoso.com") -> Submission:
    return Submission(
        tenant_id="acme",
        submission_id=f"press-{n:04d}-abcdef",
        contact=Contact(name="Jane Doe", email=email),
        machine=Machine(hostname=hostname),
        msg=msg,
        subject=msg[:40],
        fingerprint="f",
        created_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=n),
    )


class CountingRunner(LocalRulesRunner):
    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def run(self, request: RulesRequest) -> RuleResult:
        self.runs += request.action == "evaluate"
        return super().run(request)


@pytest.fixture
def world() -> tuple[AdminService, MemoryTenants, InMemorySubmissions, CountingRunner]:
    tenants, submissions, runner = MemoryTenants(), InMemorySubmissions(), CountingRunner()
    tenants.create(
        Tenant(tenant_id="acme", name="Acme", defaults=TicketDefaults(priority="Medium", queue="Tier 1 Support"))
    )
    tenants.create(Tenant(tenant_id="bravo", name="Bravo"))
    service = AdminService(
        tenants=tenants, secrets=FakeSecretBox(), rules=runner, autotask=FakeGateway(), submissions=submissions
    )
    return service, tenants, submissions, runner


def test_replay_shows_what_would_change_per_press_and_who_would_be_blocked(world: Any) -> None:
    service, _, submissions, _ = world
    submissions.create(press(1, "The printer jams"))
    submissions.create(press(2, "Screen flickers", hostname="KIOSK-3"))
    submissions.create(press(3, "Mouse is slow"))
    result = service.replay_rules("acme", ROUTES_PRINTERS)
    assert result.ok and result.compared_with == 0
    rows = {r.submission_id: r for r in result.presses}
    assert list(rows)[-1] == SAMPLE_ID and rows[SAMPLE_ID].sample
    printer = rows["press-0001-abcdef"]
    assert printer.outcome == "changed"
    assert printer.changes["queue"].model_dump() == {"before": "Tier 1 Support", "after": "Tier 2 Support"}
    assert printer.changes["priority"].model_dump() == {"before": "Medium", "after": "High"}
    kiosk = rows["press-0002-abcdef"]
    assert kiosk.outcome == "blocked" and kiosk.exception == "Kiosks cannot open tickets; call the desk."
    assert rows["press-0003-abcdef"].outcome == "unchanged" and rows["press-0003-abcdef"].changes == {}
    assert (result.replayed, result.changed, result.blocked, result.failed) == (4, 2, 1, 0)


def test_rules_that_raise_on_a_real_press_are_not_saved_without_confirmation(world: Any) -> None:
    service, tenants, submissions, _ = world
    submissions.create(press(1, "urgent: server down"))
    with pytest.raises(RulesFailOnReplay) as info:
        service.save_rules("acme", RAISES_ON_LABELS)
    assert info.value.status == 409
    assert "line 3" in info.value.message and "ValueError" in info.value.message
    replayed = info.value.details["replay"]
    assert isinstance(replayed, dict) and replayed["failed"] == 2  # the press and the sample from the defaults
    row = replayed["presses"][0]
    assert row["outcome"] == "error" and row["error"]["line"] == 3 and "High" in row["error"]["message"]
    assert tenants.get("acme").rules_version == 0 and tenants.list_rules_versions("acme") == []
    # With the explicit confirmation they are saved (the admin saw the replay)
    saved = service.save_rules("acme", RAISES_ON_LABELS, confirm=True)
    assert saved.version == 1 and saved.replay is None and tenants.get("acme").rules_version == 1


def test_saving_rules_that_pass_returns_the_replay_and_compares_with_the_active_version(world: Any) -> None:
    service, tenants, submissions, _ = world
    submissions.create(press(1, "The printer jams"))
    first = service.save_rules("acme", ROUTES_PRINTERS)
    assert first.replay is not None and first.replay.ok and first.replay.compared_with == 0
    second = service.save_rules("acme", ROUTES_PRINTERS.replace("'High'", "'Critical'"))
    assert second.replay is not None and second.replay.compared_with == 1
    row = second.replay.presses[0]
    assert row.changes == {"priority": row.changes["priority"]}
    assert row.changes["priority"].model_dump() == {"before": "High", "after": "Critical"}
    assert tenants.get("acme").rules_version == 2


def test_replay_reads_only_the_tenants_own_presses_and_at_most_fifty(world: Any) -> None:
    service, _, submissions, runner = world
    for n in range(MAX_PRESSES + 5):
        submissions.create(press(n, f"press {n}"))
    submissions.create(press(999, "bravo's press").model_copy(update={"tenant_id": "bravo"}))
    result = service.replay_rules("acme", "subject = subject + '!'\n")
    ids = [r.submission_id for r in result.presses]
    assert len(ids) == MAX_PRESSES + 1 and "press-0999-abcdef" not in ids
    assert ids[0] == f"press-{MAX_PRESSES + 4:04d}-abcdef"  # newest first
    assert runner.runs == MAX_PRESSES + 1  # no active rules: each press runs once
    bravo = [r.submission_id for r in service.replay_rules("bravo", "subject = 'x'\n").presses]
    assert bravo == ["press-0999-abcdef", SAMPLE_ID]


def test_a_replay_that_runs_out_of_time_reports_the_presses_it_did_not_reach(world: Any) -> None:
    _, tenants, submissions, runner = world
    for n in range(10):
        submissions.create(press(n, f"press {n}"))
    tenant = tenants.get("acme")
    ticks = iter([0.0] + [100.0] * 100)
    source = "subject = 'x'\n"
    result = replay(
        lambda src, variables: runner.run(RulesRequest.draft("evaluate", "acme", src, variables)),
        tenant,
        source,
        None,
        submissions.list_recent("acme"),
        compiled=runner.run(RulesRequest.draft("validate", "acme", source, {})),
        clock=lambda: next(ticks),
    )
    assert result.truncated and result.not_run == len(result.presses) and not result.replayed
    assert result.ok  # nothing failed; the table lists each press as not_run


def test_replay_of_rules_with_a_syntax_error_or_too_long_is_refused_clearly(world: Any) -> None:
    service, *_ = world
    broken = service.replay_rules("acme", "if msg\n    pass\n")
    assert not broken.ok and not broken.compiles and broken.errors[0]["line"] == 1 and broken.presses == []
    with pytest.raises(Invalid) as info:
        service.replay_rules("acme", "x = 1\n" * 20_000)
    assert "too long" in info.value.message
