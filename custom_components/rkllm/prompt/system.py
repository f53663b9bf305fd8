"""The static system message: HA's system prompt taken apart and compacted.

Layout of the system message, static parts only, so that one turn's prompt is a byte-identical
prefix of the next turn's (rkllama keys its prompt cache on the first system + user messages):

1. the agent's instructions (the rendered prompt template);
2. the LLM API prompt, compacted: HA's long live-context and device-control guidance become
   two short sentences, and the YAML listing of exposed entities becomes either a one-line index
   of the areas (the entities a request can refer to then come with the request, see
   `devices`) or one line per area
   (`Kitchen: light (Ceiling Light, Counter Light/Cooking light), switch (Kettle)`);
3. the extra system prompt, if any;
4. the tool block (see `tools`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
import re
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.yaml import parse_yaml

from .matcher import Entity
from .tools import LIVE_CONTEXT, TURN_OFF, TURN_ON, ToolSpec, named

try:
    from homeassistant.components.homeassistant.llm import (
        DYNAMIC_CONTEXT_PROMPT as _HA_LIVE_CONTEXT_TEXT,
    )
    from homeassistant.components.intent.llm import (
        DEVICE_CONTROL_TOOL_USAGE_PROMPT as _HA_DEVICE_CONTROL_TEXT,
    )
except ImportError:  # pragma: no cover - a later HA moved them; its text is then kept as is
    _HA_LIVE_CONTEXT_TEXT = "\x00"
    _HA_DEVICE_CONTROL_TEXT = "\x00"

_HA_STATIC_HEADER = "Static Context: An overview of the areas and the devices in this smart home:"
# Sentences of HA's intent prompt (2026.10, inline there) and their short forms.
_HA_SENTENCES = (
    (
        (
            "When a user asks to turn on all devices of a specific type, ask the user to "
            "specify an area, unless there is only one device of that type."
        ),
        "For all devices of a type, ask which area, unless there is only one.",
    ),
    ("This device is not able to start timers.", "This device cannot start timers."),
)
_DATE_TIME_SENTENCE = re.compile(
    r"Current time is \d{1,2}:\d{2}:\d{2}\. Today's date is \d{4}-\d{2}-\d{2}\.\n?"
)
NO_AREA = "No area"


@dataclass(frozen=True, slots=True)
class SystemParts:
    """HA's system prompt taken apart."""

    instructions: str
    api_prompt: str
    extra: str
    time_in_prompt: bool
    """HA put the current time into the system prompt (no GetDateTime tool)."""


def split_system_prompt(
    text: str, api_prompt: str | None, extra_system_prompt: str | None
) -> SystemParts:
    """Take HA's joined system prompt apart into instructions, API prompt and extra prompt."""
    text, removed = _DATE_TIME_SENTENCE.subn("", text)
    extra = ""
    if extra_system_prompt and (at := text.rfind(extra_system_prompt)) != -1:
        extra = extra_system_prompt
        text = text[:at] + text[at + len(extra_system_prompt) :]
    api = ""
    if api_prompt and (at := text.find(api_prompt)) != -1:
        api = api_prompt
        text = text[:at] + text[at + len(api_prompt) :]
    return SystemParts(text.strip("\n"), api.strip("\n"), extra.strip("\n"), removed > 0)


def compact_api_prompt(
    api_prompt: str,
    tools: Sequence[ToolSpec],
    names: Mapping[str, str],
    listing: str | None = None,
) -> tuple[str, list[ToolSpec]]:
    """Replace HA's long Assist guidance and YAML entity listing by compact equivalents.

    `listing` replaces HA's YAML listing of the exposed entities; None lists them one line
    per area. `names` maps HA's tool names to the names the model sees. Returns the text and
    the tools; a tool whose use the text now explains (the live context tool) loses its
    long description.
    """
    explained: set[str] = set()
    text = api_prompt
    if _HA_LIVE_CONTEXT_TEXT in text:
        live = named(names, LIVE_CONTEXT)
        guidance = ""
        if live:
            guidance = f"For current states or values call {names[live]}.\n"
            explained.add(live)
        text = text.replace(_HA_LIVE_CONTEXT_TEXT, guidance)
    text, locks = _replace_entity_listing(text, listing)
    if _HA_DEVICE_CONTROL_TEXT in text:
        control = "Control devices by name or area, plus domain."
        if locks:
            turn_on = names.get(named(names, TURN_ON) or "", TURN_ON)
            turn_off = names.get(named(names, TURN_OFF) or "", TURN_OFF)
            control += f" {turn_on} locks, {turn_off} unlocks."
        text = text.replace(_HA_DEVICE_CONTROL_TEXT, control)
    for long, short in _HA_SENTENCES:
        text = text.replace(long, short)
    kept = [replace(tool, description="") if tool.name in explained else tool for tool in tools]
    return text, kept


