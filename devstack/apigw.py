"""API Gateway REST API (v1, Lambda proxy integration) emulator, routed by the functions' ``Type: Api`` events.

URL shape like AWS: ``http://127.0.0.1:<port>/<StageName>/<path>``. Behaviour copied from REST APIs:
resource matching prefers static segments over ``{param}`` over ``{proxy+}``, then the exact method over ANY;
an unknown route or method answers 403 ``{"message":"Missing Authentication Token"}``; a body over 10 MB
answers 413 ``{"message":"Request Too Long"}``, and so does a body that fits API Gateway but makes the Lambda
event larger than Lambda's 6 MB request payload (AWS answers that 413 too, not 502); both are the
``REQUEST_TOO_LARGE`` gateway response, whose status and JSON template the API's ``GatewayResponses`` may set. A
request whose Content-Type matches the API's
BinaryMediaTypes reaches the function base64-encoded (isBase64Encoded=true); a function error, timeout,
throttle or malformed proxy response answers 502 ``{"message":"Internal server error"}``; an integration
running longer than 29 s answers 504. Not emulated: authorizers, API keys/usage plans, throttling
(MethodSettings), request validation, mapping templates, CORS preflight generation, custom domains.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.events import LOCAL_API_ID, api_event
from devstack.lambda_service import InvokeResult, LambdaServiceError
from devstack.template import ApiRoute, ApiSpec

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_S = 29.0
log = logging.getLogger("devstack.apigw")

_STATIC, _PARAM, _GREEDY = 0, 1, 2
_PARAM_RE = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")


@dataclass(frozen=True)
class Match:
    route: ApiRoute
    resource: str
    path_parameters: dict[str, str]


class RouteTable:
    """Resource/method matching of one REST API, as API Gateway does it."""

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._resources: dict[str, dict[str, ApiRoute]] = {}
        self._patterns: list[tuple[tuple[int, ...], str, list[tuple[int, str]]]] = []
        for route in routes:
            resource = _normalise(route.path)
            methods = self._resources.setdefault(resource, {})
            if route.method in methods:
                raise ValueError(f"duplicate route {route.method} {resource}")
            methods[route.method] = route
        for resource in self._resources:
            segments = _segments(resource)
            parsed: list[tuple[int, str]] = []
            for i, seg in enumerate(segments):
                m = _PARAM_RE.match(seg)
                if m and m.group(2):
                    if i != len(segments) - 1:
                        raise ValueError(f"{resource}: a greedy {{name+}} must be the last segment")
                    parsed.append((_GREEDY, m.group(1)))
                elif m:
                    parsed.append((_PARAM, m.group(1)))
                else:
                    parsed.append((_STATIC, seg))
            self._patterns.append((tuple(kind for kind, _ in parsed), resource, parsed))
        self._patterns.sort()  # most specific first: static < {param} < {proxy+}, segment by segment

    def match_resource(self, path: str) -> tuple[str, dict[str, str]] | None:
        segments = _segments(_normalise(path))
        for _kinds, resource, parsed in self._patterns:
            params = _match(parsed, segments)
            if params is not None:
                return resource, params
        return None

    def match(self, method: str, path: str) -> Match | None:
        found = self.match_resource(path)
        if found is None:
            return None
        resource, params = found
        methods = self._resources[resource]
        route = methods.get(method.upper()) or methods.get("ANY")
        return None if route is None else Match(route, resource, params)


def _normalise(path: str) -> str:
    path = "/" + path.strip("/")
    return path


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match(parsed: list[tuple[int, str]], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, (kind, value) in enumerate(parsed):
        if kind == _GREEDY:
            if i >= len(segments):
                return None
            params[value] = "/".join(segments[i:])
            return params
        if i >= len(segments):
            return None
        if kind == _STATIC and segments[i] != value:
            return None
        if kind == _PARAM:
            params[value] = segments[i]
    return params if len(parsed) == len(segments) else None


def drain(request: Request, limit: int = 64 * 1024 * 1024) -> bool:
    """Read and drop an unread request body (so the client sees our answer, not a reset); False if too big."""
    stream, left = request.stream, limit
    while left > 0:
        chunk = stream.read(min(1 << 20, left))
        if not chunk:
            return True
        left -= len(chunk)
    return False


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Does ``content_type`` match one of the API's BinaryMediaTypes (wildcards like image/* or */* allowed)?"""
    if not content_type:
        return False
    mime = content_type.split(";")[0].strip().lower()
    return any(fnmatch.fnmatchcase(mime, pattern.strip().lower()) for pattern in binary_media_types)


def _json(status: int, message: str, request_id: str) -> Response:
    return Response(
        json.dumps({"message": message}),
        status=status,
        content_type="application/json",
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": _ERROR_TYPES.get(status, "")},
    )


def _too_large(spec: ApiSpec, request_id: str) -> Response:
    """The REQUEST_TOO_LARGE gateway response: the API's own (GatewayResponses) or API Gateway's default."""
    status, template = spec.gateway_response("REQUEST_TOO_LARGE")
    if template is None:
        return _json(status or 413, "Request Too Long", request_id)
    return Response(
        template,
        status=status or 413,
        content_type="application/json",
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": _ERROR_TYPES[413]},
    )


_ERROR_TYPES = {403: "MissingAuthenticationTokenException", 413: "RequestTooLongException", 502: "", 504: ""}


