"""A language's words for kinds of device, read from Home Assistant's own sentence templates.

The `home-assistant-intents` package holds, per language, the templates HA's default agent
understands. A template that acts on one domain ("<turn> off [<the>] {area} fan[s]", slots
`domain: fan`) carries that language's words for the kind ("fan", "fans"); a word every kind of
template uses ("turn", "the", "in") is a generic word: never a kind, never what makes a name
distinctive. Loading parses the templates (tens of milliseconds): do it in the executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
import itertools
import math
from typing import Any

from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    Permutation,
    RuleReference,
    Sentence,
    TextChunk,
)
from hassil.intents import IntentData, Intents, TextSlotList
import home_assistant_intents

from .text import is_unspaced, normalize, words
from .tools import INTENT_DOMAINS, SETTING_INTENTS

_ENGLISH = "en"
_UNLISTED = frozenset({"calendar", "script"})  # never among the devices listed: no kind
_CLASS_LIST = "classes"  # a value list of device classes ("cover_classes")
_STATE_LIST = "_states"  # a value list of states ("cover_states", "bs_open_states")
_FULL_PRODUCT = 64  # a sequence with fewer combinations is expanded in full
_MAX_KIND_DOMAINS = 3  # a word the templates of more domains use is generic
_PLACE_LISTS = frozenset({"name", "area", "floor"})
_ALL_RULES = frozenset({"all", "alle", "are_all", "all_q", "everything", "everywhere", "todos"})
# Expansion rules named after what they name, in the languages that have them.
_KIND_RULES = {
    "light": "light",
    "lights": "light",
    "licht": "light",
    "lichter": "light",
    "luz": "light",
    "luces": "light",
    "fan": "fan",
    "fans": "fan",
    "luefter": "fan",
    "ventilator": "fan",
    "switch": "switch",
    "lockable": "lock",
    "låsbar": "lock",
    "heizung": "climate",
    "media": "media_player",
    "scene": "scene",
    "szene": "scene",
}


@dataclass(frozen=True, slots=True, eq=False)
class LanguageWords:
    """A language's words that name kinds of device, and its generic words."""

    kinds: Mapping[str, frozenset[str]]
    """Normalized word → the domains and device classes it names."""
    generic: frozenset[str]
    """Normalized words any request uses ("turn", "the", "in"): never distinctive."""
    everything: frozenset[str]
    """Normalized words for "all" / "everything"."""
    with_value: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The kinds a word names in a request that names a value (one that sets a value)."""
    values: frozenset[tuple[str, ...]] = frozenset()
    """The words of values setting intents name in words ("to the max", "red")."""


# Script subtags Home Assistant uses for Chinese, and the regional variant each stands for.
_ALIASES = {"zh-hans": "zh-cn", "zh-hant": "zh-tw", "no": "nb", "nn": "nb"}


NO_WORDS = LanguageWords({}, frozenset(), frozenset())


def match_language(language: str | None, available: Iterable[str]) -> str | None:
    """Return the entry of `available` that serves `language`, or None.

    The exact code first (any case, `_` or `-`), then the base language (`fr-FR` → `fr`),
    then the first regional variant of the base language (`zh` → `zh-CN`).
    """
    if not language:
        return None
    by_code = {code.lower(): code for code in sorted(available)}
    wanted = language.replace("_", "-").lower()
    wanted = _ALIASES.get(wanted, wanted)
    base = wanted.split("-", maxsplit=1)[0]
    if found := by_code.get(wanted) or by_code.get(base):
        return found
    return next((code for lower, code in by_code.items() if lower.startswith(f"{base}-")), None)


def language_key(language: str | None) -> str | None:
    """Return the package's language for a pipeline language (`de-AT` → `de`), None if none."""
    return match_language(language, _languages())


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    return frozenset(home_assistant_intents.get_languages())


def load_language_words(language: str | None) -> LanguageWords:
    """Return the words of `language` with English kind words it does not use otherwise.

    Blocking: parses the package's templates. English device words are common in every
    language's homes ("TV", "Spot"); a language the package lacks gets no words (names and
    places only: a place named lists all of it).
    """
    return _words_with_english(language_key(language))


