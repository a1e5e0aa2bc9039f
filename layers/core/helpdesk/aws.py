"""boto3 clients, created once per execution environment.

Every client honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (botocore does this natively), which is
how the devstack points the very same code at moto and the local Lambda emulator: no local branches here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)
_LAMBDA_CONFIG = Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 0})


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_LAMBDA_CONFIG if service == "lambda" else _CONFIG)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    return boto3.session.Session().resource("dynamodb", config=_CONFIG).Table(name)
