"""Message reshaping for the legacy `/generate` API."""

from __future__ import annotations

from collections.abc import Sequence

from .model_text import tool_call_json_text, tool_response_text
from .models import ChatMessage, JsonObject, MessageRole


def legacy_messages(messages: Sequence[ChatMessage]) -> list[JsonObject]:
    """Return messages the fork accepts: user/assistant only, strictly alternating.

    The fork prepends its own system prompt and answers 500 to a client system message or to
    two same-role messages in a row. System text is folded into the first user turn, tool calls
    and results become plain text, and consecutive same-role turns are merged.
    """
    system = "\n\n".join(m.content for m in messages if m.role is MessageRole.SYSTEM and m.content)
    turns: list[tuple[str, str]] = []
    for message in messages:
        if message.role is MessageRole.SYSTEM:
            continue
        role, text = _legacy_turn(message)
        if turns and turns[-1][0] == role:
            turns[-1] = (role, f"{turns[-1][1]}\n\n{text}".strip())
        else:
            turns.append((role, text))
    if turns and turns[0][0] == "assistant":
        turns.insert(0, ("user", ""))
    if system:
        if turns:
            turns[0] = ("user", f"{system}\n\n{turns[0][1]}".strip())
        else:
            turns.append(("user", system))
    return [{"role": role, "content": text} for role, text in turns]


def _legacy_turn(message: ChatMessage) -> tuple[str, str]:
    if message.role is MessageRole.TOOL:
        return "user", tool_response_text(message.content)
    if message.role is MessageRole.ASSISTANT:
        calls = "\n".join(
            tool_call_json_text(call.name, call.arguments) for call in message.tool_calls
        )
        return "assistant", "\n".join(part for part in (message.content, calls) if part)
    return "user", message.content
