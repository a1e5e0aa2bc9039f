"""One Autotask client per tenant and execution environment, built from the tenant's KMS-sealed credentials.

The client (its HTTP session, zone and picklist caches) is reused for every work item of that tenant in the
same Lambda instance; it is rebuilt when the tenant's credentials change. All clients share one
ConcurrencyLimiter, which in AWS is the DynamoDB semaphore (limits hold across instances).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from helpdesk.autotask.client import AutotaskClient, RequestEvent
from helpdesk.autotask.credentials import AutotaskCredentials
from helpdesk.domain.ports import SecretBox
from helpdesk.domain.tenant import SecretPurpose, Tenant
from helpdesk.ports import ConcurrencyLimiter, TenantNotConfigured

MAX_CLIENTS = 200


class KmsClientFactory:
    """AutotaskClients over AutotaskClient."""

    def __init__(
        self,
        secrets: SecretBox,
        *,
        limiter: ConcurrencyLimiter | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._secrets = secrets
        self._limiter = limiter
        self._on_request = on_request
        self._options = dict(client_options or {})
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple[str, str, str, str], AutotaskClient] = OrderedDict()
        self._ok: dict[str, int] = {}

    def successes(self, tenant_id: str) -> int:
        with self._lock:
            return self._ok.get(tenant_id, 0)

    def _hook(self, tenant_id: str) -> Callable[[RequestEvent], None]:
        def on_request(event: RequestEvent) -> None:
            if event.status is not None and 200 <= event.status < 300:
                with self._lock:
                    self._ok[tenant_id] = self._ok.get(tenant_id, 0) + 1
            if self._on_request is not None:
                self._on_request(event)

        return on_request

    def for_tenant(self, tenant: Tenant) -> AutotaskClient:
        settings = tenant.autotask
        if not settings.configured:
            raise TenantNotConfigured("the Autotask API endpoint, API key or integration code is not set")
        assert settings.host and settings.integration_code and settings.api_key_ciphertext
        key = (tenant.tenant_id, settings.host, settings.integration_code, settings.api_key_ciphertext)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        api_key = self._secrets.open(
            tenant.tenant_id, settings.api_key_ciphertext, purpose=SecretPurpose.AUTOTASK_API_KEY
        )
        credentials = AutotaskCredentials.parse(settings.host, api_key, settings.integration_code)
        client = AutotaskClient(
            credentials, limiter=self._limiter, on_request=self._hook(tenant.tenant_id), **self._options
        )
        with self._lock:
            for old in [k for k in self._clients if k[0] == tenant.tenant_id]:
                self._clients.pop(old).close()
            self._clients[key] = client
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)[1].close()
        return client
