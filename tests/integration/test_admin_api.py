"""The admin API end to end through its Lambda handler, on moto (DynamoDB + KMS), with fakes for Autotask and rules.

Every route is exercised, including cross-tenant attempts and bad input (clear 4xx, nothing changed), and the
captured logs are grepped for every secret that passed through.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.admin.ports import EntityAccess
from helpdesk.admin.service import AdminService
from helpdesk.autotask.errors import AuthenticationError, ZoneNotFound
from helpdesk.domain.tenant import CredentialKind, SecretPurpose, Tenant, TenantStatus
from tests.unit.admin.fakes import FakeGateway, FakeRules
from tests.unit.admin.harness import AdminClient, load_admin_function

API_KEY = "api-user@example-msp.com:1SuperSecurePassword@MG"
GOOD_AUTOTASK = {"host": "webservices5.autotask.net", "api_key": API_KEY, "integration_code": "INTEGRATIONCODE1"}


@dataclass
class World:
    client: AdminClient
    repo: DynamoTenantRepository
    box: KmsSecretBox
    gateway: FakeGateway
    rules: FakeRules
    token_a: str
    token_b: str
    secrets: list[str]

    def call(self, method: str, path: str, token: str | None = "A", **kw: Any) -> Any:
        real = {"A": self.token_a, "B": self.token_b}.get(token, token) if token else None
        return self.client.call(method, path, real, **kw)


@pytest.fixture
def world(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "admin")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    handler, routes = load_admin_function()
    repo = DynamoTenantRepository(aws_env["TENANTS_TABLE"])
    box = KmsSecretBox(aws_env["CREDENTIALS_KEY_ID"])
    gateway, rules = FakeGateway(), FakeRules()
    routes.use_service(AdminService(tenants=repo, secrets=box, rules=rules, autotask=gateway))
    repo.create(Tenant(tenant_id="acme", name="Acme IT"))
    repo.create(Tenant(tenant_id="bravo", name="Bravo MSP"))
    token_a = repo.issue_credential("acme", CredentialKind.ADMIN_TOKEN, "owner").token
    token_b = repo.issue_credential("bravo", CredentialKind.ADMIN_TOKEN, "owner").token
    from helpdesk.admin import service as service_module

    service_module._PICKLISTS.clear()
    yield World(AdminClient(handler), repo, box, gateway, rules, token_a, token_b, [API_KEY, token_a, token_b])
    routes.use_service(None)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the function logs (the Powertools logger's handler, re-pointed at a buffer)."""
    from helpdesk.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    old = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]


def configure(world: World, token: str = "A") -> None:
    answer = world.call("PUT", "/v1/admin/settings", token, body={"autotask": GOOD_AUTOTASK})
    assert answer.status == 200, answer.text


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text
    assert "1SuperSecurePassword" not in text


# ---------------------------------------------------------------------- authentication and scoping
@pytest.mark.parametrize(
    "token",
    [None, "", "hba_not-a-real-token", "Basic abc", "x" * 500],
    ids=["none", "empty", "unknown", "basic", "long"],
)
def test_requests_without_a_valid_admin_token_get_401_and_change_nothing(world: World, token: str | None) -> None:
    before = world.repo.get("acme")
    answer = world.client.call("PUT", "/v1/admin/settings", token, body={"name": "Hacked"})
    assert answer.status == 401
    assert answer.json["error"] == "unauthorized"
    assert answer.headers.get("www-authenticate", "").startswith("Bearer")
    assert world.repo.get("acme") == before


def test_a_button_key_or_callout_token_is_not_an_admin_token(world: World) -> None:
    button = world.repo.issue_credential("acme", CredentialKind.BUTTON_KEY).token
    callout = world.repo.issue_credential("acme", CredentialKind.CALLOUT_TOKEN).token
    assert world.call("GET", "/v1/admin/settings", button).status == 401
    assert world.call("GET", "/v1/admin/settings", callout).status == 401


def test_a_revoked_admin_token_stops_working(world: World) -> None:
    cred = world.repo.resolve_credential(CredentialKind.ADMIN_TOKEN, world.token_a)
    assert cred is not None
    world.repo.revoke_credential("acme", CredentialKind.ADMIN_TOKEN, cred.credential_id)
    assert world.call("GET", "/v1/admin/me").status == 401


