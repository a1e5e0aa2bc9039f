"""Test-only Lambda handlers for the devstack emulator tests (each misbehaves in one specific way)."""

import base64
import json
import os
import sys
import time

STATE = {"calls": 0}  # module state: proves a warm worker keeps its namespace between invocations


def echo(event, context):
    STATE["calls"] += 1
    body = {
        "event": event,
        "pid": os.getpid(),
        "calls": STATE["calls"],
        "env": {k: v for k, v in os.environ.items() if not k.startswith("_")},
        "sys_path0": sys.path[0],
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
    print(f"echo call {STATE['calls']}")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(body),
    }


class BoomError(Exception):
    pass


def boom(event, context):
    raise BoomError("kaboom")


def sleepy(event, context):
    seconds = float((event.get("queryStringParameters") or {}).get("s", event.get("sleep", 5)))
    time.sleep(seconds)
    return {"statusCode": 200, "body": json.dumps({"slept": seconds, "pid": os.getpid()})}


def hard_exit(event, context):
    os._exit(3)


def hungry(event, context):
    """Holds ``mb`` MB for ``hold`` seconds, in this process or (``child``) in a forked child."""
    size, hold = int(event.get("mb", 0)) * 1024 * 1024, float(event.get("hold", 0))
    if not event.get("child"):
        block = b"x" * size  # written, so resident
        time.sleep(hold)
        return {"held_mb": len(block) // (1024 * 1024), "pid": os.getpid()}
    pid = os.fork()
    if pid == 0:
        block = b"x" * size
        time.sleep(hold + 5)
        os._exit(0)
    time.sleep(hold)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return {"held_mb": size // (1024 * 1024), "pid": os.getpid()}


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def png(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(PNG).decode(),
        "isBase64Encoded": True,
    }


def not_a_proxy_response(event, context):
    return {"hello": "world"}


def consume(event, context):
    failures = []
    for record in event["Records"]:
        if "fail" in record["body"]:
            failures.append({"itemIdentifier": record["messageId"]})
        elif "crash" in record["body"]:
            raise RuntimeError("whole batch fails")
    return {"batchItemFailures": failures}
