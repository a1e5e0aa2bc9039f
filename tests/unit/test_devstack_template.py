"""devstack.template: parameters, conditions, intrinsic functions and the SAM views the emulators use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack.template import Template, TemplateError, _sam_merge, parse_overrides

ROOT = Path(__file__).resolve().parents[2]


def _template(doc: dict[str, Any], **overrides: str) -> Template:
    doc = {"Resources": {}, **doc}
    return Template(path=ROOT / "template.yaml", doc=doc, overrides=overrides)


def _real(**overrides: str) -> Template:
    return Template.load(ROOT / "template.yaml", overrides=overrides)


def _bind_everything(t: Template) -> None:
    for lid, res in t.doc["Resources"].items():
        t.bind(lid, Ref=f"ref-{lid}", Arn=f"arn:{lid}", QueueName=f"q-{lid}")


# ---------------------------------------------------------------------- parameters
def test_parameters_take_defaults_and_overrides_as_strings() -> None:
    t = _real(RetryBaseDelaySeconds="0")
    assert t.parameters["RetryBaseDelaySeconds"] == "0"
    assert t.parameters["RetryMaxDelaySeconds"] == "300"
    assert t.parameters["StageName"] == "prod"


@pytest.mark.parametrize(
    "override",
    [
        {"NoSuchParameter": "1"},
        {"RetryBaseDelaySeconds": "-1"},  # MinValue 0
        {"RetryMaxDelaySeconds": "99999"},  # MaxValue 43200
        {"SubmissionRetentionDays": "soon"},  # Number
        {"LogRetentionDays": "8"},  # AllowedValues
        {"StageName": "Not-Valid!"},  # AllowedPattern
    ],
)
def test_invalid_parameter_overrides_are_refused_like_cloudformation(override: dict[str, str]) -> None:
    with pytest.raises(TemplateError):
        _real(**override)


def test_parameter_without_default_needs_an_override() -> None:
    doc = {"Parameters": {"Name": {"Type": "String"}}}
    with pytest.raises(TemplateError, match="no Default"):
        _template(doc)
    assert _template(doc, Name="x").parameters["Name"] == "x"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A=1 B=two", {"A": "1", "B": "two"}),
        (["A=1", "B=x=y"], {"A": "1", "B": "x=y"}),
        (["ParameterKey=A,ParameterValue=5"], {"A": "5"}),
        (None, {}),
    ],
)
def test_parse_overrides_accepts_sam_deploy_syntax(raw: Any, expected: dict[str, str]) -> None:
    assert parse_overrides(raw) == expected


def test_parse_overrides_rejects_items_without_equals() -> None:
    with pytest.raises(TemplateError):
        parse_overrides(["oops"])


# ---------------------------------------------------------------------- intrinsics
@pytest.fixture
def t() -> Template:
    doc = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "N": {"Type": "Number", "Default": 3}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        },
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "Gone": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"}},
    }
    tpl = _template(doc)
    tpl.bind("Q", Ref="https://q", Arn="arn:aws:sqs:us-east-1:123456789012:q")
    return tpl


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Ref": "Env"}, "dev"),
        ({"Ref": "N"}, "3"),
        ({"Ref": "AWS::Region"}, "us-east-1"),
        ({"Ref": "AWS::StackName"}, "helpdesk"),
        ({"Ref": "Q"}, "https://q"),
        ({"Fn::GetAtt": ["Q", "Arn"]}, "arn:aws:sqs:us-east-1:123456789012:q"),
        ({"Fn::GetAtt": "Q.Arn"}, "arn:aws:sqs:us-east-1:123456789012:q"),
        ({"Fn::Sub": "${Env}-${AWS::AccountId}-${Q.Arn}"}, "dev-123456789012-arn:aws:sqs:us-east-1:123456789012:q"),
        ({"Fn::Sub": "${!Literal}-${Env}"}, "${Literal}-dev"),
        ({"Fn::Sub": ["${X}/${Env}", {"X": {"Ref": "Q"}}]}, "https://q/dev"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}, "a-dev-1"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::If": ["NotProd", "small", "big"]}, "small"),
        ({"k": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}, "j": 2}, {"j": 2}),
        ([{"Ref": "Env"}, {"Ref": "AWS::NoValue"}], ["dev"]),
    ],
)
def test_intrinsic_functions_resolve(t: Template, node: Any, expected: Any) -> None:
    assert t.resolve(node) == expected


@pytest.mark.parametrize("node", [{"Ref": "Nope"}, {"Fn::GetAtt": ["Q", "Missing"]}, {"Ref": "AWS::Nope"}])
def test_unresolvable_references_are_errors(t: Template, node: Any) -> None:
    with pytest.raises(TemplateError):
        t.resolve(node)


def test_resources_whose_condition_is_false_are_inactive(t: Template) -> None:
    assert t.of_type("AWS::SQS::Queue") == ["Q"]


def test_sam_globals_merge_maps_append_lists_and_let_local_scalars_win() -> None:
    merged = _sam_merge(
        {"Timeout": 10, "Layers": ["g"], "Environment": {"Variables": {"A": "g", "B": "g"}}},
        {"Timeout": 60, "Layers": ["l"], "Environment": {"Variables": {"B": "l"}}},
    )
    assert merged == {"Timeout": 60, "Layers": ["g", "l"], "Environment": {"Variables": {"A": "g", "B": "l"}}}


# ---------------------------------------------------------------------- the real template's views
def test_every_function_environment_resolves_once_resources_are_bound() -> None:
    t = _real(RetryBaseDelaySeconds="0")
    _bind_everything(t)
    functions = t.functions()
    assert set(functions) == {
        "IntakeFunction",
        "CalloutFunction",
        "DispatcherFunction",
        "RulesFunction",
        "AdminFunction",
    }
    dispatcher = functions["DispatcherFunction"]
    assert dispatcher.environment["RULES_FUNCTION_NAME"] == "ref-RulesFunction"
    assert dispatcher.environment["WORK_QUEUE_URL"] == "ref-WorkQueue"
    assert dispatcher.environment["RETRY_BASE_DELAY_SECONDS"] == "0"
    assert dispatcher.environment["POWERTOOLS_METRICS_NAMESPACE"] == "HelpdeskButtons"  # from Globals
    assert dispatcher.timeout_s == 60 and dispatcher.memory_mb == 512
    assert functions["RulesFunction"].timeout_s == 3
    assert functions["CalloutFunction"].memory_mb == 256  # Globals MemorySize
    assert dispatcher.code_dir == ROOT / "functions" / "dispatcher"
    assert dispatcher.layer_dirs == (ROOT / "layers" / "core",)
    assert dispatcher.handler == "app.lambda_handler"


def test_api_events_sqs_sources_and_binary_media_types_come_from_the_template() -> None:
    t = _real()
    routes = {(r.method, r.path): r.function for r in t.api_routes()}
    assert routes[("GET", "/v1/health")] == "IntakeFunction"
    assert routes[("ANY", "/v1/admin/{proxy+}")] == "AdminFunction"
    [source] = t.sqs_sources()
    assert (source.function, source.queue, source.batch_size) == ("DispatcherFunction", "WorkQueue", 5)
    assert source.report_batch_item_failures and source.maximum_concurrency == 10
    assert source.batching_window_s == 1
    api = t.apis()["Api"]
    assert api.stage == "prod"
    assert "image/png" in api.binary_media_types and "application/octet-stream" in api.binary_media_types


def test_stage_name_override_changes_the_api_stage() -> None:
    assert _real(StageName="dev").apis()["Api"].stage == "dev"