def test_a_disabled_tenant_gets_403(world: World) -> None:
    tenant = world.repo.get("acme")
    assert tenant is not None
    world.repo.save(tenant.model_copy(update={"status": TenantStatus.DISABLED}))
    answer = world.call("GET", "/v1/admin/settings")
    assert answer.status == 403
    assert "disabled" in answer.json["message"]


def test_me_names_the_tokens_tenant(world: World) -> None:
    assert world.call("GET", "/v1/admin/me").json["tenant_id"] == "acme"
    assert world.call("GET", "/v1/admin/me", "B").json["tenant_id"] == "bravo"


def test_unknown_admin_route_is_a_json_404(world: World) -> None:
    answer = world.call("GET", "/v1/admin/nothing-here")
    assert answer.status == 404
    assert answer.json["error"] == "not_found"


# ---------------------------------------------------------------------- settings
def test_settings_write_stores_the_api_key_encrypted_and_reads_show_only_a_mask(
    world: World, logs: io.StringIO
) -> None:
    # Given a tenant, When the admin saves the Autotask connection
    answer = world.call("PUT", "/v1/admin/settings", body={"autotask": GOOD_AUTOTASK})
    # Then the answer shows the mask, never the key
    assert answer.status == 200
    autotask = answer.json["autotask"]
    assert autotask["api_key_mask"] == "****@MG"
    assert autotask["api_key_set"] is True
    assert autotask["api_user"] == "api-user@example-msp.com"
    assert autotask["configured"] is True
    assert_no_secrets(answer.text, world.secrets)
    # And a read shows the same
    read = world.call("GET", "/v1/admin/settings")
    assert read.json["autotask"]["api_key_mask"] == "****@MG"
    assert_no_secrets(read.text, world.secrets)
    # And the stored record holds KMS ciphertext bound to the tenant id
    stored = world.repo.get("acme")
    assert stored is not None and stored.autotask.api_key_ciphertext
    assert API_KEY not in stored.model_dump_json()
    assert world.box.open("acme", stored.autotask.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY) == API_KEY
    from helpdesk.adapters.kms import SecretDecryptionError

    with pytest.raises(SecretDecryptionError):
        world.box.open("bravo", stored.autotask.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY)
    # And no log line carries it
    assert_no_secrets(logs.getvalue(), world.secrets)


def test_settings_write_without_api_key_keeps_the_stored_key(world: World) -> None:
    configure(world)
    before = world.repo.get("acme")
    answer = world.call("PUT", "/v1/admin/settings", body={"autotask": {"host": "webservices14.autotask.net"}})
    assert answer.status == 200
    after = world.repo.get("acme")
    assert after is not None and before is not None
    assert after.autotask.api_key_ciphertext == before.autotask.api_key_ciphertext
    assert after.autotask.host == "webservices14.autotask.net"


def test_pasted_url_is_reduced_to_the_host(world: World) -> None:
    answer = world.call(
        "PATCH", "/v1/admin/settings", body={"autotask": {"host": "https://WebServices5.autotask.net/ATServicesRest/"}}
    )
    assert answer.status == 200
    assert answer.json["autotask"]["host"] == "webservices5.autotask.net"


