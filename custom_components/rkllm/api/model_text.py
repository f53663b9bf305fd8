"""The model's text conventions: reasoning and tool-call tags, tool calls as text and JSON.

Qwen-style chat models (and the rkllama servers that run them) write reasoning between
`<think>` tags and tool calls as a JSON object between `<tool_call>` tags, and read tool results
between `<tool_response>` tags. Everything that writes or reads these conventions lives here:
the tags, a call rendered as text, the tool block of the system prompt, reading (and repairing)
a call's JSON, code fences, and HA's `namespace__name` tool names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
import json
import re
from typing import Any

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"

# Qwen 2.5's tool-calling convention (# Tools, <tools>, <tool_call> JSON) in fewer words than
# its template, with one short line per tool instead of a JSON schema.
_TOOLS_HEADER = "# Tools\n\nFunctions you may call:\n<tools>"
_TOOLS_FOOTER = (
    "</tools>\n\nTo call one, reply:\n"
    f'{TOOL_CALL_OPEN}\n{{"name": <function-name>, "arguments": <args-json-object>}}\n'
    f"{TOOL_CALL_CLOSE}"
)
_NAMESPACE = "__"

_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)\s*(?:```|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_PY_LITERAL = re.compile(r"\b(True|False|None)\b")


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    """A tool call read from the model's output, checked against the offered tools."""

    name: str
    arguments: dict[str, Any]


class ToolCallError(ValueError):
    """The model's tool call cannot be used (bad JSON, unknown tool, wrong shape)."""


# -- writing -------------------------------------------------------------------------------


def tool_block(lines: Iterable[str]) -> str:
    """Return the `# Tools` block of the system prompt: one line per tool, then how to call."""
    joined = "\n".join(lines)
    return f"{_TOOLS_HEADER}\n{joined}\n{_TOOLS_FOOTER}"


def tool_call_text(body: str) -> str:
    """Return a tool call as the model writes it, around its (JSON) text."""
    return f"{TOOL_CALL_OPEN}\n{body.strip()}\n{TOOL_CALL_CLOSE}"


def tool_call_json_text(name: str, arguments: Mapping[str, Any]) -> str:
    """Return a tool call with its name and arguments as the model writes it."""
    return tool_call_text(json.dumps({"name": name, "arguments": arguments}))


def tool_response_text(content: str) -> str:
    """Return a tool's result as the model reads it in a user turn."""
    return f"{TOOL_RESPONSE_OPEN}\n{content}\n{TOOL_RESPONSE_CLOSE}"


# -- names ---------------------------------------------------------------------------------


def tool_base_name(name: str) -> str:
    """Return a tool name without its `namespace__` prefix (`intent__HassTurnOn` → `HassTurnOn`)."""
    return name.rsplit(_NAMESPACE, 1)[-1]


def resolve_tool_name(name: str, offered: Iterable[str]) -> str:
    """Return the offered tool `name` means; accept a missing `namespace__` prefix.

    Raises:
        ToolCallError: no offered tool matches.

    """
    names = list(offered)
    if name in names:
        return name
    matches = [n for n in names if tool_base_name(n) == tool_base_name(name)]
    if len(matches) == 1:
        return matches[0]
    raise ToolCallError(f"there is no tool named {name}")


# -- reading -------------------------------------------------------------------------------


def strip_code_fence(text: str) -> str:
    """Return the body of the first code fence in `text` (an open one runs to the end).

    Text without a fence is returned stripped.
    """
    match = _FENCE.search(text)
    return match.group(1) if match else text.strip()


def parse_tool_call(raw: str | Mapping[str, Any], offered: Iterable[str]) -> ParsedToolCall:
    """Read one tool call (the text inside the call tags or a structured call) and check it.

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
        arguments = load_json_object(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ToolCallError(f"the arguments of {name} are not a JSON object")
    return ParsedToolCall(resolve_tool_name(name.strip(), offered), repair_arguments(arguments))


def looks_like_tool_call(text: str) -> bool:
    """Return True when `text` is a JSON object (maybe fenced) with a `name` key.

    Small models often write a call without its tags.
    """
    try:
        value = json.loads(strip_code_fence(text))
    except ValueError:
        return False
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        return False
    function = value.get("function", value)
    return isinstance(function, dict) and isinstance(function.get("name"), str)


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
    text = strip_code_fence(text)
    if not text:
        raise ToolCallError("the tool call is empty")
    return load_json_object(text)


def load_json_object(text: str) -> dict[str, Any]:
    """Return the JSON object in `text`, trying a few repairs before giving up.

    Raises:
        ToolCallError: no repair gives a JSON object.

    """
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


def json_object_end(text: str) -> int | None:
    """Return the index after the first complete JSON object in `text`, or None."""
    start = text.find("{")
    if start == -1:
        return None
    depth = 0
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None
