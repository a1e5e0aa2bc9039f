"""The `helpdesk` ops CLI as an operator runs it (a subprocess), against the devstack via .devstack/stack.json.

The subprocess gets no AWS variables at all: everything (endpoints, region, table names, queue URLs) comes from
the stack file, which is what `make run` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e
HELPDESK = [sys.executable, "-m", "helpdesk_cli.main"]


@pytest.fixture(scope="module")
def stack_file(devstack: Any) -> Path:
    return Path(devstack.write_state_file())


@pytest.fixture(scope="module")
def seeded(devstack: Any) -> dict[str, str]:
    from devstack.seed import seed_demo

    return seed_demo(devstack)


def cli(stack_file: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))}
    clean |= env or {}
    done = subprocess.run(
        [*HELPDESK, *args, "--stack-file", str(stack_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean,
        cwd="/",
    )
    if check:
        assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def cli_json(stack_file: Path, *args: str, **kw: Any) -> Any:
    return json.loads(cli(stack_file, *args, "--json", **kw).stdout)


def press(devstack: Any, seeded: dict[str, str], prefix: str, msg: str, **extra: str) -> str:
    """A press of the demo tenant's button over HTTP; its submission id."""
    submission_id = prefix + uuid.uuid4().hex[:10]
    body = {
        "submission_id": submission_id,
        "contact": {"name": "Alice", "email": "alice@contoso.com"},
        "machine": {"hostname": "PC-042"},
        "msg": msg,
        **extra,
    }
    answer = requests.post(
        f"{devstack.api_url}/v1/tickets",
        headers={"Authorization": f"Bearer {seeded['button_key']}"},
        json=body,
        timeout=60,
    )
    assert answer.status_code == 202, answer.text
    return submission_id


def new_id() -> str:
    return "cli-" + uuid.uuid4().hex[:8]


def test_tenants_create_list_show_disable_enable(devstack: Any, stack_file: Path) -> None:
    tenant = new_id()
    created = cli_json(stack_file, "tenants", "create", tenant, "--name", "CLI Test MSP")
    assert created["admin_token"].startswith("hba_")
    # the admin token works against the admin API
    me = requests.get(
        f"{devstack.api_url}/v1/admin/me", headers={"Authorization": f"Bearer {created['admin_token']}"}, timeout=60
    )
    assert me.status_code == 200 and me.json()["tenant_id"] == tenant
    assert tenant in [t["tenant_id"] for t in cli_json(stack_file, "tenants", "list")]
    assert cli_json(stack_file, "tenants", "show", tenant)["name"] == "CLI Test MSP"
    human = cli(stack_file, "tenants", "show", tenant).stdout
    assert "CLI Test MSP" in human and "not set" in human
    # changing commands ask first; without a terminal to ask on, they refuse unless --yes, and change nothing
    unasked = cli(stack_file, "tenants", "disable", tenant, check=False)
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    assert cli_json(stack_file, "tenants", "show", tenant)["status"] == "active"
    assert cli_json(stack_file, "tenants", "disable", tenant, "--yes")["status"] == "disabled"
    refused = requests.get(
        f"{devstack.api_url}/v1/admin/me", headers={"Authorization": f"Bearer {created['admin_token']}"}, timeout=60
    )
    assert refused.status_code == 403
    assert cli_json(stack_file, "tenants", "enable", tenant, "-y")["status"] == "active"


