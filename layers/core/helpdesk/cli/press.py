"""`helpdesk press`: a reference button agent (placeholder; the full agent lands in the next commits)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("press", help="press a help button (reference agent)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("helpdesk press: not implemented yet")
