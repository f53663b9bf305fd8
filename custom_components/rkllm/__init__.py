"""The rkllm integration: Home Assistant's voice assistant on an rkllama (Rockchip NPU) server."""

from __future__ import annotations

from homeassistant.const import CONF_URL, EVENT_HOMEASSISTANT_CLOSE, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import config_validation as cv
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
    # The client's own connections: unloading or deleting the entry closes every one of them.
    client = RkllamaClient(entry.data[CONF_URL], token=entry.data.get(CONF_TOKEN) or None)
    try:
        coordinator = await RkllmDataUpdateCoordinator.async_create(hass, entry, client)
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        await client.close(0)
        raise

    async def close_at_stop(_event: Event) -> None:
        await client.close(0)

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, close_at_stop))
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
    """Unload a config entry; close its connections once abandoned answers are drained.

    Reads still under way (a turn, a drain past the limit) end with the connections.
    """
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.coordinator.client.close(UNLOAD_DRAIN_LIMIT)
    return unloaded


async def _async_reload_on_update(hass: HomeAssistant, entry: RkllmConfigEntry) -> None:
    """Reload when the entry or its subentries change, so new agents appear."""
    await hass.config_entries.async_reload(entry.entry_id)
