"""The settings page helps (issue 15, item 4): the connection status and the last Integration Test at the top (kept
across reloads), the page operated by keyboard alone with a visible focus, an API-key placeholder that fits, and a
message in words next to every field the admin API can refuse."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import shot, shot_of
from tests.browser.test_settings_page import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RAISES_ON_LABELS = "level = int(priority)\n"  # compiles, fails on every press whose priority is a label
RAW_VALIDATOR_TEXT = (
    "Input should",
    "String should",
    "pydantic",
    "^",
    "JSON decode",
    "Unexpected token",
    "Value error",
)


def admin(devstack: Any, token: str, method: str, path: str, **kw: Any) -> Any:
    answer = requests.request(
        method, f"{devstack.api_url}/v1/admin{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw
    )
    answer.raise_for_status()
    return answer.json() if answer.content else None


def new_tenant(devstack: Any, name: str) -> str:
    """A second tenant (nothing configured), made with the ops CLI as an operator would; its admin token."""
    from devstack.seed import _stack_env, helpdesk

    tenant = "page-" + uuid.uuid4().hex[:8]
    with _stack_env(devstack, {}):
        created = helpdesk(
            "tenants", "create", tenant, "--name", name, "--tenants-table", devstack.resources["TenantsTable"]["Ref"]
        )
    return str(created["admin_token"])


def sign_in_as(page: Any, demo: dict[str, str], token: str) -> None:
    sign_in(page, {**demo, "admin_token": token})


# ------------------------------------------------------------------------------------------ status at the top
def test_the_top_of_the_page_shows_the_connection_and_the_last_integration_test_also_after_a_reload(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    sign_in(page, demo)
    status = page.locator("#status-bar")
    # When the admin runs the Integration Test
    page.get_by_role("button", name="Run Integration Test").click()
    page.locator("#test-status").filter(has_text="passed").wait_for()
    # Then the top of the page says the connection works and the test passed, with no problems
    host = devstack.autotask_sim.host
    status.locator("#connection-state").filter(has_text=f"connected to {host}").wait_for()
    assert "passed" in status.locator("#last-test").inner_text()
    assert "0 problems" in status.locator("#last-test").inner_text()
    # And after a reload (the result is kept by the API) it still does, at the top, before any section
    page.reload()
    page.locator("#app").wait_for(state="visible")
    status.locator("#last-test").filter(has_text="passed").wait_for()
    assert f"connected to {host}" in status.locator("#connection-state").inner_text()
    top = page.evaluate("document.querySelector('#status-bar').getBoundingClientRect().top")
    assert top < page.evaluate("document.querySelector('#connection').getBoundingClientRect().top")
    assert top < 200
    shot_of(page, "#status-bar", "20-status-connected")
    # And its link takes the admin to the Integration Test, ready to run it
    page.locator("#jump-to-test").click()
    assert page.evaluate("document.activeElement.id") == "run-test"


def test_a_new_tenant_sees_not_configured_and_then_credentials_rejected_with_the_problems(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    from devstack.autotask_sim import DEMO

    token = new_tenant(devstack, "Wrong password MSP")
    sign_in_as(page, demo, token)
    status = page.locator("#status-bar")
    assert "not configured" in status.locator("#connection-state").inner_text()
    assert "never run" in status.locator("#last-test").inner_text()
    # When the admin enters the connection with a wrong password and runs the test
    page.get_by_label("API endpoint").fill(devstack.autotask_sim.host)
    page.get_by_label("API key").fill(f"{DEMO.username}:not-the-password")
    page.get_by_label("API integration code").fill(DEMO.integration_code)
    page.locator("#save-connection").click()
    page.locator("#connection-status").filter(has_text="Saved").wait_for()
    assert "not checked yet" in status.locator("#connection-state").inner_text()
    page.get_by_role("button", name="Run Integration Test").click()
    page.locator("#test-status").filter(has_text="failed").wait_for()
    # Then the top says the credentials were rejected, that the test failed, how many problems and the first ones
    status.locator("#connection-state").filter(has_text="credentials rejected").wait_for()
    last = status.locator("#last-test").inner_text()
    assert "failed" in last and "problem" in last, last
    problems = status.locator("#last-test-problems li").all_inner_texts()
    assert problems and problems[0].startswith("Authentication: There was an error authenticating"), problems
    assert "not-the-password" not in page.locator("#app").inner_text()
    # And so it does after a reload
    page.reload()
    status.locator("#connection-state").filter(has_text="credentials rejected").wait_for()
    assert "failed" in status.locator("#last-test").inner_text()
    shot_of(page, "#status-bar", "21-status-rejected")


# ------------------------------------------------------------------------------------------ API-key placeholder
PLACEHOLDER_ROOM = """(id) => {
    const input = document.getElementById(id);
    const style = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return { text: input.placeholder, width: ctx.measureText(input.placeholder).width, room: room };
}"""


@pytest.mark.parametrize("width", [1280, 1024, 800, 390])
def test_the_saved_api_key_placeholder_is_not_cut_off(page: Any, demo: dict[str, str], width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, demo)
    field = page.evaluate(PLACEHOLDER_ROOM, "api_key")
    assert "****" in field["text"]
    assert field["width"] <= field["room"], field
    # What the placeholder cannot say fits on the line under the field
    assert "Leave the field empty to keep it" in page.locator("#api_key-saved").inner_text()


# ------------------------------------------------------------------------------------------ keyboard
FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1)
        || (style.boxShadow && style.boxShadow !== 'none');
    const label = e.id || e.getAttribute('aria-label') || (e.innerText || '').trim().slice(0, 30) || e.tagName;
    const at = [...document.querySelectorAll('*')].indexOf(e);  // tells apart rows' buttons of the same name
    return { key: e.tagName + '#' + e.id + ':' + label + '@' + at, id: e.id, ring: ring, inDialog: !!e.closest('dialog') };
}"""


