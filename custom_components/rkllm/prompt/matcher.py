"""Which exposed entities a request can refer to: by name, alias, area, floor or kind word.

Pure Python (no Home Assistant), so the benchmark can measure recall on the same corpus as the
tests. Matching favours recall: an entity the user means must never be missed, while a few
extra lines only cost a few prompt tokens. A request refers to

* an entity by its name or an alias (every word of it, in any order: "the light in the
  kitchen" names "Kitchen light"), or by a word only entity names use ("sofa", "kettle");
* an area (or floor) by its name or alias: the area's entities, narrowed to the kinds of device
  the request names ("kitchen lights", "Rollläden im Wohnzimmer") when it names any;
* a kind of device alone ("are any windows open?", "alle Lichter aus"): every such entity,
  unless an area or an entity was named.

Words are compared case- and accent-free (`Küche` = `kuche` = `Kueche`), with plural and
inflection endings of English and German removed, and German compounds ("Küchenlicht") are
split at words the home knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import re
import unicodedata

_MIN_STEM = 3  # letters a stem keeps
_MIN_COMPOUND_PART = 4  # known words this long are found inside longer words
_FEW = 2  # a name word shared by more entities is narrowed by a named place
_SUFFIXES = ("en", "er", "es", "e", "s")
_UMLAUTS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_SWITCH_VERB = re.compile(r"\bswitch(?:es|ed)?\s+(?:it\s+|them\s+)?(?:on|off)\b")


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of device people name with a word: domains, device classes and the words."""

    domains: frozenset[str]
    device_classes: frozenset[str]
    words: tuple[str, ...]


def _words_of(text: str) -> list[str]:
    return text.split()


def _kind(domains: str, device_classes: str, words: str) -> Kind:
    return Kind(
        frozenset(_words_of(domains)), frozenset(_words_of(device_classes)), tuple(_words_of(words))
    )


# English and German words for kinds of device (any form: they are stemmed like the request).
KINDS: dict[str, Kind] = {
    "light": _kind(
        "light",
        "",
        "light lights lamp lamps lighting bulb bulbs spot spots licht lichter lampe lampen "
        "leuchte leuchten beleuchtung birne strahler",
    ),
    "switch": _kind(
        "switch input_boolean",
        "outlet",
        "switch switches plug plugs outlet outlets socket sockets steckdose steckdosen "
        "stecker zwischenstecker",
    ),
    "fan": _kind("fan", "", "fan fans ventilator ventilatoren lufter"),
    "cover": _kind(
        "cover",
        "awning blind curtain shade shutter garage gate",
        "cover covers blind blinds shade shades shutter shutters curtain curtains awning "
        "rollo rollos rolladen rollladen jalousie jalousien vorhang vorhange gardine "
        "gardinen markise",
    ),
    "door": _kind(
        "lock", "door garage_door gate", "door doors tur turen tor garagentor gate eingang"
    ),
    "window": _kind("", "window", "window windows fenster"),
    "lock": _kind(
        "lock", "lock", "lock locks unlock locked schloss abschliessen aufschliessen verriegeln"
    ),
    "motion": _kind(
        "",
        "motion occupancy presence moving",
        "motion movement presence occupied bewegung bewegungsmelder anwesenheit praesenz",
    ),
    "temperature": _kind(
        "climate weather water_heater",
        "temperature",
        "temperature temperatures temp degrees warm warmer cold colder hot celsius "
        "temperatur temperaturen grad kalt kalter heiss",
    ),
    "humidity": _kind(
        "humidifier",
        "humidity moisture",
        "humidity humid moisture feuchtigkeit luftfeuchtigkeit luftfeuchte feucht",
    ),
    "climate": _kind(
        "climate water_heater",
        "",
        "heating heater heaters thermostat ac aircon conditioning heizung heizungen "
        "thermostat klima klimaanlage heizkorper",
    ),
    "media": _kind(
        "media_player",
        "tv speaker receiver",
        "tv television music speaker speakers radio volume song fernseher musik "
        "lautsprecher lautstarke radio",
    ),
    "power": _kind(
        "",
        "power energy current voltage",
        "power energy watt watts consumption electricity strom leistung verbrauch energie",
    ),
    "sensor": _kind("sensor binary_sensor", "", "sensor sensors sensoren fuhler"),
    "battery": _kind("", "battery", "battery batteries akku batterie"),
    "vacuum": _kind("vacuum", "", "vacuum robot hoover staubsauger saugroboter"),
    "scene": _kind("scene", "", "scene scenes szene szenen"),
    "valve": _kind("valve", "", "valve valves ventil ventile"),
}

# Words that never make an entity's name distinctive.
STOPWORDS = frozenset(
    _words_of(
        "a an the and or of in on off to at for my our all any every is are it its this that "
        "please turn set what whats how much many left right main big small "
        "der die das den dem des ein eine einen und oder im in am an aus auf zu von vom zum zur "
        "mein meine alle bitte mach schalte ist sind"
    )
)


