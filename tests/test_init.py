"""Setup and unload of rkllm config entries."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.stream_parser import DATA_PARSER_FACTORY
from rkllama_emulator import Fault, RkllamaEmulator


async def test_setup_and_unload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """An entry sets up against the emulator, makes its device, and unloads."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data.coordinator
    assert coordinator.server_info is not None
    assert coordinator.data.model_names

    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == entry.title
    assert device.sw_version == coordinator.server_info.version

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        (Fault.REFUSE, ConfigEntryState.SETUP_RETRY),
        (Fault.NOT_RKLLAMA, ConfigEntryState.SETUP_ERROR),
    ],
)
@pytest.mark.usefixtures("setup_ha")
async def test_setup_failures(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    fault: Fault,
    state: ConfigEntryState,
) -> None:
    """A server that is down is retried; something that is not rkllama is an error."""
    emulator.set_fault(fault)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is state


async def test_subentry_added_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Changing the entry (a subentry added) reloads it, so the new agent appears."""
    coordinator = init_integration.runtime_data.coordinator
    hass.config_entries.async_update_entry(init_integration, title="Renamed")
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.coordinator is not coordinator


async def test_configuration_url_without_credentials(
    hass: HomeAssistant,
    setup_ha: None,
    emulator: RkllamaEmulator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The device's configuration URL never shows URL credentials."""
    url = emulator.url.replace("http://", "http://admin:hunter2@")
    entry = MockConfigEntry(domain=DOMAIN, data={"url": url}, title="rkllama")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None
    assert device.configuration_url == emulator.url
    assert "hunter2" not in str(device.configuration_url)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_agents_appear_with_the_stream_parser_imported(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Set-up imports transformers' parser, so the first turn after a restart never waits."""
    assert init_integration.state is ConfigEntryState.LOADED
    future = hass.data[DATA_PARSER_FACTORY]
    assert future.done()
    assert callable(future.result())
