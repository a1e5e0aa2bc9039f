"""Shared plumbing of the ops commands: where the resources are, output, progress.

Resource names come from, in order: flags, environment (HELPDESK_TENANTS_TABLE, ...), CloudFormation stack
outputs (`--stack-name` / HELPDESK_STACK_NAME), or the devstack's state file (`--stack-file`, HELPDESK_STACK_FILE,
else `.devstack/stack.json` here or in a parent directory). Using the devstack's file also points boto3 at the
devstack (its AWS_ENDPOINT_URL*, region and dummy credentials) unless AWS_ENDPOINT_URL is already set, so the
same commands work against AWS with normal credentials and against `make run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from helpdesk_cli.terminal import unfiltered

# resource -> (flag, env var, CloudFormation output)
RESOURCES: dict[str, tuple[str, str, str]] = {
    "tenants_table": ("--tenants-table", "HELPDESK_TENANTS_TABLE", "TenantsTableName"),
    "submissions_table": ("--submissions-table", "HELPDESK_SUBMISSIONS_TABLE", "SubmissionsTableName"),
    "work_queue_url": ("--work-queue-url", "HELPDESK_WORK_QUEUE_URL", "WorkQueueUrl"),
    "dead_letter_queue_url": ("--dlq-url", "HELPDESK_DLQ_URL", "DeadLetterQueueUrl"),
    "credentials_key_id": ("--kms-key-id", "HELPDESK_KMS_KEY_ID", "CredentialsKeyId"),
    "api_url": ("--api-url", "HELPDESK_API_URL", "ApiUrl"),
}


# What a command does, declared on every leaf parser (`set_defaults(effect=...)`; tests/unit/admin/
# test_cli_confirmation.py enumerates the parser and fails on a leaf without one): READS only looks; ADDS creates
# something new and changes nothing that exists (a tenant, a key: undone by disabling / revoking it); CHANGES
# changes, moves or deletes something that exists, so it asks first unless --yes (made with `changing_parser`).
READS, ADDS, CHANGES = "reads", "adds", "changes"
ASKS_FIRST = "asks first unless --yes"


class CliError(Exception):
    """A user-facing failure: printed without a traceback, exit code 1 (2 for usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def resource_options() -> argparse.ArgumentParser:
    """A parent parser with the resource-location flags every ops command accepts."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("where the service runs")
    group.add_argument("--stack-name", help="CloudFormation stack to read outputs from (env HELPDESK_STACK_NAME)")
    group.add_argument("--stack-file", help="devstack state file (default: .devstack/stack.json)")
    group.add_argument("--region", help="AWS region (default: from the environment / profile)")
    for name, (flag, env, _output) in RESOURCES.items():
        group.add_argument(flag, dest=name, help=f"(env {env})")
    parent.add_argument("--json", action="store_true", help="machine-readable output")
    return parent


def changing_parser(sub: Any, name: str, *, help: str, parents: Sequence[argparse.ArgumentParser]) -> Any:
    """A subcommand that changes, moves or deletes something: --yes, and the help says it asks first."""
    parser = sub.add_parser(
        name,
        parents=list(parents),
        help=f"{help} ({ASKS_FIRST})",
        description=(
            f"{help[:1].upper()}{help[1:]}. It asks for confirmation first unless --yes; without a terminal to "
            "ask on (a script) it refuses and changes nothing unless --yes is given."
        ),
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (needed in scripts)")
    parser.set_defaults(effect=CHANGES, command_line=f"{sub_prog(sub)} {name}")
    return parser


def sub_prog(sub: Any) -> str:
    """`helpdesk tenants` for the subparsers of `tenants` (argparse keeps it in `_prog_prefix`)."""
    return str(getattr(sub, "_prog_prefix", "helpdesk"))


def unconfirmed_in_a_script(args: argparse.Namespace) -> bool:
    if getattr(args, "effect", None) != CHANGES or getattr(args, "yes", False) or getattr(args, "dry_run", False):
        return False
    return not sys.stdin.isatty()


@dataclass(frozen=True)
class Resources:
    tenants_table: str | None = None
    submissions_table: str | None = None
    work_queue_url: str | None = None
    dead_letter_queue_url: str | None = None
    credentials_key_id: str | None = None
    api_url: str | None = None
    source: str = "flags"

    def need(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            flag, env, output = RESOURCES[name]
            raise CliError(
                f"don't know the {name.replace('_', ' ')}: pass {flag}, set {env}, use --stack-name "
                f"(output {output}) or run the devstack (make run) so .devstack/stack.json exists"
            )
        return str(value)


def find_stack_file(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise CliError(f"stack file not found: {path}")
        return path
    env = os.environ.get("HELPDESK_STACK_FILE")
    if env and Path(env).is_file():
        return Path(env)
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        candidate = directory / ".devstack" / "stack.json"
        if candidate.is_file():
            return candidate
    return None


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    import boto3

    try:
        client = boto3.session.Session(region_name=region).client("cloudformation")
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        raise CliError(f"cannot read stack {stack_name!r}: {type(exc).__name__}: {exc}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def resolve(args: argparse.Namespace) -> Resources:
    """Resource names for this invocation (see the module docstring for the order)."""
    values: dict[str, str | None] = {name: getattr(args, name, None) for name in RESOURCES}
    source = "flags"
    for name, (_flag, env, _output) in RESOURCES.items():
        if not values[name] and os.environ.get(env):
            values[name] = os.environ[env]
    region = getattr(args, "region", None)
    if region:
        os.environ["AWS_DEFAULT_REGION"] = region
    stack_name = getattr(args, "stack_name", None) or os.environ.get("HELPDESK_STACK_NAME")
    outputs: dict[str, Any] = {}
    if stack_name:
        outputs = stack_outputs(stack_name, region)
        source = f"stack {stack_name}"
    else:
        path = find_stack_file(getattr(args, "stack_file", None))
        if path is not None:
            state = json.loads(path.read_text())
            outputs = dict(state.get("outputs") or {})
            _use_devstack_env(state.get("env") or {}, state.get("autotask_url"))
            source = f"devstack {path}"
    for name, (_flag, _env, output) in RESOURCES.items():
        if not values[name] and outputs.get(output):
            values[name] = str(outputs[output])
    return Resources(**values, source=source)


def _use_devstack_env(env: dict[str, str], autotask_url: str | None) -> None:
    if autotask_url and not os.environ.get("AUTOTASK_HOST_PATTERN"):
        # the devstack's functions accept the Autotask simulator as an endpoint host: so must the CLI
        import re
        from urllib.parse import urlsplit

        parts = urlsplit(autotask_url)
        os.environ["AUTOTASK_ZONE_URL"] = f"{autotask_url.rstrip('/')}/atservicesrest/v1.0/zoneInformation"
        os.environ["AUTOTASK_HOST_PATTERN"] = re.escape(parts.netloc)
        os.environ["AUTOTASK_SCHEME"] = parts.scheme
    if os.environ.get("AWS_ENDPOINT_URL"):
        return  # the caller chose an endpoint explicitly
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        if env.get(key):
            os.environ[key] = str(env[key])
    from helpdesk import aws

    aws.client.cache_clear()
    aws.table.cache_clear()


def run_command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn CliError (and AWS access problems) into a one-line message and an exit code.

    A command that changes something (`changing_parser`) run without --yes and without a terminal to ask on
    (a script, a pipe) is refused here, before it reads or changes anything: it must not hang on a question
    nobody sees, nor act unasked. `--dry-run`, where a command has it, changes nothing and is never refused.
    """

    def wrapper(args: argparse.Namespace) -> int:
        try:
            if unconfirmed_in_a_script(args):
                raise CliError(
                    f"`{args.command_line}` changes something and asks for confirmation first, but there is no "
                    "terminal to ask on: pass --yes to go ahead (or --dry-run where offered); nothing changed",
                    code=2,
                )
            return func(args)
        except CliError as exc:
            print(f"helpdesk: {exc}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("helpdesk: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            name = type(exc).__name__
            if name in ("NoCredentialsError", "ClientError", "EndpointConnectionError", "NoRegionError"):
                print(f"helpdesk: AWS refused or is unreachable: {exc}", file=sys.stderr)
                return 1
            raise

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def emit_json(data: Any, out: IO[str] | None = None) -> None:
    print(json.dumps(data, indent=2, default=str, sort_keys=False), file=out or sys.stdout)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], out: IO[str] | None = None) -> None:
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out or sys.stdout)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out or sys.stdout)


class Progress:
    """A text progress bar on stderr: `[#########...........]  45/100 moved`. Redraws in place on a TTY."""

    def __init__(self, total: int, label: str, *, out: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(total, 0)
        self.label = label
        self.out = out or sys.stderr
        self.width = width
        self.done = 0
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done > self.total:
            self.total = self.done
        self._draw(final=False)

    def _draw(self, *, final: bool) -> None:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {self.done:>{len(str(self.total))}}/{self.total} {self.label}"
        if self._tty:  # its own carriage return: past the filter of text written by others
            print("\r" + line, end="\n" if final else "", file=unfiltered(self.out), flush=True)
        else:
            print(line, file=self.out, flush=True)

    def finish(self) -> None:
        self._draw(final=True)


def ask(prompt: str, assume_yes: bool) -> bool:
    """Ask on the terminal (the question on stderr, so --json output stays clean); only "y" or "yes" agrees."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise CliError("refusing to continue without confirmation: pass --yes", code=2)
    print(f"{prompt} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
