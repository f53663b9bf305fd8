"""The compact, prefix-stable prompt: layout, entity listing, size against HA's own prompt."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.homeassistant.llm import DYNAMIC_CONTEXT_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er, llm
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.prompt import (
    compact_api_prompt,
    convert_content,
    entity_listing,
    split_system_prompt,
)
from custom_components.rkllm.tool_format import ToolSpec
from rkllama_emulator import RkllamaEmulator, qwen_vocab

from .home_helpers import async_build_home

GENERATION_PROMPT = "<|im_start|>assistant\n"


def agent_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Return the entity id of the entry's conversation agent."""
    subentry = next(s for s in entry.subentries.values() if s.subentry_type == "conversation")
    entity_id = er.async_get(hass).async_get_entity_id("conversation", DOMAIN, subentry.subentry_id)
    assert entity_id is not None
    return entity_id


def test_split_system_prompt() -> None:
    """HA's joined prompt comes apart; the per-turn time sentence is removed."""
    text = (
        "Be brief.\nAPI PROMPT\nCurrent time is 10:11:12. Today's date is 2026-11-25.\nExtra words."
    )
    parts = split_system_prompt(text, "API PROMPT", "Extra words.")
    assert parts.instructions == "Be brief."
    assert parts.api_prompt == "API PROMPT"
    assert parts.extra == "Extra words."
    assert parts.time_in_prompt

    parts = split_system_prompt("Just instructions", None, None)
    assert (parts.instructions, parts.api_prompt, parts.extra) == ("Just instructions", "", "")
    assert not parts.time_in_prompt


def test_entity_listing_sorted_and_compact() -> None:
    """One line per area, domains and names sorted; aliases kept; no area last."""
    listing = entity_listing(
        [
            {"names": "Spots, Downlights", "domain": "light", "areas": "Kitchen, Cookery"},
            {"names": "Ceiling", "domain": "light", "areas": "Kitchen, Cookery"},
            {"names": "Kettle", "domain": "switch", "areas": "Kitchen, Cookery"},
            {"names": "Outside", "domain": "sensor"},
            {"names": "Desk", "domain": "light", "areas": "Attic"},
        ]
    )
    assert listing.splitlines() == [
        "Devices by area:",
        "Attic: light (Desk)",
        "Kitchen/Cookery: light (Ceiling, Spots/Downlights), switch (Kettle)",
        "No area: sensor (Outside)",
    ]


def test_compact_api_prompt_replaces_ha_guidance() -> None:
    """HA's long guidance becomes short sentences naming the real tools."""
    api_prompt = (
        DYNAMIC_CONTEXT_PROMPT
        + "\nStatic Context: An overview of the areas and the devices in this smart home:\n"
        "- names: Lamp\n  domain: light\n  areas: Office\n"
        "Some other integration's words."
    )
    tools = [ToolSpec("homeassistant__GetLiveContext", "")]
    text, kept = compact_api_prompt(api_prompt, tools)
    assert kept[0].description == ""  # its use is now in the text
    assert "homeassistant__GetLiveContext" in text
    assert "Office: light (Lamp)" in text
    assert text.endswith("Some other integration's words.")
    assert len(text) < len(api_prompt) / 3
    # Unknown text (and unparsable listings) stays as it is.
    assert compact_api_prompt("Nothing known here.", tools)[0] == "Nothing known here."


