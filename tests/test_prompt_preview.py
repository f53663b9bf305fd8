"""The prompt preview in the agent form: fixed prompt tokens and the wait they cost."""

from __future__ import annotations

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import CONF_ENTITIES_IN_PROMPT, ENTITIES_ALL
from custom_components.rkllm.prompt.history import MESSAGE_OVERHEAD_TOKENS
from custom_components.rkllm.prompt.tokens import estimate_tokens
from rkllama_emulator import EmulatorConfig, RkllamaEmulator, Timing

from .conftest import agent_id
from .home_helpers import async_build_home

PREFILL_RATE = 2000.0


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Return an emulator that reads prompts at a rate the preview can measure."""
    return EmulatorConfig(
        models_dir=emulator_config.models_dir,
        timing=Timing(
            load_seconds=0.01,
            prefill_tokens_per_second=PREFILL_RATE,
            decode_tokens_per_second=2000.0,
        ),
        holdback_replay_seconds=emulator_config.holdback_replay_seconds,
    )


async def _preview(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    subentry = next(s for s in entry.subentries.values() if s.subentry_type == "conversation")
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["type"] is FlowResultType.FORM
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    return placeholders


@pytest.mark.usefixtures("init_integration")
async def test_preview_matches_the_prompt(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The form shows the fixed part a turn sends, and its wait at the measured rate."""
    await async_build_home(hass, size=53)
    before = await _preview(hass, mock_config_entry)
    assert before["prefill_rate"] == "340"  # nothing measured yet: an RK3588's rate

    await conversation.async_converse(
        hass, "What is 2 + 2?", None, Context(), agent_id=agent_id(hass, mock_config_entry)
    )
    system = emulator.requests[-1].messages[0]["content"]
    tokens = estimate_tokens(system) + MESSAGE_OVERHEAD_TOKENS  # no tokenizer: estimates
    after = await _preview(hass, mock_config_entry)
    assert after["prompt_tokens"] == before["prompt_tokens"] == str(tokens)
    rate = float(after["prefill_rate"])
    assert PREFILL_RATE * 0.5 < rate < PREFILL_RATE * 1.5
    assert after["prompt_seconds"] == f"{tokens / rate:.1f}"


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [
        {
            CONF_MODEL: "Qwen2.5-1.5B-Instruct",
            CONF_PROMPT: "Be brief.",
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            CONF_ENTITIES_IN_PROMPT: ENTITIES_ALL,
        }
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_preview_follows_exposed_entities_and_options(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """All entities in the prompt: the preview grows with the home; a new agent has one too."""
    entity_ids = await async_build_home(hass, size=53)
    large = int((await _preview(hass, mock_config_entry))["prompt_tokens"])
    for entity_id in entity_ids[12:]:
        async_expose_entity(hass, "conversation", entity_id, False)
    small = int((await _preview(hass, mock_config_entry))["prompt_tokens"])
    assert large > small + 100

    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, "conversation"), context={"source": SOURCE_USER}
    )
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert 0 < int(placeholders["prompt_tokens"]) < large  # relevant entities by default
