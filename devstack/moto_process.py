"""moto in its own process: ``python -m devstack.moto_process <host> <port>``.

Its own process gives each devstack a fresh, isolated AWS state (moto keeps state per process) and keeps
moto's work off the emulators' GIL; standard queues deliver in the SQS fair-queue order (devstack/fair_queue.py). Prints ``PORT <n>`` once listening; exits when stdin closes (so it dies
with the devstack that started it, even if that one is killed).
"""

from __future__ import annotations

import logging
import sys

from moto.server import ThreadedMotoServer

from devstack import fair_queue


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fair_queue.install()  # standard queues with MessageGroupId deliver like SQS fair queues
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"PORT {server.get_host_and_port()[1]}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
