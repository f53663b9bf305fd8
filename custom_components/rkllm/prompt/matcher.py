"""Which exposed entities a request can refer to: by name, alias, area, floor or kind word.

Pure Python (no Home Assistant), so the benchmark can measure recall on the same sentences as
the tests. Matching favours recall: an entity the user means must never be missed, while a few
extra lines only cost a few prompt tokens. A request refers to

* an entity by its name or an alias (every word of it, in any order and inflection: "the light
  in the kitchen" names "Kitchen light"), or by a word only entity names use ("sofa");
* an area (or floor) by its name or alias: the area's entities, narrowed to the kinds of device
  the request names ("kitchen lights") when it names any, and listed in full unless the
  entities it names are in that area ("Schalte im Büro alles aus" beside a scene "Alles aus");
* a kind of device alone ("are any windows open?", "alle Lichter aus"): every such entity,
  unless an area or an entity was named.

The language's kind words and generic words ("turn", "the", "aus") come from Home Assistant's
own sentence templates (`language_words`); a generic word is matched as written only, so a verb
or a particle never stands for a name ("schalte" is not "Schalter", "aus" not "Außen").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from .language_words import NO_WORDS, LanguageWords
from .text import is_unspaced, word_matches, words

_FEW = 2  # a name word shared by more entities is narrowed by a named place
_SHORT_CORE = 3  # letters of a known word's start any form of it has
_MANY_KINDS = 3  # a word that sets the values of more kinds names no kind
_KIND_ENDING = 3  # letters an inflection may add to a word ("sovrum" → "sovrummet")
_INFLECTED_KIND = 4  # a kind word this long is found inflected ("Heizungen", "Küchenlicht")
# What else people mean by a kind: the sensors that answer "how warm", "is anyone there".
_RELATED: dict[str, frozenset[str]] = {
    "climate": frozenset({"temperature", "water_heater"}),
    "weather": frozenset({"temperature", "humidity"}),
    "person": frozenset({"motion", "occupancy", "presence", "moving"}),
    "garage": frozenset({"garage_door"}),
    "door": frozenset({"garage_door", "lock", "opening"}),
    "window": frozenset({"opening"}),
    "gate": frozenset({"garage_door", "door", "opening"}),
}


@dataclass(frozen=True, slots=True)
class Entity:
    """An exposed entity, as a request can refer to it."""

    entity_id: str
    domain: str
    names: tuple[str, ...]
    """The name first, then the aliases."""
    areas: tuple[str, ...] = ()
    """The area's name first, then its aliases (empty: no area)."""
    floors: tuple[str, ...] = ()
    """The floor's name first, then its aliases (empty: no floor)."""
    device_class: str | None = None


@dataclass(frozen=True, slots=True)
class _Indexed:
    entity: Entity
    names: tuple[tuple[str, ...], ...]
    """The words of each name and alias."""
    kinds: frozenset[str]
    """Its domain, device class and the kinds its name's words name."""


class _Request:
    """The words of one request, compared with the home's words."""

    def __init__(self, text: str, language: LanguageWords) -> None:
        self.words = words(text)
        self._generic = language.generic
        self._joined = "".join(self.words)

    def says(self, known: str, *, exact: bool = False) -> bool:
        """Return whether the request says `known`, inflected or in a compound.

        `exact`: a word of a name of common words only ("Licht") is said as written, with an
        inflected ending, or at the start of a compound ("Rolgordijnstand"), never at its end
        ("Oberlicht").
        """
        if is_unspaced(known):
            return known in self._joined
        if known[:_SHORT_CORE] not in self._joined:  # every way to say it holds its start
            return False
        if exact:
            return any(
                word == known or _is_inflection(word, known) or _starts_compound(word, known)
                for word in self.words
            )
        return any(
            word == known
            or _is_inflection(word, known)
            or (word not in self._generic and word_matches(word, known))
            for word in self.words
        )

    def kinds(self, language: LanguageWords, places: Iterable[str] = ()) -> set[str]:
        """Return the domains and device classes the request's kind words name.

        Words of the named places are no kind words ("sobi" of "Dnevna soba" is no vacuum's
        room); in a request that names a value (a number, "to the max"), a word names the kinds
        whose values it sets as well, and one that sets many kinds' values names none.
        """
        found: set[str] = set()
        for known, targets in language.kinds.items():
            if is_unspaced(known) and known in self._joined:
                found |= targets
        place_words = set(places)
        has_value = self._names_value(language.values)
        for word in self.words:
            if any(word == known or _is_inflection(word, known) for known in place_words):
                continue
            if has_value and word in language.with_value:
                targets = language.with_value[word]
                found |= targets if len(targets) <= _MANY_KINDS else set()
            elif word in language.kinds:
                found |= language.kinds[word]
            elif word not in self._generic:
                for known, targets in language.kinds.items():
                    if _is_kind_form(word, known):
                        found |= targets
        for kind in list(found):
            found |= _RELATED.get(kind, frozenset())
        return found

    def _names_value(self, values: frozenset[tuple[str, ...]]) -> bool:
        """Return whether the request names a value: a number or a value in words."""
        if any(char.isdigit() for char in self._joined):
            return True
        said = self.words
        return any(
            tuple(said[start : start + length]) in values
            for length in _lengths(values)
            for start in range(len(said) - length + 1)
        )


