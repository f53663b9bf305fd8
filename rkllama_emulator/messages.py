"""Helpers to read chat messages as clients send them."""

from __future__ import annotations

import itertools
from typing import Any

LEGACY_SYSTEM_PROMPT = "Tu es un assistant artificiel."


def message_text(content: Any) -> str:
    """Return the text of a message content (a string or a list of OpenAI-style parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        ]
        return "".join(parts)
    return "" if content is None else str(content)


def clean_messages(raw: Any) -> list[dict[str, Any]]:
    """Keep the dict messages of a request body's `messages` list."""
    if not isinstance(raw, list):
        return []
    return [message for message in raw if isinstance(message, dict)]


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """Return the text of the last user message, or ""."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def tool_names_of(tools: list[dict[str, Any]] | None) -> list[str]:
    """Return the function names of an Ollama/OpenAI `tools` list."""
    names: list[str] = []
    for tool in tools or []:
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def upstream_messages(
    messages: list[dict[str, Any]], system_field: str
) -> tuple[str | None, list[dict[str, Any]]]:
    """Split off the system text as upstream does: the last system message (or `system`) wins."""
    system: str | None = None
    rest: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") == "system":
            system = message_text(message.get("content"))
        else:
            rest.append(message)
    if system_field:
        system = system_field
    return system, rest


def legacy_messages(
    messages: list[dict[str, Any]], *, with_system: bool = True
) -> list[dict[str, Any]] | None:
    """Prepend the fork's French system prompt; None if two roles repeat (the fork's 500)."""
    head = [{"role": "system", "content": LEGACY_SYSTEM_PROMPT}] if with_system else []
    full = [*head, *messages]
    for previous, current in itertools.pairwise(full):
        if previous.get("role") == current.get("role"):
            return None
    return full
