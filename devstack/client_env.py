"""Point this process's helpdesk.aws clients at a running stack (its AWS_* and AUTOTASK_* variables), then put
the process environment back exactly as it was. Used by the demo seed, e2e fixtures and benchmarks, which call
the shared package in-process against the devstack.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class StackEnv:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = {k: str(v) for k, v in env.items()}
        self._saved: dict[str, str | None] = {}

    def apply(self) -> None:
        self._saved = {k: os.environ.get(k) for k in self._env}
        os.environ.update(self._env)
        _reset_clients()

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset_clients()


@contextmanager
def pointed_at(env: Mapping[str, str]) -> Iterator[None]:
    stack_env = StackEnv(env)
    stack_env.apply()
    try:
        yield
    finally:
        stack_env.restore()


def _reset_clients() -> None:
    from helpdesk import aws  # clients and tables are cached per execution environment: drop them

    aws.client.cache_clear()
    aws.table.cache_clear()
