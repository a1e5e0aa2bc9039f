"""Where the client may send credentials: module defaults, overridable by environment variables.

No `if local:` branches: the devstack points the client at the simulator by setting the same three
variables a deployment could set (see `devstack.autotask_sim.AutotaskSimulator.client_env`).

- `AUTOTASK_ZONE_URL`: the zone-discovery endpoint. Autotask answers `zoneInformation` on any zone host and
  needs no authentication (research-autotask-api.md section 1).
- `AUTOTASK_HOST_PATTERN`: regex (full match, case-insensitive) of acceptable web-services hosts, including an
  optional `:port`. Both the host a tenant types and the `url` zone discovery returns are checked against it
  before any credential is sent (autotask-client uses `^webservices\\d*\\.autotask\\.net$`, research section 1).
- `AUTOTASK_SCHEME`: `https` in production; the simulator uses `http` on loopback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
DEFAULT_HOST_PATTERN = r"webservices\d*\.autotask\.net"
DEFAULT_SCHEME = "https"


@dataclass(frozen=True)
class AutotaskSettings:
    zone_url: str = DEFAULT_ZONE_URL
    host_pattern: str = DEFAULT_HOST_PATTERN
    scheme: str = DEFAULT_SCHEME

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AutotaskSettings:
        env = os.environ if environ is None else environ
        settings = cls(
            zone_url=env.get("AUTOTASK_ZONE_URL") or DEFAULT_ZONE_URL,
            host_pattern=env.get("AUTOTASK_HOST_PATTERN") or DEFAULT_HOST_PATTERN,
            scheme=(env.get("AUTOTASK_SCHEME") or DEFAULT_SCHEME).lower(),
        )
        re.compile(settings.host_pattern)  # fail fast on a broken pattern
        return settings

    def host_allowed(self, host: str) -> bool:
        """`host` is `name` or `name:port` (no scheme, no path)."""
        return re.fullmatch(self.host_pattern, host, flags=re.IGNORECASE) is not None

    @property
    def production(self) -> bool:
        """True when the client may reach the real Autotask (the default host pattern)."""
        return self.host_pattern == DEFAULT_HOST_PATTERN

    def host_hint(self) -> str:
        """What to type as the endpoint host, for messages: the shape of Autotask's hosts (no real host named), or
        the one host this deployment reaches instead (the devstack's simulator)."""
        if self.production:
            return "webservicesN.autotask.net (N is your zone's number; Autotask shows the host with the API user)"
        literal = re.sub(r"\\(.)", r"\1", self.host_pattern)
        return literal if re.escape(literal) == self.host_pattern else f"a host matching {self.host_pattern}"

    def url_allowed(self, url: str) -> bool:
        """True if `url` uses the configured scheme and an allowed host, and carries no user info."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if parts.scheme.lower() != self.scheme or "@" in parts.netloc:
            return False
        return self.host_allowed(parts.netloc)


def is_autotask_host(host: str) -> bool:
    """A real Autotask web-services host (whatever this deployment may reach)."""
    return re.fullmatch(DEFAULT_HOST_PATTERN, host, flags=re.IGNORECASE) is not None


def unreachable_note(host: str, settings: AutotaskSettings) -> str | None:
    """Why a real Autotask host that this deployment is not set to reach gets no request (the devstack)."""
    if settings.host_allowed(host) or not is_autotask_host(host):
        return None
    return (
        f"{host} is a real Autotask host, but this service reaches Autotask only at {settings.host_hint()} "
        "(a local devstack talks to its Autotask simulator and cannot reach the internet). The setting is kept; "
        "use the simulator's host to test here, or a deployed service to reach your Autotask."
    )
