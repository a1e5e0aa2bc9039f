"""Lambda service emulator: one worker process per execution environment, and the Invoke REST API.

Each function gets a pool of worker processes (devstack/runtime.py), each its own interpreter, environment,
module namespace and process group. A worker is started on demand (cold start), reused while warm, serves one
invocation at a time, and is killed when the invocation exceeds the function's Timeout or when the worker and
the processes it started use more memory than its MemorySize (PSS, shared pages counted once, measured every
100 ms while busy; answered like Lambda: ``Runtime.ExitError`` "Runtime exited with error: signal: killed").
Like Lambda, the next invocation cold-starts a fresh one. ``LambdaService.wsgi_app`` serves
``POST /2015-03-31/functions/{name}/invocations`` so boto3's lambda client works against it unchanged, plus
``GET /devstack/stats`` (durations, cold starts, peak RSS per function) and
``DELETE /devstack/workers/{name}`` (kill a function's workers, for fault injection).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.template import FunctionSpec
from helpdesk_cli.terminal import strip_controls

RUNTIME_SCRIPT = Path(__file__).with_name("runtime.py")
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # 6 MB request and response, synchronous invocations
ASYNC_PAYLOAD_LIMIT = 256 * 1024
_HEADER = struct.Struct(">I")
# how Lambda words a runtime killed by a signal (Go's signal strings)
_SIGNAL_TEXT = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
}


@dataclass
class InvokeResult:
    payload: bytes
    function_error: str | None = None  # "Unhandled" like Lambda's X-Amz-Function-Error
    status: int = 200
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class LambdaServiceError(Exception):
    """An Invoke API error (not a function error): unknown function, throttling, payload too large."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class _WorkerGone(Exception):
    pass


class _OutOfMemory(Exception):
    """The worker's memory passed its function's MemorySize: it was killed (like Lambda's sandbox)."""


MEMORY_CHECK_S = 0.1
"""How often a busy worker's memory is measured (Lambda's cgroup enforces continuously; 100 ms is close enough
for the allocations a function makes)."""


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_memory_bytes(pid: int) -> int:
    """Resident memory of a worker and every process it started (an upper bound: shared pages count in each)."""
    rss = 0
    for proc in _process_tree(pid):
        with contextlib.suppress(psutil.Error):
            rss += proc.memory_info().rss
    return rss


