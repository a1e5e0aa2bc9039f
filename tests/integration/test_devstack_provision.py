"""devstack.resources.provision: template.yaml's data resources created in moto exactly as declared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.resources import provision
from devstack.template import Template


@pytest.fixture
def provisioned(monkeypatch: pytest.MonkeyPatch) -> Iterator[Template]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield provision(overrides={"RetryBaseDelaySeconds": "0"})


def _client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def _props(t: Template, lid: str) -> dict[str, Any]:
    return dict(t.resolve(t.properties(lid)))


def test_tables_have_the_template_keys_indexes_and_ttl(provisioned: Template) -> None:
    ddb = _client("dynamodb")
    for lid in provisioned.of_type("AWS::DynamoDB::Table"):
        props, name = _props(provisioned, lid), provisioned.bound[lid]["Ref"]
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert table.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST") == props["BillingMode"]
        assert [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])] == [
            i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])
        ]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


def test_work_queue_redrives_to_the_dlq_with_the_template_settings(provisioned: Template) -> None:
    sqs = _client("sqs")
    props = _props(provisioned, "WorkQueue")
    attrs = sqs.get_queue_attributes(QueueUrl=provisioned.bound["WorkQueue"]["Ref"], AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == provisioned.bound["DeadLetterQueue"]["Arn"]
    assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
    assert attrs["VisibilityTimeout"] == str(props["VisibilityTimeout"])
    assert attrs["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])


def test_bucket_is_encrypted_private_and_expires_objects(provisioned: Template) -> None:
    s3, bucket = _client("s3"), provisioned.bound["AttachmentsBucket"]["Ref"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-attachments"]["Expiration"]["Days"] == 30
    assert rules["expire-unclaimed-uploads"]["Expiration"]["Days"] == 1


def test_bucket_accepts_writes_over_plain_http(provisioned: Template) -> None:
    # moto evaluates bucket policies; the template's "deny insecure transport" statement would refuse every
    # call on loopback HTTP, so the devstack leaves exactly that statement out.
    s3, bucket = _client("s3"), provisioned.bound["AttachmentsBucket"]["Ref"]
    s3.put_object(Bucket=bucket, Key="attachments/t1/x.png", Body=b"png")
    assert s3.get_object(Bucket=bucket, Key="attachments/t1/x.png")["Body"].read() == b"png"


def test_kms_key_rotates_and_has_its_alias(provisioned: Template) -> None:
    kms, key_id = _client("kms"), provisioned.bound["CredentialsKey"]["Ref"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases[provisioned.bound["CredentialsKeyAlias"]["Ref"]] == key_id


def test_function_environments_resolve_to_the_created_resources(provisioned: Template) -> None:
    env = provisioned.function("DispatcherFunction").environment
    assert env["TENANTS_TABLE"] == provisioned.bound["TenantsTable"]["Ref"]
    assert env["WORK_QUEUE_URL"] == provisioned.bound["WorkQueue"]["Ref"]
    assert env["CREDENTIALS_KEY_ID"] == provisioned.bound["CredentialsKey"]["Ref"]
    assert env["RULES_FUNCTION_NAME"] == provisioned.bound["RulesFunction"]["Ref"]
    assert env["RETRY_BASE_DELAY_SECONDS"] == "0"
