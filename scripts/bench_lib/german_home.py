"""The 119-entity home with German names, aliases, areas and floors (the corpus's `de_119`).

It comes from tests/fixtures/relevance_corpus.json, the utterance corpus of the relevance tests,
so the bench and the tests describe the same home.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench_lib.named_homes import NamedEntity, NamedHome, Place

SIZE = 119  # the bench's key of this home (`--homes 119`)
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "relevance_corpus.json"


def home() -> NamedHome:
    """Return the German home, read from the corpus."""
    spec: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))["homes"]["de_119"]
    return NamedHome(
        SIZE,
        "en",  # measured with English pipelines since it was added; its figures stay comparable
        tuple(Place(floor["name"], tuple(floor["aliases"])) for floor in spec["floors"]),
        tuple(
            Place(area["name"], tuple(area["aliases"]), area["floor"] or None)
            for area in spec["areas"]
        ),
        tuple(
            NamedEntity(
                row["entity_id"],
                row["domain"],
                row["name"],
                row["area"],
                tuple(row.get("aliases", ())),
                row.get("device_class"),
                "de",
            )
            for row in spec["entities"]
        ),
    )
