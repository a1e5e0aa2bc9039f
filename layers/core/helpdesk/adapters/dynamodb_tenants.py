"""DynamoDB adapter for tenants, their credentials and their rules versions (the TenantsTable).

Item layout (pk / sk):
  TENANT#<id>        / PROFILE        the Tenant document (JSON in `doc`), gsi1pk=TENANTS, gsi1sk=<id>
  TOKEN#<sha256>     / CREDENTIAL     a button key, admin token or callout token (hash only),
                                      gsi1pk=TENANT#<id>, gsi1sk=CRED#<kind>#<credential id>
  TENANT#<id>        / RULES#<000001> one saved Dispatcher Rules version (immutable)
  TENANT#<id>        / ITEST#LAST     the last Integration Test's bounded summary (not a setting: no revision)
  TENANT#<id>        / CREDCOUNT#<kind> how many credentials of that kind are active (`active`): issuing and
                                      revoking change it in the same transaction, so the per-tenant limit and
                                      "keep the last admin token" hold under concurrency
A credential item also carries `suspended` (its tenant is disabled; set by `set_status`) and, once revoked,
`revoked` and a TTL (`expires_at`, REVOKED_CREDENTIAL_RETENTION_DAYS). The profile carries `status` at top level
so a credential transaction can check it.
Documents are stored as JSON strings so the model, not DynamoDB's type system, defines the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.domain.ports import ConflictError, CredentialLimitReached, LastCredential
from helpdesk.domain.tenant import (
    CREDENTIAL_LIMITS,
    REVOKED_CREDENTIAL_RETENTION_DAYS,
    Credential,
    CredentialKind,
    IntegrationTestSummary,
    IssuedCredential,
    RulesVersion,
    Tenant,
    TenantStatus,
    utcnow,
)
from helpdesk.domain.tokens import new_id, new_token, token_hash

_PROFILE = "PROFILE"
_CREDENTIAL = "CREDENTIAL"
_COUNTER = "CREDCOUNT#"
_LAST_TEST = "ITEST#LAST"
_MAX_PAGES = 100
_KIND_NAMES = {
    CredentialKind.BUTTON_KEY: "button key",
    CredentialKind.ADMIN_TOKEN: "admin token",
    CredentialKind.CALLOUT_TOKEN: "callout token",
}


def _tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _credential_sk(kind: CredentialKind, credential_id: str) -> str:
    return f"CRED#{kind.value}#{credential_id}"


def _counter_key(tenant_id: str, kind: CredentialKind) -> dict[str, Any]:
    return {"pk": {"S": _tenant_pk(tenant_id)}, "sk": {"S": f"{_COUNTER}{kind.value}"}}


def _credential(item: dict[str, Any]) -> Credential:
    credential = Credential.model_validate_json(item["doc"])
    return credential.model_copy(update={"suspended": bool(item.get("suspended", False))})


def _cancellation_reasons(exc: ClientError) -> list[str | None]:
    """Per transaction item: the code of the condition that failed (or None), when a transaction was cancelled."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    reasons = exc.response.get("CancellationReasons") or []
    return [r.get("Code") if r.get("Code") not in ("None", "") else None for r in reasons]


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


