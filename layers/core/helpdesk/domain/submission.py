"""Submissions: one button press, from the agent's POST to the Autotask ticket (and its timeline afterwards).

`SubmissionRequest` is the API body the button agent sends (validated field by field). `Submission` is what we
store: the request (attachments replaced by S3 references), the status the agent polls, the per-step progress
of the dispatcher (so a redelivered message resumes instead of repeating a step) and the ticket it produced.
`TimelineEvent`s are stored as their own items next to the submission (appends never rewrite the submission).

Pure domain: no boto3, no HTTP. The repository port (`helpdesk.domain.ports.SubmissionRepository`) is implemented
by `helpdesk.adapters.dynamodb_submissions.DynamoSubmissionRepository`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from pydantic_core import PydanticCustomError

from helpdesk.domain.rules import MAX_CATEGORIZE_CALLS, Classification
from helpdesk.domain.tenant import utcnow

SUBMISSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
EMAIL_PATTERN = r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
RECEIPT_PREFIX = "hbr_"

# Limits (docs/api.md). Autotask accepts 6-7 MB per attachment file: 6 MB decoded is the safe side.
MAX_ATTACHMENT_BYTES = 6 * 1024 * 1024
MAX_TOTAL_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_MESSAGE_CHARS = 8000
MAX_APPEND_CHARS = 32_000
SUBJECT_DEFAULT_CHARS = 50
ALLOWED_CONTENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/webp",
        "text/plain",
        "text/html",
        "text/csv",
        "application/json",
        "application/xml",
        "application/pdf",
        "application/zip",
        "application/octet-stream",
    }
)
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


TOO_LARGE = "too_large"


def too_large(message: str) -> PydanticCustomError:
    """A validation error the API answers with 413 instead of 422 (error type `too_large`)."""
    return PydanticCustomError(TOO_LARGE, message)


def default_subject(msg: str, limit: int = SUBJECT_DEFAULT_CHARS) -> str:
    """The first `limit` characters of the message, cut at a word boundary (whitespace collapsed)."""
    text = " ".join(msg.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space > 0 else text[:limit]
    return head.rstrip(" ,;:.-") or text[:limit]


# ---------------------------------------------------------------------------------------------- request (API)
class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Contact(_Input):
    """The contact as the user typed it in the agent."""

    name: str = Field(min_length=1, max_length=100, description="Full name as typed")
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN, description="Looked up among Autotask contacts")
    phone: str | None = Field(default=None, max_length=50)
    business_name: str | None = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str) -> str:
        return value.lower()

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""

    @property
    def last_name(self) -> str:
        parts = self.name.split()
        return " ".join(parts[1:]) if len(parts) > 1 else ""


class Machine(_Input):
    hostname: str = Field(min_length=1, max_length=255, description="Matched to a configuration item reference title")
    ip: str | None = Field(default=None, max_length=100)
    mac: str | None = Field(default=None, max_length=100)
    username: str | None = Field(default=None, max_length=255)
    domain: str | None = Field(default=None, max_length=255)
    os: str | None = Field(default=None, max_length=255)


def _check_filename(value: str) -> str:
    if _FILENAME_BAD.search(value) or value in {".", ".."}:
        raise ValueError("must be a plain file name without path separators or control characters")
    return value


def _check_content_type(value: str) -> str:
    value = value.lower().split(";")[0].strip()
    if value not in ALLOWED_CONTENT_TYPES:
        raise ValueError(f"content type {value!r} is not accepted")
    return value


# One definition for every model that names a file (inline, uploaded, upload request).
FileName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_filename)]
ContentType = Annotated[str, Field(min_length=3, max_length=100), AfterValidator(_check_content_type)]


class InlineAttachment(_Input):
    """A small file sent inline (base64). Bigger files: request an upload URL first (POST /v1/uploads)."""

    filename: FileName
    content_type: ContentType
    data_base64: str = Field(
        min_length=1, description=f"base64 of the file, at most {MAX_ATTACHMENT_BYTES} bytes decoded"
    )

    @field_validator("data_base64")
    @classmethod
    def _valid_base64(cls, value: str) -> str:
        if len(value) > (MAX_ATTACHMENT_BYTES * 4) // 3 + 8:
            raise too_large(f"the file is larger than {MAX_ATTACHMENT_BYTES} bytes (the limit per file)")
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be valid base64") from None
        if len(decoded) > MAX_ATTACHMENT_BYTES:
            raise too_large(f"the file is {len(decoded)} bytes; the limit is {MAX_ATTACHMENT_BYTES} per file")
        return value

    def decoded(self) -> bytes:
        return base64.b64decode(self.data_base64)


class UploadedAttachment(_Input):
    """A file uploaded beforehand to the presigned URL from POST /v1/uploads."""

    filename: FileName
    content_type: ContentType
    upload_id: str = Field(pattern=r"^upl_[a-f0-9]{16,64}$")


class SubmissionRequest(_Input):
    """POST /v1/tickets body: what the button agent collected."""

    submission_id: str = Field(
        pattern=SUBMISSION_ID_PATTERN,
        description="Client generated idempotency key: a retry with the same id never creates a second ticket",
    )
    contact: Contact
    machine: Machine
    msg: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The user's message")
    subject: str | None = Field(
        default=None, max_length=255, description="Default: the first 50 characters of msg at a word boundary"
    )
    selections: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    append: str | None = Field(default=None, max_length=MAX_APPEND_CHARS, description="Script output")
    attachments: list[InlineAttachment | UploadedAttachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    device_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")

    @model_validator(mode="after")
    def _inline_total(self) -> SubmissionRequest:
        total = sum(len(a.decoded()) for a in self.attachments if isinstance(a, InlineAttachment))
        if total > MAX_TOTAL_ATTACHMENT_BYTES:
            raise too_large(f"attachments total {total} bytes; the limit is {MAX_TOTAL_ATTACHMENT_BYTES}")
        names = [a.filename for a in self.attachments]
        if len(set(names)) != len(names):
            raise ValueError("attachment file names must be unique within a submission")
        return self

    @property
    def effective_subject(self) -> str:
        return self.subject if self.subject else default_subject(self.msg)

    def fingerprint(self) -> str:
        """Stable hash of the whole request: the same submission id with another body is a conflict (409)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class UploadRequest(_Input):
    """POST /v1/uploads body: ask for a presigned S3 PUT URL for one large attachment."""

    submission_id: str = Field(pattern=SUBMISSION_ID_PATTERN)
    filename: FileName
    content_type: ContentType
    size: int = Field(gt=0, le=MAX_ATTACHMENT_BYTES, description="Exact size in bytes (signed into the URL)")


