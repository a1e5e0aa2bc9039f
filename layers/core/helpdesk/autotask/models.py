"""Typed views of what the service reads from Autotask (field names: Swagger models, research section 4).

Attributes are snake_case; the aliases are Autotask's exact wire names. Unknown fields are ignored, so a
tenant's extra fields or a future API version do not break parsing. All datetimes are UTC (research 4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _AtModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Zone(_AtModel):
    """`ZoneInformationResultModel`. `url` includes `/ATServicesRest/`; `ci` identifies the database."""

    zone_name: str | None = Field(default=None, alias="zoneName")
    url: str
    web_url: str | None = Field(default=None, alias="webUrl")
    ci: int | None = None

    @property
    def api_base(self) -> str:
        """`https://webservicesN.autotask.net/ATServicesRest/V1.0/`."""
        return self.url.rstrip("/") + "/V1.0/"


class AtContact(_AtModel):
    id: int
    company_id: int | None = Field(default=None, alias="companyID")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email_address: str | None = Field(default=None, alias="emailAddress")
    email_address2: str | None = Field(default=None, alias="emailAddress2")
    email_address3: str | None = Field(default=None, alias="emailAddress3")
    is_active: bool = Field(default=True, alias="isActive")

    @field_validator("is_active", mode="before")
    @classmethod
    def _int_bool(cls, v: Any) -> Any:  # ContactModel.isActive is int32 (1/0)
        return bool(v) if isinstance(v, int) else v

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class AtCompany(_AtModel):
    id: int
    company_name: str | None = Field(default=None, alias="companyName")
    is_active: bool = Field(default=True, alias="isActive")


class AtConfigurationItem(_AtModel):
    id: int
    company_id: int | None = Field(default=None, alias="companyID")
    reference_title: str | None = Field(default=None, alias="referenceTitle")
    is_active: bool = Field(default=True, alias="isActive")


class AtResource(_AtModel):
    """`ResourceModel`: an Autotask user (technician); the sync names who changed or answered a ticket."""

    id: int
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")

    @property
    def full_name(self) -> str:
        return " ".join(p.strip() for p in (self.first_name, self.last_name) if p and p.strip())


class AtTicket(_AtModel):
    id: int
    ticket_number: str | None = Field(default=None, alias="ticketNumber")
    title: str | None = None
    description: str | None = None
    status: int | None = None
    priority: int | None = None
    queue_id: int | None = Field(default=None, alias="queueID")
    issue_type: int | None = Field(default=None, alias="issueType")
    sub_issue_type: int | None = Field(default=None, alias="subIssueType")
    source: int | None = None
    ticket_type: int | None = Field(default=None, alias="ticketType")
    ticket_category: int | None = Field(default=None, alias="ticketCategory")
    billing_code_id: int | None = Field(default=None, alias="billingCodeID")
    company_id: int | None = Field(default=None, alias="companyID")
    contact_id: int | None = Field(default=None, alias="contactID")
    configuration_item_id: int | None = Field(default=None, alias="configurationItemID")
    assigned_resource_id: int | None = Field(default=None, alias="assignedResourceID")
    create_date: datetime | None = Field(default=None, alias="createDate")
    last_activity_date: datetime | None = Field(default=None, alias="lastActivityDate")
    completed_date: datetime | None = Field(default=None, alias="completedDate")
    external_id: str | None = Field(default=None, alias="externalID")


class AtTicketNote(_AtModel):
    id: int
    ticket_id: int = Field(alias="ticketID")
    title: str | None = None
    description: str | None = None
    note_type: int | None = Field(default=None, alias="noteType")
    publish: int | None = None
    create_date_time: datetime | None = Field(default=None, alias="createDateTime")
    last_activity_date: datetime | None = Field(default=None, alias="lastActivityDate")
    creator_resource_id: int | None = Field(default=None, alias="creatorResourceID")
    created_by_contact_id: int | None = Field(default=None, alias="createdByContactID")


class AtTicketAttachment(_AtModel):
    id: int
    parent_id: int | None = Field(default=None, alias="parentID")
    title: str | None = None
    full_path: str | None = Field(default=None, alias="fullPath")
    file_size: float | None = Field(default=None, alias="fileSize")
    publish: int | None = None


class AtPicklistValue(_AtModel):
    """`PickListValue`: `value` and `parentValue` are strings on the wire (research section 5)."""

    value: str
    label: str
    is_default_value: bool = Field(default=False, alias="isDefaultValue")
    sort_order: int | None = Field(default=None, alias="sortOrder")
    parent_value: str | None = Field(default=None, alias="parentValue")
    is_active: bool = Field(default=True, alias="isActive")
    is_system: bool = Field(default=False, alias="isSystem")

    @field_validator("value", "parent_value", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @property
    def int_value(self) -> int | None:
        try:
            return int(self.value)
        except ValueError:
            return None


class AtFieldInfo(_AtModel):
    """`FieldInformationModel` (from `{Entity}/entityInformation/fields`)."""

    name: str
    data_type: str | None = Field(default=None, alias="dataType")
    is_required: bool = Field(default=False, alias="isRequired")
    is_pick_list: bool = Field(default=False, alias="isPickList")
    picklist_values: list[AtPicklistValue] | None = Field(default=None, alias="picklistValues")
    picklist_parent_value_field: str | None = Field(default=None, alias="picklistParentValueField")


class Threshold(_AtModel):
    """`ThresholdStatusResultModel`: e.g. 10000 requests / 60 minutes, 124 used (research section 6)."""

    external_request_threshold: int = Field(alias="externalRequestThreshold")
    request_threshold_timeframe: int = Field(alias="requestThresholdTimeframe")
    current_timeframe_request_count: int = Field(alias="currentTimeframeRequestCount")

    @property
    def usage(self) -> float:
        """Fraction of the hourly budget used (Autotask adds latency from 0.5 and blocks at 1.0)."""
        if self.external_request_threshold <= 0:
            return 1.0
        return self.current_timeframe_request_count / self.external_request_threshold


class AtWebhook(_AtModel):
    """`TicketWebhookModel` / `TicketNoteWebhookModel` (the secret key is never read back into this model)."""

    id: int
    name: str | None = None
    webhook_url: str | None = Field(default=None, alias="webhookUrl")
    webhook_guid: str | None = Field(default=None, alias="webhookGUID")
    is_active: bool = Field(default=False, alias="isActive")
    is_ready: bool = Field(default=False, alias="isReady")
