"""The submission request model: field-level validation, defaults, fingerprints and receipts."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from helpdesk.domain.submission import (
    MAX_ATTACHMENT_BYTES,
    Submission,
    SubmissionRequest,
    default_subject,
    receipt_for,
    submission_id_of_receipt,
)


def body(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "submission_id": "sub-0001-abcd",
        "contact": {"name": "Ann Smith", "email": "Ann@Contoso.com"},
        "machine": {"hostname": "PC-ANN"},
        "msg": "Printer is broken",
    }
    data.update(over)
    return data


def test_subject_defaults_to_first_50_characters_at_a_word_boundary() -> None:
    msg = "My computer keeps restarting every time I open the accounting application today"
    subject = default_subject(msg)
    assert len(subject) <= 50 and msg.startswith(subject) and not subject.endswith(" ")
    assert subject == "My computer keeps restarting every time I open the"
    assert default_subject("short") == "short"
    assert default_subject("x" * 80) == "x" * 50
    assert SubmissionRequest.model_validate(body(msg=msg)).effective_subject == subject
    assert SubmissionRequest.model_validate(body(subject="Mine")).effective_subject == "Mine"


def test_email_is_validated_and_lower_cased() -> None:
    assert SubmissionRequest.model_validate(body()).contact.email == "ann@contoso.com"
    with pytest.raises(ValidationError) as err:
        SubmissionRequest.model_validate(body(contact={"name": "A", "email": "not-an-email"}))
    assert err.value.errors()[0]["loc"] == ("contact", "email")


@pytest.mark.parametrize(
    "over",
    [
        {"submission_id": "short"},
        {"submission_id": "has spaces in it"},
        {"msg": ""},
        {"msg": "x" * 8001},
        {"unknown": 1},
        {"attachments": [{"filename": "../etc/passwd", "content_type": "text/plain", "data_base64": "aGk="}]},
        {"attachments": [{"filename": "a.exe", "content_type": "application/x-msdownload", "data_base64": "aGk="}]},
        {"attachments": [{"filename": "a.png", "content_type": "image/png", "data_base64": "not base64!"}]},
    ],
)
def test_bad_input_is_refused(over: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SubmissionRequest.model_validate(body(**over))


def test_attachment_over_the_per_file_limit_is_refused() -> None:
    data = base64.b64encode(b"\0" * (MAX_ATTACHMENT_BYTES + 1)).decode()
    with pytest.raises(ValidationError):
        SubmissionRequest.model_validate(
            body(attachments=[{"filename": "a.png", "content_type": "image/png", "data_base64": data}])
        )


def test_fingerprint_is_stable_and_body_sensitive() -> None:
    a = SubmissionRequest.model_validate(body())
    assert a.fingerprint() == SubmissionRequest.model_validate(body()).fingerprint()
    assert a.fingerprint() != SubmissionRequest.model_validate(body(msg="other")).fingerprint()


def test_receipt_is_derived_verifiable_and_names_its_submission() -> None:
    receipt = receipt_for("hbk_secret", "acme", "sub-0001-abcd")
    assert receipt == receipt_for("hbk_secret", "acme", "sub-0001-abcd")
    assert receipt != receipt_for("hbk_other", "acme", "sub-0001-abcd")
    assert submission_id_of_receipt(receipt) == "sub-0001-abcd"
    assert submission_id_of_receipt("garbage") is None
    sub = Submission.from_request("acme", SubmissionRequest.model_validate(body()), [], receipt=receipt)
    assert sub.receipt_matches(receipt)
    assert not sub.receipt_matches(receipt + "x") and not sub.receipt_matches("")
    assert receipt not in sub.model_dump_json()


def test_documents_stored_with_submission_errors_under_resolved_still_load() -> None:
    request = SubmissionRequest.model_validate(body())
    stored = Submission.from_request("acme", request, [], receipt="hbr_x").model_dump(mode="json")
    stored["resolved"]["submission_errors"] = ["priority 'Urgent' is not a valid priority in Autotask"]
    loaded = Submission.model_validate(stored)
    assert loaded.submission_errors == ["priority 'Urgent' is not a valid priority in Autotask"]
    assert loaded.rules_errors == [] and loaded.rules_outcome is None
    assert "submission_errors" not in loaded.resolved.model_dump()