def test_defaults_notifications_and_name_round_trip(world: World) -> None:
    body = {
        "name": "Acme Managed IT",
        "defaults": {
            "queue": "Tier 1 Support",
            "priority": "High",
            "issue": "Hardware",
            "subIssue": "Printer",
            "worktype": 29682800,
        },
        "notifications": {"events": ["created", "completed"], "templates": {"created": "Got it: __ticket_number__"}},
    }
    answer = world.call("PUT", "/v1/admin/settings", body=body)
    assert answer.status == 200, answer.text
    read = world.call("GET", "/v1/admin/settings").json
    assert read["name"] == "Acme Managed IT"
    assert read["defaults"]["queue"] == "Tier 1 Support"
    assert read["defaults"]["worktype"] == 29682800
    assert read["notifications"]["events"] == ["created", "completed"]
    assert read["notifications"]["templates"] == {"created": "Got it: __ticket_number__"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"autotask": {"host": "evil.example.com"}}, "autotask.host"),
        ({"autotask": {"host": ""}}, "autotask.host"),
        ({"autotask": {"api_key": "no-colon-here"}}, "autotask.api_key"),
        ({"autotask": {"api_key": "nodomain:secret"}}, "autotask.api_key"),
        ({"autotask": {"api_key": "user@domain:"}}, "autotask.api_key"),
        ({"autotask": {"integration_code": "has spaces"}}, "autotask.integration_code"),
        ({"autotask": {"unregistered_email": "not-an-email"}}, "autotask.unregistered_email"),
        ({"autotask": {"api_key": 12345}}, "autotask.api_key"),
        ({"autotask": {"password": "x"}}, "autotask.password"),
        ({"defaults": {"worktype": -1}}, "defaults.worktype"),
        ({"defaults": {"colour": "red"}}, "defaults.colour"),
        ({"notifications": {"events": ["exploded"]}}, "notifications.events.0"),
        ({"notifications": {"templates": {"created": ""}}}, "notifications.templates"),
        ({"name": ""}, "name"),
        ({"revision": -3}, "revision"),
    ],
)
def test_bad_settings_are_422_with_the_field_and_nothing_changes(
    world: World, body: dict[str, Any], field: str
) -> None:
    configure(world)
    before = world.repo.get("acme")
    answer = world.call("PUT", "/v1/admin/settings", body=body)
    assert answer.status == 422, answer.text
    assert answer.json["error"] == "validation_error"
    assert any(f["field"].startswith(field) for f in answer.json["fields"]), answer.json
    assert world.repo.get("acme") == before
    assert "secret" not in answer.text.replace("secret_", "")


def test_a_rejected_api_key_is_never_echoed(world: World, logs: io.StringIO) -> None:
    candidate = "api-user@example-msp.com-no-colon-TopSecretValue99"
    answer = world.call("PUT", "/v1/admin/settings", body={"autotask": {"api_key": candidate}})
    assert answer.status == 422
    assert "TopSecretValue99" not in answer.text
    assert "TopSecretValue99" not in logs.getvalue()


def test_malformed_json_is_a_clear_422(world: World) -> None:
    answer = world.call("PUT", "/v1/admin/settings", raw_body="{not json")
    assert answer.status == 422
    assert answer.json == {
        "error": "validation_error",
        "message": "The body is not valid JSON.",
        "fields": [{"field": "body", "message": "is not valid JSON"}],
    }


def test_validation_errors_use_the_same_words_and_body_as_the_button_agent_api(world: World) -> None:
    answer = world.call("PUT", "/v1/admin/settings", body={"name": 7, "bogus": True})
    assert answer.status == 422
    assert {"field": "name", "message": "must be text"} in answer.json["fields"]
    assert {"field": "bogus", "message": "is not a field of this request"} in answer.json["fields"]
    assert "Input should" not in answer.text and "Extra inputs" not in answer.text


def test_a_stale_revision_is_409_and_nothing_changes(world: World) -> None:
    revision = world.call("GET", "/v1/admin/settings").json["revision"]
    assert world.call("PUT", "/v1/admin/settings", body={"name": "One", "revision": revision}).status == 200
    stale = world.call("PUT", "/v1/admin/settings", body={"name": "Two", "revision": revision})
    assert stale.status == 409
    assert world.call("GET", "/v1/admin/settings").json["name"] == "One"


def test_each_tenant_sees_only_its_own_settings(world: World) -> None:
    configure(world, "A")
    b = world.call("GET", "/v1/admin/settings", "B").json
    assert b["tenant_id"] == "bravo"
    assert b["autotask"]["api_key_set"] is False


# ---------------------------------------------------------------------- picklists
def test_picklists_come_from_autotask_and_are_cached(world: World) -> None:
    configure(world)
    first = world.call("GET", "/v1/admin/picklists")
    assert first.status == 200
    assert "High" in [o["label"] for o in first.json["fields"]["priority"]]
    assert first.json["cached"] is False
    second = world.call("GET", "/v1/admin/picklists")
    assert second.json["cached"] is True
    assert world.gateway.calls.count("picklists") == 1
    third = world.call("GET", "/v1/admin/picklists", query={"refresh": "true"})
    assert third.json["cached"] is False
    assert world.gateway.calls.count("picklists") == 2
    # the gateway received the decrypted key, the answer never did
    assert world.gateway.connections[-1].api_key == API_KEY
    assert_no_secrets(third.text, world.secrets)


