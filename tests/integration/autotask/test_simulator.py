"""The simulator itself, over raw HTTP: Autotask's shapes, operators, limits, auth, callouts, webhooks, control API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from devstack.autotask_sim import DEMO, NORTHWIND, AutotaskSimulator, SimTenant
from devstack.autotask_sim import seed as s
from devstack.autotask_sim.store import INTEGRATION_CODE_TEXT, MAX_RECORDS_TEXT, THREAD_LIMIT_TEXT, ZONE_TEXT


def headers(t: SimTenant = DEMO, **over: str) -> dict[str, str]:
    h = {"ApiIntegrationCode": t.integration_code, "UserName": t.username, "Secret": t.secret}
    h.update(over)
    return h


def api(
    sim: AutotaskSimulator, method: str, path: str, body: Any = None, t: SimTenant = DEMO, **kw: Any
) -> requests.Response:
    return requests.request(
        method,
        f"{sim.base_url}/ATServicesRest/V1.0/{path}",
        json=body,
        headers=kw.pop("h", headers(t)),
        timeout=10,
        **kw,
    )


def ids(sim: AutotaskSimulator, flt: list[dict[str, Any]], entity: str = "Contacts") -> list[int]:
    r = api(sim, "POST", f"{entity}/query", {"filter": flt})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def new_ticket(sim: AutotaskSimulator, **fields: Any) -> int:
    body = {"companyID": s.CONTOSO_ID, "priority": 2, "status": 1, "title": "t", **fields}
    r = api(sim, "POST", "Tickets", body)
    assert r.status_code == 200, r.text
    return int(r.json()["itemId"])


# --------------------------------------------------------------------------------------- shapes


def test_zone_lookup_answers_with_the_simulators_own_host(sim: AutotaskSimulator) -> None:
    r = requests.get(f"{sim.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": DEMO.username}, timeout=5)
    assert r.json() == {
        "zoneName": "Simulator Zone",
        "url": f"{sim.base_url}/ATServicesRest/",
        "webUrl": f"{sim.base_url}/",
        "ci": DEMO.ci,
    }
    r = requests.get(f"{sim.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": "x@y.z"}, timeout=5)
    assert (r.status_code, r.json()) == (500, {"errors": [ZONE_TEXT]})
    assert set(sim.client_env()) == {"AUTOTASK_ZONE_URL", "AUTOTASK_HOST_PATTERN", "AUTOTASK_SCHEME"}


def test_authentication_failures(sim: AutotaskSimulator) -> None:
    assert api(sim, "GET", "Companies/0", h={}).status_code == 401
    assert api(sim, "GET", "Companies/0", h=headers(Secret="nope")).status_code == 401
    r = api(sim, "GET", "Companies/0", h=headers(ApiIntegrationCode="WRONG"))
    assert (r.status_code, r.json()) == (500, {"errors": [INTEGRATION_CODE_TEXT]})
    # one tenant's credentials with another's integration code are refused too
    assert api(sim, "GET", "Companies/0", h=headers(ApiIntegrationCode=NORTHWIND.integration_code)).status_code == 500


def test_item_items_and_item_id_shapes_with_case_insensitive_names(sim: AutotaskSimulator) -> None:
    r = requests.post(
        f"{sim.base_url}/atservicesrest/v1.0/tickets",
        json={"CompanyID": s.CONTOSO_ID, "Priority": 2, "STATUS": 1, "Title": "upper"},
        headers=headers(),
        timeout=5,
    )
    tid = r.json()["itemId"]
    item = api(sim, "GET", f"Tickets/{tid}").json()["item"]
    assert item["title"] == "upper" and item["ticketNumber"].startswith("T") and "userDefinedFields" in item
    assert api(sim, "GET", "Tickets/1").json() == {"item": None}
    page = api(
        sim, "POST", "Contacts/query", {"Filter": [{"OP": "EQ", "Field": "EMAILADDRESS", "Value": "ALICE@contoso.com"}]}
    ).json()
    assert [i["id"] for i in page["items"]] == [30682001]
    assert page["pageDetails"] == {"count": 1, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"op": "eq", "field": "lastName", "value": "anders"}, [30682001]),
        ({"op": "noteq", "field": "companyID", "value": s.CONTOSO_ID}, [30682000, 30682004]),
        ({"op": "gt", "field": "id", "value": 30682003}, [30682004]),
        ({"op": "gte", "field": "id", "value": 30682003}, [30682003, 30682004]),
        ({"op": "lt", "field": "id", "value": 30682001}, [30682000]),
        ({"op": "lte", "field": "id", "value": 30682001}, [30682000, 30682001]),
        ({"op": "beginsWith", "field": "emailAddress", "value": "BO"}, [30682002]),
        ({"op": "endsWith", "field": "emailAddress", "value": "@fabrikam.com"}, [30682004]),
        ({"op": "contains", "field": "firstName", "value": "aro"}, [30682003]),
        ({"op": "exist", "field": "emailAddress2"}, [30682002]),
        ({"op": "notExist", "field": "emailAddress2"}, [30682000, 30682001, 30682003, 30682004]),
        ({"op": "in", "field": "id", "value": [30682001, 30682004, 1]}, [30682001, 30682004]),
        ({"op": "notIn", "field": "companyID", "value": [s.CONTOSO_ID]}, [30682000, 30682004]),
        ({"op": "eq", "field": "isActive", "value": False}, [30682003]),
        (
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "lastName", "value": "Diaz"},
                    {
                        "op": "and",
                        "items": [
                            {"op": "eq", "field": "firstName", "value": "Bob"},
                            {"op": "eq", "field": "lastName", "value": "Brown"},
                        ],
                    },
                ],
            },
            [30682002, 30682004],
        ),
    ],
)
def test_every_filter_operator(sim: AutotaskSimulator, flt: dict[str, Any], expected: list[int]) -> None:
    assert ids(sim, [flt]) == expected


def test_top_level_filters_are_anded_and_datetimes_compare_as_times(sim: AutotaskSimulator) -> None:
    assert ids(
        sim,
        [{"op": "eq", "field": "companyID", "value": s.CONTOSO_ID}, {"op": "eq", "field": "isActive", "value": True}],
    ) == [
        30682001,
        30682002,
    ]
    tid = new_ticket(sim)
    assert ids(sim, [{"op": "gt", "field": "createDate", "value": "2000-01-01T00:00:00Z"}], "Tickets") == [tid]
    assert ids(sim, [{"op": "gt", "field": "createDate", "value": "2999-01-01T00:00:00.000Z"}], "Tickets") == []


def test_query_errors_use_autotasks_texts(sim: AutotaskSimulator) -> None:
    for bad in (0, 501):
        r = api(sim, "POST", "Contacts/query", {"filter": [{"op": "exist", "field": "id"}], "MaxRecords": bad})
        assert (r.status_code, r.json()) == (500, {"errors": [MAX_RECORDS_TEXT]})
    assert api(sim, "POST", "Contacts/query", {"filter": []}).status_code == 500
    assert (
        api(sim, "POST", "Contacts/query", {"filter": [{"op": "eq", "field": "nope", "value": 1}]}).status_code == 500
    )
    assert (
        api(sim, "POST", "Contacts/query", {"filter": [{"op": "like", "field": "id", "value": 1}]}).status_code == 500
    )
    sim.add_contacts("demo", 600)
    r = api(sim, "POST", "Contacts/query", {"filter": [{"op": "exist", "field": "id"}], "IncludeFields": ["firstName"]})
    assert r.status_code == 500 and "must include Id" in r.json()["errors"][0]


def test_next_page_urls_need_the_same_post_and_refuse_get(sim: AutotaskSimulator) -> None:
    sim.add_contacts("demo", 12)
    body = {"filter": [{"op": "beginsWith", "field": "emailAddress", "value": "bulk"}], "MaxRecords": 5}
    first = api(sim, "POST", "Contacts/query", body).json()
    nxt = first["pageDetails"]["nextPageUrl"]
    assert nxt.startswith(f"{sim.base_url}/ATServicesRest/V1.0/Contacts/query/next?")
    got = requests.get(nxt, headers=headers(), timeout=5)
    assert got.status_code == 405 and "does not support http method 'GET'" in got.text
    second = requests.post(nxt, json=body, headers=headers(), timeout=5).json()
    third = requests.post(second["pageDetails"]["nextPageUrl"], json=body, headers=headers(), timeout=5).json()
    all_ids = [i["id"] for p in (first, second, third) for i in p["items"]]
    assert len(all_ids) == 12 == len(set(all_ids)) and third["pageDetails"]["nextPageUrl"] is None
    # The GET form pages with GET
    search = json.dumps(body)
    g1 = requests.get(
        f"{sim.base_url}/ATServicesRest/V1.0/Contacts/query", params={"search": search}, headers=headers(), timeout=5
    ).json()
    g2 = requests.get(g1["pageDetails"]["nextPageUrl"], headers=headers(), timeout=5).json()
    assert [i["id"] for i in g1["items"] + g2["items"]] == all_ids[:10]
    count = requests.get(
        f"{sim.base_url}/ATServicesRest/V1.0/Contacts/query/count",
        params={"search": search},
        headers=headers(),
        timeout=5,
    )
    assert count.json() == {"queryCount": 12}
    assert api(sim, "PUT", "Contacts/query", body).status_code == 405
    assert api(sim, "PATCH", "Tickets/1", {"status": 5}).status_code == 405  # no PATCH /Tickets/{id}


def test_ticket_validation_like_autotask(sim: AutotaskSimulator) -> None:
    r = api(sim, "POST", "Tickets", {"description": "no required fields"})
    assert r.status_code == 500 and sorted(r.json()["errors"]) == sorted(
        ["companyID is required.", "priority is required.", "status is required.", "title is required."]
    )
    cases = [
        {"priority": 4},  # inactive
        {"priority": 7},  # unknown
        {"status": 9},  # inactive status
        {"issueType": 4, "subIssueType": 30},  # Wi-Fi belongs to Network
        {"subIssueType": 11},  # without an issue type
        {"companyID": 999},
        {"contactID": 30682004},  # Fabrikam's contact on a Contoso ticket
        {"configurationItemID": 40005},
        {"billingCodeID": 29682803},  # inactive work type
        {"title": "x" * 256},
        {"nonsenseField": 1},
    ]
    for extra in cases:
        r = api(sim, "POST", "Tickets", {"companyID": s.CONTOSO_ID, "priority": 2, "status": 1, "title": "t", **extra})
        assert r.status_code == 500 and r.json()["errors"], extra
    assert sim.tickets("demo") == []


def test_updates_notes_and_attachments(sim: AutotaskSimulator) -> None:
    tid = new_ticket(sim)
    assert api(sim, "PATCH", "Tickets", {"id": tid, "status": 5}).json() == {"itemId": tid}
    assert api(sim, "GET", f"Tickets/{tid}").json()["item"]["completedDate"]
    r = api(sim, "POST", f"Tickets/{tid}/Notes", {"title": "n", "description": "d", "noteType": 1, "publish": 3})
    assert r.status_code == 500  # unknown publish level
    nid = api(
        sim, "POST", f"Tickets/{tid}/Notes", {"title": "n", "description": "d", "noteType": 1, "publish": 1}
    ).json()["itemId"]
    assert api(sim, "GET", f"Tickets/{tid}/Notes/{nid}").json()["item"]["creatorResourceID"] == s.API_RESOURCE_ID
    data = base64.b64encode(b"hello").decode()
    aid = api(
        sim,
        "POST",
        f"Tickets/{tid}/Attachments",
        {"id": 0, "attachmentType": "FILE_ATTACHMENT", "fullPath": "h.txt", "title": "h", "publish": 1, "data": data},
    ).json()["itemId"]
    got = api(sim, "GET", f"Tickets/{tid}/Attachments/{aid}").json()["items"][0]
    assert got["data"] == data and got["fileSize"] == 5.0
    meta = api(
        sim, "POST", "TicketAttachments/query", {"filter": [{"op": "eq", "field": "parentID", "value": tid}]}
    ).json()["items"]
    assert "data" not in meta[0]
    big = base64.b64encode(b"x" * (6 * 1024 * 1024 + 1)).decode()
    r = api(sim, "POST", f"Tickets/{tid}/Attachments", {"title": "big", "fullPath": "big", "data": big})
    assert r.status_code == 500 and "6 MB" in r.json()["errors"][0]
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.putrequest("POST", "/ATServicesRest/V1.0/Tickets")
    for k, v in {**headers(), "Content-Length": str(13 * 1024 * 1024)}.items():
        conn.putheader(k, v)
    conn.endheaders(b"{")
    assert conn.getresponse().status == 413  # bounded request size, refused before reading
    conn.close()


# -------------------------------------------------------------------------------------- limits


def test_hourly_request_limit_per_database(sim: AutotaskSimulator) -> None:
    sim.set_hourly_limit("demo", 4)
    assert [api(sim, "GET", "Companies/0").status_code for _ in range(4)] == [200] * 4
    r = api(sim, "GET", "Companies/0")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0 and "threshold" in r.json()["errors"][0]
    assert api(sim, "GET", "Companies/0", t=NORTHWIND).status_code == 200  # other database unaffected
    sim.set_hourly_limit("demo", 100)
    info = api(sim, "GET", "ThresholdInformation").json()
    assert info == {"externalRequestThreshold": 100, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 5}


def test_thread_limit_three_per_integration_code_and_entity(sim: AutotaskSimulator) -> None:
    sim.set_faults("demo", latency_ms=700)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def call(path: str) -> None:
        r = api(sim, "GET", path)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=call, args=("Companies/0",)) for _ in range(5)]
    threads.append(threading.Thread(target=call, args=("Contacts/30682001",)))
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(10)
    limited = [r for r in results if r.status_code == 429]
    assert len(limited) == 2 and all(r.json() == {"errors": [THREAD_LIMIT_TEXT]} for r in limited)
    stats = sim.stats()
    assert stats["max_concurrency"][f"{DEMO.integration_code}|Companies"] == 3
    assert stats["max_concurrency"][f"{DEMO.integration_code}|Contacts"] == 1  # separate entity, separate limit
    assert stats["thread_limit_errors"] == 2


def test_fault_injection_is_per_tenant_and_bounded(sim: AutotaskSimulator) -> None:
    sim.set_faults("demo", error_rate=1.0, count=2)
    assert [api(sim, "GET", "Companies/0").status_code for _ in range(3)] == [500, 500, 200]
    assert api(sim, "GET", "Companies/0", t=NORTHWIND).status_code == 200
    sim.set_faults("demo", throttle_rate=1.0, retry_after=7)
    r = api(sim, "GET", "Companies/0")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    sim.set_faults("demo", outage_seconds=30)
    assert api(sim, "GET", "Companies/0").status_code == 503
    sim.set_faults("demo", outage_until=time.time() - 1)
    assert api(sim, "GET", "Companies/0").status_code == 200
    with pytest.raises(ValueError):
        sim.set_faults("demo", bogus=1)


def test_drop_after_commit_closes_the_connection_after_committing(sim: AutotaskSimulator) -> None:
    sim.set_faults("demo", drop_after_commit_rate=1.0, count=1)
    with pytest.raises(requests.ConnectionError):
        new_ticket(sim, externalID="dropped")
    assert [t["externalID"] for t in sim.tickets("demo")] == ["dropped"]


# ----------------------------------------------------------------------------- callouts & hooks


class Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((dict(self.headers), raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_extension_callouts_fire_on_create_update_and_notes(sim: AutotaskSimulator, receiver: Receiver) -> None:
    sim.register_callout("demo", receiver.url)
    tid = new_ticket(sim)
    sim.technician(tid, status="In Progress", note="On my way")
    sim.deliveries(wait=5)
    forms = [parse_qs(raw.decode()) for h, raw in receiver.posts]
    assert len(forms) == 3  # created, status edited, note added
    assert all(h["Content-Type"] == "application/x-www-form-urlencoded" for h, _ in receiver.posts)
    assert sorted(f["status"][0] for f in forms) == ["In Progress", "In Progress", "New"]  # delivery order may vary
    last = {k: v[0] for k, v in next(f for f in forms if f["status"] == ["In Progress"]).items()}
    assert set(last) == {"id", "number", "status", "created_datetime", "last_activity_datetime"}
    assert last["id"] == str(tid) and last["status"] == "In Progress" and last["number"].startswith("T")
    assert last["created_datetime"].endswith("+00:00:00")
    ticket = sim.tickets("demo")[0]
    assert ticket["status"] == 8 and ticket["notes"][0]["creatorResourceID"] == s.TECHNICIAN_RESOURCE_ID  # type: ignore[index]


def test_webhooks_are_signed_and_carry_subscribed_fields(sim: AutotaskSimulator, receiver: Receiver) -> None:
    key = "0123456789-secret"
    wid = api(
        sim,
        "POST",
        "TicketWebhooks",
        {
            "Name": "hb",
            "WebhookUrl": receiver.url,
            "SecretKey": key,
            "IsActive": True,
            "IsSubscribedToUpdateEvents": True,
        },
    ).json()["itemId"]
    api(
        sim,
        "POST",
        f"TicketWebhooks/{wid}/Fields",
        {"FieldID": s.TICKET_WEBHOOK_FIELDS["status"], "IsSubscribedField": True, "WebhookID": wid},
    )
    api(
        sim,
        "POST",
        f"TicketWebhooks/{wid}/Fields",
        {"FieldID": s.TICKET_WEBHOOK_FIELDS["ticketNumber"], "IsDisplayAlwaysField": True, "WebhookID": wid},
    )
    nwid = api(
        sim,
        "POST",
        "TicketNoteWebhooks",
        {
            "name": "notes",
            "webhookUrl": receiver.url,
            "secretKey": key,
            "isActive": True,
            "isSubscribedToCreateEvents": True,
        },
    ).json()["itemId"]
    api(
        sim,
        "POST",
        f"TicketNoteWebhooks/{nwid}/Fields",
        {"fieldID": s.NOTE_WEBHOOK_FIELDS["description"], "isSubscribedField": True, "webhookID": nwid},
    )
    tid = new_ticket(sim)
    api(sim, "PATCH", "Tickets", {"id": tid, "title": "renamed"})  # not a subscribed field: no webhook
    sim.technician(tid, status="Complete", note="Fixed it")
    sim.deliveries(wait=5)
    bodies = []
    for h, raw in receiver.posts:
        expected = "sha1=" + base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha1).digest()).decode()
        assert h["X-Hook-Signature"] == expected
        bodies.append(json.loads(raw))
    by_type = {b["EntityType"]: b for b in bodies}
    assert len(bodies) == 2
    assert by_type["Ticket"]["Action"] == "Update" and by_type["Ticket"]["Id"] == tid
    assert by_type["Ticket"]["Fields"]["status"] == 5 and by_type["Ticket"]["Fields"]["ticketNumber"].startswith("T")
    assert by_type["Ticket"]["Guid"] == api(sim, "GET", f"TicketWebhooks/{wid}").json()["item"]["webhookGUID"]
    assert by_type["TicketNote"]["Action"] == "Create" and by_type["TicketNote"]["Fields"] == {
        "description": "Fixed it"
    }


# --------------------------------------------------------------------------------- control API


def test_control_api_over_http(sim: AutotaskSimulator) -> None:
    base = f"{sim.base_url}/_sim"
    assert {t["database"] for t in requests.get(f"{base}/tenants", timeout=5).json()["tenants"]} == {
        "demo",
        "northwind",
    }
    assert (
        requests.post(f"{base}/tenants/demo/faults", json={"error_rate": 1.0, "count": 1}, timeout=5).json()["faults"][
            "count"
        ]
        == 1
    )
    assert api(sim, "GET", "Companies/0").status_code == 500
    tid = new_ticket(sim)
    r = requests.post(
        f"{base}/tickets/{tid}/technician", json={"status": "Waiting Customer", "note": "Please reboot"}, timeout=5
    )
    assert r.json()["ticket"]["status"] == 7
    tickets = requests.get(f"{base}/tenants/demo/tickets", timeout=5).json()["tickets"]
    assert tickets[0]["notes"][0]["description"] == "Please reboot"
    stats = requests.get(f"{base}/stats", timeout=5).json()
    assert stats["requests_by_endpoint"]["GET /V1.0/Companies/{id}"] == 1 and stats["faults_injected"] == {"error": 1}
    assert requests.post(f"{base}/tenants/demo/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert requests.post(f"{base}/tickets/1/technician", json={}, timeout=5).status_code == 400
    assert requests.post(f"{base}/reset", timeout=5).json() == {"ok": True}
    assert sim.tickets("demo") == [] and sim.stats()["requests_by_endpoint"] == {}


def test_loopback_only() -> None:
    with pytest.raises(ValueError):
        AutotaskSimulator().start(host="0.0.0.0")


def test_runs_alone_as_a_module() -> None:
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.autotask_sim", "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=root
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base = first.split()[3]
        r = requests.get(f"{base}/atservicesrest/v1.0/zoneInformation", params={"user": DEMO.username}, timeout=5)
        assert r.json()["ci"] == DEMO.ci
    finally:
        proc.terminate()
        proc.wait(10)


def test_several_api_users_and_integration_codes_share_one_database(sim: AutotaskSimulator) -> None:
    sim.add_api_user("demo", "second-api@example-msp.com", "other-secret")
    sim.add_integration_code("demo", "VENDORCODE")
    h = {"UserName": "second-api@example-msp.com", "Secret": "other-secret", "ApiIntegrationCode": "VENDORCODE"}
    assert api(sim, "GET", "Companies/0", h=h).status_code == 200
    r = requests.get(
        f"{sim.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": "SECOND-API@example-msp.com"}, timeout=5
    )
    assert r.json()["ci"] == DEMO.ci
    assert api(sim, "GET", "Companies/0").status_code == 200
    assert sim.stats()["requests_by_database"] == {"demo": 2}  # one hourly budget for both integrations
    assert set(sim.stats()["max_concurrency"]) == {"VENDORCODE|Companies", f"{DEMO.integration_code}|Companies"}


def test_entity_information_and_restricted_api_users(sim: AutotaskSimulator) -> None:
    info = api(sim, "GET", "Tickets/entityInformation").json()["info"]
    assert info["canCreate"] and info["userAccessForCreate"] and info["supportsWebhookCallouts"]
    assert api(sim, "GET", "Contacts/entityInformation").json()["info"]["canQuery"]
    sim.set_entity_access("demo", "Tickets", userAccessForCreate=False)
    sim.set_entity_access("demo", "Contacts", userAccessForQuery=False)
    assert api(sim, "GET", "Tickets/entityInformation").json()["info"]["userAccessForCreate"] is False
    r = api(sim, "POST", "Tickets", {"companyID": s.CONTOSO_ID, "priority": 2, "status": 1, "title": "t"})
    assert r.status_code == 500 and "permissions" in r.json()["errors"][0]
    assert ids(sim, [{"op": "exist", "field": "id"}]) == []  # restricted: silently nothing (research section 2)
