from __future__ import annotations

import pytest

from helpdesk.autotask import AutotaskCredentials, AutotaskSettings
from helpdesk.autotask.errors import InvalidCredentials

CODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ1"


@pytest.mark.parametrize(
    "typed",
    [
        "webservices5.autotask.net",
        "  WebServices5.Autotask.net ",
        "https://webservices5.autotask.net",
        "https://webservices5.autotask.net/ATServicesRest/V1.0/Tickets",
        "webservices5.autotask.net/atservicesrest",
    ],
)
def test_host_is_normalised_to_the_bare_web_services_host(typed: str) -> None:
    creds = AutotaskCredentials.parse(typed, "api@msp.com:pw", CODE, settings=AutotaskSettings())
    assert creds.host == "webservices5.autotask.net"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ww5.autotask.net",
        "webservices5.autotask.net.evil.com",
        "evil.com",
        "https://user@webservices5.autotask.net",
        "webservices.autotask.com",
    ],
)
def test_non_autotask_hosts_are_rejected_with_a_clear_message(typed: str) -> None:
    with pytest.raises(InvalidCredentials) as exc:
        AutotaskCredentials.parse(typed, "api@msp.com:pw", CODE, settings=AutotaskSettings())
    assert "Autotask" in str(exc.value)


def test_api_key_splits_at_the_first_colon_so_passwords_may_hold_at_and_colon() -> None:
    creds = AutotaskCredentials.parse(
        "webservices2.autotask.net", "api@msp.com:p@ss:w:rd@", CODE, settings=AutotaskSettings()
    )
    assert creds.username == "api@msp.com"
    assert creds.secret == "p@ss:w:rd@"
    assert creds.api_key == "api@msp.com:p@ss:w:rd@"


@pytest.mark.parametrize(
    "api_key",
    [
        "",
        "nocolon",
        ":Zq9x7Secret",
        "apiuser:Zq9x7Secret",
        "api@msp.com:",
        "@msp.com:Zq9x7Secret",
        "a b@msp.com:Zq9x7Secret",
    ],
)
def test_malformed_api_keys_are_rejected_without_echoing_the_password(api_key: str) -> None:
    with pytest.raises(InvalidCredentials) as exc:
        AutotaskCredentials.parse("webservices5.autotask.net", api_key, CODE, settings=AutotaskSettings())
    assert "username@domain:password" in str(exc.value)
    if ":" in api_key and api_key.split(":", 1)[1]:
        assert api_key.split(":", 1)[1] not in str(exc.value)


@pytest.mark.parametrize("code", ["", "   ", "has space"])
def test_integration_code_is_required(code: str) -> None:
    with pytest.raises(InvalidCredentials, match="integration code"):
        AutotaskCredentials.parse("webservices5.autotask.net", "api@msp.com:pw", code, settings=AutotaskSettings())


def test_repr_hides_the_secret_and_the_integration_code() -> None:
    creds = AutotaskCredentials.parse(
        "webservices5.autotask.net", "api@msp.com:S3cr3t!", CODE, settings=AutotaskSettings()
    )
    assert "S3cr3t!" not in repr(creds)
    assert CODE not in repr(creds)


def test_settings_come_from_the_environment_with_defaults() -> None:
    default = AutotaskSettings.from_env({})
    assert default.zone_url == "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
    assert default.host_allowed("webservices17.autotask.net")
    assert not default.host_allowed("webservices17.autotask.net:8443")
    local = AutotaskSettings.from_env(
        {
            "AUTOTASK_HOST_PATTERN": r"127\.0\.0\.1:\d+",
            "AUTOTASK_SCHEME": "http",
            "AUTOTASK_ZONE_URL": "http://127.0.0.1:1/z",
        }
    )
    assert local.url_allowed("http://127.0.0.1:9/ATServicesRest/")
    assert not local.url_allowed("https://127.0.0.1:9/ATServicesRest/")
    assert not local.url_allowed("http://user@127.0.0.1:9/")


def test_a_real_host_the_devstack_cannot_reach_is_refused_with_the_reason_and_no_request() -> None:
    local = AutotaskSettings(host_pattern=r"127\.0\.0\.1:5123", scheme="http")
    with pytest.raises(InvalidCredentials) as refused:
        AutotaskCredentials.parse("webservices5.autotask.net", "api@msp.com:pw", "CODE", settings=local)
    message = str(refused.value)
    assert "real Autotask host" in message and "127.0.0.1:5123" in message and "cannot reach" in message