class DynamoTenantRepository:
    """The hot reads (a tenant, a credential, a rules version) use the low-level client: a function that only
    reads tenants (intake, callout, dispatcher) never loads the DynamoDB resource model at cold start. The
    other operations (admin, CLI) use the resource, created on first use."""

    def __init__(
        self,
        table_name: str,
        *,
        limits: Mapping[CredentialKind, int] = CREDENTIAL_LIMITS,
        page_size: int | None = None,
    ) -> None:
        self._table_name = table_name
        self._client = aws.client("dynamodb")
        self._resource_table: Any = None
        self._limits = dict(limits)
        self._page_size = page_size

    @property
    def _table(self) -> Any:
        if self._resource_table is None:
            self._resource_table = aws.table(self._table_name)
        return self._resource_table

    def _get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        """One item's `doc` and `suspended` as plain values (None when there is no such item)."""
        item = self._client.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=consistent,
            ProjectionExpression="doc, suspended",
        ).get("Item")
        if not item or "doc" not in item:
            return None
        return {"doc": item["doc"]["S"], "suspended": bool(item.get("suspended", {}).get("BOOL", False))}

    # ---------------------------------------------------------------- tenants
    def get(self, tenant_id: str) -> Tenant | None:
        item = self._get(_tenant_pk(tenant_id), _PROFILE, consistent=True)
        return Tenant.model_validate_json(item["doc"]) if item else None

    def create(self, tenant: Tenant) -> Tenant:
        stored = tenant.model_copy(update={"revision": 1, "created_at": utcnow(), "updated_at": utcnow()})
        try:
            self._table.put_item(
                Item=self._tenant_item(stored),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(f"tenant {tenant.tenant_id!r} already exists") from None
            raise
        return stored

    def save(self, tenant: Tenant) -> Tenant:
        stored = tenant.model_copy(update={"revision": tenant.revision + 1, "updated_at": utcnow()})
        try:
            self._table.put_item(
                Item=self._tenant_item(stored),
                ConditionExpression="attribute_exists(pk) AND revision = :expected",
                ExpressionAttributeValues={":expected": tenant.revision},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise ConflictError(
                    f"tenant {tenant.tenant_id!r} was changed by someone else; reload and retry"
                ) from None
            raise
        return stored

    def list_tenants(self) -> list[Tenant]:
        tenants: list[Tenant] = []
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq("TENANTS")}
        for _ in range(1000):  # bounded paging
            page = self._table.query(**kwargs)
            tenants.extend(Tenant.model_validate_json(i["doc"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(tenants, key=lambda t: t.tenant_id)

    @staticmethod
    def _tenant_item(tenant: Tenant) -> dict[str, Any]:
        return {
            "pk": _tenant_pk(tenant.tenant_id),
            "sk": _PROFILE,
            "gsi1pk": "TENANTS",
            "gsi1sk": tenant.tenant_id,
            "revision": tenant.revision,
            "status": tenant.status.value,
            "doc": tenant.model_dump_json(),
        }

    # ---------------------------------------------------------------- credentials
    def issue_credential(self, tenant_id: str, kind: CredentialKind, label: str = "") -> IssuedCredential:
        """One transaction: count +1 (only while under the kind's limit), the tenant's status unchanged since it
        was read (so a credential issued while the tenant is being disabled is marked too), the credential."""
        limit = self._limits[kind]
        token = new_token(kind.value)
        for _ in range(5):  # bounded: retried only when the tenant's status changed under us
            self._ensure_counter(tenant_id, kind)
            status = self._status(tenant_id)
            credential = Credential(
                credential_id=new_id(f"{kind.value}_"),
                tenant_id=tenant_id,
                kind=kind,
                label=label,
                token_hash=token_hash(token),
                token_hint=token[-4:],
                suspended=status is TenantStatus.DISABLED,
            )
            status_check: dict[str, Any] = {
                "TableName": self._table_name,
                "Key": {"pk": {"S": _tenant_pk(tenant_id)}, "sk": {"S": _PROFILE}},
                "ConditionExpression": "attribute_not_exists(#s) OR #s = :s"
                if status is TenantStatus.ACTIVE
                else "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": status.value}},
            }
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self._table_name,
                                "Key": _counter_key(tenant_id, kind),
                                "UpdateExpression": "ADD active :one",
                                "ConditionExpression": "active < :limit",
                                "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(limit)}},
                            }
                        },
                        {"ConditionCheck": status_check},
                        {
                            "Put": {
                                "TableName": self._table_name,
                                "Item": {
                                    "pk": {"S": f"TOKEN#{credential.token_hash}"},
                                    "sk": {"S": _CREDENTIAL},
                                    "gsi1pk": {"S": _tenant_pk(tenant_id)},
                                    "gsi1sk": {"S": _credential_sk(kind, credential.credential_id)},
                                    "suspended": {"BOOL": credential.suspended},
                                    "doc": {"S": credential.model_dump_json(exclude={"suspended"})},
                                },
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                reasons = _cancellation_reasons(exc)
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise CredentialLimitReached(
                        f"This tenant already has {limit} active {_KIND_NAMES[kind]}s, the most it may have: "
                        "revoke one it no longer uses first."
                    ) from None
                if reasons[1:2] == ["ConditionalCheckFailed"]:
                    continue  # disabled or enabled meanwhile: read the status again
                raise
            return IssuedCredential(credential=credential, token=token)
        raise ConflictError("the tenant's status kept changing; retry")

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        if not token or len(token) > 200:
            return None
        item = self._get(f"TOKEN#{token_hash(token)}", _CREDENTIAL)
        if not item:
            return None
        credential = _credential(item)
        return credential if credential.kind is kind and credential.active else None

    def list_credentials(self, tenant_id: str, kind: CredentialKind) -> list[Credential]:
        """Every credential of this kind, active and recently revoked, over as many pages as there are (bounded:
        the active ones by the limit, the revoked ones by their retention)."""
        credentials: list[Credential] = []
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(_tenant_pk(tenant_id))
            & Key("gsi1sk").begins_with(f"CRED#{kind.value}#"),
        }
        if self._page_size:
            kwargs["Limit"] = self._page_size
        for _ in range(_MAX_PAGES):
            page = self._table.query(**kwargs)
            credentials.extend(_credential(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return credentials

    def revoke_credential(
        self, tenant_id: str, kind: CredentialKind, credential_id: str, *, keep_at_least: int = 0
    ) -> bool:
        page = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(_tenant_pk(tenant_id))
            & Key("gsi1sk").eq(_credential_sk(kind, credential_id)),
        )
        items = page.get("Items", [])
        if not items:
            return False
        credential = _credential(items[0])
        if not credential.active:
            return True
        self._ensure_counter(tenant_id, kind)
        revoked_at = utcnow()
        revoked = credential.model_copy(update={"revoked_at": revoked_at})
        expires = revoked_at + timedelta(days=REVOKED_CREDENTIAL_RETENTION_DAYS)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table_name,
                            "Key": {"pk": {"S": f"TOKEN#{credential.token_hash}"}, "sk": {"S": _CREDENTIAL}},
                            "UpdateExpression": "SET doc = :doc, revoked = :true, expires_at = :expires",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked)",
                            "ExpressionAttributeValues": {
                                ":doc": {"S": revoked.model_dump_json(exclude={"suspended"})},
                                ":true": {"BOOL": True},
                                ":expires": {"N": str(int(expires.timestamp()))},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table_name,
                            "Key": _counter_key(tenant_id, kind),
                            "UpdateExpression": "ADD active :minus",
                            "ConditionExpression": "active > :keep",
                            "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":keep": {"N": str(keep_at_least)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            reasons = _cancellation_reasons(exc)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return True  # revoked concurrently by someone else: the outcome asked for
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise LastCredential(
                    f"This is the last active {_KIND_NAMES[kind]}: create another one before revoking it."
                ) from None
            raise
        return True

    def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        for _ in range(5):  # bounded optimistic-locking retries
            tenant = self.get(tenant_id)
            if tenant is None:
                raise KeyError(tenant_id)
            if tenant.status is status:
                break
            try:
                tenant = self.save(tenant.model_copy(update={"status": status}))
                break
            except ConflictError:
                continue
        else:
            raise ConflictError(f"tenant {tenant_id!r} kept changing; retry")
        # Then every credential (also when the status was already set: this repairs a crash in between). A
        # credential issued meanwhile saw the new status in its own transaction, so none is left unmarked.
        suspended = status is TenantStatus.DISABLED
        for kind in CredentialKind:
            for credential in self.list_credentials(tenant_id, kind):
                if credential.suspended is suspended:
                    continue
                try:
                    self._table.update_item(
                        Key={"pk": f"TOKEN#{credential.token_hash}", "sk": _CREDENTIAL},
                        UpdateExpression="SET suspended = :s",
                        ConditionExpression="attribute_exists(pk)",
                        ExpressionAttributeValues={":s": suspended},
                    )
                except ClientError as exc:
                    if not _conditional_failed(exc):  # expired meanwhile: nothing to mark
                        raise
        return tenant

    def _status(self, tenant_id: str) -> TenantStatus:
        tenant = self.get(tenant_id)
        return tenant.status if tenant else TenantStatus.ACTIVE

    def _ensure_counter(self, tenant_id: str, kind: CredentialKind) -> None:
        """The count of active credentials lives on one item; tenants from before it existed get it from a count
        of their credentials once (every later change goes through the counter, so it stays exact)."""
        key = {"pk": _tenant_pk(tenant_id), "sk": f"{_COUNTER}{kind.value}"}
        if self._table.get_item(Key=key, ConsistentRead=True).get("Item"):
            return
        active = sum(1 for c in self.list_credentials(tenant_id, kind) if c.active)
        try:
            self._table.put_item(Item={**key, "active": active}, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    # ---------------------------------------------------------------- rules versions
    def add_rules_version(self, tenant_id: str, source: str, author: str = "", note: str = "") -> RulesVersion:
        for _ in range(5):  # bounded: concurrent saves race for the next number
            versions = self.list_rules_versions(tenant_id)
            rules = RulesVersion(
                tenant_id=tenant_id,
                version=(versions[-1].version + 1) if versions else 1,
                source=source,
                author=author,
                note=note,
            )
            try:
                self._table.put_item(
                    Item={
                        "pk": _tenant_pk(tenant_id),
                        "sk": f"RULES#{rules.version:06d}",
                        "doc": rules.model_dump_json(),
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return rules
            except ClientError as exc:
                if not _conditional_failed(exc):
                    raise
        raise ConflictError("could not allocate a rules version number; retry")

    def get_rules_version(self, tenant_id: str, version: int) -> RulesVersion | None:
        item = self._get(_tenant_pk(tenant_id), f"RULES#{version:06d}")
        return RulesVersion.model_validate_json(item["doc"]) if item else None

    def list_rules_versions(self, tenant_id: str) -> list[RulesVersion]:
        versions: list[RulesVersion] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_tenant_pk(tenant_id)) & Key("sk").begins_with("RULES#"),
            "ConsistentRead": True,
        }
        for _ in range(100):
            page = self._table.query(**kwargs)
            versions.extend(RulesVersion.model_validate_json(i["doc"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return versions

    # ---------------------------------------------------------------- the last Integration Test
    def save_integration_test(self, tenant_id: str, summary: IntegrationTestSummary) -> None:
        self._table.put_item(
            Item={"pk": _tenant_pk(tenant_id), "sk": _LAST_TEST, "doc": summary.model_dump_json()},
        )

    def last_integration_test(self, tenant_id: str) -> IntegrationTestSummary | None:
        item = self._get(_tenant_pk(tenant_id), _LAST_TEST)
        return IntegrationTestSummary.model_validate_json(item["doc"]) if item else None
