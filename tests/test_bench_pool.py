"""scripts/bench --pool --quick: every pool measure runs on a real Home Assistant.

Speed-ups are judged by the board-timing run (fast timing measures Home Assistant, not boards);
what does not depend on timing is checked here: nothing lost, nothing duplicated, no loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess

import pytest

from .ports import free_port

ROOT = Path(__file__).parents[1]
BENCH_TIMEOUT = 300


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the root fixture: the bench runs its own Home Assistant, no `hass` here."""


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_bench_pool_quick(socket_enabled: None, tmp_path: Path) -> None:
    """Three boards and one: every conversation answered, none lost or duplicated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RKLLM_SERVER_")}
    out = tmp_path / "results"
    ports = ",".join(str(free_port()) for _ in range(3))
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "bench"),
            "--pool",
            "--quick",
            "--ha-port",
            str(free_port()),
            "--emulator-ports",
            ports,
            "--proxy-port",
            str(free_port()),
            "--output-dir",
            str(out),
            "--config-dir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=BENCH_TIMEOUT,
    )
    report = f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert result.returncode == 0, report
    documents = sorted(out.glob("pool-*.json"))
    assert len(documents) == 1, report
    data = json.loads(documents[0].read_text())
    assert data["timing"] == "fast"
    assert data["throughput"]["answered"] == [30, 30]
    per_board = data["throughput"]["per_board"]
    assert sum(per_board) == 30
    assert min(per_board) > 0  # every board took part
    assert data["two_models"]["answered"] == 30
    assert data["two_models"]["loads_during_run"] == 0
    kill = data["kill"]
    assert (kill["lost"], kill["duplicated"]) == (0, 0)
    assert kill["answered_after_kill"] == kill["started_after_kill"] > 0
    assert kill["answered"] + kill["spoken_errors"] == kill["conversations"]
    if "skipped" not in data["haproxy"]:
        assert data["haproxy"]["answered"] == 30
