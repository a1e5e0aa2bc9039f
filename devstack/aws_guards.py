"""What AWS enforces and moto server does not, in front of moto (devstack/moto_process.py):

* **S3 presigned POST policies.** moto stores any form POST to a bucket. S3 checks the signed policy: it has not
  expired, its SigV4 signature matches, every condition holds (exact fields, `starts-with`, and
  `content-length-range` against the file's size) and every form field is covered by a condition. A body larger
  than the range is `400 EntityTooLarge` and nothing is stored; a legacy (SigV2) form is refused as S3 does in
  SigV4-only regions. Source: Amazon S3 API Reference, "Browser-Based Uploads Using POST (AWS Signature Version
  4)", "Creating a POST Policy" (conditions, content-length-range, field coverage) and the error codes list.
* **DynamoDB isolation.** DynamoDB runs every request on an item atomically and a transaction all-or-nothing.
  moto cancels a failed TransactWriteItems by restoring a copy of each table it touched taken before the
  transaction, which silently undoes writes other clients made meanwhile; concurrent requests can also see a
  transaction half applied. moto's DynamoDB work is GIL-bound anyway, so the guard runs one DynamoDB request at a
  time: the same outcomes as DynamoDB, at no real cost in throughput.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Form fields S3 does not require a policy condition for.
_UNCHECKED_FIELDS = {"policy", "x-amz-signature", "file"}
MAX_FORM_BYTES = 20 * 1024 * 1024  # bounded: S3 itself caps a POST upload at 5 GB; the devstack needs far less


class PolicyError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_post_policy(
    fields: Mapping[str, str], *, bucket: str, file_size: int, secret: str, now: datetime | None = None
) -> None:
    """Raise PolicyError unless S3 would accept this form POST (fields without the file, its size in bytes)."""
    lower = {k.lower(): v for k, v in fields.items()}
    if "awsaccesskeyid" in lower or ("signature" in lower and "x-amz-signature" not in lower):
        raise PolicyError(
            400,
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        )
    if lower.get("x-amz-algorithm") != "AWS4-HMAC-SHA256" or "policy" not in lower:
        raise PolicyError(403, "AccessDenied", "Access Denied: a SigV4 policy and signature are required")
    policy_b64 = lower["policy"]
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except ValueError:
        raise PolicyError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    credential = lower.get("x-amz-credential", "").split("/")
    if len(credential) != 5:
        raise PolicyError(400, "InvalidArgument", "Invalid according to Policy: malformed x-amz-credential")
    _access_key, date, region, _service, _term = credential
    expected = hmac.new(_signing_key(secret, date, region), policy_b64.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, lower.get("x-amz-signature", "")):
        raise PolicyError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
    expiration = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if expiration <= (now or datetime.now(UTC)):
        raise PolicyError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {**lower, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            for name, value in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != value:
                    raise PolicyError(
                        403, "AccessDenied", f'Invalid according to Policy: Policy Condition failed: ["eq", "${name}"]'
                    )
        elif isinstance(condition, list) and condition and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                raise PolicyError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if file_size < low:
                raise PolicyError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum size")
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] in ("eq", "starts-with"):
            name = str(condition[1]).lstrip("$").lower()
            covered.add(name)
            actual = values.get(name, "")
            ok = actual == condition[2] if condition[0] == "eq" else actual.startswith(str(condition[2]))
            if not ok:
                raise PolicyError(
                    403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
                )
    extra = sorted(n for n in lower if n not in covered | _UNCHECKED_FIELDS and not n.startswith("x-ignore-"))
    if extra:
        raise PolicyError(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _s3_error(start_response: Callable[..., Any], error: PolicyError) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
    ).encode()
    reason = {400: "Bad Request", 403: "Forbidden"}.get(error.status, "Error")
    start_response(
        f"{error.status} {reason}", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]


def guard(app: WsgiApp, *, secret: str) -> WsgiApp:
    """Wrap moto's WSGI application with the checks above."""
    dynamodb = threading.Lock()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            with dynamodb:
                return list(app(environ, start_response))
        content_type = str(environ.get("CONTENT_TYPE", ""))
        path = str(environ.get("PATH_INFO", "")).strip("/")
        if environ.get("REQUEST_METHOD") == "POST" and content_type.startswith("multipart/form-data") and path:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_FORM_BYTES:
                return _s3_error(start_response, PolicyError(400, "EntityTooLarge", "upload too large"))
            raw = environ["wsgi.input"].read(length) if length else b""
            probe = {**environ, "wsgi.input": io.BytesIO(raw)}
            _stream, form, files = parse_form_data(probe)
            upload = files.get("file")
            size = len(upload.read()) if upload is not None else 0
            try:
                check_post_policy(dict(form.items()), bucket=path.split("/", 1)[0], file_size=size, secret=secret)
            except PolicyError as error:
                return _s3_error(start_response, error)
            except (ValueError, TypeError) as error:
                return _s3_error(start_response, PolicyError(400, "MalformedPOSTRequest", str(error)[:200]))
            environ["wsgi.input"] = io.BytesIO(raw)
        return app(environ, start_response)

    return guarded
