"""The bench's homes in one language each, built offline (no Home Assistant, no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import re
import sys

import pytest
import yaml

ROOT = Path(__file__).parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from bench_lib import (  # noqa: E402
    chinese_home,
    cli,
    german_home,
    named_homes,
    runner,
    russian_home,
)

CYRILLIC = re.compile(r"^[\u0400-\u04ff][\u0400-\u04ff ]*$")
CHINESE = re.compile(r"^[\u4e00-\u9fff]+$")
ENTITY_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")
SCRIPT_HOMES: tuple[tuple[Callable[[], named_homes.NamedHome], str, re.Pattern[str]], ...] = (
    (russian_home.home, "ru", CYRILLIC),
    (chinese_home.home, "zh-CN", CHINESE),
)


@pytest.mark.parametrize(("build", "language", "script"), SCRIPT_HOMES)
def test_home_names_are_in_its_script(
    build: Callable[[], named_homes.NamedHome], language: str, script: re.Pattern[str]
) -> None:
    """Every name and alias of entities, areas and floors is written in the home's script."""
    home = build()
    assert home.language == language
    names = [
        name
        for place in (*home.floors, *home.areas, *home.entities)
        for name in (place.name, *place.aliases)
    ]
    assert [name for name in names if not script.match(name)] == []
    assert home.command is not None
    assert script.match(home.command.replace(" ", "") if language == "zh-CN" else home.command)


@pytest.mark.parametrize(("build", "language", "script"), SCRIPT_HOMES)
def test_home_is_consistent(
    build: Callable[[], named_homes.NamedHome], language: str, script: re.Pattern[str]
) -> None:
    """Its size is its entity count; ids, names and unique ids are unique; places exist."""
    home = build()
    entities = home.entities
    assert 40 <= len(entities) == home.size <= 60
    for values in (
        [e.entity_id for e in entities],
        [e.unique_id for e in entities],
        [e.name for e in entities],
        [place.name for place in home.areas],
        [place.name for place in home.floors],
    ):
        assert len(set(values)) == len(values)
    assert all(ENTITY_ID.match(e.entity_id) for e in entities)
    assert all(e.domain == e.entity_id.split(".")[0] for e in entities)
    floors = {floor.name for floor in home.floors}
    assert {area.floor for area in home.areas} - {None} == floors  # every floor holds an area
    assert {e.area for e in entities} == {area.name for area in home.areas}  # none empty
    assert any(area.floor is None for area in home.areas)


@pytest.mark.parametrize(("build", "language", "script"), SCRIPT_HOMES)
def test_home_template_creates_every_entity(
    build: Callable[[], named_homes.NamedHome], language: str, script: re.Pattern[str]
) -> None:
    """The template block lists each entity once, under its domain, with its name."""
    home = build()
    blocks = yaml.safe_load(named_homes.template_yaml(list(home.entities)))
    written = {
        (domain, item["unique_id"]): item["name"]
        for block in blocks
        for domain, items in block.items()
        for item in items
    }
    assert written == {(e.domain, e.unique_id): e.name for e in home.entities}


def test_named_homes_are_picked_by_their_sizes() -> None:
    """The full run includes every named home; no size is shared with another home."""
    assert set(runner.NAMED_HOMES) == {german_home.SIZE, russian_home.SIZE, chinese_home.SIZE}
    assert len(set(cli.FULL_HOMES)) == len(cli.FULL_HOMES)
    assert set(runner.NAMED_HOMES) <= set(cli.FULL_HOMES)
    for size, build in runner.NAMED_HOMES.items():
        assert build().size == size
    assert german_home.home().language == "en"  # its figures stay those of earlier runs
