"""The rkllm integration: Home Assistant's voice assistant on an rkllama (Rockchip NPU) server."""

from __future__ import annotations

from homeassistant.const import CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import RkllamaClient
from .const import (
    CONF_BOARDS,
    CONF_TOKEN,
    DOMAIN,
    UNLOAD_DRAIN_LIMIT,
)
from .coordinator import RkllmDataUpdateCoordinator
from .pool import async_get_pool
from .runtime import RkllmConfigEntry, RkllmRuntimeData
from .services import async_setup_services
from .stream_parser import async_get_parser_factory, async_start_parser_import

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = (
    Platform.AI_TASK,
    Platform.BINARY_SENSOR,
    Platform.CONVERSATION,
    Platform.SENSOR,
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:  # noqa: ARG001
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: RkllmConfigEntry) -> bool:
    """Set up one rkllama server from a config entry."""
    async_start_parser_import(hass)  # seconds of import, beside the first poll
    client = RkllamaClient(
        entry.data[CONF_URL],
        session=async_get_clientsession(hass),
        token=entry.data.get(CONF_TOKEN) or None,
    )
    coordinator = await RkllmDataUpdateCoordinator.async_create(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    pool = async_get_pool(hass)
    entry.runtime_data = RkllmRuntimeData(coordinator=coordinator, pool=pool)
    # Preloads the models agents keep loaded, on this server and the others that have them.
    entry.async_on_unload(
        pool.async_register(entry.entry_id, coordinator, entry.data.get(CONF_BOARDS, 1))
    )
    # The agents appear ready to answer: no turn, not even the first, waits for the import.
    await async_get_parser_factory(hass)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: RkllmConfigEntry) -> bool:
    """Unload a config entry; streams still being read are drained first."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.coordinator.client.wait_drained(UNLOAD_DRAIN_LIMIT)
    return unloaded


async def _async_reload_on_update(hass: HomeAssistant, entry: RkllmConfigEntry) -> None:
    """Reload when the entry or its subentries change, so new agents appear."""
    await hass.config_entries.async_reload(entry.entry_id)
