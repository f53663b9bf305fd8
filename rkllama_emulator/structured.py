"""Structured answers: a reply that fills the requested JSON schema from what the brain said."""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
ECHO_PREFIX = "You said:"
# A prompt that asks for JSON in words (servers without `format`): "… JSON object with the
# keys: answer (integer), unit (string, optional)."
_INSTRUCTION_RE = re.compile(r"JSON object with the keys: (.+?)\.(?:\s|$)")
_KEY_RE = re.compile(r"(\w+) \(([^()]*)\)")
_KINDS = ("integer", "number", "boolean", "string")


def _value(kind: str, text: str, numbers: list[str]) -> Any:
    """Return a value of JSON type `kind` taken from the reply (None when there is none)."""
    if kind == "integer":
        whole = [n for n in numbers if "." not in n]
        return int(whole[-1]) if whole else None
    if kind == "number":
        return float(numbers[-1]) if numbers else None
    if kind == "boolean":
        return not text.lower().startswith(("no", "not"))
    if kind == "array":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text.strip()


def structured_reply(text: str, schema: Any) -> str:
    """Return `text` as a JSON object with the schema's properties, when it can fill them.

    Numbers come from the reply's numbers (the last one: "145 + 278 = 423" gives 423), strings
    from the reply itself. A reply that already is JSON, an echo, or one that cannot fill every
    required property is returned unchanged.
    """
    if not isinstance(schema, dict) or "{" in text or text.startswith(ECHO_PREFIX):
        return text  # already JSON, or the brain did not understand (it echoes)
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return text
    numbers = _NUMBER_RE.findall(text)
    result: dict[str, Any] = {}
    for key, spec in properties.items():
        kind = str(spec.get("type")) if isinstance(spec, dict) else "string"
        value = _value(kind, text, numbers)
        if value is not None:
            result[key] = value
    if any(key not in result for key in schema.get("required") or ()):
        return text
    return json.dumps(result)


def instructed_schema(prompt: str) -> dict[str, Any] | None:
    """Return the schema a prompt asks for in words, as a model understands it (else None)."""
    match = _INSTRUCTION_RE.search(prompt)
    if match is None:
        return None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, description in _KEY_RE.findall(match.group(1)):
        kind = description.removesuffix(", optional")
        if kind.startswith("list of"):
            properties[key] = {"type": "array"}
        else:
            properties[key] = {"type": kind if kind in _KINDS else "string"}
        if not description.endswith(", optional"):
            required.append(key)
    return {"type": "object", "properties": properties, "required": required}
