"""Running the project's own scripts (demo, bench) as a user would, for the end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

ROOT = Path(__file__).parents[1]


def run_script(name: str, *args: str | int, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `scripts/<name>` with `args` from the project root, on the bundled emulator.

    `RKLLM_SERVER_*` is left out of the environment, so a developer's real board is never used.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKLLM_SERVER_")}
    return subprocess.run(
        [str(ROOT / "scripts" / name), *(str(arg) for arg in args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def output_tail(result: subprocess.CompletedProcess[str], chars: int = 4000) -> str:
    """Return the end of a run's output, for an assertion message."""
    return f"stdout:\n{result.stdout[-chars:]}\nstderr:\n{result.stderr[-chars:]}"
