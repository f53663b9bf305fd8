"""Sentences in every language Home Assistant speaks, made from its own templates, and recall.

The `home-assistant-intents` package holds the sentence templates of HA's default agent per
language. For every template that names an entity, an area or a floor, this samples sentences
against a small home of that language (`language_homes`) and knows which entities HA would act
on; the relevance matcher must list every one of them. Nothing is copied: the sentences are
made at run time from the installed package, the homes are written here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
import importlib
import random
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
from hassil.intents import IntentData, Intents, RangeSlotList, TextSlotList
from hassil.parse_expression import parse_sentence
import home_assistant_intents

from bench_lib.language_homes import ROLES, home_spec

# The integration's matcher, by its Home Assistant path (mypy knows the package as `rkllm`).
_WORDS: Any = importlib.import_module("custom_components.rkllm.prompt.language_words")
_MATCHER: Any = importlib.import_module("custom_components.rkllm.prompt.matcher")

PER_INTENT = 24  # sentences sampled per intent and language
_TRIES = 4  # samples drawn per sentence sampled (some name nothing the home has)
_PLACES = ("name", "area", "floor")
_NOT_ENTITIES = "Timer"
_NOT_ENTITY_INTENTS = frozenset({"HassBroadcast"})


@dataclass(frozen=True, slots=True)
class Sample:
    """A generated sentence and the entities Home Assistant would act on."""

    intent: str
    text: str
    targets: frozenset[str]


@dataclass(frozen=True, slots=True)
class Recall:
    """How the matcher did on one language's sentences."""

    language: str
    sentences: int
    found: int
    """Sentences whose every target was listed."""
    listed: int
    """Entities listed over all sentences."""
    misses: tuple[Sample, ...]

    @property
    def recall(self) -> float:
        """Return the share of sentences with every target listed."""
        return self.found / self.sentences if self.sentences else 1.0

    @property
    def mean_listed(self) -> float:
        """Return the entities listed per sentence."""
        return self.listed / self.sentences if self.sentences else 0.0


@dataclass(frozen=True, slots=True)
class _HomeEntity:
    entity: Any
    """The matcher's `Entity`."""
    spoken: Expression
    """The name as a template: its inflected forms."""
    area: int | None


@dataclass(frozen=True, slots=True)
class _Home:
    entities: tuple[_HomeEntity, ...]
    areas: tuple[Expression, ...]
    floor: Expression
    floor_areas: frozenset[int]


def languages() -> list[str]:
    """Return the languages of the installed package."""
    return sorted(home_assistant_intents.get_languages())


def measure(language: str, per_intent: int = PER_INTENT) -> Recall:
    """Return the matcher's recall and listing size on the language's sentences."""
    home = _home(language)
    matcher = _MATCHER.HomeMatcher(
        [item.entity for item in home.entities], _WORDS.load_language_words(language)
    )
    found = listed = 0
    misses: list[Sample] = []
    samples = sentences(language, per_intent)
    for sample in samples:
        matched = {entity.entity_id for entity in matcher.match([sample.text])}
        listed += len(matched)
        if sample.targets <= matched:
            found += 1
        else:
            misses.append(sample)
    return Recall(language, len(samples), found, listed, tuple(misses))


def by_language(languages: list[str], per_intent: int = PER_INTENT) -> dict[str, dict[str, Any]]:
    """Return, per language, its sentences, recall, mean listed entities and home size."""
    found: dict[str, dict[str, Any]] = {}
    for language in languages:
        result = measure(language, per_intent)
        found[language] = {
            "sentences": result.sentences,
            "recall": result.recall,
            "mean_listed": result.mean_listed,
            "listed": result.listed,
            "home": len(ROLES),
            "misses": [sample.text for sample in result.misses[:3]],
        }
    return found


def home_entities(language: str) -> list[Any]:
    """Return the language's home as the matcher sees it."""
    return [item.entity for item in _home(language).entities]