# ---------------------------------------------------------------------------------------------- stored model
class SubmissionStatus(StrEnum):
    QUEUED = "queued"
    CREATING = "creating"
    CREATED = "created"
    BLOCKED = "blocked"  # a Dispatcher Rule set `exception`: no ticket, the user sees that text
    FAILED = "failed"  # permanent: bad credentials, permissions, validation, catch-all missing

    @property
    def final(self) -> bool:
        return self in {SubmissionStatus.CREATED, SubmissionStatus.BLOCKED, SubmissionStatus.FAILED}


class StoredAttachment(BaseModel):
    """An attachment kept in S3 until the dispatcher has attached it to the ticket."""

    model_config = ConfigDict(extra="forbid")

    filename: str
    content_type: str
    s3_key: str
    size: int = Field(ge=0)
    sha256: str = ""


class TicketProgress(BaseModel):
    """Which side effects in Autotask are done. Each step is recorded right after it succeeds, so a retry
    (redelivery, crash, lost response) resumes at the first step not done and never repeats one."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: int | None = None
    ticket_number: str | None = None
    note_id: int | None = None
    note_skipped: bool = False
    attachments: dict[str, int] = Field(default_factory=dict, description="filename -> Autotask attachment id")
    create_attempted: bool = Field(
        default=False, description="a create was sent at least once: look up externalID before sending another"
    )
    note_attempted: bool = Field(default=False, description="a note create was sent: look for it before another")
    note_text: str | None = Field(default=None, description="the internal note, fixed when the ticket was built")
    attachments_attempted: list[str] = Field(default_factory=list, description="file names whose create was sent")


class ResolvedContext(BaseModel):
    """What the dispatcher learned from Autotask (kept for the admin and for the notification templates)."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = None
    contact_name: str | None = None
    company_id: int | None = None
    business_name: str | None = None
    configuration_item_id: int | None = None
    catch_all_used: bool = False
    rule_warnings: list[str] = Field(default_factory=list)