def focused(page: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = page.evaluate(FOCUSED)
    return result


def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 400) -> list[dict[str, Any]]:
    """Press Tab (or Shift+Tab) until `selector` has focus; every stop is returned. Leaves the rules editor the
    documented way (Esc, then Tab). Fails if focus stays put (a trap) or `selector` is not reached."""
    key = "Shift+Tab" if backwards else "Tab"
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        before = focused(page)
        if before and before["id"] == "rules-source" and not backwards:
            page.keyboard.press("Escape")
        page.keyboard.press(key)
        now = focused(page)
        if now is not None:
            stops.append(now)
            assert before is None or now["key"] != before["key"], f"focus is stuck on {now['key']}"
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} not reached with {key} in {limit} presses; last stops: {stops[-5:]}")


def keyboard_sign_in(page: Any, demo: dict[str, str]) -> None:
    page.goto(demo["admin_url"])
    tab_to(page, "#token", limit=10)
    page.keyboard.type(demo["admin_token"])
    page.keyboard.press("Enter")
    page.locator("#app").wait_for(state="visible")
    page.locator("#picklists-status").filter(has_text="Options loaded").wait_for()


def test_tab_reaches_every_control_with_a_visible_focus_ring_and_leaves_the_rules_editor_by_esc_then_tab(
    page: Any, demo: dict[str, str]
) -> None:
    keyboard_sign_in(page, demo)
    # Every control from the top of the page to the last section shows where focus is
    stops = tab_to(page, "#presses-apply")
    reached = {s["id"] for s in stops}
    for control in ("jump-to-test", "save-connection", "save-defaults", "rules-source", "save-rules",
                    "save-notifications", "create-key", "run-test", "presses-apply"):  # fmt: skip
        assert control in reached, (control, sorted(reached))
    without_ring = [s["key"] for s in stops if not s["ring"]]
    assert without_ring == [], without_ring
    # In the rules editor Tab indents (the admin stays in the editor) ...
    tab_to(page, "#rules-source", backwards=True)
    before = page.locator("#rules-source").input_value()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "rules-source"  # type: ignore[index]
    assert page.locator("#rules-source").input_value() == "    " + before
    for _ in range(4):  # undo the indent
        page.keyboard.press("Backspace")
    assert page.locator("#rules-source").input_value() == before
    # ... and the page's help says how to leave it: Esc, then Tab
    assert "Esc, then Tab" in page.locator("#rules-keys").inner_text()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "validate-rules"  # type: ignore[index]


