"""Ticket notifications back to the end user.

- `inbound`: parse and verify what Autotask sends (Extension Callouts in any data format, signed REST webhooks).
- `receive`: the callout function's use case (token -> tenant -> record -> one collapsed sync job).
- `render`: the tenant's templates and keywords -> the text of a desktop notification.
- `cursor` / `feed`: GET /v1/notifications, cursor-based, no event lost or shown twice.
The Autotask re-read itself runs in the dispatcher (`helpdesk.dispatch.sync`); the sync baseline and the events
a ticket re-read produces are domain (`helpdesk.domain.sync`). See docs/notifications.md.
"""
