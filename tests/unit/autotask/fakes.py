"""A scripted stand-in for `requests.Session` (fakes over mocks): each call pops the next handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

Handler = Callable[[dict[str, Any]], requests.Response]


def response(
    status: int, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    r.headers.update(headers or {})
    return r


ZONE = {
    "zoneName": "Zone 5",
    "url": "https://webservices5.autotask.net/ATServicesRest/",
    "webUrl": "https://ww5.autotask.net/",
    "ci": 77,
}


class FakeSession:
    def __init__(self, *handlers: Handler | requests.Response | BaseException) -> None:
        self.handlers = list(handlers)
        self.calls: list[dict[str, Any]] = []
        self.trust_env = True

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        call = {"method": method, "url": url, **kw}
        self.calls.append(call)
        if not self.handlers:
            raise AssertionError(f"unexpected request {method} {url}")
        h = self.handlers.pop(0)
        if isinstance(h, BaseException):
            raise h
        if isinstance(h, requests.Response):
            return h
        return h(call)

    def close(self) -> None:
        pass