def sentences(language: str, per_intent: int = PER_INTENT) -> list[Sample]:
    """Return sentences sampled from the templates that name an entity, area or floor."""
    intents = _intents(language)
    home = _home(language)
    rng = random.Random(f"{language}-{per_intent}")  # noqa: S311 - repeatable samples
    found: list[Sample] = []
    for intent in intents.intents.values():
        if _NOT_ENTITIES in intent.name or intent.name in _NOT_ENTITY_INTENTS:
            continue  # a timer's or a broadcast's area is where it runs, not what it acts on
        blocks = [
            (block, sentence)
            for block in intent.data
            for sentence in block.sentences
            if _names_a_place(sentence, intents, block)
        ]
        if not blocks:
            continue
        made = 0
        for _ in range(per_intent * _TRIES):
            block, sentence = rng.choice(blocks)
            choice = _Choice(block, intents, home, rng)
            if sample := _sample(intent.name, sentence, choice):
                found.append(sample)
                made += 1
                if made >= per_intent:
                    break
    return found


@lru_cache(maxsize=2)
def _intents(language: str) -> Intents:
    return Intents.from_dict(home_assistant_intents.get_intents(language) or {})


def _names_a_place(sentence: Sentence, intents: Intents, block: IntentData) -> bool:
    rules = {**intents.expansion_rules, **block.expansion_rules}
    return bool(set(sentence.list_names(rules)) & set(_PLACES))


@lru_cache(maxsize=2)
def _home(language: str) -> _Home:
    spec = home_spec(language)
    areas = tuple(parse_sentence(text).expression for text in spec.areas)
    entities = []
    for role in ROLES:
        spoken = parse_sentence(spec.names[role.key]).expression
        area = role.area
        entities.append(
            _HomeEntity(
                _MATCHER.Entity(
                    role.entity_id,
                    role.domain,
                    (_first(spoken),),
                    (_first(areas[area]),) if area is not None else (),
                    (_first(parse_sentence(spec.floor).expression),)
                    if area in spec.floor_areas
                    else (),
                    role.device_class,
                ),
                spoken,
                area,
            )
        )
    return _Home(
        tuple(entities),
        areas,
        parse_sentence(spec.floor).expression,
        frozenset(spec.floor_areas),
    )


def _first(expression: Expression) -> str:
    """Return a template's first form ("Ночн(ая|ую) ламп(а|у)" → "Ночная лампа")."""
    if isinstance(expression, TextChunk):
        return expression.text
    if isinstance(expression, Alternative):
        return _first(expression.items[0]) if expression.items else ""
    if isinstance(expression, Group):
        return "".join(_first(item) for item in expression.items).strip()
    return ""


def _sample(intent: str, sentence: Sentence, choice: _Choice) -> Sample | None:
    """Return one sentence of a template and its targets (None: the home has none)."""
    choice.uses_name = "name" in sentence.list_names(choice.rules)
    choice.choose_name()  # before the area: a sentence's area is the named entity's
    text = "".join(choice.texts(sentence.expression)).strip()
    if choice.failed or not text:
        return None
    targets = _targets(intent, choice.block, choice.home, choice.slots)
    return Sample(intent, " ".join(text.split()), targets) if targets else None


