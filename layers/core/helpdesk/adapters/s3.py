"""S3 adapter for attachments: inline files stored by intake, large files uploaded by the agent to a presigned
PUT URL, read back by the dispatcher. Keys are scoped by tenant and submission:
  attachments/<tenant>/<submission id>/<n>-<body>-<file name> inline files (written by intake; <body>: the
                                                              request's fingerprint, 16 hex digits)
  attachments/<tenant>/<submission id>/upload-<upload id>     presigned uploads (written by the agent)
The bucket's lifecycle rule expires everything after 30 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from helpdesk import aws

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def inline_key(tenant_id: str, submission_id: str, index: int, filename: str, body: str = "") -> str:
    """`body` (a prefix of the request's fingerprint) keeps another body sent with the same submission id (a
    409) from overwriting the accepted request's files before the conflict is found."""
    version = f"{_SAFE.sub('_', body)[:16]}-" if body else ""
    return f"attachments/{tenant_id}/{submission_id}/{index:02d}-{version}{_SAFE.sub('_', filename)[:100]}"


def upload_key(tenant_id: str, submission_id: str, upload_id: str) -> str:
    return f"attachments/{tenant_id}/{submission_id}/upload-{upload_id}"


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    headers: dict[str, str]
    expires_in: int


class S3AttachmentStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        aws.client("s3").put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        answer = aws.client("s3").get_object(Bucket=self._bucket, Key=key)
        return bytes(answer["Body"].read())

    def size(self, key: str) -> int | None:
        """Size of a stored object, None if it does not exist (an upload that never happened)."""
        try:
            answer = aws.client("s3").head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound", "403"}:
                return None
            raise
        return int(answer["ContentLength"])

    def presign_put(self, key: str, content_type: str, size: int, expires_in: int = 900) -> PresignedUpload:
        url = aws.client("s3").generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return PresignedUpload(
            url=str(url),
            headers={"Content-Type": content_type, "Content-Length": str(size)},
            expires_in=expires_in,
        )
