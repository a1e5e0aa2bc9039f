"""`helpdesk tenants create|list|show|disable|enable`: the MSPs using the service."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk_cli.common import (
    ADDS,
    READS,
    CliError,
    ask,
    changing_parser,
    emit_json,
    resolve,
    resource_options,
    run_command,
    table,
)


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("tenants", help="create, list, show, disable tenants (MSPs)")
    sub = parser.add_subparsers(dest="tenants_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", parents=[common], help="create a tenant and its first admin token")
    create.add_argument("tenant_id", help="lower-case id, e.g. contoso-msp")
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--no-admin-token", action="store_true", help="do not issue an admin token")
    create.set_defaults(func=run_command(create_tenant), effect=ADDS)

    list_ = sub.add_parser("list", parents=[common], help="list tenants")
    list_.set_defaults(func=run_command(list_tenants), effect=READS)

    show = sub.add_parser("show", parents=[common], help="show a tenant's settings (secrets masked)")
    show.add_argument("tenant_id")
    show.set_defaults(func=run_command(show_tenant), effect=READS)

    reseal = changing_parser(
        sub,
        "reseal-secrets",
        parents=[common],
        help="one-off migration (docs/operations.md): seal every tenant secret with its purpose",
    )
    reseal.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    reseal.set_defaults(func=run_command(reseal_secrets))

    for action, help_ in (("disable", "refuse the tenant's buttons and admins"), ("enable", "re-enable a tenant")):
        p = changing_parser(sub, action, parents=[common], help=help_)
        p.add_argument("tenant_id")
        p.set_defaults(func=run_command(set_status), status=action)


def create_tenant(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from helpdesk.domain.ports import ConflictError
    from helpdesk.domain.tenant import CredentialKind, Tenant

    res = resolve(args)
    service = _service(res)
    try:
        tenant = Tenant(tenant_id=args.tenant_id, name=args.name)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise CliError(f"invalid {fields}: tenant ids are 2-63 characters of a-z, 0-9 and '-'", code=2) from None
    try:
        stored = service.tenants.create(tenant)
    except ConflictError:
        raise CliError(f"tenant {args.tenant_id!r} already exists") from None
    token = None
    if not args.no_admin_token:
        token = service.tenants.issue_credential(stored.tenant_id, CredentialKind.ADMIN_TOKEN, "created by CLI").token
    if args.json:
        emit_json({"tenant_id": stored.tenant_id, "name": stored.name, "admin_token": token})
    else:
        print(f"created tenant {stored.tenant_id} ({stored.name})")
        if token:
            print(f"admin token (shown once): {token}")
            if res.api_url:
                print(f"settings page: {res.api_url.rstrip('/')}/admin")
    return 0


def _service(res: Any) -> Any:
    from helpdesk_cli.ops import admin_service

    return admin_service(res)


def list_tenants(args: argparse.Namespace) -> int:
    service = _service(resolve(args))
    tenants = service.tenants.list_tenants()
    if args.json:
        emit_json(
            [
                {
                    "tenant_id": t.tenant_id,
                    "name": t.name,
                    "status": t.status,
                    "configured": t.autotask.configured,
                    "rules_version": t.rules_version,
                    "created_at": t.created_at,
                }
                for t in tenants
            ]
        )
        return 0
    if not tenants:
        print("no tenants yet: helpdesk tenants create <id> --name <name>")
        return 0
    table(
        [
            (
                t.tenant_id,
                t.name,
                t.status,
                "yes" if t.autotask.configured else "no",
                t.rules_version,
                t.created_at.strftime("%Y-%m-%d"),
            )
            for t in tenants
        ],
        ["TENANT", "NAME", "STATUS", "AUTOTASK", "RULES", "CREATED"],
    )
    return 0


def show_tenant(args: argparse.Namespace) -> int:
    from helpdesk.admin.errors import NotFound
    from helpdesk.domain.tenant import CredentialKind

    service = _service(resolve(args))
    try:
        view = service.get_settings(args.tenant_id)
    except NotFound:
        raise CliError(f"no tenant {args.tenant_id!r}") from None
    keys = {
        kind.value: [c for c in service.tenants.list_credentials(args.tenant_id, kind) if c.active]
        for kind in CredentialKind
    }
    data = view.model_dump(mode="json")
    data["active_credentials"] = {kind: len(items) for kind, items in keys.items()}
    if args.json:
        emit_json(data)
        return 0
    at = data["autotask"]
    print(f"{data['tenant_id']}  {data['name']}  ({data['status']}, revision {data['revision']})")
    print(f"  autotask host:        {at['host'] or '-'}")
    print(f"  api user:             {at['api_user'] or '-'}   key: {at['api_key_mask'] or 'not set'}")
    print(f"  integration code:     {at['integration_code'] or '-'}")
    print(f"  unregistered contact: {at['unregistered_email']}")
    defaults = {k: v for k, v in data["defaults"].items() if v not in (None, "")}
    print("  defaults:             " + (", ".join(f"{k}={v}" for k, v in defaults.items()) or "-"))
    print(f"  rules version:        {data['rules_version'] or 'none'}")
    print(f"  notifications:        {', '.join(data['notifications']['events']) or 'off'}")
    print(f"  webhooks registered:  {'yes' if data['webhooks_registered'] else 'no'}")
    counts = data["active_credentials"]
    print(f"  active keys:          {counts['button']} button, {counts['admin']} admin, {counts['callout']} callout")
    return 0


def reseal_secrets(args: argparse.Namespace) -> int:
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
    from helpdesk.adapters.kms import KmsSecretBox
    from helpdesk.admin.reseal import reseal_all

    res = resolve(args)
    table_name = res.need("tenants_table")
    if not args.dry_run and not ask(
        f"re-seal every tenant secret of {table_name} that is not yet sealed with its purpose?", args.yes
    ):
        raise CliError("nothing changed")
    report = reseal_all(
        DynamoTenantRepository(table_name),
        KmsSecretBox(res.need("credentials_key_id")),
        dry_run=args.dry_run,
    )
    if args.json:
        emit_json({"resealed": report.resealed, "current": report.current, "failed": report.failed})
    else:
        verb = "would re-seal" if args.dry_run else "re-sealed"
        print(f"{verb} {report.resealed} secret(s); {report.current} already sealed with their purpose")
        for failure in report.failed:
            print(f"could not decrypt: {failure}")
    return 1 if report.failed else 0


def set_status(args: argparse.Namespace) -> int:
    from helpdesk.domain.tenant import TenantStatus

    service = _service(resolve(args))
    tenant = service.tenants.get(args.tenant_id)
    if tenant is None:
        raise CliError(f"no tenant {args.tenant_id!r}")
    status = TenantStatus.DISABLED if args.status == "disable" else TenantStatus.ACTIVE
    effect = "its buttons and admins are refused" if args.status == "disable" else "its buttons and admins work again"
    if not ask(f"{args.status} tenant {tenant.tenant_id} ({tenant.name})? {effect}", args.yes):
        raise CliError("nothing changed")
    # Always through set_status, also when the status is already set: it (re)marks every credential, so a
    # disabled tenant's button keys are refused (403) on every intake route.
    service.tenants.set_status(tenant.tenant_id, status)
    if args.json:
        emit_json({"tenant_id": tenant.tenant_id, "status": status})
    else:
        print(f"tenant {tenant.tenant_id} is {status}")
    return 0