def _replace_entity_listing(text: str, listing: str | None) -> tuple[str, bool]:
    """Replace HA's YAML listing of exposed entities by `listing` (None: one line per area).

    Returns the text and whether a lock is exposed.
    """
    start = text.find(_HA_STATIC_HEADER)
    if start == -1:
        return text, True
    body_start = start + len(_HA_STATIC_HEADER) + 1
    lines = text[body_start:].split("\n")
    count = 0
    while count < len(lines) and lines[count].startswith(("- ", "  ")):
        count += 1
    yaml_text = "\n".join(lines[:count])
    try:
        entities = parse_yaml(yaml_text)
    except HomeAssistantError:
        return text, True
    if not isinstance(entities, list) or not entities:
        return text, True
    entries = [e for e in entities if isinstance(e, dict)]
    if listing is None:
        listing = entity_listing(entries)
    rest = "\n".join(lines[count:])
    locks = any(e.get("domain") == "lock" for e in entries)
    parts = [text[:start].rstrip("\n"), listing, rest.strip("\n")]
    return "\n".join(part for part in parts if part), locks


def entity_listing(entities: Iterable[dict[str, Any]], header: str = "Devices by area:") -> str:
    """Return exposed entities as `Area: domain (name/alias, name)` lines, sorted stably."""
    areas: dict[str, dict[str, list[str]]] = {}
    for entity in entities:
        area = "/".join(_split_names(entity.get("areas"))) or NO_AREA
        domain = str(entity.get("domain") or "entity")
        names = "/".join(_split_names(entity.get("names")))
        if names:
            areas.setdefault(area, {}).setdefault(domain, []).append(names)
    lines = [header]
    for area in sorted(areas, key=lambda a: (a == NO_AREA, a.casefold(), a)):
        groups = areas[area]
        described = ", ".join(
            f"{domain} ({', '.join(sorted(groups[domain], key=lambda n: (n.casefold(), n)))})"
            for domain in sorted(groups)
        )
        lines.append(f"{area}: {described}")
    return "\n".join(lines)


def area_index(entities: Iterable[Entity]) -> str:
    """Return the areas that hold exposed entities on one line, by floor when there are floors.

    `Areas: Kitchen, Living room.` or `Areas: Ground floor: Kitchen; Upstairs: Bedroom; Garden.`
    """
    floors: dict[str, dict[str, None]] = {}
    for entity in entities:
        if entity.areas:
            floor = entity.floors[0] if entity.floors else ""
            floors.setdefault(floor, {})[entity.areas[0]] = None
    if not floors:
        return ""

    def _sorted(names: Iterable[str]) -> str:
        return ", ".join(sorted(names, key=lambda n: (n.casefold(), n)))

    if set(floors) == {""}:
        return f"Areas: {_sorted(floors[''])}."
    groups = [f"{floor}: {_sorted(floors[floor])}" for floor in sorted(floors) if floor]
    if "" in floors:
        groups.append(_sorted(floors[""]))
    return f"Areas: {'; '.join(groups)}."


def _split_names(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(", ") if part.strip()]


def language_note(language: str | None) -> str:
    """Return the instruction to answer in the user's language (none for English).

    The pipeline's language is fixed per agent in practice, so the note keeps the system
    prompt stable from turn to turn.
    """
    if not language or language.split("-")[0].lower() == "en":
        return ""
    return f"Answer in the user's language ({language})."


def build_system_text(parts: SystemParts, api_text: str, tool_block: str | None) -> str:
    """Join the static parts of the system message; the tool block goes last."""
    text = "\n".join(part for part in (parts.instructions, api_text, parts.extra) if part)
    if tool_block:
        text += tool_block if tool_block.startswith("\n") else "\n\n" + tool_block
    return text