def test_picklists_before_the_connection_is_set_is_a_clear_409(world: World) -> None:
    answer = world.call("GET", "/v1/admin/picklists")
    assert answer.status == 409
    assert answer.json["error"] == "not_configured"
    assert "API endpoint host" in answer.json["message"]


def test_picklists_when_autotask_refuses_is_502_with_the_products_wording(world: World) -> None:
    configure(world)
    world.gateway.fail["picklists"] = AuthenticationError(status=401)
    answer = world.call("GET", "/v1/admin/picklists")
    assert answer.status == 502
    assert answer.json["message"].startswith("There was an error authenticating with the current credentials.")


def test_picklists_are_cached_per_tenant(world: World) -> None:
    configure(world, "A")
    configure(world, "B")
    world.call("GET", "/v1/admin/picklists", "A")
    b = world.call("GET", "/v1/admin/picklists", "B")
    assert b.json["cached"] is False


# ---------------------------------------------------------------------- integration test
def run_test(world: World, token: str = "A") -> dict[str, Any]:
    answer = world.call("POST", "/v1/admin/integration-test", token)
    assert answer.status == 200, answer.text
    return {c["id"]: c for c in answer.json["checks"]} | {"_ok": answer.json["ok"]}


def test_the_last_integration_test_is_answered_with_the_settings_until_it_runs_again(world: World) -> None:
    # Given a tenant that never ran the test
    assert world.call("GET", "/v1/admin/settings").json["last_integration_test"] is None
    # When it runs with bad credentials
    configure(world)
    revision = world.call("GET", "/v1/admin/settings").json["revision"]
    world.gateway.fail["check_authentication"] = AuthenticationError(status=401)
    answer = world.call("POST", "/v1/admin/integration-test")
    # Then the answer and every later read of the settings carry the same bounded summary
    last = world.call("GET", "/v1/admin/settings").json["last_integration_test"]
    assert answer.json["summary"] == last
    assert (last["ok"], last["connection"], last["host"], last["current"]) == (
        False,
        "rejected",
        "webservices5.autotask.net",
        True,
    )
    assert last["failed"] >= 1 and last["skipped"] >= 1 and last["passed"] >= 1
    assert last["problems"][0].startswith("Authentication: There was an error authenticating")
    assert len(last["problems"]) <= 5
    assert_no_secrets(json.dumps(last), world.secrets)
    assert "fingerprint" not in json.dumps(last)
    # And running the test is no settings change: a save with the revision read before is no conflict
    saved = world.call("PUT", "/v1/admin/settings", body={"defaults": {"priority": "High"}, "revision": revision})
    assert saved.status == 200, saved.text
    assert saved.json["last_integration_test"] == last
    # When the connection changes, the summary says it is no longer current; the next run replaces it
    world.call("PUT", "/v1/admin/settings", body={"autotask": {"integration_code": "ANOTHERCODE"}})
    assert world.call("GET", "/v1/admin/settings").json["last_integration_test"]["current"] is False
    world.gateway.fail.clear()
    world.call("POST", "/v1/admin/integration-test")
    last = world.call("GET", "/v1/admin/settings").json["last_integration_test"]
    assert (last["ok"], last["connection"], last["current"], last["problems"]) == (True, "connected", True, [])


def test_an_integration_test_without_settings_is_kept_as_not_configured(world: World) -> None:
    run_test(world)
    last = world.call("GET", "/v1/admin/settings").json["last_integration_test"]
    assert (last["ok"], last["connection"], last["host"]) == (False, "not_configured", None)
    assert last["problems"][0].startswith("Settings entered: Enter the API endpoint")


def test_integration_test_passes_every_check_when_all_is_well(world: World) -> None:
    configure(world)
    world.call("PUT", "/v1/admin/settings", body={"defaults": {"priority": "High", "queue": "Tier 1 Support"}})
    checks = run_test(world)
    assert checks["_ok"] is True
    for id_ in (
        "settings",
        "zone",
        "authentication",
        "perm_contacts",
        "perm_companies",
        "perm_tickets_read",
        "perm_tickets_create",
        "perm_tickets_edit",
        "contact",
        "default_priority",
        "default_queue",
        "rules",
    ):
        assert checks[id_]["status"] == "pass", (id_, checks[id_])
    assert "register_webhooks" not in world.gateway.calls  # nothing created in the MSP's Autotask


