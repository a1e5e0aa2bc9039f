"""Creates the template's data resources (DynamoDB, SQS, S3, KMS) in moto, from their Properties.

Resources are created in dependency order by retrying the ones whose properties reference something not yet
created (e.g. a queue's RedrivePolicy -> the DLQ's Arn). Settings CloudFormation would apply but moto's API
needs separately (TTL, point-in-time recovery, bucket encryption/lifecycle/public access block, key rotation)
are applied with their own API calls. Every created resource is bound into the Template (Ref + attributes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.events import LOCAL_API_ID
from devstack.template import ACCOUNT_ID, PARTITION, Template, TemplateError

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"

DATA_TYPES = (
    "AWS::KMS::Key",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::KMS::Alias",
)


def create_data_resources(template: Template, session: Any) -> dict[str, dict[str, str]]:
    """Create every data resource of ``template`` through boto3 ``session`` clients; return the bound facts."""
    creators: dict[str, Callable[[Template, Any, str], None]] = {
        "AWS::KMS::Key": _kms_key,
        "AWS::KMS::Alias": _kms_alias,
        "AWS::SQS::Queue": _sqs_queue,
        "AWS::DynamoDB::Table": _dynamodb_table,
        "AWS::S3::Bucket": _s3_bucket,
        "AWS::S3::BucketPolicy": _s3_bucket_policy,
    }
    pending = [lid for t in DATA_TYPES for lid in template.of_type(t)]
    created: dict[str, dict[str, str]] = {}
    for _round in range(len(pending) + 1):
        if not pending:
            break
        deferred: list[str] = []
        last_error: TemplateError | None = None
        for lid in pending:
            type_ = template.doc["Resources"][lid]["Type"]
            try:
                creators[type_](template, session, lid)
            except TemplateError as exc:  # depends on something created later in this pass
                deferred.append(lid)
                last_error = exc
                continue
            created[lid] = dict(template.bound.get(lid, {}))
        if len(deferred) == len(pending):
            raise TemplateError(f"cannot create {', '.join(deferred)}: {last_error}")
        pending = deferred
    return created


def _client(session: Any, service: str) -> Any:
    return session.client(service)


# ---------------------------------------------------------------------- KMS
def _kms_key(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    kms = _client(session, "kms")
    kwargs: dict[str, Any] = {
        "Description": props.get("Description", lid),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "Tags": [{"TagKey": "aws:cloudformation:logical-id", "TagValue": lid}],
    }
    if props.get("KeyPolicy"):
        kwargs["Policy"] = json.dumps(props["KeyPolicy"])
    meta = kms.create_key(**kwargs)["KeyMetadata"]
    if props.get("EnableKeyRotation") and kwargs["KeySpec"] == "SYMMETRIC_DEFAULT":
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    if props.get("Enabled") is False:
        kms.disable_key(KeyId=meta["KeyId"])
    t.bind(lid, Ref=meta["KeyId"], Arn=meta["Arn"], KeyId=meta["KeyId"])


def _kms_alias(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    _client(session, "kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    t.bind(lid, Ref=props["AliasName"])


# ---------------------------------------------------------------------- SQS
_SQS_NOT_ATTRIBUTES = {"QueueName", "Tags"}


def _sqs_queue(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    name = props.get("QueueName") or t.physical_name(lid) + (".fifo" if props.get("FifoQueue") else "")
    attributes = {}
    for key, value in props.items():
        if key in _SQS_NOT_ATTRIBUTES:
            continue
        if isinstance(value, dict):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        attributes[key] = str(value)
    sqs = _client(session, "sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    t.bind(lid, Ref=url, Arn=arn, QueueName=name, QueueUrl=url)


# ---------------------------------------------------------------------- DynamoDB
def _dynamodb_table(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    name = props.get("TableName") or t.physical_name(lid)
    billing = props.get("BillingMode", "PROVISIONED")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = []
            for index in props[key]:
                index = dict(index)
                if billing == "PROVISIONED" and key == "GlobalSecondaryIndexes":
                    index["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
                else:
                    index.pop("ProvisionedThroughput", None)
                indexes.append(index)
            kwargs[key] = indexes
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    sse = props.get("SSESpecification") or {}
    if sse.get("SSEEnabled"):
        kwargs["SSESpecification"] = {"Enabled": True, **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {})}
    if props.get("Tags"):
        kwargs["Tags"] = props["Tags"]
    ddb = _client(session, "dynamodb")
    desc = ddb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        # moto's CloudFormation ignores TimeToLiveSpecification; the API call is honoured.
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    if pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    facts = {"Ref": name, "Arn": desc["TableArn"]}
    if desc.get("LatestStreamArn"):
        facts["StreamArn"] = desc["LatestStreamArn"]
    t.bind(lid, **facts)


def _throughput(value: Any) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


# ---------------------------------------------------------------------- S3
def _s3_bucket(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    name = props.get("BucketName") or t.physical_name(lid).lower()
    s3 = _client(session, "s3")
    if t.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": t.region})
    if props.get("BucketEncryption"):
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in r.items()
            }
            for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if props.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if props.get("OwnershipControls"):
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if (props.get("VersioningConfiguration") or {}).get("Status"):
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if props.get("LifecycleConfiguration"):
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if props.get("CorsConfiguration"):
        rules = [
            {k: v for k, v in rule.items() if k in _CORS_KEYS} | ({"ID": rule["Id"]} if "Id" in rule else {})
            for rule in props["CorsConfiguration"]["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    t.bind(
        lid,
        Ref=name,
        Arn=f"arn:{PARTITION}:s3:::{name}",
        DomainName=f"{name}.s3.amazonaws.com",
        RegionalDomainName=f"{name}.s3.{t.region}.amazonaws.com",
    )


_CORS_KEYS = {"AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders", "MaxAge"}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    out: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    return out


def _s3_bucket_policy(t: Template, session: Any, lid: str) -> None:
    props = t.resolve(t.properties(lid))
    document = dict(props["PolicyDocument"])
    # moto serves plain HTTP on loopback and evaluates aws:SecureTransport, so the template's "deny insecure
    # transport" statement would refuse every S3 call (intake's puts, presigned uploads). It stays in AWS.
    document["Statement"] = [
        s for s in document.get("Statement", []) if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))
    ]
    if document["Statement"]:
        _client(session, "s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    t.bind(lid, Ref=f"{props['Bucket']}-policy")


def function_arn(region: str, name: str) -> str:
    return f"arn:{PARTITION}:lambda:{region}:{ACCOUNT_ID}:function:{name}"


def bind_emulated(t: Template) -> dict[str, str]:
    """Bind what the devstack emulates instead of creating (functions, layers, REST APIs); returns function names."""
    names = {}
    for lid in t.of_type("AWS::Serverless::Function"):
        name = str(t.resolve(t.properties(lid).get("FunctionName") or t.physical_name(lid)))
        names[lid] = name
        t.bind(lid, Ref=name, Arn=function_arn(t.region, name))
    for lid in t.of_type("AWS::Serverless::LayerVersion"):
        arn = f"arn:{PARTITION}:lambda:{t.region}:{ACCOUNT_ID}:layer:{t.physical_name(lid)}:1"
        t.bind(lid, Ref=arn, Arn=arn)
    for lid in t.of_type("AWS::Serverless::Api"):
        t.bind(lid, Ref=LOCAL_API_ID, RootResourceId="rootid")
    return names


def provision(
    template: Template | str | Path = DEFAULT_TEMPLATE,
    *,
    session: Any = None,
    overrides: dict[str, str] | None = None,
) -> Template:
    """Create the template's data resources and bind the emulated ones, for in-process integration tests.

    Under moto's ``mock_aws()`` (default session = ``boto3.session.Session()``)::

        with mock_aws():
            t = provision(overrides={"RetryBaseDelaySeconds": "0"})
            t.bound["TenantsTable"]["Ref"]                      # physical names, URLs, ARNs
            t.function("DispatcherFunction").environment        # the function's resolved env vars
    """
    import boto3

    t = template if isinstance(template, Template) else Template.load(template, overrides=overrides)
    create_data_resources(t, session or boto3.session.Session(region_name=t.region))
    bind_emulated(t)
    return t
