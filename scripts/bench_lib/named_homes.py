"""Homes with hand-written names, aliases, areas and floors, in one language each.

The generated homes (bench_lib/homes.py) have English names made of a room and a kind; these
homes carry the names a speaker of their language gives (German, Russian, Chinese), so the
bench measures prompts in those scripts. Each is picked by its size on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from demo_lib.hass import HassWebSocket
from demo_lib.procs import DemoError

_SENSOR_UNITS = {"temperature": ("°C", "21.5"), "humidity": ("%", "45")}
_ACTIONS = {
    "light": ("turn_on", "turn_off", "set_level"),
    "switch": ("turn_on", "turn_off"),
    "fan": ("turn_on", "turn_off"),
    "cover": ("open_cover", "close_cover", "stop_cover"),
    "lock": ("lock", "unlock"),
}


@dataclass(frozen=True)
class NamedEntity:
    """One entity of a named home."""

    entity_id: str
    domain: str
    name: str
    area: str
    aliases: tuple[str, ...]
    device_class: str | None
    prefix: str
    """The home's tag in unique ids (``de``, ``ru``, ``zh``)."""

    @property
    def unique_id(self) -> str:
        """Return the template entity's unique id."""
        return f"bench_{self.prefix}_{self.entity_id.split('.', 1)[1]}"


@dataclass(frozen=True)
class Place:
    """A floor or an area: its name, aliases and (areas) the floor it is on."""

    name: str
    aliases: tuple[str, ...] = ()
    floor: str | None = None


@dataclass(frozen=True)
class NamedHome:
    """A home in one language: what ``--homes <size>`` builds."""

    size: int
    language: str
    """The Assist pipeline language of the home's agents."""
    floors: tuple[Place, ...]
    areas: tuple[Place, ...]
    entities: tuple[NamedEntity, ...]
    command: str | None = None
    """A device command in the home's language, whose prompt tokens measure 2 records."""


def _entity_yaml(entity: NamedEntity) -> list[str]:
    lines = [f'      - name: "{entity.name}"', f"        unique_id: {entity.unique_id}"]
    lines += [f"        {action}: []" for action in _ACTIONS.get(entity.domain, ())]
    if entity.domain == "lock":
        lines.append("        optimistic: true")
    if entity.domain == "cover" and entity.device_class:
        lines.append(f"        device_class: {entity.device_class}")
    if entity.domain == "sensor":
        unit, value = _SENSOR_UNITS.get(entity.device_class or "", ("", "1"))
        lines.append(f'        state: "{value}"')
        if unit:
            lines += [
                f'        unit_of_measurement: "{unit}"',
                f"        device_class: {entity.device_class}",
                "        state_class: measurement",
            ]
    if entity.domain == "binary_sensor":
        lines.append('        state: "off"')
        if entity.device_class:
            lines.append(f"        device_class: {entity.device_class}")
    return lines


def template_yaml(entities: list[NamedEntity]) -> str:
    """Return the body of the ``template:`` block that creates the entities (offline)."""
    lines: list[str] = []
    for domain in dict.fromkeys(entity.domain for entity in entities):
        lines.append(f"  - {domain}:")
        for entity in (e for e in entities if e.domain == domain):
            lines += _entity_yaml(entity)
    return "\n".join(lines)


async def create(ws: HassWebSocket, home: NamedHome) -> None:
    """Create floors and areas (with aliases), fix entity ids, set areas and entity aliases."""
    floors: dict[str, str] = {}
    for floor in home.floors:
        created = await ws.call(
            "config/floor_registry/create", name=floor.name, aliases=list(floor.aliases)
        )
        floors[floor.name] = created["floor_id"]
    areas: dict[str, str] = {}
    for area in home.areas:
        extra: dict[str, Any] = {"floor_id": floors[area.floor]} if area.floor else {}
        created = await ws.call(
            "config/area_registry/create", name=area.name, aliases=list(area.aliases), **extra
        )
        areas[area.name] = created["area_id"]
    registry = {
        entry["unique_id"]: entry["entity_id"]
        for entry in await ws.call("config/entity_registry/list")
        if entry.get("platform") == "template"
    }
    for entity in home.entities:
        current = registry.get(entity.unique_id)
        if current is None:
            raise DemoError(f"Home Assistant did not create {entity.entity_id} ({entity.name})")
        update: dict[str, Any] = {"area_id": areas[entity.area]}
        if entity.aliases:
            update["aliases"] = list(entity.aliases)
        if current != entity.entity_id:
            update["new_entity_id"] = entity.entity_id
        await ws.call("config/entity_registry/update", entity_id=current, **update)


Row = tuple[str, str, str, tuple[str, ...], str | None]
"""An entity as written in a home's module: entity id, name, area, aliases, device class."""


def entities_from_rows(prefix: str, rows: tuple[Row, ...]) -> tuple[NamedEntity, ...]:
    """Return the entities of a home written as rows."""
    return tuple(
        NamedEntity(entity_id, entity_id.split(".", 1)[0], name, area, aliases, kind, prefix)
        for entity_id, name, area, aliases, kind in rows
    )
