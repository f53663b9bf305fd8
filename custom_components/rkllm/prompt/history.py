"""The conversation as request messages, fitted into the context window (oldest turns dropped).

What changes per turn goes into the user messages: HA puts the current time into the system
prompt when no GetDateTime tool is offered; here each user message carries the time it was
written instead (from its `created` stamp, so it renders the same in every later turn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import json
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..api import ChatMessage, MessageRole, ToolCall
from .tokens import TokenCounter

EXACT_COUNTS_ABOVE = 0.5  # share of the window an estimated prompt may fill before exact counts
NON_ASCII_SHARE = 0.1  # above this share of non-ASCII characters the estimate can be far off
MESSAGE_OVERHEAD_TOKENS = 5  # ChatML: <|im_start|>, role, newline, <|im_end|>, newline
GENERATION_PROMPT_TOKENS = 3  # <|im_start|>assistant\n


class ContextTooSmallError(Exception):
    """The fixed part of the prompt alone does not fit into the context window."""

    def __init__(self, needed: int, available: int) -> None:
        """Keep the numbers for the message."""
        super().__init__(
            f"the prompt needs {needed} tokens but the window leaves {available} "
            "(context size minus the answer reserve)"
        )
        self.needed = needed
        self.available = available


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    """The messages to send and what they cost."""

    messages: list[ChatMessage]
    tokens: int
    dropped_turns: int


def message_text(message: ChatMessage) -> str:
    """Return the text of a message that counts against the window."""
    calls = "".join(
        json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        for call in message.tool_calls
    )
    return message.content + calls


def group_turns(messages: Sequence[ChatMessage]) -> list[list[int]]:
    """Return the indices of messages (no system) grouped into turns, each from a user message.

    A turn keeps an assistant's tool calls together with their results.
    """
    turns: list[list[int]] = []
    for index, message in enumerate(messages):
        if message.role is MessageRole.USER or not turns:
            turns.append([index])
        else:
            turns[-1].append(index)
    return turns


async def async_fit_history(
    hass: HomeAssistant,
    counter: TokenCounter,
    system: ChatMessage | None,
    messages: Sequence[ChatMessage],
    *,
    context_window: int,
    answer_reserve: int,
    max_history: int,
) -> FittedPrompt:
    """Return system + as many recent turns as fit; the current turn is always kept.

    At most `max_history` earlier user turns are kept. Whole turns are dropped, oldest first,
    so an assistant tool call is never separated from its results.

    Raises:
        ContextTooSmallError: system prompt + current turn + answer reserve exceed the window.

    """
    texts = [message_text(m) for m in messages]
    if system is not None:
        texts.append(message_text(system))
    counts = await counter.async_count_many(hass, texts)
    cost = [count + MESSAGE_OVERHEAD_TOKENS for count in counts]

    turns = group_turns(messages)
    current = turns[-1] if turns else []
    available = context_window - answer_reserve
    used = GENERATION_PROMPT_TOKENS + sum(cost[i] for i in current)
    if system is not None:
        used += cost[-1]
    if not counter.exact and _estimate_unsafe(texts, sum(cost), available):
        counter.want_exact()  # for the next turns; this one goes on with the estimate
    if used > available:
        raise ContextTooSmallError(used, available)

    earlier = turns[:-1]
    candidates = earlier[len(earlier) - max_history :] if max_history > 0 else []
    kept: list[list[int]] = []
    for turn in reversed(candidates):
        turn_cost = sum(cost[i] for i in turn)
        if used + turn_cost > available:
            break
        kept.insert(0, turn)
        used += turn_cost
    chosen = [messages[i] for turn in [*kept, current] for i in turn]
    return FittedPrompt(
        ([system] if system is not None else []) + chosen, used, len(earlier) - len(kept)
    )


def _estimate_unsafe(texts: Sequence[str], estimated: int, available: int) -> bool:
    """Return True when estimated counts may be too far off for this window."""
    if estimated > EXACT_COUNTS_ABOVE * available:
        return True
    characters = sum(len(text) for text in texts)
    non_ascii = sum(1 for text in texts for char in text if not char.isascii())
    return characters > 0 and non_ascii > NON_ASCII_SHARE * characters


def time_note(content: conversation.UserContent) -> str:
    """Return the time a user message was written, as HA would tell it, to minute precision."""
    local = dt_util.as_local(content.created)
    return f"(Current time: {local:%H:%M}, {local:%A} {local.day} {local:%B %Y}.)"


def convert_content(
    content: conversation.Content,
    *,
    time_notes: bool,
    names: Mapping[str, str] | None = None,
) -> ChatMessage | None:
    """Return the request message for one chat-log entry (None for the system entry).

    `names` maps HA's tool names to the names the model sees.
    """
    names = names or {}
    if isinstance(content, conversation.SystemContent):
        return None
    if isinstance(content, conversation.UserContent):
        text = content.content
        if time_notes:
            text = f"{text}\n{time_note(content)}"
        return ChatMessage(MessageRole.USER, text)
    if isinstance(content, conversation.AssistantContent):
        calls = tuple(
            ToolCall(name=names.get(call.tool_name, call.tool_name), arguments=dict(call.tool_args))
            for call in content.tool_calls or ()
        )
        return ChatMessage(MessageRole.ASSISTANT, content.content or "", tool_calls=calls)
    if isinstance(content, conversation.ToolResultContent):
        data: Any = compact_json(content.result.data)
        if content.result.error and isinstance(data, dict):
            data = {"error": True, **data} if "error" not in data else data
        return ChatMessage(
            MessageRole.TOOL,
            json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str),
            tool_name=names.get(content.tool_name, content.tool_name),
        )
    raise TypeError(f"Unexpected content type: {type(content)}")


def compact_json(value: Any) -> Any:
    """Return `value` without empty strings, lists, objects and nulls (tool results)."""
    if isinstance(value, dict):
        items = ((str(k), compact_json(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, "", [], {})}
    if isinstance(value, list | tuple):
        return [compact_json(v) for v in value if v not in (None, "", [], {})]
    return value


def chat_messages(
    contents: Sequence[conversation.Content],
    *,
    time_notes: bool,
    names: Mapping[str, str],
) -> list[ChatMessage]:
    """Return the request messages of a chat log's content (the system entry left out)."""
    return [
        message
        for content in contents
        if (message := convert_content(content, time_notes=time_notes, names=names)) is not None
    ]
