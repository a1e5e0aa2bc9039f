"""Fakes for the agent's unit tests: a clock that advances only when slept, and a scripted HTTP session."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from helpdesk_cli.agent.retry import Timing


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def timing(self, rand: float = 0.5) -> Timing:
        return Timing(clock=self.clock, sleep=self.sleep, rand=lambda: rand)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.reason = {200: "OK", 201: "Created", 202: "Accepted", 401: "Unauthorized", 503: "Service Unavailable"}.get(
        status, ""
    )
    resp._content = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    resp._content_consumed = True
    resp.raw = io.BytesIO(resp._content)
    resp.headers.update(headers or {})
    return resp


@dataclass
class Call:
    method: str
    url: str
    data: bytes | None
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


Handler = Callable[[Call], "requests.Response | Exception"]


@dataclass
class ScriptedSession:
    """Answers each request from a list of scripted outcomes (a Response or an exception to raise), in order."""

    script: list[requests.Response | Exception] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def request(self, method: str, url: str, *, data: bytes | None, headers: dict[str, str], timeout: Any) -> Any:
        self.calls.append(Call(method, url, data, dict(headers)))
        outcome = self.script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@dataclass
class FakeApi:
    """A tiny in-memory button agent API routed by method and path (the statuses a submission goes through
    are scripted); records every call. Used as the `session` of AgentClient."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[list[dict[str, Any]]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    submissions: dict[str, bytes] = field(default_factory=dict)
    faults: list[requests.Response | Exception] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)

    def request(self, method: str, url: str, *, data: bytes | None, headers: dict[str, str], timeout: Any) -> Any:
        call = Call(method, url, data, dict(headers))
        self.calls.append(call)
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, BaseException):
                raise fault
            return fault
        path = url.split("/prod", 1)[-1]
        if method == "POST" and url.startswith("http://s3.local/"):
            self.uploads[url] = multipart_file(data or b"", headers["Content-Type"])
            return response(204)
        if headers.get("Authorization") != "Bearer hbk_good":
            return response(401, {"error": "unauthorized", "message": "unknown button key"})
        if method == "POST" and path == "/v1/tickets":
            body = call.json
            sid = body["submission_id"]
            if sid in self.submissions and self.submissions[sid] != data:
                return response(409, {"error": "conflict", "message": "different body"})
            self.submissions[sid] = data or b""
            return response(202, {"id": sid, "status": "queued", "receipt": f"hbr_{sid}"})
        if method == "POST" and path == "/v1/uploads":
            n = len(self.uploads) + 1
            return response(
                201,
                {
                    "upload_id": f"up{n}",
                    "url": f"http://s3.local/bucket/up{n}",
                    "method": "POST",
                    "fields": {"Content-Type": call.json["content_type"], "key": f"uploads/up{n}", "policy": "p"},
                    "expires_in": 900,
                },
            )
        if method == "GET" and path.startswith("/v1/tickets/"):
            sid = path.rsplit("/", 1)[-1]
            if headers.get("X-Receipt") != f"hbr_{sid}":
                return response(404, {"error": "not_found", "message": "unknown submission"})
            doc = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return response(200, {"id": sid, "timeline": [], **doc})
        if method == "GET" and path.startswith("/v1/notifications"):
            events = self.notifications.pop(0) if self.notifications else []
            if isinstance(events, BaseException):
                raise events
            return response(200, {"events": events, "cursor": f"c{len(self.calls)}"})
        return response(403, {"message": "Missing Authentication Token"})


def multipart_file(body: bytes, content_type: str) -> bytes:
    """The `file` part of a multipart/form-data body (parsed with the standard library's e-mail parser); it must
    come last, after every signed field, as S3 requires."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    names = [p.get_param("name", header="content-disposition") for p in parts]
    assert names[-1] == "file" and "file" not in names[:-1], names
    return bytes(parts[-1].get_payload(decode=True))
