"""The Lambda layer ships exactly the runtime dependencies pinned in uv.lock.

`sam build` installs layers/core/requirements.txt into the layer; if it drifts from the lock, the deployed
functions run other versions than the tests (or fail to import, e.g. the rules sandbox without google-re2).
Regenerate with `make layer-requirements`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_layer_requirements_match_the_lock() -> None:
    exported = subprocess.run(
        [
            str(ROOT / ".tools/bin/uv"),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert (ROOT / "layers/core/requirements.txt").read_text() == exported, "run `make layer-requirements`"


def test_layer_carries_what_the_functions_import() -> None:
    pinned = {
        line.split("==")[0] for line in (ROOT / "layers/core/requirements.txt").read_text().splitlines() if "==" in line
    }
    assert {"aws-lambda-powertools", "pydantic", "requests", "google-re2", "boto3"} <= pinned


def test_every_function_declares_it_has_no_dependencies_of_its_own() -> None:
    """`sam build` warned "requirements.txt file not found" once per function: each has an empty one (the
    dependencies are the CoreLayer's), so the build is quiet and no function bundles a second copy."""
    from samcli.yamlhelper import yaml_parse

    root = Path(__file__).resolve().parents[2]
    template = yaml_parse((root / "template.yaml").read_text())
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        requirements = root / resource["Properties"]["CodeUri"] / "requirements.txt"
        assert requirements.is_file(), f"{name}: no {requirements.relative_to(root)}"
        lines = [line for line in requirements.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert lines == [], f"{name}: dependencies belong in the layer, not {requirements.relative_to(root)}"
