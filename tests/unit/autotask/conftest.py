from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The project's shared/ folder sits beside the repository (a clone in CI gets a copy there too).
_CANDIDATES = [
    ROOT.parent / "shared/reference/autotask-openapi-v1.json",
    Path("/work/shared/reference/autotask-openapi-v1.json"),
]
OPENAPI = (
    Path(os.environ["AUTOTASK_OPENAPI"])
    if "AUTOTASK_OPENAPI" in os.environ
    else next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
)


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """Autotask's Swagger 2.0 document (3 MB), loaded once per test session."""
    if not OPENAPI.exists():
        pytest.skip(f"Autotask OpenAPI document not found at {OPENAPI} (set AUTOTASK_OPENAPI)")
    doc: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return doc
