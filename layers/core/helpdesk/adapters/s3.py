"""S3 adapter for attachments: inline files stored by intake, large files uploaded by the agent with a presigned
POST, read back by the dispatcher. Keys are scoped by tenant and submission:
  attachments/<tenant>/<submission id>/<n>-<body>-<file name>  every file of an accepted submission (inline files
                                                         written by intake; uploads copied here when the submission
                                                         names them); <body>: 16 hex digits of the request's
                                                         fingerprint, so another body under the same id (a 409)
                                                         never overwrites the accepted request's files
  uploads/<tenant>/<submission id>/<upload id>           presigned uploads (written by the agent)
Lifecycle rules (template.yaml): `uploads/` expires after 1 day, so an upload no submission names does not stay;
everything else after 30 days.

Uploads are SigV4 presigned POSTs whose policy binds the key, the content type and the size: S3 refuses a body
larger than the size the agent declared (content-length-range), and the URL is useless for any other key.
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
    return f"uploads/{tenant_id}/{submission_id}/{upload_id}"


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    fields: dict[str, str]
    """Form fields to send, in order, before the file (a multipart/form-data POST whose last part is `file`)."""
    expires_in: int


class S3AttachmentStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        aws.client("s3").put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def copy(self, source_key: str, key: str) -> None:
        """Server-side copy (an accepted upload becomes an attachment that outlives the 1-day upload expiry)."""
        aws.client("s3").copy_object(
            Bucket=self._bucket, Key=key, CopySource={"Bucket": self._bucket, "Key": source_key}
        )

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

    def presign_upload(self, key: str, content_type: str, size: int, expires_in: int = 900) -> PresignedUpload:
        """A SigV4 presigned POST for exactly this key and content type, of at most `size` bytes."""
        answer = aws.client("s3").generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
            ExpiresIn=expires_in,
        )
        return PresignedUpload(
            url=str(answer["url"]),
            fields={str(k): str(v) for k, v in answer["fields"].items()},
            expires_in=expires_in,
        )
