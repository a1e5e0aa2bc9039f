"""Docs that run: the commands in README.md and docs/*.md are executed against the devstack, so docs and CLI
cannot drift.

Every fenced block that holds commands is classified by the line right before its fence:

- `<!-- docs-run -->`: executed here, in page order (a page's blocks build on each other), as written except
  for the substitutions below;
- `<!-- docs-norun: <reason> -->`: not executed, for the reason given (needs AWS, starts the devstack itself, ...).

A block holds commands when its language is bash/sh/shell/console, when one of its lines starts with a command
(`helpdesk`, `.venv/bin/...`, `curl`, `python`, `make`, `aws`, `sam`, `pytest`, a `$ ` prompt, ...), or when it
is Python importing this project's packages. An unclassified one fails
`test_every_command_block_in_the_docs_is_marked_to_run_or_says_why_not` with its file:line. Output, JSON and
Dispatcher Rules blocks need no mark.

Substitutions (what a reader adapts to their own `make run`, done the same way everywhere):

- `http://127.0.0.1:3000/prod`, `:3001`, `:3002`, `:4566` (the devstack's default ports, as its summary prints
  them) -> this devstack's API stage, Lambda port, Autotask simulator and moto;
- `hba_...`, `hbk_...`, `hbc_...` -> an admin token, a button key and the callout token of one tenant provisioned
  for this run (its Autotask: the simulator's `demo` database), so what the docs change touches no other test;
- `acme` -> a fresh tenant id per page (the page's `tenants create acme` creates it);
- `--stack-name <anything>` -> `--stack-file <this devstack's state file>`;
- in Python blocks, the names a reader supplies are set first: `host`, `api_key`, `integration_code` (the
  simulator's demo database) and `submission_id`.

Shell blocks run in bash with `set -euo pipefail` in a scratch directory (with `.venv` linked in), each bounded
(BLOCK_TIMEOUT); stdin is a terminal answering "y" to each question, as a person would. `curl` is a shim that
runs the real curl (`--max-time 30`) and records each HTTP status: anything but 2xx fails the block unless the
line's comment names the status (`curl ... # 422, fields[0].line == 1`); a 5xx or a failed connection always
fails. Python blocks run with the .venv interpreter (`python -c`, at the repository's root) and the devstack's
AWS and Autotask-simulator environment.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = "<!-- docs-run -->"
NORUN = re.compile(r"<!-- docs-norun: (?P<reason>\S.*\S) -->")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
COMMAND_LINE = re.compile(
    r"^\s*(\$ )?(sudo )?([A-Z_][A-Z0-9_]*=\S*\s+)*"
    r"(helpdesk|\.venv/bin/\S+|curl|python3?|make|aws|sam|pytest|pip|uv|git|export|cd)(\s|$)"
)
PROJECT_IMPORT = re.compile(r"^\s*(from|import)\s+(helpdesk|helpdesk_cli|devstack|bench|tests)\b", re.M)
BLOCK_TIMEOUT = {"default": 120, "docs/notifications.md": 180}
DEFAULT_URLS = {
    "http://127.0.0.1:3000/prod": "api_url",
    "http://127.0.0.1:3001": "lambda_url",
    "http://127.0.0.1:3002": "autotask_url",
    "http://127.0.0.1:4566": "moto_url",
}


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    lines: list[str]
    mark: str | None  # "run", "norun: <reason>" or None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def holds_commands(self) -> bool:
        if self.language in SHELL_LANGUAGES:
            return True
        if self.language == "python":
            return bool(PROJECT_IMPORT.search("\n".join(self.lines)))
        return any(COMMAND_LINE.match(line) for line in self.lines)


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    n = 0
    while n < len(lines):
        fence = lines[n].strip()
        if not fence.startswith("```"):
            n += 1
            continue
        end = next((m for m in range(n + 1, len(lines)) if lines[m].strip().startswith("```")), len(lines))
        before = lines[n - 1].strip() if n else ""
        norun = NORUN.fullmatch(before)
        mark = "run" if before == RUN else f"norun: {norun['reason']}" if norun else None
        blocks.append(Block(path, n + 1, fence[3:].strip().lower(), lines[n + 1 : end], mark))
        n = end + 1
    return blocks


def logical_lines(lines: list[str]) -> list[str]:
    """Backslash continuations joined: one entry per command line."""
    out: list[str] = []
    for text in lines:
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1].rstrip() + " " + text.strip()
        else:
            out.append(text)
    return out


def is_command(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


@dataclass(frozen=True)
class Substitutions:
    urls: dict[str, str]
    admin_token: str
    button_key: str
    callout_token: str
    tenant: str
    stack_file: Path

    def apply(self, text: str) -> str:
        for default, actual in self.urls.items():
            text = text.replace(default, actual)
        text = text.replace("hba_...", self.admin_token).replace("hbk_...", self.button_key)
        text = text.replace("hbc_...", self.callout_token)
        text = re.sub(r"\bacme\b", self.tenant, text)
        return re.sub(r"--stack-name\s+\S+", f"--stack-file {self.stack_file}", text)


EXPECTED_STATUS = re.compile(r"\s#\s*(?P<status>[1-4]\d\d)\b")


def shell_script(block: Block, subs: Substitutions) -> str:
    """The block as one bash script: substituted, each curl line told the status its comment expects."""
    out = ["set -euo pipefail"]
    for line in logical_lines(block.lines):
        expected = EXPECTED_STATUS.search(line)
        if expected and is_command(line):
            assert line.lstrip().startswith("curl "), f"{block.where}: an expected status only on a curl line: {line}"
            line = f"DOCS_EXPECT={expected['status']} {line.lstrip()}"
        out.append(subs.apply(line))
    return "\n".join(out) + "\n"


PYTHON_PREAMBLE = """\
import os as _docs_os
host = _docs_os.environ["DOCS_AUTOTASK_HOST"]
api_key = _docs_os.environ["DOCS_AUTOTASK_API_KEY"]
integration_code = _docs_os.environ["DOCS_AUTOTASK_INTEGRATION_CODE"]
submission_id = _docs_os.environ["DOCS_SUBMISSION_ID"]
"""

CURL_SHIM = """#!/usr/bin/env bash
# docs-run: the real curl, bounded; each status recorded; an unexpected one fails the command
body=$(mktemp)
status=$({real} --max-time 30 -o "$body" -w '%{{http_code}}' "$@") && rc=0 || rc=$?
cat "$body"; rm -f "$body"
expected="${{DOCS_EXPECT:-2xx}}"
echo "$status $expected curl $*" >> "$DOCS_CURL_LOG"
if [ "$rc" -ne 0 ]; then echo "docs-run: curl failed (exit $rc, HTTP $status): curl $*" >&2; exit "$rc"; fi
case "$status" in 5*) echo "docs-run: HTTP $status (a server error): curl $*" >&2; exit 22 ;; esac
case "$expected" in
  2xx) case "$status" in 2*) ;; *) echo "docs-run: HTTP $status, expected 2xx: curl $*" >&2; exit 22 ;; esac ;;
  *) [ "$status" = "$expected" ] || {{ echo "docs-run: HTTP $status, expected $expected: curl $*" >&2; exit 22; }} ;;
