"""Parsing Extension Callouts in every data format and verifying signed webhooks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.notifications.inbound import (
    MAX_BODY_BYTES,
    MalformedPayload,
    PayloadTooLarge,
    parse_callout,
    parse_webhook,
    signature_of,
    verify_signature,
)

OBSERVED = (
    b"id=7865&number=T20191029.0002&status=New&created_datetime=2019-10-29T14:14:47.64300000-04:00:00"
    b"&last_activity_datetime=2019-10-30T15:06:38.58300000-04:00:00"
)


def test_the_observed_name_value_pair_callout_gives_the_ticket() -> None:
    got = parse_callout(OBSERVED, "application/x-www-form-urlencoded")
    assert got.ticket_id == 7865 and got.ticket_number == "T20191029.0002" and got.status == "New"
    assert got.last_activity == "2019-10-30T15:06:38.58300000-04:00:00" and got.data_format == "form"


@pytest.mark.parametrize(
    "body",
    [
        b"ID=42&Number=T1",
        b"TicketID=42&TicketNumber=T1&Extra=yes",
        b"ticket_id=42&ticket_number=T1",
        b"Ticket+ID=42",
        b"TICKETID=42&unknown_field=&more=1",
        b"id=42.0",
    ],
)
def test_other_casings_names_and_extra_fields_are_accepted(body: bytes) -> None:
    assert parse_callout(body, "application/x-www-form-urlencoded").ticket_id == 42


def test_json_and_xml_data_formats_are_accepted() -> None:
    assert parse_callout(b'{"TicketID": 9, "TicketNumber": "T9", "Status": "Complete"}', "application/json").status == (
        "Complete"
    )
    assert parse_callout(b'{"ticket": {"id": "9", "number": "T9"}}', "application/json").ticket_id == 9
    xml = b"<?xml version='1.0'?><Ticket><ID>11</ID><Number>T11</Number><Status>In Progress</Status></Ticket>"
    got = parse_callout(xml, "text/xml")
    assert (got.ticket_id, got.ticket_number, got.status, got.data_format) == (11, "T11", "In Progress", "xml")
    pairs = b"<root><NameValuePair><Name>id</Name><Value>12</Value></NameValuePair></root>"
    assert parse_callout(pairs, "application/xml").ticket_id == 12
    assert parse_callout(b'<ticket id="13" number="T13"/>', "").ticket_id == 13


def test_the_format_is_sniffed_when_the_content_type_is_missing_or_generic() -> None:
    assert parse_callout(b'{"id": 5}', "").ticket_id == 5
    assert parse_callout(b"<t><id>5</id></t>", "text/plain").ticket_id == 5
    assert parse_callout(b"id=5", "").ticket_id == 5


def test_a_webhook_shaped_body_at_the_callout_url_uses_the_notes_ticket() -> None:
    body = json.dumps({"Action": "Create", "EntityType": "TicketNote", "Id": 900, "Fields": {"ticketID": 77}})
    assert parse_callout(body.encode(), "application/json").ticket_id == 77


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"hello world",
        b"number=T1&status=New",
        b"id=abc",
        b"id=-4",
        b"id=0",
        b"id=99999999999999999999",
        b"{not json",
        b"[1,2,3]",
        b"<unclosed>",
        b"\xff\xfe\x00garbage\x00",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><t><id>&a;</id></t>',
    ],
)
def test_garbage_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_callout(body, "")


def test_a_body_over_the_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_callout(b"id=1&x=" + b"a" * MAX_BODY_BYTES, "")


@given(
    st.binary(max_size=400), st.sampled_from(["", "application/json", "text/xml", "application/x-www-form-urlencoded"])
)
def test_any_bytes_either_parse_or_are_malformed(body: bytes, content_type: str) -> None:
    try:
        got = parse_callout(body, content_type)
    except MalformedPayload:
        return
    assert got.ticket_id > 0


# ------------------------------------------------------------------------------------------------ webhooks
SECRET = "s3cret-webhook-key"
TICKET_HOOK = json.dumps(
    {
        "Action": "Update",
        "Guid": "0f5c1f9e",
        "EntityType": "Ticket",
        "Id": 321,
        "Fields": {"status": 8, "ticketNumber": "T1"},
        "EventTime": "2026-11-26T10:00:00Z",
        "SequenceNumber": 4,
        "PersonID": 29682890,
    },
    separators=(",", ":"),
).encode()


def test_the_autotask_signature_verifies_and_any_change_does_not() -> None:
    header = signature_of(SECRET, TICKET_HOOK)
    assert header.startswith("sha1=")
    assert verify_signature(SECRET, TICKET_HOOK, header)
    assert verify_signature(SECRET, TICKET_HOOK, header.removeprefix("sha1="))  # bare base64
    assert not verify_signature(SECRET, TICKET_HOOK + b" ", header)
    assert not verify_signature("other", TICKET_HOOK, header)
    assert not verify_signature(SECRET, TICKET_HOOK, None)
    assert not verify_signature(SECRET, TICKET_HOOK, "")
    assert not verify_signature(SECRET, TICKET_HOOK, "sha1=not base64!")
    assert not verify_signature("", TICKET_HOOK, header)


def test_a_hex_signature_is_accepted_too() -> None:
    import hashlib
    import hmac

    hexdigest = hmac.new(SECRET.encode(), TICKET_HOOK, hashlib.sha1).hexdigest()
    assert verify_signature(SECRET, TICKET_HOOK, f"sha1={hexdigest}")


def test_ticket_and_note_webhooks_name_their_ticket() -> None:
    ticket = parse_webhook(TICKET_HOOK)
    assert (ticket.entity_type, ticket.action, ticket.ticket_id, ticket.relevant) == ("Ticket", "Update", 321, True)
    note = parse_webhook(
        b'{"Action":"Create","Guid":"g","EntityType":"TicketNote","Id":55,"Fields":{"ticketID":321,"publish":1}}'
    )
    assert (note.entity_id, note.ticket_id, note.relevant) == (55, 321, True)


def test_deletes_and_other_entities_are_not_relevant() -> None:
    assert not parse_webhook(b'{"Action":"Delete","EntityType":"Ticket","Id":3}').relevant
    assert not parse_webhook(b'{"Action":"Create","EntityType":"Company","Id":3}').relevant


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"id=3",
        b"[]",
        b'{"EntityType":"Ticket","Id":3}',
        b'{"Action":"Update","Id":3}',
        b'{"Action":"Update","EntityType":"Ticket","Id":"x"}',
        b'{"Action":"Create","EntityType":"TicketNote","Id":5,"Fields":{}}',
    ],
)
def test_malformed_webhooks(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_webhook(body)
