"""A tool call runs the moment its JSON is complete; the rest of the answer drains."""

from __future__ import annotations

import asyncio
import time

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from rkllama_emulator import EmulatorConfig, RkllamaEmulator, Timing

from .conftest import agent_id
from .home_helpers import async_build_home

CHATTER = " I have turned on the Kitchen Ceiling for you, it is shining brightly now." * 2
DECODE_RATE = 25.0  # pieces per second: the chatter takes over a second


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Return a slow model that keeps writing after its tool call, as small models do."""
    return EmulatorConfig(
        models_dir=emulator_config.models_dir,
        timing=Timing(
            load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=DECODE_RATE
        ),
        holdback_replay_seconds=emulator_config.holdback_replay_seconds,
        tool_call_chatter=CHATTER,
    )


@pytest.mark.usefixtures("init_integration")
async def test_call_runs_at_once_and_the_rest_drains(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The light goes on and the turn ends while the model still writes; no disconnect."""
    await async_build_home(hass, size=12)
    result = await asyncio.create_task(
        conversation.async_converse(
            hass,
            "Turn on the Kitchen Ceiling",
            None,
            Context(),
            agent_id=agent_id(hass, mock_config_entry),
        )
    )
    turn_ended = time.time()
    state = hass.states.get("light.kitchen_ceiling")
    assert state.state == "on"
    assert result.response.speech["plain"]["speech"] == "Turned on the light"
    record = emulator.requests[-1]
    assert record.ended_at is None  # the model is still writing
    assert state.last_changed.timestamp() < turn_ended

    # The client reads the rest in the background: the generation runs to its end, and
    # the server never sees its client go away (upstream would kill the worker).
    await mock_config_entry.runtime_data.coordinator.client.wait_drained(10)
    assert record.ended_at is not None
    assert record.last_token_at is not None
    assert record.last_token_at > turn_ended
    assert record.reply.endswith(CHATTER)
    assert emulator.disconnects == 0
    assert "shining" not in str(result.response.speech)
