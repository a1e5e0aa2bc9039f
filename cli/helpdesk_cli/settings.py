"""`helpdesk settings export|import`: a tenant's settings as a JSON document, secrets never in clear.

The export holds everything an admin configures except secrets: the API key appears only as its mask and no
token or ciphertext is written. `import` applies a document through the same validation as the admin API (and
saves the rules as a new version if they differ); the API key can be supplied from an environment variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from helpdesk_cli.common import (
    READS,
    CliError,
    ask,
    changing_parser,
    emit_json,
    resolve,
    resource_options,
    run_command,
)

FORMAT = "helpdesk-settings/1"


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("settings", help="export / import a tenant's settings (no secrets)")
    sub = parser.add_subparsers(dest="settings_command", metavar="ACTION", required=True)

    export = sub.add_parser("export", parents=[common], help="write the settings as JSON")
    export.add_argument("tenant_id")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    export.set_defaults(func=run_command(export_settings), effect=READS)

    import_ = changing_parser(
        sub, "import", parents=[common], help="apply a settings document to a tenant, replacing what it names"
    )
    import_.add_argument("tenant_id")
    import_.add_argument("file", help="JSON file from `settings export` ('-' for stdin)")
    import_.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the Autotask API key")
    import_.add_argument("--create", action="store_true", help="create the tenant if it does not exist")
    import_.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
    import_.set_defaults(func=run_command(import_settings))


def export_document(service: Any, tenant_id: str) -> dict[str, Any]:
    view = service.get_settings(tenant_id).model_dump(mode="json")
    active = service.active_rules(tenant_id)
    at = view["autotask"]
    return {
        "format": FORMAT,
        "tenant_id": view["tenant_id"],
        "name": view["name"],
        "autotask": {
            "host": at["host"],
            "integration_code": at["integration_code"],
            "api_user": at["api_user"],
            "api_key_mask": at["api_key_mask"],
            "unregistered_email": at["unregistered_email"],
        },
        "defaults": view["defaults"],
        "notifications": view["notifications"],
        "rules": {"version": active.version if active else 0, "source": active.source if active else ""},
    }


def export_settings(args: argparse.Namespace) -> int:
    from helpdesk.admin.errors import NotFound
    from helpdesk_cli.ops import admin_service

    service = admin_service(resolve(args))
    try:
        document = export_document(service, args.tenant_id)
    except NotFound:
        raise CliError(f"no tenant {args.tenant_id!r}") from None
    if args.output:
        Path(args.output).write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.output} (API key not included: only its mask)", file=sys.stderr)
    else:
        emit_json(document)
    return 0


def import_settings(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from helpdesk.admin.errors import AdminError
    from helpdesk.admin.service import rules_check
    from helpdesk.admin.settings import SettingsUpdate
    from helpdesk.domain.rules import RulesRequest
    from helpdesk.domain.tenant import Tenant
    from helpdesk_cli.ops import admin_service

    raw = sys.stdin.read() if args.file == "-" else _read(args.file)
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise CliError(f"{args.file}: not JSON ({exc})", code=2) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CliError(f"{args.file}: not a settings document (expected format {FORMAT!r})", code=2)
    autotask = {
        k: v
        for k, v in (document.get("autotask") or {}).items()
        if k in ("host", "integration_code", "unregistered_email") and v
    }
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise CliError(f"environment variable {args.api_key_env} is empty or unset", code=2)
        autotask["api_key"] = key
    try:
        update = SettingsUpdate.model_validate(
            {
                "name": document.get("name"),
                "autotask": autotask or None,
                "defaults": document.get("defaults"),
                "notifications": document.get("notifications"),
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CliError(f"{args.file}: {problems}", code=2) from None
    rules_source = str((document.get("rules") or {}).get("source") or "")

    res = resolve(args)
    service = admin_service(res, need_kms="api_key" in autotask)
    exists = service.tenants.get(args.tenant_id) is not None
    if not exists and not args.create:
        raise CliError(f"no tenant {args.tenant_id!r} (pass --create to create it)")
    try:
        if rules_source:
            check = rules_check(service.rules.run(RulesRequest.draft("validate", args.tenant_id, rules_source, {})))
            if not check.ok:
                first = check.errors[0]
                where = f"line {first.get('line', 0)}, column {first.get('column', 0)}"
                raise CliError(f"rules: {where}: {first['message']}", code=2)
        if args.dry_run:
            print("valid: nothing changed (dry run)")
            return 0
        replaced = [name for name in ("name", "autotask", "defaults", "notifications") if getattr(update, name)]
        replaced += ["rules (as a new version if they differ)"] if rules_source else []
        question = (
            f"{'import settings into' if exists else 'create tenant'} {args.tenant_id}"
            f"{'' if exists else ' and import settings into it'}? replaces its {', '.join(replaced) or 'nothing'}"
        )
        if not ask(question, args.yes):
            raise CliError("nothing changed")
        if not exists:
            service.tenants.create(Tenant(tenant_id=args.tenant_id, name=document.get("name") or args.tenant_id))
        view = service.update_settings(args.tenant_id, update)
        active = service.active_rules(args.tenant_id)
        saved_rules = None
        if rules_source and (active is None or active.source != rules_source):
            saved_rules = service.save_rules(args.tenant_id, rules_source, author="cli import", note="settings import")
    except AdminError as exc:
        detail = "; ".join(f"{f.field}: {f.message}" for f in exc.fields) or exc.message
        raise CliError(f"not imported: {detail}", code=2) from None
    if args.json:
        emit_json(
            {
                "tenant_id": args.tenant_id,
                "revision": view.revision,
                "rules_version": saved_rules.version if saved_rules else view.rules_version,
            }
        )
    else:
        print(
            f"imported settings into {args.tenant_id} (revision {view.revision})"
            + (f"; rules saved as version {saved_rules.version}" if saved_rules else "")
        )
        if not view.autotask.api_key_set:
            print("note: no API key stored yet: pass --api-key-env VAR or enter it on the settings page")
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", code=2) from None
