"""On a terminal, every `helpdesk` command that changes something asks first, and "n" changes nothing.

The commands come from the parser (tests/unit/admin/test_cli_confirmation.py enumerates them and checks the help
and the refusal without a terminal); here each one runs against the devstack with real arguments and a terminal
that answers "n".
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.unit.admin.test_cli_confirmation import CHANGING

pytestmark = pytest.mark.e2e
HELPDESK = [sys.executable, "-m", "helpdesk_cli.main"]


def run(argv: list[str], stack_file: Path, *, answer: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with a terminal on stdin that answers `answer` (or no terminal at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))}
    argv = [*HELPDESK, *argv, "--stack-file", str(stack_file)]
    if answer is None:
        return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, stdin=subprocess.DEVNULL)
    master, slave = pty.openpty()
    try:
        os.write(master, answer)
        return subprocess.run(argv, stdin=slave, capture_output=True, text=True, timeout=90, env=env)
    finally:
        os.close(master)
        os.close(slave)


def as_json(argv: list[str], stack_file: Path) -> Any:
    done = run([*argv, "--json"], stack_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_changing_command_asks_on_a_terminal_and_no_changes_nothing(devstack: Any, tmp_path: Path) -> None:
    stack_file = Path(devstack.write_state_file())
    tenant = "ask-" + uuid.uuid4().hex[:8]
    as_json(["tenants", "create", tenant, "--name", "Asked"], stack_file)
    key = as_json(["keys", "create", tenant, "--label", "ask"], stack_file)
    document = tmp_path / "settings.json"
    document.write_text(json.dumps({"format": "helpdesk-settings/1", "name": "Renamed"}))
    sqs = devstack.client("sqs")
    dlq = devstack.resources["DeadLetterQueue"]["Ref"]
    body = json.dumps({"kind": "submission", "tenant_id": tenant, "submission_id": "ask-dead-letter"})
    sqs.send_message(QueueUrl=dlq, MessageBody=body)
    arguments = {
        ("tenants", "reseal-secrets"): [],
        ("tenants", "disable"): [tenant],
        ("tenants", "enable"): [tenant],
        ("keys", "revoke"): [tenant, key["id"]],
        ("settings", "import"): [tenant, str(document)],
        ("dlq", "redrive"): [],
    }
    # every changing command of the parser is tried here: a new one needs its arguments above
    assert set(arguments) == set(CHANGING)
    before = as_json(["tenants", "show", tenant], stack_file)
    try:
        for words, args in arguments.items():
            done = run([*words, *args], stack_file, answer=b"n\n")
            where = " ".join(words)
            assert "[y/N]" in done.stderr, f"{where} did not ask: {done.stdout} {done.stderr}"
            assert done.returncode != 0, f"{where} went ahead after 'n'"
            assert "nothing" in (done.stdout + done.stderr), where
        after = as_json(["tenants", "show", tenant], stack_file)
        assert after == before  # still active, same name, same revision, the key still active
        assert as_json(["keys", "list", tenant], stack_file)[0]["revoked_at"] is None
        # and on "y" it acts: the asking did not stop the command from working
        assert "disabled" in run(["tenants", "disable", tenant], stack_file, answer=b"y\n").stdout
    finally:
        _remove_dead_letter(sqs, dlq, body)


def _remove_dead_letter(sqs: Any, dlq: str, body: str) -> None:
    for _ in range(10):  # bounded: the queue may hold other tests' letters
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return
        for m in messages:
            if m["Body"] == body:
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
                return
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
