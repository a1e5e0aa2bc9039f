"""`helpdesk press`: a reference button agent. Press once, get one ticket (or a clear reason why not).

    helpdesk press "My printer is jammed" --select "This is an emergency" --attach shot.png \
        --name "Ann Smith" --email ann@contoso.com [--api-url URL --key hbk_...] [--watch]

Progress goes to stderr; the outcome line (or, with --json, the final status document) goes to stdout.
Exit codes: see helpdesk_cli.agent.exitcodes.ExitCode and docs/agent.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from helpdesk_cli.agent.client import AgentClient, AgentError, NotFoundError, UnreachableError
from helpdesk_cli.agent.diagnostics import ScreenshotUnavailable, diagnostic_report, take_screenshot
from helpdesk_cli.agent.exitcodes import ExitCode
from helpdesk_cli.agent.facts import MachineFacts, collect_machine_facts
from helpdesk_cli.agent.files import LocalFile, Mode, load_attachments, plan_attachments
from helpdesk_cli.agent.render import FINAL_STATUSES, Progress, clean, render_notification, render_outcome
from helpdesk_cli.agent.retry import RetryPolicy, Timing
from helpdesk_cli.common import ADDS

SUBMISSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_MESSAGE = 8000
NOT_FOUND_GRACE_SECONDS = 5.0
OUTCOME_EXIT = {"created": ExitCode.CREATED, "blocked": ExitCode.BLOCKED, "failed": ExitCode.FAILED}


@dataclass
class PressOptions:
    """Everything `helpdesk press` was asked to do (parsed from the command line or built by tests)."""

    message: str
    name: str
    email: str
    phone: str | None = None
    business_name: str | None = None
    subject: str | None = None
    selections: list[str] = field(default_factory=list)
    append: str | None = None
    attachments: list[str] = field(default_factory=list)
    submission_id: str | None = None
    device_id: str | None = None
    wait: bool = True
    wait_timeout: float = 120.0
    watch: bool = False
    poll_interval: float = 5.0
    max_watch_seconds: float | None = None  # --watch-for; else people end the watch with Ctrl-C
    as_json: bool = False
    dry_run: bool = False
    diagnostics: bool = False  # attach a plain-text diagnostic report of this machine
    screenshot: bool = False  # attach a screenshot where the platform has a capture tool


def new_submission_id() -> str:
    """Generated once per press and reused on every retry: it is the API's idempotency key."""
    return f"press-{uuid.uuid4().hex}"


def build_body(
    opts: PressOptions, submission_id: str, facts: MachineFacts, attachments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "contact": {
            "name": opts.name,
            "email": opts.email,
            "phone": opts.phone,
            "business_name": opts.business_name,
        },
        "machine": facts.as_payload(),
        "msg": opts.message,
        "subject": opts.subject,
        "selections": list(opts.selections),
        "append": opts.append,
        "attachments": attachments,
        "device_id": opts.device_id,
    }


def _attachment_refs(
    client: AgentClient, submission_id: str, files: list[LocalFile], progress: Progress
) -> list[dict[str, str]]:
    refs: list[dict[str, str]] = []
    for file, mode in plan_attachments(files):
        if mode is Mode.INLINE:
            data = base64.b64encode(file.data).decode("ascii")
            refs.append({"filename": file.filename, "content_type": file.content_type, "data_base64": data})
            continue
        progress.line(f"  Uploading {file.filename} ({file.size / 1024 / 1024:.1f} MB)…")
        slot = client.create_upload(submission_id, file.filename, file.content_type, file.size)
        method = str(slot.get("method") or "").upper()
        fields = slot.get("fields")
        if method != "POST" or not isinstance(fields, dict) or not slot.get("url") or not slot.get("upload_id"):
            raise UnreachableError("The API offered an upload this agent does not understand (expected a POST form)")
        form = {str(k): str(v) for k, v in fields.items()}
        client.post_upload(str(slot["url"]), form, file.filename, file.content_type, file.data)
        refs.append({"filename": file.filename, "content_type": file.content_type, "upload_id": str(slot["upload_id"])})
    return refs


