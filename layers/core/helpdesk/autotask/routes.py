"""Every Autotask route and field name this client uses, in one place.

`tests/unit/autotask/test_openapi_catalogue.py` checks each against the Swagger document Autotask publishes
(stored as /work/shared/reference/autotask-openapi-v1.json; research-autotask-api.md section 8), so a typo in a
route or field name fails a test instead of a tenant's ticket. Paths are relative to `/V1.0/` except the zone
route, which is relative to `/ATServicesRest/`.
"""

from __future__ import annotations

# (method, path template) as written in the Swagger `paths` (case-insensitive match).
ZONE_ROUTE = ("GET", "/V1.0/ZoneInformation")

ROUTES: tuple[tuple[str, str], ...] = (
    ZONE_ROUTE,
    ("GET", "/V1.0/ThresholdInformation"),
    ("POST", "/V1.0/Contacts/query"),
    ("GET", "/V1.0/Contacts/{id}"),
    ("GET", "/V1.0/Companies/{id}"),
    ("POST", "/V1.0/ConfigurationItems/query"),
    ("POST", "/V1.0/Tickets"),
    ("PATCH", "/V1.0/Tickets"),
    ("GET", "/V1.0/Tickets/{id}"),
    ("POST", "/V1.0/Tickets/query"),
    ("GET", "/V1.0/Tickets/entityInformation/fields"),
    ("POST", "/V1.0/Tickets/{parentId}/Notes"),
    ("POST", "/V1.0/TicketNotes/query"),
    ("GET", "/V1.0/TicketNotes/entityInformation/fields"),
    ("POST", "/V1.0/Tickets/{parentId}/Attachments"),
    ("POST", "/V1.0/TicketAttachments/query"),
    ("GET", "/V1.0/Resources/{id}"),
    ("POST", "/V1.0/BillingCodes/query"),
    ("POST", "/V1.0/TicketWebhooks"),
    ("GET", "/V1.0/TicketWebhooks/{id}"),
    ("DELETE", "/V1.0/TicketWebhooks/{id}"),
    ("POST", "/V1.0/TicketWebhooks/{parentId}/Fields"),
    ("GET", "/V1.0/TicketWebhookFields/entityInformation/fields"),
    ("POST", "/V1.0/TicketNoteWebhooks"),
    ("GET", "/V1.0/TicketNoteWebhooks/{id}"),
    ("DELETE", "/V1.0/TicketNoteWebhooks/{id}"),
    ("POST", "/V1.0/TicketNoteWebhooks/{parentId}/Fields"),
    ("GET", "/V1.0/TicketNoteWebhookFields/entityInformation/fields"),
    # entity_information(): the Integration Test's permission check
    *(
        ("GET", f"/V1.0/{entity}/entityInformation")
        for entity in ("Tickets", "TicketNotes", "TicketAttachments", "Contacts", "Companies", "ConfigurationItems")
    ),
)

# TicketWebhooks and TicketNoteWebhooks share one model shape in the Swagger file.
_WEBHOOK_FIELDS = (
    "id",
    "name",
    "webhookUrl",
    "deactivationUrl",
    "secretKey",
    "isActive",
    "isReady",
    "isSubscribedToCreateEvents",
    "isSubscribedToUpdateEvents",
    "isSubscribedToDeleteEvents",
    "notificationEmailAddress",
    "sendThresholdExceededNotification",
    "webhookGUID",
)


# Swagger definition name -> the property names this client reads, writes or filters on.
FIELDS: dict[str, tuple[str, ...]] = {
    "ZoneInformationResultModel": ("zoneName", "url", "webUrl", "ci"),
    "ThresholdStatusResultModel": (
        "externalRequestThreshold",
        "requestThresholdTimeframe",
        "currentTimeframeRequestCount",
    ),
    "QueryModel": ("filter", "includeFields", "maxRecords"),
    "Filter": ("op", "field", "value", "udf", "items"),
    "PagingModel": ("count", "requestCount", "prevPageUrl", "nextPageUrl"),
    "ContactModel": (
        "id",
        "companyID",
        "firstName",
        "lastName",
        "emailAddress",
        "emailAddress2",
        "emailAddress3",
        "isActive",
    ),
    "CompanyModel": ("id", "companyName", "isActive"),
    "ResourceModel": ("id", "firstName", "lastName"),
    "ConfigurationItemModel": ("id", "companyID", "referenceTitle", "isActive"),
    "TicketModel": (
        "id",
        "ticketNumber",
        "title",
        "description",
        "status",
        "priority",
        "queueID",
        "issueType",
        "subIssueType",
        "source",
        "ticketType",
        "ticketCategory",
        "billingCodeID",
        "companyID",
        "contactID",
        "configurationItemID",
        "assignedResourceID",
        "createDate",
        "lastActivityDate",
        "completedDate",
        "externalID",
    ),
    "TicketNoteModel": (
        "id",
        "ticketID",
        "title",
        "description",
        "noteType",
        "publish",
        "createDateTime",
        "lastActivityDate",
        "creatorResourceID",
        "createdByContactID",
    ),
    "TicketAttachmentModel": ("id", "parentID", "attachmentType", "fullPath", "title", "publish", "data", "fileSize"),
    "BillingCodeModel": ("id", "name", "isActive", "useType"),
    "TicketWebhookModel": _WEBHOOK_FIELDS,
    "TicketNoteWebhookModel": _WEBHOOK_FIELDS,
    "TicketWebhookFieldModel": ("id", "webhookID", "fieldID", "isSubscribedField", "isDisplayAlwaysField"),
    "TicketNoteWebhookFieldModel": ("id", "webhookID", "fieldID", "isSubscribedField", "isDisplayAlwaysField"),
    "FieldInformationModel": (
        "name",
        "dataType",
        "isRequired",
        "isPickList",
        "picklistValues",
        "picklistParentValueField",
    ),
    "PickListValue": ("value", "label", "isDefaultValue", "sortOrder", "parentValue", "isActive", "isSystem"),
    "EntityInformationModel": (
        "name",
        "canCreate",
        "canDelete",
        "canQuery",
        "canUpdate",
        "hasUserDefinedFields",
        "supportsWebhookCallouts",
        "userAccessForCreate",
        "userAccessForDelete",
        "userAccessForQuery",
        "userAccessForUpdate",
    ),
}

# Request headers (Swagger parameters `in: header`).
HEADERS = ("ApiIntegrationCode", "UserName", "Secret")
