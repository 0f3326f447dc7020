"""The `Registry` object: importing the package does nothing, and registries are independent.

- `import registry` (and its core submodules) starts no thread, registers no at-fork or
  at-exit hook, creates no file and opens no database;
- two `Registry` objects on two databases in one process answer each from its own catalog;
  a change in one is not seen by the other, and closing one leaves the other working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_IMPORT_PROBE = textwrap.dedent(
    """
    import atexit, json, os, sys, threading

    hooks = []  # the hooks our own modules register (the standard library has its own)
    real_at_fork, real_at_exit = os.register_at_fork, atexit.register

    def caller():
        return sys._getframe(2).f_globals.get("__name__", "?")

    def at_fork(**kwargs):
        hooks.append("at_fork from " + caller())
        return real_at_fork(**kwargs)

    def at_exit(function, *args, **kwargs):
        hooks.append("atexit from " + caller())
        return real_at_exit(function, *args, **kwargs)

    os.register_at_fork, atexit.register = at_fork, at_exit
    import registry
    import registry.resolution, registry.snapshot, registry.testing

    print(json.dumps({
        "threads": threading.active_count(),
        "hooks": [hook for hook in hooks if hook.split()[-1].split(".")[0] == "registry"],
        "entries": sorted(os.listdir(".")),
    }))
    """
)


def test_importing_registry_has_no_side_effects(tmp_path: Path) -> None:
    env = {**os.environ, "REGISTRY_DATA_DIR": str(tmp_path / "data")}
    env.pop("REGISTRY_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(done.stdout)
    assert probe == {"threads": 1, "hooks": [], "entries": []}
    assert not (tmp_path / "data").exists()
