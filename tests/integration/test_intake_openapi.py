"""docs/openapi.json is the OpenAPI document generated from the intake routes, and it is current.

Regenerate with: HELPDESK_UPDATE_OPENAPI=1 .venv/bin/python -m pytest tests/integration/test_intake_openapi.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .intake_handler import load_intake

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_up_to_date(aws_env: dict[str, str]) -> None:
    load_intake()
    import routes  # loaded by load_intake

    generated = routes.openapi_document()
    if os.environ.get("HELPDESK_UPDATE_OPENAPI") == "1":
        DOC.write_text(generated)
    assert DOC.exists(), "run with HELPDESK_UPDATE_OPENAPI=1 to create docs/openapi.json"
    assert DOC.read_text() == generated, "docs/openapi.json is stale: regenerate (see this module's docstring)"


def test_openapi_document_describes_the_contract(aws_env: dict[str, str]) -> None:
    load_intake()
    import routes

    spec = json.loads(routes.openapi_document())
    assert spec["openapi"].startswith("3.")
    assert {"/v1/tickets", "/v1/tickets/{id}", "/v1/uploads", "/v1/health"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert "msg" not in schemas["ValidationError"].get("required", [])  # the Powertools bug, fixed on export
    assert {"SubmissionRequest", "SubmitAccepted", "SubmissionView", "ErrorBody"} <= set(schemas)
    post = spec["paths"]["/v1/tickets"]["post"]
    assert {"202", "401", "409", "413", "415", "422"} <= set(post["responses"])
    assert post["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