@lru_cache(maxsize=8)
def _words_with_english(key: str | None) -> LanguageWords:
    own = _own_words(key)
    if own is NO_WORDS or key == _ENGLISH:
        return own
    english = _own_words(_ENGLISH)
    kinds = {word: targets for word, targets in english.kinds.items() if word not in own.generic}
    return LanguageWords(
        {**kinds, **own.kinds}, own.generic, own.everything, own.with_value, own.values
    )


@lru_cache(maxsize=8)
def _own_words(key: str | None) -> LanguageWords:
    """Return the words of the package's language `key`."""
    if key is None or (data := home_assistant_intents.get_intents(key)) is None:
        return NO_WORDS
    intents = Intents.from_dict(data)
    owners: dict[str, set[str]] = {}
    settings: dict[str, set[str]] = {}  # words of intents that set a light's or a fan's value
    generic: set[str] = set(map(normalize, intents.skip_words))
    values: set[tuple[str, ...]] = set()
    for intent in intents.intents.values():
        for block in intent.data:
            targets = _block_targets(intent.name, block)
            found = _block_words(intents, block)
            if intent.name in SETTING_INTENTS:
                values |= _block_values(intents, block)
            if not targets or len(targets) > _MAX_KIND_DOMAINS:
                generic |= found
            else:
                into = settings if intent.name in SETTING_INTENTS else owners
                for word in found:
                    into.setdefault(word, set()).update(targets)
    with_value = {  # "set the kitchen temperature to 4000" may be a light's
        word: frozenset(owners.get(word, set()) | targets)
        for word, targets in settings.items()
        if word not in generic
    }
    for word, targets in settings.items():
        if word not in owners:  # "temperature" is a climate's before a light's
            owners[word] = targets
    classes = _device_classes(intents)
    kinds: dict[str, frozenset[str]] = {
        word: frozenset(targets | classes.get(word, set()))
        for word, targets in owners.items()
        if word not in generic and len(targets) <= _MAX_KIND_DOMAINS
    }
    everything = _rule_words(intents, _ALL_RULES)
    by_rule = _rule_kinds(intents)
    if any(map(is_unspaced, kinds)):  # no word spaces: only the words of a kind's own rule
        kinds, with_value, values = {}, {}, set()
    kinds = {word: targets for word, targets in kinds.items() if word not in everything}
    for word, named in by_rule.items():
        if word not in generic:
            kinds[word] = kinds.get(word, frozenset()) | named
    generic |= set(owners) - set(kinds)
    return LanguageWords(kinds, frozenset(generic), everything, with_value, frozenset(values))


def _block_words(intents: Intents, block: IntentData) -> set[str]:
    """Return the words a template block's sentences can have."""
    rules = {**intents.expansion_rules, **block.expansion_rules}
    lists = {**intents.slot_lists, **block.slot_lists}
    return {
        word
        for sentence in block.sentences
        for text in _texts(sentence.expression, rules, lists, set())
        for word in words(text)
    }


def _block_values(intents: Intents, block: IntentData) -> set[tuple[str, ...]]:
    """Return the words of the values in words a template block sets ("hết mức", "red")."""
    rules = {**intents.expansion_rules, **block.expansion_rules}
    lists = {**intents.slot_lists, **block.slot_lists}
    names: set[str] = set()
    for sentence in block.sentences:
        _list_names(sentence.expression, rules, names, set())
    return {
        tuple(said)
        for name in names
        if _CLASS_LIST not in name
        for text in _list_texts(name, lists, rules, set())
        if (said := words(text))
    }


def _list_names(
    expression: Expression, rules: Mapping[str, Sentence], found: set[str], visiting: set[str]
) -> None:
    """Add the names of the value lists `expression` refers to to `found`."""
    if isinstance(expression, ListReference):
        found.add(expression.list_name)
    elif isinstance(expression, RuleReference):
        rule = rules.get(expression.rule_name)
        if rule is not None and expression.rule_name not in visiting:
            visiting.add(expression.rule_name)
            _list_names(rule.expression, rules, found, visiting)
    elif isinstance(expression, Group):
        for item in expression.items:
            _list_names(item, rules, found, visiting)


