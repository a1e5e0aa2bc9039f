"""`helpdesk press` (the reference button agent) against the devstack: a real console script, a real API.

Needs: intake (POST/GET /v1/tickets, /v1/uploads), the dispatcher creating tickets in the Autotask simulator,
and a seeded demo tenant with a button key and an admin token (devstack/seed.py, `seed_demo(stack)`).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
HELPDESK = [sys.executable, "-m", "helpdesk_cli.main"]
BLOCK_MARKER = "agent-e2e-please-block"
BLOCK_TEXT = "Ticket submission disabled until payment."


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def seeded(devstack: Any) -> dict[str, Any]:
    """The demo tenant's facts (button key, admin token, Autotask database), seeding the shared stack once."""
    if not getattr(devstack, "seed_facts", None):
        try:
            from devstack.seed import seed_demo
        except ImportError as exc:
            pytest.skip(f"devstack/seed.py (seed_demo) is missing: no demo tenant or button key to press with ({exc})")
        devstack.seed_facts = dict(seed_demo(devstack) or {})
    facts = dict(devstack.seed_facts)
    key = _first(facts, "button_key", "demo_button_key", "key")
    if not key:
        pytest.skip(f"the demo seed gives no button key (seed facts: {sorted(facts)})")
    facts["_key"] = key
    facts["_admin_token"] = _first(facts, "admin_token", "demo_admin_token")
    facts["_database"] = _first(facts, "autotask_database", "database") or "demo"
    return facts


def _first(facts: dict[str, Any], *names: str) -> str | None:
    for name in names:
        if facts.get(name):
            return str(facts[name])
    return None


