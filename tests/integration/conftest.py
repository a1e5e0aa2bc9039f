"""Integration fixtures: the template's data resources inside moto (in-process), and env for handlers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from samcli.yamlhelper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto in-process with every DynamoDB table, SQS queue, bucket and KMS key of template.yaml."""
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HelpdeskButtons")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "integration-test")
    from helpdesk import aws

    aws.client.cache_clear()
    aws.table.cache_clear()
    with mock_aws():
        names = _create_data_resources(yaml_parse(TEMPLATE.read_text())["Resources"])
        env = {
            "TENANTS_TABLE": names["TenantsTable"],
            "SUBMISSIONS_TABLE": names["SubmissionsTable"],
            "IDEMPOTENCY_TABLE": names["IdempotencyTable"],
            "WORK_QUEUE_URL": names["WorkQueue"],
            "DEAD_LETTER_QUEUE_URL": names["DeadLetterQueue"],
            "ATTACHMENTS_BUCKET": names["AttachmentsBucket"],
            "CREDENTIALS_KEY_ID": names["CredentialsKey"],
            "RULES_FUNCTION_NAME": "helpdesk-rules",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env
    aws.client.cache_clear()
    aws.table.cache_clear()


def _create_data_resources(resources: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = f"it-{logical_id}"
            dynamodb.create_table(TableName=name, **{k: props[k] for k in TABLE_KEYS if k in props})
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            names[logical_id] = name
        elif resource["Type"] == "AWS::S3::Bucket":
            names[logical_id] = f"it-{logical_id.lower()}"
            boto3.client("s3").create_bucket(Bucket=names[logical_id])
        elif resource["Type"] == "AWS::KMS::Key":
            names[logical_id] = boto3.client("kms").create_key(Description=logical_id)["KeyMetadata"]["KeyId"]
    # queues after the DLQ exists, so the redrive policy can point at it
    for logical_id in sorted(
        (k for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"),
        key=lambda k: "RedrivePolicy" in resources[k].get("Properties", {}),
    ):
        props = resources[logical_id].get("Properties", {})
        attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        redrive = props.get("RedrivePolicy")
        if redrive:
            dlq_url = names[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = (
                f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "{redrive["maxReceiveCount"]}"}}'
            )
        names[logical_id] = sqs.create_queue(QueueName=f"it-{logical_id}", Attributes=attributes)["QueueUrl"]
    return names
