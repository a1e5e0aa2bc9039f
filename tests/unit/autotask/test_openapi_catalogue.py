"""Every Autotask route and field name the client and the simulator use exists in Autotask's Swagger document
(case-insensitive), so a typo fails here instead of in a tenant's PSA."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from devstack.autotask_sim import catalogue, seed
from helpdesk.autotask import models, routes


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path).lower()


@pytest.fixture(scope="module")
def spec_routes(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), _norm(p)) for p, ops in openapi["paths"].items() for m in ops}


def _props(openapi: dict[str, Any], model: str) -> set[str]:
    return {p.lower() for p in openapi["definitions"][model]["properties"]}


def test_client_routes_exist(spec_routes: set[tuple[str, str]]) -> None:
    missing = [r for r in routes.ROUTES if (r[0], _norm(r[1])) not in spec_routes]
    assert missing == []


def test_simulator_routes_exist(spec_routes: set[tuple[str, str]]) -> None:
    missing = [r for r in catalogue.routes() if (r[0], _norm(r[1])) not in spec_routes]
    assert missing == []


def test_client_field_names_exist(openapi: dict[str, Any]) -> None:
    missing = {m: [f for f in fs if f.lower() not in _props(openapi, m)] for m, fs in routes.FIELDS.items()}
    assert {m: fs for m, fs in missing.items() if fs} == {}


def test_simulator_field_names_exist(openapi: dict[str, Any]) -> None:
    missing = {
        entity: [f for f in fs if f.lower() not in _props(openapi, model)]
        for entity, (model, fs) in catalogue.ENTITY_FIELDS.items()
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_client_request_headers_exist(openapi: dict[str, Any]) -> None:
    params = openapi["paths"]["/V1.0/Tickets"]["post"]["parameters"]
    headers = {p["name"].lower() for p in params if p["in"] == "header"}
    assert {h.lower() for h in routes.HEADERS} <= headers


@pytest.mark.parametrize(
    ("model", "swagger"),
    [
        (models.Zone, "ZoneInformationResultModel"),
        (models.AtContact, "ContactModel"),
        (models.AtCompany, "CompanyModel"),
        (models.AtConfigurationItem, "ConfigurationItemModel"),
        (models.AtTicket, "TicketModel"),
        (models.AtTicketNote, "TicketNoteModel"),
        (models.AtTicketAttachment, "TicketAttachmentModel"),
        (models.AtPicklistValue, "PickListValue"),
        (models.AtFieldInfo, "FieldInformationModel"),
        (models.Threshold, "ThresholdStatusResultModel"),
        (models.AtWebhook, "TicketWebhookModel"),
    ],
)
def test_model_wire_names_exist(openapi: dict[str, Any], model: type[BaseModel], swagger: str) -> None:
    wire = {(f.alias or name) for name, f in model.model_fields.items()}
    assert sorted(w for w in wire if w.lower() not in _props(openapi, swagger)) == []


def test_seed_and_picklist_field_names_exist(openapi: dict[str, Any]) -> None:
    ticket = _props(openapi, "TicketModel")
    note = _props(openapi, "TicketNoteModel")
    assert [f for f in seed.ticket_picklists() if f.lower() not in ticket] == []
    assert [f for f in seed.TICKET_WEBHOOK_FIELDS if f.lower() not in ticket] == []
    assert [f for f in seed.note_picklists() if f.lower() not in note] == []
    assert [f for f in seed.NOTE_WEBHOOK_FIELDS if f.lower() not in note] == []
    for rows, model in (
        (seed.contacts(), "ContactModel"),
        (seed.companies(), "CompanyModel"),
        (seed.configuration_items(), "ConfigurationItemModel"),
        (seed.billing_codes(), "BillingCodeModel"),
    ):
        props = _props(openapi, model)
        assert [k for r in rows for k in r if k.lower() not in props] == []


def test_the_catalogue_check_would_catch_a_typo(spec_routes: set[tuple[str, str]], openapi: dict[str, Any]) -> None:
    assert ("POST", _norm("/V1.0/Tickets/{parentId}/TicketNotes")) not in spec_routes  # autotask-client's bug
    assert "emailaddres" not in _props(openapi, "ContactModel")
