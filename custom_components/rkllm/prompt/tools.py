"""The tools as the model sees them: compact specs, short names, HA's tool names.

This is the one place that knows Home Assistant's tool (intent) names and what they mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import json
import re
from typing import Any

from homeassistant.helpers import llm
import probatio

from ..api import model_text
from ..api.model_text import tool_base_name

MAX_ENUM_VALUES = 8  # longer enums are dropped from the prompt: the model rarely needs them
MAX_DESCRIPTION_CHARS = 72  # tool descriptions: the first sentence, cut to this length
# Parameters left out of the prompt: HA's `device_class` enums are long and voice requests
# name devices or areas instead. (`floor` is left out too when the home has no floors.)
DROPPED_PARAMETERS = frozenset({"device_class"})
# Parameters that say which device, not what to do with it.
_TARGET_PARAMETERS = frozenset({"name", "area", "floor", "domain", "device_class"})
_SHORTEST_PLURAL = 3  # "bus" and "gas" keep their s
_FILLER_WORDS = frozenset(
    {"a", "an", "the", "all", "of", "and", "or", "to", "for", "current", "provide", "return"}
)


# Home Assistant's tools (intents) that the prompt and the quick confirmation know by name.
LIVE_CONTEXT = "GetLiveContext"
TURN_ON = "HassTurnOn"
"""Turns on, opens (covers, valves) or locks (locks)."""
TURN_OFF = "HassTurnOff"
"""Turns off, closes (covers, valves) or unlocks (locks)."""
LIGHT_SET = "HassLightSet"
SET_POSITION = "HassSetPosition"
STOP_MOVING = "HassStopMoving"
DATA_INTENTS = frozenset(
    {
        "HassGetState",
        "HassGetWeather",
        "HassGetCurrentDate",
        "HassGetCurrentTime",
        "HassTimerStatus",
        "HassShoppingListLastItems",
        "HassListCompleteItem",
    }
)
"""Intents that answer with data to talk about even when they report `action_done`."""

# "… a device or entity" says nothing the parameters do not (HA's intent descriptions).
# Intents that set a value of a device (their sentences name what they set).
SETTING_INTENTS = frozenset(
    {
        "HassClimateSetTemperature",
        "HassFanSetSpeed",
        "HassLightSet",
        "HassSetPosition",
        "HassSetVolume",
        "HassSetVolumeRelative",
    }
)
# Intents that act on one kind of device whatever their sentences' slots say.
INTENT_DOMAINS: dict[str, tuple[str, ...]] = {
    "HassClimateGetTemperature": ("climate",),
    "HassClimateSetTemperature": ("climate",),
    "HassClimateSetFanMode": ("climate",),
    "HassFanSetSpeed": ("fan",),
    "HassLightSet": ("light",),
    "HassLawnMowerDock": ("lawn_mower",),
    "HassLawnMowerStartMowing": ("lawn_mower",),
    "HassMediaNext": ("media_player",),
    "HassMediaPause": ("media_player",),
    "HassMediaPlayerMute": ("media_player",),
    "HassMediaPlayerUnmute": ("media_player",),
    "HassMediaPrevious": ("media_player",),
    "HassMediaSearchAndPlay": ("media_player",),
    "HassMediaUnpause": ("media_player",),
    "HassSetVolume": ("media_player",),
    "HassSetVolumeRelative": ("media_player",),
    "HassSetPosition": ("cover", "valve"),
    "HassVacuumCleanArea": ("vacuum",),
    "HassVacuumReturnToBase": ("vacuum",),
    "HassVacuumStart": ("vacuum",),
    "HassGetWeather": ("weather",),
}
_ANY_TARGET = re.compile(r"\s+(?:of\s+)?an?\s+(?:\w+\s+)?device or entity$")


type JsonSchema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool as the model sees it: HA's exact name, a short description, a lean schema."""

    name: str
    description: str
    parameters: JsonSchema = field(default_factory=dict)
    """A minimal JSON schema of type object (no descriptions, no additionalProperties)."""

    def signature(self, name: str | None = None) -> str:
        """Return one line: `name(param, param: 0-100, mode: a|b): description`.

        `name` is the name the model sees (HA's by default). Strings need no type; numbers,
        ranges and choices say what they take.
        """
        properties: dict[str, Any] = self.parameters.get("properties") or {}
        params = ", ".join(_parameter(key, value) for key, value in properties.items())
        line = f"{name or self.name}({params})"
        return f"{line}: {self.description}" if self.description else line


def compact_tools(
    tools: Iterable[llm.Tool],
    custom_serializer: Callable[[Any], Any] | None,
    *,
    drop: Iterable[str] = DROPPED_PARAMETERS,
    drop_by_tool: Mapping[str, Iterable[str]] | None = None,
) -> list[ToolSpec]:
    """Return the offered tools in the compact form, in HA's order.

    `drop_by_tool` names, by tool name without its namespace, optional parameters the home
    cannot use; a tool left with none of its optional settings (a light tool in a home of
    on/off lights) is not offered.
    """
    dropped = frozenset(drop)
    specs: list[ToolSpec] = []
    for tool in tools:
        extra = frozenset((drop_by_tool or {}).get(tool_base_name(tool.name), ()))
        spec = compact_tool(tool, custom_serializer, drop=dropped | extra)
        settings = set(spec.parameters.get("properties") or ()) - _TARGET_PARAMETERS
        if extra and not settings:
            continue
        specs.append(spec)
    return specs


