"""`helpdesk keys create|list|revoke`: button keys (agents) and admin tokens (settings page) of a tenant."""

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

KINDS = {"button": "BUTTON_KEY", "admin": "ADMIN_TOKEN"}


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("keys", help="create, list, revoke button keys and admin tokens")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", parents=[common], help="issue a key (printed once)")
    create.add_argument("tenant_id")
    create.add_argument("--kind", choices=sorted(KINDS), default="button")
    create.add_argument("--label", default="", help="to tell keys apart later")
    create.set_defaults(func=run_command(create_key), effect=ADDS)

    list_ = sub.add_parser("list", parents=[common], help="list keys (never the keys themselves)")
    list_.add_argument("tenant_id")
    list_.add_argument("--kind", choices=sorted(KINDS), default="button")
    list_.set_defaults(func=run_command(list_keys), effect=READS)

    revoke = changing_parser(sub, "revoke", parents=[common], help="revoke a key at once")
    revoke.add_argument("tenant_id")
    revoke.add_argument("key_id", help="the id shown by `keys list` (e.g. button_0123abcd...)")
    revoke.add_argument("--kind", choices=sorted(KINDS), default=None, help="default: from the id's prefix")
    revoke.set_defaults(func=run_command(revoke_key))


def _repo(args: argparse.Namespace) -> Any:
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository

    repo = DynamoTenantRepository(resolve(args).need("tenants_table"))
    if repo.get(args.tenant_id) is None:
        raise CliError(f"no tenant {args.tenant_id!r}")
    return repo


def _kind(name: str) -> Any:
    from helpdesk.domain.tenant import CredentialKind

    return CredentialKind[KINDS[name]]


def create_key(args: argparse.Namespace) -> int:
    if len(args.label) > 100:
        raise CliError("the label is at most 100 characters", code=2)
    from helpdesk.domain.ports import CredentialLimitReached

    try:
        issued = _repo(args).issue_credential(args.tenant_id, _kind(args.kind), args.label.strip())
    except CredentialLimitReached as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json(
            {
                "id": issued.credential.credential_id,
                "kind": args.kind,
                "label": issued.credential.label,
                "token": issued.token,
            }
        )
    else:
        print(f"{args.kind} key {issued.credential.credential_id} for {args.tenant_id} (shown once):")
        print(issued.token)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    credentials = sorted(_repo(args).list_credentials(args.tenant_id, _kind(args.kind)), key=lambda c: c.created_at)
    rows = [
        {
            "id": c.credential_id,
            "label": c.label,
            "hint": c.token_hint,
            "created_at": c.created_at,
            "revoked_at": c.revoked_at,
        }
        for c in credentials
    ]
    if args.json:
        emit_json(rows)
    else:
        table(
            [
                (
                    r["id"],
                    r["label"],
                    "..." + str(r["hint"]),
                    str(r["created_at"])[:19],
                    "revoked" if r["revoked_at"] else "active",
                )
                for r in rows
            ],
            ["ID", "LABEL", "ENDS", "CREATED", "STATUS"],
        )
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    kind_name = args.kind or next((k for k in KINDS if args.key_id.startswith(f"{k}_")), None)
    if kind_name is None:
        raise CliError("cannot tell the key's kind from its id: pass --kind button|admin", code=2)
    repo = _repo(args)
    if not ask(f"revoke {kind_name} key {args.key_id} of tenant {args.tenant_id}? it is refused at once", args.yes):
        raise CliError("nothing changed")
    if not repo.revoke_credential(args.tenant_id, _kind(kind_name), args.key_id):
        raise CliError(f"tenant {args.tenant_id!r} has no {kind_name} key {args.key_id!r}")
    if args.json:
        emit_json({"id": args.key_id, "revoked": True})
    else:
        print(f"revoked {kind_name} key {args.key_id}")
    return 0
