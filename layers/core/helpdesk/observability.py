"""Powertools singletons shared by every function (service name comes from POWERTOOLS_SERVICE_NAME).

`logger` and `metrics` are created at import. `tracer` is created on first use (PEP 562 module __getattr__):
building a Tracer loads the X-Ray SDK (~0.1-0.15 s of cold start), which functions that do not trace, like the
fast-answering callout receiver, should not pay for. Functions that trace just import it as before.

`tenant_metric` emits one metric with two dimension sets, `[service]` (what alarms watch) and
`[service, tenant_id]` (which tenant; the dashboard and drill-down), as one EMF record written at once. It is
used for outcomes and failure causes (docs/operations.md), never for per-request figures.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()
_tracer: Tracer | None = None

# An invocation that had nothing to count (a GET, an empty poll) is normal here, not a mistake worth a warning
# in every log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def tenant_metric(name: str, tenant_id: str, value: float = 1.0) -> None:
    """Count `name` for the service as a whole and for one tenant (one EMF record, two dimension sets)."""
    record = EphemeralMetrics()  # its own metric set: flushed now, nothing shared with the handler's `metrics`
    record.add_metric(name=name, unit=MetricUnit.Count, value=value)
    service = {"service": record.service} if record.service else {}
    record.add_dimensions(**service, tenant_id=tenant_id)  # [service] is the record's first dimension set
    record.flush_metrics()


def __getattr__(name: str) -> Any:
    if name == "tracer":
        global _tracer
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer()
        return _tracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
