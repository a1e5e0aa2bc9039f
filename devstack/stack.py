"""The whole service on 127.0.0.1, no AWS and no Docker: moto + Lambda + API Gateway + SQS mapping emulators.

Python API (tests, benchmarks)::

    from devstack.stack import Devstack
    with Devstack(parameter_overrides={"RetryBaseDelaySeconds": "0"}, ports=0) as stack:
        requests.get(f"{stack.api_url}/v1/health")
        boto3.client("sqs", **stack.client_kwargs()).send_message(QueueUrl=stack.resources["WorkQueue"]["Ref"], ...)
        stack.kill_workers("DispatcherFunction")

``python -m devstack`` (``make run``) is the same object in the foreground (devstack/__main__.py).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devstack.apigw import ApiGateway
from devstack.bedrock import STAND_IN_NAME, BedrockEmulator
from devstack.esm import EventSourceMapping
from devstack.events import LOCAL_API_ID
from devstack.lambda_service import InvokeResult, LambdaService
from devstack.resources import bind_emulated, create_data_resources, function_arn
from devstack.template import URL_SUFFIX, Template, TemplateError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"
HOST = "127.0.0.1"
# Fixed default ports (overridable by environment variables); ports=0 picks free ones.
DEFAULT_PORTS = {"moto": 4566, "api": 3000, "lambda": 3001, "autotask": 3002, "bedrock": 3003}
PORT_ENV = {
    "moto": "HELPDESK_MOTO_PORT",
    "api": "HELPDESK_API_PORT",
    "lambda": "HELPDESK_LAMBDA_PORT",
    "autotask": "HELPDESK_AUTOTASK_PORT",
    "bedrock": "HELPDESK_BEDROCK_PORT",
}
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
log = logging.getLogger("devstack")


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like API Gateway and the Lambda endpoint

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server:
    """A threaded werkzeug server on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Callable[..., Any], port: int, name: str) -> None:
        self.server: BaseWSGIServer = make_server(HOST, port, app, threaded=True, request_handler=_QuietHandler)
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class _MotoProcess:
    """moto server in a child process (devstack/moto_process.py): fresh state per stack, exits with us."""

    def __init__(self, port: int, log_path: Path, timeout_s: float = 30.0) -> None:
        self._log = log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.moto_process", HOST, str(port)],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "HELPDESK_DEVSTACK_AWS_SECRET": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            },
            text=True,
            start_new_session=True,  # Ctrl-C reaches only the devstack, which then stops moto last
        )
        assert self.proc.stdout is not None
        box: dict[str, str] = {}
        reader = threading.Thread(target=lambda: box.update(line=self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout_s)
        line = box.get("line", "")
        if not line.startswith("PORT "):
            self.stop()
            raise OSError(f"moto server did not start on {HOST}:{port} (see {log_path})")
        self.port = int(line.split()[1])
        self.url = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()  # the process exits when its stdin closes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def resolve_ports(ports: int | Mapping[str, int] | None) -> dict[str, int]:
    """None: defaults overridden by HELPDESK_*_PORT env vars; 0: all free; a mapping: those, defaults for the rest."""
    if ports == 0:
        return dict.fromkeys(DEFAULT_PORTS, 0)
    result = {k: int(os.environ.get(PORT_ENV[k], v)) for k, v in DEFAULT_PORTS.items()}
    if isinstance(ports, Mapping):
        result.update({k: int(v) for k, v in ports.items()})
    return result


class PortInUse(OSError):
    """A fixed port of the devstack is taken (found before anything starts)."""


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Fail at once, naming each taken port and what to do, instead of after a server's start-up timeout."""
    taken = []
    for name, port in ports.items():
        if not port:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is fine
            try:
                probe.bind((HOST, port))
            except OSError:
                taken.append(f"{port} ({name}, {PORT_ENV[name]})")
    if taken:
        raise PortInUse(
            f"port {', '.join(taken)} already in use on {HOST}: is another devstack running (`make run` in "
            "another terminal)? Stop it, or choose other ports with the variables named, or use --free-ports"
        )


class Devstack:
    def __init__(
        self,
        template_path: str | Path = DEFAULT_TEMPLATE,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        ports: int | Mapping[str, int] | None = None,
        region: str | None = None,
        stack_name: str = "helpdesk",
        state_dir: str | Path | None = None,
        echo_logs: bool = False,
        autotask_sim: bool = True,
        seed: bool = False,
        write_state: bool = False,
        max_workers: int | None = None,
        init_timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
    ) -> None:
        self.region = region or os.environ.get("HELPDESK_REGION", "us-east-1")
        self.template = Template.load(
            template_path,
            overrides={k: str(v) for k, v in (parameter_overrides or {}).items()},
            region=self.region,
            stack_name=stack_name,
        )
        self.ports = resolve_ports(ports)
        self.state_dir = Path(state_dir) if state_dir else self.template.root / ".devstack"
        self.log_dir = self.state_dir / "logs"
        self.echo_logs = echo_logs
        self.use_autotask_sim = autotask_sim
        self.do_seed = seed
        self.write_state = write_state
        self.max_workers = max_workers or int(os.environ.get("HELPDESK_LAMBDA_MAX_WORKERS", "10"))
        self.init_timeout_s = init_timeout_s or float(os.environ.get("HELPDESK_LAMBDA_INIT_TIMEOUT", "30"))
        self.idle_timeout_s = (
            idle_timeout_s
            if idle_timeout_s is not None
            else float(os.environ.get("HELPDESK_LAMBDA_IDLE_TIMEOUT", "600"))
        )
        self.notes: list[str] = []
        self.seed_facts: dict[str, Any] = {}
        self.autotask_env: dict[str, str] = {}
        self.autotask_url: str | None = None
        self._moto: _MotoProcess | None = None
        self._lambda_server: _Server | None = None
        self._api_server: _Server | None = None
        self._bedrock_server: _Server | None = None
        self.bedrock = BedrockEmulator()
        self.lambda_url = ""  # set when the Lambda service starts; client() is used before that (moto)
        self.bedrock_url = ""
        self.autotask_sim: Any = None
        self.lambda_service: LambdaService | None = None
        self.esms: list[EventSourceMapping] = []
        self.function_names: dict[str, str] = {}
        self.leftover_pids: list[int] = []
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Devstack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Devstack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _start(self) -> None:
        check_ports_free({k: v for k, v in self.ports.items() if k != "autotask" or self.use_autotask_sim})
        self.log_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        # 1. AWS on loopback, then the template's data resources
        self._moto = _MotoProcess(self.ports["moto"], self.log_dir / "moto.log")
        self.moto_url = self._moto.url
        create_data_resources(self.template, self.boto3_session())
        # 2. the Lambda service (its port is needed in every function's environment)
        self._lambda_server = _Server(self._lambda_app, self.ports["lambda"], "lambda-service")
        self.lambda_url = self._lambda_server.url
        # Bedrock runtime (Converse) with the stand-in classifier for ai_categorize (devstack/bedrock.py)
        self._bedrock_server = _Server(self.bedrock, self.ports["bedrock"], "bedrock-runtime")
        self.bedrock_url = self._bedrock_server.url
        # 3. the Autotask simulator, if it exists yet
        self._start_autotask_sim()
        # AUTOTASK_* exported in the devstack's own environment win (e.g. to point at a real Autotask sandbox)
        self.autotask_env.update({k: v for k, v in os.environ.items() if k.startswith("AUTOTASK_")})
        # 4. the functions, the API and the event source mappings
        t = self.template
        self.function_names = bind_emulated(t)
        apis = t.apis()
        specs = t.functions()  # now that functions/APIs are bound (env vars may reference them)
        envs = {lid: self._function_env(lid, spec.memory_mb, spec) for lid, spec in specs.items()}
        self.lambda_service = LambdaService(
            specs,
            self.function_names,
            {lid: function_arn(self.region, name) for lid, name in self.function_names.items()},
            envs,
            self.log_dir,
            max_workers=self.max_workers,
            init_timeout_s=self.init_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            echo=print if self.echo_logs else None,
        )
        service = self.lambda_service
        gateway = ApiGateway(
            apis,
            t.api_routes(),
            lambda name, payload, wait: service.invoke(name, payload, wait_s=wait),
            self.function_names,
            {lid: spec.timeout_s for lid, spec in specs.items()},
        )
        self.stages = gateway.stages
        self._api_server = _Server(gateway, self.ports["api"], "api-gateway")
        stage = self.stages[0] if self.stages else ""
        self.api_base_url = self._api_server.url
        self.api_url = f"{self._api_server.url}/{stage}" if stage else self._api_server.url
        pollers = sum(s.maximum_concurrency or 5 for s in t.sqs_sources())
        sqs = self.client("sqs", read_timeout=10, max_pool_connections=max(10, 2 * pollers))  # shared by pollers
        for source in t.sqs_sources():
            facts = t.bound[source.queue]
            visibility = float(t.resolve(t.properties(source.queue).get("VisibilityTimeout", 30)))
            if visibility < specs[source.function].timeout_s:  # AWS refuses to create such a mapping
                raise TemplateError(
                    f"{source.function}.{source.event}: queue {source.queue} VisibilityTimeout {visibility:g} s is "
                    f"less than the function Timeout {specs[source.function].timeout_s:g} s"
                )
            esm = EventSourceMapping(
                source,
                queue_url=facts["QueueUrl"],
                queue_arn=facts["Arn"],
                function_name=self.function_names[source.function],
                sqs_client=sqs,
                invoke=lambda name, payload: service.invoke(name, payload),
                region=self.region,
            )
            esm.start()
            self.esms.append(esm)
        # 5. demo data (python -m devstack), then the state file
        if self.do_seed:
            self._seed()
        if self.write_state:
            self.write_state_file()

    def _start_autotask_sim(self) -> None:
        if not self.use_autotask_sim:
            return
        try:
            module = importlib.import_module("devstack.autotask_sim")
            simulator_cls = module.AutotaskSimulator
        except (ImportError, AttributeError) as exc:
            self.notes.append(f"Autotask simulator not available yet (devstack/autotask_sim: {exc}); skipped")
            return
        self.autotask_sim = simulator_cls()
        self.autotask_url = self.autotask_sim.start(host=HOST, port=self.ports["autotask"])
        self.autotask_env = {str(k): str(v) for k, v in self.autotask_sim.client_env().items()}

    def _seed(self) -> None:
        try:
            module = importlib.import_module("devstack.seed")
        except ImportError as exc:
            if exc.name not in ("devstack.seed",):
                raise
            self.notes.append("devstack/seed.py not present yet: no demo tenant seeded")
            return
        self.seed_facts = dict(module.seed_demo(self) or {})

    def stop(self) -> None:
        for esm in self.esms:
            esm._stop.set()
        for esm in self.esms:
            esm.stop()
        if self._api_server:
            self._api_server.stop()
            self._api_server = None
        if self.lambda_service:
            self.lambda_service.close()
        if self._lambda_server:
            self._lambda_server.stop()
            self._lambda_server = None
        if self._bedrock_server:
            self._bedrock_server.stop()
            self._bedrock_server = None
        if self.autotask_sim is not None:
            try:
                self.autotask_sim.stop()
            finally:
                self.autotask_sim = None
        if self._moto:
            self._moto.stop()
            self._moto = None
        self._reap_orphans()
        if self.write_state:
            (self.state_dir / "stack.json").unlink(missing_ok=True)
        self._started = False

    def _reap_orphans(self) -> list[int]:
        """Verify that no worker this stack started survived; kill any that did. Returns the leftovers' pids."""
        if self.lambda_service is None:
            return []
        leftovers = []
        for pid in sorted(self.lambda_service.spawned_pids):
            try:
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    leftovers.append(proc)
            except psutil.NoSuchProcess:
                continue
        for proc in leftovers:
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        psutil.wait_procs(leftovers, timeout=5)
        if leftovers:
            log.warning("killed %d worker process(es) that survived the shutdown", len(leftovers))
        self.leftover_pids = [p.pid for p in leftovers]
        return self.leftover_pids

    # ------------------------------------------------------------------ what the stack offers
    @property
    def env(self) -> dict[str, str]:
        """Environment for a boto3 client / CLI talking to this stack."""
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **DUMMY_CREDENTIALS,
            "HELPDESK_API_URL": self.api_url,
            "HELPDESK_STACK_FILE": str(self.state_dir / "stack.json"),
        }

    @property
    def resources(self) -> dict[str, dict[str, str]]:
        """Logical id -> {"Ref": physical name/URL/id, "Arn": ..., ...} of everything created or emulated."""
        return {lid: dict(facts) for lid, facts in self.template.bound.items()}

    @property
    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, resolved; API Gateway URLs point at the local emulator."""
        aws_base = f"https://{LOCAL_API_ID}.execute-api.{self.region}.{URL_SUFFIX}"
        result = {}
        for name, value in self.template.outputs().items():
            if isinstance(value, str):
                value = value.replace(aws_base, self.api_base_url)
            result[name] = value
        return result

    def client_kwargs(self, read_timeout: float = 10, max_pool_connections: int = 10) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client(service, endpoint_url=..., **kwargs)`` against this stack."""
        config = Config(
            read_timeout=read_timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=max_pool_connections,
        )
        return {
            "region_name": self.region,
            "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            "config": config,
        }

    def boto3_session(self) -> Any:
        return _EndpointSession(self)

    def client(self, service: str, read_timeout: float = 10, max_pool_connections: int = 10) -> Any:
        """A boto3 client for moto (or, for "lambda" / "bedrock-runtime", the Lambda / Bedrock emulator)."""
        # looked up lazily: the data resources are created (through moto) before the emulators have URLs
        emulators = {"lambda": "lambda_url", "bedrock-runtime": "bedrock_url"}
        endpoint = getattr(self, emulators[service]) if service in emulators else self.moto_url
        kwargs = self.client_kwargs(read_timeout, max_pool_connections)
        return boto3.session.Session().client(service, endpoint_url=endpoint, **kwargs)  # type: ignore[call-overload]

    def invoke(self, function: str, payload: Any = None) -> InvokeResult:
        """Invoke a function (logical id or physical name) synchronously, in-process."""
        assert self.lambda_service is not None
        return self.lambda_service.invoke(self.function_names.get(function, function), payload)

    def kill_workers(self, function: str) -> int:
        """Kill every execution environment of a function (logical id or name); returns how many."""
        assert self.lambda_service is not None
        return self.lambda_service.kill_workers(self.function_names.get(function, function))

    def stats(self, raw: bool = False) -> dict[str, Any]:
        """Lambda stats per function (``raw``: every duration too) and event source mapping counters."""
        assert self.lambda_service is not None
        return {"functions": self.lambda_service.stats(raw), "event_source_mappings": [e.stats() for e in self.esms]}

    def deliveries(self, message_id: str) -> int:
        """How many times the event source mappings handed this SQS message to a function."""
        return sum(esm.deliveries(message_id) for esm in self.esms)

    def _lambda_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.lambda_service is not None
        if environ.get("PATH_INFO") == "/devstack/stats" and environ.get("REQUEST_METHOD") == "GET":
            raw = "raw=1" in environ.get("QUERY_STRING", "") or "raw=true" in environ.get("QUERY_STRING", "")
            body = json.dumps(self.stats(raw), indent=2).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.lambda_service.wsgi_app(environ, start_response)

    # ------------------------------------------------------------------ function environments
    def _function_env(self, lid: str, memory_mb: int, spec: Any) -> dict[str, str]:
        name = self.function_names[lid]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": "/tmp",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.autotask_env,
            **spec.environment,
            # reserved by Lambda (a template cannot override these)
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock_url,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]devstack",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or 'python3.12'}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        env.pop("POWERTOOLS_METRICS_DISABLED", None)
        return env

    # ------------------------------------------------------------------ state file and summary
    def state(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "region": self.region,
            "api_url": self.api_url,
            "moto_url": self.moto_url,
            "lambda_url": self.lambda_url,
            "bedrock_url": self.bedrock_url,
            "autotask_url": self.autotask_url,
            "log_dir": str(self.log_dir),
            "env": self.env,
            "parameters": self.template.parameters,
            "functions": self.function_names,
            "resources": self.resources,
            "outputs": self.outputs,
            "seed": self.seed_facts,
        }

    def write_state_file(self) -> Path:
        path = self.state_dir / "stack.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2, default=str))
        tmp.replace(path)
        return path

    def summary(self) -> str:
        rows: list[tuple[str, str]] = [
            ("AWS (moto)", self.moto_url),
            ("API Gateway", self.api_url),
            ("Lambda Invoke API", f"{self.lambda_url}   (stats: {self.lambda_url}/devstack/stats)"),
            ("Autotask simulator", self.autotask_url or "not started"),
            ("Bedrock runtime", f"{self.bedrock_url}   ({STAND_IN_NAME})"),
            ("Logs", str(self.log_dir)),
        ]
        t = self.template
        for lid, spec in t.functions().items():
            events = [f"{r.method} {r.path}" for r in t.api_routes() if r.function == lid]
            events += [f"SQS {s.queue} (batch {s.batch_size})" for s in t.sqs_sources() if s.function == lid]
            rows.append(
                (
                    f"  {lid}",
                    f"{self.function_names[lid]}  {spec.memory_mb} MB, {spec.timeout_s:g} s"
                    + (f"  <- {', '.join(events)}" if events else ""),
                )
            )
        for lid, facts in sorted(self.resources.items()):
            kind = t.doc["Resources"][lid]["Type"]
            if kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::KMS::Key"):
                rows.append((f"  {lid}", facts.get("Ref", "")))
        width = max(len(k) for k, _ in rows)
        lines = ["Helpdesk devstack: everything on 127.0.0.1 (Ctrl-C stops it)", ""]
        lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
        lines += ["", "For the CLI / boto3 in another shell:"]
        lines += [f"  export {k}={v}" for k, v in self.env.items()]
        if self.seed_facts:
            lines += ["", "Demo tenant:"] + [f"  {k}: {v}" for k, v in self.seed_facts.items()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


class _EndpointSession:
    """A tiny stand-in for boto3.Session whose clients talk to the stack's moto / Lambda endpoints."""

    def __init__(self, stack: Devstack) -> None:
        self._stack = stack
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:  # creating a boto3 client costs ~50 ms: one per service
            self._clients[service] = self._stack.client(service)
        return self._clients[service]
