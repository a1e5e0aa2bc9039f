"""Load the intake function's handler in-process (after aws_env set its environment) and call it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from devstack.apigw import is_binary
from devstack.events import api_event, lambda_context
from devstack.template import Template

ROOT = Path(__file__).resolve().parents[2]
INTAKE_DIR = ROOT / "functions" / "intake"
# As API Gateway does: a body whose Content-Type is one of the API's BinaryMediaTypes (application/json among
# them) reaches the function base64-encoded, as the bytes that were sent.
BINARY_MEDIA_TYPES = Template.load(ROOT / "template.yaml").apis()["Api"].binary_media_types


def load_intake() -> Any:
    """A fresh import of functions/intake/app.py (module state binds to the current environment)."""
    for name in ("dependencies", "routes", "feed", "intake_app"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(INTAKE_DIR))
    try:
        spec = importlib.util.spec_from_file_location("intake_app", INTAKE_DIR / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["intake_app"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(INTAKE_DIR))


class IntakeCaller:
    def __init__(self, module: Any) -> None:
        self.module = module

    def __call__(
        self,
        method: str,
        path: str,
        *,
        resource: str | None = None,
        path_parameters: dict[str, str] | None = None,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"Content-Type": "application/json"}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        content_type = next((v for k, v in hdrs.items() if k.lower() == "content-type"), None)
        event = api_event(
            method,
            path,
            resource=resource or path,
            path_parameters=path_parameters,
            headers=hdrs,
            body=raw,
            binary=is_binary(content_type, BINARY_MEDIA_TYPES),
        )
        answer = self.module.lambda_handler(event, lambda_context("intake"))
        text = answer.get("body") or ""
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        headers.update({k.lower(): v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items() if v})
        return answer["statusCode"], parsed, headers