esac
"""


def run_with_terminal(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> Any:
    """Run with a terminal on stdin that answers "y" to every question (none is asked more than a few times)."""
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\n" * 16)
        return subprocess.run(argv, stdin=slave, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    finally:
        os.close(master)
        os.close(slave)


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in fenced_blocks(path)]


def test_every_command_block_in_the_docs_is_marked_to_run_or_says_why_not() -> None:
    unclassified = [
        f"{b.where}: {b.lines[0] if b.lines else ''}" for b in all_blocks() if b.holds_commands and not b.mark
    ]
    assert not unclassified, (
        f"mark each with {RUN} (run by this test) or <!-- docs-norun: <reason> --> on the line before its fence:\n"
        + "\n".join(unclassified)
    )


def test_every_mark_sits_right_before_a_fence() -> None:
    stray = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            if not line.strip().startswith("<!-- docs-"):
                continue
            if not (n + 1 < len(lines) and lines[n + 1].strip().startswith("```")):
                stray.append(f"{path.relative_to(ROOT)}:{n + 1}: {line.strip()}")
            elif line.strip() != RUN and not NORUN.fullmatch(line.strip()):
                stray.append(f"{path.relative_to(ROOT)}:{n + 1}: not {RUN} nor <!-- docs-norun: reason -->")
    assert not stray, "\n".join(stray)


def test_the_classifier_finds_commands_and_leaves_output_alone() -> None:
    def block(language: str, *lines: str) -> Block:
        return Block(ROOT / "README.md", 1, language, list(lines), None)

    assert block("", "curl -s http://127.0.0.1:3000/prod/v1/health").holds_commands
    assert block("", "$ .venv/bin/python -m bench rules", "workload  engine").holds_commands
    assert block("", "TOKEN=x curl -s $API").holds_commands
    assert block("sh", "anything").holds_commands
    assert block("python", "from helpdesk_cli.press import press").holds_commands
    assert not block("python", "import re, datetime", "priority = 'High'").holds_commands  # Dispatcher Rules
    assert not block("", "  curl: curl -s -H ...", "Demo tenant:").holds_commands  # the devstack's summary
    assert not block("json", '{"curl": 1}').holds_commands


def test_a_documented_command_is_adapted_only_where_a_reader_would() -> None:
    subs = Substitutions(
        urls={"http://127.0.0.1:3000/prod": "http://127.0.0.1:41234/prod"},
        admin_token="hba_T",
        button_key="hbk_K",
        callout_token="hbc_C",
        tenant="docs-1",
        stack_file=Path("/s.json"),
    )
    block = Block(
        ROOT / "README.md",
        1,
        "sh",
        [
            '.venv/bin/helpdesk tenants create acme --name "Acme MSP" --stack-name <stack>  # a comment',
            "curl -s -H 'Authorization: Bearer hba_...' -X POST \\",
            "     http://127.0.0.1:3000/prod/v1/admin/rules   # 422, fields[0].line == 1",
        ],
        "run",
    )
    assert shell_script(block, subs).splitlines() == [
        "set -euo pipefail",
        '.venv/bin/helpdesk tenants create docs-1 --name "Acme MSP" --stack-file /s.json  # a comment',
        "DOCS_EXPECT=422 curl -s -H 'Authorization: Bearer hba_T' -X POST "
        "http://127.0.0.1:41234/prod/v1/admin/rules   # 422, fields[0].line == 1",
    ]


@pytest.fixture(scope="module")
def docs_tenant(devstack: Any) -> Any:
    """The tenant behind hba_... / hbk_... / hbc_...: its Autotask is the simulator's demo database."""
    import requests

    from devstack.autotask_sim import DEMO
    from helpdesk.domain.tenant import CredentialKind, TicketDefaults
    from tests.e2e.provision import provisioned_tenant

    tenant_id = "docs-" + uuid.uuid4().hex[:8]
    defaults = TicketDefaults(queue="Tier 1 Support", priority="Medium", ticketStatus="New")
    with provisioned_tenant(devstack, tenant_id, name="Docs MSP", defaults=defaults, autotask=DEMO) as tenant:
        admin = tenant["tenants"].issue_credential(tenant_id, CredentialKind.ADMIN_TOKEN, "docs").token
        urls = requests.get(
            f"{devstack.api_url}/v1/admin/callout-url", headers={"Authorization": f"Bearer {admin}"}, timeout=30
        )
        assert urls.status_code == 200, urls.text
        callout = urls.json()["extension_callout_url"].rsplit("/", 1)[-1]
        try:
            yield {"tenant_id": tenant_id, "admin": admin, "key": tenant["key"], "callout": callout}
        finally:
            tenant["sim"].clear_callouts("demo")  # the notifications walkthrough registered one