class HomeMatcher:
    """The entities of one home, indexed for matching requests in one language."""

    def __init__(self, entities: Iterable[Entity], language: LanguageWords = NO_WORDS) -> None:
        """Index the home's entities (names, areas, floors, kinds)."""
        self._language = language
        self._entities = [
            _Indexed(
                entity,
                tuple(tuple(words(name)) for name in entity.names),
                _kinds_of(entity, language),
            )
            for entity in entities
        ]
        places: dict[tuple[str, ...], set[str]] = {}
        for item in self._entities:
            for place in (*item.entity.areas, *item.entity.floors):
                if place_name := tuple(words(place)):
                    places.setdefault(place_name, set()).add(item.entity.entity_id)
        self._places = places
        self._common = language.generic | language.kinds.keys()
        """Words said as written only: a name of these alone is said word for word."""
        place_words = {word for key in places for word in key}
        self._distinctive: dict[str, set[str]] = {}
        for item in self._entities:
            for name in item.names:
                for word in set(name) - self._common - place_words:
                    self._distinctive.setdefault(word, set()).add(item.entity.entity_id)

    def match(self, texts: Iterable[str]) -> list[Entity]:
        """Return the entities any of `texts` can refer to, in the home's order.

        `texts` are a conversation's messages, oldest first: a message that names a kind of
        device but no place ("and the blinds?") means the place of the message before it.
        """
        wanted: set[str] = set()
        places: set[str] = set()
        for text in texts:
            found, places = self._match_one(_Request(text, self._language), places)
            wanted |= found
        return [item.entity for item in self._entities if item.entity.entity_id in wanted]

    def _match_one(self, request: _Request, earlier: set[str]) -> tuple[set[str], set[str]]:
        """Return the entities a request refers to and the places (as entity ids) it names."""
        if not request.words:
            return set(), earlier
        in_places: set[str] = set()
        said_places: set[str] = set()
        for place, members in self._places.items():
            if self._says_name(request, place):
                in_places |= members
                said_places.update(place)
        kinds = request.kinds(self._language, said_places)
        distinct, common = self._named(request, in_places)
        named = distinct | common
        places = in_places or (earlier if kinds and not named else set())
        if places and (kinds or not named & places):
            chosen = {
                item.entity.entity_id
                for item in self._entities
                if item.entity.entity_id in places and (not kinds or item.kinds & kinds)
            }
            # Kind words that name nothing in a named place cannot tell: the whole place, not
            # less; a place of an earlier message without that kind does not hold what it means.
            if chosen or in_places:
                return named | (chosen or places), places
        if distinct or not kinds:
            return named, places
        return common | {
            item.entity.entity_id for item in self._entities if item.kinds & kinds
        }, set()

    def _named(self, request: _Request, in_places: set[str]) -> tuple[set[str], set[str]]:
        """Return the entities the request names: by a distinctive word, by common words only.

        A name of common words only ("Garagentor", "Licht") may stand for its kind as well.
        """
        named: set[str] = set()
        for word, owners in self._distinctive.items():
            if request.says(word):
                # A word many names share ("ceiling") is narrowed by a named place, like a kind.
                named |= owners & in_places if in_places and len(owners) > _FEW else owners
        common: set[str] = set()
        for item in self._entities:
            for name in item.names:
                if self._says_name(request, name):
                    if all(word in self._common for word in name):
                        common.add(item.entity.entity_id)
                    else:
                        named.add(item.entity.entity_id)
        return named, common

    def _says_name(self, request: _Request, name: tuple[str, ...]) -> bool:
        """Return whether the request says every word of a name (a place's or an entity's).

        A name of common words only ("Licht", "Alles aus") must be said as written.
        """
        if not name:
            return False
        exact = all(word in self._common for word in name)
        return all(request.says(word, exact=exact) for word in name)


@cache
def _lengths(values: frozenset[tuple[str, ...]]) -> frozenset[int]:
    """Return how many words the values have (a language's values, computed once)."""
    return frozenset(map(len, values))


def _is_kind_form(word: str, known: str) -> bool:
    """Return whether `word` is an inflection of a kind word or a compound ending in it.

    Stricter than a name's comparison: a kind wrongly seen narrows a place to that kind.
    """
    if len(known) < _INFLECTED_KIND:
        return False
    return word.endswith(known) or _is_inflection(word, known)


def _starts_compound(word: str, known: str) -> bool:
    return len(known) >= _INFLECTED_KIND and word.startswith(known)


def _is_inflection(word: str, known: str) -> bool:
    """Return whether `word` is `known` with its last letter changed or a short ending added."""
    if len(known) < _INFLECTED_KIND:  # "TVen", "TVmens"
        return word_matches(word, known)
    shared = next(
        (index for index, (a, b) in enumerate(zip(word, known, strict=False)) if a != b),
        min(len(word), len(known)),
    )
    return shared >= len(known) - 1 and len(word) <= len(known) + _KIND_ENDING


def _kinds_of(entity: Entity, language: LanguageWords) -> frozenset[str]:
    """Return the kinds an entity is: its domain, device class and its name's kind words."""
    kinds = {entity.domain}
    if entity.device_class:
        kinds.add(entity.device_class)
    for name in entity.names:
        for word in words(name):
            targets = language.kinds.get(word, frozenset())
            if len(targets) == 1:  # "Temperature" names no light, though light sets one
                kinds |= targets | _RELATED.get(next(iter(targets)), frozenset())
    return frozenset(kinds)
