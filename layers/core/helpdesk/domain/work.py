"""Messages on the work queue (intake -> dispatcher, callout -> dispatcher): the queue's contract."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Work(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str = Field(min_length=1, max_length=64)
    # Attempts made on earlier copies of this message: a copy re-sent because its tenant held its whole share of
    # the dispatcher (helpdesk.dispatch.fairness) keeps the count, so deferring never resets the retry bound.
    attempts: int = Field(default=0, ge=0, le=1000)
    # How often this message was deferred so far (its next deferral waits longer: less churn on the queue).
    deferrals: int = Field(default=0, ge=0, le=1000)


class SubmissionWork(_Work):
    """Create the Autotask ticket (and its note and attachments) for one stored submission."""

    kind: Literal["submission"] = "submission"
    submission_id: str = Field(min_length=1, max_length=64)


class SyncWork(_Work):
    """Re-read an Autotask ticket after a callout or webhook and append timeline events."""

    kind: Literal["sync"] = "sync"
    ticket_id: int = Field(gt=0)
    reason: str = Field(default="callout", max_length=32)


WorkMessage = Annotated[SubmissionWork | SyncWork, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[SubmissionWork | SyncWork] = TypeAdapter(WorkMessage)


def parse_work(body: str) -> SubmissionWork | SyncWork:
    """Parse a queue message body; raises pydantic.ValidationError for anything else."""
    return _ADAPTER.validate_json(body)


def dump_work(message: SubmissionWork | SyncWork) -> str:
    zero = {name for name in ("attempts", "deferrals") if getattr(message, name) == 0}
    return message.model_dump_json(exclude=zero or None)
