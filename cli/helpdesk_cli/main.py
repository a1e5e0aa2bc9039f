"""The `helpdesk` console script: one subcommand group per module, each registered here.

Every module listed in COMMANDS exposes `register(subparsers)`, which adds its subparser(s) and sets
`func` (a callable taking the parsed namespace and returning an exit code) and `effect` (what it does: reads,
adds or changes; helpdesk_cli.common) via `set_defaults(func=..., effect=...)`. A command that changes something
is made with `helpdesk_cli.common.changing_parser`: it asks first unless --yes, and says so in its --help.
Modules are imported lazily so that a light command (e.g. `helpdesk press`) never pulls in heavy imports.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from helpdesk_cli.terminal import printable_streams

COMMANDS: tuple[str, ...] = (
    "helpdesk_cli.press",
    "helpdesk_cli.tenants",
    "helpdesk_cli.keys",
    "helpdesk_cli.settings",
    "helpdesk_cli.dlq",
    "helpdesk_cli.submissions",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpdesk", description="Helpdesk Buttons for Autotask")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything printed is filtered: tenant names, submissions, Autotask and API text are written by others
    # and must not drive the operator's terminal (helpdesk_cli.terminal).
    with printable_streams():
        parser = build_parser()
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_help(sys.stderr)
            return 2
        return func(args)


if __name__ == "__main__":
    sys.exit(main())
