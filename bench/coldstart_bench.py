"""Cold start: import + init time of each function's handler module, as a ratio to a bare ``import boto3``.

    .venv/bin/python -m bench coldstart        (HELPDESK_BENCH_COLDSTART_REPEATS=<n>, default 7)

Each measurement is a fresh interpreter (``python -c ...``) whose ``sys.path`` starts with
the function's CodeUri and the core layer, like /var/task + /opt/python on Lambda, and whose environment is
the function's environment as the devstack sets it (the template's variables resolved against resources
provisioned under moto, plus Lambda's reserved variables). The child times ``import app`` (module import and
every module-level init: env validation, Powertools, boto3 clients) with ``time.perf_counter`` and prints it;
the baseline child times ``import boto3`` the same way. Repetitions are interleaved (baseline, intake, callout,
... , baseline, intake, ...) so a noisy neighbour hits all of them alike; the table shows medians.
Bytecode: the venv is installed without .pyc files (uv does not compile by default) while Lambda's runtime
ships boto3 compiled and a deployment imports from a read-only /var/task; so one unmeasured warm-up round
first writes every module's bytecode into a private PYTHONPYCACHEPREFIX (a temporary directory, nothing in
the repository or the venv changes) and the measured rounds read it, for the baseline and the handlers alike.

Goal: intake and callout at most 1.5x the baseline, the dispatcher at most 2x.

Before/after in one run: ``HELPDESK_BENCH_COLDSTART_COMPARE=<another checkout of this repository>`` adds that
checkout's intake, callout and dispatcher (same environment, their code and layer) as extra rows, interleaved
with the others, labelled ``<function> (compare)``.

To find what a handler imports: ``python -X importtime -c 'import app'`` with the same sys.path (printed by
``--importtime <function>``: ``.venv/bin/python -m bench.coldstart_bench --importtime IntakeFunction``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL = {"IntakeFunction": 1.5, "CalloutFunction": 1.5, "DispatcherFunction": 2.0}  # issue 16
CHILD = """
import sys, time
sys.path[:0] = {paths!r}
t0 = time.perf_counter()
import {module}
print(time.perf_counter() - t0)
"""


def function_envs() -> dict[str, tuple[Path, list[Path], dict[str, str]]]:
    """Logical id -> (code dir, layer dirs, environment) as the devstack would run it (moto in-process)."""
    from moto import mock_aws

    from devstack.resources import bind_emulated, provision

    saved = dict(os.environ)
    os.environ.update(
        {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    )
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(var)
    try:
        with mock_aws():
            t = provision()
            names = bind_emulated(t)
            out = {}
            for lid, spec in t.functions().items():
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "LANG": "C.UTF-8",
                    "TZ": "UTC",
                    "HOME": "/tmp",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "AWS_CONFIG_FILE": "/dev/null",
                    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_EC2_METADATA_DISABLED": "true",
                    **spec.environment,
                    "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing",
                    # nothing listens here: init must not call AWS (it would fail fast, not hang)
                    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                    "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9",
                    "AWS_LAMBDA_FUNCTION_NAME": names[lid],
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                    "LAMBDA_TASK_ROOT": str(spec.code_dir),
                    "_HANDLER": spec.handler,
                    "POWERTOOLS_TRACE_DISABLED": "true",
                }
                out[lid] = (Path(spec.code_dir), [Path(p) for p in spec.layer_dirs], env)
            return out
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _time_import(module: str, paths: list[str], env: dict[str, str], cwd: Path) -> float:
    code = CHILD.format(paths=paths, module=module)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=str(cwd), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed in {cwd}:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def _compared(envs: dict[str, tuple[Path, list[Path], dict[str, str]]], other: Path) -> None:
    """Add another checkout's intake, callout and dispatcher (its code and layer, the same environment)."""
    for lid in ("IntakeFunction", "CalloutFunction", "DispatcherFunction"):
        code_dir, layers, env = envs[lid]

        def moved(path: Path) -> Path:
            return other / path.relative_to(ROOT) if path.is_relative_to(ROOT) else path

        envs[f"{lid} (compare)"] = (
            moved(code_dir),
            [moved(p) for p in layers],
            {**env, "LAMBDA_TASK_ROOT": str(moved(code_dir))},
        )


def measure(repeats: int) -> dict[str, Any]:
    envs = function_envs()
    if os.environ.get("HELPDESK_BENCH_COLDSTART_COMPARE"):
        _compared(envs, Path(os.environ["HELPDESK_BENCH_COLDSTART_COMPARE"]).resolve())
    cache = tempfile.mkdtemp(prefix="helpdesk-coldstart-pycache-")
    for _, _, env in envs.values():
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    try:
        return _measure(envs, repeats)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _measure(envs: dict[str, tuple[Path, list[Path], dict[str, str]]], repeats: int) -> dict[str, Any]:
    baseline_env = next(iter(envs.values()))[2]
    samples: dict[str, list[float]] = {"import boto3 (baseline)": []}
    samples.update({lid: [] for lid in envs})
    for round_ in range(repeats + 1):  # round 0 writes the bytecode cache and is not counted
        if round_ == 1:
            samples = {k: [] for k in samples}
        samples["import boto3 (baseline)"].append(_time_import("boto3", [], baseline_env, ROOT))
        for lid, (code_dir, layers, env) in envs.items():
            module = env["_HANDLER"].rsplit(".", 1)[0]
            paths = [str(code_dir), *(str(p) for p in layers)]
            samples[lid].append(_time_import(module, paths, env, code_dir))
    medians = {k: statistics.median(v) for k, v in samples.items()}
    base = medians["import boto3 (baseline)"]
    memory = {lid: int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) for lid, (_, _, env) in envs.items()}
    return {
        "repeats": repeats,
        "median_s": medians,
        "ratio": {k: v / base for k, v in medians.items()},
        "memory": memory,
    }


def main() -> int:
    repeats = int(os.environ.get("HELPDESK_BENCH_COLDSTART_REPEATS", "7"))
    result = measure(repeats)
    print(f"Cold start: import + init of each handler module, fresh interpreter, median of {repeats} (interleaved)")
    print(f"  {'module':<26} {'median ms':>10} {'vs import boto3':>16} {'goal':>6} {'met':>4}")
    ok = True
    for name, seconds in result["median_s"].items():
        ratio = result["ratio"][name]
        goal = GOAL.get(name.removesuffix(" (compare)"))
        met = "" if goal is None else ("yes" if ratio <= goal else "NO")
        ok = ok and (met != "NO" or name.endswith("(compare)"))
        goal_text = f"{goal:.1f}x" if goal else ""
        print(f"  {name:<26} {seconds * 1000:>10.1f} {ratio:>15.2f}x {goal_text:>6} {met:>4}")
    if os.environ.get("HELPDESK_BENCH_JSON"):
        Path(os.environ["HELPDESK_BENCH_JSON"]).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


def _importtime(lid: str) -> None:
    code_dir, layers, env = function_envs()[lid]
    module = env["_HANDLER"].rsplit(".", 1)[0]
    paths = [str(code_dir), *(str(p) for p in layers)]
    code = f"import sys; sys.path[:0] = {paths!r}; import {module}"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="helpdesk-importtime-") as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        for _ in range(2):  # the first run writes the bytecode; the second one's report is printed
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", code],
                env=env,
                cwd=str(code_dir),
                capture_output=True,
                text=True,
                check=False,
            )
        print(done.stderr, end="")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--importtime":
        _importtime(sys.argv[2])
        raise SystemExit(0)
    raise SystemExit(main())
