"""Lambda event and context builders, shared by the emulators and by integration tests.

Integration tests call handlers in-process (with moto) using exactly the events the devstack's API Gateway
and SQS emulators send::

    from devstack.events import api_event, sqs_event, lambda_context
    event = api_event("GET", "/v1/health", resource="/v1/health")
    response = app.lambda_handler(event, lambda_context("intake"))
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from devstack.template import ACCOUNT_ID

LOCAL_API_ID = "devstack01"


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    headers: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
    query: str | Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    binary: bool = False,
    stage: str = "prod",
    source_ip: str = "127.0.0.1",
    api_id: str = LOCAL_API_ID,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) Lambda proxy integration event.

    ``binary=True`` base64-encodes the body (what API Gateway does when the request Content-Type matches one of
    the API's BinaryMediaTypes); otherwise a bytes body is decoded as UTF-8 with errors="replace".
    """
    header_pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    if isinstance(query, str):
        query_pairs = parse_qsl(query, keep_blank_values=True)
    else:
        query_pairs = list(query.items() if isinstance(query, Mapping) else query or [])
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in header_pairs:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    if body is None or body == b"" or body == "":
        encoded: str | None = None
    elif binary:
        raw = body.encode() if isinstance(body, str) else body
        encoded = base64.b64encode(raw).decode("ascii")
    else:
        encoded = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    now = time.time()
    request_id = request_id or str(uuid.uuid4())
    user_agent = next((v for k, v in header_pairs if k.lower() == "user-agent"), None)
    host = next((v for k, v in header_pairs if k.lower() == "host"), "127.0.0.1")
    resource = resource or path
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": hashlib.sha1(resource.encode()).hexdigest()[:6],  # noqa: S324 - an id, not security
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": host,
            "apiId": api_id,
        },
        "body": encoded,
        "isBase64Encoded": bool(binary and encoded is not None),
    }


def sqs_record(
    body: str,
    *,
    queue_arn: str,
    message_id: str | None = None,
    receipt_handle: str | None = None,
    attributes: Mapping[str, str] | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """One record of an SQS event, as Lambda's event source mapping delivers it.

    ``message_attributes`` uses the SQS API's shape ({"StringValue"|"BinaryValue", "DataType"}); it is
    converted to the event's lower-camel shape.
    """
    now_ms = str(int(time.time() * 1000))
    attrs = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": now_ms,
        "SenderId": ACCOUNT_ID,
        "ApproximateFirstReceiveTimestamp": now_ms,
    }
    attrs.update(attributes or {})
    converted = {}
    for name, value in (message_attributes or {}).items():
        binary = value.get("BinaryValue")
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": list(value.get("BinaryListValues") or []),
            "dataType": value.get("DataType", "String"),
        }
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle or base64.b64encode(uuid.uuid4().bytes).decode(),
        "body": body,
        "attributes": attrs,
        "messageAttributes": converted,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - what SQS computes
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass
class LambdaContext:
    """An in-process stand-in for the Lambda runtime's context object (same attributes and method)."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    timeout_s: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(
    function_name: str = "test-function", *, memory_mb: int = 256, timeout_s: float = 10.0
) -> LambdaContext:
    return LambdaContext(function_name=function_name, memory_limit_in_mb=memory_mb, timeout_s=timeout_s)
