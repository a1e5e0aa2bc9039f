"""`helpdesk dlq show|redrive`: work items that failed too often and reached the dead-letter queue.

`show` peeks (each message is received and at once made visible again); `redrive` moves messages back to the
work queue (send, then delete: a crash in between can only duplicate a message, which the dispatcher's
idempotency absorbs, never lose one), with a progress bar.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from helpdesk_cli.common import (
    READS,
    Progress,
    ask,
    changing_parser,
    emit_json,
    resolve,
    resource_options,
    run_command,
    table,
)

MAX_PEEK = 1000


def register(subparsers: Any) -> None:
    common = resource_options()
    parser = subparsers.add_parser("dlq", help="inspect and redrive the dead-letter queue")
    sub = parser.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)

    show = sub.add_parser("show", parents=[common], help="list dead letters without removing them")
    show.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    show.set_defaults(func=run_command(show_dlq), effect=READS)

    redrive = changing_parser(sub, "redrive", parents=[common], help="move dead letters back to the work queue")
    redrive.add_argument("--limit", type=int, default=None, help="move at most this many (default: all)")
    redrive.set_defaults(func=run_command(redrive_dlq))


def _sqs() -> Any:
    from helpdesk import aws

    return aws.client("sqs")


def depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))


def summarize(body: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        return {"kind": "unreadable", "tenant_id": "", "subject": body[:60]}
    if not isinstance(doc, dict):
        return {"kind": "unreadable", "tenant_id": "", "subject": body[:60]}
    subject = doc.get("submission_id") or (f"ticket {doc['ticket_id']}" if doc.get("ticket_id") else "")
    return {"kind": str(doc.get("kind", "?")), "tenant_id": str(doc.get("tenant_id", "")), "subject": str(subject)}


def show_dlq(args: argparse.Namespace) -> int:
    res = resolve(args)
    url = res.need("dead_letter_queue_url")
    sqs = _sqs()
    limit = max(1, min(args.limit, MAX_PEEK))
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    empty = 0
    for _ in range(limit * 2 + 5):  # bounded
        if len(seen) >= limit or empty >= 2:
            break
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=30,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        empty = empty + 1 if not messages else 0
        for m in messages:
            handles.append(m["ReceiptHandle"])
            attrs = m.get("Attributes", {})
            seen.setdefault(
                m["MessageId"],
                {
                    "message_id": m["MessageId"],
                    "receive_count": int(attrs.get("ApproximateReceiveCount", 0)),
                    "first_received": attrs.get("ApproximateFirstReceiveTimestamp"),
                    **summarize(m["Body"]),
                },
            )
    for handle in handles:  # peek only: visible again at once
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    rows = list(seen.values())[:limit]
    total = depth(sqs, url)
    if args.json:
        emit_json({"approximate_total": total, "messages": rows})
        return 0
    print(f"dead-letter queue: about {total} message(s)")
    if rows:
        table(
            [(r["message_id"], r["kind"], r["tenant_id"], r["subject"], r["receive_count"]) for r in rows],
            ["MESSAGE", "KIND", "TENANT", "ITEM", "RECEIVES"],
        )
        print("redrive with: helpdesk dlq redrive")
    return 0


def _entry(index: int, message: dict[str, Any]) -> dict[str, Any]:
    """A redriven message keeps its tenant's MessageGroupId (fair-queue order), read back from the body if missing."""
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
    group = (message.get("Attributes") or {}).get("MessageGroupId") or summarize(message["Body"]).get("tenant_id")
    if isinstance(group, str) and group:
        entry["MessageGroupId"] = group
    return entry


def redrive_dlq(args: argparse.Namespace) -> int:
    res = resolve(args)
    dlq, work = res.need("dead_letter_queue_url"), res.need("work_queue_url")
    sqs = _sqs()
    total = depth(sqs, dlq)
    if args.limit is not None:
        total = min(total, max(0, args.limit))
    if total == 0:
        print("nothing to redrive: the dead-letter queue is empty")
        return 0
    if not ask(f"move {total} message(s) back to the work queue?", args.yes):
        print("nothing moved")
        return 1
    progress = Progress(total, "moved")
    moved = failed = empty = 0
    for _ in range(total * 3 + 10):  # bounded even if other consumers race us
        if moved >= total or empty >= 3:
            break
        want = min(10, total - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=want,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        sent = sqs.send_message_batch(
            QueueUrl=work,
            Entries=[_entry(i, m) for i, m in enumerate(messages)],
        )
        ok_ids = {e["Id"] for e in sent.get("Successful", [])}
        failed += len(sent.get("Failed", []))
        done = [m for i, m in enumerate(messages) if str(i) in ok_ids]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dlq, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            )
        moved += len(done)
        progress.advance(len(done))
    progress.finish()
    if args.json:
        emit_json({"moved": moved, "failed": failed})
    else:
        print(f"moved {moved} message(s) to the work queue" + (f"; {failed} could not be sent" if failed else ""))
    return 0 if not failed else 1
