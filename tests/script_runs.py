"""Running the project's own scripts (demo, bench) as a user would, for the end-to-end tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
from typing import Any

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


def bench_section_document(
    work: Path, section: str, *args: str | int, timeout: float
) -> dict[str, Any]:
    """Run `scripts/bench --<section> --quick` in `work`; return the one JSON document it wrote.

    `args` are the section's port options; results and config dirs go below `work`.
    """
    out = work / "results"
    result = run_script(
        "bench",
        f"--{section}",
        "--quick",
        *args,
        "--output-dir",
        out,
        "--config-dir",
        work / "work",
        timeout=timeout,
    )
    report = output_tail(result)
    assert result.returncode == 0, report
    documents = sorted(out.glob(f"{section}-*.json"))
    assert len(documents) == 1, report
    data: dict[str, Any] = json.loads(documents[0].read_text())
    return data
