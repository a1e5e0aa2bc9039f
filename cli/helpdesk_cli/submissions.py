"""`helpdesk submissions list|show`: a tenant's recent presses with their outcome (the same listing as the admin
API's GET /v1/admin/submissions: newest first, filters, bounded reads, a cursor), and one submission in full."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk_cli.common import READS, CliError, emit_json, resolve, resource_options, run_command, table

MAX_TENANTS_SEARCHED = 500


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("submissions", help="look at submissions")
    sub = parser.add_subparsers(dest="submissions_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", parents=[common], help="a submission, its ticket and timeline")
    show.add_argument(
        "ids",
        nargs="+",
        metavar="[TENANT] SUBMISSION_ID",
        help="the submission id, optionally after its tenant id (`show demo press-...`)",
    )
    show.add_argument("--tenant", help="the tenant id (default: search every tenant)")
    show.set_defaults(func=run_command(show_submission), effect=READS)

    listing = sub.add_parser("list", parents=[common], help="a tenant's recent presses with their outcome")
    listing.add_argument("--tenant", required=True, help="the tenant id")
    listing.add_argument(
        "--outcome", help="only these outcomes, comma-separated: created, blocked, failed, waiting, dead_letter"
    )
    listing.add_argument("--search", help="part of the e-mail address or the hostname")
    listing.add_argument("--limit", type=int, default=25, help="at most this many (1-100, default 25)")
    listing.add_argument("--cursor", help="go on after an earlier page (its next cursor)")
    listing.set_defaults(func=run_command(list_submissions), effect=READS)


def list_submissions(args: argparse.Namespace) -> int:
    from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
    from helpdesk.admin.errors import AdminError
    from helpdesk.admin.presses import Presses, parse_outcomes
    from helpdesk.domain.tenant import utcnow

    res = resolve(args)
    presses = Presses(DynamoSubmissionRepository(res.need("submissions_table")), utcnow)
    try:
        page = presses.list(
            args.tenant,
            outcomes=parse_outcomes(args.outcome),
            search=args.search,
            cursor=args.cursor,
            limit=args.limit,
        )
    except AdminError as exc:
        raise CliError(exc.message, code=2) from None
    if args.json:
        emit_json(page.model_dump(mode="json"))
        return 0
    if not page.items:
        print(f"no presses found for tenant {args.tenant!r} (read {page.scanned})")
    else:
        table(
            [
                (
                    f"{p.created_at:%Y-%m-%d %H:%M}Z",
                    p.outcome.value,
                    p.ticket_number or "-",
                    p.email,
                    p.hostname,
                    p.attempts,
                    _why(p.blocked_text, p.rules_errors, p.submission_errors, p.last_error),
                )
                for p in page.items
            ],
            ["CREATED", "OUTCOME", "TICKET", "E-MAIL", "HOST", "TRIES", "WHY"],
        )
    if page.next_cursor:
        more = "stopped after reading 500 presses; " if page.scan_limited else ""
        print(f"{more}more: helpdesk submissions list --tenant {args.tenant} --cursor {page.next_cursor}")
    return 0


def _why(blocked: str | None, rules: list[str], fields: list[str], error: str | None) -> str:
    """One short reason per row: blocked text, rules error, Submission Errors count, or the last error."""
    if blocked:
        text = f"blocked: {blocked}"
    elif rules:
        text = f"rules: {rules[0]}"
    elif fields:
        text = f"{len(fields)} Submission Error(s): {fields[0]}"
    else:
        text = error or ""
    return text if len(text) <= 70 else text[:69] + "…"


def show_submission(args: argparse.Namespace) -> int:
    from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
    from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository

    if len(args.ids) > 2 or (len(args.ids) == 2 and args.tenant and args.tenant != args.ids[0]):
        raise CliError("usage: helpdesk submissions show [TENANT] SUBMISSION_ID (or --tenant TENANT)", code=2)
    if len(args.ids) == 2:
        args.tenant = args.ids[0]
    args.submission_id = args.ids[-1]
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
