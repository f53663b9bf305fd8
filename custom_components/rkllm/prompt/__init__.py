"""What the model reads: one request's messages, built from Home Assistant's chat log.

A request is a static system message (instructions, HA's guidance in short, the tools; built
once while they stay the same, see `static`), the conversation fitted into the context window
(`history`) and, in front of the last user message, the devices the conversation can refer to
(`devices`). Token counts come from the model's tokenizer when it is loaded, else estimates
(`tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from ..api import ChatMessage, MessageRole
from ..const import ANSWER_TOKEN_RESERVE
from ..models import ModelProfile
from .devices import async_language_words, with_device_block
from .history import MESSAGE_OVERHEAD_TOKENS, ContextTooSmallError, async_fit_history, chat_messages
from .static import async_static_prompt
from .tokens import async_get_tokenizer_cache

__all__ = [
    "ContextTooSmallError",
    "PromptRequest",
    "PromptSettings",
    "async_build_request",
    "async_fixed_prompt_tokens",
    "async_get_tokenizer_cache",
]


@dataclass(frozen=True, slots=True)
class PromptSettings:
    """An agent's prompt settings for one turn."""

    relevant_entities: bool
    """List the entities each request can refer to (else every exposed one, in the system)."""
    context_window: int
    max_history: int
    """Earlier user turns kept at most."""
    language: str | None = None
    """The pipeline's language: the model is asked to answer in it (unless English), and the
    devices a request names are found with its words (else Home Assistant's language's)."""


@dataclass(frozen=True, slots=True)
class PromptRequest:
    """The messages of one request to the model, and what they cost."""

    messages: list[ChatMessage]
    tokens: int
    exact: bool
    """The tokens were counted with the model's tokenizer (else estimated)."""
    dropped_turns: int
    """Earlier turns left out to fit the context window."""
    tools: Mapping[str, str]
    """The offered tools: HA's name → the name the model sees and writes."""


async def async_build_request(
    hass: HomeAssistant,
    chat_log: conversation.ChatLog,
    profile: ModelProfile,
    settings: PromptSettings,
    *,
    extra_tokens: int = 0,
) -> PromptRequest:
    """Return the messages of the next request for the chat log, fitted to the window.

    `extra_tokens` are taken by what the request adds beside the text (images).

    Raises:
        ContextTooSmallError: the system message and the current turn do not fit.

    """
    static = async_static_prompt(
        hass,
        chat_log,
        relevant=settings.relevant_entities,
        language=settings.language,
    )
    history = chat_messages(
        chat_log.content, time_notes=static.time_notes, names=static.model_names
    )
    if static.home:
        words = await async_language_words(hass, settings.language or hass.config.language)
        history = with_device_block(history, static.home, chat_log, words)
    counter = await async_get_tokenizer_cache(hass).async_get(profile)
    fitted = await async_fit_history(
        hass,
        counter,
        ChatMessage(MessageRole.SYSTEM, static.text),
        history,
        context_window=settings.context_window,
        answer_reserve=ANSWER_TOKEN_RESERVE + extra_tokens,
        max_history=settings.max_history,
    )
    return PromptRequest(
        messages=fitted.messages,
        tokens=fitted.tokens + extra_tokens,
        exact=counter.exact,
        dropped_turns=fitted.dropped_turns,
        tools={tool.name: static.model_names[tool.name] for tool in static.tools},
    )


async def async_fixed_prompt_tokens(
    hass: HomeAssistant,
    chat_log: conversation.ChatLog,
    profile: ModelProfile,
    *,
    relevant_entities: bool,
) -> int:
    """Return the tokens of the system message every request of the chat log starts with.

    Counted with the model's tokenizer when it is loaded, else estimated (never waits).
    """
    static = async_static_prompt(hass, chat_log, relevant=relevant_entities)
    counter = await async_get_tokenizer_cache(hass).async_get(profile)
    return (await counter.async_count_many(hass, [static.text]))[0] + MESSAGE_OVERHEAD_TOKENS