def test_tenants_create_twice_and_bad_ids_fail_clearly(stack_file: Path) -> None:
    tenant = new_id()
    cli(stack_file, "tenants", "create", tenant, "--name", "Once")
    again = cli(stack_file, "tenants", "create", tenant, "--name", "Twice", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = cli(stack_file, "tenants", "create", "Bad_ID!", "--name", "x", check=False)
    assert bad.returncode == 2 and "tenant ids" in bad.stderr
    missing = cli(stack_file, "tenants", "show", "no-such-tenant", check=False)
    assert missing.returncode == 1 and "no tenant" in missing.stderr
    assert "Traceback" not in again.stderr + bad.stderr + missing.stderr


def test_keys_create_list_revoke(devstack: Any, stack_file: Path) -> None:
    tenant = new_id()
    cli(stack_file, "tenants", "create", tenant, "--name", "Keys", "--no-admin-token")
    key = cli_json(stack_file, "keys", "create", tenant, "--label", "front desk")
    assert key["token"].startswith("hbk_")
    listed = cli_json(stack_file, "keys", "list", tenant)
    assert [(k["id"], k["label"]) for k in listed] == [(key["id"], "front desk")]
    assert key["token"] not in json.dumps(listed)
    unasked = cli(stack_file, "keys", "revoke", tenant, key["id"], check=False)
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    assert cli_json(stack_file, "keys", "list", tenant)[0]["revoked_at"] is None
    assert cli_json(stack_file, "keys", "revoke", tenant, key["id"], "--yes")["revoked"] is True
    assert cli_json(stack_file, "keys", "list", tenant)[0]["revoked_at"] is not None
    # a revoked key is refused by the intake API
    refused = requests.get(
        f"{devstack.api_url}/v1/notifications", headers={"Authorization": f"Bearer {key['token']}"}, timeout=60
    )
    assert refused.status_code == 401
    other = cli(stack_file, "keys", "revoke", tenant, "button_doesnotexist", "--yes", check=False)
    assert other.returncode == 1 and "has no button key" in other.stderr
    admin = cli_json(stack_file, "keys", "create", tenant, "--kind", "admin")
    assert admin["token"].startswith("hba_")


def test_settings_export_has_no_secret_and_import_applies_it(
    devstack: Any, stack_file: Path, seeded: dict[str, str], tmp_path: Path
) -> None:
    from devstack.autotask_sim import DEMO

    exported = tmp_path / "demo.json"
    cli(stack_file, "settings", "export", "demo", "-o", str(exported))
    text = exported.read_text()
    assert DEMO.secret not in text and DEMO.api_key not in text
    assert "ciphertext" not in text and "hba_" not in text and "hbc_" not in text
    document = json.loads(text)
    assert document["autotask"]["api_key_mask"].startswith("****")
    assert "Tier 1 Support" in document["rules"]["source"]
    # import into a new tenant, the key from the environment
    tenant = new_id()
    result = cli_json(
        stack_file,
        "settings",
        "import",
        tenant,
        str(exported),
        "--create",
        "--api-key-env",
        "DEMO_KEY",
        "--yes",
        env={"DEMO_KEY": DEMO.api_key},
    )
    assert result["rules_version"] == 1
    shown = cli_json(stack_file, "tenants", "show", tenant)
    assert shown["autotask"]["api_key_set"] is True
    assert shown["defaults"] == document["defaults"]
    assert DEMO.secret not in json.dumps(shown)


def test_settings_import_refuses_bad_documents_and_changes_nothing(stack_file: Path, tmp_path: Path) -> None:
    tenant = new_id()
    cli(stack_file, "tenants", "create", tenant, "--name", "Import")
    before = cli_json(stack_file, "tenants", "show", tenant)
    bad_rules = tmp_path / "bad.json"
    bad_rules.write_text(json.dumps({"format": "helpdesk-settings/1", "name": "X", "rules": {"source": "if x\n"}}))
    answer = cli(stack_file, "settings", "import", tenant, str(bad_rules), "--yes", check=False)
    assert answer.returncode == 2 and "line 1" in answer.stderr
    bad_host = tmp_path / "host.json"
    bad_host.write_text(json.dumps({"format": "helpdesk-settings/1", "autotask": {"host": "evil.example.com"}}))
    answer = cli(stack_file, "settings", "import", tenant, str(bad_host), "--yes", check=False)
    assert answer.returncode == 2 and "autotask.host" in answer.stderr
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    assert cli(stack_file, "settings", "import", tenant, str(not_json), "--yes", check=False).returncode == 2
    assert cli_json(stack_file, "tenants", "show", tenant) == before


def test_dlq_show_and_redrive_with_a_progress_bar(devstack: Any, stack_file: Path) -> None:
    sqs = devstack.client("sqs")
    dlq = devstack.resources["DeadLetterQueue"]["Ref"]
    tenant = new_id()
    sent = {
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"kind": "submission", "tenant_id": tenant, "submission_id": f"dead-{i}"}),
        )["MessageId"]
        for i in range(3)
    }
    shown = cli_json(stack_file, "dlq", "show", "--limit", "200")
    ours = [m for m in shown["messages"] if m["tenant_id"] == tenant]
    assert {m["message_id"] for m in ours} == sent
    assert {m["subject"] for m in ours} == {"dead-0", "dead-1", "dead-2"}
    # peeking removed nothing
    assert cli_json(stack_file, "dlq", "show", "--limit", "200")["approximate_total"] >= 3
    human = cli(stack_file, "dlq", "show", "--limit", "200").stdout
    assert "dead-1" in human
    refused = cli(stack_file, "dlq", "redrive", check=False)  # no TTY, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    moved = cli(stack_file, "dlq", "redrive", "--yes")
    assert "moved" in moved.stdout
    assert "[" in moved.stderr and "#" in moved.stderr  # the progress bar
    assert int(moved.stdout.split()[1]) >= 3


