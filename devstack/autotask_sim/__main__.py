"""`python -m devstack.autotask_sim [--port N]`: run the simulator alone and print how to point a client at it."""

from __future__ import annotations

import argparse
import signal
import threading

from devstack.autotask_sim import AutotaskSimulator
from devstack.autotask_sim.seed import TENANTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Autotask REST API simulator (loopback only)")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--hourly-limit", type=int, default=10_000)
    args = parser.parse_args(argv)
    sim = AutotaskSimulator(hourly_limit=args.hourly_limit)
    base = sim.start(host="127.0.0.1", port=args.port)
    print(f"Autotask simulator on {base}  (control API: {base}/_sim/stats)")
    for key, value in sim.client_env().items():
        print(f"export {key}='{value}'")
    for t in TENANTS:
        print(f"tenant {t.database}: host={sim.host} api_key={t.api_key!r} integration_code={t.integration_code}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