MAX_RECORDED_ERRORS = 20


class RulesOutcome(BaseModel):
    """The rules step of one submission, recorded once when it ends: a retry of a later step (ticket create,
    note, attachments) reuses it and never runs, or waits for, the rules again."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=0, description="the rules version that ran (0: the tenant had no rules)")
    changed: dict[str, JsonValue] = Field(
        default_factory=dict, description="read/write variables the rules set (empty when they failed)"
    )
    exception: str | None = Field(default=None, description="an intentional `exception = '...'`: blocks the ticket")
    failed: bool = Field(default=False, description="the rules failed (run-time error, limit, rules function error)")
    classifications: list[Classification] = Field(
        default_factory=list,
        max_length=MAX_CATEGORIZE_CALLS,
        description="the ai_categorize answers the rules used (scores, model, error), for the admin and the replay",
    )


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str
    submission_id: str = Field(pattern=SUBMISSION_ID_PATTERN)
    status: SubmissionStatus = SubmissionStatus.QUEUED
    contact: Contact
    machine: Machine
    msg: str
    subject: str
    selections: list[str] = Field(default_factory=list)
    append: str | None = None
    attachments: list[StoredAttachment] = Field(default_factory=list)
    device_id: str | None = None
    fingerprint: str = Field(description="SubmissionRequest.fingerprint() of the accepted body")
    receipt_hashes: list[str] = Field(default_factory=list, max_length=10)
    credential_id: str | None = Field(default=None, description="the button key that submitted it")
    enqueued: bool = Field(default=False, description="the work message was sent (intake re-sends it if not)")
    message: str | None = Field(default=None, description="shown to the user: rule exception or friendly failure")
    error: str | None = Field(default=None, description="for the MSP admin: what went wrong (no secrets)")
    progress: TicketProgress = Field(default_factory=TicketProgress)
    resolved: ResolvedContext = Field(default_factory=ResolvedContext)
    rules_outcome: RulesOutcome | None = Field(
        default=None, description="the rules step's result, once it has run (never re-run for this submission)"
    )
    rules_errors: list[str] = Field(
        default_factory=list,
        max_length=MAX_RECORDED_ERRORS,
        description="for the MSP admin: why the rules failed ('line 6: ValueError: ...'); the ticket was still "
        "created with the tenant's defaults unless the tenant blocks on rules errors",
    )
    submission_errors: list[str] = Field(
        default_factory=list,
        max_length=MAX_RECORDED_ERRORS,
        description="for the MSP admin: ticket fields that fell back or were dropped (the note's [Submission Errors])",
    )
    attempts: int = Field(default=0, ge=0, description="dispatch attempts so far")
    dead_lettered_at: datetime | None = Field(
        default=None, description="the dispatcher gave up retrying: its work message went to the dead-letter queue"
    )
    requeued_at: datetime | None = Field(default=None, description="an admin last sent a fresh work message")
    requeues: int = Field(default=0, ge=0, description="how often an admin re-queued it")
    lease_owner: str | None = Field(default=None, description="the dispatcher run working on it right now")
    lease_until: datetime | None = Field(default=None, description="when that run's claim lapses (crash safety)")
    autotask_requests: int = Field(default=0, ge=0, description="Autotask requests spent on this submission")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    revision: int = Field(default=0, ge=0, description="optimistic-locking counter, bumped on every save")

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        """Documents stored before `submission_errors` moved from `resolved` to the submission still load."""
        if (
            isinstance(data, dict)
            and isinstance(data.get("resolved"), dict)
            and "submission_errors" in data["resolved"]
        ):
            resolved = dict(data["resolved"])
            moved = resolved.pop("submission_errors")
            data = {**data, "resolved": resolved}
            if not data.get("submission_errors"):
                data["submission_errors"] = moved
        return data

    @property
    def ticket_id(self) -> int | None:
        return self.progress.ticket_id

    @property
    def ticket_number(self) -> str | None:
        return self.progress.ticket_number

    def receipt_matches(self, receipt: str) -> bool:
        if not receipt or len(receipt) > 200:
            return False
        candidate = hashlib.sha256(receipt.encode("utf-8")).hexdigest()
        return any(hmac.compare_digest(candidate, h) for h in self.receipt_hashes)

    @classmethod
    def from_request(
        cls,
        tenant_id: str,
        request: SubmissionRequest,
        attachments: list[StoredAttachment],
        *,
        receipt: str,
        credential_id: str | None = None,
    ) -> Submission:
        return cls(
            tenant_id=tenant_id,
            submission_id=request.submission_id,
            contact=request.contact,
            machine=request.machine,
            msg=request.msg,
            subject=request.effective_subject,
            selections=list(request.selections),
            append=request.append,
            attachments=attachments,
            device_id=request.device_id,
            fingerprint=request.fingerprint(),
            receipt_hashes=[receipt_hash(receipt)],
            credential_id=credential_id,
        )


def receipt_for(button_token: str, tenant_id: str, submission_id: str) -> str:
    """The receipt that lets the agent read one submission's status.

    Derived (HMAC keyed with the agent's own button key), so an agent retrying with the same key gets the same
    receipt back without us storing it in clear: only its SHA-256 is stored. The submission id is its prefix,
    so a list of receipts (notification feed) needs no index to find the submissions.
    """
    mac = hmac.new(button_token.encode("utf-8"), f"receipt:{tenant_id}:{submission_id}".encode(), hashlib.sha256)
    return f"{RECEIPT_PREFIX}{submission_id}.{base64.urlsafe_b64encode(mac.digest()).decode('ascii').rstrip('=')}"


def receipt_hash(receipt: str) -> str:
    return hashlib.sha256(receipt.encode("utf-8")).hexdigest()


def submission_id_of_receipt(receipt: str) -> str | None:
    """`hbr_<submission id>.<mac>` -> submission id (None if it does not look like a receipt)."""
    if not receipt.startswith(RECEIPT_PREFIX) or "." not in receipt:
        return None
    sid = receipt[len(RECEIPT_PREFIX) :].rsplit(".", 1)[0]
    return sid if re.fullmatch(SUBMISSION_ID_PATTERN, sid) else None


class TimelineEventKind(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    CREATING = "creating"
    CREATED = "created"
    BLOCKED = "blocked"
    FAILED = "failed"
    RETRYING = "retrying"
    STATUS_CHANGED = "status_changed"
    REPLY = "reply"
    COMPLETED = "completed"
    NOTE = "note"


class TimelineEvent(BaseModel):
    """One line of a submission's history (`event` is a TimelineEventKind value or another short word).

    `event_id` makes appends idempotent: appending the same id twice stores it once (e.g. a re-read of the
    same Autotask note after a repeated callout)."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(default_factory=utcnow)
    event: str = Field(min_length=1, max_length=40)
    text: str = Field(default="", max_length=2000)
    event_id: str = Field(default="", max_length=200, description="idempotency key of the event (optional)")
    data: dict[str, str | int | None] = Field(default_factory=dict, description="structured extras (ticket status...)")
    visible: bool = Field(default=True, description="shown to the end user (timeline + notification feed)")


@dataclass(frozen=True)
class StoredEvent:
    """A timeline event as stored: `key` is unique within its submission (the sort key's suffix)."""

    submission_id: str
    key: str
    event: TimelineEvent

    @property
    def feed_id(self) -> str:
        return f"{self.submission_id}.{self.key}"


# ---------------------------------------------------------------------------------------------- API answers
class SubmitAccepted(BaseModel):
    id: str
    status: Literal["queued", "creating", "created", "blocked", "failed"]
    receipt: str


class TimelineItem(BaseModel):
    at: datetime
    event: str
    text: str


class SubmissionView(BaseModel):
    """GET /v1/tickets/{id}: what the agent may see of its submission."""

    id: str
    status: SubmissionStatus
    ticket_id: int | None = None
    ticket_number: str | None = None
    message: str | None = None
    timeline: list[TimelineItem] = Field(default_factory=list)
    updated_at: datetime

    @classmethod
    def of(cls, submission: Submission, events: list[TimelineEvent]) -> SubmissionView:
        return cls(
            id=submission.submission_id,
            status=submission.status,
            ticket_id=submission.ticket_id,
            ticket_number=submission.ticket_number,
            message=submission.message,
            timeline=[TimelineItem(at=e.at, event=e.event, text=e.text) for e in events if e.visible],
            updated_at=submission.updated_at,
        )
