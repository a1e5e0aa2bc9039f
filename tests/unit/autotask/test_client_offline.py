"""Client behaviour that needs a misbehaving server: scripted with a fake session (no network)."""

from __future__ import annotations

import pytest
import requests

from helpdesk.autotask import AutotaskClient, AutotaskCredentials, AutotaskSettings
from helpdesk.autotask import errors as e
from helpdesk.autotask.cache import TTLCache
from helpdesk.autotask.limiter import LocalConcurrencyLimiter

from .fakes import ZONE, FakeSession, response

SECRET = "Sup3r:S3cret@Value"
SETTINGS = AutotaskSettings()


def make(session: FakeSession, **kw: object) -> AutotaskClient:
    creds = AutotaskCredentials.parse(
        "webservices5.autotask.net", f"api@msp.com:{SECRET}", "CODE123", settings=SETTINGS
    )
    return AutotaskClient(
        creds,
        settings=SETTINGS,
        session=session,  # type: ignore[arg-type]
        zone_cache=TTLCache(60),
        picklist_cache=TTLCache(60),
        limiter=LocalConcurrencyLimiter(),
        sleep=lambda s: None,
        **kw,  # type: ignore[arg-type]
    )


def test_zone_lookup_sends_no_credentials_and_api_calls_send_all_three_headers() -> None:
    s = FakeSession(response(200, ZONE), response(200, {"item": {"id": 5, "companyName": "X"}}))
    company = make(s).get_company(5)
    assert company is not None and company.company_name == "X"
    zone_call, api_call = s.calls
    assert zone_call["url"] == SETTINGS.zone_url and zone_call["params"] == {"user": "api@msp.com"}
    assert "Secret" not in zone_call["headers"]
    assert api_call["url"] == "https://webservices5.autotask.net/ATServicesRest/V1.0/Companies/5"
    assert api_call["headers"]["Secret"] == SECRET
    assert api_call["headers"]["UserName"] == "api@msp.com"
    assert api_call["headers"]["ApiIntegrationCode"] == "CODE123"
    assert api_call["allow_redirects"] is False
    assert api_call["timeout"] == (5.0, 30.0)
    assert s.trust_env is False


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/ATServicesRest/",
        "http://webservices5.autotask.net/ATServicesRest/",
        "https://webservices5.autotask.net.evil.com/",
    ],
)
def test_a_zone_outside_autotask_gets_no_credentials(url: str) -> None:
    s = FakeSession(response(200, {**ZONE, "url": url}))
    with pytest.raises(e.UntrustedEndpoint):
        make(s).get_company(1)
    assert len(s.calls) == 1  # only the unauthenticated zone lookup


def test_next_page_on_another_origin_is_refused_before_sending_credentials() -> None:
    first = {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": "https://evil.example.com/V1.0/Contacts/query/next"}}
    s = FakeSession(response(200, ZONE), response(200, first))
    with pytest.raises(e.UntrustedEndpoint):
        make(s).query("Contacts", [{"op": "gte", "field": "id", "value": 0}])
    assert len(s.calls) == 2


def test_next_page_is_posted_with_the_same_body() -> None:
    nxt = "https://webservices5.autotask.net/ATServicesRest/V1.0/Contacts/query/next?paging=x"
    s = FakeSession(
        response(200, ZONE),
        response(200, {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": nxt}}),
        response(200, {"items": [{"id": 2}], "pageDetails": {"nextPageUrl": None}}),
    )
    rows = make(s).query("Contacts", [{"op": "gte", "field": "id", "value": 0}], include_fields=["firstName"])
    assert [r["id"] for r in rows] == [1, 2]
    assert s.calls[2]["method"] == "POST" and s.calls[2]["url"] == nxt
    assert s.calls[2]["json"] == s.calls[1]["json"]
    assert s.calls[1]["json"]["IncludeFields"] == ["id", "firstName"]


def test_unreadable_answers_are_response_errors() -> None:
    s = FakeSession(
        response(200, ZONE),
        response(200, raw=b"<html>oops</html>"),
        response(200, raw=b"<html/>"),
        response(200, raw=b"x"),
    )
    with pytest.raises(e.ResponseError) as exc:
        make(s).get_company(1)
    assert exc.value.user_message == "There was an error reading the response from the API endpoint."


def test_redirects_are_not_followed() -> None:
    s = FakeSession(response(200, ZONE), response(302, headers={"Location": "https://evil.example.com/"}))
    with pytest.raises(e.UntrustedEndpoint):
        make(s).get_company(1)


def test_a_secret_echoed_by_the_server_is_redacted() -> None:
    s = FakeSession(response(200, ZONE), response(500, {"errors": [f"bad value {SECRET} for api@msp.com:{SECRET}"]}))
    with pytest.raises(e.AutotaskError) as exc:
        make(s, max_attempts=1).get_company(1)
    assert SECRET not in str(exc.value) and SECRET not in repr(exc.value)
    assert "***" in str(exc.value)


def test_requests_exception_text_is_redacted_and_not_chained() -> None:
    boom = requests.ConnectionError(f"failed https://webservices5.autotask.net/?s={SECRET}")
    s = FakeSession(response(200, ZONE), boom)
    with pytest.raises(e.TransientError) as exc:
        make(s, max_attempts=1).get_company(1)
    assert SECRET not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__context__ is None


def test_a_retry_after_longer_than_max_retry_wait_is_left_to_the_queue() -> None:
    slept: list[float] = []
    s = FakeSession(response(200, ZONE), response(429, {"errors": ["slow down"]}, headers={"Retry-After": "120"}))
    creds = AutotaskCredentials.parse("webservices5.autotask.net", "api@msp.com:pw", "C", settings=SETTINGS)
    client = AutotaskClient(creds, settings=SETTINGS, session=s, zone_cache=TTLCache(60), sleep=slept.append)  # type: ignore[arg-type]
    with pytest.raises(e.Throttled) as exc:
        client.get_company(1)
    assert exc.value.retry_after == 120.0
    assert slept == []


def test_backoff_is_full_jitter_capped_and_floors_at_retry_after() -> None:
    creds = AutotaskCredentials.parse("webservices5.autotask.net", "api@msp.com:pw", "C", settings=SETTINGS)
    c = AutotaskClient(creds, settings=SETTINGS, rand=lambda: 1.0, backoff_base=0.5, backoff_cap=4.0)
    assert [c._backoff(a, None) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    c0 = AutotaskClient(creds, settings=SETTINGS, rand=lambda: 0.0)
    assert c0._backoff(3, None) == 0.0
    assert c0._backoff(3, 2.5) == 2.5
