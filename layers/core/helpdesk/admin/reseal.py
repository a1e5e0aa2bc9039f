"""One-off migration: tenant secrets sealed before purposes existed get their purpose (docs/operations.md).

Before, every secret was sealed with the encryption context `{"tenant_id"}` only. Now the context also names the
purpose (`autotask-api-key`, `webhook-secret`, `callout-token`) and the functions' IAM policies only allow
decrypting with the purpose they need, so an old ciphertext cannot be opened by any function. This re-seals each
old ciphertext with its purpose (decrypt with the old context, encrypt with the new one, save the tenant with
optimistic locking). It is idempotent: a secret that already opens with its purpose is left alone. It runs with
the operator's credentials (`helpdesk tenants reseal-secrets`), never inside a function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpdesk.domain.ports import ConflictError, LegacySecretBox, SecretBox, TenantRepository
from helpdesk.domain.tenant import SecretPurpose, Tenant


@dataclass
class ResealReport:
    resealed: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)  # "<tenant>: <purpose>" (never the secret)


def _secrets(tenant: Tenant) -> list[tuple[SecretPurpose, str | None]]:
    return [
        (SecretPurpose.AUTOTASK_API_KEY, tenant.autotask.api_key_ciphertext),
        (SecretPurpose.WEBHOOK_SECRET, tenant.webhook_secret_ciphertext),
        (SecretPurpose.CALLOUT_TOKEN, tenant.callout_token_ciphertext),
    ]


def _with(tenant: Tenant, purpose: SecretPurpose, ciphertext: str) -> Tenant:
    if purpose is SecretPurpose.AUTOTASK_API_KEY:
        return tenant.model_copy(
            update={"autotask": tenant.autotask.model_copy(update={"api_key_ciphertext": ciphertext})}
        )
    name = "webhook_secret_ciphertext" if purpose is SecretPurpose.WEBHOOK_SECRET else "callout_token_ciphertext"
    return tenant.model_copy(update={name: ciphertext})


def _opens(box: SecretBox, tenant_id: str, ciphertext: str, purpose: SecretPurpose) -> bool:
    try:
        box.open(tenant_id, ciphertext, purpose=purpose)
    except Exception:  # not (yet) sealed with its purpose
        return False
    return True


def reseal_tenant(tenant: Tenant, box: LegacySecretBox, report: ResealReport) -> Tenant | None:
    """The tenant with every old ciphertext re-sealed with its purpose, or None if nothing changed."""
    changed: Tenant | None = None
    for purpose, ciphertext in _secrets(tenant):
        if not ciphertext:
            continue
        if _opens(box, tenant.tenant_id, ciphertext, purpose):
            report.current += 1
            continue
        try:
            plaintext = box.open_legacy(tenant.tenant_id, ciphertext)
        except Exception:
            report.failed.append(f"{tenant.tenant_id}: {purpose.value}")
            continue
        changed = _with(changed or tenant, purpose, box.seal(tenant.tenant_id, plaintext, purpose=purpose))
        report.resealed += 1
    return changed


def reseal_all(tenants: TenantRepository, box: LegacySecretBox, *, dry_run: bool = False) -> ResealReport:
    report = ResealReport()
    for tenant in tenants.list_tenants():
        for _ in range(3):  # bounded: an admin saving settings at the same moment makes us re-read
            attempt = ResealReport()
            updated = reseal_tenant(tenant, box, attempt)
            if updated is None or dry_run:
                break
            try:
                tenants.save(updated)
                break
            except ConflictError:
                fresh = tenants.get(tenant.tenant_id)
                if fresh is None:
                    attempt = ResealReport()
                    break
                tenant = fresh
        _merge(report, attempt)
    return report


def _merge(into: ResealReport, part: ResealReport) -> None:
    into.resealed += part.resealed
    into.current += part.current
    into.failed.extend(part.failed)