def _press(api_url: str, key: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update({"HELPDESK_API_URL": api_url, "HELPDESK_BUTTON_KEY": key, "PYTHONPATH": str(ROOT / "layers/core")})
    return subprocess.run(
        [*HELPDESK, "press", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT, check=False
    )


def _sim_tickets(devstack: Any, database: str) -> list[dict[str, Any]]:
    response = requests.get(f"{devstack.autotask_url}/_sim/tenants/{database}/tickets", timeout=10)
    response.raise_for_status()
    return list(response.json()["tickets"])


def _tickets_with_external_id(devstack: Any, database: str, external_id: str) -> list[dict[str, Any]]:
    return [t for t in _sim_tickets(devstack, database) if t.get("externalID") == external_id]


# ---------------------------------------------------------------------------------------------- the proxy
class DroppingProxy:
    """A loopback HTTP proxy in front of the API that, once, forwards a POST /v1/tickets, waits for the API's
    answer, and then closes the client's connection without relaying it: the server accepted the request but
    the agent never heard back (the network dropped mid-request)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.forwarded: list[tuple[str, str, int]] = []  # (method, path, upstream status)
        self.dropped = 0
        self._drops_left = 1
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                with proxy._lock:
                    proxy.forwarded.append((self.command, self.path, answer.status))
                    drop = (
                        self.command == "POST"
                        and self.path == f"{proxy.prefix}/v1/tickets"
                        and answer.status == 202
                        and proxy._drops_left > 0
                    )
                    if drop:
                        proxy._drops_left -= 1
                        proxy.dropped += 1
                if drop:
                    # The API has accepted it; the agent gets a closed connection instead of the 202.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{self.prefix}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="dropping-proxy", daemon=True)

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


# ---------------------------------------------------------------------------------------------- tests
def test_a_press_creates_a_ticket_and_prints_its_number(devstack: Any, seeded: dict[str, Any]) -> None:
    # Given the devstack with the demo tenant, and a fixed submission id we can find in Autotask afterwards
    submission_id = f"press-e2e-{uuid.uuid4().hex[:16]}"

    # When a user presses the button from the command line, as in the README's quick start
    result = _press(
        devstack.api_url,
        seeded["_key"],
        "My printer is jammed",
        "--select",
        "This is an emergency",
        "--name",
        "Ann Smith",
        "--email",
        "ann@contoso.com",
        "--submission-id",
        submission_id,
    )

    # Then it exits 0 and prints the number of the one ticket the simulator now holds for that press
    assert result.returncode == 0, result.stderr + result.stdout
    (ticket,) = _tickets_with_external_id(devstack, seeded["_database"], submission_id)
    assert result.stdout.strip() == f"Ticket {ticket['ticketNumber']} created."
    assert "Sending your request" in result.stderr


def test_a_press_blocked_by_the_rules_exits_3_with_the_rule_text(devstack: Any, seeded: dict[str, Any]) -> None:
    admin_token = seeded["_admin_token"]
    if not admin_token:
        pytest.skip(f"the demo seed gives no admin token to save Dispatcher Rules with (seed facts: {sorted(seeded)})")
    admin = f"{devstack.api_url}/v1/admin"
    auth = {"Authorization": f"Bearer {admin_token}"}
    before = requests.get(f"{admin}/rules", headers=auth, timeout=30)
    assert before.status_code == 200, before.text
    previous = before.json().get("source") or ""
    # Given rules that block presses carrying a marker (other presses are unaffected), added to the active rules
    source = previous + f"\nif {BLOCK_MARKER!r} in msg:\n    exception = {BLOCK_TEXT!r}\n"
    saved = requests.post(f"{admin}/rules", headers=auth, json={"source": source, "note": "agent e2e"}, timeout=30)
    assert saved.status_code == 201, saved.text
    submission_id = f"press-e2e-{uuid.uuid4().hex[:16]}"
    try:
        # When a user presses with a message the rules block
        result = _press(
            devstack.api_url,
            seeded["_key"],
            f"Please help {BLOCK_MARKER}",
            "--name",
            "Ann Smith",
            "--email",
            "ann@contoso.com",
            "--submission-id",
            submission_id,
        )
    finally:
        requests.post(
            f"{admin}/rules", headers=auth, json={"source": previous, "note": "agent e2e: restore"}, timeout=30
        )

    # Then it exits 3 (blocked) showing the rule's text, and no ticket exists
    assert result.returncode == 3, result.stderr + result.stdout
    assert result.stdout.strip() == f"Your request was not submitted: {BLOCK_TEXT}"
    assert _tickets_with_external_id(devstack, seeded["_database"], submission_id) == []


def test_a_connection_cut_after_the_api_accepted_is_retried_and_makes_one_ticket(
    devstack: Any, seeded: dict[str, Any]
) -> None:
    submission_id = f"press-e2e-{uuid.uuid4().hex[:16]}"
    with DroppingProxy(devstack.api_url) as proxy:
        # Given a network that drops the connection after the API accepted the request, before the answer
        # When the user presses once
        result = _press(
            proxy.url,
            seeded["_key"],
            "The network keeps dropping",
            "--name",
            "Ann Smith",
            "--email",
            "ann@contoso.com",
            "--submission-id",
            submission_id,
            "--json",
        )
        posts = [f for f in proxy.forwarded if f[0] == "POST" and f[1].endswith("/v1/tickets")]

    # Then the agent resent the same request, the API accepted it twice, and there is exactly one ticket
    assert result.returncode == 0, result.stderr + result.stdout
    assert proxy.dropped == 1
    assert [p[2] for p in posts] == [202, 202]
    assert "trying again" in result.stderr
    status = json.loads(result.stdout)
    assert status["status"] == "created" and status["id"] == submission_id
    tickets = _tickets_with_external_id(devstack, seeded["_database"], submission_id)
    assert len(tickets) == 1, tickets
    assert tickets[0]["ticketNumber"] == status["ticket_number"]


def test_a_large_attachment_goes_through_the_presigned_upload(
    devstack: Any, seeded: dict[str, Any], tmp_path: Path
) -> None:
    # Given a 2 MB diagnostic report and a small screenshot
    report = tmp_path / "diagnostics.txt"
    report.write_bytes(b"diagnostic line\n" * (2 * 1024 * 1024 // 16))
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    submission_id = f"press-e2e-{uuid.uuid4().hex[:16]}"

    result = _press(
        devstack.api_url,
        seeded["_key"],
        "Report attached",
        "--name",
        "Ann Smith",
        "--email",
        "ann@contoso.com",
        "--attach",
        str(shot),
        "--attach",
        str(report),
        "--submission-id",
        submission_id,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "Uploading diagnostics.txt (2.0 MB)" in result.stderr
    (ticket,) = _tickets_with_external_id(devstack, seeded["_database"], submission_id)
    names = sorted(a.get("title") or a.get("fullPath") or "" for a in ticket["attachments"])
    assert any("diagnostics.txt" in n for n in names), ticket["attachments"]
    assert any("shot.png" in n for n in names), ticket["attachments"]


def test_a_wrong_key_exits_5_and_nothing_is_stored(devstack: Any, seeded: dict[str, Any]) -> None:
    result = _press(devstack.api_url, "hbk_not-a-real-key", "help", "--email", "ann@contoso.com", "--name", "Ann")
    assert result.returncode == 5, result.stderr
    assert "button key was refused" in result.stderr


def test_a_wrong_api_url_says_to_use_the_stage_url(devstack: Any) -> None:
    result = _press(devstack.api_base_url, "hbk_x", "help", "--email", "ann@contoso.com", "--name", "Ann")
    assert result.returncode == 6, result.stderr
    assert "stage URL" in result.stderr


def test_an_unreachable_api_exits_6_quickly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = _press(
        f"http://127.0.0.1:{port}/prod", "hbk_x", "help", "--email", "a@b.c", "--name", "A", "--retry-for", "2"
    )
    assert result.returncode == 6, result.stderr
    assert "connection refused" in result.stderr
    assert time.monotonic() - started < 20


def test_a_file_over_6_mb_exits_7_before_sending(tmp_path: Path) -> None:
    big = tmp_path / "huge.mp4"
    with big.open("wb") as fh:
        fh.truncate(6 * 1024 * 1024 + 1)
    result = _press("http://127.0.0.1:9/prod", "hbk_x", "help", "--email", "a@b.c", "--name", "A", "--attach", str(big))
    assert result.returncode == 7, result.stderr
    assert "over the 6 MB limit" in result.stderr


def test_watch_shows_a_technicians_change_and_ctrl_c_exits_0(devstack: Any, seeded: dict[str, Any]) -> None:
    sim = getattr(devstack, "autotask_sim", None)
    callout_url = str(seeded.get("callout_url") or "")
    if sim is None or not callout_url.startswith("http"):
        pytest.skip(f"needs the Autotask simulator and the demo tenant's callout URL (got {callout_url!r})")
    submission_id = f"press-e2e-{uuid.uuid4().hex[:16]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update({"HELPDESK_API_URL": devstack.api_url, "HELPDESK_BUTTON_KEY": seeded["_key"]})
    env["PYTHONPATH"] = str(ROOT / "layers/core")
    args = ["Outlook crashes", "--name", "Alice Anders", "--email", "alice@contoso.com", "--watch"]
    args += ["--poll-interval", "1", "--submission-id", submission_id]
    proc = subprocess.Popen(
        [*HELPDESK, "press", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()

    def wait_for(predicate: Any, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"not seen within {timeout}s; stdout so far: {seen}")

    sim.register_callout(seeded["_database"], callout_url)
    try:
        # Given a press being watched, its ticket created
        created = wait_for(lambda line: line.endswith("created.\n"), 90)
        number = created.split()[1]
        (ticket,) = _tickets_with_external_id(devstack, seeded["_database"], submission_id)
        # When a technician sets the ticket In Progress in Autotask
        sim.technician(int(ticket["id"]), status="In Progress")
        # Then the agent shows it, rendered, and Ctrl-C ends the watch cleanly
        update = wait_for(lambda line: "In Progress" in line, 90)
        assert number in update or "In Progress" in update
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "Stopped watching." in (proc.stderr.read() if proc.stderr else "")
    finally:
        sim.clear_callouts(seeded["_database"])
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


# ------------------------------------------------------------- the same drop against a minimal contract server
class ContractServer:
    """The agent API contract at its smallest (idempotent POST /v1/tickets, GET status): checks the agent and the
    dropping proxy over real sockets without the devstack."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.bodies: dict[str, bytes] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, doc: dict[str, Any]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != "Bearer hbk_contract":
                    return self._answer(401, {"error": "unauthorized", "message": "unknown key"})
                sid = json.loads(body)["submission_id"]
                if sid in server.bodies and server.bodies[sid] != body:
                    return self._answer(409, {"error": "conflict", "message": "different body"})
                if sid not in server.bodies:
                    server.bodies[sid] = body
                    server.tickets[sid] = {"ticket_number": f"T20261126.{len(server.tickets) + 1:04d}"}
                return self._answer(202, {"id": sid, "status": "queued", "receipt": f"hbr_{sid}"})

            def do_GET(self) -> None:
                sid = self.path.rsplit("/", 1)[-1]
                if sid not in server.tickets or self.headers.get("X-Receipt") != f"hbr_{sid}":
                    return self._answer(404, {"error": "not_found", "message": "unknown submission"})
                doc = {"id": sid, "status": "created", "ticket_id": 1, "message": None, "timeline": []}
                return self._answer(200, {**doc, **server.tickets[sid]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/prod"
        self._thread = threading.Thread(target=self.server.serve_forever, name="contract-server", daemon=True)

    def __enter__(self) -> ContractServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def test_the_agent_resends_after_a_real_dropped_connection_and_the_contract_keeps_one_ticket() -> None:
    with ContractServer() as api, DroppingProxy(api.url) as proxy:
        result = _press(proxy.url, "hbk_contract", "Dropped", "--email", "a@b.c", "--name", "A", "--json")
    assert result.returncode == 0, result.stderr
    assert proxy.dropped == 1
    posts = [f for f in proxy.forwarded if f[0] == "POST"]
    assert [p[2] for p in posts] == [202, 202]
    assert "connection closed before the answer arrived; trying again" in result.stderr
    assert len(api.tickets) == 1
    assert json.loads(result.stdout)["ticket_number"] == "T20261126.0001"
