"""``python -m devstack`` (``make run``): start the devstack in the foreground; Ctrl-C or SIGTERM stops it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from devstack.stack import DEFAULT_TEMPLATE, Devstack, PortInUse
from devstack.template import TemplateError, parse_overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="SAM template (default: template.yaml)")
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="Name=Value",
        help="like sam deploy, e.g. --parameter-overrides RetryBaseDelaySeconds=0 StageName=dev",
    )
    parser.add_argument("--free-ports", action="store_true", help="pick free ports instead of the fixed defaults")
    parser.add_argument(
        "--echo-logs",
        action="store_true",
        help="also echo every function's log to the console (they always go to <state dir>/logs/<Function>.log)",
    )
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for scripts
    parser.add_argument("-v", "--verbose", action="store_true", help="the devstack's own INFO logs on the console")
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo tenant")
    parser.add_argument("--state-dir", default=None, help="where stack.json and logs/ go (default: .devstack)")
    args = parser.parse_args(argv)
    # The console shows the ready banner last: function logs go to files, the devstack's own INFO logs only with -v
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack = Devstack(
            Path(args.template),
            parameter_overrides=parse_overrides(args.parameter_overrides),
            ports=0 if args.free_ports else None,
            echo_logs=args.echo_logs and not args.quiet,
            seed=not args.no_seed,
            write_state=True,
            state_dir=args.state_dir,
        )
    except TemplateError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    try:
        stack.start()
    except PortInUse as exc:
        print(f"devstack: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"devstack: cannot start ({exc}); a port in use? Set HELPDESK_*_PORT or use --free-ports", file=sys.stderr
        )
        return 1
    try:
        print(stack.summary(), flush=True)
        print(f"\nstate file: {stack.state_dir / 'stack.json'}", flush=True)
        while not stop.wait(0.5):
            pass
        print("\ndevstack: stopping...", flush=True)
    finally:
        stack.stop()
    if stack.leftover_pids:
        print(f"devstack: stopped; had to kill surviving workers {stack.leftover_pids}", flush=True)
    else:
        print("devstack: stopped (verified: no worker process left)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
