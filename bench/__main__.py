"""Run benchmarks: ``python -m bench`` runs every ``bench/*_bench.py``; ``python -m bench rules`` runs one.

Each benchmark module exposes ``main() -> int | None`` and prints its own table (ratios against baselines
measured in the same run, never against stored numbers).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path


def available() -> list[str]:
    return sorted(p.name.removesuffix("_bench.py") for p in Path(__file__).parent.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== bench {name} ==", flush=True)
        module = importlib.import_module(f"bench.{name}_bench")
        try:
            status = max(status, int(module.main() or 0))
        except Exception:  # one broken benchmark must not hide the others' tables
            traceback.print_exc()
            print(f"bench {name}: FAILED (see the traceback above)", flush=True)
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
