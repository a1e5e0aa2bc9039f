"""Ops CLI plumbing: where resource names come from, the progress bar, the parser."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk_cli.common import CliError, Progress, resolve, resource_options
from helpdesk_cli.main import build_parser


def parse(*argv: str) -> argparse.Namespace:
    return resource_options().parse_args(list(argv))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """resolve() may set AWS_* / AUTOTASK_* in os.environ (as the CLI should): restore it all afterwards."""
    import os

    saved = dict(os.environ)
    for var in (
        "HELPDESK_TENANTS_TABLE",
        "HELPDESK_STACK_FILE",
        "HELPDESK_STACK_NAME",
        "AWS_ENDPOINT_URL",
        "AUTOTASK_HOST_PATTERN",
        "HELPDESK_DLQ_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)
    from helpdesk import aws

    aws.client.cache_clear()
    aws.table.cache_clear()


def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(
        json.dumps(
            {
                "outputs": {"TenantsTableName": "from-file", "DeadLetterQueueUrl": "http://dlq"},
                "env": {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_DEFAULT_REGION": "us-east-1"},
                "autotask_url": "http://127.0.0.1:3002",
            }
        )
    )
    return path


def test_flags_beat_env_beat_stack_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = stack_file(tmp_path)
    assert resolve(parse("--stack-file", str(path))).tenants_table == "from-file"
    monkeypatch.setenv("HELPDESK_TENANTS_TABLE", "from-env")
    assert resolve(parse("--stack-file", str(path))).tenants_table == "from-env"
    assert resolve(parse("--stack-file", str(path), "--tenants-table", "from-flag")).tenants_table == "from-flag"


def test_the_devstack_file_points_boto3_and_the_autotask_host_check_at_the_devstack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = stack_file(tmp_path)
    monkeypatch.setenv("HELPDESK_STACK_FILE", str(path))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    resources = resolve(parse())
    assert resources.dead_letter_queue_url == "http://dlq"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    from helpdesk.autotask.config import AutotaskSettings

    assert AutotaskSettings.from_env().host_allowed("127.0.0.1:3002")


def test_a_stack_file_is_found_in_a_parent_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".devstack").mkdir()
    (tmp_path / ".devstack" / "stack.json").write_text(json.dumps({"outputs": {"TenantsTableName": "found"}}))
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert resolve(parse()).tenants_table == "found"


def test_a_missing_resource_explains_every_way_to_name_it() -> None:
    with pytest.raises(CliError) as info:
        resolve(parse()).need("tenants_table")
    message = str(info.value)
    assert "--tenants-table" in message and "HELPDESK_TENANTS_TABLE" in message and "--stack-name" in message


def test_progress_bar_draws_to_stderr_and_never_overflows() -> None:
    out = io.StringIO()
    bar = Progress(4, "moved", out=out, width=8)
    bar.advance(2)
    bar.advance(3)  # more than expected: the total grows
    bar.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "[####....] 2/4 moved"
    assert lines[-1] == "[########] 5/5 moved"


def test_every_ops_command_is_registered() -> None:
    parser = build_parser()
    for argv in (
        ["tenants", "list"],
        ["keys", "create", "t"],
        ["settings", "export", "t"],
        ["dlq", "show"],
        ["dlq", "redrive", "--yes"],
        ["submissions", "show", "s"],
        ["tenants", "disable", "t"],
    ):
        assert callable(parser.parse_args(argv).func)


def test_stack_outputs_name_the_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "TenantsTableName": {"Value": "prod-TenantsTable-ABC"},
            "DeadLetterQueueUrl": {"Value": "https://sqs.us-east-1.amazonaws.com/123/prod-dlq"},
        },
    }
    with mock_aws():
        boto3.client("cloudformation").create_stack(StackName="helpdesk-prod", TemplateBody=json.dumps(template))
        resources = resolve(parse("--stack-name", "helpdesk-prod"))
        assert resources.tenants_table == "prod-TenantsTable-ABC"
        assert resources.dead_letter_queue_url.endswith("prod-dlq")  # type: ignore[union-attr]
        assert resources.source == "stack helpdesk-prod"
        with pytest.raises(CliError, match="cannot read stack"):
            resolve(parse("--stack-name", "no-such-stack"))


def test_a_redriven_message_keeps_its_tenant_as_message_group() -> None:
    from helpdesk_cli.dlq import _entry

    body = '{"kind": "submission", "tenant_id": "acme", "submission_id": "s-1"}'
    assert _entry(0, {"Body": body, "Attributes": {"MessageGroupId": "acme"}})["MessageGroupId"] == "acme"
    assert _entry(1, {"Body": body})["MessageGroupId"] == "acme"  # sent before groups existed: read from the body
    assert "MessageGroupId" not in _entry(2, {"Body": "not json"})