def test_user_time_note_is_stable(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """The time note of a user message comes from its creation, not from `now`."""
    freezer.move_to(datetime(2026, 11, 25, 13, 5, tzinfo=UTC))
    content = conversation.UserContent("hello")
    first = convert_content(content, time_notes=True)
    freezer.tick(3600)
    assert convert_content(content, time_notes=True) == first
    assert first is not None
    assert first.content.startswith("hello\n(Current time: ")
    assert "November 2026" in first.content


def test_tool_result_compacted() -> None:
    """Tool results drop empty fields; errors are flagged."""
    content = conversation.ToolResultContent(
        agent_id="a",
        tool_call_id="1",
        tool_name="intent__HassTurnOn",
        result=llm.ToolResult(data={"speech": {}, "data": {"failed": [], "ok": 1}}, error=True),
    )
    message = convert_content(content, time_notes=False)
    assert message is not None
    assert json.loads(message.content) == {"error": True, "data": {"ok": 1}}
    assert message.tool_name == "intent__HassTurnOn"


def _ollama_equivalent(hass: HomeAssistant, api: llm.APIInstance, instructions: str) -> str:
    """Return HA's system prompt plus the tools as the ollama integration formats them."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": probatio.to_openapi(
                    tool.parameters,
                    custom_serializer=api.custom_serializer,
                    openapi_version="3.1.0",
                ),
            },
        }
        for tool in api.tools
    ]
    return "\n".join([instructions, api.api_prompt, *(json.dumps(tool) for tool in tools)])


@pytest.mark.usefixtures("init_integration")
async def test_prompt_compact_for_53_entities(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """53 exposed entities: our whole turn-1 prompt is under half of HA's and ≤ 600 tokens."""
    await async_build_home(hass, size=53)
    result = await conversation.async_converse(
        hass, "What is 145 + 278?", None, Context(), agent_id=agent_id(hass, mock_config_entry)
    )
    assert "423" in result.response.speech["plain"]["speech"]

    ours = emulator.requests[-1].prompt
    context = llm.LLMContext(DOMAIN, Context(), "en", "conversation", None)
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    subentry = next(iter(mock_config_entry.subentries.values()))
    ollama_like = _ollama_equivalent(hass, api, subentry.data["prompt"])

    assert "intent__HassTurnOn" in ours
    assert "Kitchen: light (" in ours
    assert len(ollama_like) > 7000
    assert len(ours) <= len(ollama_like) / 2
    assert qwen_vocab.count_tokens(ours) <= 600  # real Qwen tokens
    assert emulator.requests[-1].tools is None  # tools are in the prompt, never sent


@pytest.mark.usefixtures("init_integration")
async def test_prompt_prefix_identical_between_turns(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
) -> None:
    """Turn 1's prompt is a byte-identical prefix of turn 2's."""
    await async_build_home(hass, size=12)
    agent = agent_id(hass, mock_config_entry)
    first = await conversation.async_converse(
        hass, "My name is Ada", None, Context(), agent_id=agent
    )
    await conversation.async_converse(
        hass, "What is 2 + 2?", first.conversation_id, Context(), agent_id=agent
    )
    turn1, turn2 = emulator.requests[-2], emulator.requests[-1]
    assert turn2.prompt.startswith(turn1.prompt.removesuffix(GENERATION_PROMPT))
    # rkllama keys its prompt cache on the first system and user messages.
    assert turn2.messages[:2] == turn1.messages[:2]


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [{"model": "Qwen2.5-1.5B-Instruct", "prompt": "Be brief.", "keep_loaded": True}],
)
@pytest.mark.usefixtures("init_integration")
async def test_time_moves_into_user_messages(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    conversation_subentry_data: dict[str, Any],
) -> None:
    """Without a GetDateTime tool HA puts the time in the system prompt; we move it.

    The note comes from each message's creation time (see test_user_time_note_is_stable),
    so earlier user messages render the same in every later turn.
    """
    agent = agent_id(hass, mock_config_entry)
    first = await conversation.async_converse(hass, "Hello", None, Context(), agent_id=agent)
    await conversation.async_converse(
        hass, "Hi again", first.conversation_id, Context(), agent_id=agent
    )
    turn1, turn2 = emulator.requests[-2], emulator.requests[-1]
    assert turn1.messages[0] == {"role": "system", "content": "Be brief."}
    assert "Current time" in turn1.messages[1]["content"]
    assert turn2.messages[:2] == turn1.messages[:2]
    assert turn2.prompt.startswith(turn1.prompt.removesuffix(GENERATION_PROMPT))
