"""The AI task entity: plain and JSON-structured data, against the rkllama emulator."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components import ai_task
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.ai_task import extract_json, json_instruction
from custom_components.rkllm.const import DOMAIN
from rkllama_emulator import FAST_TIMING, EmulatorConfig, Flavour, RkllamaEmulator

STRUCTURE = probatio.Schema({probatio.Required("answer"): int, probatio.Optional("unit"): str})


def _task_entity(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    subentry = next(s for s in entry.subentries.values() if s.subentry_type == "ai_task_data")
    entity_id = er.async_get(hass).async_get_entity_id("ai_task", DOMAIN, subentry.subentry_id)
    assert entity_id is not None
    return entity_id


@pytest.mark.usefixtures("init_integration")
async def test_plain_data(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """Plain data is the model's answer text."""
    result = await ai_task.async_generate_data(
        hass,
        task_name="sum",
        entity_id=_task_entity(hass, mock_config_entry),
        instructions="What is 145 + 278?",
    )
    assert "423" in result.data


@pytest.mark.usefixtures("init_integration")
async def test_structured_data(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Structured data: `format` goes to the server; the generated JSON is read and validated.

    The instructions hold a question, not the answer: the model must work out 423 and give it
    in the requested structure.
    """
    result = await ai_task.async_generate_data(
        hass,
        task_name="json",
        entity_id=_task_entity(hass, mock_config_entry),
        instructions="What is 145 + 278?",
        structure=STRUCTURE,
    )
    assert result.data["answer"] == 423
    assert isinstance(result.data["unit"], str)
    request = emulator.requests[-1]
    assert "423" not in str(request.messages)
    assert request.format["properties"]["answer"] == {"type": "integer"}
    assert request.format["required"] == ["answer"]


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
        await ai_task.async_generate_data(
            hass,
            task_name="json",
            entity_id=_task_entity(hass, mock_config_entry),
            instructions=instructions,
            structure=STRUCTURE,
        )
    assert err.value.translation_key == "invalid_structured_output"
    assert "did not answer with valid JSON" in str(err.value)
    assert len(emulator.requests) == before + 2
    assert emulator.requests[-1].messages[-1]["content"].startswith("That answer was not valid")


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


@pytest.mark.parametrize("emulator_config", [Flavour.LEGACY], indirect=True)
@pytest.mark.usefixtures("init_integration")
async def test_structured_data_legacy_instructs(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The legacy API ignores `format`: the JSON instruction goes into the prompt."""
    result = await ai_task.async_generate_data(
        hass,
        task_name="json",
        entity_id=_task_entity(hass, mock_config_entry),
        instructions='{"answer": 7}',
        structure=STRUCTURE,
    )
    assert result.data == {"answer": 7}
    request = emulator.requests[-1]
    assert request.format is None
    assert (
        "JSON object with the keys: answer (integer), unit (string, optional)"
        in (request.messages[-1]["content"])
    )


def test_extract_json() -> None:
    """JSON is found fenced or inside text; no JSON is an error."""
    assert extract_json('Sure:\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('It is {"a": [1, 2]} ok') == {"a": [1, 2]}
    assert extract_json("x {bad} [3]") == [3]
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("nothing here")


def test_json_instruction_kinds() -> None:
    """Enums and lists are described in words."""
    schema = {
        "type": "object",
        "properties": {
            "mood": {"type": "string", "enum": ["calm", "busy"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["mood"],
    }
    assert json_instruction(schema) == (
        'Answer with only a JSON object with the keys: mood ("calm" or "busy"), '
        "tags (list of string, optional)."
    )
