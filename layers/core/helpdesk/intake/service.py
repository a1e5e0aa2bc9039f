"""Intake use cases. The route handlers (functions/intake/routes.py) authenticate, then call these.

Submit is idempotent on (tenant, submission id) and costs 3 AWS calls after the key lookup's one (plus one per
inline file): files first (inline attachments written to S3 under keys that include the body's fingerprint, so
a conflicting body never overwrites the accepted one's files; uploaded ones are checked there), then ONE
conditional transaction that stores the submission with `enqueued=true` and its first timeline event (a
concurrent or repeated POST finds it: the transaction fails and nothing of this attempt is stored), then the
work message. A retry with the same body returns the same answer (same receipt: it is derived from the agent's
key). The same id with another body is a conflict. Nothing is stored or queued for a request that fails
validation.

A crash between the write and the send (docs/architecture.md, "Submissions"):
- the send fails in this invocation (SQS error, timeout): `enqueued` is set back to false before the error
  goes out, and the agent's retry re-sends (a repeat re-sends whenever `enqueued` is false);
- the invocation dies with no chance to reset it (killed, timed out): a repeat POST or a status read that finds
  the submission still `queued`, never picked up by a dispatcher (`attempts == 0`) and older than
  `REQUEUE_AFTER` re-sends the message, at most once per `REQUEUE_AFTER` (recorded with the optimistic-locked
  save). Duplicates are harmless: the dispatcher's claim and final states make a second message a no-op.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.domain.ports import BlobStore, ConflictError, SubmissionRepository, UploadSigner, WorkQueue
from helpdesk.domain.submission import (
    MAX_ATTACHMENT_BYTES,
    MAX_TOTAL_ATTACHMENT_BYTES,
    InlineAttachment,
    StoredAttachment,
    Submission,
    SubmissionRequest,
    SubmissionStatus,
    SubmissionView,
    SubmitAccepted,
    TimelineEvent,
    TimelineEventKind,
    UploadRequest,
    receipt_for,
    receipt_hash,
)
from helpdesk.domain.tenant import utcnow
from helpdesk.domain.work import SubmissionWork
from helpdesk.errors import Conflict, Invalid, NotFound, TooLarge
from helpdesk.errors import ServiceError as IntakeError


class SubmissionConflict(Conflict):
    """The submission id was used for a different request."""


class InvalidUpload(Invalid):
    """An attachment names an upload that is not there, not this tenant's, or not what was declared."""


# Far longer than any intake invocation can last (API Gateway gives up after 29 s, the function's timeout is
# shorter), and longer than a normal queue backlog: a submission unchanged for this long that no dispatcher has
# taken was most likely lost between write and send. Re-sending is harmless (the dispatcher's claim makes a
# duplicate a no-op) but not free, so it happens at most once per REQUEUE_AFTER per submission: a backlog of
# polled submissions adds at most one message each per 5 minutes.
REQUEUE_AFTER = timedelta(minutes=5)


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
        inline_key: Callable[[str, str, int, str, str], str],
        upload_key: Callable[[str, str, str], str],
        signer: UploadSigner | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._now = now
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
        fingerprint = request.fingerprint()
        attachments = self._store_files(tenant_id, request, fingerprint)
        submission = Submission.from_request(
            tenant_id, request, attachments, receipt=receipt, credential_id=credential_id
        ).model_copy(update={"enqueued": True})  # the send follows; reset below if it fails
        first = TimelineEvent(
            event=TimelineEventKind.QUEUED, text="Your request was received.", event_id="intake:queued"
        )
        try:
            stored = self.submissions.create(submission, first_event=first)
        except ConflictError:  # a repeat, a concurrent identical POST, or another body with this id
            existing = self.submissions.get(tenant_id, request.submission_id)
            if existing is None:
                raise
            return self._repeat(existing, fingerprint, receipt)
        try:
            self._send(stored)
        except Exception:
            # Not sent: say so on the submission, so that the agent's retry (a repeat) sends it.
            for _ in range(3):  # bounded: a status read may be saving it too
                try:
                    self.submissions.save(stored.model_copy(update={"enqueued": False}))
                    break
                except ConflictError:
                    fresh = self.submissions.get(tenant_id, stored.submission_id)
                    if fresh is None or fresh.attempts > 0:
                        break
                    stored = fresh
            raise
        return SubmitAccepted(id=stored.submission_id, status="queued", receipt=receipt)

    def _repeat(self, existing: Submission, fingerprint: str, receipt: str) -> SubmitAccepted:
        if existing.fingerprint != fingerprint:
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
        self._requeue_if_lost(existing)
        return SubmitAccepted(id=existing.submission_id, status=existing.status.value, receipt=receipt)

    def _send(self, submission: Submission) -> None:
        self.queue.send(SubmissionWork(tenant_id=submission.tenant_id, submission_id=submission.submission_id))

    def _requeue_if_lost(self, submission: Submission) -> None:
        """Re-send the work message of a submission whose message was never sent (module docstring)."""
        if submission.status is not SubmissionStatus.QUEUED or submission.attempts > 0:
            return  # a dispatcher has it (or had it): its own retries and the DLQ take over
        stale = self._now() - submission.updated_at >= REQUEUE_AFTER
        if submission.enqueued and not stale:
            return  # sent by its first attempt, or that attempt may still be running
        try:  # record the re-send first: a concurrent repeat or status read then does not send it again
            self.submissions.save(submission.model_copy(update={"enqueued": True}))
        except ConflictError:
            return  # someone else (a dispatcher claim, another repeat) changed it just now
        self._send(submission)

    def _store_files(self, tenant_id: str, request: SubmissionRequest, fingerprint: str) -> list[StoredAttachment]:
        total = 0
        stored: list[StoredAttachment] = []
        pending: list[tuple[str, bytes, str]] = []
        claimed: list[tuple[str, str]] = []
        for index, attachment in enumerate(request.attachments):
            key = self._inline_key(tenant_id, request.submission_id, index, attachment.filename, fingerprint[:16])
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
                        "with POST /v1/uploads and POST the file to it first",
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

    def _key_upload(self, tenant_id: str, submission_id: str, upload_id: str) -> str:
        return self._upload_key(tenant_id, submission_id, upload_id)

    # ------------------------------------------------------------------------------------- status
    def status(self, tenant_id: str, submission_id: str, receipt: str) -> SubmissionView:
        submission, events = self.submissions.get_with_events(tenant_id, submission_id)
        # Unknown id and wrong receipt look the same: a receipt is what proves you may read it.
        if submission is None or not submission.receipt_matches(receipt):
            raise NotFound("No submission with this id for this receipt.")
        self._requeue_if_lost(submission)
        return SubmissionView.of(submission, events)

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