def test_each_section_is_saved_and_run_with_the_keyboard_alone(page: Any, devstack: Any, demo: dict[str, str]) -> None:
    keyboard_sign_in(page, demo)
    # Integration Test: the link at the top, then Space on the button it leads to
    tab_to(page, "#jump-to-test")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "run-test"  # type: ignore[index]
    page.keyboard.press("Space")
    page.locator("#test-status").filter(has_text="passed").wait_for()
    page.locator("#last-test").filter(has_text="passed").wait_for()
    # Connection: Enter in a field saves the section
    tab_to(page, "#unregistered_email", backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("unregistered@helpdeskbuttons.com")
    page.keyboard.press("Enter")
    page.locator("#connection-status").filter(has_text="Saved").wait_for()
    # Defaults: a dropdown picked by typing, saved with Space on its button
    tab_to(page, "#default-priority")
    page.keyboard.type("High")
    assert page.locator("#default-priority").input_value() == "High"
    tab_to(page, "#save-defaults")
    page.keyboard.press("Space")
    page.locator("#defaults-status").filter(has_text="Saved").wait_for()
    assert admin(devstack, demo["admin_token"], "GET", "/settings")["defaults"]["priority"] == "High"
    # Rules: Check with Enter after leaving the editor
    tab_to(page, "#validate-rules")
    page.keyboard.press("Enter")
    page.locator("#rules-status").filter(has_text="No syntax errors").wait_for()
    # Notifications: saved with Enter on its button
    tab_to(page, "#save-notifications")
    page.keyboard.press("Enter")
    page.locator("#notifications-status").filter(has_text="Saved").wait_for()
    # Keys: a label typed and Enter creates the key
    tab_to(page, "#key-label")
    page.keyboard.type("Keyboard key")
    page.keyboard.press("Enter")
    page.locator("#new-key").wait_for(state="visible")
    page.locator("#keys-list tr", has_text="Keyboard key").wait_for()
    shot(page, "22-keyboard-operated")


def test_the_rules_dialog_keeps_focus_inside_closes_on_escape_and_gives_focus_back(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    keyboard_sign_in(page, demo)
    before = admin(devstack, demo["admin_token"], "GET", "/rules")["version"]
    tab_to(page, "#rules-source")
    page.keyboard.press("Control+A")
    page.keyboard.type(RAISES_ON_LABELS)
    tab_to(page, "#save-rules")
    page.keyboard.press("Enter")
    # The rules fail on the replayed presses: a modal dialog asks, with focus on its safe choice
    dialog = page.locator("#replay-dialog")
    dialog.wait_for(state="visible")
    assert focused(page)["id"] == "replay-cancel"  # type: ignore[index]
    shot(page, "23-dialog-keyboard")
    # Tab and Shift+Tab never leave it
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        now = focused(page)
        assert now is not None and now["inDialog"] and now["ring"], (key, now)
    # Esc closes it, nothing is saved, and focus is back on Save
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # focus comes back once the save action has finished (its button is re-enabled first): wait for that, bounded
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function("document.activeElement && document.activeElement.id === 'save-rules'", timeout=10_000)
    assert focused(page)["id"] == "save-rules"  # type: ignore[index]
    assert "Not saved" in page.locator("#rules-status").inner_text()
    assert admin(devstack, demo["admin_token"], "GET", "/rules")["version"] == before


# ------------------------------------------------------------------------------------------ messages in words
def human(text: str) -> bool:
    return bool(text.strip()) and not any(raw in text for raw in RAW_VALIDATOR_TEXT)


SETTINGS_FIELDS = [
    # (case, input to type into, value, error slot, words the message has)
    ("host-not-autotask", "#host", "https://example.com/path", "#host-error", "Autotask web services host"),
    ("host-too-long", "#host", "h" * 301, "#host-error", "at most 300 characters"),
    ("api-key-without-colon", "#api_key", "user-without-colon", "#api_key-error", "username@domain:password"),
    ("api-key-without-password", "#api_key", "api@msp.com:", "#api_key-error", "password"),
    ("integration-code-with-spaces", "#integration_code", "ABC DEF", "#integration_code-error", "without spaces"),
    ("integration-code-too-long", "#integration_code", "C" * 101, "#integration_code-error", "at most 100"),
    ("email-invalid", "#unregistered_email", "not-an-email", "#unregistered_email-error", "valid e-mail"),
    ("email-too-long", "#unregistered_email", "a" * 250 + "@x.com", "#unregistered_email-error", "at most 254"),
    ("template-blank", "#template-created", "   ", "#template-created-error", "untick the event"),
]


@pytest.mark.parametrize(
    ("selector", "value", "slot", "words"), [case[1:] for case in SETTINGS_FIELDS], ids=[c[0] for c in SETTINGS_FIELDS]
)
def test_a_refused_setting_is_explained_in_words_next_to_its_field_and_nothing_is_saved(
    page: Any, devstack: Any, demo: dict[str, str], selector: str, value: str, slot: str, words: str
) -> None:
    sign_in(page, demo)
    before = admin(devstack, demo["admin_token"], "GET", "/settings")
    field = page.locator(selector)
    field.fill(value)
    form = field.locator("xpath=ancestor::form")
    form.locator("button[type=submit]").first.click()
    message = page.locator(slot)
    message.filter(has_text=words).wait_for()
    text = message.inner_text()
    assert human(text), text
    assert field.get_attribute("aria-invalid") == "true"
    assert slot.removeprefix("#") in (field.get_attribute("aria-describedby") or "")  # read out with the field
    status = form.locator(".status").first.inner_text()
    assert "Not saved" in status and human(status) and "autotask." not in status, status
    after = admin(devstack, demo["admin_token"], "GET", "/settings")
    assert after["revision"] == before["revision"]


@pytest.mark.parametrize(("kind", "selector"), [("key", "#key-label"), ("admin-token", "#admin-token-label")])
def test_a_label_that_is_too_long_is_explained_at_the_label_and_nothing_is_created(
    page: Any, devstack: Any, demo: dict[str, str], kind: str, selector: str
) -> None:
    sign_in(page, demo)
    path = "/keys" if kind == "key" else "/admin-tokens"
    before = len(admin(devstack, demo["admin_token"], "GET", path))
    # maxlength stops typing at 100 characters; a pasted or scripted value can still be longer
    page.locator(selector).evaluate("(e) => { e.removeAttribute('maxlength'); e.value = 'L'.repeat(101); }")
    page.locator(selector).press("Enter")
    message = page.locator(f"{selector}-error")
    message.filter(has_text="at most 100 characters").wait_for()
    assert human(message.inner_text()), message.inner_text()
    assert len(admin(devstack, demo["admin_token"], "GET", path)) == before


def test_rules_sample_inputs_and_oversized_rules_are_explained_in_words_next_to_them(
    page: Any, devstack: Any, demo: dict[str, str]
) -> None:
    sign_in(page, demo)
    before = admin(devstack, demo["admin_token"], "GET", "/rules")["version"]
    page.locator("#rules-test-panel summary").click()
    sample = page.locator("#rules-sample")
    slot = page.locator("#rules-sample-error")
    # Sample inputs that are not JSON: the line, in words (not the JSON parser's own text)
    sample.fill('{\n  "msg": "Printer down"\n  "selections": []\n}')  # a comma missing
    page.locator("#test-rules").click()
    slot.filter(has_text="not valid JSON").wait_for()
    assert "line 3" in slot.inner_text() and human(slot.inner_text()), slot.inner_text()
    # A variable the rules do not have: refused by the API, said at the sample inputs
    sample.fill('{"msg": "Printer down", "colour": "red"}')
    page.locator("#test-rules").click()
    slot.filter(has_text="colour").wait_for()
    assert human(slot.inner_text()), slot.inner_text()
    # Rules longer than the API takes: said at the editor, not saved
    page.locator("#rules-source").evaluate("(e) => { e.value = '# x\\n'.repeat(25001); }")
    page.locator("#save-rules").click()
    source_error = page.locator("#rules-source-error")
    source_error.filter(has_text="at most 100000 characters").wait_for()
    assert human(source_error.inner_text()), source_error.inner_text()
    assert "Not saved" in page.locator("#rules-status").inner_text()
    assert admin(devstack, demo["admin_token"], "GET", "/rules")["version"] == before