def test_submissions_show_finds_a_submission_and_its_timeline(
    devstack: Any, stack_file: Path, seeded: dict[str, str]
) -> None:
    submission_id = press(devstack, seeded, "cli-show-", "The printer is jammed")
    shown = cli_json(stack_file, "submissions", "show", submission_id)
    assert shown["tenant_id"] == "demo" and shown["submission_id"] == submission_id
    assert shown["timeline"]
    assert "receipt_hashes" not in shown
    human = cli(stack_file, "submissions", "show", submission_id, "--tenant", "demo").stdout
    assert "The printer is jammed" in human or "PC-042" in human
    # as docs/operations.md writes it: the tenant, then the submission
    assert cli(stack_file, "submissions", "show", "demo", submission_id).stdout == human
    missing = cli(stack_file, "submissions", "show", "nope-nope-nope", check=False)
    assert missing.returncode == 1 and "no submission" in missing.stderr


def test_submissions_list_shows_each_press_outcome_with_filters_and_search(
    devstack: Any, stack_file: Path, seeded: dict[str, str]
) -> None:
    from tests.e2e.agent_calls import submit, wait_final

    # Given a press that became a ticket, from a machine no other test uses
    host = "CLI-LIST-" + uuid.uuid4().hex[:8].upper()
    submission_id = "cli-list-" + uuid.uuid4().hex[:10]
    target = {"api": devstack.api_url, "key": seeded["button_key"]}
    accepted = submit(
        target,
        {
            "submission_id": submission_id,
            "contact": {"name": "Alice", "email": "alice@contoso.com"},
            "machine": {"hostname": host},
            "msg": "The scanner is offline",
        },
    )
    view = wait_final(target, submission_id, accepted["receipt"], timeout_s=90)
    assert view["status"] == "created", view
    # When the operator lists the tenant's presses searching for that machine
    page = cli_json(stack_file, "submissions", "list", "--tenant", "demo", "--search", host.lower())
    # Then it is there with its outcome and ticket number, and a filter on another outcome hides it
    assert [(p["id"], p["outcome"], p["ticket_number"]) for p in page["items"]] == [
        (submission_id, "created", view["ticket_number"])
    ]
    hidden = cli_json(stack_file, "submissions", "list", "--tenant", "demo", "--search", host, "--outcome", "failed")
    assert hidden["items"] == []
    human = cli(stack_file, "submissions", "list", "--tenant", "demo", "--search", host).stdout
    assert "OUTCOME" in human and "created" in human and view["ticket_number"] in human and host in human
    # And a misspelt outcome or a bad cursor is refused clearly (exit 2)
    bad = cli(stack_file, "submissions", "list", "--tenant", "demo", "--outcome", "lost", check=False)
    assert bad.returncode == 2 and "Unknown outcome 'lost'" in bad.stderr
    bad = cli(stack_file, "submissions", "list", "--tenant", "demo", "--cursor", "xyz", check=False)
    assert bad.returncode == 2 and "cursor is not valid" in bad.stderr


def test_the_demo_seed_gives_a_working_admin_token_and_button_key(devstack: Any, seeded: dict[str, str]) -> None:
    assert seeded["admin_url"].endswith("/admin")
    settings = requests.get(
        f"{devstack.api_url}/v1/admin/settings",
        headers={"Authorization": f"Bearer {seeded['admin_token']}"},
        timeout=60,
    ).json()
    assert settings["autotask"]["configured"] is True and settings["rules_version"] >= 1
    assert seeded["callout_url"].startswith(devstack.api_url)
    assert seeded["button_key"] in seeded["agent"] and seeded["admin_token"] in seeded["curl"]


def test_the_cli_without_any_stack_says_how_to_point_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))}
    done = subprocess.run(
        [*HELPDESK, "tenants", "list"], capture_output=True, text=True, timeout=60, env=env, cwd=str(tmp_path)
    )
    assert done.returncode == 1
    assert "--stack-name" in done.stderr and "Traceback" not in done.stderr


def test_text_written_by_others_cannot_drive_the_operators_terminal(
    devstack: Any, stack_file: Path, seeded: dict[str, str]
) -> None:
    # Given a press whose text carries terminal escape sequences (clear screen, set the window title, colours)
    hostile = "\x1b]0;owned\x07\x1b[2J\x1b[31mThe printer\u202e is jammed\x1b[0m"
    submission_id = press(devstack, seeded, "cli-esc-", hostile, subject=hostile)
    # When the operator looks at it, Then the text is there without a single control character
    human = cli(stack_file, "submissions", "show", "demo", submission_id).stdout
    assert "The printer is jammed" in human
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in human), repr(human)
    assert "\u202e" not in human
