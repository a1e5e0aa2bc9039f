"""Admin use cases over fakes: settings validation, masks, rules versions, keys, callout URLs."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from helpdesk.admin.errors import Conflict, Invalid, NotConfigured, NotFound, Unauthorized
from helpdesk.admin.settings import AutotaskUpdate, SettingsUpdate, clean_host, mask_api_key, split_api_key
from helpdesk.domain.tenant import CredentialKind, SecretPurpose, Tenant, TicketDefaults
from tests.unit.admin.fakes import make_service


@pytest.fixture
def svc():  # type: ignore[no-untyped-def]
    service, repo, gateway, rules = make_service()
    repo.create(Tenant(tenant_id="acme", name="Acme"))
    repo.create(Tenant(tenant_id="bravo", name="Bravo"))
    return service, repo, gateway, rules


@pytest.mark.parametrize(
    ("key", "mask"),
    [
        ("tier2tickets@alexspcsandbox.com:1SuperSecurePassword@MG", "****@MG"),
        ("u@d.com:short", "****"),
        ("u@d.com:with:colons:and@at-signs", "****gns"),
    ],
)
def test_the_mask_shows_at_most_the_last_three_characters_of_long_passwords(key: str, mask: str) -> None:
    assert mask_api_key(key) == mask


def test_the_api_key_splits_at_the_first_colon() -> None:
    assert split_api_key("api@msp.com:p@ss:w:rd") == ("api@msp.com", "p@ss:w:rd")


@pytest.mark.parametrize(
    "raw", ["nocolon", ":secret", "nodomain:secret", "@d.com:x", "a b@c.com:x", "u@d.com:", "u@d.com:a\nb"]
)
def test_malformed_api_keys_are_refused(raw: str) -> None:
    with pytest.raises(Invalid) as info:
        split_api_key(raw)
    assert info.value.fields[0].field == "autotask.api_key"
    assert raw.split(":", 1)[-1] not in info.value.message or raw.endswith(":")


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("webservices5.autotask.net", "webservices5.autotask.net"),
        ("https://WebServices15.autotask.net/ATServicesRest/V1.0/", "webservices15.autotask.net"),
        (" webservices.autotask.net ", "webservices.autotask.net"),
    ],
)
def test_hosts_are_normalised(raw: str, host: str) -> None:
    assert clean_host(raw) == host


@pytest.mark.parametrize(
    "raw", ["", "example.com", "webservices5.autotask.net.evil.com", "user@webservices5.autotask.net"]
)
def test_foreign_hosts_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        clean_host(raw)


def test_several_bad_fields_are_all_reported_and_nothing_is_saved(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    before = repo.get("acme")
    update = SettingsUpdate(
        autotask=AutotaskUpdate(host="example.com", api_key=SecretStr("nocolon"), integration_code="a b")
    )
    with pytest.raises(Invalid) as info:
        service.update_settings("acme", update)
    assert {f.field for f in info.value.fields} == {"autotask.host", "autotask.api_key", "autotask.integration_code"}
    assert repo.get("acme") == before


def test_the_api_key_is_sealed_for_the_tenant(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    key = "api@msp.com:1SuperSecurePassword@MG"
    view = service.update_settings("acme", SettingsUpdate(autotask=AutotaskUpdate(api_key=SecretStr(key))))
    assert view.autotask.api_key_mask == "****@MG"
    assert key not in view.model_dump_json()
    stored = repo.get("acme")
    assert (
        service.secrets.open("acme", stored.autotask.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY) == key
    )
    with pytest.raises(Exception):  # the fake box refuses another tenant's context
        service.secrets.open("bravo", stored.autotask.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY)


def test_secretstr_keeps_the_key_out_of_reprs() -> None:
    update = SettingsUpdate(autotask=AutotaskUpdate(api_key=SecretStr("u@d.com:hunter2hunter2")))
    assert "hunter2" not in repr(update) and "hunter2" not in str(update)


def test_stale_revision_conflicts(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    revision = repo.get("acme").revision
    service.update_settings("acme", SettingsUpdate(name="New", revision=revision))
    with pytest.raises(Conflict):
        service.update_settings("acme", SettingsUpdate(name="Newer", revision=revision))


def test_an_empty_update_changes_nothing(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    before = repo.get("acme")
    service.update_settings("acme", SettingsUpdate())
    assert repo.get("acme") == before


def test_authentication_needs_an_active_admin_token(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    token = repo.issue_credential("acme", CredentialKind.ADMIN_TOKEN).token
    tenant, credential = service.authenticate(token)
    assert tenant.tenant_id == "acme" and credential.kind is CredentialKind.ADMIN_TOKEN
    for bad in (None, "", "hba_x", repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token):
        with pytest.raises(Unauthorized):
            service.authenticate(bad)


def test_gateway_needs_complete_settings(svc) -> None:  # type: ignore[no-untyped-def]
    service, *_ = svc
    with pytest.raises(NotConfigured) as info:
        service.picklists("acme")
    assert "API endpoint host" in info.value.message and "API key" in info.value.message


def test_rules_versions_are_per_tenant_and_rollback_appends(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    service.save_rules("acme", "priority = 'High'\n")
    service.save_rules("acme", "priority = 'Low'\n")
    service.save_rules("bravo", "queue = 'x'\n")
    with pytest.raises(NotFound):
        service.rules_version("bravo", 2)
    rolled = service.rollback_rules("acme", 1)
    assert rolled.version == 3 and rolled.source == "priority = 'High'\n"
    assert [v.version for v in service.rules_history("acme")] == [3, 2, 1]
    assert repo.get("acme").rules_version == 3


def test_a_rules_syntax_error_names_line_and_column(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    with pytest.raises(Invalid) as info:
        service.save_rules("acme", "a = 1\nb = (\n")
    field = info.value.fields[0]
    assert field.field == "source" and field.line == 2
    assert repo.list_rules_versions("acme") == [] and repo.get("acme").rules_version == 0


def test_testing_rules_without_source_uses_the_active_version(svc) -> None:  # type: ignore[no-untyped-def]
    service, *_ = svc
    service.save_rules("acme", "priority = 'Critical'\n")
    result = service.test_rules("acme", None, {"priority": "Low"})
    assert result.changed == {"priority": "Critical"}


def test_button_keys_are_scoped_to_their_tenant(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    issued = service.create_button_key("bravo", "b")
    with pytest.raises(NotFound):
        service.revoke_button_key("acme", issued.key.id)
    assert repo.resolve_credential(CredentialKind.BUTTON_KEY, issued.token) is not None
    service.revoke_button_key("bravo", issued.key.id)
    assert repo.resolve_credential(CredentialKind.BUTTON_KEY, issued.token) is None


def test_callout_token_is_issued_once_then_shown_again_and_rotation_revokes_the_old(svc) -> None:  # type: ignore[no-untyped-def]
    service, repo, *_ = svc
    first = service.callout_urls("acme", "https://api/prod")
    assert service.callout_urls("acme", "https://api/prod/").extension_callout_url == first.extension_callout_url
    active = [c for c in repo.list_credentials("acme", CredentialKind.CALLOUT_TOKEN) if c.active]
    assert len(active) == 1
    rotated = service.rotate_callout_url("acme", "https://api/prod")
    assert rotated.extension_callout_url != first.extension_callout_url
    active = [c for c in repo.list_credentials("acme", CredentialKind.CALLOUT_TOKEN) if c.active]
    assert len(active) == 1
    old = first.extension_callout_url.rsplit("/", 1)[1]
    assert repo.resolve_credential(CredentialKind.CALLOUT_TOKEN, old) is None


def test_defaults_model_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError):
        TicketDefaults.model_validate({"colour": "red"})


def test_a_real_autotask_host_is_a_valid_setting_where_only_the_simulator_is_reachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOTASK_HOST_PATTERN", r"127\.0\.0\.1:5123")
    assert clean_host("https://webservices5.autotask.net/ATServicesRest/") == "webservices5.autotask.net"
    assert clean_host("127.0.0.1:5123") == "127.0.0.1:5123"
    with pytest.raises(Invalid) as refused:
        clean_host("example.com")
    assert "127.0.0.1:5123" in refused.value.message  # what to type here, not a real host as the example


def test_the_refusal_names_no_real_host_as_the_example() -> None:
    with pytest.raises(Invalid) as refused:
        clean_host("example.com")
    assert "webservicesN.autotask.net" in refused.value.message
    assert not re.search(r"webservices\d+\.autotask\.net", refused.value.message)
