"""The devstack refuses S3 form POSTs as S3 does: the policy's signature, expiry, conditions and size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devstack.aws_guards import PolicyError, check_post_policy

SECRET = "testing"


def presigned(size: int = 10, key: str = "uploads/acme/press-1/upl_1", secret: str = SECRET) -> dict[str, Any]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),
    )
    return s3.generate_presigned_post(
        Bucket="helpdesk-attachments",
        Key=key,
        Fields={"Content-Type": "text/plain"},
        Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, size]],
        ExpiresIn=900,
    )


def check(fields: dict[str, str], size: int, **kw: Any) -> None:
    check_post_policy(fields, bucket="helpdesk-attachments", file_size=size, secret=SECRET, **kw)


def test_a_form_within_its_policy_is_accepted() -> None:
    check(presigned()["fields"], 10)


def test_a_body_larger_than_the_declared_size_is_entity_too_large() -> None:
    with pytest.raises(PolicyError) as refused:
        check(presigned(size=10)["fields"], 8 * 1024 * 1024)
    assert (refused.value.status, refused.value.code) == (400, "EntityTooLarge")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"key": "uploads/other-tenant/press-1/upl_1"}, "AccessDenied"),
        ({"Content-Type": "text/html"}, "AccessDenied"),
        ({"x-amz-meta-extra": "1"}, "AccessDenied"),
        ({"x-amz-signature": "0" * 64}, "SignatureDoesNotMatch"),
        ({"AWSAccessKeyId": "AKIA", "signature": "legacy"}, "InvalidRequest"),
    ],
)
def test_a_changed_form_is_refused(change: dict[str, str], code: str) -> None:
    fields = {**presigned()["fields"], **change}
    with pytest.raises(PolicyError) as refused:
        check(fields, 5)
    assert refused.value.code == code


def test_an_expired_policy_or_another_secret_is_refused() -> None:
    with pytest.raises(PolicyError):
        check(presigned()["fields"], 5, now=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(PolicyError) as refused:
        check(presigned(secret="other")["fields"], 5)
    assert refused.value.code == "SignatureDoesNotMatch"
