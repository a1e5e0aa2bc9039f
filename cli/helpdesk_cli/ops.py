"""Building blocks the ops command modules share: the admin service over the resolved resources."""

from __future__ import annotations

from helpdesk.admin.service import AdminService
from helpdesk_cli.common import Resources


def admin_service(resources: Resources, *, need_kms: bool = False) -> AdminService:
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
    from helpdesk.adapters.kms import KmsSecretBox
    from helpdesk.admin.gateway import client_gateway
    from helpdesk_cli.rules_local import LocalRulesRunner

    key = resources.need("credentials_key_id") if need_kms else (resources.credentials_key_id or "unset")
    return AdminService(
        tenants=DynamoTenantRepository(resources.need("tenants_table")),
        secrets=KmsSecretBox(key),
        rules=LocalRulesRunner(),
        autotask=client_gateway,
    )
