"""scripts/demo --once: real Home Assistant + the integration + the emulator, end to end."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

from .ports import free_port
from .script_runs import output_tail, run_script

TESTS = ("Math", "Explanation", "Code Generation", "Reasoning", "Creative")
DEMO_TIMEOUT = 540  # seconds: bootstrap check, HA start, five prompts, the light, shutdown


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the root fixture: the demo runs its own Home Assistant, no `hass` here."""


def _number(cell: str) -> float:
    """Return the number in a table cell such as '**7.76**' or '~3s' or '~0.05s'."""
    match = re.search(r"\d+(?:\.\d+)?", cell)
    assert match, cell
    return float(match.group())


@pytest.mark.timeout(DEMO_TIMEOUT + 60)
def test_demo_once_prints_the_benchmark_table_and_turns_on_the_light(
    socket_enabled: None, tmp_path: Path
) -> None:
    """The demo's table comes from the integration's sensors and the light goes on."""
    result = run_script(
        "demo",
        "--once",
        "--fast",
        "--ha-port",
        free_port(),
        "--emulator-port",
        free_port(),
        "--config-dir",
        tmp_path / "demo-config",
        timeout=DEMO_TIMEOUT,
    )
    report = output_tail(result, 20000)
    assert result.returncode == 0, report

    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in result.stdout.splitlines()
        if line.startswith("|") and not line.startswith("|-")
    ]
    assert rows[0] == ["Test", "Tokens/sec", "Total Tokens", "Completion Tokens", "Response Time"]
    body, average = rows[1:-1], rows[-1]
    assert [row[0] for row in body] == list(TESTS), report
    assert average[0] == "**AVERAGE**", report
    for row in [*body, average]:
        tokens_per_second, total, completion, response_time = map(_number, row[1:])
        assert tokens_per_second > 0, row
        assert total > completion > 0, row
        assert response_time > 0, row
        assert re.fullmatch(r"(\*\*)?~[\d.]+s(\*\*)?", row[4]), row

    assert "light.kitchen_light: off → on" in result.stdout, report
    assert re.search(r"tool call: \S*HassTurnOn\(", result.stdout), report
    assert "(Assist pipeline, commands handled locally first)" in result.stdout, report
