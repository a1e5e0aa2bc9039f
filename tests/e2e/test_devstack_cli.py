"""`python -m devstack` (what `make run` starts): a state file while it runs, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_cli_writes_its_state_file_serves_the_api_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--free-ports", "--no-seed", "--state-dir", str(state)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Given the devstack running in the foreground
        stack_file = state / "stack.json"
        deadline = time.monotonic() + 60
        while not stack_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stack_file.exists(), proc.stdout.read() if proc.poll() is not None else "no stack.json in 60 s"
        info = json.loads(stack_file.read_text())
        assert info["pid"] == proc.pid
        assert info["env"]["AWS_ENDPOINT_URL"] == info["moto_url"]
        # When a request goes through it, a worker process is started
        assert requests.get(f"{info['api_url']}/v1/health", timeout=60).status_code == 200
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("runtime.py" in " ".join(c.cmdline()) for c in children)
        time.sleep(1.0)  # what the worker logs after the answer would reach the console by now
        # Then SIGTERM stops everything: exit 0, every child gone, state file removed
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        # By default the ready banner is the last thing on the console: function logs go to their files, without
        # Powertools' "No application metrics" warning for an invocation that counted nothing
        before_stop = out.split("devstack: stopping", 1)[0].rstrip().splitlines()
        assert before_stop[-1].startswith("state file: "), out
        assert not any(line.startswith("[") for line in before_stop), "function logs on the console"
        intake_log = (state / "logs" / "IntakeFunction.log").read_text()
        assert intake_log.strip() and "No application metrics" not in intake_log
        assert "no worker process left" in out
        _gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == []
        assert not stack_file.exists()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_a_port_in_use_is_named_at_once_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "devstack", "--no-seed", "--state-dir", str(tmp_path / "state")],
            cwd=ROOT,
            env={**os.environ, "HELPDESK_API_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and time.monotonic() - started < 15
    assert f"port {port} (api, HELPDESK_API_PORT) already in use" in done.stderr
    assert "--free-ports" in done.stderr and "Traceback" not in done.stderr