def tree_pss_bytes(pid: int) -> int:
    """The same with shared pages counted once (PSS), as the memory cgroup of a Lambda sandbox counts them."""
    total = 0
    for proc in _process_tree(pid):
        try:
            with open(f"/proc/{proc.pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


class Worker:
    """One execution environment: a child interpreter in its own process group."""

    def __init__(self, spec: FunctionSpec, name: str, env: dict[str, str], log: LogSink) -> None:
        self.spec = spec
        self.name = name
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        sys_path = [str(spec.code_dir), *(str(p) for p in spec.layer_dirs)]
        full_env = {**env, "_DEVSTACK_SYS_PATH": os.pathsep.join(sys_path)}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNTIME_SCRIPT), str(req_r), str(resp_w)],
            pass_fds=(req_r, resp_w),
            env=full_env,
            cwd=str(spec.code_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg reaches anything the function spawned
        )
        os.close(req_r)
        os.close(resp_w)
        self._fds: tuple[int, ...] = (self._req_w, self._resp_r)
        self.pid = self.proc.pid
        self.invocations = 0
        self.max_rss_mb = 0.0
        self.init_ms: float | None = None
        self.memory_warned = False
        self.memory_limit = spec.memory_mb * 1024 * 1024
        self.peak_memory_mb = 0.0
        self.last_used = time.monotonic()
        self._log = log
        assert self.proc.stdout is not None
        threading.Thread(target=log.pump, args=(self.proc.stdout, name), daemon=True).start()

    def wait_init(self, timeout_s: float) -> dict[str, Any] | None:
        """None when ready; the init error payload otherwise (the worker is then dead)."""
        try:
            frame = self._recv(time.monotonic() + timeout_s)
        except TimeoutError:
            return {"errorMessage": f"Init timed out after {timeout_s:.2f} seconds", "errorType": "Runtime.InitTimeout"}
        except _WorkerGone:
            return {"errorMessage": self._exit_message(), "errorType": "Runtime.ExitError"}
        except _OutOfMemory:
            return {"errorMessage": "Runtime exited with error: signal: killed", "errorType": "Runtime.ExitError"}
        if not frame.get("ok"):
            return dict(frame["error"])
        self.init_ms = float(frame["init_ms"])
        self.max_rss_mb = float(frame.get("max_rss_mb", 0.0))
        return None

    def invoke(self, frame: dict[str, Any], deadline: float) -> dict[str, Any]:
        self._send(frame)
        reply = self._recv(deadline)
        self.invocations += 1
        self.max_rss_mb = max(self.max_rss_mb, float(reply.get("max_rss_mb", 0.0)))
        return reply

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker's process group. Safe from any thread: a reader blocked on the worker sees EOF."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def dispose(self) -> None:
        """Kill and close the pipes; only by the thread that owns the worker (no one is reading from it)."""
        self.kill()
        fds, self._fds = self._fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _exit_message(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            sig = signal.Signals(-code)
            name = _SIGNAL_TEXT.get(sig) or sig.name.removeprefix("SIG").lower()
            return f"Runtime exited with error: signal: {name}"
        return f"Runtime exited with error: exit status {code}"

    def _send(self, frame: dict[str, Any]) -> None:
        data = json.dumps(frame).encode()
        view = memoryview(_HEADER.pack(len(data)) + data)
        try:
            while view:
                view = view[os.write(self._req_w, view) :]
        except OSError as exc:
            raise _WorkerGone(str(exc)) from None

    def _recv(self, deadline: float) -> dict[str, Any]:
        header = self._read(_HEADER.size, deadline)
        return dict(json.loads(self._read(_HEADER.unpack(header)[0], deadline)))

    def check_memory(self) -> None:
        """Kill the worker (its whole process group) when it and its children use more than MemorySize."""
        used = tree_memory_bytes(self.pid)
        if used > self.memory_limit:
            used = tree_pss_bytes(self.pid)
        self.peak_memory_mb = max(self.peak_memory_mb, used / (1024 * 1024))
        if used > self.memory_limit:
            self.kill()
            raise _OutOfMemory

    def _read(self, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            try:
                ready, _, _ = select.select([self._resp_r], [], [], min(remaining, MEMORY_CHECK_S))
            except (OSError, ValueError):
                raise _WorkerGone("pipe closed") from None
            if not ready:
                self.check_memory()
                continue
            try:
                chunk = os.read(self._resp_r, min(n, 1 << 20))
            except OSError:
                raise _WorkerGone("pipe closed") from None
            if not chunk:
                raise _WorkerGone("EOF")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)


class LogSink:
    """Appends every worker's output to .devstack/logs/<function>.log, optionally echoing with a prefix."""

    def __init__(self, path: Path, prefix: str, echo: Callable[[str], None] | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self._prefix = prefix
        self._echo = echo
        self._tail: deque[str] = deque(maxlen=200)

    def write(self, line: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(line if line.endswith("\n") else line + "\n")
            self._tail.append(line.rstrip("\n"))
        if self._echo:
            # Function output carries tenant text (messages, rules output, Autotask answers): escape sequences
            # and control characters in it must not drive the operator's terminal (helpdesk_cli.terminal).
            self._echo(f"{self._prefix} {strip_controls(line.rstrip())}")

    def pump(self, stream: Any, _worker: str) -> None:
        for raw in iter(stream.readline, b""):
            self.write(raw.decode("utf-8", errors="replace"))
        stream.close()

    def tail(self, max_bytes: int = 4096) -> str:
        with self._lock:
            text = "\n".join(self._tail)
        return text.encode()[-max_bytes:].decode("utf-8", errors="ignore")

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    throttles: int = 0
    cold_starts: int = 0
    durations_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    init_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    peak_rss_mb: float = 0.0
    # errorType -> count (Sandbox.Timedout, Runtime.ExitError for a killed environment, the handler's exception)
    error_types: Counter[str] = field(default_factory=Counter)

    def as_dict(self, raw: bool = False) -> dict[str, Any]:
        durations = sorted(self.durations_ms)

        def pct(p: float) -> float | None:
            # nearest-rank percentile
            return round(durations[max(0, math.ceil(p * len(durations)) - 1)], 2) if durations else None

        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "error_types": dict(self.error_types),
            "timeouts": self.timeouts,
            "throttles": self.throttles,
            "cold_starts": self.cold_starts,
            "duration_ms": {
                "count": len(durations),
                "mean": round(statistics.fmean(durations), 2) if durations else None,
                "p50": pct(0.50),
                "p95": pct(0.95),
                "p99": pct(0.99),
                "max": round(durations[-1], 2) if durations else None,
            },
            "init_ms": {
                "count": len(self.init_ms),
                "mean": round(statistics.fmean(self.init_ms), 2) if self.init_ms else None,
                "max": round(max(self.init_ms), 2) if self.init_ms else None,
            },
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        } | ({"durations_ms": list(self.durations_ms), "init_durations_ms": list(self.init_ms)} if raw else {})


class FunctionPool:
    """The execution environments of one function: up to ``max_workers`` concurrent, idle ones reused."""

    def __init__(
        self,
        spec: FunctionSpec,
        name: str,
        arn: str,
        env: dict[str, str],
        log: LogSink,
        max_workers: int,
        init_timeout_s: float,
    ) -> None:
        self.spec = spec
        self.name = name
        self.arn = arn
        self.env = env
        self.log = log
        self.max_workers = max_workers
        self.init_timeout_s = init_timeout_s
        self.stats = FunctionStats()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._slots = 0  # workers alive or starting
        self.spawned_pids: set[int] = set()  # every worker ever started (to verify none survives a stop)
        self._cond = threading.Condition()
        self._closed = False

    def _acquire(self, wait_s: float) -> tuple[Worker | None, bool]:
        """(idle worker, False) or (None, True) meaning the caller reserved a slot and must cold-start."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                if self._closed:
                    raise LambdaServiceError(503, "ServiceException", "the devstack is stopping")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker, False
                    self._forget(worker)
                    worker.dispose()  # died while idle (e.g. killed from outside): already gone, quick
                if self._slots < self.max_workers:
                    self._slots += 1
                    return None, True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stats.throttles += 1
                    raise LambdaServiceError(429, "TooManyRequestsException", "Rate Exceeded.")
                self._cond.wait(remaining)

    def _forget(self, worker: Worker) -> None:  # caller holds the lock
        if worker in self._all:
            self._all.discard(worker)
            self._slots -= 1
            self._cond.notify()

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._cond:
            keep = healthy and worker.alive() and not self._closed
            if keep:
                worker.last_used = time.monotonic()
                self._idle.append(worker)
                self._cond.notify()
            else:
                self._forget(worker)
        if not keep:
            worker.dispose()

    def invoke(self, payload: bytes, *, client_context: str | None = None, wait_s: float | None = None) -> InvokeResult:
        request_id = str(uuid.uuid4())
        worker, cold = self._acquire(self.spec.timeout_s if wait_s is None else wait_s)
        if cold:
            try:
                worker = Worker(self.spec, self.name, self.env, self.log)
                self.spawned_pids.add(worker.pid)
            except Exception:
                with self._cond:
                    self._slots -= 1
                    self._cond.notify()
                raise
            with self._cond:
                self._all.add(worker)
            try:
                error = worker.wait_init(self.init_timeout_s)
            except BaseException:
                self._release(worker, healthy=False)
                raise
            with self._cond:
                self.stats.cold_starts += 1
                if worker.init_ms is not None:
                    self.stats.init_ms.append(worker.init_ms)
                self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, worker.max_rss_mb)
            if error is not None:
                self._release(worker, healthy=False)
                with self._cond:
                    self.stats.invocations += 1
                    self.stats.errors += 1
                    self.stats.error_types[str(error.get("errorType"))] += 1
                self.log.write(f"INIT_REPORT RequestId: {request_id} Status: error ({error.get('errorType')})")
                return InvokeResult(json.dumps(error).encode(), "Unhandled", log_tail=self.log.tail())
        assert worker is not None
        deadline_wall_ms = int(time.time() * 1000 + self.spec.timeout_s * 1000)
        frame = {
            "request_id": request_id,
            "payload": payload.decode("utf-8"),
            "deadline_ms": deadline_wall_ms,
            "invoked_function_arn": self.arn,
            "client_context": client_context,
        }
        started = time.perf_counter()
        try:
            reply = worker.invoke(frame, time.monotonic() + self.spec.timeout_s)
        except TimeoutError:
            self._release(worker, healthy=False)
            elapsed = (time.perf_counter() - started) * 1000
            message = f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout_s:.2f} seconds"
            self.log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} Task timed out")
            self._record(elapsed, error=True, timeout=True, worker=worker, error_type="Sandbox.Timedout")
            body = {"errorType": "Sandbox.Timedout", "errorMessage": message}
            return InvokeResult(json.dumps(body).encode(), "Unhandled", log_tail=self.log.tail())
        except _OutOfMemory:
            self._release(worker, healthy=False)
            elapsed = (time.perf_counter() - started) * 1000
            self._record(elapsed, error=True, timeout=False, worker=worker, error_type="Runtime.OutOfMemory")
            self.log.write(
                f"REPORT RequestId: {request_id}\tDuration: {elapsed:.2f} ms\tMemory Size: {self.spec.memory_mb} MB"
                f"\tMax Memory Used: {int(worker.peak_memory_mb)} MB\tStatus: error\tError Type: Runtime.OutOfMemory"
            )
            message = "Runtime exited with error: signal: killed"
            body = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {message}"}
            return InvokeResult(json.dumps(body).encode(), "Unhandled", log_tail=self.log.tail())
        except _WorkerGone:
            message = worker._exit_message()
            self._release(worker, healthy=False)
            self._record(
                (time.perf_counter() - started) * 1000,
                error=True,
                timeout=False,
                worker=worker,
                error_type="Runtime.ExitError",
            )
            body = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {message}"}
            return InvokeResult(json.dumps(body).encode(), "Unhandled", log_tail=self.log.tail())
        self._record(
            float(reply.get("duration_ms", 0.0)),
            error=not reply["ok"],
            timeout=False,
            worker=worker,
            error_type=None if reply["ok"] else str((reply.get("error") or {}).get("errorType")),
        )
        self._release(worker, healthy=True)
        if reply["ok"]:
            data = reply["payload"].encode()
            if len(data) > SYNC_PAYLOAD_LIMIT:
                body = {
                    "errorType": "Function.ResponseSizeTooLarge",
                    "errorMessage": f"Response payload size exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                }
                return InvokeResult(json.dumps(body).encode(), "Unhandled")
            return InvokeResult(data, log_tail=reply.get("log_tail", ""))
        return InvokeResult(json.dumps(reply["error"]).encode(), "Unhandled", log_tail=reply.get("log_tail", ""))

    def _record(
        self, duration_ms: float, *, error: bool, timeout: bool, worker: Worker, error_type: str | None = None
    ) -> None:
        with self._cond:
            self.stats.invocations += 1
            self.stats.durations_ms.append(duration_ms)
            self.stats.errors += int(error)
            if error:
                self.stats.error_types[error_type or "Unknown"] += 1
            self.stats.timeouts += int(timeout)
            self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, worker.max_rss_mb, worker.peak_memory_mb)
            warn = worker.max_rss_mb > self.spec.memory_mb and not worker.memory_warned
            worker.memory_warned = worker.memory_warned or warn
        if warn:  # enforced on the process tree's PSS while busy (check_memory); this is the worker's own peak
            self.log.write(
                f"DEVSTACK WARNING: worker {worker.pid} peak RSS {worker.max_rss_mb:.0f} MB exceeds MemorySize "
                f"{self.spec.memory_mb} MB; Lambda would kill this execution environment"
            )

    def workers(self) -> list[Worker]:
        with self._cond:
            return list(self._all)

    def busy(self) -> int:
        """Workers running (or cold-starting for) an invocation right now."""
        with self._cond:
            return self._slots - len(self._idle)

    def kill_all(self) -> int:
        """Kill every worker (idle and busy); busy invocations fail with Runtime.ExitError."""
        with self._cond:
            idle = list(self._idle)
            self._idle.clear()
            busy = [w for w in self._all if w not in idle]
            for worker in idle:
                self._forget(worker)
        for worker in idle:
            worker.dispose()
        for worker in busy:  # their invoking thread sees EOF, answers Runtime.ExitError and disposes them
            worker.kill()
        return len(idle) + len(busy)

    def reap_idle(self, max_idle_s: float) -> int:
        """Dispose of workers idle for longer than ``max_idle_s`` (Lambda reclaims idle environments too)."""
        cutoff = time.monotonic() - max_idle_s
        with self._cond:
            stale = [w for w in self._idle if w.last_used <= cutoff]
            self._idle = [w for w in self._idle if w.last_used > cutoff]
            for worker in stale:
                self._forget(worker)
        for worker in stale:
            worker.dispose()
        return len(stale)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.kill_all()


class LambdaService:
    """All functions of the template, addressable by physical name or ARN."""

    def __init__(
        self,
        specs: dict[str, FunctionSpec],
        names: dict[str, str],
        arns: dict[str, str],
        envs: dict[str, dict[str, str]],
        log_dir: Path,
        *,
        max_workers: int = 10,
        init_timeout_s: float = 30.0,
        idle_timeout_s: float = 600.0,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.pools: dict[str, FunctionPool] = {}
        self.idle_timeout_s = idle_timeout_s
        self._by_name: dict[str, FunctionPool] = {}
        for lid, spec in specs.items():
            limit = spec.reserved_concurrency if spec.reserved_concurrency is not None else max_workers
            sink = LogSink(log_dir / f"{lid}.log", f"[{lid.removesuffix('Function').lower()}]", echo)
            pool = FunctionPool(spec, names[lid], arns[lid], envs[lid], sink, limit, init_timeout_s)
            self.pools[lid] = pool
            self._by_name[names[lid]] = pool
            self._by_name[arns[lid]] = pool
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")
        self._stopping = threading.Event()
        if idle_timeout_s > 0:
            threading.Thread(target=self._reaper, name="lambda-reaper", daemon=True).start()
        self._url_map = Map(
            [
                Rule("/2015-03-31/functions/<path:name>/invocations", endpoint="invoke", methods=["POST"]),
                Rule("/devstack/stats", endpoint="stats", methods=["GET"]),
                Rule("/devstack/stats", endpoint="reset_stats", methods=["DELETE"]),
                Rule("/devstack/workers/<path:name>", endpoint="kill", methods=["DELETE"]),
            ]
        )

    # ------------------------------------------------------------------ Python API
    def pool(self, name_or_arn: str, qualifier: str | None = None) -> FunctionPool:
        """Name, ARN, partial ARN (``123456789012:function:name``), each optionally with ``:$LATEST``."""
        parts = name_or_arn.split(":")
        if name_or_arn.startswith("arn:") and len(parts) in (7, 8):
            key = ":".join(parts[:7])
            qualifier = parts[7] if len(parts) == 8 else qualifier
        elif len(parts) in (3, 4) and parts[1] == "function":
            key = parts[2]
            qualifier = parts[3] if len(parts) == 4 else qualifier
        elif len(parts) == 2:
            key, qualifier = parts
        else:
            key = name_or_arn
        pool = self._by_name.get(key)
        if pool is None or qualifier not in (None, "", "$LATEST"):
            arn = key if key.startswith("arn:") else f"function:{key}"
            raise LambdaServiceError(404, "ResourceNotFoundException", f"Function not found: {arn}")
        return pool

    def invoke(self, name_or_arn: str, payload: Any = None, *, wait_s: float | None = None) -> InvokeResult:
        """Synchronous invocation (RequestResponse). ``payload`` is bytes (JSON text) or a JSON-able value."""
        pool = self.pool(name_or_arn)
        data = payload if isinstance(payload, bytes | bytearray) else json.dumps(payload).encode()
        if len(data) > SYNC_PAYLOAD_LIMIT:
            raise LambdaServiceError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation",
            )
        return pool.invoke(bytes(data), wait_s=wait_s)

    def invoke_async(self, name_or_arn: str, payload: bytes) -> None:
        pool = self.pool(name_or_arn)
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise LambdaServiceError(
                413, "RequestTooLargeException", f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes"
            )
        # Lambda queues async events and retries twice on error; locally: one attempt, errors are in the log.
        self._async.submit(pool.invoke, payload, wait_s=900.0)

    def stats(self, raw: bool = False) -> dict[str, Any]:
        """Per function: counts, duration percentiles, init durations, peak RSS; ``raw`` adds every duration."""
        result = {}
        for lid, pool in self.pools.items():
            item = pool.stats.as_dict(raw)
            workers = pool.workers()
            item.update(
                function_name=pool.name,
                workers=len(workers),
                workers_rss_mb=[round(_rss_mb(w.pid), 1) for w in workers],  # current RSS (psutil)
                memory_size_mb=pool.spec.memory_mb,
                memory_exceeded=pool.stats.peak_rss_mb > pool.spec.memory_mb,
            )
            result[lid] = item
        return result

    def reset_stats(self) -> None:
        for pool in self.pools.values():
            pool.stats = FunctionStats()

    def kill_workers(self, name: str) -> int:
        return self.pool(name).kill_all()

    @property
    def spawned_pids(self) -> set[int]:
        return {pid for pool in self.pools.values() for pid in pool.spawned_pids}

    def worker_pids(self) -> list[int]:
        return [w.pid for pool in self.pools.values() for w in pool.workers()]

    def _reaper(self) -> None:
        while not self._stopping.wait(min(30.0, self.idle_timeout_s / 4)):
            for pool in self.pools.values():
                pool.reap_idle(self.idle_timeout_s)

    def close(self) -> None:
        self._stopping.set()
        self._async.shutdown(wait=False, cancel_futures=True)
        for pool in self.pools.values():
            pool.close()
        for pool in self.pools.values():
            pool.log.close()

    # ------------------------------------------------------------------ HTTP (Invoke API)
    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self._url_map.bind_to_environ(environ).match()
        except Exception:
            response = _error(404, "UnknownOperationException", f"no such route {request.path}")
            return response(environ, start_response)
        try:
            response = getattr(self, f"_http_{endpoint}")(request, **args)
        except LambdaServiceError as exc:
            response = _error(exc.status, exc.error_type, str(exc))
        request.get_data(cache=False)  # drain what an error path left unread (keep-alive connections)
        return response(environ, start_response)

    def _http_invoke(self, request: Request, name: str) -> Response:
        pool = self.pool(name, request.args.get("Qualifier"))
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        payload = request.get_data(cache=False)
        if payload:
            try:
                json.loads(payload)
            except ValueError:
                raise LambdaServiceError(
                    400, "InvalidRequestContentException", "Could not parse request body into json"
                ) from None
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": str(uuid.uuid4())}
        if invocation_type == "DryRun":
            return Response(b"", status=204, headers=headers)
        if invocation_type == "Event":
            self.invoke_async(pool.name, payload or b"{}")
            return Response(b"", status=202, headers=headers)
        if invocation_type != "RequestResponse":
            raise LambdaServiceError(400, "InvalidParameterValueException", f"bad InvocationType {invocation_type}")
        context = request.headers.get("X-Amz-Client-Context")
        if len(payload) > SYNC_PAYLOAD_LIMIT:
            raise LambdaServiceError(
                413,
                "RequestTooLargeException",
                "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
            )
        result = pool.invoke(payload or b"{}", client_context=context)
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail.encode()).decode()
        return Response(result.payload, status=200, headers=headers, content_type="application/json")

    def _http_stats(self, request: Request) -> Response:
        raw = request.args.get("raw") in ("1", "true")
        return Response(json.dumps(self.stats(raw), indent=2), content_type="application/json")

    def _http_reset_stats(self, request: Request) -> Response:
        self.reset_stats()
        return Response(b"", status=204)

    def _http_kill(self, request: Request, name: str) -> Response:
        pool = self.pools.get(name)  # a logical id is accepted here too (a devstack endpoint, not an AWS one)
        killed = pool.kill_all() if pool else self.kill_workers(name)
        return Response(json.dumps({"killed": killed}), content_type="application/json")


def _error(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "message": message, "__type": error_type})
    return Response(body, status=status, content_type="application/json", headers={"x-amzn-ErrorType": error_type})


def _rss_mb(pid: int) -> float:
    try:
        return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)
    except psutil.Error:
        return 0.0
