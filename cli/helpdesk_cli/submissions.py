"""`helpdesk submissions show <id>`: one submission, its ticket and its timeline (support questions)."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk_cli.common import CliError, emit_json, resolve, resource_options, run_command

MAX_TENANTS_SEARCHED = 500


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("submissions", help="look at submissions")
    sub = parser.add_subparsers(dest="submissions_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", parents=[common], help="a submission, its ticket and timeline")
    show.add_argument("submission_id")
    show.add_argument("--tenant", help="the tenant id (default: search every tenant)")
    show.set_defaults(func=run_command(show_submission))


def show_submission(args: argparse.Namespace) -> int:
    from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository

    res = resolve(args)
    repo = DynamoSubmissionRepository(res.need("submissions_table"))
    if args.tenant:
        tenant_ids = [args.tenant]
    else:
        tenant_ids = [t.tenant_id for t in DynamoTenantRepository(res.need("tenants_table")).list_tenants()]
    found = None
    for tenant_id in tenant_ids[:MAX_TENANTS_SEARCHED]:
        found = repo.get(tenant_id, args.submission_id)
        if found is not None:
            break
    if found is None:
        where = f"tenant {args.tenant!r}" if args.tenant else f"any of {len(tenant_ids)} tenant(s)"
        raise CliError(f"no submission {args.submission_id!r} in {where}")
    events = repo.list_events(found.tenant_id, found.submission_id)
    doc = found.model_dump(mode="json", exclude={"receipt_hashes", "fingerprint"})
    doc["timeline"] = [e.model_dump(mode="json") for e in events]
    if args.json:
        emit_json(doc)
        return 0
    print(f"submission {found.submission_id}  tenant {found.tenant_id}  status {found.status}")
    print(f"  from:     {found.contact.name} <{found.contact.email}> on {found.machine.hostname}")
    print(f"  subject:  {found.subject}")
    print(f"  ticket:   {found.ticket_number or '-'} (id {found.ticket_id or '-'})")
    print(f"  created:  {found.created_at:%Y-%m-%d %H:%M:%S}Z  updated {found.updated_at:%Y-%m-%d %H:%M:%S}Z")
    print(f"  attempts: {found.attempts}   Autotask requests: {found.autotask_requests}")
    if found.message:
        print(f"  user saw: {found.message}")
    if found.error:
        print(f"  error:    {found.error}")
    if events:
        print("  timeline:")
        for e in events:
            data = e.model_dump(mode="json")
            print(
                f"    {str(data.get('at', ''))[:19]}  {data.get('kind', data.get('event', ''))}: {data.get('text', '')}"
            )
    return 0
