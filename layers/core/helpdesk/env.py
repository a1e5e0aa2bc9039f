"""Environment of each function, validated once at cold start (a missing variable fails fast and clearly)."""

from __future__ import annotations

import os
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.notifications.receive import COLLAPSE_SECONDS
from helpdesk.ports import DEFAULT_HOURLY_BUDGET

E = TypeVar("E", bound="FunctionEnv")


class EnvironmentError_(RuntimeError):
    """The function's environment is incomplete or malformed."""


class FunctionEnv(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_environ(cls: type[E]) -> E:
        try:
            return cls.model_validate({k.lower(): v for k, v in os.environ.items()})
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]).upper() for e in exc.errors())
            raise EnvironmentError_(f"{cls.__name__}: invalid or missing environment variables: {missing}") from None


class IntakeEnv(FunctionEnv):
    tenants_table: str = Field(min_length=1)
    submissions_table: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)
    attachments_bucket: str = Field(min_length=1)
    submission_retention_days: int = Field(default=90, ge=1)


class CalloutEnv(FunctionEnv):
    tenants_table: str = Field(min_length=1)
    submissions_table: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)
    credentials_key_id: str = Field(min_length=1)  # kms:Decrypt of the tenant's webhook HMAC secret
    # Optional (not in template.yaml): the window in which callouts for one ticket collapse into one sync.
    notify_collapse_seconds: int = Field(default=COLLAPSE_SECONDS, ge=0, le=600)


class DispatcherEnv(FunctionEnv):
    tenants_table: str = Field(min_length=1)
    submissions_table: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)
    attachments_bucket: str = Field(min_length=1)
    credentials_key_id: str = Field(min_length=1)
    rules_function_name: str = Field(min_length=1)
    submission_retention_days: int = Field(default=90, ge=1)
    retry_base_delay_seconds: float = Field(default=2, ge=0)
    retry_max_delay_seconds: float = Field(default=300, ge=0, le=43200)
    classifier_model_id: str = Field(default="", max_length=200)  # ai_categorize's Bedrock model ("": none)
    # The event source mapping's MaximumConcurrency and the share of it one tenant may hold (fair dispatch).
    dispatcher_max_concurrency: int = Field(default=10, ge=1, le=1000)
    tenant_concurrency_share_percent: int = Field(default=30, ge=1, le=100)
    # Optional knobs (not in template.yaml): the share of Autotask's 10,000 requests/hour per database this
    # service may use, and the queue's maxReceiveCount (to tell the user on the last attempt).
    autotask_hourly_budget: int = Field(default=DEFAULT_HOURLY_BUDGET, ge=1, le=10_000)
    work_queue_max_receive_count: int = Field(default=8, ge=1, le=1000)


class AdminEnv(FunctionEnv):
    tenants_table: str = Field(min_length=1)
    submissions_table: str = Field(min_length=1)
    credentials_key_id: str = Field(min_length=1)
    rules_function_name: str = Field(min_length=1)
    work_queue_url: str = Field(min_length=1)  # re-queueing a press that ended in the dead-letter queue
    submission_retention_days: int = Field(default=90, ge=1)
    classifier_model_id: str = Field(default="", max_length=200)  # ai_categorize in rules test runs


@cache
def load(model: type[E]) -> E:
    """Validated environment, cached for the life of the execution environment."""
    return model.from_environ()
