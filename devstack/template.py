"""template.yaml as the single source of truth for the devstack.

Parses the SAM template (``samcli.yamlhelper.yaml_parse``), validates and resolves Parameters (defaults plus
``Name=Value`` overrides, like ``sam deploy --parameter-overrides``), evaluates Conditions, resolves the
intrinsic functions the devstack needs (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If,
Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::FindInMap) and describes every function (Globals merged), its API
routes and its SQS event sources. Nothing here talks to AWS: physical names/ARNs/URLs of created resources are
fed in through ``Template.bind`` by whoever creates them (devstack/resources.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
NO_VALUE = object()  # AWS::NoValue: the key it is assigned to disappears

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template (or a parameter override) cannot be used: same situations where CloudFormation refuses."""


def parse_overrides(items: list[str] | str | None) -> dict[str, str]:
    """``["A=1", "B=x"]`` or ``"A=1 B=x"`` (sam deploy's --parameter-overrides syntax) -> dict."""
    if not items:
        return {}
    if isinstance(items, str):
        items = items.split()
    result: dict[str, str] = {}
    for item in items:
        for part in item.split():
            name, sep, value = part.partition("=")
            if not sep or not name:
                raise TemplateError(f"parameter override {part!r} is not Name=Value")
            # sam also accepts ParameterKey=Name,ParameterValue=Value
            if name == "ParameterKey" and ",ParameterValue=" in value:
                name, _, value = value.partition(",ParameterValue=")
            result[name] = value
    return result


@dataclass(frozen=True)
class ApiRoute:
    function: str  # logical id
    event: str  # event name
    api: str  # logical id of the AWS::Serverless::Api (or "ServerlessRestApi")
    path: str
    method: str  # upper case, or "ANY"


@dataclass(frozen=True)
class SqsSource:
    function: str
    event: str
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int
    batching_window_s: float
    maximum_concurrency: int | None
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    memory_mb: int
    timeout_s: float
    runtime: str
    environment: dict[str, str]
    reserved_concurrency: int | None


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    stage: str
    binary_media_types: tuple[str, ...]
    # SAM GatewayResponses: response type -> (status code or None, application/json template or None)
    gateway_responses: tuple[tuple[str, int | None, str | None], ...] = ()

    def gateway_response(self, response_type: str) -> tuple[int | None, str | None]:
        for name, status, template in self.gateway_responses:
            if name == response_type:
                return status, template
        return None, None


