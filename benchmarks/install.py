"""Install benchmark: what the main application pays for depending on the registry.

Run with `make bench` (or `python benchmarks/install.py`). Builds the wheel, installs it into
two clean virtualenvs with requirements.lock as constraints (pip cache warm after the first
run) — the core install, as an application installs it, and the full one (every extra but
`dev`) — and measures side by side:

- installed size: the bytes and distributions in each site-packages (pip itself not included:
  the virtualenvs are made without it);
- install time of each (wall clock, pip's resolver included);
- in child processes started from an empty folder on a migrated SQLite database: the time and
  peak RSS of `import registry` plus one `get_ai_model()`, against a bare interpreter and
  against `import sqlalchemy.orm` alone (the floor: ratios survive a busy machine).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.install_support import Venv, build_wheel, make_venv

RUNS = 7
FULL_EXTRAS = "postgres,discovery,dashboard"

# Printed as JSON by the child: interpreter start is excluded from the import time, included
# in the peak RSS (which is what the application's process carries).
PROBE = """
import json, resource, sys, time
started = time.perf_counter()
if sys.argv[1] == "sqlalchemy":
    import sqlalchemy.orm
elif sys.argv[1] == "registry":
    import registry
    registry.get_ai_model()
elapsed = time.perf_counter() - started
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"streamlit", "pandas", "openai"})
print(json.dumps({"seconds": elapsed, "rss_mib": rss_kib / 1024, "heavy": heavy}))
"""


def size_of(venv: Venv) -> tuple[float, int]:
    """(MiB, number of distributions) of the virtualenv's site-packages."""
    site = venv.site_packages()
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20, len(list(site.glob("*.dist-info")))


def timed_install(venv: Venv, requirement: str) -> float:
    started = time.perf_counter()
    venv.install(requirement)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Probe:
    seconds: float  # median
    rss_mib: float  # median peak
    heavy: list[str]


@dataclass(frozen=True)
class Row:
    label: str
    install_seconds: float
    mib: float
    dists: int
    bare: Probe
    floor: Probe
    loaded: Probe


def probe(venv: Venv, folder: Path, what: str) -> Probe:
    """Import time and peak RSS over RUNS fresh processes."""
    samples = []
    for _ in range(RUNS):
        done = venv.run([venv.python, "-c", PROBE, what], cwd=folder)
        if done.returncode:
            raise RuntimeError(done.stderr)
        samples.append(json.loads(done.stdout))
    return Probe(
        statistics.median(s["seconds"] for s in samples),
        statistics.median(s["rss_mib"] for s in samples),
        samples[0]["heavy"],
    )


def measure(root: Path, label: str, requirement: str) -> Row:
    venv = make_venv(root / label)
    seconds = timed_install(venv, requirement)
    mib, dists = size_of(venv)
    folder = root / f"{label}-app"
    folder.mkdir()
    migrated = venv.run([venv.script("model-registry"), "migrate"], cwd=folder)
    if migrated.returncode:
        raise RuntimeError(migrated.stderr)
    bare, floor = probe(venv, folder, "bare"), probe(venv, folder, "sqlalchemy")
    row = Row(label, seconds, mib, dists, bare, floor, probe(venv, folder, "registry"))
    print(f"{label}: installed in {seconds:.1f} s", flush=True)
    return row


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        wheel = build_wheel(root)
        print(f"wheel {wheel.name} built in {time.perf_counter() - started:.1f} s", flush=True)
        core = measure(root, "core", str(wheel))
        full = measure(root, "full", f"{wheel}[{FULL_EXTRAS}]")

    print(
        f"\n{'install':<8} {'pip install':>12} {'site-packages':>14} {'dists':>6} "
        f"{'import+resolve':>15} {'sqlalchemy':>11} {'peak RSS':>9} {'bare RSS':>9}  heavy modules"
    )
    for row in (core, full):
        print(
            f"{row.label:<8} {row.install_seconds:>10.1f} s {row.mib:>10.1f} MiB {row.dists:>6} "
            f"{row.loaded.seconds * 1000:>12.0f} ms {row.floor.seconds * 1000:>8.0f} ms "
            f"{row.loaded.rss_mib:>5.0f} MiB "
            f"{row.bare.rss_mib:>5.0f} MiB  {', '.join(row.loaded.heavy) or 'none'}"
        )
    print(
        f"\ncore: {core.mib / full.mib:.0%} of the full install's size ({core.dists} vs "
        f"{full.dists} distributions); `import registry` + one resolve "
        f"{core.loaded.seconds * 1000:.0f} ms "
        f"({core.loaded.seconds / core.floor.seconds:.1f}× `import sqlalchemy.orm`) and "
        f"+{core.loaded.rss_mib - core.bare.rss_mib:.0f} MiB over a bare interpreter"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
