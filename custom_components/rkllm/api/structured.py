"""Structured output on servers that ignore `format`: the request asks for JSON in words."""

from __future__ import annotations

import json

from .models import JsonValue


def json_instruction(schema: JsonValue) -> str:
    """Return the prompt text asking for a JSON object with the schema's keys.

    A schema without properties (or Ollama's plain `"json"`) asks for any JSON object.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return "Answer with only a JSON object."
    required_keys = schema.get("required") if isinstance(schema, dict) else None
    required = set(required_keys) if isinstance(required_keys, list) else set()
    keys = ", ".join(
        f"{key} ({_kind(value)}{'' if key in required else ', optional'})"
        for key, value in properties.items()
    )
    return f"Answer with only a JSON object with the keys: {keys}."


def _kind(schema: JsonValue) -> str:
    if not isinstance(schema, dict):
        return "any"
    if isinstance(enum := schema.get("enum"), list) and enum:
        return " or ".join(json.dumps(value) for value in enum)
    kind = schema.get("type")
    if kind == "array" and isinstance(items := schema.get("items"), dict):
        return f"list of {_kind(items)}"
    return str(kind or "any")
