"""Several boards: answers spread per request over servers that hold the agent's model."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from homeassistant.components import conversation
from homeassistant.const import CONF_MODEL, CONF_PROMPT, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from rkllama_emulator import EmulatorConfig, RkllamaEmulator, Timing

from .conftest import TEST_MODEL

SLOW = Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=150.0)


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Decode slowly enough for two answers to overlap."""
    return replace(emulator_config, timing=SLOW)


async def _add_server(hass: HomeAssistant, url: str, subentries: list[dict[str, object]]) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title=url, data={CONF_URL: url}, unique_id=url, subentries_data=subentries
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("setup_ha")
async def test_requests_spread_over_boards(
    hass: HomeAssistant, emulator: RkllamaEmulator, emulator_config: EmulatorConfig
) -> None:
    """One at a time stays on the agent's board; overlapping ones use the idle board too."""
    async with RkllamaEmulator(emulator_config) as second:
        await second.start()
        agent = {
            "data": {CONF_MODEL: TEST_MODEL, CONF_PROMPT: "Be brief."},
            "subentry_type": "conversation",
            "title": "Agent",
            "unique_id": None,
        }
        await _add_server(hass, emulator.url, [agent])
        await _add_server(hass, second.url, [])
        agent_id = next(
            e.entity_id
            for e in er.async_get(hass).entities.values()
            if e.domain == "conversation" and e.platform == DOMAIN
        )

        async def ask(text: str) -> str:
            result = await asyncio.create_task(
                conversation.async_converse(hass, text, None, Context(), agent_id=agent_id)
            )
            return str(result.response.speech["plain"]["speech"])

        assert "423" in await ask("What is 145 + 278?")
        assert "3" in await ask("What is 1 + 2?")
        assert (len(emulator.requests), len(second.requests)) == (2, 0)

        answers = await asyncio.gather(
            ask("Write a haiku about AI."), ask("Is 17 a prime number? Explain.")
        )
        assert all(answers)
        assert (len(emulator.requests), len(second.requests)) == (3, 1)
        assert second.requests[0].model == TEST_MODEL
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
