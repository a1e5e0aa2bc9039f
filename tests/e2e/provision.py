"""A tenant in the running devstack whose Autotask is the stack's simulator, with a button key (e2e fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from devstack.autotask_sim import DEMO, SimTenant
from devstack.autotask_sim.seed import UNREGISTERED_EMAIL
from devstack.client_env import StackEnv
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.kms import KmsSecretBox
from helpdesk.domain.tenant import AutotaskSettings, CredentialKind, SecretPurpose, Tenant, TicketDefaults


@contextmanager
def provisioned_tenant(
    stack: Any,
    tenant_id: str,
    *,
    name: str,
    defaults: TicketDefaults,
    rules: str | None = None,
    autotask: SimTenant = DEMO,
) -> Iterator[dict[str, Any]]:
    """Create the tenant once per stack (its Autotask: the simulator's `autotask` database), activate `rules`,
    issue a button key; yields {"key", "api", "sim", "stack", "tenants"} with the stack's AWS env applied."""
    sim = stack.autotask_sim
    if sim is None:
        pytest.skip("the devstack runs without the Autotask simulator")
    stack_env = StackEnv(stack.env)
    stack_env.apply()
    try:
        tables = stack.resources
        tenants = DynamoTenantRepository(tables["TenantsTable"]["Ref"])
        box = KmsSecretBox(tables["CredentialsKey"]["Ref"])
        if tenants.get(tenant_id) is None:
            tenant = tenants.create(
                Tenant(
                    tenant_id=tenant_id,
                    name=name,
                    autotask=AutotaskSettings(
                        host=sim.host,
                        integration_code=autotask.integration_code,
                        api_user=autotask.username,
                        api_key_ciphertext=box.seal(
                            tenant_id, autotask.api_key, purpose=SecretPurpose.AUTOTASK_API_KEY
                        ),
                        api_key_mask="****",
                        unregistered_email=UNREGISTERED_EMAIL,
                    ),
                    defaults=defaults,
                )
            )
            if rules is not None:
                version = tenants.add_rules_version(tenant_id, rules, author="e2e")
                tenants.save(tenant.model_copy(update={"rules_version": version.version}))
        key = tenants.issue_credential(tenant_id, CredentialKind.BUTTON_KEY, label="e2e").token
        yield {"key": key, "api": stack.api_url, "sim": sim, "stack": stack, "tenants": tenants}
    finally:
        stack_env.restore()
