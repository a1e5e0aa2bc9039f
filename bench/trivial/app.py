"""The latency baseline: a function that does nothing, behind the same API Gateway emulator as intake.

Bench-only (bench/latency_bench.py adds it to the devstack's in-memory template); never in template.yaml.
"""

from __future__ import annotations

from typing import Any

BODY = '{"status":"accepted"}'


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 202, "headers": {"Content-Type": "application/json"}, "body": BODY}