class ApiGateway:
    """A WSGI app serving every AWS::Serverless::Api of the template under its stage name."""

    def __init__(
        self,
        apis: dict[str, ApiSpec],
        routes: list[ApiRoute],
        invoke: Callable[[str, bytes, float | None], InvokeResult],
        function_names: dict[str, str],
        function_timeouts: dict[str, float],
    ) -> None:
        self._apis: dict[str, tuple[ApiSpec, RouteTable]] = {}
        for lid, spec in apis.items():
            if spec.stage in self._apis:
                raise ValueError(f"two APIs use the stage name {spec.stage!r}; the devstack serves one per stage")
            self._apis[spec.stage] = (spec, RouteTable(r for r in routes if r.api == lid))
        self._invoke = invoke
        self._names = function_names
        self._timeouts = function_timeouts

    @property
    def stages(self) -> list[str]:
        return list(self._apis)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        response = self._handle(request, request_id)
        if not drain(request):
            response.headers["Connection"] = "close"
        return response(environ, start_response)

    def _handle(self, request: Request, request_id: str) -> Response:
        stage, _, rest = request.path.lstrip("/").partition("/")
        if stage not in self._apis:
            return _json(403, "Forbidden", request_id)
        spec, table = self._apis[stage]
        path = "/" + rest
        match = table.match(request.method, path)
        if match is None:
            return _json(403, "Missing Authentication Token", request_id)
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return _too_large(spec, request_id)
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return _too_large(spec, request_id)
        headers = list(request.headers.items())
        forwarded = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
        headers = [(k, v) for k, v in headers if k.lower() not in forwarded]
        headers += [
            ("X-Forwarded-For", request.remote_addr or "127.0.0.1"),
            ("X-Forwarded-Port", str(request.environ.get("SERVER_PORT", ""))),
            ("X-Forwarded-Proto", request.scheme),
            ("X-Amzn-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"),
        ]
        event = api_event(
            request.method,
            path if path == "/" else path.rstrip("/") or "/",
            resource=match.resource,
            path_parameters=match.path_parameters,
            headers=headers,
            query=request.query_string.decode("latin-1"),
            body=body,
            binary=is_binary(request.headers.get("Content-Type"), spec.binary_media_types),
            stage=stage,
            source_ip=request.remote_addr or "127.0.0.1",
            api_id=LOCAL_API_ID,
            request_id=request_id,
        )
        function = match.route.function
        try:
            result = self._call(function, json.dumps(event).encode())
        except TimeoutError:
            return _json(504, "Endpoint request timed out", request_id)
        except LambdaServiceError as exc:
            log.warning("%s %s: invoke failed: %s %s", request.method, request.path, exc.error_type, exc)
            if exc.status == 413:  # the event is over Lambda's request payload limit
                return _too_large(spec, request_id)
            return _json(502, "Internal server error", request_id)
        if not result.ok:
            log.warning("%s %s: %s returned a function error: %s", request.method, path, function, result.payload[:500])
            return _json(502, "Internal server error", request_id)
        return self._response(result, request, spec, request_id, function)

    def _call(self, function: str, payload: bytes) -> InvokeResult:
        name = self._names[function]
        if self._timeouts[function] <= INTEGRATION_TIMEOUT_S:
            return self._invoke(name, payload, None)
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["result"] = self._invoke(name, payload, None)
            except Exception as exc:
                box["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(INTEGRATION_TIMEOUT_S)
        if thread.is_alive():
            raise TimeoutError
        if "error" in box:
            raise box["error"]
        return box["result"]  # type: ignore[no-any-return]

    def _response(self, result: InvokeResult, request: Request, spec: ApiSpec, request_id: str, fn: str) -> Response:
        try:
            proxy = json.loads(result.payload)
            status = int(proxy["statusCode"])
            if not isinstance(proxy, dict) or not 100 <= status <= 599:
                raise ValueError("statusCode")
            raw_body = proxy.get("body")
            if raw_body is not None and not isinstance(raw_body, str):
                raise ValueError("body must be a string")
            if proxy.get("isBase64Encoded"):
                body = base64.b64decode(raw_body or "", validate=True)
                accept = (request.headers.get("Accept") or "").split(",")[0]
                if not is_binary(accept, spec.binary_media_types):
                    log.warning(
                        "%s %s: binary response; on AWS it stays base64 text unless the first Accept type "
                        "(%r) matches BinaryMediaTypes",
                        request.method,
                        request.path,
                        accept,
                    )
            else:
                body = (raw_body or "").encode("utf-8")
            single = proxy.get("headers") or {}
            multi = proxy.get("multiValueHeaders") or {}
            if not isinstance(single, dict) or not isinstance(multi, dict):
                raise ValueError("headers")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: malformed Lambda proxy response (%s): %s", fn, exc, result.payload[:500])
            return _json(502, "Internal server error", request_id)
        response = Response(body, status=status)
        response.headers.clear()
        lower_multi = {k.lower() for k in multi}
        for name, values in multi.items():
            for value in values if isinstance(values, list) else [values]:
                response.headers.add(name, str(value))
        for name, value in single.items():
            if name.lower() not in lower_multi:
                response.headers.add(name, str(value))
        if "content-type" not in {k.lower() for k in response.headers.keys()}:  # noqa: SIM118
            response.headers["Content-Type"] = "application/json"
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["x-amz-apigw-id"] = request_id[:16]
        return response
