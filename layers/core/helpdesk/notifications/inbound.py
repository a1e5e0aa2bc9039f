"""What Autotask sends us, parsed and verified. Pure: no AWS, no HTTP.

Extension Callouts ("Ticket Notification URL"): the data format is chosen per callout in Autotask. "Name Value
Pair" is `application/x-www-form-urlencoded` with few fields (`id`, `number`, `status` label, `created_datetime`,
`last_activity_datetime`); XML and JSON formats carry the same facts. Names are matched loosely (case, `_`, `-`,
spaces ignored: `id`, `ID`, `TicketID`, `ticket_id`, `Ticket Number`...). Extra fields are ignored. A callout is a
trigger only: the dispatcher re-reads the ticket, so nothing in the payload is trusted beyond the ticket id.

REST webhooks (`TicketWebhooks` / `TicketNoteWebhooks`): JSON `{Action, Guid, EntityType, Id, Fields, ...}`,
signed with the webhook's secret key: header `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secret, raw body)>`.
The signature is checked over the raw bytes before anything is parsed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import re
import xml.etree.ElementTree as ET  # DOCTYPE/ENTITY declarations are refused before parsing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 256 * 1024
MAX_FIELDS = 500
MAX_TICKET_ID = 2**53
SIGNATURE_HEADER = "x-hook-signature"

_ID_KEYS = ("ticketid", "id", "ticket", "entityid")
_NUMBER_KEYS = ("ticketnumber", "number", "ticketno")
_STATUS_KEYS = ("status", "statuslabel", "ticketstatus", "statusname")
_ACTIVITY_KEYS = ("lastactivitydatetime", "lastactivitydate", "lastactivity", "lastmodifieddatetime")
_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]")


class MalformedPayload(ValueError):
    """The body is not something we can act on (HTTP 400). The message is safe to return."""


class PayloadTooLarge(MalformedPayload):
    """The body exceeds MAX_BODY_BYTES (HTTP 413)."""


@dataclass(frozen=True)
class CalloutPayload:
    ticket_id: int
    ticket_number: str | None = None
    status: str | None = None
    last_activity: str | None = None
    data_format: str = "form"


@dataclass(frozen=True)
class WebhookPayload:
    action: str
    entity_type: str
    entity_id: int
    ticket_id: int | None
    guid: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def relevant(self) -> bool:
        """Ticket creates/updates and note creates/updates lead to a sync; deletes and other entities do not."""
        return (
            self.ticket_id is not None
            and self.entity_type.casefold() in {"ticket", "ticketnote"}
            and self.action.casefold() in {"create", "update"}
        )


def normalize_key(name: str) -> str:
    return _NOT_KEY_CHARS.sub("", name.casefold())


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return body.decode("cp1252")
        except UnicodeDecodeError:
            raise MalformedPayload("the body is not text") from None


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def _flatten_json(data: Any) -> dict[str, str]:
    """Top-level scalars win; nested objects add their scalars as `<parent><key>` and (if free) `<key>`."""
    if not isinstance(data, dict):
        raise MalformedPayload("the JSON body is not an object")
    flat: dict[str, str] = {}
    nested: list[tuple[str, dict[str, Any]]] = []
    for key, value in list(data.items())[:MAX_FIELDS]:
        norm = normalize_key(str(key))
        if isinstance(value, dict):
            nested.append((norm, value))
            continue
        text = _scalar(value)
        if text is not None and norm not in flat:
            flat[norm] = text
    for parent, obj in nested[:20]:
        for key, value in list(obj.items())[:MAX_FIELDS]:
            text = _scalar(value)
            if text is None:
                continue
            norm = normalize_key(str(key))
            flat.setdefault(parent + norm, text)
            flat.setdefault(norm, text)
    return flat


def _flatten_xml(text: str) -> dict[str, str]:
    head = text[:4096].lower()
    if "<!doctype" in head or "<!entity" in text.lower():
        raise MalformedPayload("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD allowed (checked above), size bounded
    except ET.ParseError:
        raise MalformedPayload("the body is not well-formed XML") from None
    flat: dict[str, str] = {}
    for count, element in enumerate(root.iter()):
        if count > MAX_FIELDS:
            break
        tag = normalize_key(element.tag.rsplit("}", 1)[-1])
        for name, value in element.attrib.items():
            flat.setdefault(normalize_key(name.rsplit("}", 1)[-1]), value.strip())
            flat.setdefault(tag + normalize_key(name.rsplit("}", 1)[-1]), value.strip())
        if len(element) == 0 and element.text is not None and element.text.strip():
            flat.setdefault(tag, element.text.strip())
    # <field name="id">7</field> / <NameValuePair><Name>id</Name><Value>7</Value></NameValuePair>
    for element in root.iter():
        name = element.attrib.get("name") or element.attrib.get("Name") or ""
        if name and element.text and element.text.strip():
            flat.setdefault(normalize_key(name), element.text.strip())
        children = {normalize_key(c.tag.rsplit("}", 1)[-1]): (c.text or "").strip() for c in element}
        if "name" in children and "value" in children and children["name"]:
            flat.setdefault(normalize_key(children["name"]), children["value"])
    return flat


def _flatten_form(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise MalformedPayload(f"more than {MAX_FIELDS} fields") from None
    flat: dict[str, str] = {}
    for key, value in pairs:
        flat.setdefault(normalize_key(key), value.strip())
    return flat


def _ticket_id(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or len(text) > 16:
        return None
    number = int(text)
    return number if 0 < number < MAX_TICKET_ID else None


def _first(flat: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = flat.get(key)
        if value:
            return value[:200]
    return None


def _sniff(content_type: str, text: str) -> str:
    media = content_type.split(";")[0].strip().lower()
    if media.endswith("json"):
        return "json"
    if media.endswith("xml"):
        return "xml"
    if media == "application/x-www-form-urlencoded":
        return "form"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "json"
    if stripped.startswith("<"):
        return "xml"
    return "form"


def parse_callout(body: bytes, content_type: str = "") -> CalloutPayload:
    """An Extension Callout in any data format -> the ticket it is about. MalformedPayload if no ticket id."""
    _check_size(body)
    text = _text(body)
    if not text.strip():
        raise MalformedPayload("the body is empty")
    kind = _sniff(content_type, text)
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError:
            raise MalformedPayload("the body is not valid JSON") from None
        except RecursionError:  # thousands of nested brackets: refuse, never a 500
            raise MalformedPayload("the JSON body is nested too deeply") from None
        try:
            flat = _flatten_json(data)
        except RecursionError:
            raise MalformedPayload("the JSON body is nested too deeply") from None
        # A webhook-shaped JSON body sent to the callout URL: a note's Id is not the ticket's.
        if flat.get("entitytype", "").casefold() == "ticketnote":
            flat.pop("id", None)
            flat["ticketid"] = flat.get("fieldsticketid") or flat.get("ticketid", "")
    elif kind == "xml":
        flat = _flatten_xml(text)
    else:
        flat = _flatten_form(text)
    ticket_id = None
    for key in _ID_KEYS:
        ticket_id = _ticket_id(flat.get(key))
        if ticket_id is not None:
            break
    if ticket_id is None:
        raise MalformedPayload("no ticket id (expected a field such as id, ID or TicketID with a positive number)")
    return CalloutPayload(
        ticket_id=ticket_id,
        ticket_number=_first(flat, _NUMBER_KEYS),
        status=_first(flat, _STATUS_KEYS),
        last_activity=_first(flat, _ACTIVITY_KEYS),
        data_format=kind,
    )


# ------------------------------------------------------------------------------------------------ webhooks
def signature_of(secret: str, body: bytes) -> str:
    """`sha1=<base64 HMAC-SHA1>`, as Autotask sends it in X-Hook-Signature (for tests and the simulator)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode("ascii")


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of `X-Hook-Signature` (`sha1=<base64>`; bare base64 or hex also accepted)."""
    if not secret or not header or len(header) > 200:
        return False
    value = header.strip()
    if value[:5].lower() == "sha1=":
        value = value[5:].strip()
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    candidates: list[bytes] = []
    if re.fullmatch(r"[0-9a-fA-F]{40}", value):
        candidates.append(bytes.fromhex(value))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(value, validate=True))
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(candidate, expected)
    return ok


def _ci_get(data: dict[str, Any], name: str) -> Any:
    for key, value in data.items():
        if isinstance(key, str) and key.casefold() == name:
            return value
    return None


def parse_webhook(body: bytes) -> WebhookPayload:
    """A (verified) webhook body -> what it is about. MalformedPayload for anything but the documented shape."""
    _check_size(body)
    try:
        data = json.loads(_text(body))
    except ValueError:
        raise MalformedPayload("the webhook body is not valid JSON") from None
    except RecursionError:
        raise MalformedPayload("the webhook body is nested too deeply") from None
    if not isinstance(data, dict):
        raise MalformedPayload("the webhook body is not a JSON object")
    action = _ci_get(data, "action")
    entity_type = _ci_get(data, "entitytype")
    entity_id = _ticket_id(_scalar(_ci_get(data, "id")))
    if not isinstance(action, str) or not action or not isinstance(entity_type, str) or not entity_type:
        raise MalformedPayload("the webhook body needs Action and EntityType")
    if entity_id is None:
        raise MalformedPayload("the webhook body needs a positive Id")
    raw_fields = _ci_get(data, "fields")
    fields = raw_fields if isinstance(raw_fields, dict) else {}
    kind = entity_type.casefold()
    ticket_id: int | None = None
    if kind == "ticket":
        ticket_id = entity_id
    elif kind == "ticketnote":
        ticket_id = _ticket_id(_scalar(_ci_get(fields, "ticketid")))
        if ticket_id is None and action.casefold() != "delete":
            raise MalformedPayload("a TicketNote webhook needs Fields.ticketID (subscribe it as a display field)")
    guid = _ci_get(data, "guid")
    return WebhookPayload(
        action=action[:20],
        entity_type=entity_type[:40],
        entity_id=entity_id,
        ticket_id=ticket_id,
        guid=str(guid)[:64] if guid else None,
        fields={str(k)[:64]: v for k, v in list(fields.items())[:50]},
    )
