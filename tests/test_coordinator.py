"""Polling of the rkllama server: outages and recovery."""

from __future__ import annotations

import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_MODEL, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.rkllm.const import SCAN_INTERVAL
from rkllama_emulator import Fault, RkllamaEmulator

from .conftest import TEST_MODEL


@pytest.fixture
def conversation_subentry_data() -> dict[str, object]:
    """Return an agent without "keep loaded".

    With the clock frozen the emulator's own sleeps never end, so nothing may run a
    generation or a load (such as the keep-loaded refresh) in these tests.
    """
    return {CONF_MODEL: TEST_MODEL}


def _entity_id(entity_registry: er.EntityRegistry, entry: MockConfigEntry, key: str) -> str:
    """Return the entity id of a server entity by its description key."""
    entity_id = next(
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if e.unique_id == f"{entry.entry_id}_{key}"
    )
    assert entity_id
    return entity_id


async def _poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let one poll interval pass."""
    freezer.tick(SCAN_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_outage_and_recovery(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    *,
    emulator: RkllamaEmulator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entities go unavailable after a failed poll, log once, and come back."""
    loaded = _entity_id(entity_registry, init_integration, "loaded_model")
    models = _entity_id(entity_registry, init_integration, "available_models")
    connectivity = _entity_id(entity_registry, init_integration, "server_connectivity")
    assert hass.states.get(loaded).state != STATE_UNAVAILABLE
    assert hass.states.get(connectivity).state == STATE_ON

    caplog.clear()
    caplog.set_level(logging.INFO)
    emulator.set_fault(Fault.REFUSE)
    for _ in range(3):
        await _poll(hass, freezer)
        assert hass.states.get(loaded).state == STATE_UNAVAILABLE
        assert hass.states.get(models).state == STATE_UNAVAILABLE
        assert hass.states.get(connectivity).state == STATE_OFF
    errors = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.rkllm") and r.levelno >= logging.WARNING
    ]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "Error fetching rkllama 127.0.0.1 data" in errors[0].getMessage()
    assert "Cannot connect to the rkllama server" in errors[0].getMessage()

    emulator.clear_faults()
    await _poll(hass, freezer)
    assert hass.states.get(loaded).state != STATE_UNAVAILABLE
    assert hass.states.get(models).state == str(
        len(init_integration.runtime_data.coordinator.data.models)
    )
    assert hass.states.get(connectivity).state == STATE_ON
    assert [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()] == [
        "Fetching rkllama 127.0.0.1 data recovered"
    ]


async def test_model_list_follows_server(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Models loaded behind Home Assistant's back show up at the next poll."""
    coordinator = init_integration.runtime_data.coordinator
    loaded = _entity_id(entity_registry, init_integration, "loaded_model")
    assert hass.states.get(loaded).state == "none"
    await coordinator.client.load_model("Qwen2.5-3B")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(loaded).state == "Qwen2.5-3B"
    assert init_integration.runtime_data.pool.residency(init_integration.entry_id).resident == [
        "Qwen2.5-3B"
    ]
