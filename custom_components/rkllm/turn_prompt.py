"""One turn's prompt: a static system message, a per-turn entity block, the fitted history.

The system message holds what every turn needs and stays byte-identical from turn to turn: the
instructions, HA's guidance in short, a one-line index of areas (and floors) and the tools. In
"relevant entities" mode the entities the conversation can refer to (see `relevance`) are
listed in front of the last user message; in "all entities" mode every exposed entity is listed
in the system message instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm

from .api import ChatMessage, MessageRole
from .history import FittedPrompt, async_fit_history
from .home_index import async_exposed_entities, async_unusable_parameters
from .prompt import (
    area_index,
    build_system_text,
    compact_api_prompt,
    convert_content,
    entity_listing,
    language_note,
    split_system_prompt,
)
from .relevance import Entity, HomeMatcher
from .tokenizer import TokenCounter
from .tool_format import DROPPED_PARAMETERS, ToolSpec, compact_tools, model_tool_names, tool_block

ENTITY_BLOCK_HEADER = "Devices:"
RECENT_USER_TURNS = 3  # user messages (and the tool calls after them) matched for entities


@dataclass(frozen=True, slots=True)
class StaticPrompt:
    """An agent's system message, and what a turn needs to go with it."""

    text: str
    tools: list[ToolSpec]
    model_names: Mapping[str, str]
    """HA's tool name → the (shorter) name the model sees and writes."""
    home: list[Entity] | None
    """The exposed entities, when each turn lists the relevant ones (else None)."""
    time_notes: bool
    """HA put the time into the system prompt: each user message carries it instead."""


def static_prompt(
    hass: HomeAssistant,
    system_text: str,
    api: llm.APIInstance | None,
    extra_system_prompt: str | None,
    *,
    relevant: bool,
    language: str | None = None,
) -> StaticPrompt:
    """Return the system message for HA's rendered system prompt and LLM API."""
    exposed: list[Entity] = []
    tools: list[ToolSpec] = []
    if api is not None:
        exposed = async_exposed_entities(hass, api.llm_context.assistant or conversation.DOMAIN)
        unusable = async_unusable_parameters(hass, exposed)
        tools = compact_tools(
            api.tools,
            api.custom_serializer,
            drop=DROPPED_PARAMETERS | unusable.pop("*"),
            drop_by_tool=unusable,
        )
    names = model_tool_names(tool.name for tool in tools)
    parts = split_system_prompt(system_text, api.api_prompt if api else None, extra_system_prompt)
    api_text = ""
    if parts.api_prompt:
        listing = area_index(exposed) if relevant else None
        api_text, tools = compact_api_prompt(parts.api_prompt, tools, names, listing)
    if note := language_note(language):
        api_text = f"{api_text}\n{note}".strip()
    block = tool_block(tools, names) if tools else None
    return StaticPrompt(
        text=build_system_text(parts, api_text, block),
        tools=tools,
        model_names=names,
        home=exposed if relevant and exposed else None,
        time_notes=parts.time_in_prompt,
    )


@lru_cache(maxsize=8)
def home_matcher(home: tuple[Entity, ...]) -> HomeMatcher:
    """Return the index of a home, built once while its exposed entities stay the same.

    Indexing stems every name (tens of milliseconds for a few hundred entities); matching a
    request against the index is a fraction of a millisecond.
    """
    return HomeMatcher(home)


def entity_block(home: list[Entity], texts: Iterable[str]) -> str:
    """Return the lines of the entities `texts` can refer to ("" when none)."""
    matched = home_matcher(tuple(home)).match(texts)
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


async def async_fit_turn(
    hass: HomeAssistant,
    chat_log: conversation.ChatLog,
    prompt: StaticPrompt,
    counter: TokenCounter,
    *,
    context_window: int,
    answer_reserve: int,
    max_history: int,
) -> FittedPrompt:
    """Return the request messages: system, history trimmed to the window, entity block.

    Raises:
        ContextTooSmallError: the fixed part does not fit into the window.

    """
    history = [
        message
        for content in chat_log.content
        if (
            message := convert_content(
                content, time_notes=prompt.time_notes, names=prompt.model_names
            )
        )
        is not None
    ]
    if prompt.home and (block := entity_block(prompt.home, conversation_texts(chat_log))):
        last = max(i for i, m in enumerate(history) if m.role is MessageRole.USER)
        history[last] = ChatMessage(MessageRole.USER, f"{block}\n\n{history[last].content}")
    return await async_fit_history(
        hass,
        counter,
        ChatMessage(MessageRole.SYSTEM, prompt.text),
        history,
        context_window=context_window,
        answer_reserve=answer_reserve,
        max_history=max_history,
    )
