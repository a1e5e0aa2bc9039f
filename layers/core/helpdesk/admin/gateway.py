"""The Autotask gateway over helpdesk.autotask's client, and the mapping of its errors to admin answers.

The client (requests, pydantic models, picklist logic) is imported only when an admin action needs Autotask,
so the settings page and plain settings reads do not pay for it at cold start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from helpdesk.admin.errors import Upstream
from helpdesk.admin.ports import ConnectionSettings, EntityAccess, PicklistOption, PicklistSet, ZoneInfo
from helpdesk.domain.ports import SecretUnreadable

# settings field -> Tickets picklist field
TICKET_FIELDS = {
    "queue": "queueID",
    "priority": "priority",
    "ticketStatus": "status",
    "type": "ticketType",
    "source": "source",
    "issue": "issueType",
    "subIssue": "subIssueType",
    "category": "ticketCategory",
}
SETTINGS_FIELDS = (*TICKET_FIELDS, "worktype")


@contextmanager
def translate_errors() -> Iterator[None]:
    """AutotaskError -> Upstream with the admin-facing message (Autotask's own text is already redacted)."""
    try:
        yield
    except SecretUnreadable:
        raise Upstream("The stored API key could not be decrypted. Enter the API key again and save.") from None
    except Exception as exc:
        message = autotask_message(exc)
        if message is None:
            raise
        raise Upstream(message) from None


def autotask_message(exc: BaseException) -> str | None:
    """The safe message of an Autotask client error, or None if `exc` is not one."""
    try:
        from helpdesk.autotask.errors import AutotaskError
    except ImportError:  # pragma: no cover - the client package is part of the layer
        return None
    if not isinstance(exc, AutotaskError):
        return None
    detail = exc.autotask_message
    return exc.user_message + (f" ({detail})" if detail and detail not in exc.user_message else "")


class ClientGateway:
    """AutotaskGateway over `helpdesk.autotask.client.AutotaskClient`."""

    def __init__(self, connection: ConnectionSettings) -> None:
        from helpdesk.autotask.client import AutotaskClient
        from helpdesk.autotask.credentials import AutotaskCredentials

        credentials = AutotaskCredentials.parse(connection.host, connection.api_key, connection.integration_code)
        extra: dict[str, Any] = {}
        if connection.fresh:
            from helpdesk.autotask.cache import TTLCache

            extra["picklist_cache"] = TTLCache(1.0, max_entries=4)  # private to this request: always re-read
        self._client: Any = AutotaskClient(credentials, **extra)

    def zone(self) -> ZoneInfo:
        zone = self._client.zone()
        return ZoneInfo(name=getattr(zone, "zone_name", None), url=str(zone.url))

    def check_authentication(self) -> None:
        self._client.threshold()

    def entity_access(self, entity: str) -> EntityAccess:
        # GET /V1.0/{Entity}/entityInformation -> {"info": {canCreate, userAccessForCreate, ...}}
        from helpdesk.autotask.errors import ItemNotFound

        try:
            info = self._client.entity_information(entity)
        except ItemNotFound:
            # Not described (an old zone): probe reading with a one-record query instead.
            self._client.query(entity, [{"op": "gte", "field": "id", "value": 0}], max_records=1, limit=1)
            return EntityAccess(entity=entity, verified=False)
        get = info.get
        return EntityAccess(
            entity=entity,
            can_query=bool(get("canQuery", True)),
            can_create=bool(get("canCreate", True)),
            can_update=bool(get("canUpdate", True)),
            user_query=bool(get("userAccessForQuery", True)),
            user_create=bool(get("userAccessForCreate", True)),
            user_update=bool(get("userAccessForUpdate", True)),
        )

    def contact_exists(self, email: str) -> bool:
        return self._client.find_contact_by_email(email) is not None

    def picklists(self) -> PicklistSet:
        ticket = self._client.ticket_picklists()
        fields: dict[str, list[PicklistOption]] = {}
        for name, at_field in TICKET_FIELDS.items():
            fields[name] = [
                PicklistOption(
                    value=v.value,
                    label=v.label,
                    parent=v.parent_value or None,
                    is_default=bool(v.is_default_value),
                )
                for v in ticket.values(at_field)
            ]
        codes = self._client.billing_codes()
        fields["worktype"] = sorted(
            (
                PicklistOption(value=str(c["id"]), label=str(c.get("name") or c["id"]))
                for c in codes
                if isinstance(c, dict) and isinstance(c.get("id"), int)
            ),
            key=lambda o: o.label.casefold(),
        )
        return PicklistSet(fields=fields)

    def register_webhooks(self, url: str, secret: str, name: str) -> tuple[int, int]:
        """Both webhooks, each with its subscribed fields; a half-done registration is undone."""
        client = self._client
        ticket_id = int(client.create_ticket_webhook(name, url, secret))
        note_id: int | None = None
        try:
            _subscribe(client.ticket_webhook_field_ids(), client.create_ticket_webhook_field, ticket_id, TICKET_HOOK)
            note_id = int(client.create_ticket_note_webhook(name, url, secret))
            _subscribe(
                client.ticket_note_webhook_field_ids(), client.create_ticket_note_webhook_field, note_id, NOTE_HOOK
            )
        except Exception:
            self._undo(ticket_id, note_id)
            raise
        return ticket_id, note_id

    def _undo(self, ticket_id: int, note_id: int | None) -> None:
        with suppress(Exception):  # best effort; the original error is what the admin needs to see
            self.delete_webhooks(ticket_id, note_id)

    def delete_webhooks(self, ticket_webhook_id: int | None, note_webhook_id: int | None) -> None:
        if ticket_webhook_id:
            self._client.delete_ticket_webhook(ticket_webhook_id)
        if note_webhook_id:
            self._client.delete_ticket_note_webhook(note_webhook_id)


# (subscribed fields, display-always fields), casefolded Autotask field names
TICKET_HOOK = (("status", "priority", "assignedresourceid", "queueid"), ("ticketnumber", "title", "status"))
NOTE_HOOK = (("ticketid", "publish", "notetype"), ("ticketid", "title", "publish"))


def _subscribe(ids: dict[str, int], create: Any, webhook_id: int, wanted: tuple[tuple[str, ...], ...]) -> None:
    subscribed, display = wanted
    chosen = [name for name in dict.fromkeys((*subscribed, *display)) if name in ids]
    if not any(name in ids for name in subscribed):
        chosen = sorted(ids)[:1] + chosen  # Autotask needs at least one subscribed field
        subscribed = (*subscribed, *chosen[:1])
    for name in chosen:
        create(webhook_id, ids[name], subscribed=name in subscribed, display_always=name in display)


def client_gateway(connection: ConnectionSettings) -> ClientGateway:
    return ClientGateway(connection)
