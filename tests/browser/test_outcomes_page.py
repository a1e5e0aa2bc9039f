"""The settings page's outcome parts in headless Chromium against the devstack: the last 24 hours at the top, the
"Recent presses" table with filters, a press's details and re-queueing a dead-lettered press, and the rules replay
(a table; saving rules that fail on recent presses asks in a dialog first)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.browser.conftest import shot, shot_of
from tests.browser.test_settings_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RAISES_ON_LABELS = "level = int(priority)\n"


def admin_api(devstack: Any, demo: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    answer = requests.request(
        method,
        f"{devstack.api_url}/v1/admin{path}",
        headers={"Authorization": f"Bearer {demo['admin_token']}"},
        timeout=60,
        **kw,
    )
    return answer


def seed_presses(devstack: Any, host_prefix: str) -> dict[str, str]:
    """A failed and a dead-lettered press of the demo tenant, stored as the dispatcher leaves them."""
    from devstack.client_env import pointed_at
    from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
    from helpdesk.domain.submission import Contact, Machine, Submission, SubmissionStatus

    table = devstack.resources["SubmissionsTable"]["Ref"]
    ids: dict[str, str] = {}
    with pointed_at(devstack.env):
        repo = DynamoSubmissionRepository(table)
        for kind, changes in (
            (
                "failed",
                {
                    "status": SubmissionStatus.FAILED,
                    "message": "Your request could not be turned into a ticket.",
                    "error": "Autotask refused the ticket: companyID is required",
                    "attempts": 1,
                },
            ),
            (
                "dead",
                {
                    "status": SubmissionStatus.CREATING,
                    "attempts": 8,
                    "error": "TransientError: 503 Service Unavailable",
                    "dead_lettered_at": datetime.now(UTC) - timedelta(minutes=3),
                },
            ),
        ):
            sid = f"browser-{kind}-{uuid.uuid4().hex[:10]}"
            stored = repo.create(
                Submission(
                    tenant_id="demo",
                    submission_id=sid,
                    contact=Contact(name="Pat Browser", email="pat.browser@contoso.com"),
                    machine=Machine(hostname=f"{host_prefix}-{kind.upper()}"),
                    msg=f"The {kind} press from the browser test",
                    subject=f"The {kind} press",
                    fingerprint="f",
                )
            )
            repo.save(stored.model_copy(update=changes))
            ids[kind] = sid
    return ids


def test_the_day_summary_recent_presses_details_and_requeue(page: Any, devstack: Any, demo: dict[str, str]) -> None:
    host = "BRW-" + uuid.uuid4().hex[:6].upper()
    ids = seed_presses(devstack, host)
    sign_in(page, demo)
    # The top of the page counts the last 24 hours' problems
    summary = page.locator("#summary-text")
    summary.locator('[data-count="failed"]').wait_for()
    assert int(summary.locator('[data-count="failed"]').inner_text().split()[0]) >= 1
    assert int(summary.locator('[data-count="dead_letter"]').inner_text().split()[0]) >= 1
    shot_of(page, "#outcomes-summary", "20-outcomes-summary")
    # Recent presses: filter on dead letters and search the machine
    page.get_by_label("Outcome", exact=True).select_option("dead_letter")
    page.get_by_label("E-mail or machine").fill(host.lower())
    page.locator("#presses-apply").click()
    rows = page.locator("#presses-list tr[data-press]")
    page.locator(f'#presses-list tr[data-press="{ids["dead"]}"]').wait_for()
    assert rows.count() == 1, (
        [rows.nth(n).get_attribute("data-press") for n in range(rows.count())],
        admin_api(devstack, demo, "GET", f"/submissions?outcome=dead_letter&q={host.lower()}").json(),
    )
    assert rows.first.get_attribute("data-outcome") == "dead_letter"
    assert "503" in rows.first.inner_text()
    # The "Problems" filter shows the failed press with its reason too
    page.get_by_label("Outcome", exact=True).select_option("failed,blocked,dead_letter")
    page.locator("#presses-apply").click()
    page.locator(f'#presses-list tr[data-press="{ids["failed"]}"]').wait_for()
    failed_row = page.locator(f'#presses-list tr[data-press="{ids["failed"]}"]')
    assert "companyID is required" in failed_row.inner_text()
    page.locator("#presses").scroll_into_view_if_needed()
    shot_of(page, "#presses", "21-recent-presses")
    # Details of the dead-lettered press, and re-queue it
    page.locator(f'#presses-list tr[data-press="{ids["dead"]}"] button').click()
    detail = page.locator("#press-detail")
    detail.wait_for(state="visible")
    assert "The dead press from the browser test" in detail.inner_text()
    page.get_by_role("button", name="Re-queue this press").click()
    page.locator("#press-status").filter(has_text="Re-queued").wait_for()
    shot_of(page, "#presses", "22-press-requeued")
    after = admin_api(devstack, demo, "GET", f"/submissions/{ids['dead']}").json()
    assert after["requeues"] == 1 and after["outcome"] != "dead_letter"
    # And the dispatcher turns the re-queued press into its ticket (bounded wait)
    deadline = time.monotonic() + 150  # normally seconds; CI boxes are small and shared
    while after["outcome"] != "created" and time.monotonic() < deadline:
        time.sleep(0.5)
        after = admin_api(devstack, demo, "GET", f"/submissions/{ids['dead']}").json()
    assert after["outcome"] == "created" and after["ticket_number"], after
    # The failed press ended: its details offer no re-queue
    page.locator(f'#presses-list tr[data-press="{ids["failed"]}"] button').click()
    page.locator("#press-facts").filter(has_text="companyID is required").wait_for()
    assert page.locator("#press-requeue").is_hidden()


def test_a_slow_earlier_load_of_recent_presses_never_adds_its_rows_to_a_newer_one(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    host = "BRS-" + uuid.uuid4().hex[:6].upper()
    ids = seed_presses(devstack, host)
    held: list[Any] = []

    def hold_the_first_list_load(route: Any) -> None:
        if not held:
            held.append(route)  # the sign-in's unfiltered load answers last
        else:
            route.continue_()

    page.route(lambda url: "/v1/admin/submissions" in url and "/submissions/" not in url, hold_the_first_list_load)
    sign_in(page, demo)
    # When the admin filters before the first load has answered
    page.get_by_label("Outcome", exact=True).select_option("dead_letter")
    page.get_by_label("E-mail or machine").fill(host.lower())
    page.locator("#presses-apply").click()
    rows = page.locator("#presses-list tr[data-press]")
    page.locator(f'#presses-list tr[data-press="{ids["dead"]}"]').wait_for()
    # and the first, unfiltered answer arrives after it
    for _ in range(100):  # bounded: the held request is the sign-in's, made before Apply
        if held:
            break
        page.wait_for_timeout(50)
    with page.expect_response(lambda r: "/v1/admin/submissions" in r.url and "outcome=" not in r.url):
        held[0].continue_()
    page.wait_for_timeout(1000)  # let the page handle the stale answer
    # Then the table still shows the filtered press once, and nothing else
    assert rows.count() == 1, [rows.nth(n).get_attribute("data-press") for n in range(rows.count())]
    assert rows.first.get_attribute("data-press") == ids["dead"]
    page.unroute("**/*")


def test_rules_replay_table_and_the_dialog_before_saving_failing_rules(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    before = admin_api(devstack, demo, "GET", "/rules").json()
    sign_in(page, demo)
    page.locator("#rules-history tr").first.wait_for()  # the active rules are in the editor
    editor = page.get_by_label("Dispatcher Rules code")
    editor.fill(RAISES_ON_LABELS)
    # Replay shows one row per press, the failing ones with their line
    page.get_by_role("button", name="Replay on recent presses").click()
    view = page.locator("#rules-replay")
    view.locator('tr[data-outcome="error"]').first.wait_for()
    sample = view.locator('tr[data-press="sample-from-defaults"]')
    assert sample.get_attribute("data-outcome") == "error" and "Line 1" in sample.inner_text()
    assert "ValueError" in sample.inner_text()
    shot_of(page, "#rules", "23-rules-replay")
    try:
        # Save asks first; Cancel keeps the active rules
        page.locator("#save-rules").click()
        dialog = page.locator("#replay-dialog")
        dialog.wait_for(state="visible")
        assert "fail on" in page.locator("#replay-dialog-message").inner_text()
        assert dialog.locator('tr[data-outcome="error"]').count() >= 1
        shot(page, "24-rules-replay-dialog")
        page.get_by_role("button", name="Cancel: keep editing").click()
        dialog.wait_for(state="hidden")
        page.locator("#rules-status").filter(has_text="Not saved").wait_for()
        assert admin_api(devstack, demo, "GET", "/rules").json()["version"] == before["version"]
        # Save anyway stores them
        page.locator("#save-rules").click()
        dialog.wait_for(state="visible")
        page.get_by_role("button", name="Save anyway").click()
        page.locator("#rules-status").filter(has_text="Saved as version").wait_for()
        saved = admin_api(devstack, demo, "GET", "/rules").json()
        assert saved["version"] > before["version"] and saved["source"] == RAISES_ON_LABELS
    finally:
        restored = admin_api(
            devstack,
            demo,
            "POST",
            "/rules",
            json={"source": before.get("source") or "", "note": "browser test: restore", "confirm": True},
        )
        assert restored.status_code == 201, restored.text