class _Choice:
    """Random choices through one template: the words, and the slots they fill."""

    def __init__(
        self,
        block: IntentData,
        intents: Intents,
        home: _Home,
        rng: random.Random,
    ) -> None:
        self.rules = {**intents.expansion_rules, **block.expansion_rules}
        self.lists: Mapping[str, Any] = {**intents.slot_lists, **block.slot_lists}
        self.block = block
        self.home = home
        self.rng = rng
        self.slots: dict[str, Any] = {}
        self.failed = False
        self.named: _HomeEntity | None = None
        self.uses_name = False
        self.attached = False
        """The template attaches letters to the next list's value: use a name's first form."""

    def texts(self, expression: Expression) -> Iterator[str]:
        """Yield the pieces of one random sentence of `expression`."""
        if isinstance(expression, TextChunk):
            yield expression.text
        elif isinstance(expression, RuleReference):
            if rule := self.rules.get(expression.rule_name):
                yield from self.texts(rule.expression)
        elif isinstance(expression, ListReference):
            yield from self._list(expression)
        elif isinstance(expression, Alternative):
            if expression.items:
                yield from self.texts(self.rng.choice(expression.items))
        elif isinstance(expression, Permutation):
            items = list(expression.items)
            self.rng.shuffle(items)
            for item in items:
                yield " "
                yield from self.texts(item)
                yield " "
        elif isinstance(expression, Group):
            items = expression.items
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None
                before = items[index - 1] if index else None
                self.attached = (following is not None and _touches(following, 0)) or (
                    before is not None and _touches(before, -1)
                )
                yield from self.texts(item)

    def _list(self, reference: ListReference) -> Iterator[str]:
        name = reference.list_name
        if name == "name":
            yield from self._name()
            return
        if name in ("area", "floor"):
            attached = self.attached
            spoken = self._place(name)
            if spoken is not None:
                yield _first(spoken) if attached else "".join(self.texts(spoken))
            return
        slot_list = self.lists.get(name)
        if isinstance(slot_list, RangeSlotList):
            yield str(self.rng.randrange(slot_list.start, slot_list.stop + 1, slot_list.step))
        elif isinstance(slot_list, TextSlotList) and slot_list.values:
            value = self.rng.choice(slot_list.values)
            self.slots[reference.slot_name] = value.value_out
            yield from self.texts(value.text_in)
        else:  # a wildcard: any words
            yield " xyz "

    def choose_name(self) -> None:
        """Choose the entity a {name} of the sentence stands for."""
        wanted = _listed(self.block.requires_context.get("domain"))
        classes = _listed(self.block.requires_context.get("device_class"))
        fitting = [
            item
            for item in self.home.entities
            if (not wanted or item.entity.domain in wanted)
            and (not classes or item.entity.device_class in classes)
        ]
        self.named = self.rng.choice(fitting) if fitting else None

    def _name(self) -> Iterator[str]:
        if self.named is None:
            self.failed = True
            return
        self.slots["name"] = self.named.entity.entity_id
        yield (
            self.named.entity.names[0] if self.attached else "".join(self.texts(self.named.spoken))
        )

    def _place(self, kind: str) -> Expression | None:
        if kind == "floor":
            if (
                self.named is not None
                and self.uses_name
                and self.named.area not in self.home.floor_areas
            ):
                self.failed = True
                return None
            self.slots["floor"] = True
            return self.home.floor
        if self.named is not None and self.uses_name:
            if self.named.area is None:
                self.failed = True
                return None
            index = self.named.area
        else:
            index = self.rng.randrange(len(self.home.areas))
        self.slots["area"] = index
        return self.home.areas[index]


def _touches(expression: Expression, end: int) -> bool:
    """Return whether `expression` can start (`end` 0) or end (-1) with a letter."""
    if isinstance(expression, TextChunk):
        return expression.text[end:][:1].isalnum() if expression.text else False
    if isinstance(expression, Alternative):
        return any(_touches(item, end) for item in expression.items)
    if isinstance(expression, Group) and expression.items:
        return _touches(expression.items[end], end)
    return False


def _listed(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(item) for item in value}
    return set()


def _targets(intent: str, block: IntentData, home: _Home, slots: dict[str, Any]) -> frozenset[str]:
    """Return the entities Home Assistant acts on for a sentence's slots."""
    if "name" in slots:
        return frozenset({slots["name"]})
    domains = _listed(block.slots.get("domain")) or set(_WORDS.INTENT_DOMAINS.get(intent, ()))
    classes = _listed(block.slots.get("device_class")) | _listed(slots.get("device_class"))
    if "area" in slots:
        places = {slots["area"]}
    elif "floor" in slots:
        places = set(home.floor_areas)
    else:
        return frozenset()
    return frozenset(
        item.entity.entity_id
        for item in home.entities
        if item.area in places
        and (not domains or item.entity.domain in domains)
        and (not classes or item.entity.device_class in classes)
    )
