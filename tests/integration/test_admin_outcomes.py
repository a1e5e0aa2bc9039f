"""The admin API's rules replay and press outcomes through the admin handler, on moto (DynamoDB, SQS, KMS), with
the real rules engine in process and the submissions stored by the real repository."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.adapters.sqs import SqsWorkQueue
from helpdesk.admin import presses
from helpdesk.admin.service import AdminService
from helpdesk.domain.submission import Contact, Machine, Submission, SubmissionStatus, TicketProgress
from helpdesk.domain.tenant import CredentialKind, Tenant, TicketDefaults
from helpdesk_cli.rules_local import LocalRulesRunner
from tests.unit.admin.fakes import FakeGateway
from tests.unit.admin.harness import AdminClient, Answer, load_admin_function

RAISES_ON_LABELS = "if 'urgent' in msg:\n    priority = 'High'\nlevel = int(priority)\n"


@dataclass
class World:
    client: AdminClient
    tenants: DynamoTenantRepository
    submissions: DynamoSubmissionRepository
    env: dict[str, str]
    token_a: str
    token_b: str

    def call(self, method: str, path: str, token: str = "A", **kw: Any) -> Answer:
        return self.client.call(method, path, {"A": self.token_a, "B": self.token_b}.get(token, token), **kw)

    def press(self, tenant_id: str, n: int, msg: str, **changes: Any) -> Submission:
        sub = Submission(
            tenant_id=tenant_id,
            submission_id=f"press-{n:04d}-abcdef",
            contact=Contact(name="Jane Doe", email=f"jane{n}@contoso.com"),
            machine=Machine(hostname=f"PC-{n:03d}"),
            msg=msg,
            subject=msg[:40],
            fingerprint="f",
        )
        stored = self.submissions.create(sub)
        return self.submissions.save(stored.model_copy(update=changes)) if changes else stored


@pytest.fixture
def world(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "admin")
    handler, routes = load_admin_function()
    tenants = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    submissions = DynamoSubmissionRepository(aws_env["SUBMISSIONS_TABLE"])
    routes.use_service(
        AdminService(
            tenants=tenants,
            secrets=KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"]),
            rules=LocalRulesRunner(),
            autotask=FakeGateway(),
            submissions=submissions,
            work_queue=SqsWorkQueue(aws_env["WORK_QUEUE_URL"]),
        )
    )
    defaults = TicketDefaults(priority="Medium", queue="Tier 1 Support")
    tenants.create(Tenant(tenant_id="acme", name="Acme IT", defaults=defaults))
    tenants.create(Tenant(tenant_id="bravo", name="Bravo MSP", defaults=defaults))
    token_a = tenants.issue_credential("acme", CredentialKind.ADMIN_TOKEN, "owner").token
    token_b = tenants.issue_credential("bravo", CredentialKind.ADMIN_TOKEN, "owner").token
    yield World(AdminClient(handler), tenants, submissions, aws_env, token_a, token_b)
    routes.use_service(None)


# ---------------------------------------------------------------------- 14.2: rules replayed before they are saved
def test_replay_answers_per_press_what_would_change_and_stores_nothing(world: World) -> None:
    world.press("acme", 1, "The printer jams")
    world.press("bravo", 2, "bravo's printer")
    answer = world.call(
        "POST", "/v1/admin/rules/replay", body={"source": "if 'printer' in msg:\n    queue = 'Tier 2 Support'\n"}
    )
    assert answer.status == 200, answer.text
    replayed = answer.json
    assert replayed["ok"] and [p["submission_id"] for p in replayed["presses"]] == [
        "press-0001-abcdef",
        "sample-from-defaults",
    ]
    first = replayed["presses"][0]
    assert first["outcome"] == "changed"
    assert first["changes"] == {"queue": {"before": "Tier 1 Support", "after": "Tier 2 Support"}}
    assert first["email"] == "jane1@contoso.com" and first["hostname"] == "PC-001"
    assert world.tenants.list_rules_versions("acme") == []


def test_saving_rules_that_raise_on_a_press_needs_confirm_and_409_carries_the_replay(world: World) -> None:
    world.press("acme", 1, "urgent: the server is down")
    refused = world.call("POST", "/v1/admin/rules", body={"source": RAISES_ON_LABELS})
    assert refused.status == 409, refused.text
    body = refused.json
    assert body["error"] == "rules_fail_on_replay" and "line 3" in body["message"]
    assert body["replay"]["failed"] == 2 and body["replay"]["presses"][0]["error"]["line"] == 3
    assert world.tenants.get("acme").rules_version == 0  # nothing saved
    saved = world.call("POST", "/v1/admin/rules", body={"source": RAISES_ON_LABELS, "confirm": True})
    assert saved.status == 201, saved.text
    assert saved.json["version"] == 1 and saved.json["replay"] is None
    fine = world.call("POST", "/v1/admin/rules", body={"source": "priority = 'High'\n"})
    assert fine.status == 201 and fine.json["replay"]["ok"] and fine.json["replay"]["compared_with"] == 1


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"source": "x = 1\n" * 20_000}, 422, "source"),
        ({"source": "x = 1\n", "limit": 51}, 422, "limit"),
        ({"source": "x = 1\n", "confirm": True}, 422, "confirm"),
        ({"source": 5}, 422, "source"),
    ],
    ids=["too-long", "limit-over-50", "unknown-field", "not-text"],
)
def test_bad_replay_requests_get_a_clear_4xx(world: World, body: dict[str, Any], status: int, needle: str) -> None:
    answer = world.call("POST", "/v1/admin/rules/replay", body=body)
    assert answer.status == status, answer.text
    assert needle in answer.json["message"]


# ---------------------------------------------------------------------- 14.5: press outcomes
def long_ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture
def outcomes(world: World) -> dict[str, Submission]:
    """One press of each outcome for acme (oldest first), and one for bravo."""
    return {
        "created": world.press(
            "acme",
            1,
            "Printer jams",
            status=SubmissionStatus.CREATED,
            progress=TicketProgress(ticket_id=4711, ticket_number="T20261202.0001"),
            submission_errors=["priority 'Urgent' is not a valid priority in Autotask; used the default 'Medium'."],
            rules_errors=["line 6: ValueError: invalid literal for int() with base 10: 'Medium'"],
            attempts=1,
        ),
        "blocked": world.press(
            "acme", 2, "Kiosk", status=SubmissionStatus.BLOCKED, message="Kiosks cannot open tickets.", attempts=1
        ),
        "failed": world.press(
            "acme",
            3,
            "Mail down",
            status=SubmissionStatus.FAILED,
            message="Your request could not be turned into a ticket.",
            error="Autotask refused the ticket: companyID is required",
            attempts=1,
        ),
        "dead": world.press(
            "acme",
            4,
            "VPN down",
            status=SubmissionStatus.CREATING,
            attempts=8,
            error="AutotaskUnavailable: 503 Service Unavailable",
            dead_lettered_at=long_ago(5),
        ),
        "waiting": world.press("acme", 5, "Slow PC", status=SubmissionStatus.QUEUED),
        "bravo": world.press("bravo", 6, "bravo's press"),
    }


def test_presses_list_newest_first_with_their_outcome_and_why(world: World, outcomes: dict[str, Submission]) -> None:
    answer = world.call("GET", "/v1/admin/submissions")
    assert answer.status == 200, answer.text
    page = answer.json
    assert [p["outcome"] for p in page["items"]] == ["waiting", "dead_letter", "failed", "blocked", "created"]
    assert page["next_cursor"] is None and page["scanned"] == 5  # bravo's press is not even read
    created = page["items"][-1]
    assert created["ticket_number"] == "T20261202.0001" and created["ticket_id"] == 4711
    assert created["submission_errors"] == outcomes["created"].submission_errors
    assert created["rules_errors"] == outcomes["created"].rules_errors
    blocked, failed, dead = page["items"][3], page["items"][2], page["items"][1]
    assert blocked["blocked_text"] == "Kiosks cannot open tickets."
    assert failed["last_error"].startswith("Autotask refused") and failed["attempts"] == 1
    assert dead["attempts"] == 8 and dead["can_requeue"] and not failed["can_requeue"]


def test_presses_filter_by_outcome_and_search_email_or_hostname(world: World, outcomes: dict[str, Submission]) -> None:
    def ids(**query: str) -> list[str]:
        answer = world.call("GET", "/v1/admin/submissions", query=query)
        assert answer.status == 200, answer.text
        return [p["id"] for p in answer.json["items"]]

    assert ids(outcome="failed,blocked") == [outcomes["failed"].submission_id, outcomes["blocked"].submission_id]
    assert ids(outcome="dead_letter") == [outcomes["dead"].submission_id]
    assert ids(q="JANE3@contoso") == [outcomes["failed"].submission_id]
    assert ids(q="pc-002") == [outcomes["blocked"].submission_id]
    assert ids(q="pc-006") == []  # bravo's machine
    assert ids(q="pc-00", outcome="created") == [outcomes["created"].submission_id]


def test_presses_page_with_a_cursor_until_the_end(world: World, outcomes: dict[str, Submission]) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = world.call("GET", "/v1/admin/submissions", query=query).json
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [outcomes[k].submission_id for k in ("waiting", "dead", "failed", "blocked", "created")]
    # a cursor at the last press: an empty page, no further cursor
    past = presses.encode_cursor(world.submissions.page("acme", limit=100)[0][-1][0])
    end = world.call("GET", "/v1/admin/submissions", query={"cursor": past})
    assert end.status == 200 and end.json["items"] == [] and end.json["next_cursor"] is None


def test_a_search_reads_a_bounded_number_of_presses_and_says_where_to_go_on(
    world: World, outcomes: dict[str, Submission], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presses, "MAX_SCANNED", 2)
    first = world.call("GET", "/v1/admin/submissions", query={"outcome": "created"}).json
    assert first["items"] == [] and first["scanned"] == 2 and first["scan_limited"] and first["next_cursor"]
    found: list[str] = []
    cursor = first["next_cursor"]
    for _ in range(5):
        page = world.call("GET", "/v1/admin/submissions", query={"outcome": "created", "cursor": cursor}).json
        found += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert found == [outcomes["created"].submission_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "failed"}, "status"),
        ({"outcome": "lost"}, "outcome"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "!!"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"q": "x" * 101}, "q"),
    ],
    ids=["unknown-filter", "unknown-outcome", "foreign-cursor", "garbage-cursor", "limit-0", "limit-101", "long-q"],
)
def test_bad_filters_and_cursors_get_a_clear_4xx(
    world: World, outcomes: dict[str, Submission], query: dict[str, str], field: str
) -> None:
    answer = world.call("GET", "/v1/admin/submissions", query=query)
    assert answer.status == 422, answer.text
    assert answer.json["error"] == "validation_error" and field in json.dumps(answer.json)


def test_a_press_in_detail_and_never_another_tenants(world: World, outcomes: dict[str, Submission]) -> None:
    sid = outcomes["failed"].submission_id
    detail = world.call("GET", f"/v1/admin/submissions/{sid}")
    assert detail.status == 200, detail.text
    assert detail.json["msg"] == "Mail down" and detail.json["outcome"] == "failed"
    assert world.call("GET", f"/v1/admin/submissions/{outcomes['bravo'].submission_id}").status == 404
    assert world.call("GET", "/v1/admin/submissions/not..valid").status == 404
    assert world.call("GET", f"/v1/admin/submissions/{sid}", "B").status == 404


def test_requeue_sends_one_fresh_work_message_for_a_dead_lettered_press_only(
    world: World, outcomes: dict[str, Submission]
) -> None:
    import boto3

    sqs = boto3.client("sqs")
    dead = outcomes["dead"].submission_id
    answer = world.call("POST", f"/v1/admin/submissions/{dead}/requeue")
    assert answer.status == 200, answer.text
    assert answer.json["outcome"] == "waiting" and answer.json["requeues"] == 1 and not answer.json["can_requeue"]
    assert any("Re-queued by an admin (owner)" in e["text"] for e in answer.json["timeline"])
    got = sqs.receive_message(QueueUrl=world.env["WORK_QUEUE_URL"], MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in got] == [{"tenant_id": "acme", "kind": "submission", "submission_id": dead}]
    # a second click is refused (the first attempt is under way); so are final, busy, foreign and unknown presses
    again = world.call("POST", f"/v1/admin/submissions/{dead}/requeue")
    assert again.status == 409 and "less than a minute" in again.json["message"]
    for key in ("created", "failed", "blocked"):
        refused = world.call("POST", f"/v1/admin/submissions/{outcomes[key].submission_id}/requeue")
        assert refused.status == 409 and "already ended" in refused.json["message"]
    busy = world.call("POST", f"/v1/admin/submissions/{outcomes['waiting'].submission_id}/requeue")
    assert busy.status == 409 and "still being retried" in busy.json["message"]
    assert world.call("POST", f"/v1/admin/submissions/{dead}/requeue", "B").status == 404
    assert world.call("POST", "/v1/admin/submissions/nope-nope-nope/requeue").status == 404
    left = sqs.receive_message(QueueUrl=world.env["WORK_QUEUE_URL"], MaxNumberOfMessages=10).get("Messages", [])
    assert left == []


def test_summary_counts_the_last_day_per_outcome(world: World, outcomes: dict[str, Submission]) -> None:
    answer = world.call("GET", "/v1/admin/submissions/summary")
    assert answer.status == 200, answer.text
    counts = {k: answer.json[k] for k in ("total", "created", "blocked", "failed", "waiting", "dead_letter")}
    assert counts == {"total": 5, "created": 1, "blocked": 1, "failed": 1, "waiting": 1, "dead_letter": 1}
    assert answer.json["with_errors"] == 1 and not answer.json["truncated"]
    assert world.call("GET", "/v1/admin/submissions/summary", query={"hours": "0"}).status == 422
    assert world.call("GET", "/v1/admin/submissions/summary", query={"days": "1"}).status == 422
