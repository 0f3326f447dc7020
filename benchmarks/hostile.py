"""Hostile providers: what refusing a huge listing costs, and how long a never-ending answer
holds `discover`.

Both run in child processes against a stand-in on 127.0.0.1, so the numbers are a fresh
process's own:
- peak RSS (VmHWM) of listing a 60,000-model OpenAI-shaped listing, which the entry limit
  refuses; goal ≤ 300 MB;
- how long a provider that sends a 200 and then nothing holds `python -m registry discover`
  (`REGISTRY_DISCOVERY_TIMEOUT`=10; the refresh's own `seconds`), goal ≤ deadline + 5 s, with
  the whole command's time beside that of a run against a well-behaved provider.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.demo import load_fixture
from registry.standin import StandInServer, anthropic, hostile

MODELS = 60_000
DEADLINE = 10
PEAK_GOAL_MB = 300

_REFUSE = """
import os
from registry.providers import Credentials, get_adapter
from registry.standin import StandInServer, openai
with StandInServer() as server:
    os.environ["REGISTRY_OPENAI_BASE_URL"] = server.origin
    entries = [{"id": f"gpt-huge-{n}", "object": "model", "created": n, "owned_by": "system"}
               for n in range(%d)]
    openai.install(server, entries)
    del entries
    try:
        get_adapter("openai").list_models("text", Credentials("sk-" + "k" * 40))
        print("accepted")
    except Exception as exc:
        print(exc)
# VmHWM is this program's own peak; ru_maxrss keeps the parent's across fork and exec.
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(int(hwm.split()[1]) // 1024)
"""


def refusal_peak_mb() -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _REFUSE % MODELS], capture_output=True, text=True, check=True
    )
    message, peak = done.stdout.strip().splitlines()
    return message, int(peak)


def discover_wall_seconds(hostile_answer: bool) -> tuple[float, dict[str, Any]]:
    """Wall seconds of `discover --json` for Anthropic in a child process, and its result."""
    with tempfile.TemporaryDirectory() as data, StandInServer() as server:
        anthropic.install(server, load_fixture("anthropic"))
        if hostile_answer:
            server.fail(anthropic.MODELS_PATH, hostile.never_ending("data"))
        env = {
            **os.environ,
            "REGISTRY_DATA_DIR": data,
            "REGISTRY_ANTHROPIC_BASE_URL": server.origin,
            "ANTHROPIC_API_KEY": "sk-ant-benchmark-key-000000",
            "REGISTRY_DISCOVERY_TIMEOUT": str(DEADLINE),
        }
        env.pop("REGISTRY_DATABASE_URL", None)
        registry = [sys.executable, "-m", "registry"]
        discover = ["discover", "--category", "text", "--provider", "anthropic", "--force"]
        subprocess.run([*registry, "migrate"], env=env, capture_output=True, check=True)
        started = time.monotonic()
        done = subprocess.run(
            [*registry, *discover, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10 * DEADLINE,
            check=True,
        )
        wall = time.monotonic() - started
    (result,) = json.loads(done.stdout)["results"]
    return wall, result


def main() -> int:
    print(f"== Refusing a {MODELS:,}-model listing (child process, peak RSS) ==")
    message, peak = refusal_peak_mb()
    verdict = "ok" if peak <= PEAK_GOAL_MB and "refused" in message else "OVER GOAL"
    print(f"peak RSS {peak} MB (goal <= {PEAK_GOAL_MB} MB) {verdict}\n  {message}")

    print(f"\n== A never-ending answer, REGISTRY_DISCOVERY_TIMEOUT={DEADLINE} ==")
    wall, result = discover_wall_seconds(hostile_answer=True)
    baseline, _ = discover_wall_seconds(hostile_answer=False)
    held = result["seconds"]
    verdict = "ok" if held <= DEADLINE + 5 and result["errors"] else "OVER GOAL"
    print(
        f"the never-ending answer held discover {held:.1f} s (goal <= {DEADLINE + 5} s) "
        f"{verdict}; the whole command ran {wall:.1f} s, against a well-behaved provider "
        f"{baseline:.1f} s (start-up included)\n  {result['errors'][0]}"
    )
    return 0 if verdict == "ok" and peak <= PEAK_GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
