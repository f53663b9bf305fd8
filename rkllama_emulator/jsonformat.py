"""The `format` field: an instruction added to the prompt and JSON extraction (spec 5.5)."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _example(schema: dict[str, Any]) -> dict[str, Any]:
    """Build a small example object from a JSON schema's properties."""
    defaults = {"string": "...", "integer": 0, "number": 0.0, "boolean": False, "array": []}
    properties = schema.get("properties") or {}
    return {
        key: defaults.get(str(spec.get("type"))) if isinstance(spec, dict) else None
        for key, spec in properties.items()
    }


def format_instruction(fmt: Any) -> str:
    """Return the text appended to the last user message for a `format` request."""
    if isinstance(fmt, dict):
        required = ", ".join(str(name) for name in fmt.get("required") or [])
        return (
            "\n\nYou must respond with valid JSON only, shaped like this example:\n"
            f"{json.dumps(_example(fmt))}\nRequired fields: {required}."
        )
    if fmt:
        return "\n\nYou must respond with valid JSON only."
    return ""


def apply_format(messages: list[dict[str, Any]], fmt: Any) -> list[dict[str, Any]]:
    """Return messages with the format instruction appended to the last user message."""
    instruction = format_instruction(fmt)
    if not instruction:
        return messages
    result = list(messages)
    for index in range(len(result) - 1, -1, -1):
        if result[index].get("role") == "user":
            content = result[index].get("content")
            text = content if isinstance(content, str) else ""
            result[index] = {**result[index], "content": text + instruction}
            break
    return result


def _first_object(text: str) -> dict[str, Any] | None:
    """Return the first JSON object in a text."""
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            obj, _ = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(obj, dict):
            return obj
        index = text.find("{", index + 1)
    return None


def formatted_content(content: str, fmt: Any) -> str:
    """Replace non-stream content by the JSON it contains, when `format` asks for JSON."""
    if not fmt:
        return content
    fence = _FENCE_RE.search(content)
    obj = _first_object(fence.group(1) if fence else content)
    if obj is None:
        return content
    if isinstance(fmt, dict):
        properties = fmt.get("properties") or {}
        kept = {key: value for key, value in obj.items() if key in properties}
        return json.dumps(kept, indent=2)
    return json.dumps(obj)
