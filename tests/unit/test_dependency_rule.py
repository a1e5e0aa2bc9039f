"""The dependency rule of docs/architecture.md ("Ports, composition roots and the dependency rule"), pinned.

Read from the source (ast), every import counted wherever it sits (module level, inside a function, under
TYPE_CHECKING): use cases depend on ports and domain, never on an adapter or AWS; adapters implement ports and
never reach into a use case or into the Autotask client package; domain depends on nothing of ours but itself;
every Protocol (a port) lives in a ports module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers/core/helpdesk"
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

USE_CASES = ("admin", "dispatch", "intake", "notifications")
# The one adapter that builds Autotask HTTP clients (AutotaskClients: one client per tenant, from its
# KMS-sealed credentials) must import the client package; no other adapter may.
BUILDS_AUTOTASK_CLIENTS = {"adapters/autotask_clients.py"}


def _module_name(path: Path) -> str:
    parts = ["helpdesk", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports (relative imports resolved; `from a import b` counts as `a` and `a.b`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _sources(*under: str) -> list[Path]:
    return sorted(p for u in under for p in (PACKAGE / u).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_the_import_reader_sees_lazy_relative_and_type_checking_imports() -> None:
    assert "helpdesk.notifications.inbound" in imports_of(
        PACKAGE / "notifications" / "receive.py"
    )  # `from .inbound import ...`
    assert "helpdesk.autotask.models" in imports_of(PACKAGE / "ports.py")  # under TYPE_CHECKING
    assert "helpdesk.autotask.client" in imports_of(PACKAGE / "admin" / "gateway.py")  # inside a function


@pytest.mark.parametrize("path", _sources("adapters"), ids=_rel)
def test_adapters_never_import_a_use_case_or_the_autotask_client_package(path: Path) -> None:
    forbidden = [f"helpdesk.{u}" for u in (*USE_CASES, "rules")]
    if _rel(path) not in BUILDS_AUTOTASK_CLIENTS:
        forbidden.append("helpdesk.autotask")
    bad = sorted(name for name in imports_of(path) if _within(name, *forbidden))
    assert not bad, f"{_rel(path)} imports {bad}: depend on a port (helpdesk.ports, helpdesk.domain.ports) instead"


@pytest.mark.parametrize("path", _sources(*USE_CASES), ids=_rel)
def test_use_cases_never_import_an_adapter_or_aws(path: Path) -> None:
    bad = sorted(n for n in imports_of(path) if _within(n, "helpdesk.adapters", "helpdesk.aws", "boto3", "botocore"))
    assert not bad, f"{_rel(path)} imports {bad}: take a port and let the function's composition root build it"


@pytest.mark.parametrize("path", _sources("domain"), ids=_rel)
def test_domain_imports_nothing_of_ours_but_domain(path: Path) -> None:
    bad = sorted(n for n in imports_of(path) if _within(n, "helpdesk") and not _within(n, "helpdesk.domain"))
    bad += sorted(n for n in imports_of(path) if _within(n, "boto3", "botocore", "requests"))
    assert not bad, f"{_rel(path)} imports {bad}"


def test_the_configuration_module_imports_no_adapter_or_aws() -> None:
    # helpdesk.env is read at every cold start, by every function: an adapter import here put boto3 on the
    # admin function's cold start (bench coldstart: admin 0.84x -> 1.79x of `import boto3`)
    path = PACKAGE / "env.py"
    bad = sorted(n for n in imports_of(path) if _within(n, "helpdesk.adapters", "helpdesk.aws", "boto3", "botocore"))
    assert not bad, f"{_rel(path)} imports {bad}: put shared defaults in a ports or domain module"


def _protocols(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(
            (isinstance(b, ast.Name) and b.id == "Protocol") or (isinstance(b, ast.Attribute) and b.attr == "Protocol")
            for b in node.bases
        )
    ]


def test_every_protocol_is_declared_in_a_ports_module() -> None:
    sources = [*PACKAGE.rglob("*.py"), *FUNCTIONS.rglob("*.py")]
    stray = {str(p): names for p in sources if p.name != "ports.py" and (names := _protocols(p))}
    assert not stray, f"ports belong in helpdesk/ports.py, domain/ports.py or admin/ports.py: {stray}"
    assert "WorkQueue" in _protocols(PACKAGE / "domain" / "ports.py")


def test_each_port_is_declared_once() -> None:
    names = [n for p in sorted(PACKAGE.rglob("ports.py")) for n in _protocols(p)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