def _follow(
    client: AgentClient, submission_id: str, receipt: str, opts: PressOptions, progress: Progress
) -> dict[str, Any] | None:
    """Poll the submission until it is final; None when --wait-timeout ran out first."""
    timing = client.timing
    started = timing.clock()
    interval = 0.5
    while True:
        try:
            doc = client.status(submission_id, receipt)
        except NotFoundError:
            # Just accepted: a store that is briefly behind may not know it yet. Persistently unknown is an error.
            if timing.clock() - started > NOT_FOUND_GRACE_SECONDS:
                raise
            doc = {"status": "queued"}
        elapsed = timing.clock() - started
        progress.update(doc, elapsed)
        if doc.get("status") in FINAL_STATUSES:
            return doc
        if elapsed + interval > opts.wait_timeout:
            return None
        timing.sleep(interval)
        interval = min(interval * 1.5, 3.0)


def _already_shown(event: dict[str, Any], submission_id: str) -> bool:
    """The outcome of this press (its "created" line) was printed before watching began."""
    return event.get("submission_id") == submission_id and event.get("event") in FINAL_STATUSES


def _watch(
    client: AgentClient, submission_id: str, receipt: str, opts: PressOptions, out: TextIO, progress: Progress
) -> ExitCode:
    """Show notifications (rendered text) until Ctrl-C, polling every opts.poll_interval seconds."""
    timing = client.timing
    interval = min(max(opts.poll_interval, 1.0), 60.0)
    started = timing.clock()
    cursor: str | None = None
    seen: set[str] = set()
    progress.line(f"  Watching for updates every {interval:.0f}s (Ctrl-C to stop)…")
    client.on_retry = None  # an outage is reported once below, not retry by retry
    outage = False
    try:
        while opts.max_watch_seconds is None or timing.clock() - started < opts.max_watch_seconds:
            try:
                events, cursor = client.notifications(cursor, receipts=[receipt], device_id=opts.device_id)
            except NotFoundError:
                progress.line("This helpdesk API does not offer notifications (GET /v1/notifications: 404).")
                return ExitCode.UNREACHABLE
            except UnreachableError as exc:
                if not outage:
                    progress.line(f"  {exc.message}; still watching…")
                outage = True
                events = []
            else:
                if outage:
                    progress.line("  Connected again.")
                outage = False
            for event in events:
                key = str(event.get("id") or json.dumps(event, sort_keys=True))
                if key in seen or _already_shown(event, submission_id):
                    continue
                seen.add(key)
                out.write(render_notification(event) + "\n")
                out.flush()
            timing.sleep(interval)
    except KeyboardInterrupt:
        progress.line("Stopped watching.")
    return ExitCode.CREATED


