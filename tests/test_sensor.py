"""Sensors of the rkllama server."""

from __future__ import annotations

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from rkllama_emulator import Fault, RkllamaEmulator

from .conftest import TEST_MODEL, answer_stats

KEYS = (
    "loaded_model",
    "tokens_per_second",
    "time_to_first_token",
    "prompt_tokens",
    "completion_tokens",
    "response_time",
    "available_models",
    "pool_boards_online",
    "pool_in_flight",
    "pool_queue_length",
)


def _entity_ids(entity_registry: er.EntityRegistry, entry: MockConfigEntry) -> dict[str, str]:
    """Return the sensors' entity ids by description key."""
    prefix = f"{entry.entry_id}_"
    return {
        e.unique_id.removeprefix(prefix): e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if e.domain == "sensor" and e.unique_id.startswith(prefix)
    }


async def test_sensors_before_any_answer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    entity_registry: er.EntityRegistry,
) -> None:
    """Sensors exist with units and classes; answer figures are unknown until an answer."""
    await hass.async_block_till_done(wait_background_tasks=True)
    ids = _entity_ids(entity_registry, init_integration)
    assert set(ids) == set(KEYS)
    coordinator = init_integration.runtime_data.coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert hass.states.get(ids["loaded_model"]).state == TEST_MODEL
    models = hass.states.get(ids["available_models"])
    assert models.state == str(len(coordinator.data.models)) == "8"
    assert entity_registry.async_get(ids["available_models"]).entity_category is (
        EntityCategory.DIAGNOSTIC
    )
    for key in ("tokens_per_second", "time_to_first_token", "prompt_tokens", "response_time"):
        assert hass.states.get(ids[key]).state == STATE_UNKNOWN

    tps = hass.states.get(ids["tokens_per_second"])
    assert tps.attributes[ATTR_UNIT_OF_MEASUREMENT] == "tok/s"
    assert tps.attributes[ATTR_STATE_CLASS] == SensorStateClass.MEASUREMENT
    ttft = hass.states.get(ids["time_to_first_token"])
    assert ttft.attributes[ATTR_UNIT_OF_MEASUREMENT] == UnitOfTime.MILLISECONDS
    assert ttft.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.DURATION
    response = hass.states.get(ids["response_time"])
    assert response.attributes[ATTR_UNIT_OF_MEASUREMENT] == UnitOfTime.SECONDS
    assert entity_registry.async_get(ids["tokens_per_second"]).options["sensor"] == {
        "suggested_display_precision": 1
    }


async def test_sensors_after_an_answer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A recorded answer updates the figures at once."""
    coordinator = init_integration.runtime_data.coordinator
    stats = await answer_stats(coordinator.client, "What is the capital of France?")
    coordinator.async_record_inference(TEST_MODEL, stats)
    await hass.async_block_till_done()

    ids = _entity_ids(entity_registry, init_integration)
    assert stats.tokens_per_second is not None
    assert float(hass.states.get(ids["tokens_per_second"]).state) == pytest.approx(
        stats.tokens_per_second
    )
    assert float(hass.states.get(ids["time_to_first_token"]).state) == pytest.approx(
        stats.time_to_first_chunk * 1000, abs=0.1
    )
    assert hass.states.get(ids["prompt_tokens"]).state == str(stats.prompt_tokens)
    assert hass.states.get(ids["completion_tokens"]).state == str(stats.completion_tokens)
    assert stats.prompt_tokens > 0
    assert stats.completion_tokens > 0
    assert float(hass.states.get(ids["response_time"]).state) == pytest.approx(
        stats.wall_seconds, abs=0.001
    )

    # The figures survive the next poll.
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(ids["prompt_tokens"]).state == str(stats.prompt_tokens)


@pytest.mark.parametrize("conversation_subentry_data", [{"model": TEST_MODEL}])
async def test_loaded_model_none(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """With nothing resident the loaded-model sensor says none."""
    ids = _entity_ids(entity_registry, init_integration)
    assert hass.states.get(ids["loaded_model"]).state == "none"


async def test_server_down_pool_figures_stay(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    entity_registry: er.EntityRegistry,
) -> None:
    """While the server is down its figures are unavailable; the pool's go on."""
    ids = _entity_ids(entity_registry, init_integration)
    emulator.set_fault(Fault.REFUSE)
    await init_integration.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(ids["loaded_model"]).state == STATE_UNAVAILABLE
    for key in ("pool_boards_online", "pool_in_flight", "pool_queue_length"):
        assert hass.states.get(ids[key]).state != STATE_UNAVAILABLE, key
    emulator.clear_faults()
