from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OPENAPI = Path(os.environ.get("AUTOTASK_OPENAPI", "/work/shared/reference/autotask-openapi-v1.json"))


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """Autotask's Swagger 2.0 document (3 MB), loaded once per test session."""
    if not OPENAPI.exists():
        pytest.skip(f"Autotask OpenAPI document not found at {OPENAPI} (set AUTOTASK_OPENAPI)")
    doc: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return doc