def press(
    opts: PressOptions,
    client: AgentClient,
    *,
    out: TextIO,
    err: TextIO,
    quiet: bool = False,
    facts: MachineFacts | None = None,
) -> int:
    """Press the button once. Returns the exit code; prints the outcome on `out`, progress on `err`."""
    progress = Progress(err, quiet=quiet)
    client.on_retry = progress.retry
    if not 1 <= len(opts.message.strip()) <= MAX_MESSAGE:
        err.write(f"helpdesk press: the message must be 1 to {MAX_MESSAGE} characters\n")
        return ExitCode.USAGE
    if opts.submission_id is not None and not SUBMISSION_ID_RE.match(opts.submission_id):
        err.write("helpdesk press: --submission-id must be 8-64 characters of A-Z a-z 0-9 _ -\n")
        return ExitCode.USAGE
    submission_id = opts.submission_id or new_submission_id()
    accepted = False
    try:
        files = load_attachments(opts.attachments)
        if opts.screenshot:
            try:
                files.append(take_screenshot())
                progress.line("  Screenshot attached.")
            except ScreenshotUnavailable as exc:
                err.write(f"helpdesk press: {exc}; sending the request without it\n")
        if opts.diagnostics:
            files.append(diagnostic_report())
        facts = facts or collect_machine_facts()
        if opts.dry_run:
            refs: list[dict[str, Any]] = [
                {"filename": f.filename, "content_type": f.content_type, "mode": str(m), "size": f.size}
                for f, m in plan_attachments(files)
            ]
            out.write(json.dumps(build_body(opts, submission_id, facts, refs), indent=2) + "\n")
            return ExitCode.CREATED
        body = build_body(opts, submission_id, facts, _attachment_refs(client, submission_id, files, progress))
        progress.line(f"Sending your request to {client.api_url} …")
        ack = client.submit(body)
        accepted = True
        progress.line(f"  Received (submission {ack.id}).")
        if not opts.wait:
            out.write(json.dumps({"id": ack.id, "status": ack.status, "receipt": ack.receipt}) + "\n")
            return ExitCode.CREATED
        doc = _follow(client, ack.id, ack.receipt, opts, progress)
        progress.done()
        if doc is None:
            err.write(
                f"Your request was received (submission {ack.id}) but is not finished after "
                f"{opts.wait_timeout:.0f}s; your IT provider will still get it.\n"
            )
            return ExitCode.PENDING
        out.write((json.dumps(doc, indent=2) if opts.as_json else render_outcome(doc)) + "\n")
        out.flush()
        code = OUTCOME_EXIT.get(str(doc.get("status")), ExitCode.FAILED)
        if code is not ExitCode.CREATED:
            if opts.as_json:
                err.write(render_outcome(doc) + "\n")
            return code
        if opts.watch:
            return _watch(client, ack.id, ack.receipt, opts, out, progress)
        return code
    except AgentError as exc:
        progress.done()
        err.write(f"helpdesk press: {clean(exc.message)}\n")
        if isinstance(exc, UnreachableError) and not accepted and exc.maybe_delivered:
            err.write(
                f"It is unknown whether the request arrived. To retry without risking a second ticket, run the "
                f"same command again with --submission-id {submission_id}\n"
            )
        return exc.exit_code
    except KeyboardInterrupt:
        progress.done()
        if accepted:
            err.write(f"\nInterrupted. Your request was received (submission {submission_id}).\n")
        else:
            err.write(
                f"\nInterrupted before the API confirmed. To retry without risking a second ticket, run the "
                f"same command again with --submission-id {submission_id}\n"
            )
        return ExitCode.INTERRUPTED


# -- command line ---------------------------------------------------------------------------------------------------
def _default_name() -> str | None:
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
        return entry.pw_gecos.split(",")[0].strip() or entry.pw_name
    except (ImportError, KeyError, AttributeError, OSError):
        return os.environ.get("USERNAME") or None


