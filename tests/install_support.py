"""Build the wheel and install it the way an application installs a dependency.

Shared by tests/test_packaging.py and benchmarks/install.py. The wheel is built from a copy of
the source tree (setuptools writes `build/` beside the sources, and a stale `build/lib` would
leak deleted files into the wheel); each virtualenv is made without pip and filled by this
interpreter's pip (`pip --python`), with the lock file as constraints, so only the package's
own dependencies land in its site-packages and the pip cache is reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
DISTRIBUTION = "model-catalog-registry"
_NOT_SOURCES = shutil.ignore_patterns(
    ".*", "__pycache__", "*.egg-info", "build", "dist", "data", "docs", "artifacts"
)


def build_wheel(out: Path) -> Path:
    """The wheel of the working tree (as it is on disk, committed or not)."""
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(source))
    (wheel,) = out.glob("*.whl")
    return wheel


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name).decode()


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.root / "bin" / name

    def site_packages(self) -> Path:
        (found,) = self.root.glob("lib/python3.*/site-packages")
        return found

    def install(self, *requirements: str) -> None:
        _pip("--python", str(self.python), "install", "--constraint", str(LOCK), *requirements)

    def environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        """A minimal environment: this venv first on PATH, nothing of the caller's registry."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key in {"HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"}
        }
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return env | dict(extra)

    def run(
        self, args: list[str | Path], cwd: Path, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.environment(env or {}),
            capture_output=True,
            text=True,
            timeout=120,
        )


def make_venv(root: Path) -> Venv:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return Venv(root)


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
