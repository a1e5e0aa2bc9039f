"""moto in its own process: ``python -m devstack.moto_process <host> <port>``.

Its own process gives each devstack a fresh, isolated AWS state (moto keeps state per process) and keeps
moto's work off the emulators' GIL; standard queues deliver in the SQS fair-queue order (devstack/fair_queue.py).
Prints ``PORT <n>`` once listening; exits when stdin closes (so it dies with the devstack that started it, even
if that one is killed). moto's WSGI application sits behind devstack/aws_guards.py, which enforces what AWS
enforces and moto does not (S3 POST policies, DynamoDB isolation). The signing secret is the devstack's dummy
one (HELPDESK_DEVSTACK_AWS_SECRET).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from devstack import fair_queue
from devstack.aws_guards import guard


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fair_queue.install()  # standard queues with MessageGroupId deliver like SQS fair queues
    app = guard(
        DomainDispatcherApplication(create_backend_app),
        secret=os.environ.get("HELPDESK_DEVSTACK_AWS_SECRET", "testing"),
    )
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        server.shutdown()
        thread.join(5)


if __name__ == "__main__":
    main()