def named(names: Iterable[str], base_name: str) -> str | None:
    """Return the offered tool whose name without its namespace is `base_name`, if any."""
    return next((name for name in names if tool_base_name(name) == base_name), None)


def model_tool_names(names: Iterable[str]) -> dict[str, str]:
    """Return HA's tool names mapped to what the model sees: without the namespace if unique.

    `intent__HassTurnOn` becomes `HassTurnOn` (fewer tokens to read and to write); calls
    are mapped back by `model_text.resolve_tool_name`.
    """
    listed = list(names)
    short = Counter(tool_base_name(name) for name in listed)
    return {name: base if short[base := tool_base_name(name)] == 1 else name for name in listed}


def compact_tool(
    tool: llm.Tool,
    custom_serializer: Callable[[Any], Any] | None,
    *,
    drop: frozenset[str] = DROPPED_PARAMETERS,
) -> ToolSpec:
    """Return one tool with a short description and a lean schema.

    Optional parameters in `drop`, and optional ones that allow a single value only (the
    `domain` of a light tool), are left out: the model needs neither.
    """
    schema = lean_schema(
        probatio.to_openapi(
            tool.parameters, custom_serializer=custom_serializer, openapi_version="3.1.0"
        )
    )
    required = set(schema.get("required") or ())
    properties: dict[str, Any] = schema.get("properties") or {}
    for key in list(properties):
        if key not in required and (key in drop or _single_choice(properties[key])):
            del properties[key]
    description = _ANY_TARGET.sub("", short_description(tool.description or ""))
    if restates_name(description, tool.name):
        description = ""
    return ToolSpec(name=tool.name, description=description, parameters=schema)


def restates_name(description: str, name: str) -> bool:
    """Return True when a description only repeats the words of the tool's name.

    `Cancels all timers` adds nothing to `intent__HassCancelAllTimers`.
    """
    words = {_stem(w) for w in re.findall(r"[a-z]+", description.lower())} - _FILLER_WORDS
    base = tool_base_name(name)
    parts = {_stem(p.lower()) for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", base)}
    return bool(words) and words <= parts


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > _SHORTEST_PLURAL else word


def _single_choice(schema: Mapping[str, Any]) -> bool:
    """Return True for a schema that allows one value only (or a list of it)."""
    if schema.get("type") == "array":
        return _single_choice(schema.get("items") or {})
    enum = schema.get("enum")
    return isinstance(enum, list) and len(enum) == 1


def short_description(text: str) -> str:
    """Return the first sentence of a description, cut at a clause or word if long."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    first = (match.group(1) if match else text).rstrip(".")
    if len(first) <= MAX_DESCRIPTION_CHARS:
        return first
    head = first[:MAX_DESCRIPTION_CHARS]
    cut = head.rsplit(", ", 1)[0] if ", " in head else head.rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def lean_schema(schema: Mapping[str, Any]) -> JsonSchema:
    """Return a JSON schema keeping only what a model needs to fill in arguments."""
    for union in ("anyOf", "oneOf"):
        if options := schema.get(union):
            choices = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            if choices:
                # `string | [string]` (HA's "one or many"): the list form covers both.
                arrays = [o for o in choices if o.get("type") == "array"]
                return lean_schema(arrays[0] if arrays else choices[0])
    lean: JsonSchema = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind:
        lean["type"] = kind
    enum = schema.get("enum")
    if isinstance(enum, list) and 0 < len(enum) <= MAX_ENUM_VALUES:
        lean["enum"] = enum
    for bound in ("minimum", "maximum"):
        if bound in schema:
            lean[bound] = schema[bound]
    if kind == "array" and isinstance(items := schema.get("items"), dict):
        lean["items"] = lean_schema(items)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        lean["type"] = "object"
        lean["properties"] = {
            key: lean_schema(value) for key, value in properties.items() if isinstance(value, dict)
        }
        if required := [key for key in schema.get("required") or () if key in properties]:
            lean["required"] = required
    return lean


def _parameter(key: str, schema: Mapping[str, Any]) -> str:
    """Return `key`, or `key: hint` when the parameter takes more than text."""
    hint = _type_hint(schema)
    if hint in ("string", "string[]", "any", "any[]"):  # text: HA takes one name or several
        return key
    text = hint if isinstance(hint, str) else json.dumps(hint, separators=(",", ":"))
    return f"{key}: {text}"


def _type_hint(schema: Mapping[str, Any]) -> Any:
    """Return a short type hint: "string", "string[]", "integer 0 to 100", "a|b", {…}."""
    kind = schema.get("type")
    if enum := schema.get("enum"):
        return "|".join(str(value) for value in enum)
    if kind == "array":
        inner = _type_hint(schema.get("items") or {})
        if not isinstance(inner, str):
            return [inner]
        return f"({inner})[]" if "|" in inner or " " in inner else f"{inner}[]"
    if kind == "object" and schema.get("properties"):
        return {key: _type_hint(value) for key, value in schema["properties"].items()}
    if "minimum" in schema and "maximum" in schema:
        return f"{schema['minimum']}-{schema['maximum']}"
    return str(kind or "any")


def tool_block(tools: Iterable[ToolSpec], names: Mapping[str, str] | None = None) -> str:
    """Return the `# Tools` block with one signature line per tool.

    `names` maps HA's tool names to the names the model sees.
    """
    return model_text.tool_block(tool.signature((names or {}).get(tool.name)) for tool in tools)
