"""Which entities a request can refer to: the corpus (recall) and the matching rules."""

from __future__ import annotations

import pytest

from custom_components.rkllm.prompt.language_words import load_language_words
from custom_components.rkllm.prompt.matcher import Entity, HomeMatcher
from custom_components.rkllm.prompt.text import normalize, word_matches, words

from .relevance_corpus import load_corpus

HOMES, UTTERANCES = load_corpus()
LANGUAGES = {"bench_53": "en", "bench_200": "en", "de_119": "de"}
MATCHERS = {
    key: HomeMatcher(entities, load_language_words(LANGUAGES[key]))
    for key, entities in HOMES.items()
}
ENGLISH = load_language_words("en")
GERMAN = load_language_words("de")


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
    """Case, accents, umlaut spellings and inflected endings do not matter, in any script."""
    assert normalize("Küche") == normalize("KUECHE") == "kuche"
    assert normalize("Straße") == "strasse"
    assert all(word_matches(said, "lampe") for said in words("Lampen Lampe"))
    assert word_matches("kitchens", "kitchen")
    assert words("TV-Hintergrundbeleuchtung!") == ["tv", "hintergrundbeleuchtung"]
    assert words("Ночная лампа, 客厅灯") == ["ночная", "лампа", "客厅灯"]
    assert words("बैठक कक्ष") == ["बैठक", "कक्ष"]  # vowel signs stay in the word
    assert words("暂停TV") == ["暂停", "tv"]
    assert word_matches("лампу", "лампа")
    assert word_matches("konyhaban", "konyha")
    assert word_matches("tven", "tv")
    assert word_matches("בסלון", "סלון")
    assert not word_matches("aus", "aussen")
    assert not word_matches("tvattstuga", "tv")


def test_rules() -> None:
    """Names in any order, aliases, compounds, areas with kinds, floors, kinds alone."""
    home = [
        Entity("light.ceiling", "light", ("Ceiling",), ("Kitchen", "Cookery"), ("Ground",)),
        Entity("light.sofa", "light", ("Sofa Lamp", "Couch light"), ("Living room",), ("Ground",)),
        Entity("cover.blind", "cover", ("Window blind",), ("Kitchen", "Cookery"), (), "blind"),
        Entity("switch.kettle", "switch", ("Kettle",), ("Kitchen", "Cookery")),
        Entity("light.desk", "light", ("Schreibtischlampe",), ("Büro",), ("Oben", "OG")),
    ]
    english, german = HomeMatcher(home, ENGLISH), HomeMatcher(home, GERMAN)

    def ids(text: str, *history: str) -> set[str]:
        return {entity.entity_id for entity in english.match([*history, text])}

    def german_ids(text: str) -> set[str]:
        return {entity.entity_id for entity in german.match([text])}

    assert ids("lamp sofa on") == {"light.sofa"}
    assert ids("turn on the couch light") == {"light.sofa"}
    assert ids("lights in the cookery") == {"light.ceiling"}
    assert ids("close the kitchen blinds") == {"cover.blind"}
    assert ids("what is on in the kitchen") == {"light.ceiling", "cover.blind", "switch.kettle"}
    assert ids("everything off on ground") == {"light.ceiling", "light.sofa"}
    assert german_ids("Licht im OG aus") == {"light.desk"}
    assert german_ids("Mach die Bürolampe an") == {"light.desk"}
    assert ids("turn off all lights") == {"light.ceiling", "light.sofa", "light.desk"}
    assert ids("switch on the kettle") == {"switch.kettle"}  # "switch on" is a verb here
    # A kind the named place does not hold cannot narrow it: the whole place, never nothing.
    assert ids("turn on the fan in the living room") == {"light.sofa"}
    assert ids("and off again", "turn on the kettle") == {"switch.kettle"}
    # An earlier message's place without the kind named now is not listed in full.
    assert ids("and the fan too", "lights in the kitchen") == {"light.ceiling"}