def _device_classes(intents: Intents) -> dict[str, set[str]]:
    """Return the words of the language's device-class lists ("blinds" → `blind`)."""
    found: dict[str, set[str]] = {}
    for name, slot_list in intents.slot_lists.items():
        if _CLASS_LIST not in name or not isinstance(slot_list, TextSlotList):
            continue
        for value in slot_list.values:
            for text in _texts(value.text_in, intents.expansion_rules, {}, set()):
                for word in words(text):
                    found.setdefault(word, set()).add(str(value.value_out))
    return found


def _rule_words(intents: Intents, wanted: frozenset[str]) -> frozenset[str]:
    """Return the words of the language's expansion rules named in `wanted`."""
    return frozenset(
        word
        for name, rule in intents.expansion_rules.items()
        if name in wanted
        for text in _texts(rule.expression, intents.expansion_rules, intents.slot_lists, set())
        for word in words(text)
    )


def _rule_kinds(intents: Intents) -> dict[str, frozenset[str]]:
    """Return the words of the rules named after a domain (`<light>`, `<fan>`, `<lockable>`)."""
    kinds: dict[str, frozenset[str]] = {}
    for rule_name, domain in _KIND_RULES.items():
        for word in _rule_words(intents, frozenset({rule_name})):
            kinds[word] = kinds.get(word, frozenset()) | {domain}
    return kinds


def _block_targets(intent: str, block: IntentData) -> set[str]:
    """Return the domains and device classes a template block acts on (empty: any)."""
    targets = set(INTENT_DOMAINS.get(intent, ()))
    for context in (block.slots, block.requires_context):
        for key in ("domain", "device_class"):
            value = context.get(key)
            if isinstance(value, str):
                targets.add(value)
            elif isinstance(value, list):
                targets.update(str(item) for item in value)
    return targets - _UNLISTED


def _texts(
    expression: Expression,
    rules: Mapping[str, Sentence],
    lists: Mapping[str, Any],
    visiting: set[str],
) -> list[str]:
    """Return texts that together use every alternative of `expression` at least once.

    A long sequence pairs its items' alternatives in turn (not every combination), so the
    texts stay few while every word a template can form appears in one of them.
    """
    if isinstance(expression, TextChunk):
        return [expression.text]
    if isinstance(expression, RuleReference):
        rule = rules.get(expression.rule_name)
        if rule is None or expression.rule_name in visiting:
            return [" "]
        visiting.add(expression.rule_name)
        try:
            return _texts(rule.expression, rules, lists, visiting)
        finally:
            visiting.discard(expression.rule_name)
    if isinstance(expression, ListReference):
        return list(_list_texts(expression.list_name, lists, rules, visiting))
    if isinstance(expression, Alternative):
        return [text for item in expression.items for text in _texts(item, rules, lists, visiting)]
    if isinstance(expression, Group):
        parts = [_texts(item, rules, lists, visiting) or [""] for item in expression.items]
        joiner = " " if isinstance(expression, Permutation) else ""
        if math.prod(len(part) for part in parts) <= _FULL_PRODUCT:
            return [joiner.join(combination) for combination in itertools.product(*parts)]
        longest = max(len(part) for part in parts)
        return [joiner.join(part[index % len(part)] for part in parts) for index in range(longest)]
    return [" "]


def _list_texts(
    name: str, lists: Mapping[str, Any], rules: Mapping[str, Sentence], visiting: set[str]
) -> Iterator[str]:
    """Yield the texts of a value list (names, areas, states, numbers, wildcards: a gap).

    A state ("open", "on") is said of many kinds: a request's kind comes from its other words.
    """
    slot_list = lists.get(name)
    if (
        name in _PLACE_LISTS
        or name.endswith(_STATE_LIST)
        or not isinstance(slot_list, TextSlotList)
    ):
        yield " "
        return
    for value in slot_list.values:
        for text in _texts(value.text_in, rules, lists, visiting):
            yield f" {text} "
