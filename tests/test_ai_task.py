"""The AI task entity: plain and JSON-structured data, against the rkllama emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from homeassistant.components import ai_task
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.ai_task import extract_json
from custom_components.rkllm.const import DOMAIN
from rkllama_emulator import FAST_TIMING, EmulatorConfig, Fault, Flavour, RkllamaEmulator
from rkllama_emulator.records import RecordedRequest

from .conftest import add_server, agent_id

STRUCTURE = probatio.Schema({probatio.Required("answer"): int, probatio.Optional("unit"): str})
INSTRUCTION = "JSON object with the keys: answer (integer), unit (string, optional)"


async def _generate(
    hass: HomeAssistant, entry: MockConfigEntry, instructions: str, *, structured: bool = True
) -> ai_task.GenDataTaskResult:
    return await ai_task.async_generate_data(
        hass,
        task_name="json" if structured else "sum",
        entity_id=agent_id(hass, entry, "ai_task"),
        instructions=instructions,
        structure=STRUCTURE if structured else None,
    )


def _assert_asked_for_structure(request: RecordedRequest, flavour: Flavour) -> None:
    """Assert the request asked its server for the structure the way that server reads it."""
    prompt = str(request.messages)
    assert "423" not in prompt  # the model worked the answer out
    if flavour is Flavour.LEGACY:
        assert request.route == "/generate"
        assert request.format is None
        assert INSTRUCTION in request.messages[0]["content"]
    else:
        assert request.route == "/api/chat"
        assert request.format["properties"]["answer"] == {"type": "integer"}
        assert request.format["required"] == ["answer"]
        assert INSTRUCTION not in prompt


async def _assert_served_by(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    board: RkllamaEmulator,
    *,
    refusing: RkllamaEmulator,
) -> None:
    """Assert `board` serves a structured task, asked its way, while `refusing` is down."""
    refusing.set_fault(Fault.REFUSE)
    before = len(board.requests)
    try:
        result = await _generate(hass, entry, "What is 145 + 278?")
    finally:
        refusing.clear_faults()
    assert result.data["answer"] == 423
    served = board.requests[before:]
    assert len(served) == 1
    _assert_asked_for_structure(served[0], board.config.flavour)
    # The next poll sees the refusing board back.
    for server in hass.config_entries.async_entries(DOMAIN):
        await server.runtime_data.coordinator.async_refresh()


@pytest.fixture
def emulator_config(models_dir: Path, request: pytest.FixtureRequest) -> EmulatorConfig:
    """Run the legacy flavour when a test asks for it."""
    flavour = getattr(request, "param", Flavour.OLLAMA)
    return EmulatorConfig(
        models_dir=models_dir,
        flavour=flavour,
        timing=FAST_TIMING,
        holdback_replay_seconds=0.001,
    )


@pytest.mark.usefixtures("init_integration")
async def test_plain_data(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Plain data is the model's answer text."""
    result = await _generate(hass, mock_config_entry, "What is 145 + 278?", structured=False)
    assert "423" in result.data


@pytest.mark.parametrize("emulator_config", [Flavour.OLLAMA, Flavour.LEGACY], indirect=True)
@pytest.mark.usefixtures("init_integration")
async def test_structured_data(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    emulator_config: EmulatorConfig,
) -> None:
    """Structured data: the server is asked for the structure; its JSON is read and validated.

    Ollama-style servers get `format`; the legacy API ignores `format`, so its prompt holds
    the JSON instruction. The instructions hold a question, not the answer: the model must
    work out 423 and give it in the requested structure.
    """
    result = await _generate(hass, mock_config_entry, "What is 145 + 278?")
    assert result.data["answer"] == 423
    assert isinstance(result.data["unit"], str)
    _assert_asked_for_structure(emulator.requests[-1], emulator_config.flavour)


@pytest.mark.parametrize(
    "instructions",
    ["Say hello", '{"answer": "many"}'],
    ids=["no_json", "wrong_type"],
)
@pytest.mark.usefixtures("init_integration")
async def test_structured_data_invalid(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    instructions: str,
) -> None:
    """An answer that does not fit: one corrective retry, then a clear error."""
    before = len(emulator.requests)
    with pytest.raises(HomeAssistantError) as err:
        await _generate(hass, mock_config_entry, instructions)
    assert err.value.translation_key == "invalid_structured_output"
    assert "did not answer with valid JSON" in str(err.value)
    assert len(emulator.requests) == before + 2
    assert emulator.requests[-1].messages[-1]["content"].startswith("That answer was not valid")


@pytest.fixture
async def other_board(
    hass: HomeAssistant, emulator_config: EmulatorConfig, init_integration: MockConfigEntry
) -> AsyncIterator[RkllamaEmulator]:
    """Return a second board in the pool, of the other API flavour than the agent's own."""
    flavour = Flavour.OLLAMA if emulator_config.flavour is Flavour.LEGACY else Flavour.LEGACY
    board = RkllamaEmulator(replace(emulator_config, flavour=flavour))
    await board.start()
    entry = await add_server(hass, board.url)
    try:
        yield board
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        await board.stop()


@pytest.mark.parametrize("emulator_config", [Flavour.LEGACY, Flavour.OLLAMA], indirect=True)
async def test_structured_data_on_a_mixed_pool(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    other_board: RkllamaEmulator,
) -> None:
    """Each board asks for the structure its own way, whichever board the agent belongs to.

    The agent's own board serves while the other one is down, then the other board, of the
    other API flavour, while the agent's own one is down.
    """
    await _assert_served_by(hass, init_integration, emulator, refusing=other_board)
    await _assert_served_by(hass, init_integration, other_board, refusing=emulator)


def test_extract_json() -> None:
    """JSON is found fenced or inside text; no JSON is an error."""
    assert extract_json('Sure:\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('It is {"a": [1, 2]} ok') == {"a": [1, 2]}
    assert extract_json("x {bad} [3]") == [3]
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("nothing here")
