"""Request bodies of the two generation APIs (`/api/chat` and the legacy `/generate`)."""

from __future__ import annotations

from collections.abc import Sequence

from .exceptions import RkllamaImagesUnsupportedError
from .messages import legacy_messages
from .models import ChatMessage, ChatOptions, JsonObject, JsonValue, MessageRole
from .structured import json_instruction


def ollama_body(
    messages: Sequence[ChatMessage],
    *,
    model: str,
    options: ChatOptions | None,
    tools: Sequence[JsonObject] | None,
    think: bool | None,
    response_format: JsonValue,
) -> JsonObject:
    """Return a streamed `/api/chat` body; the server holds the answer to `response_format`."""
    body: JsonObject = {
        "model": model,
        "messages": [message.as_json() for message in messages],
        "stream": True,
    }
    if options is not None and (opts := options.as_json()):
        body["options"] = opts
    if tools:
        body["tools"] = list(tools)
    if think is not None:
        body["think"] = think
    if response_format is not None:
        body["format"] = response_format
    return body


def legacy_body(messages: Sequence[ChatMessage], response_format: JsonValue) -> JsonObject:
    """Return a streamed `/generate` body.

    The legacy API ignores `format`, so a `response_format` becomes an instruction in the
    system text, which the body folds into the first user turn.

    Raises:
        RkllamaImagesUnsupportedError: a message holds images; the legacy API has no field for
            them, and sending the text alone would answer as if no image had been sent.

    """
    if any(message.images for message in messages):
        raise RkllamaImagesUnsupportedError("the legacy /generate API takes no images")
    if response_format is not None:
        instruction = ChatMessage(MessageRole.SYSTEM, json_instruction(response_format))
        messages = [*messages, instruction]
    turns: list[JsonValue] = list(legacy_messages(messages))
    return {"messages": turns, "stream": True}
