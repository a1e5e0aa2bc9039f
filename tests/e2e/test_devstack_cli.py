"""`python -m devstack` (what `make run` starts): a state file while it runs, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
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
        [sys.executable, "-m", "devstack", "--free-ports", "--quiet", "--no-seed", "--state-dir", str(state)],
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
        # Then SIGTERM stops everything: exit 0, every child gone, state file removed
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "no worker process left" in out
        _gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == []
        assert not stack_file.exists()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
