"""Load tests/fixtures/relevance_corpus.json: homes as relevance entities, and the utterances."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import sys
from typing import Any

from custom_components.rkllm.prompt.matcher import Entity

CORPUS_PATH = Path(__file__).parent / "fixtures" / "relevance_corpus.json"
_SCRIPTS = Path(__file__).parents[1] / "scripts"


@dataclass(frozen=True, slots=True)
class Utterance:
    """One request, the earlier user messages of its conversation, and what it targets."""

    home: str
    text: str
    targets: tuple[str, ...]
    history: tuple[str, ...] = ()


def load_corpus() -> tuple[dict[str, list[Entity]], list[Utterance]]:
    """Return the corpus's homes (by key) and its utterances."""
    data = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    homes = {key: _home(spec) for key, spec in data["homes"].items()}
    utterances = [
        Utterance(row["home"], row["text"], tuple(row["targets"]), tuple(row.get("history", ())))
        for row in data["utterances"]
    ]
    return homes, utterances


def _home(spec: dict[str, Any]) -> list[Entity]:
    if "generated" in spec:
        return generated_home(int(spec["generated"]))
    floors = {floor["name"]: (floor["name"], *floor["aliases"]) for floor in spec["floors"]}
    areas = {area["name"]: area for area in spec["areas"]}
    entities: list[Entity] = []
    for row in spec["entities"]:
        area = areas[row["area"]]
        entities.append(
            Entity(
                row["entity_id"],
                row["domain"],
                (row["name"], *row.get("aliases", ())),
                (area["name"], *area["aliases"]),
                floors[area["floor"]] if area["floor"] else (),
                row.get("device_class"),
            )
        )
    return entities


def generated_home(size: int) -> list[Entity]:
    """Return a home of the benchmark (scripts/bench_lib/homes.py) as relevance entities."""
    if str(_SCRIPTS) not in sys.path:
        sys.path.insert(0, str(_SCRIPTS))
    from bench_lib import homes  # noqa: PLC0415 - the benchmark's package, by path

    device_classes = {"blinds": "blind", "curtains": "curtain"}
    return [
        Entity(
            entity.entity_id,
            entity.domain,
            (entity.name,),
            (entity.room,),
            (),
            device_classes.get(entity.kind, entity.kind if entity.domain != "light" else None),
        )
        for entity in homes.home(size)
    ]
