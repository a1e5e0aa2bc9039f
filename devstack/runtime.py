"""The Lambda runtime inside one devstack worker process (a separate interpreter per execution environment).

Run as a script (``python devstack/runtime.py <read_fd> <write_fd>``), never imported by the function, and it
imports nothing from the project: the function sees only its CodeUri, its layers and the venv's packages,
like /var/task + /opt/python on Lambda. Protocol with the parent (devstack/lambda_service.py) over two pipes:
length-prefixed JSON frames. The worker sends one ``init`` frame after importing the handler (or the init
error), then answers one ``invoke`` frame at a time. stdout/stderr are the function's logs.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(fd: int) -> dict[str, Any] | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def _send(fd: int, frame: dict[str, Any]) -> None:
    data = json.dumps(frame).encode()
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _default(obj: Any) -> Any:
    # The Lambda Python runtime serialises Decimal (e.g. from DynamoDB) as a JSON number.
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, frame: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = frame["invoked_function_arn"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = frame["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = frame.get("client_context")
        self._deadline_ms = int(frame["deadline_ms"])
        self.tenant_id = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_list(tb)],
    }


def _log_error(error: dict[str, Any]) -> None:
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
    print("Traceback (most recent call last):", file=sys.stderr)
    for line in error.get("stackTrace", []):
        print(line, file=sys.stderr)
    sys.stderr.flush()


def _load_handler(spec: str) -> Any:
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError") from exc
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise _InitError(
            f"Handler '{function_name}' missing on module '{module_name}'", "Runtime.HandlerNotFound"
        ) from None


class _InitError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


class _Tee:
    """Writes through to the real stream and keeps the last 4 KB written during the current invocation
    (what Lambda returns as X-Amz-Log-Result for LogType=Tail)."""

    TAIL = 4096

    def __init__(self, stream: Any, sink: list[str]) -> None:
        self._stream = stream
        self._sink = sink

    def write(self, text: str) -> int:
        self._sink.append(text)
        if len(self._sink) > 256:
            joined = "".join(self._sink)[-self.TAIL :]
            self._sink[:] = [joined]
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    sys.path[:] = os.environ.pop("_DEVSTACK_SYS_PATH").split(os.pathsep) + [p for p in sys.path[1:] if p]
    captured: list[str] = []
    sys.stdout = _Tee(sys.stdout, captured)  # before the handler is imported: loggers bind to these
    sys.stderr = _Tee(sys.stderr, captured)
    started = time.perf_counter()
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitError as exc:
        error = _error(exc, exc.error_type)
        _log_error(error)
        _send(write_fd, {"type": "init", "ok": False, "error": error})
        return
    except Exception as exc:  # an exception at module level (e.g. an invalid environment)
        error = _error(exc)
        _log_error(error)
        _send(write_fd, {"type": "init", "ok": False, "error": error})
        return
    init_ms = (time.perf_counter() - started) * 1000
    _send(write_fd, {"type": "init", "ok": True, "init_ms": init_ms, "max_rss_mb": _max_rss_mb()})
    first = True
    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    while True:
        frame = _recv(read_fd)
        if frame is None:  # the devstack went away: exit like a reclaimed execution environment
            return
        request_id = frame["request_id"]
        captured.clear()
        print(f"START RequestId: {request_id} Version: {version}", flush=True)
        began = time.perf_counter()
        try:
            event = json.loads(frame["payload"]) if frame["payload"] else {}
            result = handler(event, LambdaContext(frame))
            try:
                payload = json.dumps(result, default=_default)
                reply: dict[str, Any] = {"ok": True, "payload": payload}
            except (TypeError, ValueError) as exc:
                error = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError"}
                _log_error(error)
                reply = {"ok": False, "error": error}
        except Exception as exc:
            error = _error(exc)
            error["requestId"] = request_id
            _log_error(error)
            reply = {"ok": False, "error": error}
        duration = (time.perf_counter() - began) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        rss = _max_rss_mb()
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms"
            f"\tMemory Size: {memory} MB\tMax Memory Used: {int(rss)} MB"
        )
        if first:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        print(f"END RequestId: {request_id}\n{report}", flush=True)
        first = False
        tail = "".join(captured)[-_Tee.TAIL :]
        reply.update(type="invoke", request_id=request_id, duration_ms=duration, max_rss_mb=rss, log_tail=tail)
        _send(write_fd, reply)


if __name__ == "__main__":
    main()
