"""`make bench`: every benchmark in turn; each prints its own side-by-side ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "discovery.py",
    "resolve.py",
    "freshness.py",
    "burst.py",
    "dashboard.py",
    "browser_grid.py",
    "browser_overview.py",
    "hostile.py",
    "install.py",
    "enrichment.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n######## benchmarks/{name}", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
