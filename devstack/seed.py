"""The demo tenant `make run` starts with: connected to the Autotask simulator's `demo` database.

`python -m devstack` calls `seed_demo(stack)` after the stack is up; the returned facts are printed in the
summary and written to .devstack/stack.json ("seed"). It is done with the ops CLI (`helpdesk tenants create`,
`settings import`, `keys create`), in-process, so the demo is configured exactly as an operator would configure a
tenant: the same validation, the API key encrypted with KMS, the rules compiled before they are saved.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from devstack.client_env import pointed_at

DEMO_TENANT = "demo"
DEMO_NAME = "Demo MSP"
API_KEY_VAR = "HELPDESK_DEMO_API_KEY"
DEMO_DEFAULTS = {
    "queue": "Client Portal",
    "priority": "Medium",
    "ticketStatus": "New",
    "type": "Service Request",
    "source": "Helpdesk Button",
    "category": "Standard",
}
DEMO_RULES = """\
# Dispatcher Rules: plain Python if statements, run once per submission.
if 'This is an emergency' in selections:
    priority = 'Critical'
if priority == 'Critical':
    subject = '**EMERGENCY** ' + subject
if '!' in msg and priority == 'Medium':
    priority = 'High'
for domain in ['contoso.com', 'fabrikam.com']:
    if domain in email.lower():
        queue = 'Tier 1 Support'
"""


@contextmanager
def _stack_env(stack: Any, extra: dict[str, str]) -> Iterator[None]:
    """Point helpdesk.aws (and the Autotask host check) at the stack for the duration, then restore."""
    with pointed_at({**stack.env, **getattr(stack, "autotask_env", {}), **extra}):
        yield


def helpdesk(*argv: str) -> Any:
    """Run one `helpdesk` ops command in-process (as `make run` would in a shell); return its JSON output."""
    from helpdesk_cli.main import main

    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*argv, "--json"])
    if code != 0:
        raise RuntimeError(f"helpdesk {' '.join(argv)} failed with exit code {code}")
    return json.loads(out.getvalue())


def seed_demo(stack: Any) -> dict[str, str]:
    """Create (or refresh) the demo tenant with the ops CLI; return the facts to print: admin URL, tokens, curl."""
    resources = stack.resources
    where = [
        "--tenants-table", resources["TenantsTable"]["Ref"],
        "--submissions-table", resources["SubmissionsTable"]["Ref"],
        "--kms-key-id", resources["CredentialsKey"]["Ref"],
        "--api-url", stack.api_url,
    ]  # fmt: skip
    autotask: dict[str, Any] = {"unregistered_email": "unregistered@helpdeskbuttons.com"}
    extra_env: dict[str, str] = {}
    sim = getattr(stack, "autotask_sim", None)
    if sim is not None:
        from devstack.autotask_sim import DEMO

        autotask |= {"host": sim.host, "integration_code": DEMO.integration_code}
        extra_env[API_KEY_VAR] = DEMO.api_key
    document = {
        "format": "helpdesk-settings/1",
        "name": DEMO_NAME,
        "autotask": autotask,
        "defaults": DEMO_DEFAULTS,
        "rules": {"source": DEMO_RULES},
    }
    settings_file = Path(stack.state_dir) / "demo-settings.json"
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps(document, indent=2))
    with _stack_env(stack, extra_env):
        existing = {t["tenant_id"] for t in helpdesk("tenants", "list", *where)}
        if DEMO_TENANT in existing:
            admin = helpdesk("keys", "create", DEMO_TENANT, "--kind", "admin", "--label", "devstack demo", *where)[
                "token"
            ]
        else:
            admin = helpdesk("tenants", "create", DEMO_TENANT, "--name", DEMO_NAME, *where)["admin_token"]
        import_args = ["settings", "import", DEMO_TENANT, str(settings_file), "--yes", *where]
        if API_KEY_VAR in extra_env:
            import_args += ["--api-key-env", API_KEY_VAR]
        helpdesk(*import_args)
        button = helpdesk("keys", "create", DEMO_TENANT, "--label", "devstack demo agent", *where)["token"]
    api = stack.api_url.rstrip("/")
    facts = {
        "tenant_id": DEMO_TENANT,
        "admin_url": f"{api}/admin",
        "admin_token": admin,
        "button_key": button,
        "curl": f"curl -s -H 'Authorization: Bearer {admin}' {api}/v1/admin/settings",
        "agent": (
            f".venv/bin/helpdesk press --api-url {api} --key {button} "
            "--name 'Alice Anders' --email alice@contoso.com 'My printer is jammed!'"
        ),
    }
    facts |= _callout_url(api, admin)
    return facts


def _callout_url(api: str, admin_token: str) -> dict[str, str]:
    """Ask the admin API itself (proves the settings API answers); the demo still starts if it does not."""
    import requests

    try:
        answer = requests.get(
            f"{api}/v1/admin/callout-url", headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
        )
        answer.raise_for_status()
        return {"callout_url": str(answer.json()["extension_callout_url"])}
    except Exception as exc:
        return {"callout_url": f"(not available: {type(exc).__name__}; see the settings page)"}
