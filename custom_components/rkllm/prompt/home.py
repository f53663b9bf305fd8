"""The exposed entities of the home, as the relevance matcher and the prompt see them."""

from __future__ import annotations

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.components.light.const import ATTR_SUPPORTED_COLOR_MODES, ColorMode
from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
    intent,
)

from .matcher import Entity
from .tools import LIGHT_SET

# Domains HA leaves out of its overview of the home: they have tools of their own.
_OWN_TOOLS = frozenset({"calendar", "script"})
_COLOR_MODES = frozenset(
    {ColorMode.HS, ColorMode.RGB, ColorMode.RGBW, ColorMode.RGBWW, ColorMode.XY}
)


@callback
def async_exposed_entities(hass: HomeAssistant, assistant: str) -> list[Entity]:
    """Return the entities exposed to `assistant`, sorted by name."""
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    areas = ar.async_get(hass)
    floors = fr.async_get(hass)
    found: list[Entity] = []
    for state in sorted(hass.states.async_all(), key=lambda s: (s.name.casefold(), s.entity_id)):
        if state.domain in _OWN_TOOLS or not async_should_expose(hass, assistant, state.entity_id):
            continue
        entry = entities.async_get(state.entity_id)
        names = intent.async_get_entity_aliases(hass, entry, state=state) or [state.name]
        area_id = entry.area_id if entry else None
        if (
            area_id is None
            and entry
            and entry.device_id
            and (device := devices.async_get(entry.device_id))
        ):
            area_id = dr.async_get_effective_area_id(hass, device)
        area = areas.async_get_area(area_id) if area_id else None
        floor = floors.async_get_floor(area.floor_id) if area and area.floor_id else None
        found.append(
            Entity(
                state.entity_id,
                state.domain,
                tuple(dict.fromkeys(name for name in names if name)),
                (area.name, *sorted(area.aliases)) if area else (),
                (floor.name, *sorted(floor.aliases)) if floor else (),
                state.attributes.get(ATTR_DEVICE_CLASS),
            )
        )
    return found


@callback
def async_unusable_parameters(
    hass: HomeAssistant, exposed: list[Entity]
) -> dict[str, frozenset[str]]:
    """Return, per tool (`*` for all), the parameters the home cannot use.

    No floors: no `floor`; no areas: no `area`; light settings no exposed light supports.
    """
    unusable: dict[str, frozenset[str]] = {}
    common: set[str] = set()
    if not any(True for _ in fr.async_get(hass).async_list_floors()):
        common.add("floor")
    if not any(entity.areas for entity in exposed):
        common.add("area")
    unusable["*"] = frozenset(common)
    modes: set[str] = set()
    for entity in exposed:
        if entity.domain == "light" and (state := hass.states.get(entity.entity_id)):
            modes.update(state.attributes.get(ATTR_SUPPORTED_COLOR_MODES) or ())
    light: set[str] = set()
    if not modes & _COLOR_MODES:
        light.add("color")
    if ColorMode.COLOR_TEMP not in modes:
        light.add("temperature")
    if not modes - {ColorMode.ONOFF, ColorMode.UNKNOWN}:
        light.add("brightness")
    unusable[LIGHT_SET] = frozenset(light)
    return unusable
