"""The settings page in headless Chromium against the devstack: sign in, save settings, run the Integration Test
against the Autotask simulator, save rules with a syntax error and see it at its line."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import shot, shot_of

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

BROKEN_RULES = """\
if 'This is an emergency' in selections:
    priority = 'Critical'
if priority == 'Critical'
    subject = '**EMERGENCY** ' + subject
"""


def sign_in(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["admin_url"])
    page.get_by_label("Admin token", exact=True).fill(demo["admin_token"])
    page.get_by_role("button", name="Sign in").click()
    page.locator("#app").wait_for(state="visible")


def api(devstack: Any, demo: dict[str, str], path: str) -> Any:
    answer = requests.get(
        f"{devstack.api_url}/v1/admin{path}", headers={"Authorization": f"Bearer {demo['admin_token']}"}, timeout=60
    )
    answer.raise_for_status()
    return answer.json()


def test_a_wrong_token_is_refused_with_a_message(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["admin_url"])
    shot(page, "01-sign-in")
    page.get_by_label("Admin token", exact=True).fill("hba_wrong")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator("#signin-status")
    alert.filter(has_text="not valid").wait_for()
    assert page.locator("#app").is_hidden()


def test_sign_in_and_save_connection_and_defaults(page: Any, devstack: Any, demo: dict[str, str]) -> None:
    # Given the demo admin signs in
    sign_in(page, demo)
    assert "Demo MSP" in page.locator("#tenant-name").inner_text()
    # Then the connection shows the host and only a mask for the key
    assert page.get_by_label("API endpoint").input_value() == devstack.autotask_sim.host
    assert page.get_by_label("API key").input_value() == ""
    assert "****" in (page.get_by_label("API key").get_attribute("placeholder") or "")
    # When they change the unregistered contact e-mail to an invalid one, the field shows the error
    email = page.get_by_label("Unregistered contact e-mail")
    email.fill("not-an-email")
    page.locator("#save-connection").click()
    page.locator("#unregistered_email-error").filter(has_text="valid e-mail").wait_for()
    assert email.get_attribute("aria-invalid") == "true"
    # And a valid one saves
    email.fill("unregistered@helpdeskbuttons.com")
    page.locator("#save-connection").click()
    page.locator("#connection-status").filter(has_text="Saved").wait_for()
    # When the picklists have loaded, they pick a priority from the dropdown and save the defaults
    page.locator("#picklists-status").filter(has_text="Options loaded").wait_for()
    priorities = page.locator("#default-priority option").all_inner_texts()
    assert {"Critical", "High", "Medium", "Low"} <= set(priorities)
    page.get_by_label("Priority", exact=True).select_option("High")
    page.get_by_label("Queue", exact=True).select_option("Tier 1 Support")
    page.locator("#save-defaults").click()
    page.locator("#defaults-status").filter(has_text="Saved").wait_for()
    shot(page, "02-settings-saved")
    # Then the API has them
    defaults = api(devstack, demo, "/settings")["defaults"]
    assert (defaults["priority"], defaults["queue"]) == ("High", "Tier 1 Support")


def test_integration_test_against_the_simulator(page: Any, demo: dict[str, str]) -> None:
    sign_in(page, demo)
    page.get_by_role("button", name="Run Integration Test").click()
    page.locator("#test-status").filter(has_text="passed").wait_for()
    rows = page.locator("#test-results li")
    statuses = rows.evaluate_all("els => els.map(e => [e.dataset.check, e.dataset.status])")
    assert statuses and all(status == "pass" for _, status in statuses), statuses
    checks = {check for check, _ in statuses}
    assert {"zone", "authentication", "perm_tickets_create", "contact", "rules"} <= checks
    page.locator("#test").scroll_into_view_if_needed()
    shot(page, "03-integration-test")
    shot_of(page, "#test", "03b-integration-test-section")


def test_rules_with_a_syntax_error_show_it_at_its_line_and_are_not_saved(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    sign_in(page, demo)
    before = api(devstack, demo, "/rules")["version"]
    editor = page.get_by_label("Dispatcher Rules code")
    editor.fill(BROKEN_RULES)
    page.locator("#save-rules").click()
    problem = page.locator("#rules-problems li").first
    problem.wait_for()
    assert "Line 3" in problem.inner_text()
    assert page.locator('#gutter span.bad[data-line="3"]').count() == 1
    assert "Not saved" in page.locator("#rules-status").inner_text()
    page.locator("#rules").scroll_into_view_if_needed()
    shot(page, "04-rules-syntax-error")
    shot_of(page, "#rules", "04b-rules-syntax-error-section")
    assert api(devstack, demo, "/rules")["version"] == before
    # When the error is fixed, Test shows what changed, and Save stores a new version
    editor.fill(BROKEN_RULES.replace("'Critical'\n    subject", "'Critical':\n    subject"))
    page.locator("#test-rules").click()
    page.locator("#rules-status").filter(has_text="Test ran").wait_for()
    changed = page.locator("#rules-vars tr.changed").all_inner_texts()
    assert any("priority" in row and "Critical" in row for row in changed), changed
    page.locator("#save-rules").click()
    page.locator("#rules-status").filter(has_text="Saved as version").wait_for()
    assert api(devstack, demo, "/rules")["version"] == before + 1
    assert page.locator("#gutter span.bad").count() == 0
    shot(page, "05-rules-saved")
    # And another section saves right after on the same page, without a false "changed by someone else"
    page.locator("#save-defaults").click()
    page.locator("#defaults-status").filter(has_text="Saved").wait_for()
    assert "someone else" not in page.locator("#defaults-status").inner_text()


def test_button_key_is_shown_once_and_callout_url_is_displayed(page: Any, demo: dict[str, str]) -> None:
    sign_in(page, demo)
    expect(page.locator("#callout-url")).to_have_value(re.compile(r"/v1/callouts/hbc_"))
    page.locator("#key-label").fill("Browser test")
    page.get_by_role("button", name="Create key").click()
    page.locator("#new-key").wait_for(state="visible")
    token = page.locator("#new-key-value").input_value()
    assert token.startswith("hbk_")
    row = page.locator("#keys-list tr", has_text="Browser test")
    row.wait_for()
    assert token not in page.locator("#keys-list").inner_text()
    shot(page, "06-keys")


def test_an_admin_can_create_an_admin_token_and_sign_in_with_it(page: Any, demo: dict[str, str]) -> None:
    sign_in(page, demo)
    page.locator("#admin-token-label").fill("Second admin")
    page.get_by_role("button", name="Create admin token").click()
    page.locator("#new-admin-token").wait_for(state="visible")
    token = page.locator("#new-admin-token-value").input_value()
    assert token.startswith("hba_")
    page.locator("#admin-tokens-list tr", has_text="Second admin").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Admin token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#app").wait_for(state="visible")
    assert page.locator("#new-admin-token").is_hidden()  # signing out took the secret off the screen
    assert page.locator("#new-admin-token-value").input_value() == ""
    shot_of(page, "#keys", "07-keys-and-admin-tokens")


def test_the_admin_chooses_what_a_press_gets_when_the_rules_fail(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    sign_in(page, demo)
    choice = page.get_by_label("When the rules fail")
    assert choice.input_value() == "create"  # the default: the ticket is still created
    choice.select_option("block")
    page.locator("#save-rules-on-error").click()
    page.locator("#rules-on-error-status").filter(has_text="Saved").wait_for()
    assert api(devstack, demo, "/settings")["rules_on_error"] == "block"
    shot_of(page, "#rules-on-error-form", "06-rules-on-error")
    choice.select_option("create")
    page.locator("#save-rules-on-error").click()
    page.locator("#rules-on-error-status").filter(has_text="Saved").wait_for()
    assert api(devstack, demo, "/settings")["rules_on_error"] == "create"


def test_notification_templates_show_a_preview_and_warn_of_unknown_keywords_before_saving(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    sign_in(page, demo)
    before = api(devstack, demo, "/settings")["notifications"]["templates"]
    template = page.locator("#template-created")
    # When the admin types a template with a misspelt keyword
    template.fill("Ticket __ticket_numbr__ was created for __ticket_fname__")
    # Then, before saving, the warning names it and the preview shows sample values for the real keywords
    warning = page.locator("#preview-warning-created")
    warning.filter(has_text="__ticket_numbr__").wait_for()
    assert "Unknown keyword" in warning.inner_text()
    assert "for Alice" in page.locator("#preview-created").inner_text()
    # And saving asks first; declining saves nothing
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#save-notifications").click()
    page.locator("#notifications-status").filter(has_text="Not saved").wait_for()
    assert api(devstack, demo, "/settings")["notifications"]["templates"] == before
    # When it is fixed, the warning goes and the preview shows the sample ticket number
    template.fill("Ticket __ticket_number__ was created for __ticket_fname__")
    expect(warning).to_be_hidden()
    assert page.locator("#preview-created").inner_text() == "Preview: Ticket T20261126.0042 was created for Alice"


def test_the_page_fits_a_390_px_phone_screen_without_sideways_scrolling(page: Any, demo: dict[str, str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo)
    page.locator("#picklists-status").filter(has_text="Options loaded").wait_for()
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('#app *')]
              .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 391; })
              .filter((e) => !e.closest('table, .editor, dialog'))
              .slice(0, 10).map((e) => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert too_wide == [], too_wide
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "10-phone-390px")
