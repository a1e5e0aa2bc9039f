"""A deploy from a fresh clone: the committed samconfig.toml answers what `sam deploy --guided` would ask, and
its parameters stay in step with template.yaml (read with the SAM CLI's own parsers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())


def _deploy() -> dict[str, Any]:
    return dict(SamConfig(str(ROOT)).get_all(["deploy"], "parameters"))


def test_every_template_parameter_is_in_samconfig_with_the_templates_default() -> None:
    overrides = CfnParameterOverridesType().convert(_deploy()["parameter_overrides"], None, None)
    parameters = TEMPLATE["Parameters"]
    assert set(overrides) == set(parameters), "samconfig.toml and template.yaml name different parameters"
    for name, spec in parameters.items():
        assert overrides[name] == str(spec.get("Default", "")), f"{name}: samconfig differs from the default"


def test_samconfig_deploys_without_prompts_and_shows_the_change_set_first() -> None:
    deploy = _deploy()
    assert deploy["stack_name"] and deploy["resolve_s3"] is True
    assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["confirm_changeset"] is True
    assert deploy["template_file"] == ".aws-sam/build/template.yaml"  # what `make build` writes
    roles = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert not any("RoleName" in r.get("Properties", {}) for r in roles), "named roles need CAPABILITY_NAMED_IAM"


def test_make_deploy_builds_then_deploys_with_samconfig() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndeploy: " in makefile and "sam deploy" in makefile.split("\ndeploy: ", 1)[1].split("\n\n", 1)[0]
