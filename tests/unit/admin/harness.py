"""Calls the admin function's handler with API Gateway REST (v1) proxy events, as API Gateway would."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

FUNCTION_DIR = Path(__file__).resolve().parents[3] / "functions" / "admin"


def load_admin_function() -> tuple[ModuleType, ModuleType]:
    """(handler module, routes module); imported once per process under unique names."""
    if str(FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTION_DIR))
    routes = importlib.import_module("admin_routes")
    handler = sys.modules.get("admin_function_app")
    if handler is None:
        spec = importlib.util.spec_from_file_location("admin_function_app", FUNCTION_DIR / "app.py")
        assert spec and spec.loader
        handler = importlib.util.module_from_spec(spec)
        sys.modules["admin_function_app"] = handler
        spec.loader.exec_module(handler)
    return handler, routes


@dataclass
class LambdaContext:
    function_name: str = "admin"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:admin"
    aws_request_id: str = "req"


def event(
    method: str,
    path: str,
    *,
    body: Any = None,
    token: str | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    stage: str = "prod",
) -> dict[str, Any]:
    headers = {"Host": "api.example.test", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None or raw_body is not None:
        headers["Content-Type"] = "application/json"
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "domainName": "api.example.test",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        # application/json is one of the API's BinaryMediaTypes (template.yaml): the body arrives base64-encoded
        "body": base64.b64encode(text.encode()).decode("ascii") if text is not None else None,
        "isBase64Encoded": text is not None,
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class AdminClient:
    def __init__(self, handler: ModuleType) -> None:
        self._handler = handler

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Answer:
        answer = self._handler.lambda_handler(event(method, path, token=token, **kwargs), LambdaContext())
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        for k, values in (answer.get("multiValueHeaders") or {}).items():
            headers.setdefault(k.lower(), ", ".join(values))
        return Answer(answer["statusCode"], headers, answer.get("body") or "")
