"""Autotask credentials as an MSP admin enters them (product.md "Settings a tenant has").

- API endpoint: host only, e.g. `webservices5.autotask.net`. A pasted `https://...` or path is stripped; anything
  that is not an Autotask web-services host (per `AUTOTASK_HOST_PATTERN`) is rejected.
- API key: `username@domain:password`, split at the FIRST `:` (the password may itself contain `@` and `:`).
- API integration code: the API user's tracking identifier, sent as `ApiIntegrationCode`
  (research-autotask-api.md section 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpdesk.autotask.config import AutotaskSettings, unreachable_note
from helpdesk.autotask.errors import InvalidCredentials

MAX_FIELD_LENGTH = 512


def normalise_host(raw: str) -> str:
    """`https://WebServices5.autotask.net/ATServicesRest/` -> `webservices5.autotask.net`."""
    host = raw.strip()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True)
class AutotaskCredentials:
    host: str
    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)

    @classmethod
    def parse(
        cls, host: str, api_key: str, integration_code: str, *, settings: AutotaskSettings | None = None
    ) -> AutotaskCredentials:
        """Validate what the admin typed; raise `InvalidCredentials` with a message fit to show them.

        Messages never contain the password."""
        settings = settings or AutotaskSettings.from_env()
        if not isinstance(host, str) or not host.strip():
            raise InvalidCredentials(f"Enter the Autotask API endpoint host: {settings.host_hint()}.")
        clean_host = normalise_host(host)
        note = unreachable_note(clean_host, settings) if len(clean_host) <= 255 else None
        if note:
            raise InvalidCredentials(note)
        if len(clean_host) > 255 or not settings.host_allowed(clean_host) or "@" in clean_host:
            raise InvalidCredentials(
                f"The API endpoint must be an Autotask web services host: {settings.host_hint()} "
                f"(got {clean_host[:80]!r})."
            )
        if not isinstance(api_key, str) or ":" not in api_key:
            raise InvalidCredentials("The API key must look like username@domain:password.")
        username, secret = api_key.split(":", 1)
        username = username.strip()
        if (
            not username
            or "@" not in username
            or username.startswith("@")
            or username.endswith("@")
            or any(c.isspace() for c in username)
            or len(username) > MAX_FIELD_LENGTH
        ):
            raise InvalidCredentials("The API key must start with the API user name, like username@domain:password.")
        if not secret or len(secret) > MAX_FIELD_LENGTH or any(c in "\r\n\0" for c in secret):
            raise InvalidCredentials("The API key must end with the API user's password: username@domain:password.")
        code = (integration_code or "").strip() if isinstance(integration_code, str) else ""
        if not code or len(code) > MAX_FIELD_LENGTH or any(c.isspace() for c in code):
            raise InvalidCredentials("Enter the API integration code (the API user's tracking identifier).")
        return cls(host=clean_host, username=username, secret=secret, integration_code=code)

    @property
    def api_key(self) -> str:
        return f"{self.username}:{self.secret}"

    def sensitive_values(self) -> tuple[str, ...]:
        """Strings that must never appear in logs or error text (the integration code is treated as one too)."""
        return tuple(v for v in (self.api_key, self.secret, self.integration_code) if v)
