"""Per-tenant picklists: label -> integer value (research-autotask-api.md section 5).

Rules: match labels case-insensitively (whitespace-trimmed), only `isActive` values, `subIssueType` only among
values whose `parentValue` equals the chosen `issueType`. Values are strings on the wire and integers in
tickets. Priorities are tenant-defined and NOT 1..n in order (one real tenant: 1 Critical, 2 Medium, 3 Low,
5 High, 6 Urgent), so never assume an order.
"""

from __future__ import annotations

from collections.abc import Iterable

from helpdesk.autotask.models import AtFieldInfo, AtPicklistValue

# Ticket picklist fields the service maps labels for (Swagger TicketModel names).
TICKET_PICKLIST_FIELDS = (
    "status",
    "priority",
    "queueID",
    "issueType",
    "subIssueType",
    "source",
    "ticketType",
    "ticketCategory",
)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class Picklists:
    """Picklists of one entity (`Tickets`, `TicketNotes`, ...). Field names are matched case-insensitively."""

    def __init__(self, fields: Iterable[AtFieldInfo]) -> None:
        self._values: dict[str, list[AtPicklistValue]] = {}
        self._names: dict[str, str] = {}
        self._parents: dict[str, str] = {}
        for f in fields:
            if not f.is_pick_list:
                continue
            key = f.name.casefold()
            self._names[key] = f.name
            self._values[key] = list(f.picklist_values or [])
            if f.picklist_parent_value_field:
                self._parents[key] = f.picklist_parent_value_field

    @property
    def fields(self) -> list[str]:
        return sorted(self._names.values())

    def has_field(self, field: str) -> bool:
        return field.casefold() in self._values

    def parent_field(self, field: str) -> str | None:
        """E.g. `subIssueType` -> `IssueType` (the `picklistParentValueField`)."""
        return self._parents.get(field.casefold())

    def values(self, field: str, *, parent: int | None = None, include_inactive: bool = False) -> list[AtPicklistValue]:
        """Values of `field` in `sortOrder`; active only unless asked; filtered by `parent` if given."""
        out = [
            v
            for v in self._values.get(field.casefold(), [])
            if (include_inactive or v.is_active) and (parent is None or v.parent_value == str(parent))
        ]
        return sorted(out, key=lambda v: (v.sort_order if v.sort_order is not None else 1 << 30, v.label))

    def labels(self, field: str, *, parent: int | None = None) -> list[str]:
        return [v.label for v in self.values(field, parent=parent)]

    def resolve(self, field: str, label: str | int | None, parent: int | None = None) -> int | None:
        """The active value whose label matches `label` (case-insensitive), else None.

        An int (or digit string that matches no label) is accepted if it is an active value. For a field with a
        parent picklist (`subIssueType`), `parent` (the issue type's value) is required: without it nothing
        resolves, because sub-issue labels repeat under different issue types.
        """
        if label is None or isinstance(label, bool):
            return None
        if self.parent_field(field) is not None and parent is None:
            return None
        candidates = self.values(field, parent=parent)
        if isinstance(label, int):
            return label if any(v.int_value == label for v in candidates) else None
        wanted = _norm(label)
        if not wanted:
            return None
        for v in candidates:
            if _norm(v.label) == wanted:
                return v.int_value
        if wanted.lstrip("-").isdigit():
            num = int(wanted)
            if any(v.int_value == num for v in candidates):
                return num
        return None

    def label(self, field: str, value: int | str | None) -> str | None:
        """Label of a value (inactive values included: an old ticket may still carry one)."""
        if value is None:
            return None
        for v in self._values.get(field.casefold(), []):
            if v.value == str(value):
                return v.label
        return None

    def first_active(self, field: str, parent: int | None = None) -> int | None:
        """The first active value in `sortOrder` (the last resort for a field Autotask requires)."""
        values = self.values(field, parent=parent)
        return values[0].int_value if values else None

    def default(self, field: str, parent: int | None = None) -> int | None:
        """The active `isDefaultValue` value, if the tenant has one."""
        for v in self.values(field, parent=parent):
            if v.is_default_value:
                return v.int_value
        return None


class TicketPicklists(Picklists):
    """`Tickets/entityInformation/fields` picklists: status, priority, queueID, issueType, subIssueType, ..."""

    def resolve_sub_issue(self, label: str | int | None, issue_type: int | None) -> int | None:
        if issue_type is None:
            return None
        return self.resolve("subIssueType", label, parent=issue_type)


class NotePicklists(Picklists):
    """`TicketNotes/entityInformation/fields` picklists: `noteType` and `publish`."""
