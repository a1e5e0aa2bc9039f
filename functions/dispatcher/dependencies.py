"""The dispatcher's composition root: its adapters and use cases, built once per execution environment (cold
start) from the validated environment. Per invocation, only what Lambda's context gives changes (DEPS.lease,
DEPS.time_left)."""

from __future__ import annotations

from helpdesk import env
from helpdesk.adapters.autotask_clients import KmsClientFactory
from helpdesk.adapters.bedrock_classifier import BedrockClassifier
from helpdesk.adapters.dynamodb_classifications import DynamoClassificationCache
from helpdesk.adapters.dynamodb_limits import (
    DynamoBreakerStore,
    DynamoConcurrencyLimiter,
    DynamoTenantLeases,
)
from helpdesk.adapters.dynamodb_notifications import DynamoSyncStates
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.adapters.lambda_rules import LambdaRulesRunner
from helpdesk.adapters.s3 import S3AttachmentStore
from helpdesk.adapters.sqs import SqsWorkQueue
from helpdesk.dispatch import router
from helpdesk.dispatch.breaker import TenantBreaker
from helpdesk.dispatch.create_ticket import CreateTicket, DispatchDeps
from helpdesk.dispatch.fairness import slots_for
from helpdesk.dispatch.sync import SyncTicket
from helpdesk.observability import logger, metrics, tenant_metric

ENV = env.load(env.DispatcherEnv)
QUEUE = SqsWorkQueue(ENV.work_queue_url)
HOURLY_BUDGET = ENV.autotask_hourly_budget
MAX_RECEIVE_COUNT = ENV.work_queue_max_receive_count


def _metric(name: str, value: float) -> None:
    unit = "Milliseconds" if name.endswith("Ms") else "Count"
    metrics.add_metric(name=name, unit=unit, value=value)


def _log(message: str, extra: dict[str, object]) -> None:
    logger.info(message, extra=extra)


# A tenant's share of this function's concurrency (fair dispatch; helpdesk.dispatch.fairness).
LEASES = DynamoTenantLeases(
    ENV.tenants_table, slots=slots_for(ENV.dispatcher_max_concurrency, ENV.tenant_concurrency_share_percent)
)
LIMITER = DynamoConcurrencyLimiter(ENV.tenants_table, hourly_budget=HOURLY_BUDGET)
DEPS = DispatchDeps(
    tenants=DynamoTenantRepository(ENV.tenants_table),
    submissions=DynamoSubmissionRepository(ENV.submissions_table, retention_days=ENV.submission_retention_days),
    clients=KmsClientFactory(
        KmsSecretBox(ENV.credentials_key_id),
        limiter=LIMITER,
        # Short in-process waits only; a longer Retry-After goes back to the queue (backoff without holding
        # this instance), so one throttled tenant does not occupy the dispatcher.
        client_options={"max_retry_wait": 5.0, "timeout": (3.0, 15.0)},
    ),
    rules=LambdaRulesRunner(ENV.rules_function_name),
    blobs=S3AttachmentStore(ENV.attachments_bucket),
    breaker=TenantBreaker(DynamoBreakerStore(ENV.tenants_table)),
    metric=_metric,
    tenant_metric=tenant_metric,
    log=_log,
    max_receive_count=MAX_RECEIVE_COUNT,
    classifier=BedrockClassifier(ENV.classifier_model_id) if ENV.classifier_model_id else None,
    classification_cache=DynamoClassificationCache(ENV.tenants_table),
)


def wire() -> None:
    """Register the use cases with the router, once per execution environment."""
    router.register("submission", CreateTicket(DEPS))
    states = DynamoSyncStates(ENV.submissions_table, retention_days=ENV.submission_retention_days)
    router.register("sync", SyncTicket(DEPS, states))