@pytest.mark.e2e
def test_every_marked_block_in_the_docs_runs_against_the_devstack(
    devstack: Any, docs_tenant: dict[str, str], tmp_path: Path
) -> None:
    from devstack.autotask_sim import DEMO

    real_curl = shutil.which("curl")
    assert real_curl, "curl is needed to run the docs' curl examples"
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "curl").write_text(CURL_SHIM.format(real=real_curl))
    (shims / "curl").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    curl_log = tmp_path / "curl.log"
    curl_log.touch()
    stack_file = Path(devstack.write_state_file())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HELPDESK_", "AUTOTASK_"))}
    sim = devstack.autotask_sim
    env |= {
        "PATH": f"{shims}:{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        "DOCS_CURL_LOG": str(curl_log),
        "HELPDESK_STACK_FILE": str(stack_file),
        "DOCS_AUTOTASK_HOST": sim.host,
        "DOCS_AUTOTASK_API_KEY": DEMO.api_key,
        "DOCS_AUTOTASK_INTEGRATION_CODE": DEMO.integration_code,
        **sim.client_env(),
        **{k: str(v) for k, v in devstack.env.items() if k.startswith("AWS_")},
    }
    urls = {default: str(getattr(devstack, name)).rstrip("/") for default, name in DEFAULT_URLS.items()}
    ran: list[str] = []
    commands = 0
    for path in DOCS:
        subs = Substitutions(
            urls=urls,
            admin_token=docs_tenant["admin"],
            button_key=docs_tenant["key"],
            callout_token=docs_tenant["callout"],
            tenant="docs-" + uuid.uuid4().hex[:8],
            stack_file=stack_file,
        )
        for block in fenced_blocks(path):
            if block.mark != "run":
                continue
            timeout = BLOCK_TIMEOUT.get(str(path.relative_to(ROOT)), BLOCK_TIMEOUT["default"])
            if block.language == "python":
                script = tmp_path / "block.py"
                script.write_text(PYTHON_PREAMBLE + subs.apply("\n".join(block.lines)) + "\n")
                argv, cwd = [sys.executable, "-c", script.read_text()], ROOT  # as typed at the repository's root
                env["DOCS_SUBMISSION_ID"] = "docs-" + uuid.uuid4().hex
                count = 1
            else:
                script = tmp_path / "block.sh"
                script.write_text(shell_script(block, subs))
                argv, cwd = ["bash", str(script)], work
                count = sum(is_command(line) for line in logical_lines(block.lines))
            done = run_with_terminal(argv, cwd=cwd, env=env, timeout=timeout)
            assert done.returncode == 0, (
                f"{block.where} failed (exit {done.returncode}):\n{script.read_text()}\n"
                f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
            )
            assert "Traceback" not in done.stderr, f"{block.where}:\n{done.stderr[-4000:]}"
            ran.append(f"{block.where} ({count} command(s))")
            commands += count
    requests_made = curl_log.read_text().splitlines()
    print("\n".join(["docs blocks run:", *ran, f"{commands} commands, {len(requests_made)} HTTP requests by curl"]))
    print("\n".join(requests_made))
    # the marks are checked too: losing them would make this test pass on nothing
    assert commands >= 30 and len(requests_made) >= 9, (commands, requests_made)
    assert {r.split(":")[0] for r in ran} >= {
        "README.md",
        "docs/operations.md",
        "docs/admin-api.md",
        "docs/notifications.md",
        "docs/devstack.md",
        "docs/agent.md",
        "docs/autotask.md",
    }


def test_the_agent_usage_synopsis_names_exactly_the_options_of_helpdesk_press() -> None:
    from helpdesk_cli.main import build_parser

    (synopsis,) = [b for b in fenced_blocks(ROOT / "docs" / "agent.md") if b.lines[0].startswith("helpdesk press ")]
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", "\n".join(synopsis.lines)))
    press = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)
    offered = {o for a in press.choices["press"]._actions for o in a.option_strings if o.startswith("--")}
    assert documented == offered - {"--help"}, (documented ^ offered) - {"--help"}


@pytest.mark.e2e
def test_the_devstack_usage_example_names_only_what_a_running_devstack_has(devstack: Any) -> None:
    # docs/devstack.md's example is not run (it would start a second devstack): its names are checked instead
    (example,) = [b for b in fenced_blocks(ROOT / "docs" / "devstack.md") if "Devstack(" in "\n".join(b.lines)]
    names = set(re.findall(r"\bstack\.(\w+)", "\n".join(example.lines)))
    assert len(names) >= 10, names
    assert not {n for n in names if not hasattr(devstack, n)}, names
