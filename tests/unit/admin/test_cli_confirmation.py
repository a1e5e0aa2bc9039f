"""Every `helpdesk` command says what it does; those that change, move or delete something ask first unless --yes.

The commands are enumerated from the parser itself, so a new command cannot skip this: it must declare its
effect (reads / adds / changes, helpdesk_cli.common), and a changing one must mention --yes in its help and refuse,
without a terminal to ask on, before it reads or changes anything. That it really asks on a terminal (and
changes nothing on "n") is tests/e2e/test_cli_confirmation.py, against the devstack.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from helpdesk_cli.common import ADDS, ASKS_FIRST, CHANGES, READS
from helpdesk_cli.main import build_parser


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Each runnable command as its words, e.g. ("tenants", "disable")."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield prefix
        return
    for group in groups:
        for name, sub in group.choices.items():
            yield from leaf_commands(sub, (*prefix, name))


def subparser(words: tuple[str, ...]) -> tuple[argparse.ArgumentParser, str]:
    """The command's parser and the help line its group shows for it."""
    parser, help_line = build_parser(), ""
    for word in words:
        group = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        help_line = next(str(c.help) for c in group._choices_actions if c.dest == word)
        parser = group.choices[word]
    return parser, help_line


def effect(words: tuple[str, ...]) -> str | None:
    return subparser(words)[0].get_default("effect")


COMMANDS = sorted(leaf_commands(build_parser()))
CHANGING = [c for c in COMMANDS if effect(c) == CHANGES]


def test_the_parser_is_enumerated_down_to_every_command() -> None:
    assert ("tenants", "disable") in COMMANDS and ("press",) in COMMANDS and ("settings", "import") in COMMANDS
    assert len(COMMANDS) >= 15, COMMANDS


def test_every_command_declares_whether_it_reads_adds_or_changes() -> None:
    undeclared = [" ".join(c) for c in COMMANDS if effect(c) not in (READS, ADDS, CHANGES)]
    assert not undeclared, f"declare set_defaults(effect=...) for: {undeclared}"


def test_the_commands_that_change_something_are_the_ones_the_operations_guide_names() -> None:
    # what docs/operations.md lists as asking first; a new changing command belongs in that list too
    assert {" ".join(c) for c in CHANGING} == {
        "tenants reseal-secrets",
        "tenants disable",
        "tenants enable",
        "keys revoke",
        "settings import",
        "dlq redrive",
    }


@pytest.mark.parametrize("words", CHANGING, ids=" ".join)
def test_a_changing_command_says_in_its_help_that_it_asks_first_unless_yes(words: tuple[str, ...]) -> None:
    parser, help_line = subparser(words)
    assert ASKS_FIRST in help_line  # `helpdesk tenants --help`
    text = " ".join(parser.format_help().split())  # `helpdesk tenants disable --help`
    assert "asks for confirmation first unless --yes" in text
    assert "--yes, -y" in text


def placeholder_argv(words: tuple[str, ...]) -> list[str]:
    """The command with a made-up value for each required argument."""
    parser, _ = subparser(words)
    argv = list(words)
    for action in parser._actions:
        if not action.option_strings and action.nargs != 0:
            argv.append("x-placeholder")
        elif action.required:
            argv += [action.option_strings[0], "x-placeholder"]
    return argv


@pytest.mark.parametrize("words", CHANGING, ids=" ".join)
def test_a_changing_command_without_yes_and_without_a_terminal_refuses_at_once(
    words: tuple[str, ...], tmp_path: os.PathLike[str]
) -> None:
    # no stack file, no AWS: it must refuse before it looks anything up (and never wait for an answer)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_"))}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # would fail fast if anything were called
    done = subprocess.run(
        [sys.executable, "-m", "helpdesk_cli.main", *placeholder_argv(words)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"`helpdesk {' '.join(words)}`" in done.stderr and "pass --yes" in done.stderr
    assert "nothing changed" in done.stderr and "Traceback" not in done.stderr


def test_dry_run_needs_no_confirmation() -> None:
    from helpdesk_cli.common import unconfirmed_in_a_script

    parser = build_parser()
    args = parser.parse_args(["tenants", "reseal-secrets", "--dry-run"])
    assert args.effect == CHANGES and not unconfirmed_in_a_script(args)
