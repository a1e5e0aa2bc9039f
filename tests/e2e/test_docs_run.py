"""Docs that run: every command block of README.md and docs/*.md marked `<!-- docs-run -->` (the line right
before its fence) is executed, command by command, against the devstack, as an operator would type it.

So the CLI and the docs cannot drift. Only `helpdesk` commands may be marked (a mark on anything else fails
here). What a reader would adapt is adapted the same way each time: `--stack-name <stack>` becomes this
devstack's state file, the example tenant `acme` a fresh tenant (one per file, so a file's blocks build on each
other), `http://127.0.0.1:3000/prod` this devstack's API and `hbk_...` the demo tenant's button key. A command
that asks for confirmation gets a terminal answering "y", as a person would. Each command is bounded (90 s).
"""

from __future__ import annotations

import os
import pty
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- docs-run -->"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HELPDESK = (".venv/bin/helpdesk", "helpdesk")


def marked_blocks(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, command lines) of each marked fenced block; continuation lines joined."""
    lines = path.read_text().splitlines()
    blocks = []
    for n, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        assert n + 1 < len(lines) and lines[n + 1].startswith("```"), f"{path.name}:{n + 1}: {MARK} before no fence"
        body: list[str] = []
        for text in lines[n + 2 :]:
            if text.startswith("```"):
                break
            if body and body[-1].endswith("\\"):
                body[-1] = body[-1][:-1] + " " + text.strip()
            else:
                body.append(text)
        blocks.append((n + 1, [c for c in body if shlex.split(c, comments=True)]))
    return blocks


def adapt(argv: list[str], *, stack_file: Path, tenant: str, api_url: str, button_key: str) -> list[str]:
    out: list[str] = []
    skip = False
    for n, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--stack-name":
            out += ["--stack-file", str(stack_file)]
            skip = n + 1 < len(argv)
            continue
        arg = tenant if arg == "acme" else arg
        arg = arg.replace("http://127.0.0.1:3000/prod", api_url)
        out.append(button_key if arg == "hbk_..." else arg)
    return out


def run_in_terminal(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run with a terminal on stdin that answers "y" to a confirmation prompt."""
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\n")
        return subprocess.run(argv, stdin=slave, capture_output=True, text=True, timeout=90, cwd=ROOT)
    finally:
        os.close(master)
        os.close(slave)


def test_every_marked_command_in_the_docs_runs_against_the_devstack(devstack: Any) -> None:
    from devstack.seed import seed_demo

    if not getattr(devstack, "seed_facts", None):
        devstack.seed_facts = dict(seed_demo(devstack) or {})
    button_key = str(devstack.seed_facts["button_key"])
    stack_file = Path(devstack.write_state_file())
    ran: list[str] = []
    for path in DOCS:
        tenant = "docs-" + uuid.uuid4().hex[:8]
        for line_no, commands in marked_blocks(path):
            for command in commands:
                argv = shlex.split(command, comments=True)
                where = f"{path.relative_to(ROOT)}:{line_no}: {command.strip()}"
                assert argv[0] in HELPDESK, f"{where}: only helpdesk commands can be marked {MARK}"
                args = adapt(
                    argv[1:], stack_file=stack_file, tenant=tenant, api_url=devstack.api_url, button_key=button_key
                )
                done = run_in_terminal([sys.executable, "-m", "helpdesk_cli.main", *args])
                assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
                assert "Traceback" not in done.stderr, where
                ran.append(where)
    print("\n".join(["docs commands run:", *ran]))
    # the marks themselves are checked too: losing them would make this test pass on nothing
    assert len(ran) >= 8, ran
    assert {r.split(":")[0] for r in ran} >= {"README.md", "docs/operations.md"}


def test_adapting_a_documented_command_changes_only_what_a_reader_would() -> None:
    argv = shlex.split('tenants create acme --name "Acme MSP" --stack-name helpdesk  # a comment', comments=True)
    adapted = adapt(argv, stack_file=Path("/s.json"), tenant="docs-1", api_url="http://x/prod", button_key="hbk_k")
    assert adapted == ["tenants", "create", "docs-1", "--name", "Acme MSP", "--stack-file", "/s.json"]
    assert re.fullmatch(
        r"hbk_k", adapt(["hbk_..."], stack_file=Path("/"), tenant="t", api_url="", button_key="hbk_k")[0]
    )
