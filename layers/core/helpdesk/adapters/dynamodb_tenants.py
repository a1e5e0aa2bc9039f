"""DynamoDB adapter for tenants, their credentials and their rules versions (the TenantsTable).

Item layout (pk / sk):
  TENANT#<id>        / PROFILE        the Tenant document (JSON in `doc`), gsi1pk=TENANTS, gsi1sk=<id>
  TOKEN#<sha256>     / CREDENTIAL     a button key, admin token or callout token (hash only),
                                      gsi1pk=TENANT#<id>, gsi1sk=CRED#<kind>#<credential id>
  TENANT#<id>        / RULES#<000001> one saved Dispatcher Rules version (immutable)
Documents are stored as JSON strings so the model, not DynamoDB's type system, defines the shape.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from helpdesk import aws
from helpdesk.domain.ports import ConflictError
from helpdesk.domain.tenant import (
    Credential,
    CredentialKind,
    IssuedCredential,
    RulesVersion,
    Tenant,
    utcnow,
)
from helpdesk.domain.tokens import new_id, new_token, token_hash

_PROFILE = "PROFILE"
_CREDENTIAL = "CREDENTIAL"


def _tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


class DynamoTenantRepository:
    """The hot reads (a tenant, a credential, a rules version) use the low-level client: a function that only
    reads tenants (intake, callout, dispatcher) never loads the DynamoDB resource model at cold start. The
    writes (admin, CLI) use the resource, created on first use."""

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name
        self._client = aws.client("dynamodb")
        self._resource_table: Any = None

    @property
    def _table(self) -> Any:
        if self._resource_table is None:
            self._resource_table = aws.table(self._table_name)
        return self._resource_table

    def _doc(self, pk: str, sk: str, *, consistent: bool = False) -> str | None:
        item = self._client.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=consistent,
            ProjectionExpression="doc",
        ).get("Item")
        return str(item["doc"]["S"]) if item and "doc" in item else None

    # ---------------------------------------------------------------- tenants
    def get(self, tenant_id: str) -> Tenant | None:
        doc = self._doc(_tenant_pk(tenant_id), _PROFILE, consistent=True)
        return Tenant.model_validate_json(doc) if doc else None

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
            "doc": tenant.model_dump_json(),
        }

    # ---------------------------------------------------------------- credentials
    def issue_credential(self, tenant_id: str, kind: CredentialKind, label: str = "") -> IssuedCredential:
        token = new_token(kind.value)
        credential = Credential(
            credential_id=new_id(f"{kind.value}_"),
            tenant_id=tenant_id,
            kind=kind,
            label=label,
            token_hash=token_hash(token),
            token_hint=token[-4:],
        )
        self._table.put_item(
            Item={
                "pk": f"TOKEN#{credential.token_hash}",
                "sk": _CREDENTIAL,
                "gsi1pk": _tenant_pk(tenant_id),
                "gsi1sk": f"CRED#{kind.value}#{credential.credential_id}",
                "doc": credential.model_dump_json(),
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return IssuedCredential(credential=credential, token=token)

    def resolve_credential(self, kind: CredentialKind, token: str) -> Credential | None:
        if not token or len(token) > 200:
            return None
        doc = self._doc(f"TOKEN#{token_hash(token)}", _CREDENTIAL)
        if not doc:
            return None
        credential = Credential.model_validate_json(doc)
        return credential if credential.kind is kind and credential.active else None

    def list_credentials(self, tenant_id: str, kind: CredentialKind) -> list[Credential]:
        page = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(_tenant_pk(tenant_id))
            & Key("gsi1sk").begins_with(f"CRED#{kind.value}#"),
        )
        return [Credential.model_validate_json(i["doc"]) for i in page.get("Items", [])]

    def revoke_credential(self, tenant_id: str, kind: CredentialKind, credential_id: str) -> bool:
        for credential in self.list_credentials(tenant_id, kind):
            if credential.credential_id != credential_id:
                continue
            if not credential.active:
                return True
            revoked = credential.model_copy(update={"revoked_at": utcnow()})
            self._table.update_item(
                Key={"pk": f"TOKEN#{credential.token_hash}", "sk": _CREDENTIAL},
                UpdateExpression="SET doc = :doc",
                ExpressionAttributeValues={":doc": revoked.model_dump_json()},
                ConditionExpression="attribute_exists(pk)",
            )
            return True
        return False

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
        doc = self._doc(_tenant_pk(tenant_id), f"RULES#{version:06d}")
        return RulesVersion.model_validate_json(doc) if doc else None

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
