"""Connectivity of the rkllama server."""

from __future__ import annotations

from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import RkllmEntity
from .runtime import RkllmConfigEntry

# Coordinator is used to centralize the data updates
PARALLEL_UPDATES = 0

CONNECTIVITY = BinarySensorEntityDescription(
    key="server_connectivity",
    translation_key="server_connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the server's connectivity sensor."""
    async_add_entities([RkllmConnectivitySensor(entry.runtime_data.coordinator, CONNECTIVITY)])


class RkllmConnectivitySensor(RkllmEntity, BinarySensorEntity):
    """On while the server answers the coordinator's polls."""

    _available_during_outage = True  # the outage is what this sensor reports

    @property
    @override
    def is_on(self) -> bool:
        """Return True when the last poll reached the server."""
        return self.coordinator.last_update_success
