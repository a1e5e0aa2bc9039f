"""IntakeService on in-memory fakes: idempotent submit, conflicts, files, enqueue recovery, status."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.domain.submission import MAX_ATTACHMENT_BYTES, SubmissionRequest, SubmissionStatus, receipt_for
from helpdesk.intake.service import (
    REQUEUE_AFTER,
    IntakeService,
    InvalidUpload,
    NotFound,
    SubmissionConflict,
    TooLarge,
)
from tests.unit.dispatch.fakes import DictBlobs, InMemorySubmissions, Killed, ListQueue


def inline_key(t: str, s: str, i: int, f: str, body: str = "") -> str:
    return f"attachments/{t}/{s}/{i:02d}-{f}"


def upload_key(t: str, s: str, u: str) -> str:
    return f"uploads/{t}/{s}/{u}"


def make(queue: ListQueue | None = None) -> tuple[IntakeService, InMemorySubmissions, DictBlobs, ListQueue]:
    subs, blobs, q = InMemorySubmissions(), DictBlobs(), queue or ListQueue()
    return IntakeService(subs, blobs, q, inline_key=inline_key, upload_key=upload_key), subs, blobs, q


def request(**over: Any) -> SubmissionRequest:
    body: dict[str, Any] = {
        "submission_id": "sub-0001-abcd",
        "contact": {"name": "Ann", "email": "ann@contoso.com"},
        "machine": {"hostname": "PC"},
        "msg": "help me",
    }
    body.update(over)
    return SubmissionRequest.model_validate(body)


def test_submit_is_idempotent_and_queues_once() -> None:
    service, subs, _, queue = make()
    first = service.submit("acme", request(), token="hbk_a")
    again = service.submit("acme", request(), token="hbk_a")
    assert first == again and first.status == "queued" and len(queue.sent) == 1
    assert subs.get("acme", "sub-0001-abcd").enqueued  # type: ignore[union-attr]
    assert [e.event for e in subs.list_events("acme", "sub-0001-abcd")] == ["queued"]


def test_a_crash_before_queueing_is_repaired_by_the_retry() -> None:
    service, subs, _, queue = make(ListQueue(fail_times=1))
    with pytest.raises(RuntimeError):
        service.submit("acme", request(), token="hbk_a")
    assert subs.get("acme", "sub-0001-abcd") is not None and queue.sent == []
    service.submit("acme", request(), token="hbk_a")
    assert len(queue.sent) == 1


def test_a_killed_invocation_between_write_and_send_is_requeued_once_by_a_later_read_or_retry() -> None:
    # Given an intake invocation that dies after the submission was written and before the message was sent
    now = [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)]
    subs, blobs, queue = InMemorySubmissions(), DictBlobs(), ListQueue(die_times=1)
    subs.clock = lambda: now[0]
    service = IntakeService(subs, blobs, queue, inline_key=inline_key, upload_key=upload_key, now=lambda: now[0])
    with pytest.raises(Killed):
        service.submit("acme", request(), token="hbk_a")
    receipt = receipt_for("hbk_a", "acme", "sub-0001-abcd")
    # A retry or read while that invocation may still be running sends nothing (it may yet send)
    assert service.submit("acme", request(), token="hbk_a").status == "queued"
    assert service.status("acme", "sub-0001-abcd", receipt).status.value == "queued"
    assert queue.sent == []
    # Once it must have ended, the next status read re-sends the work message, and only once
    now[0] += REQUEUE_AFTER
    service.status("acme", "sub-0001-abcd", receipt)
    service.status("acme", "sub-0001-abcd", receipt)
    service.submit("acme", request(), token="hbk_a")
    assert [m.submission_id for m in queue.sent] == ["sub-0001-abcd"]


def test_a_submission_a_dispatcher_picked_up_is_never_requeued_by_intake() -> None:
    now = [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)]
    subs, blobs, queue = InMemorySubmissions(), DictBlobs(), ListQueue()
    subs.clock = lambda: now[0]
    service = IntakeService(subs, blobs, queue, inline_key=inline_key, upload_key=upload_key, now=lambda: now[0])
    service.submit("acme", request(), token="hbk_a")
    claimed = subs.get("acme", "sub-0001-abcd")
    assert claimed is not None
    subs.save(claimed.model_copy(update={"attempts": 1, "status": SubmissionStatus.CREATING}))
    now[0] += 10 * REQUEUE_AFTER
    service.submit("acme", request(), token="hbk_a")
    service.status("acme", "sub-0001-abcd", receipt_for("hbk_a", "acme", "sub-0001-abcd"))
    assert len(queue.sent) == 1


def test_same_id_other_body_is_a_conflict() -> None:
    service, *_ = make()
    service.submit("acme", request(), token="hbk_a")
    with pytest.raises(SubmissionConflict):
        service.submit("acme", request(msg="other"), token="hbk_a")


def test_a_rotated_key_gets_a_receipt_that_works_too() -> None:
    service, *_ = make()
    old = service.submit("acme", request(), token="hbk_old").receipt
    new = service.submit("acme", request(), token="hbk_new").receipt
    assert old != new
    assert service.status("acme", "sub-0001-abcd", old).status.value == "queued"
    assert service.status("acme", "sub-0001-abcd", new).status.value == "queued"
    with pytest.raises(NotFound):
        service.status("acme", "sub-0001-abcd", "hbr_sub-0001-abcd.forged")
    with pytest.raises(NotFound):
        service.status("other", "sub-0001-abcd", old)


def test_inline_files_are_stored_and_uploads_must_exist() -> None:
    service, subs, blobs, _ = make()
    png = base64.b64encode(b"png").decode()
    service.submit(
        "acme", request(attachments=[{"filename": "a.png", "content_type": "image/png", "data_base64": png}]), token="k"
    )
    assert blobs.data == {"attachments/acme/sub-0001-abcd/00-a.png": b"png"}
    assert subs.get("acme", "sub-0001-abcd").attachments[0].size == 3  # type: ignore[union-attr]
    upload = {"filename": "r.zip", "content_type": "application/zip", "upload_id": "upl_" + "a" * 32}
    with pytest.raises(InvalidUpload):
        service.submit("acme", request(submission_id="sub-0002-abcd", attachments=[upload]), token="k")
    assert subs.get("acme", "sub-0002-abcd") is None


def test_too_large_uploads_store_nothing() -> None:
    service, subs, blobs, _ = make()
    uploads = []
    for n in range(4):
        upload_id = f"upl_{n:032d}"
        blobs.data[upload_key("acme", "sub-0001-abcd", upload_id)] = b"\0" * MAX_ATTACHMENT_BYTES
        uploads.append({"filename": f"r{n}.zip", "content_type": "application/zip", "upload_id": upload_id})
    png = base64.b64encode(b"png").decode()
    files = [*uploads, {"filename": "a.png", "content_type": "image/png", "data_base64": png}]
    with pytest.raises(TooLarge):
        service.submit("acme", request(attachments=files), token="k")
    assert subs.get("acme", "sub-0001-abcd") is None
    assert not any(k.endswith("a.png") for k in blobs.data)