def normalize(text: str) -> str:
    """Return `text` case-, accent- and umlaut-spelling-free (`Küche`, `Kueche` → `kuche`)."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    for written, letter in _UMLAUTS:
        plain = plain.replace(written, letter)
    return plain


def words(text: str) -> list[str]:
    """Return the normalized words of `text`."""
    return re.findall(r"[a-z0-9]+", normalize(text))


def stem(word: str) -> str:
    """Return `word` without plural and inflection endings (`lampen` → `lamp`)."""
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                changed = True
                break
    return word


def stems(text: str) -> frozenset[str]:
    """Return the stems of the words of `text`."""
    return frozenset(stem(word) for word in words(text))


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
    name_stems: tuple[frozenset[str], ...]
    """The stems of each name and alias."""
    kinds: frozenset[str]


class HomeMatcher:
    """The entities of one home, indexed for matching requests."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        """Index the home's entities (names, areas, floors, kinds)."""
        self._entities = [
            _Indexed(entity, tuple(stems(name) for name in entity.names), _kinds_of(entity))
            for entity in entities
        ]
        places: dict[frozenset[str], set[str]] = {}
        for item in self._entities:
            for place in (*item.entity.areas, *item.entity.floors):
                if place_stems := stems(place):
                    places.setdefault(place_stems, set()).add(item.entity.entity_id)
        self._places = places
        place_words = {word for key in places for word in key}
        kind_words = {stem(word) for kind in KINDS.values() for word in kind.words}
        self._distinctive: dict[str, set[str]] = {}
        for item in self._entities:
            for name in item.name_stems:
                for word in name - place_words - kind_words - _STOP_STEMS:
                    self._distinctive.setdefault(word, set()).add(item.entity.entity_id)
        vocabulary = {
            word for item in self._entities for name in item.entity.names for word in words(name)
        }
        vocabulary |= {word for key in places for word in key}
        vocabulary |= {normalize(word) for kind in KINDS.values() for word in kind.words}
        self._parts = sorted(w for w in vocabulary if len(w) >= _MIN_COMPOUND_PART)
        # Short words are found at the end of a compound only: its head ("Kellertür").
        self._heads = sorted(w for w in vocabulary if len(w) == _MIN_STEM)

    def match(self, texts: Iterable[str]) -> list[Entity]:
        """Return the entities any of `texts` can refer to, in the home's order.

        `texts` are a conversation's messages, oldest first: a message that names a kind of
        device but no place ("and the blinds?") means the place of the message before it.
        """
        wanted: set[str] = set()
        places: set[str] = set()
        for text in texts:
            found, places = self._match_one(text, places)
            wanted |= found
        return [item.entity for item in self._entities if item.entity.entity_id in wanted]

    def _match_one(self, text: str, earlier_places: set[str]) -> tuple[set[str], set[str]]:
        """Return the entities `text` refers to and the places (as entity ids) it names."""
        request = self._request_stems(text)
        if not request:
            return set(), earlier_places
        kinds = {key for key, kind in KINDS.items() if request & _KIND_STEMS[key]}
        in_places: set[str] = set()
        for place, members in self._places.items():
            if place <= request:
                in_places |= members
        named: set[str] = set()
        for word in request & self._distinctive.keys():
            owners = self._distinctive[word]
            # A word many names share ("ceiling") is narrowed by a named place, like a kind.
            named |= owners & in_places if in_places and len(owners) > _FEW else owners
        named |= {
            item.entity.entity_id
            for item in self._entities
            if any(name and name <= request for name in item.name_stems)
        }
        places = in_places or (earlier_places if kinds and not named else set())
        if places and (kinds or not named):
            chosen = {
                item.entity.entity_id
                for item in self._entities
                if item.entity.entity_id in places and (not kinds or item.kinds & kinds)
            }
            return named | chosen, places
        if named or not kinds:
            return named, places
        return {item.entity.entity_id for item in self._entities if item.kinds & kinds}, set()

    def _request_stems(self, text: str) -> set[str]:
        """Return the request's stems, with compounds split at known words."""
        cleaned = _SWITCH_VERB.sub(" ", normalize(text))
        found: set[str] = set()
        for word in re.findall(r"[a-z0-9]+", cleaned):
            found.add(stem(word))
            if len(word) > _MIN_COMPOUND_PART:
                found.update(stem(part) for part in self._parts if part != word and part in word)
                found.update(
                    stem(head)
                    for head in self._heads
                    if word.endswith(head) and len(word) - len(head) >= _MIN_COMPOUND_PART
                )
        return found


def _kinds_of(entity: Entity) -> frozenset[str]:
    """Return the kinds an entity is: by domain, device class, or a kind word in its name."""
    name_words = [word for name in entity.names for word in words(name)]
    kinds: set[str] = set()
    for key, kind in KINDS.items():
        device_class = entity.device_class or ""
        by_type = entity.domain in kind.domains or device_class in kind.device_classes
        if by_type or any(
            stem(word) in _KIND_STEMS[key]
            or any(len(part) >= _MIN_COMPOUND_PART and part in word for part in _KIND_PARTS[key])
            for word in name_words
        ):
            kinds.add(key)
    return frozenset(kinds)


_KIND_STEMS = {
    key: frozenset(stem(normalize(word)) for word in kind.words) for key, kind in KINDS.items()
}
_KIND_PARTS = {key: tuple(normalize(word) for word in kind.words) for key, kind in KINDS.items()}
_STOP_STEMS = frozenset(stem(word) for word in STOPWORDS)


def relevant_entities(entities: Sequence[Entity], texts: Iterable[str]) -> list[Entity]:
    """Return the entities of `entities` that any of `texts` can refer to."""
    return HomeMatcher(entities).match(texts)
