"""Admin unit tests validate hosts against the production Autotask pattern, whatever other tests left behind."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def production_autotask_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AUTOTASK_ZONE_URL", "AUTOTASK_HOST_PATTERN", "AUTOTASK_SCHEME"):
        monkeypatch.delenv(var, raising=False)