def _home_ids(home: list[Entity], language: str, text: str) -> set[str]:
    matcher = HomeMatcher(home, load_language_words(language))
    return {entity.entity_id for entity in matcher.match([text])}


def test_everything_in_an_area_is_listed() -> None:
    """Switching "everything" off and "alles aus" about a room list the whole room."""
    home = [
        Entity("switch.socket", "switch", ("Bedroom socket",), ("Bedroom",), (), "outlet"),
        Entity("light.bed", "light", ("Bedside lamp",), ("Bedroom",)),
        Entity("fan.bed", "fan", ("Ceiling fan",), ("Bedroom",)),
        Entity("light.desk", "light", ("Schreibtisch",), ("Büro",)),
        Entity("switch.printer", "switch", ("Drucker",), ("Büro",)),
        Entity("scene.all_off", "scene", ("Alles aus",)),
        Entity("light.hall", "light", ("Flur",), ("Flur",)),
    ]
    bedroom = {"switch.socket", "light.bed", "fan.bed"}
    assert _home_ids(home, "en", "Could you switch everything off in the bedroom?") >= bedroom
    office = {"light.desk", "switch.printer"}
    assert _home_ids(home, "de", "Schalte im Büro alles aus") >= office


def test_kind_words_and_particles() -> None:
    """All heaters, all lamps; "aus" is no "Außen", "licht" inside a word no "Licht"."""
    home = [
        Entity("climate.bad", "climate", ("Heizung Bad",), ("Bad",)),
        Entity("climate.kueche", "climate", ("Heizung Küche",), ("Küche",)),
        Entity("climate.terrasse", "climate", ("Heizstrahler",), ("Außen",)),
        Entity("light.garden", "light", ("Gartenlampe",), ("Außen",)),
        *(Entity(f"light.l{n}", "light", (f"Lampe {n}",), ("Wohnzimmer",)) for n in range(8)),
        Entity("light.licht", "light", ("Licht",), ("Keller",)),
        Entity("cover.oberlicht", "cover", ("Oberlicht",), ("Flur",)),
    ]
    heaters = _home_ids(home, "de", "Mach alle Heizungen aus")
    assert {"climate.bad", "climate.kueche"} <= heaters
    assert "light.garden" not in heaters
    lamps = _home_ids(home, "de", "Mach alle Lampen aus")
    assert {f"light.l{n}" for n in range(8)} | {"light.garden", "light.licht"} <= lamps
    assert _home_ids(home, "de", "Öffne das Oberlicht") == {"cover.oberlicht"}


def test_unknown_language_falls_back() -> None:
    """A language the package lacks: names and places still match (a place in full)."""
    home = [
        Entity("light.a", "light", ("Lampa stołowa",), ("Kuchnia",)),
        Entity("switch.b", "switch", ("Czajnik",), ("Kuchnia",)),
    ]
    unknown = HomeMatcher(home, load_language_words("xx"))
    assert {e.entity_id for e in unknown.match(["kuchni"])} == {"light.a", "switch.b"}
    assert {e.entity_id for e in unknown.match(["czajnika"])} == {"switch.b"}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("sv", "nästa på TVen"),
        ("da", "sluk TVet i stuen"),
        ("nb", "pause TVen"),
        ("hu", "TVt állítsd le"),
        ("ca", "apaga la TV"),
        ("it", "spegni la TV del soggiorno"),
        ("zh-CN", "暂停TV"),
    ],
)
def test_short_names_with_endings(language: str, text: str) -> None:
    """A short name with a definite ending or a case attached ("TVen", "TVt") is found."""
    home = [
        Entity("media_player.tv", "media_player", ("TV",), ("Stue",), (), "tv"),
        Entity("light.a", "light", ("Taklampe",), ("Kjøkken",)),
        Entity("switch.b", "switch", ("Tvättmaskin",), ("Tvättstuga",)),
    ]
    listed = _home_ids(home, language, text)
    assert "media_player.tv" in listed
    assert "switch.b" not in listed
