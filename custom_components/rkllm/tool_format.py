"""Compact tool definitions for the prompt, and parsing/repair of the model's tool calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import json
import re
from typing import Any

from homeassistant.helpers import llm
import probatio

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

# Qwen 2.5's tool-calling convention (# Tools, <tools>, <tool_call> JSON) in fewer words than
# its template, with one short signature line per tool instead of a JSON schema.
_TOOLS_HEADER = "# Tools\n\nFunctions you may call:\n<tools>"
_TOOLS_FOOTER = (
    "</tools>\n\nTo call one, reply:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)

# "… a device or entity" says nothing the parameters do not (HA's intent descriptions).
_ANY_TARGET = re.compile(r"\s+(?:of\s+)?an?\s+(?:\w+\s+)?device or entity$")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_PY_LITERAL = re.compile(r"\b(True|False|None)\b")


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


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    """A tool call read from the model's output, checked against the offered tools."""

    name: str
    arguments: dict[str, Any]


class ToolCallError(ValueError):
    """The model's tool call cannot be used (bad JSON, unknown tool, wrong shape)."""


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
        extra = frozenset((drop_by_tool or {}).get(tool.name.rsplit("__", 1)[-1], ()))
        spec = compact_tool(tool, custom_serializer, drop=dropped | extra)
        settings = set(spec.parameters.get("properties") or ()) - _TARGET_PARAMETERS
        if extra and not settings:
            continue
        specs.append(spec)
    return specs


def model_tool_names(names: Iterable[str]) -> dict[str, str]:
    """Return HA's tool names mapped to what the model sees: without the namespace if unique.

    `intent__HassTurnOn` becomes `HassTurnOn` (fewer tokens to read and to write); calls
    are mapped back by `resolve_tool_name`.
    """
    listed = list(names)
    short = Counter(name.rsplit("__", 1)[-1] for name in listed)
    return {name: base if short[base := name.rsplit("__", 1)[-1]] == 1 else name for name in listed}


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
    base = name.rsplit("__", 1)[-1]
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
    """Return a Qwen-style `# Tools` block with one signature line per tool.

    `names` maps HA's tool names to the names the model sees.
    """
    lines = "\n".join(tool.signature((names or {}).get(tool.name)) for tool in tools)
    return f"{_TOOLS_HEADER}\n{lines}\n{_TOOLS_FOOTER}"


def parse_tool_call(raw: str | Mapping[str, Any], offered: Iterable[str]) -> ParsedToolCall:
    """Read one tool call (the text inside `<tool_call>` or a structured call) and check it.

    Repairs what small models commonly get wrong: code fences, single quotes, trailing
    commas, Python literals, missing closing braces, `parameters` for `arguments`,
    arguments as a JSON string, and a tool name without its `namespace__` prefix.

    Raises:
        ToolCallError: the call cannot be read or names a tool that was not offered.

    """
    data = _load_call(raw) if isinstance(raw, str) else dict(raw)
    function = data.get("function")
    if isinstance(function, dict):
        data = function
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolCallError("the tool call has no function name")
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _load_json_object(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolCallError(f"the arguments of {name} are not a JSON object")
    return ParsedToolCall(resolve_tool_name(name.strip(), offered), repair_arguments(arguments))


def resolve_tool_name(name: str, offered: Iterable[str]) -> str:
    """Return the offered tool `name` means; accept a missing `namespace__` prefix.

    Raises:
        ToolCallError: no offered tool matches.

    """
    names = list(offered)
    if name in names:
        return name
    matches = [n for n in names if n.rsplit("__", 1)[-1] == name.rsplit("__", 1)[-1]]
    if len(matches) == 1:
        return matches[0]
    raise ToolCallError(f"there is no tool named {name}")


def repair_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values and decode values that are JSON lists/objects written as strings."""
    repaired: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None or value in ("", []):
            continue
        repaired[str(key)] = _decode_json_string(value)
    return repaired


def _decode_json_string(value: Any) -> Any:
    """Return a list/object written as a JSON string decoded, anything else unchanged."""
    if isinstance(value, str) and value[:1] + value[-1:] in ("[]", "{}"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _load_call(text: str) -> dict[str, Any]:
    """Return the JSON object of a tool call's text, repairing it when needed."""
    text = _FENCE.sub("", text.strip()).strip()
    if not text:
        raise ToolCallError("the tool call is empty")
    return _load_json_object(text)


def _load_json_object(text: str) -> dict[str, Any]:
    """Return the JSON object in `text`, trying a few repairs before giving up."""
    candidates = [text]
    fixed = _TRAILING_COMMA.sub(r"\1", text)
    fixed = _PY_LITERAL.sub(lambda m: _PY_LITERALS[m.group(1)], fixed)
    candidates.append(fixed)
    if "'" in fixed and '"' not in fixed:
        candidates.append(fixed.replace("'", '"'))
    for candidate in list(candidates):
        missing = candidate.count("{") - candidate.count("}")
        if missing > 0:
            candidates.append(candidate + "}" * missing)
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            return value[0]
    raise ToolCallError("the tool call is not valid JSON")
