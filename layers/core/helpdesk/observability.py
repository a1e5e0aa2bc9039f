"""Powertools singletons shared by every function (service name comes from POWERTOOLS_SERVICE_NAME).

`logger` and `metrics` are created at import. `tracer` is created on first use (PEP 562 module __getattr__):
building a Tracer loads the X-Ray SDK (~0.1-0.15 s of cold start), which functions that do not trace, like the
fast-answering callout receiver, should not pay for. Functions that trace just import it as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()
_tracer: Tracer | None = None


def __getattr__(name: str) -> Any:
    if name == "tracer":
        global _tracer
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer()
        return _tracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
