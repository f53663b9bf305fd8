"""scripts/bench --faults --quick: each fault of the deadline section on a real Home Assistant.

The bench runs once for this module. The goals themselves are judged on board timing by the
full run; here the fast run shows what does not depend on timing: a silent board alone is
spoken, a second board answers once, a board known down gets no request, a long prompt is
answered.
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
def faults_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `scripts/bench --faults --quick` once for the module; return its JSON document."""
    ha_port, *boards = free_ports_for_module(3)
    return bench_section_document(
        tmp_path_factory.mktemp("bench-faults"),
        "faults",
        "--ha-port",
        ha_port,
        "--emulator-ports",
        ",".join(str(port) for port in boards),
        timeout=BENCH_TIMEOUT,
    )


@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_silent_board_alone_is_spoken(faults_run: dict[str, Any]) -> None:
    """Each silent fault with one board ends in the spoken sentence, not an answer."""
    assert set(faults_run["alone"]) == {"hang", "keepalive_trickle", "silent_port"}
    for fault, turn in faults_run["alone"].items():
        assert not turn["answered"], fault
        assert turn["speech"] == "The rkllama server did not answer in time.", fault


def test_second_board_answers_once(faults_run: dict[str, Any]) -> None:
    """With a second board each silent fault is answered by it, once, with its first word timed."""
    for fault, turn in faults_run["failover"].items():
        assert turn["answered"], fault
        assert turn["second_board_chats"] == 1, fault
        assert 0 < turn["first_word_seconds"] <= turn["seconds"], fault


def test_known_down_and_long_prompt(faults_run: dict[str, Any]) -> None:
    """A board known down is not asked; a long prompt on a board loading its model is answered."""
    question = faults_run["known_down"]["question"]
    assert not question["answered"]
    assert question["speech"] == "I cannot reach the rkllama server right now."
    assert faults_run["slow_healthy"]["answered"]
    assert faults_run["slow_healthy"]["prompt_tokens"] > 2000
    assert set(faults_run["goals"]) == {
        "silent board alone: spoken ≤ 6 s",
        "silent board, second board: its first word ≤ 8 s",
        "known down: spoken ≤ 1 s",
        "slow but healthy long prompt answered",
    }