def test_integration_test_without_settings_says_what_to_enter(world: World) -> None:
    checks = run_test(world)
    assert checks["_ok"] is False
    assert checks["settings"]["status"] == "fail"
    assert "API endpoint" in checks["settings"]["message"]
    assert checks["zone"]["status"] == "skip" if "zone" in checks else True
    assert checks["contact"]["status"] == "skip"


def test_integration_test_reports_a_missing_catch_all_contact_in_the_products_words(world: World) -> None:
    configure(world)
    world.gateway.contacts.clear()
    checks = run_test(world)
    assert checks["contact"]["status"] == "fail"
    assert checks["contact"]["message"] == "There was an error finding the contact."
    assert "Unregistered" in checks["contact"]["hint"]


def test_integration_test_reports_bad_credentials(world: World) -> None:
    configure(world)
    world.gateway.fail["check_authentication"] = AuthenticationError(status=401)
    checks = run_test(world)
    assert checks["authentication"]["status"] == "fail"
    assert checks["authentication"]["message"].startswith("There was an error authenticating with the current")
    assert checks["perm_tickets_create"]["status"] == "skip"


def test_integration_test_reports_an_unknown_api_user_at_the_zone_lookup(world: World) -> None:
    configure(world)
    world.gateway.fail["zone"] = ZoneNotFound(errors=["Zone information could not be determined"])
    checks = run_test(world)
    assert checks["zone"]["status"] == "fail"
    assert "user name" in checks["zone"]["hint"]
    assert checks["authentication"]["status"] == "skip"


def test_integration_test_reports_each_missing_permission(world: World) -> None:
    configure(world)
    world.gateway.access["Tickets"] = EntityAccess(entity="Tickets", user_create=False, user_update=False)
    checks = run_test(world)
    assert checks["perm_tickets_read"]["status"] == "pass"
    assert checks["perm_tickets_create"]["status"] == "fail"
    assert checks["perm_tickets_create"]["message"].startswith("There was an error involving permissions in your PSA.")
    assert "Service Desk/Tickets/Add" in checks["perm_tickets_create"]["hint"]
    assert checks["perm_tickets_edit"]["status"] == "fail"


def test_integration_test_names_each_default_the_psa_rejects(world: World) -> None:
    configure(world)
    world.call(
        "PUT",
        "/v1/admin/settings",
        body={"defaults": {"priority": "Sunday", "issue": "Hardware", "subIssue": "Office", "worktype": 1}},
    )
    checks = run_test(world)
    assert checks["default_priority"]["status"] == "fail"
    assert "Sunday Priority Not Found" in checks["default_priority"]["message"]
    assert checks["default_issue"]["status"] == "pass"
    assert checks["default_subIssue"]["status"] == "fail"  # Office belongs to Software, not Hardware
    assert checks["default_worktype"]["status"] == "fail"


def test_integration_test_checks_the_active_rules_compile(world: World) -> None:
    configure(world)
    assert world.call("POST", "/v1/admin/rules", body={"source": "priority = 'High'\n"}).status == 201
    checks = run_test(world)
    assert checks["rules"]["status"] == "pass"


# ---------------------------------------------------------------------- rules
def test_rules_with_a_syntax_error_are_refused_with_line_and_column_and_not_stored(world: World) -> None:
    answer = world.call("POST", "/v1/admin/rules", body={"source": "x = 1\nif x\n    y = 2\n"})
    assert answer.status == 422
    field = answer.json["fields"][0]
    assert (field["field"], field["line"], field["column"]) == ("source", 2, 5)
    assert "line 2" in answer.json["message"]
    assert world.repo.list_rules_versions("acme") == []
    assert world.call("GET", "/v1/admin/rules").json["version"] == 0


