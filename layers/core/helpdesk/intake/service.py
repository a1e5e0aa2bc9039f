"""Intake use cases. The route handlers (functions/intake/routes.py) authenticate, then call these.

Submit is idempotent on (tenant, submission id):
1. files first: inline attachments are written to S3, uploaded ones are checked there (exists, size);
2. the submission is stored with a conditional put (a concurrent or repeated POST finds it);
3. the work message is sent and the submission marked `enqueued`.
A retry with the same body returns the same answer (same receipt: it is derived from the agent's key) and
re-sends the work message only if the first attempt died before sending it. The same id with another body
is a conflict. Nothing is stored or queued for a request that fails validation.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from helpdesk.domain.ports import ConflictError
from helpdesk.domain.submission import (
    MAX_ATTACHMENT_BYTES,
    MAX_TOTAL_ATTACHMENT_BYTES,
    InlineAttachment,
    StoredAttachment,
    Submission,
    SubmissionRepository,
    SubmissionRequest,
    SubmissionView,
    SubmitAccepted,
    TimelineEvent,
    TimelineEventKind,
    UploadRequest,
    receipt_for,
    receipt_hash,
)
from helpdesk.domain.work import SubmissionWork
from helpdesk.errors import Conflict, Invalid, NotFound, TooLarge
from helpdesk.errors import ServiceError as IntakeError


class SubmissionConflict(Conflict):
    """The submission id was used for a different request."""


class InvalidUpload(Invalid):
    """An attachment names an upload that is not there, not this tenant's, or not what was declared."""


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def copy(self, source_key: str, key: str) -> None: ...

    def size(self, key: str) -> int | None: ...


