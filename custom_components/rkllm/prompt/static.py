"""The fixed part of every request: the system message and the tools the model is offered.

The system message holds what every turn needs and stays byte-identical from turn to turn: the
instructions, HA's guidance in short, a one-line index of areas (and floors) and the tools. In
"relevant entities" mode the entities a conversation can refer to come with each request (see
`devices`); in "all entities" mode every exposed entity is listed in the system message instead.

It is built once and reused while HA's system prompt, the tools and the exposed entities stay
the same: compacting the tools' schemas and HA's entity listing is the costly part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import llm
from homeassistant.util.hass_dict import HassKey

from .home import async_exposed_entities, async_unusable_parameters
from .matcher import Entity
from .system import (
    SystemParts,
    area_index,
    build_system_text,
    compact_api_prompt,
    language_note,
    split_system_prompt,
)
from .tools import DROPPED_PARAMETERS, ToolSpec, compact_tools, model_tool_names, tool_block

KEPT_PROMPTS = 8  # static prompts kept (one per agent and language in practice)

DATA_STATIC_PROMPTS: HassKey[list[tuple[_Inputs, StaticPrompt]]] = HassKey("rkllm_static_prompts")


@dataclass(frozen=True, slots=True)
class StaticPrompt:
    """An agent's system message, and what a turn needs to go with it."""

    text: str
    tools: list[ToolSpec]
    model_names: Mapping[str, str]
    """HA's tool name → the (shorter) name the model sees and writes."""
    home: tuple[Entity, ...] | None
    """The exposed entities, when each turn lists the relevant ones (else None)."""
    time_notes: bool
    """HA put the time into the system prompt: each user message carries it instead."""


@dataclass(frozen=True, slots=True, eq=True)
class _Inputs:
    """Everything a static prompt is built from; equal inputs give the same prompt."""

    parts: SystemParts
    tools: tuple[tuple[str, str | None, Any], ...]
    """Each offered tool's name, description and parameter schema."""
    serializer: Callable[[Any], Any] | None
    exposed: tuple[Entity, ...]
    unusable: Mapping[str, frozenset[str]]
    relevant: bool
    language: str | None


@callback
def async_static_prompt(
    hass: HomeAssistant,
    chat_log: conversation.ChatLog,
    *,
    relevant: bool,
    language: str | None = None,
) -> StaticPrompt:
    """Return the fixed part of the chat log's requests, built anew only when it changed."""
    api = chat_log.llm_api
    system = chat_log.content[0]
    parts = split_system_prompt(
        system.content if isinstance(system, conversation.SystemContent) else "",
        api.api_prompt if api else None,
        chat_log.extra_system_prompt,
    )
    exposed: list[Entity] = []
    unusable: dict[str, frozenset[str]] = {"*": frozenset()}
    if api is not None:
        exposed = async_exposed_entities(hass, api.llm_context.assistant or conversation.DOMAIN)
        unusable = async_unusable_parameters(hass, exposed)
    inputs = _Inputs(
        parts,
        tuple((t.name, t.description, t.parameters) for t in api.tools) if api else (),
        api.custom_serializer if api else None,
        tuple(exposed),
        unusable,
        relevant,
        language,
    )
    kept = hass.data.setdefault(DATA_STATIC_PROMPTS, [])
    for known, prompt in kept:
        if known == inputs:
            return prompt
    prompt = _build(inputs, api)
    kept.insert(0, (inputs, prompt))
    del kept[KEPT_PROMPTS:]
    return prompt


def _build(inputs: _Inputs, api: llm.APIInstance | None) -> StaticPrompt:
    """Return the system message and the tools for HA's system prompt and LLM API."""
    tools: list[ToolSpec] = []
    if api is not None:
        by_tool = dict(inputs.unusable)
        tools = compact_tools(
            api.tools,
            inputs.serializer,
            drop=DROPPED_PARAMETERS | by_tool.pop("*", frozenset()),
            drop_by_tool=by_tool,
        )
    names = model_tool_names(tool.name for tool in tools)
    parts = inputs.parts
    api_text = ""
    if parts.api_prompt:
        listing = area_index(inputs.exposed) if inputs.relevant else None
        api_text, tools = compact_api_prompt(parts.api_prompt, tools, names, listing)
    if note := language_note(inputs.language):
        api_text = f"{api_text}\n{note}".strip()
    block = tool_block(tools, names) if tools else None
    return StaticPrompt(
        text=build_system_text(parts, api_text, block),
        tools=tools,
        model_names=names,
        home=inputs.exposed if inputs.relevant and inputs.exposed else None,
        time_notes=parts.time_in_prompt,
    )
