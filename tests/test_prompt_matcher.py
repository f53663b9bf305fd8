"""Which entities a request can refer to: the corpus (recall) and the matching rules."""

from __future__ import annotations

import pytest

from custom_components.rkllm.prompt.matcher import Entity, HomeMatcher, normalize, stem, words

from .relevance_corpus import load_corpus

HOMES, UTTERANCES = load_corpus()
MATCHERS = {key: HomeMatcher(entities) for key, entities in HOMES.items()}


def test_corpus_size() -> None:
    """At least 150 utterances over the three benchmark homes, follow-ups among them."""
    assert len(UTTERANCES) >= 150
    assert {u.home for u in UTTERANCES} == {"bench_53", "bench_200", "de_119"}
    assert len(HOMES["de_119"]) == 119
    assert sum(1 for u in UTTERANCES if u.history) >= 10
    for utterance in UTTERANCES:
        known = {entity.entity_id for entity in HOMES[utterance.home]}
        assert set(utterance.targets) <= known, utterance


def test_recall_is_complete() -> None:
    """Every entity an utterance targets is matched (by its text or its conversation)."""
    missed = []
    for utterance in UTTERANCES:
        found = {
            entity.entity_id
            for entity in MATCHERS[utterance.home].match([*utterance.history, utterance.text])
        }
        if lost := set(utterance.targets) - found:
            missed.append((utterance.home, utterance.text, sorted(lost)))
    assert not missed


@pytest.mark.parametrize(
    ("home", "text", "most"),
    [
        ("bench_53", "Turn on the kitchen light", 1),
        ("bench_200", "Turn on the kitchen light", 2),
        ("bench_200", "close the office blinds", 2),
        ("bench_200", "what is the kitchen temperature", 1),
        ("de_119", "Mach das Küchenlicht an", 2),
        ("de_119", "Schalte die Leselampe aus", 1),
        ("de_119", "Rollladen Küche runter", 1),
    ],
)
def test_commands_stay_small(home: str, text: str, most: int) -> None:
    """A command about one device brings at most a few entities into the prompt."""
    assert 1 <= len(MATCHERS[home].match([text])) <= most


@pytest.mark.parametrize(
    "text",
    ["What is 145 + 278?", "Tell me a joke", "Write a haiku about AI", "Wie spät ist es?", ""],
)
def test_unrelated_requests_match_nothing(text: str) -> None:
    """A request about no device gets no entity lines."""
    for matcher in MATCHERS.values():
        assert matcher.match([text]) == []


def test_spelling_is_folded() -> None:
    """Case, accents, umlaut spellings and plural endings do not matter."""
    assert normalize("Küche") == normalize("KUECHE") == "kuche"
    assert normalize("Straße") == "strasse"
    assert {stem(w) for w in words("Lampen Lampe lamps")} == {"lamp"}
    assert stem("kitchens") == stem("kitchen")
    assert words("TV-Hintergrundbeleuchtung!") == ["tv", "hintergrundbeleuchtung"]


def test_rules() -> None:
    """Names in any order, aliases, compounds, areas with kinds, floors, kinds alone."""
    home = [
        Entity("light.ceiling", "light", ("Ceiling",), ("Kitchen", "Cookery"), ("Ground",)),
        Entity("light.sofa", "light", ("Sofa Lamp", "Couch light"), ("Living room",), ("Ground",)),
        Entity("cover.blind", "cover", ("Window blind",), ("Kitchen", "Cookery"), (), "blind"),
        Entity("switch.kettle", "switch", ("Kettle",), ("Kitchen", "Cookery")),
        Entity("light.desk", "light", ("Schreibtischlampe",), ("Büro",), ("Oben", "OG")),
    ]
    matcher = HomeMatcher(home)

    def ids(text: str, *history: str) -> set[str]:
        return {entity.entity_id for entity in matcher.match([*history, text])}

    assert ids("lamp sofa on") == {"light.sofa"}
    assert ids("turn on the couch light") == {"light.sofa"}
    assert ids("lights in the cookery") == {"light.ceiling"}
    assert ids("close the kitchen blinds") == {"cover.blind"}
    assert ids("what is on in the kitchen") == {"light.ceiling", "cover.blind", "switch.kettle"}
    assert ids("everything off on ground") == {"light.ceiling", "light.sofa"}
    assert ids("Licht im OG aus") == {"light.desk"}
    assert ids("Mach die Bürolampe an") == {"light.desk"}
    assert ids("turn off all lights") == {"light.ceiling", "light.sofa", "light.desk"}
    assert ids("switch on the kettle") == {"switch.kettle"}  # "switch on" is a verb here
    assert ids("and off again", "turn on the kettle") == {"switch.kettle"}
