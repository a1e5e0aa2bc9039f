"""boto3 clients, created once per execution environment.

Every client honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (botocore does this natively), which is
how the devstack points the very same code at moto and the local Lambda emulator: no local branches here.

One boto3 Session and one DynamoDB resource serve every client and table: each extra Session or resource
loads botocore's data files again, which is cold-start time a function with two tables should not pay twice.
`client.cache_clear()` / `table.cache_clear()` (used by tests that switch endpoints) drop all of it.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)
RULES_INVOKE_READ_TIMEOUT_S = 5
"""The only function invoked is `rules` (Timeout 3 s in template.yaml): its answer or its timeout error comes
within 3 s plus a cold start's init, so waiting longer only holds the dispatcher. No retries: a failed invoke
goes back to the caller (the dispatcher's work item backs off through the queue)."""
_LAMBDA_CONFIG = Config(connect_timeout=2, read_timeout=RULES_INVOKE_READ_TIMEOUT_S, retries={"max_attempts": 0})
# SigV4 for everything S3 signs, presigned uploads included (buckets may refuse the legacy signature).
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4"))
# ai_categorize: a failed classification only zeroes the scores, so one quick retry (throttles, 5xx) and short
# timeouts (at most ~10 s per question) keep a slow model from holding the dispatcher.
_BEDROCK_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"})
_CONFIGS = {"lambda": _LAMBDA_CONFIG, "s3": _S3_CONFIG, "bedrock-runtime": _BEDROCK_CONFIG}


class _Registry:
    """The shared session, its clients, the DynamoDB resource and its Table objects (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._dynamodb: Any = None
        self._tables: dict[str, Any] = {}

    def _session_locked(self) -> boto3.session.Session:
        if self._session is None:
            self._session = boto3.session.Session()
        return self._session

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                config = _CONFIGS.get(service, _CONFIG)
                self._clients[service] = self._session_locked().client(service, config=config)  # type: ignore[call-overload]
            return self._clients[service]

    def table(self, name: str) -> Any:
        with self._lock:
            if name not in self._tables:
                if self._dynamodb is None:
                    self._dynamodb = self._session_locked().resource("dynamodb", config=_CONFIG)
                self._tables[name] = self._dynamodb.Table(name)
            return self._tables[name]


_REGISTRY = _Registry()


class _Accessor:
    def __init__(self, get: Any) -> None:
        self._get = get

    def __call__(self, name: str) -> Any:
        return self._get(name)

    def cache_clear(self) -> None:
        with _REGISTRY._lock:
            _REGISTRY.clear()


client = _Accessor(_REGISTRY.client)
table = _Accessor(_REGISTRY.table)
