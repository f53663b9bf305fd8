"""The 119-entity home with German names, aliases, areas and floors (the corpus's `de_119`).

It comes from tests/fixtures/relevance_corpus.json, the utterance corpus of the relevance tests,
so the bench and the tests describe the same home.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from demo_lib.hass import HassWebSocket
from demo_lib.procs import DemoError

SIZE = 119  # the bench's key of this home (`--homes 119`)
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "relevance_corpus.json"
_SENSOR_UNITS = {"temperature": ("°C", "21.5"), "humidity": ("%", "45")}


@dataclass(frozen=True)
class GermanEntity:
    """One entity of the German home."""

    entity_id: str
    domain: str
    name: str
    area: str
    aliases: tuple[str, ...]
    device_class: str | None

    @property
    def unique_id(self) -> str:
        """Return the template entity's unique id."""
        return f"bench_de_{self.entity_id.split('.', 1)[1]}"


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))["homes"]["de_119"]
    return data


def entities() -> list[GermanEntity]:
    """Return the home's entities."""
    return [
        GermanEntity(
            row["entity_id"],
            row["domain"],
            row["name"],
            row["area"],
            tuple(row.get("aliases", ())),
            row.get("device_class"),
        )
        for row in _spec()["entities"]
    ]


def _entity_yaml(entity: GermanEntity) -> list[str]:
    lines = [f'      - name: "{entity.name}"', f"        unique_id: {entity.unique_id}"]
    actions = {
        "light": ("turn_on", "turn_off", "set_level"),
        "switch": ("turn_on", "turn_off"),
        "fan": ("turn_on", "turn_off"),
        "cover": ("open_cover", "close_cover", "stop_cover"),
        "lock": ("lock", "unlock"),
    }.get(entity.domain, ())
    lines += [f"        {action}: []" for action in actions]
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


def template_yaml(home: list[GermanEntity]) -> str:
    """Return the body of the ``template:`` block that creates the home (offline)."""
    lines: list[str] = []
    for domain in dict.fromkeys(entity.domain for entity in home):
        lines.append(f"  - {domain}:")
        for entity in (e for e in home if e.domain == domain):
            lines += _entity_yaml(entity)
    return "\n".join(lines)


async def create(ws: HassWebSocket, home: list[GermanEntity]) -> None:
    """Create floors and areas (with aliases), fix entity ids, set areas and entity aliases."""
    spec = _spec()
    floors: dict[str, str] = {}
    for floor in spec["floors"]:
        created = await ws.call(
            "config/floor_registry/create", name=floor["name"], aliases=floor["aliases"]
        )
        floors[floor["name"]] = created["floor_id"]
    areas: dict[str, str] = {}
    for area in spec["areas"]:
        extra: dict[str, Any] = {"floor_id": floors[area["floor"]]} if area["floor"] else {}
        created = await ws.call(
            "config/area_registry/create", name=area["name"], aliases=area["aliases"], **extra
        )
        areas[area["name"]] = created["area_id"]
    registry = {
        entry["unique_id"]: entry["entity_id"]
        for entry in await ws.call("config/entity_registry/list")
        if entry.get("platform") == "template"
    }
    for entity in home:
        current = registry.get(entity.unique_id)
        if current is None:
            raise DemoError(f"Home Assistant did not create {entity.entity_id} ({entity.name})")
        update: dict[str, Any] = {"area_id": areas[entity.area]}
        if entity.aliases:
            update["aliases"] = list(entity.aliases)
        if current != entity.entity_id:
            update["new_entity_id"] = entity.entity_id
        await ws.call("config/entity_registry/update", entity_id=current, **update)