def test_rules_save_history_and_rollback(world: World) -> None:
    v1 = world.call("POST", "/v1/admin/rules", body={"source": "priority = 'High'\n", "note": "first"})
    assert v1.status == 201 and v1.json["version"] == 1
    v2 = world.call("POST", "/v1/admin/rules", body={"source": "priority = 'Low'\n"})
    assert v2.json["version"] == 2
    assert world.call("GET", "/v1/admin/rules").json["source"] == "priority = 'Low'\n"
    history = world.call("GET", "/v1/admin/rules/versions").json
    assert [(v["version"], v["active"]) for v in history] == [(2, True), (1, False)]
    assert history[1]["note"] == "first" and history[1]["author"] == "owner"
    assert world.call("GET", "/v1/admin/rules/versions/1").json["source"] == "priority = 'High'\n"
    back = world.call("POST", "/v1/admin/rules/rollback", body={"version": 1})
    assert back.status == 201
    assert back.json["version"] == 3 and back.json["note"] == "Rollback to version 1"
    active = world.call("GET", "/v1/admin/rules").json
    assert (active["version"], active["source"]) == (3, "priority = 'High'\n")
    stored = world.repo.get("acme")
    assert stored is not None and stored.rules_version == 3


def test_rules_validate_and_test_store_nothing(world: World) -> None:
    check = world.call("POST", "/v1/admin/rules/validate", body={"source": "if priority is 'High':\n    pass\n"})
    assert check.status == 200 and check.json["ok"] is True
    assert check.json["warnings"]
    bad = world.call("POST", "/v1/admin/rules/validate", body={"source": "if (:\n"})
    assert bad.json["ok"] is False and bad.json["errors"][0]["line"] == 1
    run = world.call(
        "POST",
        "/v1/admin/rules/test",
        body={"source": "priority = 'Critical'", "variables": {"msg": "help", "priority": "Low"}},
    )
    assert run.status == 200
    assert run.json["changed"] == {"priority": "Critical"}
    assert world.repo.list_rules_versions("acme") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/admin/rules", {"source": "x" * 100_001}),
        ("POST", "/v1/admin/rules", {"code": "x = 1"}),
        ("POST", "/v1/admin/rules/rollback", {"version": 0}),
        ("POST", "/v1/admin/rules/rollback", {"version": "one"}),
        ("POST", "/v1/admin/rules/test", {"variables": "not a dict"}),
    ],
)
def test_bad_rules_requests_are_422(world: World, method: str, path: str, body: dict[str, Any]) -> None:
    answer = world.call(method, path, body=body)
    assert answer.status == 422, answer.text
    assert world.repo.list_rules_versions("acme") == []


def test_another_tenants_rules_versions_are_404(world: World) -> None:
    assert world.call("POST", "/v1/admin/rules", "B", body={"source": "queue = 'B'\n"}).status == 201
    assert world.call("GET", "/v1/admin/rules/versions/1").status == 404
    assert world.call("GET", "/v1/admin/rules/versions/abc").status == 404
    assert world.call("POST", "/v1/admin/rules/rollback", body={"version": 1}).status == 404
    assert world.call("GET", "/v1/admin/rules/versions").json == []
    assert world.repo.list_rules_versions("acme") == []


# ---------------------------------------------------------------------- button keys
def test_button_keys_create_list_revoke(world: World, logs: io.StringIO) -> None:
    created = world.call("POST", "/v1/admin/keys", body={"label": "Contoso PCs"})
    assert created.status == 201
    token = created.json["token"]
    assert token.startswith("hbk_")
    key_id = created.json["key"]["id"]
    assert world.repo.resolve_credential(CredentialKind.BUTTON_KEY, token) is not None
    listing = world.call("GET", "/v1/admin/keys")
    assert [(k["id"], k["label"], k["hint"], k["active"]) for k in listing.json] == [
        (key_id, "Contoso PCs", token[-4:], True)
    ]
    assert token not in listing.text and "token_hash" not in listing.text
    revoked = world.call("DELETE", f"/v1/admin/keys/{key_id}")
    assert revoked.status == 204
    assert world.repo.resolve_credential(CredentialKind.BUTTON_KEY, token) is None
    assert world.call("GET", "/v1/admin/keys").json[0]["active"] is False
    assert token not in logs.getvalue()


def test_revoking_another_tenants_key_is_404_and_the_key_keeps_working(world: World) -> None:
    b_key = world.call("POST", "/v1/admin/keys", "B", body={"label": "bravo"}).json
    answer = world.call("DELETE", f"/v1/admin/keys/{b_key['key']['id']}", "A")
    assert answer.status == 404
    assert world.repo.resolve_credential(CredentialKind.BUTTON_KEY, b_key["token"]) is not None
    assert world.call("GET", "/v1/admin/keys", "A").json == []
    assert world.call("DELETE", "/v1/admin/keys/does-not-exist").status == 404


