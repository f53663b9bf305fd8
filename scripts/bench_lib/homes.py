"""Generated homes: template entities across rooms, areas, and what is exposed to Assist.

A home of N entities is the first N of one fixed, seeded order, so smaller homes are subsets of
larger ones. The order takes the five domains in turn (light, switch, cover, sensor,
binary_sensor), each domain's (room, kind) pairs shuffled with a fixed seed, with the kitchen
light first: every home has `light.kitchen_light`, which the tool round trip turns on.
"""

from __future__ import annotations

from dataclasses import dataclass
import random

from demo_lib.hass import HassWebSocket
from demo_lib.procs import DemoError

SEED = 20261025
KITCHEN_LIGHT = "light.kitchen_light"
ROOMS = (
    "Kitchen",
    "Living room",
    "Bedroom",
    "Bathroom",
    "Office",
    "Hallway",
    "Garage",
    "Garden",
    "Dining room",
    "Kids room",
    "Guest room",
    "Laundry room",
    "Attic",
    "Basement",
    "Study",
    "Nursery",
    "Porch",
    "Patio",
    "Pantry",
    "Workshop",
)
# domain -> the kinds of entity of that domain every room can have
KINDS: dict[str, tuple[str, ...]] = {
    "light": ("light", "lamp"),
    "switch": ("outlet", "fan"),
    "cover": ("blinds", "curtains"),
    "sensor": ("temperature", "humidity"),
    "binary_sensor": ("motion", "window"),
}
MAX_ENTITIES = len(ROOMS) * sum(len(kinds) for kinds in KINDS.values())  # 200


def slug(name: str) -> str:
    """Return Home Assistant's object id for a name made of words and spaces."""
    return name.lower().replace(" ", "_")


@dataclass(frozen=True)
class HomeEntity:
    """One generated entity."""

    domain: str
    room: str
    kind: str

    @property
    def name(self) -> str:
        """Return the friendly name, e.g. "Kitchen light"."""
        return f"{self.room} {self.kind}"

    @property
    def entity_id(self) -> str:
        """Return the entity id, e.g. "light.kitchen_light"."""
        return f"{self.domain}.{slug(self.name)}"

    @property
    def area_id(self) -> str:
        """Return the id of the entity's area (as created by ``create_areas``)."""
        return slug(self.room)


def _order() -> list[HomeEntity]:
    rng = random.Random(SEED)  # noqa: S311 - a fixed seed for a repeatable home
    per_domain: dict[str, list[HomeEntity]] = {}
    for domain, kinds in KINDS.items():
        entities = [HomeEntity(domain, room, kind) for room in ROOMS for kind in kinds]
        rng.shuffle(entities)
        per_domain[domain] = entities
    lights = per_domain["light"]
    kitchen = next(e for e in lights if e.entity_id == KITCHEN_LIGHT)
    lights.remove(kitchen)
    lights.insert(0, kitchen)
    order: list[HomeEntity] = []
    for index in range(max(len(entities) for entities in per_domain.values())):
        order.extend(entities[index] for entities in per_domain.values() if index < len(entities))
    return order


def home(size: int) -> list[HomeEntity]:
    """Return the entities of the home with ``size`` entities."""
    if not 1 <= size <= MAX_ENTITIES:
        raise DemoError(f"a home has 1 to {MAX_ENTITIES} entities, not {size}")
    return _order()[:size]


def _entity_yaml(entity: HomeEntity) -> list[str]:
    head = [f"      - name: {entity.name}", f"        unique_id: bench_{slug(entity.name)}"]
    if entity.domain == "light":
        return [*head, "        turn_on: []", "        turn_off: []", "        set_level: []"]
    if entity.domain == "switch":
        return [*head, "        turn_on: []", "        turn_off: []"]
    if entity.domain == "cover":
        return [
            *head,
            f"        device_class: {entity.kind.removesuffix('s')}",  # blind, curtain
            "        open_cover: []",
            "        close_cover: []",
            "        stop_cover: []",
        ]
    if entity.domain == "sensor":
        unit, value = ("°C", "21.5") if entity.kind == "temperature" else ("%", "45")
        return [
            *head,
            f'        state: "{value}"',
            f'        unit_of_measurement: "{unit}"',
            f"        device_class: {entity.kind}",
            "        state_class: measurement",
        ]
    return [*head, '        state: "off"', f"        device_class: {entity.kind}"]


def template_yaml(entities: list[HomeEntity]) -> str:
    """Return the body of the ``template:`` block that creates ``entities`` (offline)."""
    lines: list[str] = []
    for domain in KINDS:
        members = [e for e in entities if e.domain == domain]
        if not members:
            continue
        lines.append(f"  - {domain}:")
        for entity in members:
            lines += _entity_yaml(entity)
    return "\n".join(lines)


async def create_areas(ws: HassWebSocket, entities: list[HomeEntity]) -> None:
    """Create the rooms as areas (those that are missing) and put each entity in its room."""
    existing = {area["area_id"]: area for area in await ws.call("config/area_registry/list")}
    for room in dict.fromkeys(entity.room for entity in entities):
        if slug(room) not in existing:
            created = await ws.call("config/area_registry/create", name=room)
            if created["area_id"] != slug(room):
                raise DemoError(f"area {room!r} got the id {created['area_id']!r}")
    registry = {entry["entity_id"] for entry in await ws.call("config/entity_registry/list")}
    missing = [entity.entity_id for entity in entities if entity.entity_id not in registry]
    if missing:
        raise DemoError(f"Home Assistant did not create {len(missing)} entities: {missing[:5]}")
    for entity in entities:
        await ws.call(
            "config/entity_registry/update", entity_id=entity.entity_id, area_id=entity.area_id
        )


async def expose_only(ws: HassWebSocket, entities: list[HomeEntity]) -> int:
    """Expose exactly ``entities`` to Assist (unexpose everything else); return the count."""
    wanted = {entity.entity_id for entity in entities}
    # Every other entity is unexposed explicitly: HA exposes new lights, switches, some sensors
    # etc. by default, and decides for an entity without a setting when it is first asked.
    states = {state["entity_id"] for state in await ws.call("get_states")}
    if extra := sorted(states - wanted):
        await ws.call(
            "homeassistant/expose_entity",
            assistants=["conversation"],
            entity_ids=extra,
            should_expose=False,
        )
    await ws.call(
        "homeassistant/expose_entity",
        assistants=["conversation"],
        entity_ids=sorted(wanted),
        should_expose=True,
    )
    listed = await ws.call("homeassistant/expose_entity/list")
    now = {
        entity_id
        for entity_id, settings in (listed.get("exposed_entities") or {}).items()
        if (settings or {}).get("conversation")
    }
    if now != wanted:
        raise DemoError(f"exposed {len(now)} entities instead of the home's {len(wanted)}")
    return len(now)