@dataclass
class Template:
    path: Path
    doc: dict[str, Any]
    region: str = "us-east-1"
    stack_name: str = "helpdesk"
    overrides: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(init=False)
    conditions: dict[str, bool] = field(init=False)
    # physical facts of created resources: logical id -> {"Ref": ..., "Arn": ..., ...}
    bound: dict[str, dict[str, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.parameters = self._resolve_parameters()
        self.conditions = {}
        for name in self.doc.get("Conditions", {}) or {}:
            self.conditions[name] = self._condition(name, set())

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        overrides: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        stack_name: str = "helpdesk",
    ) -> Template:
        p = Path(path).resolve()
        doc = yaml_parse(p.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
            raise TemplateError(f"{p}: not a CloudFormation/SAM template (no Resources)")
        return cls(path=p, doc=doc, region=region, stack_name=stack_name, overrides=dict(overrides or {}))

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.doc["Resources"])

    def active(self, logical_id: str) -> bool:
        cond = self.doc["Resources"][logical_id].get("Condition")
        return cond is None or self.conditions[cond]

    def of_type(self, type_: str) -> list[str]:
        return [lid for lid, r in self.doc["Resources"].items() if r.get("Type") == type_ and self.active(lid)]

    def properties(self, logical_id: str) -> dict[str, Any]:
        return dict(self.doc["Resources"][logical_id].get("Properties") or {})

    # ------------------------------------------------------------------ parameters and conditions
    def _resolve_parameters(self) -> dict[str, str]:
        declared: dict[str, Any] = self.doc.get("Parameters") or {}
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:
            raise TemplateError(f"unknown parameter override(s): {', '.join(unknown)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in self.overrides:
                raw: Any = self.overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
            values[name] = _check_parameter(name, spec, _scalar(raw))
        return values

    def _condition(self, name: str, seen: set[str]) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        if name in seen:
            raise TemplateError(f"circular condition {name}")
        seen.add(name)
        expr = (self.doc.get("Conditions") or {}).get(name)
        if expr is None:
            raise TemplateError(f"unknown condition {name}")
        value = bool(self.resolve(expr, _conditions_seen=seen))
        self.conditions[name] = value
        return value

    # ------------------------------------------------------------------ physical facts
    def bind(self, logical_id: str, **attrs: str) -> None:
        """Record a created resource's physical facts (``Ref`` plus attributes such as ``Arn``)."""
        self.bound.setdefault(logical_id, {}).update(attrs)

    def physical_name(self, logical_id: str) -> str:
        """The local name a resource gets when its template gives none: ``<stack>-<LogicalId>``."""
        return f"{self.stack_name}-{logical_id}"

    def _pseudo(self, name: str) -> Any:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }.get(name)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            value = self._pseudo(name)
            if value is None:
                raise TemplateError(f"unsupported pseudo parameter {name}")
            return value
        if name in self.parameters:
            return self.parameters[name]
        if name in self.bound and "Ref" in self.bound[name]:
            return self.bound[name]["Ref"]
        if name not in self.doc["Resources"]:
            raise TemplateError(f"!Ref to unknown name {name}")
        raise TemplateError(f"!Ref {name}: the devstack does not create resources of type {self._type(name)}")

    def get_att(self, name: str, attr: str) -> Any:
        if name in self.bound and attr in self.bound[name]:
            return self.bound[name][attr]
        if name not in self.doc["Resources"]:
            raise TemplateError(f"!GetAtt to unknown resource {name}")
        raise TemplateError(f"!GetAtt {name}.{attr}: not available locally (type {self._type(name)})")

    def _type(self, name: str) -> str:
        return str(self.doc["Resources"].get(name, {}).get("Type", "?"))

    # ------------------------------------------------------------------ intrinsic functions
    def resolve(self, node: Any, *, _conditions_seen: set[str] | None = None) -> Any:
        """Resolve intrinsic functions in ``node`` (a deep copy is returned; AWS::NoValue keys are dropped)."""

        def r(n: Any) -> Any:
            return self.resolve(n, _conditions_seen=_conditions_seen)

        if isinstance(node, list):
            return [v for v in (r(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        if len(node) == 1:
            ((key, arg),) = node.items()
            fn = self._intrinsics().get(key)
            if fn is not None:
                return fn(arg, r, _conditions_seen or set())
            if key == "Condition" and isinstance(arg, str):
                return self._condition(arg, _conditions_seen or set())
        out = {}
        for k, v in node.items():
            value = r(v)
            if value is not NO_VALUE:
                out[k] = value
        return out

    def _intrinsics(self) -> dict[str, Callable[[Any, Callable[[Any], Any], set[str]], Any]]:
        return {
            "Ref": lambda a, r, s: self.ref(r(a)),
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Sub": self._fn_sub,
            "Fn::Join": lambda a, r, s: str(r(a[0])).join(_scalar(x) for x in r(a[1])),
            "Fn::Select": lambda a, r, s: r(a[1])[int(r(a[0]))],
            "Fn::Split": lambda a, r, s: _scalar(r(a[1])).split(str(r(a[0]))),
            "Fn::If": lambda a, r, s: r(a[1]) if self._condition(a[0], s) else r(a[2]),
            "Fn::Equals": lambda a, r, s: _scalar(r(a[0])) == _scalar(r(a[1])),
            "Fn::Not": lambda a, r, s: not r(a[0]),
            "Fn::And": lambda a, r, s: all(r(x) for x in a),
            "Fn::Or": lambda a, r, s: any(r(x) for x in a),
            "Fn::FindInMap": lambda a, r, s: self.doc["Mappings"][r(a[0])][r(a[1])][r(a[2])],
        }

    def _fn_get_att(self, arg: Any, r: Callable[[Any], Any], _s: set[str]) -> Any:
        if isinstance(arg, str):
            name, _, attr = arg.partition(".")
        else:
            name, attr = arg[0], r(arg[1])
        return self.get_att(name, attr)

    def _fn_sub(self, arg: Any, r: Callable[[Any], Any], _s: set[str]) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: r(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def one(m: re.Match[str]) -> str:
            expr = m.group(1).strip()
            if expr in variables:
                return _scalar(variables[expr])
            if "." in expr and not expr.startswith("AWS::"):
                name, _, attr = expr.partition(".")
                return _scalar(self.get_att(name, attr))
            return _scalar(self.ref(expr))

        return _SUB_VAR.sub(one, str(text)).replace("${!", "${")

    # ------------------------------------------------------------------ SAM views
    def globals_for(self, kind: str) -> dict[str, Any]:
        return dict((self.doc.get("Globals") or {}).get(kind) or {})

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's Properties with Globals.Function merged the SAM way (maps merge, lists append)."""
        return _sam_merge(self.globals_for("Function"), self.properties(logical_id))

    def functions(self) -> dict[str, FunctionSpec]:
        return {lid: self.function(lid) for lid in self.of_type("AWS::Serverless::Function")}

    def function(self, logical_id: str) -> FunctionSpec:
        props = self.function_properties(logical_id)
        code_uri = self.resolve(props.get("CodeUri", "."))
        if not isinstance(code_uri, str) or "://" in code_uri:
            raise TemplateError(f"{logical_id}: CodeUri must be a local directory for the devstack")
        variables = self.resolve(((props.get("Environment") or {}).get("Variables")) or {})
        layer_dirs = []
        for layer in props.get("Layers") or []:
            lid = layer.get("Ref") if isinstance(layer, dict) else None
            if lid and self._type(lid) == "AWS::Serverless::LayerVersion":
                content = self.resolve(self.properties(lid).get("ContentUri", "."))
                layer_dirs.append((self.root / str(content)).resolve())
            # ARNs of published layers (e.g. Powertools) cannot be fetched: the venv provides them.
        reserved = props.get("ReservedConcurrentExecutions")
        return FunctionSpec(
            logical_id=logical_id,
            handler=str(self.resolve(props.get("Handler", ""))),
            code_dir=(self.root / code_uri).resolve(),
            layer_dirs=tuple(layer_dirs),
            memory_mb=int(self.resolve(props.get("MemorySize", 128))),
            timeout_s=float(self.resolve(props.get("Timeout", 3))),
            runtime=str(self.resolve(props.get("Runtime", ""))),
            environment={str(k): _scalar(v) for k, v in variables.items()},
            reserved_concurrency=int(self.resolve(reserved)) if reserved is not None else None,
        )

    def apis(self) -> dict[str, ApiSpec]:
        result = {}
        glob = self.globals_for("Api")
        for lid in self.of_type("AWS::Serverless::Api"):
            props = _sam_merge(glob, self.properties(lid))
            types = [str(t).replace("~1", "/") for t in self.resolve(props.get("BinaryMediaTypes") or [])]
            responses = []
            for name, response in (self.resolve(props.get("GatewayResponses") or {})).items():
                status = response.get("StatusCode")
                template = (response.get("ResponseTemplates") or {}).get("application/json")
                responses.append((str(name), int(status) if status else None, template))
            result[lid] = ApiSpec(
                lid, str(self.resolve(props.get("StageName", "Prod"))), tuple(types), tuple(responses)
            )
        if any(route.api == "ServerlessRestApi" for route in self.api_routes()):
            types = [str(t).replace("~1", "/") for t in self.resolve(glob.get("BinaryMediaTypes") or [])]
            result["ServerlessRestApi"] = ApiSpec("ServerlessRestApi", "Prod", tuple(types))
        return result

    def api_routes(self) -> list[ApiRoute]:
        routes = []
        for fn in self.of_type("AWS::Serverless::Function"):
            for name, event in (self.properties(fn).get("Events") or {}).items():
                if event.get("Type") != "Api":
                    continue
                props = event.get("Properties") or {}
                api = props.get("RestApiId")
                api_id = api.get("Ref") if isinstance(api, dict) else api
                routes.append(
                    ApiRoute(
                        function=fn,
                        event=name,
                        api=str(api_id or "ServerlessRestApi"),
                        path=str(self.resolve(props["Path"])),
                        method=str(self.resolve(props["Method"])).upper(),
                    )
                )
        return routes

    def sqs_sources(self) -> list[SqsSource]:
        sources = []
        for fn in self.of_type("AWS::Serverless::Function"):
            for name, event in (self.properties(fn).get("Events") or {}).items():
                if event.get("Type") != "SQS":
                    continue
                props = event.get("Properties") or {}
                queue = props["Queue"]
                if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                    ga = queue["Fn::GetAtt"]
                    queue_id = ga.split(".")[0] if isinstance(ga, str) else ga[0]
                else:
                    raise TemplateError(f"{fn}.{name}: Queue must be !GetAtt <Queue>.Arn for the devstack")
                scaling = self.resolve(props.get("ScalingConfig") or {})
                window = self.resolve(props.get("MaximumBatchingWindowInSeconds", 0))
                sources.append(
                    SqsSource(
                        function=fn,
                        event=name,
                        queue=queue_id,
                        batch_size=int(self.resolve(props.get("BatchSize", 10))),
                        batching_window_s=float(window),
                        maximum_concurrency=int(scaling["MaximumConcurrency"])
                        if "MaximumConcurrency" in scaling
                        else None,
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (self.resolve(props.get("FunctionResponseTypes")) or []),
                        enabled=bool(self.resolve(props.get("Enabled", True))),
                    )
                )
        return sources

    def outputs(self) -> dict[str, Any]:
        """Outputs whose values can be resolved locally (others are left out)."""
        result = {}
        for name, out in (self.doc.get("Outputs") or {}).items():
            if "Condition" in out and not self.conditions[out["Condition"]]:
                continue
            try:
                result[name] = self.resolve(out["Value"])
            except TemplateError:
                continue
        return result


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):  # CommaDelimitedList parameters
        return ",".join(_scalar(v) for v in value)
    return str(value)


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> str:
    type_ = spec.get("Type", "String")
    if type_ == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name}: {value!r} is not a Number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}: {value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}: {value} is above MaxValue {spec['MaxValue']}")
    if "AllowedValues" in spec and value not in [_scalar(v) for v in spec["AllowedValues"]]:
        raise TemplateError(f"parameter {name}: {value!r} is not one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
        raise TemplateError(f"parameter {name}: {value!r} does not match {spec['AllowedPattern']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise TemplateError(f"parameter {name}: longer than MaxLength {spec['MaxLength']}")
    return value


def _sam_merge(glob: Mapping[str, Any], local: Mapping[str, Any]) -> dict[str, Any]:
    """SAM Globals semantics: maps merge recursively, lists are concatenated (globals first), scalars: local wins."""
    out: dict[str, Any] = copy.deepcopy(dict(glob))
    for key, value in local.items():
        if key in out and isinstance(out[key], dict) and isinstance(value, dict) and not _is_intrinsic(value):
            out[key] = _sam_merge(out[key], value)
        elif key in out and isinstance(out[key], list) and isinstance(value, list):
            out[key] = out[key] + copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_intrinsic(node: Mapping[str, Any]) -> bool:
    return len(node) == 1 and next(iter(node)).startswith(("Fn::", "Ref", "Condition"))
