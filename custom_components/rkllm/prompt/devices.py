"""The per-request `Devices:` block: the exposed entities the conversation can refer to.

It goes in front of the last user message, so the system message stays the same from turn to
turn (rkllama keys its prompt cache on the first messages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from ..api import ChatMessage, MessageRole
from .language_words import NO_WORDS, LanguageWords, load_language_words
from .matcher import Entity, HomeMatcher
from .system import entity_listing

ENTITY_BLOCK_HEADER = "Devices:"
RECENT_USER_TURNS = 3  # user messages (and the tool calls after them) matched for entities


async def async_language_words(hass: HomeAssistant, language: str | None) -> LanguageWords:
    """Return the kind and generic words of `language`, read in the executor once."""
    return await hass.async_add_executor_job(load_language_words, language)


@lru_cache(maxsize=8)
def home_matcher(home: tuple[Entity, ...], language: LanguageWords = NO_WORDS) -> HomeMatcher:
    """Return the index of a home, built once while its exposed entities stay the same.

    Indexing splits every name into words (milliseconds for a few hundred entities);
    matching a request against the index is about a millisecond.
    """
    return HomeMatcher(home, language)


def entity_block(
    home: tuple[Entity, ...], texts: Iterable[str], language: LanguageWords = NO_WORDS
) -> str:
    """Return the lines of the entities `texts` can refer to ("" when none)."""
    matched = home_matcher(home, language).match(texts)
    if not matched:
        return ""
    return entity_listing(
        (
            {
                "names": ", ".join(e.names),
                "domain": e.domain,
                "areas": e.areas[0] if e.areas else "",
            }
            for e in matched
        ),
        header=ENTITY_BLOCK_HEADER,
    )


def with_device_block(
    messages: list[ChatMessage],
    home: tuple[Entity, ...],
    chat_log: conversation.ChatLog,
    language: LanguageWords = NO_WORDS,
) -> list[ChatMessage]:
    """Return `messages` with the conversation's entities in front of the last user message."""
    if not (block := entity_block(home, conversation_texts(chat_log), language)):
        return messages
    last = max(i for i, m in enumerate(messages) if m.role is MessageRole.USER)
    changed = list(messages)
    changed[last] = ChatMessage(MessageRole.USER, f"{block}\n\n{messages[last].content}")
    return changed


def conversation_texts(chat_log: conversation.ChatLog) -> list[str]:
    """Return the recent user messages and tool-call targets, oldest first."""
    texts: list[str] = []
    users = 0
    for content in reversed(chat_log.content):
        if isinstance(content, conversation.UserContent):
            texts.insert(0, content.content)
            users += 1
            if users >= RECENT_USER_TURNS:
                break
        elif isinstance(content, conversation.AssistantContent):
            for call in reversed(content.tool_calls or ()):
                texts.insert(0, " ".join(_strings(call.tool_args)))
    return texts


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
