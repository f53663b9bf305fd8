"""scripts/bench --pool --quick: every pool measure runs on a real Home Assistant.

The bench runs once for this module; every test reads that one run.

Speed-ups are judged by the board-timing run (fast timing measures Home Assistant, not boards);
what does not depend on timing is checked here: nothing lost, nothing duplicated, no loads.
"""

from __future__ import annotations

from typing import Any

import pytest

from .ports import free_ports_for_module
from .script_runs import bench_section_document

BENCH_TIMEOUT = 300


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the root fixture: the bench runs its own Home Assistant, no `hass` here."""


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `scripts/bench --pool --quick` once for the module; return its JSON document."""
    ha_port, proxy_port, *boards = free_ports_for_module(5)
    return bench_section_document(
        tmp_path_factory.mktemp("bench-pool"),
        "pool",
        "--ha-port",
        ha_port,
        "--emulator-ports",
        ",".join(str(port) for port in boards),
        "--proxy-port",
        proxy_port,
        timeout=BENCH_TIMEOUT,
    )


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_bench_pool_spreads_over_every_board(pool_run: dict[str, Any]) -> None:
    """Three boards and one: every conversation answered, each board took part."""
    assert pool_run["timing"] == "fast"
    assert pool_run["throughput"]["answered"] == [30, 30]
    per_board = pool_run["throughput"]["per_board"]
    assert sum(per_board) == 30
    assert min(per_board) > 0  # every board took part


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_bench_pool_two_models_without_loads(pool_run: dict[str, Any]) -> None:
    """Two models on the pool: all answered, no load during the run."""
    assert pool_run["two_models"]["answered"] == 30
    assert pool_run["two_models"]["loads_during_run"] == 0


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_bench_pool_board_killed_loses_nothing(pool_run: dict[str, Any]) -> None:
    """A board killed mid-run: nothing lost or duplicated, every later conversation answered."""
    kill = pool_run["kill"]
    assert (kill["lost"], kill["duplicated"]) == (0, 0)
    assert kill["answered_after_kill"] == kill["started_after_kill"] > 0
    assert kill["answered"] + kill["spoken_errors"] == kill["conversations"]


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_bench_pool_behind_haproxy(pool_run: dict[str, Any]) -> None:
    """Behind HAProxy (when installed) every conversation is answered."""
    if "skipped" not in pool_run["haproxy"]:
        assert pool_run["haproxy"]["answered"] == 30