class PresignedUploadLike(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def fields(self) -> dict[str, str]: ...

    @property
    def expires_in(self) -> int: ...


class UploadSigner(Protocol):
    def presign_upload(self, key: str, content_type: str, size: int, expires_in: int = 900) -> PresignedUploadLike: ...


class WorkQueue(Protocol):
    def send(self, message: SubmissionWork, *, delay_seconds: int = 0) -> str: ...


@dataclass
class UploadTicket:
    upload_id: str
    url: str
    method: str
    fields: dict[str, str]
    expires_in: int


class IntakeService:
    def __init__(
        self,
        submissions: SubmissionRepository,
        blobs: BlobStore,
        queue: WorkQueue,
        *,
        inline_key: Callable[[str, str, int, str], str],
        upload_key: Callable[[str, str, str], str],
        signer: UploadSigner | None = None,
    ) -> None:
        self.submissions = submissions
        self.blobs = blobs
        self.queue = queue
        self.signer = signer
        self._inline_key = inline_key
        self._upload_key = upload_key

    # ------------------------------------------------------------------------------------- submit
    def submit(
        self, tenant_id: str, request: SubmissionRequest, *, token: str, credential_id: str | None = None
    ) -> SubmitAccepted:
        receipt = receipt_for(token, tenant_id, request.submission_id)
        existing = self.submissions.get(tenant_id, request.submission_id)
        if existing is not None:
            return self._repeat(existing, request, receipt)

        attachments = self._store_files(tenant_id, request)
        submission = Submission.from_request(
            tenant_id, request, attachments, receipt=receipt, credential_id=credential_id
        )
        try:
            stored = self.submissions.create(submission)
        except ConflictError:  # a concurrent identical POST won the race
            again = self.submissions.get(tenant_id, request.submission_id)
            if again is None:
                raise
            return self._repeat(again, request, receipt)
        self.submissions.append_event(
            tenant_id,
            stored.submission_id,
            TimelineEvent(event=TimelineEventKind.QUEUED, text="Your request was received.", event_id="intake:queued"),
        )
        self._enqueue(stored)
        return SubmitAccepted(id=stored.submission_id, status="queued", receipt=receipt)

    def _repeat(self, existing: Submission, request: SubmissionRequest, receipt: str) -> SubmitAccepted:
        if existing.fingerprint != request.fingerprint():
            raise SubmissionConflict(
                "This submission_id was already used for a different request; generate a new id for a new request."
            )
        digest = receipt_hash(receipt)
        if digest not in existing.receipt_hashes:
            # The agent's key was rotated between its attempts: its new receipt is valid as well.
            hashes = [*existing.receipt_hashes, digest][-10:]
            try:
                existing = self.submissions.save(existing.model_copy(update={"receipt_hashes": hashes}))
            except ConflictError:
                existing = self.submissions.get(existing.tenant_id, existing.submission_id) or existing
        if not existing.enqueued:
            self._enqueue(existing)
        return SubmitAccepted(id=existing.submission_id, status=existing.status.value, receipt=receipt)

    def _enqueue(self, submission: Submission) -> None:
        self.queue.send(SubmissionWork(tenant_id=submission.tenant_id, submission_id=submission.submission_id))
        for _ in range(3):  # bounded: the dispatcher may be saving the same item right now
            try:
                self.submissions.save(submission.model_copy(update={"enqueued": True}))
                return
            except ConflictError:
                fresh = self.submissions.get(submission.tenant_id, submission.submission_id)
                if fresh is None or fresh.enqueued:
                    return
                submission = fresh

    def _store_files(self, tenant_id: str, request: SubmissionRequest) -> list[StoredAttachment]:
        total = 0
        stored: list[StoredAttachment] = []
        pending: list[tuple[str, bytes, str]] = []
        claimed: list[tuple[str, str]] = []
        for index, attachment in enumerate(request.attachments):
            key = self._key_inline(tenant_id, request.submission_id, index, attachment.filename)
            if isinstance(attachment, InlineAttachment):
                data = attachment.decoded()
                pending.append((key, data, attachment.content_type))
                size = len(data)
            else:
                upload = self._key_upload(tenant_id, request.submission_id, attachment.upload_id)
                found = self.blobs.size(upload)
                if found is None:
                    raise InvalidUpload(
                        f"upload {attachment.upload_id} was not found: request an upload URL for this submission "
                        "with POST /v1/uploads and PUT the file first",
                        field=f"attachments.{index}.upload_id",
                    )
                if found > MAX_ATTACHMENT_BYTES:
                    raise TooLarge(
                        f"{attachment.filename} is {found} bytes; the limit is {MAX_ATTACHMENT_BYTES} per file",
                        field=f"attachments.{index}",
                    )
                claimed.append((upload, key))  # uploads expire in a day; the attachment lives with the submission
                size = found
            total += size
            stored.append(
                StoredAttachment(
                    filename=attachment.filename, content_type=attachment.content_type, s3_key=key, size=size
                )
            )
        if total > MAX_TOTAL_ATTACHMENT_BYTES:
            raise TooLarge(f"attachments total {total} bytes; the limit is {MAX_TOTAL_ATTACHMENT_BYTES}")
        for key, data, content_type in pending:  # only after every check passed: nothing stored otherwise
            self.blobs.put(key, data, content_type)
        for upload, key in claimed:
            self.blobs.copy(upload, key)
        return stored

    def _key_inline(self, tenant_id: str, submission_id: str, index: int, filename: str) -> str:
        return self._inline_key(tenant_id, submission_id, index, filename)

    def _key_upload(self, tenant_id: str, submission_id: str, upload_id: str) -> str:
        return self._upload_key(tenant_id, submission_id, upload_id)

    # ------------------------------------------------------------------------------------- status
    def status(self, tenant_id: str, submission_id: str, receipt: str) -> SubmissionView:
        submission = self.submissions.get(tenant_id, submission_id)
        # Unknown id and wrong receipt look the same: a receipt is what proves you may read it.
        if submission is None or not submission.receipt_matches(receipt):
            raise NotFound("No submission with this id for this receipt.")
        return SubmissionView.of(submission, self.submissions.list_events(tenant_id, submission_id))

    # ------------------------------------------------------------------------------------- uploads
    def request_upload(self, tenant_id: str, request: UploadRequest) -> UploadTicket:
        if self.signer is None:
            raise IntakeError("uploads are not available")
        upload_id = "upl_" + secrets.token_hex(16)
        key = self._key_upload(tenant_id, request.submission_id, upload_id)
        signed = self.signer.presign_upload(key, request.content_type, request.size)
        return UploadTicket(
            upload_id=upload_id,
            url=signed.url,
            method="POST",
            fields=dict(signed.fields),
            expires_in=signed.expires_in,
        )
