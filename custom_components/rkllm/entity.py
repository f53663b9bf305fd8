"""Base entity of the server device."""

from __future__ import annotations

from typing import override

from homeassistant.const import CONF_URL
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.urls import without_credentials
from .const import DOMAIN, MANUFACTURER
from .coordinator import RkllmDataUpdateCoordinator


class RkllmEntity(CoordinatorEntity[RkllmDataUpdateCoordinator]):
    """An entity of the rkllama server device."""

    _attr_has_entity_name = True
    _available_during_outage = False
    """True for an entity whose state still holds while the server is down."""

    def __init__(
        self, coordinator: RkllmDataUpdateCoordinator, description: EntityDescription
    ) -> None:
        """Describe the entity and attach it to the server's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        info = coordinator.server_info
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer=MANUFACTURER,
            model=f"rkllama ({info.flavour.value} API)" if info else "rkllama",
            name=entry.title,
            sw_version=info.version if info else None,
            # Credentials in the URL (a reverse proxy's basic auth) must not reach the UI.
            configuration_url=without_credentials(entry.data[CONF_URL]),
        )

    @property
    @override
    def available(self) -> bool:
        """Return False while the server is down, unless the entity holds without it."""
        return self._available_during_outage or super().available
