"""Tool-call detection in generated text, as upstream does when `tools` is non-empty."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

_BLOCK_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def _as_call(obj: Any) -> dict[str, Any] | None:
    """Return an Ollama tool call for an object with `name` and `arguments`/`parameters`."""
    if not isinstance(obj, dict) or "name" not in obj:
        return None
    if "arguments" in obj:
        arguments = obj["arguments"]
    elif "parameters" in obj:
        arguments = obj["parameters"]
    else:
        return None
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    return {"function": {"name": obj["name"], "arguments": arguments}}


def _json_objects(text: str) -> list[Any]:
    """Return every JSON object that can be decoded starting at a `{` in the text."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = text.find("{")
    while index != -1:
        try:
            obj, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        found.append(obj)
        index = text.find("{", end)
    return found


def extract_tool_calls(text: str) -> list[dict[str, Any]]:
    """Find tool calls: <tool_call> blocks first, else any JSON object with name+arguments."""
    calls: list[dict[str, Any]] = []
    for block in _BLOCK_RE.findall(text):
        for obj in _json_objects(block):
            call = _as_call(obj)
            if call is not None:
                calls.append(call)
    if calls:
        return calls
    for obj in _json_objects(text):
        call = _as_call(obj)
        if call is not None:
            calls.append(call)
    return calls