def test_admin_tokens_cannot_be_revoked_through_the_button_key_route(world: World) -> None:
    cred = world.repo.resolve_credential(CredentialKind.ADMIN_TOKEN, world.token_a)
    assert cred is not None
    assert world.call("DELETE", f"/v1/admin/keys/{cred.credential_id}").status == 404
    assert world.call("GET", "/v1/admin/me").status == 200


def test_bad_key_label_is_422(world: World) -> None:
    assert world.call("POST", "/v1/admin/keys", body={"label": "x" * 101}).status == 422
    assert world.call("GET", "/v1/admin/keys").json == []


# ---------------------------------------------------------------------- admin tokens
def test_admin_tokens_create_list_revoke_but_never_the_last(world: World, logs: io.StringIO) -> None:
    created = world.call("POST", "/v1/admin/admin-tokens", body={"label": "Jane"})
    assert created.status == 201
    second = created.json["token"]
    assert second.startswith("hba_")
    listing = world.call("GET", "/v1/admin/admin-tokens", second)
    assert {t["label"] for t in listing.json} == {"owner", "Jane"}
    assert second not in listing.text and world.token_a not in listing.text
    first_id = next(t["id"] for t in listing.json if t["label"] == "owner")
    # the first token is revoked with the second: it stops working, the second goes on
    assert world.call("DELETE", f"/v1/admin/admin-tokens/{first_id}", second).status == 204
    assert world.call("GET", "/v1/admin/me", "A").status == 401
    assert world.call("GET", "/v1/admin/me", second).status == 200
    # the last active token cannot be revoked
    second_id = created.json["key"]["id"]
    last = world.call("DELETE", f"/v1/admin/admin-tokens/{second_id}", second)
    assert last.status == 409 and "last admin token" in last.json["message"]
    assert world.call("GET", "/v1/admin/me", second).status == 200
    assert second not in logs.getvalue()
    assert '"settings saved"' not in logs.getvalue()


def test_another_tenants_admin_token_is_404(world: World) -> None:
    b_cred = world.repo.resolve_credential(CredentialKind.ADMIN_TOKEN, world.token_b)
    assert b_cred is not None
    world.call("POST", "/v1/admin/admin-tokens", body={"label": "spare"})
    assert world.call("DELETE", f"/v1/admin/admin-tokens/{b_cred.credential_id}").status == 404
    assert world.call("GET", "/v1/admin/me", "B").status == 200
    assert "bravo" not in world.call("GET", "/v1/admin/admin-tokens").text


def test_settings_changes_are_audited_by_name_never_by_value(world: World, logs: io.StringIO) -> None:
    configure(world)
    audit = [json.loads(line) for line in logs.getvalue().splitlines() if '"settings saved"' in line]
    assert audit and audit[-1]["changed"] == [
        "autotask",
        "autotask.api_key",
        "autotask.host",
        "autotask.integration_code",
    ]
    assert audit[-1]["by"] == "owner"
    assert_no_secrets(logs.getvalue(), world.secrets)


# ---------------------------------------------------------------------- Ticket Notification URL
def test_callout_url_is_stable_until_rotated_and_the_old_token_then_stops_working(world: World) -> None:
    first = world.call("GET", "/v1/admin/callout-url").json
    assert first["extension_callout_url"].startswith("https://api.example.test/prod/v1/callouts/hbc_")
    assert world.call("GET", "/v1/admin/callout-url").json["extension_callout_url"] == first["extension_callout_url"]
    old_token = first["extension_callout_url"].rsplit("/", 1)[1]
    assert world.repo.resolve_credential(CredentialKind.CALLOUT_TOKEN, old_token) is not None
    rotated = world.call("POST", "/v1/admin/callout-url/rotate").json
    new_token = rotated["extension_callout_url"].rsplit("/", 1)[1]
    assert new_token != old_token
    assert rotated["webhook_url"].endswith(f"/v1/webhooks/{new_token}")
    assert world.repo.resolve_credential(CredentialKind.CALLOUT_TOKEN, old_token) is None
    resolved = world.repo.resolve_credential(CredentialKind.CALLOUT_TOKEN, new_token)
    assert resolved is not None and resolved.tenant_id == "acme"


