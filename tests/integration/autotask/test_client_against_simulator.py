"""The Autotask client against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from devstack.autotask_sim import DEMO, NORTHWIND, AutotaskSimulator
from devstack.autotask_sim import seed as s
from helpdesk.autotask import AutotaskClient, AutotaskSettings, RequestEvent
from helpdesk.autotask import errors as e
from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.client import AttachmentBudget
from helpdesk.autotask.limiter import NullLimiter
from helpdesk.autotask.models import Zone

from .conftest import MakeClient, Sleeps

TICKET = {"companyID": s.CONTOSO_ID, "priority": 5, "status": 1, "title": "Printer on fire"}


def all_tickets(sim: AutotaskSimulator) -> list[dict[str, object]]:
    return sim.tickets("demo")


# ------------------------------------------------------------------------------------------ zone


def test_zone_is_discovered_once_and_cached(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    zone = client.zone()
    assert zone.url == f"{sim.base_url}/ATServicesRest/"
    assert zone.ci == DEMO.ci
    client.get_company(0)
    client.get_company(s.CONTOSO_ID)
    assert sim.request_count("GET /V1.0/ZoneInformation") == 1


def test_each_tenant_reaches_its_own_database(sim: AutotaskSimulator, make_client: MakeClient) -> None:
    demo, nw = make_client(DEMO), make_client(NORTHWIND)
    assert demo.zone().ci != nw.zone().ci
    t1 = demo.create_ticket({**TICKET, "externalID": "same"})
    nw.create_ticket({**TICKET, "externalID": "same"})
    found = demo.find_ticket_by_external_id("same")
    assert found is not None and found.id == t1
    assert sim.stats()["requests_by_database"].keys() == {"demo", "northwind"}


def test_a_zone_url_outside_the_host_pattern_gets_no_credentials(
    sim: AutotaskSimulator, make_client: MakeClient, settings: AutotaskSettings
) -> None:
    strict = replace(settings, host_pattern=r"webservices\d*\.autotask\.net")
    client = make_client(settings=strict)
    with pytest.raises(e.UntrustedEndpoint):
        client.get_company(0)
    assert sim.stats()["requests_by_database"] == {}  # no authenticated request reached the simulator


def test_a_401_re_resolves_the_zone_once_and_repeats_in_the_new_zone(
    sim: AutotaskSimulator, make_client: MakeClient, settings: AutotaskSettings
) -> None:
    # Given a stale cached zone on another (allowed) host where these credentials are refused
    old = AutotaskSimulator()
    old.start()
    try:
        old.world.databases["demo"].users[DEMO.username.lower()] = "rotated-elsewhere"
        wide = replace(settings, host_pattern=r"127\.0\.0\.1:\d+")
        cache: TTLCache[tuple[str, str], Zone] = TTLCache(3600)
        client = make_client(settings=wide, zone_cache=cache)
        cache.put(client._zone_key(), Zone(url=old.zone_url, ci=DEMO.ci))
        # When the client reads
        company = client.get_company(s.CONTOSO_ID)
        # Then one 401 in the old zone, one fresh zone lookup, and the repeat succeeded in the right zone
        assert company is not None and company.company_name == "Contoso Ltd."
        assert old.request_count("GET /V1.0/Companies/{id}") == 1
        assert sim.request_count("GET /V1.0/ZoneInformation") == 1
        assert sim.request_count("GET /V1.0/Companies/{id}") == 1
    finally:
        old.stop()


# ------------------------------------------------------------------------------------------ auth


def test_wrong_password_is_an_authentication_error_after_one_zone_recheck(
    sim: AutotaskSimulator, make_client: MakeClient
) -> None:
    client = make_client(api_key=f"{DEMO.username}:wrong")
    with pytest.raises(e.AuthenticationError) as exc:
        client.get_company(0)
    assert exc.value.status == 401 and not exc.value.retryable
    assert exc.value.user_message == "There was an error authenticating with the current credentials."
    assert sim.request_count("GET /V1.0/ZoneInformation") == 2  # re-resolved once, zone unchanged: no repeat
    assert sim.request_count("GET /V1.0/Companies/{id}") == 1


def test_wrong_integration_code_is_an_authentication_error(make_client: MakeClient) -> None:
    with pytest.raises(e.InvalidIntegrationCode) as exc:
        make_client(integration_code="NOTTHECODE").get_company(0)
    assert isinstance(exc.value, e.AuthenticationError)
    assert exc.value.status == 500 and exc.value.errors == ("IntegrationCode is invalid.",)


def test_unknown_api_user_is_a_zone_error(make_client: MakeClient) -> None:
    with pytest.raises(e.ZoneNotFound) as exc:
        make_client(api_key="nobody@nowhere.example:pw").get_company(0)
    assert isinstance(exc.value, e.AuthenticationError)
    assert "Zone information could not be determined" in str(exc.value)


# --------------------------------------------------------------------------------- reads & paging


def test_contact_lookup_covers_all_three_addresses_case_insensitively(client: AutotaskClient) -> None:
    alice = client.find_contact_by_email("Alice@Contoso.com")
    assert alice is not None and alice.id == 30682001 and alice.company_id == s.CONTOSO_ID
    bob = client.find_contact_by_email("robert.brown@contoso.com")
    assert bob is not None and bob.full_name == "Bob Brown"
    assert client.find_contact_by_email("carol@contoso.com") is None  # inactive
    carol = client.find_contact_by_email("carol@contoso.com", active_only=False)
    assert carol is not None and carol.is_active is False
    assert client.find_contact_by_email("nobody@contoso.com") is None
    unreg = client.find_contact_by_email(s.UNREGISTERED_EMAIL)
    assert unreg is not None and unreg.company_id == s.MSP_COMPANY_ID and unreg.full_name == "Unregistered User"


def test_companies_and_configuration_items(client: AutotaskClient) -> None:
    msp = client.get_company(0)
    assert msp is not None and msp.id == 0
    assert client.get_company(424242) is None
    ci = client.find_configuration_item("contoso-pc1", s.CONTOSO_ID)
    assert ci is not None and ci.id == 40001
    assert client.find_configuration_item("CONTOSO-PC2", s.CONTOSO_ID) is None  # inactive
    assert client.find_configuration_item("CONTOSO-PC1", s.FABRIKAM_ID) is None  # other company
    shared = client.find_configuration_item("SHARED-PC", s.FABRIKAM_ID)
    assert shared is not None and shared.id == 40004


def test_paging_follows_next_page_urls_over_500_rows(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    sim.add_contacts("demo", 1203)
    rows = client.query("Contacts", [{"op": "beginsWith", "field": "emailAddress", "value": "BULK"}])
    ids = [r["id"] for r in rows]
    assert len(ids) == 1203 and len(set(ids)) == 1203 and ids == sorted(ids)
    assert sim.request_count("POST /V1.0/Contacts/query") == 1
    assert sim.request_count("POST /V1.0/Contacts/query/next") == 2
    slim = client.query("Contacts", [{"op": "exist", "field": "emailAddress"}], include_fields=["emailAddress"])
    assert len(slim) == 1203 + 5 and set(slim[0]) == {"id", "emailAddress"}
    assert len(client.query("Contacts", [{"op": "gte", "field": "id", "value": 0}], limit=600)) == 600


def test_not_found_reads_return_none_for_both_autotask_shapes(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    assert client.get_ticket(123) is None  # {"item": null}
    sim.missing_item_404 = True
    assert client.get_ticket(123) is None  # 404
    assert client.get_contact(1) is None
    with pytest.raises(e.ItemNotFound):
        client._call("GET", "NoSuchEntity/1", entity="NoSuchEntity")


# ------------------------------------------------------------------------------------- picklists


def test_ticket_picklists_map_labels_like_the_tenant_defines_them(
    sim: AutotaskSimulator, client: AutotaskClient
) -> None:
    p = client.ticket_picklists()
    assert p.resolve("priority", "HIGH") == 5 and p.resolve("priority", "critical") == 1
    assert [v.int_value for v in p.values("priority")] == [6, 1, 5, 2, 3]
    assert p.resolve("priority", "Obsolete") is None
    assert p.resolve("status", "waiting customer") == 7
    assert p.resolve("queueID", "Tier 2 Support") == 29682969
    assert p.resolve("subIssueType", "Printer", parent=s.ISSUE["Network"]) == 31
    assert p.resolve("subIssueType", "Printer", parent=s.ISSUE["Hardware"]) == 13
    assert p.resolve("subIssueType", "VPN", parent=s.ISSUE["Network"]) is None
    client.ticket_picklists()
    assert sim.request_count("GET /V1.0/Tickets/entityInformation/fields") == 1  # cached per tenant
    notes = client.note_picklists()
    assert notes.resolve("publish", "all autotask users") == 1


def test_resolved_picklist_values_are_accepted_by_ticket_create(client: AutotaskClient) -> None:
    p = client.ticket_picklists()
    issue = p.resolve("issueType", "Network")
    fields = {
        **TICKET,
        "priority": p.resolve("priority", "Urgent"),
        "status": p.resolve("status", "New"),
        "queueID": p.resolve("queueID", "Tier 1 Support"),
        "issueType": issue,
        "subIssueType": p.resolve("subIssueType", "Wi-Fi", parent=issue),
        "source": p.resolve("source", "Helpdesk Button"),
        "ticketType": p.resolve("ticketType", "Incident"),
        "ticketCategory": p.resolve("ticketCategory", "Helpdesk Buttons"),
        "billingCodeID": s.WORK_TYPE_REMOTE,
        "contactID": 30682001,
        "configurationItemID": 40001,
        "externalID": "sub-picklists",
        "description": "It is on fire.",
    }
    ticket = client.get_ticket(client.create_ticket(fields))
    assert ticket is not None
    assert (ticket.priority, ticket.sub_issue_type, ticket.queue_id) == (6, 30, 29682833)
    assert ticket.ticket_number and ticket.ticket_number.startswith("T")


# ------------------------------------------------------------------------------ tickets & notes


def test_ticket_lifecycle_create_find_update_notes_attachment(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    tid = client.create_ticket({**TICKET, "externalID": "sub-42"})
    found = client.find_ticket_by_external_id("sub-42")
    assert found is not None and found.id == tid and found.external_id == "sub-42"
    assert client.find_ticket_by_external_id("sub-43") is None
    client.update_ticket(tid, {"status": 8})
    ticket = client.get_ticket(tid)
    assert ticket is not None and ticket.status == 8
    start = datetime.now(UTC) - timedelta(seconds=5)
    first = client.create_ticket_note(tid, "Machine report", "internal", publish=2)
    second = client.create_ticket_note(tid, "Reply", "public")
    assert [n.id for n in client.list_ticket_notes(tid)] == [first, second]
    assert [n.id for n in client.list_ticket_notes(tid, published_only=True)] == [second]
    assert [n.id for n in client.list_ticket_notes(tid, since_id=first)] == [second]
    assert len(client.list_ticket_notes(tid, since=start)) == 2
    assert client.list_ticket_notes(tid, since=datetime.now(UTC) + timedelta(hours=1)) == []
    aid = client.create_ticket_attachment(tid, "screen.png", b"\x89PNG data", title="Screenshot")
    assert sim.attachment_data("demo", aid) == b"\x89PNG data"
    stored = all_tickets(sim)[0]
    assert [n["publish"] for n in stored["notes"]] == [2, 1]  # type: ignore[index]
    assert stored["attachments"][0]["title"] == "Screenshot"  # type: ignore[index]


def test_threshold_information(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    client.get_company(0)
    t = client.threshold()
    assert t.external_request_threshold == 10_000 and t.request_threshold_timeframe == 60
    assert t.current_timeframe_request_count >= 2 and 0 < t.usage < 0.01


def test_webhooks_with_fields_become_ready(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    ids = client.ticket_webhook_field_ids()
    wid = client.create_ticket_webhook("Helpdesk Buttons", "http://127.0.0.1:9/hook", "k" * 20)
    hook = client.get_ticket_webhook(wid)
    assert hook is not None and hook.is_active and not hook.is_ready
    client.create_ticket_webhook_field(wid, ids["status"])
    hook = client.get_ticket_webhook(wid)
    assert hook is not None and hook.is_ready and hook.webhook_guid
    nid = client.create_ticket_note_webhook("Notes", "http://127.0.0.1:9/hook", "k" * 20)
    client.create_ticket_note_webhook_field(nid, client.ticket_note_webhook_field_ids()["description"])
    note_hook = client.get_ticket_note_webhook(nid)
    assert note_hook is not None and note_hook.is_ready
    client.delete_ticket_webhook(wid)
    assert client.get_ticket_webhook(wid) is None


# ----------------------------------------------------------------------------------------- errors


def test_validation_errors_are_permanent_and_keep_autotasks_text(client: AutotaskClient) -> None:
    with pytest.raises(e.ValidationError_) as exc:
        client.create_ticket({**TICKET, "priority": 4})  # inactive priority
    assert not exc.value.retryable and not exc.value.maybe_committed
    assert "priority" in exc.value.autotask_message
    with pytest.raises(e.ValidationError_, match="title is required"):
        client.create_ticket({"companyID": s.CONTOSO_ID, "priority": 2, "status": 1})
    with pytest.raises(e.ValidationError_):
        client.create_ticket({**TICKET, "issueType": 4, "subIssueType": 31})  # sub-issue of another parent
    with pytest.raises(e.ValidationError_):
        client.query("Contacts", [{"op": "eq", "field": "id", "value": 1}], max_records=501)


def test_permission_errors(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    sim.set_faults("demo", permission_denied_rate=1.0)
    with pytest.raises(e.PermissionError_) as exc:
        client.get_company(0)
    assert exc.value.user_message == "There was an error involving permissions in your PSA."
    assert sim.request_count("GET /V1.0/Companies/{id}") == 1  # not retried


def test_throttling_is_retried_honouring_retry_after_then_surfaces(
    sim: AutotaskSimulator, client: AutotaskClient, sleeps: Sleeps
) -> None:
    sim.set_faults("demo", throttle_rate=1.0, retry_after=2.0)
    with pytest.raises(e.Throttled) as exc:
        client.get_company(0)
    assert type(exc.value) is e.Throttled and exc.value.retry_after == 2.0 and exc.value.retryable
    assert sim.request_count("GET /V1.0/Companies/{id}") == 3
    assert len(sleeps) == 2 and all(x >= 2.0 for x in sleeps)


def test_thread_limit_errors_are_retryable_throttles(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    sim.set_faults("demo", thread_limit_rate=1.0, count=1)
    assert client.get_company(0) is not None  # retried after one thread-limit answer
    sim.set_faults("demo", thread_limit_rate=1.0)
    with pytest.raises(e.ThreadLimitExceeded) as exc:
        client.get_company(0)
    assert isinstance(exc.value, e.Throttled) and exc.value.retryable


def test_server_errors_and_outages_are_transient(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    sim.set_faults("demo", error_rate=1.0)
    with pytest.raises(e.TransientError) as exc:
        client.get_company(0)
    assert exc.value.retryable and exc.value.status == 500
    sim.set_faults("demo", outage_seconds=60)
    with pytest.raises(e.TransientError) as exc2:
        client.get_company(0)
    assert exc2.value.status == 503


def test_timeouts_are_reported_as_timeouts(sim: AutotaskSimulator, make_client: MakeClient) -> None:
    client = make_client(timeout=(1.0, 0.3), max_attempts=1)
    client.zone()
    sim.set_faults("demo", latency_ms=800)
    with pytest.raises(e.EndpointTimeout) as exc:
        client.get_company(0)
    assert exc.value.user_message == "API endpoint timed out." and exc.value.retryable


def test_connection_refused_is_transient(make_client: MakeClient, settings: AutotaskSettings) -> None:
    dead = replace(settings, zone_url="http://127.0.0.1:9/atservicesrest/v1.0/zoneInformation")
    with pytest.raises(e.TransientError) as exc:
        make_client(settings=dead, max_attempts=1).zone()
    assert exc.value.user_message == "There was an error accessing the API endpoint."


def test_attachment_limits(sim: AutotaskSimulator, client: AutotaskClient, make_client: MakeClient) -> None:
    tid = client.create_ticket(TICKET)
    with pytest.raises(e.AttachmentTooLarge):
        client.create_ticket_attachment(tid, "big.bin", b"x" * (6 * 1024 * 1024 + 1))
    client.create_ticket_attachment(tid, "a.bin", b"a" * 5_000_000)
    client.create_ticket_attachment(tid, "b.bin", b"b" * 5_000_000)
    with pytest.raises(e.AttachmentQuotaExceeded) as exc:
        client.create_ticket_attachment(tid, "c.bin", b"c")
    assert exc.value.retry_after and exc.value.retry_after > 0
    assert sim.request_count("POST /V1.0/Tickets/{parentId}/Attachments") == 2
    # The simulator enforces the same window even for a client that does not track it
    other = make_client(attachment_budget=AttachmentBudget(limit=10**12))
    with pytest.raises(e.AttachmentQuotaExceeded):
        other.create_ticket_attachment(tid, "d.bin", b"d")


# ------------------------------------------------------------------------------- retry discipline


def test_reads_are_retried_with_backoff(sim: AutotaskSimulator, client: AutotaskClient, sleeps: Sleeps) -> None:
    tid = client.create_ticket(TICKET)
    sim.set_faults("demo", error_rate=1.0, count=2, entities=["Tickets"], methods=["GET"])
    ticket = client.get_ticket(tid)
    assert ticket is not None and ticket.id == tid
    assert sim.request_count("GET /V1.0/Tickets/{id}") == 3
    assert len(sleeps) == 2 and all(0 <= x <= 8.0 for x in sleeps)


def test_a_create_that_fails_with_5xx_is_sent_exactly_once(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    client.zone()
    sim.set_faults("demo", error_rate=1.0, count=1, entities=["Tickets"], methods=["POST"])
    with pytest.raises(e.TransientError) as exc:
        client.create_ticket({**TICKET, "externalID": "sub-5xx"})
    assert exc.value.maybe_committed and exc.value.retryable
    assert sim.request_count("POST /V1.0/Tickets") == 1
    assert client.find_ticket_by_external_id("sub-5xx") is None  # the caller checks before re-creating


def test_a_create_whose_answer_is_lost_is_sent_once_and_found_by_external_id(
    sim: AutotaskSimulator, client: AutotaskClient
) -> None:
    client.zone()
    sim.set_faults("demo", drop_after_commit_rate=1.0, count=1)
    with pytest.raises(e.TransientError) as exc:
        client.create_ticket({**TICKET, "externalID": "sub-dropped"})
    assert exc.value.maybe_committed
    assert sim.request_count("POST /V1.0/Tickets") == 1
    found = client.find_ticket_by_external_id("sub-dropped")
    assert found is not None  # committed: the caller must not create it again
    assert len(all_tickets(sim)) == 1


def test_a_create_that_times_out_is_not_retried(sim: AutotaskSimulator, make_client: MakeClient) -> None:
    client = make_client(timeout=(1.0, 0.3))
    client.zone()
    sim.set_faults("demo", latency_ms=700, entities=["Tickets"], methods=["POST"])
    with pytest.raises(e.EndpointTimeout) as exc:
        client.create_ticket({**TICKET, "externalID": "sub-slow"})
    assert exc.value.maybe_committed
    assert sim.request_count("POST /V1.0/Tickets") == 1


def test_notes_and_attachments_are_not_retried_either(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    tid = client.create_ticket(TICKET)
    sim.set_faults("demo", error_rate=1.0, entities=["TicketNotes", "TicketAttachments"], methods=["POST"])
    with pytest.raises(e.TransientError):
        client.create_ticket_note(tid, "t", "d")
    with pytest.raises(e.TransientError):
        client.create_ticket_attachment(tid, "f.txt", b"x")
    assert sim.request_count("POST /V1.0/Tickets/{parentId}/Notes") == 1
    assert sim.request_count("POST /V1.0/Tickets/{parentId}/Attachments") == 1


# ----------------------------------------------------------------------------- concurrency & stats


def _hammer(client: AutotaskClient, tid: int, threads: int = 10, each: int = 3) -> list[BaseException]:
    failures: list[BaseException] = []

    def work() -> None:
        for _ in range(each):
            try:
                client.get_ticket(tid)
            except BaseException as exc:
                failures.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    return failures


def test_the_client_keeps_at_most_three_requests_in_flight_per_entity(
    sim: AutotaskSimulator, client: AutotaskClient
) -> None:
    tid = client.create_ticket(TICKET)
    sim.set_faults("demo", latency_ms=100)
    failures = _hammer(client, tid)
    stats = sim.stats()
    assert failures == []
    assert stats["max_concurrency"][f"{DEMO.integration_code}|Tickets"] == 3  # parallel, but never more
    assert stats["thread_limit_errors"] == 0


def test_without_the_limiter_the_simulator_enforces_autotasks_thread_limit(
    sim: AutotaskSimulator, make_client: MakeClient
) -> None:
    client = make_client(limiter=NullLimiter(), max_attempts=1)
    tid = client.create_ticket(TICKET)
    sim.set_faults("demo", latency_ms=400)
    failures = _hammer(client, tid, each=1)
    assert sim.stats()["thread_limit_errors"] > 0
    assert failures and all(isinstance(f, e.ThreadLimitExceeded) for f in failures)
    assert sim.stats()["max_concurrency"][f"{DEMO.integration_code}|Tickets"] == 3


def test_requests_are_counted_per_entity_and_reported_to_the_hook(
    sim: AutotaskSimulator, make_client: MakeClient
) -> None:
    events: list[RequestEvent] = []
    client = make_client(on_request=events.append)
    tid = client.create_ticket(TICKET)
    client.get_ticket(tid)
    client.create_ticket_note(tid, "t", "d")
    assert client.stats.by_entity() == {"ZoneInformation": 1, "Tickets": 2, "TicketNotes": 1}
    assert client.stats.total == 4 == len(events)
    assert [(ev.method, ev.entity, ev.status) for ev in events][1:] == [
        ("POST", "Tickets", 200),
        ("GET", "Tickets", 200),
        ("POST", "TicketNotes", 200),
    ]
    assert sum(sim.stats()["requests_by_database"].values()) == 3


def test_entity_information_reports_what_the_api_user_may_do(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    assert client.entity_information("Tickets")["userAccessForCreate"] is True
    sim.set_entity_access("demo", "Tickets", userAccessForCreate=False)
    assert client.entity_information("Tickets")["userAccessForCreate"] is False
    with pytest.raises(e.PermissionError_):
        client.create_ticket(TICKET)


def test_a_throttled_large_upload_gets_the_throttle_answer_not_a_reset(
    sim: AutotaskSimulator, client: AutotaskClient
) -> None:
    tid = client.create_ticket(TICKET)
    sim.set_faults("demo", thread_limit_rate=1.0, entities=["TicketAttachments"])
    with pytest.raises(e.ThreadLimitExceeded) as exc:
        client.create_ticket_attachment(tid, "big.png", b"p" * 4_000_000)
    assert not exc.value.maybe_committed  # refused before anything was stored: safe to retry later
    assert sim.tickets("demo")[0]["attachments"] == []


def test_every_route_the_client_sends_is_in_its_catalogue(sim: AutotaskSimulator, client: AutotaskClient) -> None:
    """A tour of every client method. The simulator names each request by route template, and rejects any field
    not in its Swagger-generated catalogue, so this also proves the bodies and filters use Swagger names."""
    import re

    from helpdesk.autotask import routes

    contact = client.find_contact_by_email("alice@contoso.com")
    assert contact is not None
    client.get_contact(contact.id)
    client.get_company(s.CONTOSO_ID)
    client.find_configuration_item("CONTOSO-PC1", s.CONTOSO_ID)
    client.billing_codes()
    tid = client.create_ticket({**TICKET, "externalID": "tour"})
    client.find_ticket_by_external_id("tour")
    client.get_ticket(tid)
    client.update_ticket(tid, {"status": 8})
    client.create_ticket_note(tid, "t", "d")
    client.list_ticket_notes(tid, since_id=0, since=datetime.now(UTC) - timedelta(days=1), published_only=True)
    client.create_ticket_attachment(tid, "f.txt", b"x")
    assert [a.full_path for a in client.find_ticket_attachments(tid)] == ["f.txt"]
    client.get_resource(1)
    client.ticket_picklists()
    client.note_picklists()
    client.threshold()
    for entity in ("Tickets", "TicketNotes", "TicketAttachments", "Contacts", "Companies", "ConfigurationItems"):
        client.entity_information(entity)
    wid = client.create_ticket_webhook("w", "http://127.0.0.1:9/", "secret-key-1")
    client.create_ticket_webhook_field(wid, client.ticket_webhook_field_ids()["status"])
    client.get_ticket_webhook(wid)
    client.delete_ticket_webhook(wid)
    nid = client.create_ticket_note_webhook("n", "http://127.0.0.1:9/", "secret-key-1")
    client.create_ticket_note_webhook_field(nid, client.ticket_note_webhook_field_ids()["description"])
    client.get_ticket_note_webhook(nid)
    client.delete_ticket_note_webhook(nid)

    def norm(method: str, path: str) -> tuple[str, str]:
        return method, re.sub(r"\{[^}]*\}", "{}", path).lower()

    catalogue = {norm(m, p) for m, p in routes.ROUTES}
    sent = {norm(*k.split(" ", 1)) for k in sim.stats()["requests_by_endpoint"]}
    assert sent - catalogue == set()
    assert catalogue - sent == set()  # and the catalogue lists nothing the client never sends
