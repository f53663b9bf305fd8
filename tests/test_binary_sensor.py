"""Connectivity sensor of the rkllama server."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, CONF_MODEL, STATE_OFF, STATE_ON, EntityCategory
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


async def test_connectivity(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The sensor is on while polls succeed and off (not unavailable) during an outage."""
    entity_id = entity_registry.async_get_entity_id(
        "binary_sensor", "rkllm", f"{init_integration.entry_id}_server_connectivity"
    )
    assert entity_id
    entity = entity_registry.async_get(entity_id)
    assert entity.entity_category is EntityCategory.DIAGNOSTIC
    state = hass.states.get(entity_id)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_DEVICE_CLASS] == BinarySensorDeviceClass.CONNECTIVITY

    emulator.set_fault(Fault.REFUSE)
    freezer.tick(SCAN_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(entity_id).state == STATE_OFF

    emulator.clear_faults()
    freezer.tick(SCAN_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(entity_id).state == STATE_ON