def test_callout_urls_differ_per_tenant(world: World) -> None:
    a = world.call("GET", "/v1/admin/callout-url", "A").json["extension_callout_url"]
    b = world.call("GET", "/v1/admin/callout-url", "B").json["extension_callout_url"]
    assert a != b
    b_token = b.rsplit("/", 1)[1]
    resolved = world.repo.resolve_credential(CredentialKind.CALLOUT_TOKEN, b_token)
    assert resolved is not None and resolved.tenant_id == "bravo"


# ---------------------------------------------------------------------- webhooks
def test_webhook_registration_stores_the_secret_encrypted_and_never_returns_it(world: World, logs: io.StringIO) -> None:
    configure(world)
    answer = world.call("POST", "/v1/admin/webhooks")
    assert answer.status == 200, answer.text
    assert answer.json["registered"] is True
    ticket_id = answer.json["ticket_webhook_id"]
    url, secret, _name = world.gateway.webhooks[ticket_id]
    callout = world.call("GET", "/v1/admin/callout-url").json
    assert url == callout["webhook_url"]
    stored = world.repo.get("acme")
    assert stored is not None and stored.webhook_secret_ciphertext
    assert world.box.open("acme", stored.webhook_secret_ciphertext, purpose=SecretPurpose.WEBHOOK_SECRET) == secret
    assert secret not in answer.text
    assert secret not in world.call("GET", "/v1/admin/webhooks").text
    # re-registering replaces the old pair
    again = world.call("POST", "/v1/admin/webhooks").json
    assert again["ticket_webhook_id"] != ticket_id and ticket_id not in world.gateway.webhooks
    removed = world.call("DELETE", "/v1/admin/webhooks")
    assert removed.json == {
        "registered": False,
        "ticket_webhook_id": None,
        "note_webhook_id": None,
        "url": None,
        "registered_at": None,
    }
    assert world.gateway.webhooks == {}
    assert secret not in logs.getvalue()


def test_rotating_the_callout_url_re_registers_webhooks(world: World) -> None:
    configure(world)
    world.call("POST", "/v1/admin/webhooks")
    rotated = world.call("POST", "/v1/admin/callout-url/rotate").json
    assert "re-registered" in rotated["note"]
    [(url, _, _)] = {v[0]: v for v in world.gateway.webhooks.values()}.values()
    assert url == rotated["webhook_url"]


def test_webhooks_need_the_connection_first(world: World) -> None:
    answer = world.call("POST", "/v1/admin/webhooks")
    assert answer.status == 409
    assert world.repo.get("acme").webhooks is None  # type: ignore[union-attr]


# ---------------------------------------------------------------------- settings page
def test_settings_page_and_assets_are_served_with_a_strict_csp(world: World) -> None:
    page = world.call("GET", "/admin", None)
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/prod/admin/app.js"' in page.text
    js = world.call("GET", "/admin/app.js", None)
    assert js.status == 200 and js.headers["content-type"].startswith("application/javascript")
    assert world.call("GET", "/admin/app.css", None).status == 200
    assert world.call("GET", "/admin/secrets.txt", None).status == 404
    assert world.call("GET", "/admin/..%2Fadmin_routes.py", None).status == 404


def test_openapi_document_lists_the_admin_routes(world: World) -> None:
    doc = json.loads(world.call("GET", "/v1/admin/openapi.json", None).text)
    assert "/v1/admin/settings" in doc["paths"]
    assert "/admin" not in doc["paths"]


# ---------------------------------------------------------------------- logs
def test_no_secret_ever_reaches_a_log_line(world: World, logs: io.StringIO) -> None:
    configure(world)
    world.call("GET", "/v1/admin/settings")
    world.call("POST", "/v1/admin/integration-test")
    key = world.call("POST", "/v1/admin/keys", body={"label": "x"}).json["token"]
    callout = world.call("GET", "/v1/admin/callout-url").json["extension_callout_url"].rsplit("/", 1)[1]
    world.call("POST", "/v1/admin/webhooks")
    world.call("PUT", "/v1/admin/settings", body={"autotask": {"api_key": "bad"}})
    logs = logs.getvalue()
    assert '"message":"admin request"' in logs  # logging works at all
    assert_no_secrets(logs, [*world.secrets, key, callout])