def _ask(prompt: str) -> str | None:
    """Ask on the terminal, as a desktop agent's form would; None when the person gives nothing."""
    try:
        return input(prompt).strip() or None
    except EOFError:
        return None


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "press",
        help="press a help button: send a request like a desktop agent and wait for the ticket number",
        description=(
            "Press a help button like the desktop agent does: sends your message, selections, attachments and "
            "this machine's facts (hostname, IPv4, MAC, user, domain, OS), then waits for the ticket number. "
            "Progress goes to stderr, the outcome to stdout. Exit codes: 0 created, 2 usage, 3 blocked by rules, "
            "4 failed, 5 key refused, 6 API unreachable, 7 attachment problem, 8 request rejected, 9 still pending, "
            "130 interrupted."
        ),
    )
    parser.add_argument("message", help="what is wrong (1-8000 characters); '-' reads it from stdin")
    conn = parser.add_argument_group("connection")
    conn.add_argument("--api-url", default=os.environ.get("HELPDESK_API_URL"), help="API stage URL [HELPDESK_API_URL]")
    conn.add_argument(
        "--key", default=os.environ.get("HELPDESK_BUTTON_KEY"), help="button key hbk_... [HELPDESK_BUTTON_KEY]"
    )
    conn.add_argument("--retry-for", type=float, default=30.0, metavar="SECONDS", help="retry budget per request (30)")
    who = parser.add_argument_group("who is asking")
    who.add_argument(
        "--name", default=os.environ.get("HELPDESK_NAME"), help="your name [HELPDESK_NAME; default: login's full name]"
    )
    who.add_argument(
        "--email",
        default=os.environ.get("HELPDESK_EMAIL"),
        help="your email (asked for on a terminal when missing) [HELPDESK_EMAIL]",
    )
    who.add_argument("--phone", default=os.environ.get("HELPDESK_PHONE"))
    who.add_argument("--business-name", default=None)
    what = parser.add_argument_group("the request")
    what.add_argument("--subject", help="subject (default: the API takes it from the message)")
    what.add_argument("--select", action="append", default=[], metavar="TEXT", help="a chosen option (repeatable)")
    what.add_argument("--append", help="extra text appended to the ticket description")
    what.add_argument(
        "--attach", action="append", default=[], metavar="FILE", help="a file to attach (repeatable; 6 MB each)"
    )
    what.add_argument(
        "--diagnostics",
        action="store_true",
        help="attach a plain-text report of this machine (OS, uptime, disks, memory, network, top processes)",
    )
    what.add_argument(
        "--screenshot",
        action="store_true",
        help="attach a screenshot (Linux: gnome-screenshot/grim/spectacle/scrot/import; macOS: screencapture); "
        "says so and goes on without one where none works",
    )
    what.add_argument("--submission-id", help="reuse an id to retry a press safely (default: a new one)")
    what.add_argument("--device-id", default=os.environ.get("HELPDESK_DEVICE_ID"), help="[HELPDESK_DEVICE_ID]")
    after = parser.add_argument_group("after sending")
    after.add_argument("--no-wait", action="store_true", help="print id and receipt as JSON and exit at once")
    after.add_argument("--wait-timeout", type=float, default=120.0, metavar="SECONDS", help="how long to wait (120)")
    after.add_argument("--watch", action="store_true", help="then show ticket notifications until Ctrl-C")
    after.add_argument(
        "--watch-for", type=float, default=None, metavar="SECONDS", help="with --watch: stop after so many seconds"
    )
    after.add_argument("--poll-interval", type=float, default=5.0, metavar="SECONDS", help="for --watch (5; 1-60)")
    after.add_argument("--json", action="store_true", help="print the final status document as JSON")
    after.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    after.add_argument("--dry-run", action="store_true", help="print the request that would be sent and exit")
    parser.set_defaults(func=run, effect=ADDS)  # a new request, like the desktop agent's: nothing to confirm


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    problems = []
    if not args.dry_run and not args.api_url:
        problems.append("the API URL is needed: --api-url or HELPDESK_API_URL (`make run` prints it)")
    if not args.dry_run and not args.key:
        problems.append("a button key is needed: --key or HELPDESK_BUTTON_KEY (`make run` prints a demo key)")
    message = sys.stdin.read() if args.message == "-" else args.message
    # Like the desktop agent's form: on a terminal, ask for what the command line did not say.
    interactive = not problems and args.message != "-" and sys.stdin.isatty() and not args.dry_run
    email = args.email or (_ask("Your email address: ") if interactive else None)
    name = args.name or _default_name() or (_ask("Your name: ") if interactive else None)
    if not email:
        problems.append("your email address is needed: --email or HELPDESK_EMAIL")
    if not name:
        problems.append("your name is needed: --name or HELPDESK_NAME")
    if problems:
        for problem in problems:
            err.write(f"helpdesk press: {problem}\n")
        return ExitCode.USAGE
    opts = PressOptions(
        message=message,
        name=str(name),
        email=str(email),
        phone=args.phone,
        business_name=args.business_name,
        subject=args.subject,
        selections=args.select,
        append=args.append,
        attachments=args.attach,
        submission_id=args.submission_id,
        device_id=args.device_id,
        wait=not args.no_wait,
        wait_timeout=args.wait_timeout,
        watch=args.watch,
        max_watch_seconds=args.watch_for,
        poll_interval=args.poll_interval,
        as_json=args.json,
        dry_run=args.dry_run,
        diagnostics=args.diagnostics,
        screenshot=args.screenshot,
    )
    policy = RetryPolicy(max_elapsed=max(args.retry_for, 0.0))
    client = AgentClient(args.api_url or "http://invalid", args.key or "", policy=policy, timing=Timing())
    return press(opts, client, out=sys.stdout, err=err, quiet=args.quiet)
