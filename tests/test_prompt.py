"""The compact, prefix-stable prompt: layout, entity listing, size against HA's own prompt."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.homeassistant.llm import DYNAMIC_CONTEXT_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
    llm,
)
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import CONF_ENTITIES_IN_PROMPT, DOMAIN, ENTITIES_ALL
from custom_components.rkllm.prompt import static
from custom_components.rkllm.prompt.devices import entity_block, home_matcher
from custom_components.rkllm.prompt.history import convert_content
from custom_components.rkllm.prompt.matcher import Entity
from custom_components.rkllm.prompt.system import (
    area_index,
    compact_api_prompt,
    entity_listing,
    split_system_prompt,
)
from custom_components.rkllm.prompt.tools import ToolSpec
from rkllama_emulator import RkllamaEmulator, qwen_vocab

from .conftest import agent_id
from .home_helpers import async_build_home

GENERATION_PROMPT = "<|im_start|>assistant\n"


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
    names = {"homeassistant__GetLiveContext": "GetLiveContext"}
    text, kept = compact_api_prompt(api_prompt, tools, names)
    assert kept[0].description == ""  # its use is now in the text
    assert "call GetLiveContext." in text  # by the name the model sees
    assert "Office: light (Lamp)" in text
    assert text.endswith("Some other integration's words.")
    assert len(text) < len(api_prompt) / 3
    # Relevant-entities mode: the listing becomes the given index of areas.
    text, _ = compact_api_prompt(api_prompt, tools, names, "Areas: Office.")
    assert "Areas: Office.\nSome other" in text
    assert "Lamp" not in text
    # Unknown text (and unparsable listings) stays as it is.
    assert compact_api_prompt("Nothing known here.", tools, names)[0] == "Nothing known here."


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
    """53 exposed entities: a question's prompt is a sixth of HA's and ≤ 300 tokens.

    Only the areas are listed; the entities a request can refer to come with it
    (test_command_carries_its_entities).
    """
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

    assert "\nHassTurnOn(name, area, domain): Turns on/opens/presses\n" in ours
    assert "Areas: Bathroom, Bedroom, Garage, Garden, Hallway, Kitchen, Living Room, " in ours
    assert "Kitchen Ceiling" not in ours
    assert "HassLightSet" not in ours  # on/off lights only: nothing it could set
    assert len(ollama_like) > 7000
    assert len(ours) <= len(ollama_like) / 6
    assert qwen_vocab.count_tokens(ours) <= 300  # real Qwen tokens
    assert emulator.requests[-1].tools is None  # tools are in the prompt, never sent


@pytest.mark.usefixtures("init_integration")
async def test_command_carries_its_entities(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A command brings its entities at the tail; a follow-up keeps them; the system stays."""
    await async_build_home(hass, size=53)
    agent = agent_id(hass, mock_config_entry)
    first = await conversation.async_converse(
        hass, "Turn on the Kitchen Ceiling", None, Context(), agent_id=agent
    )
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    command = emulator.requests[-1].messages
    assert command[-1] == {
        "role": "user",
        "content": "Devices:\nKitchen: light (Kitchen Ceiling)\n\nTurn on the Kitchen Ceiling",
    }
    await conversation.async_converse(
        hass, "and turn it off again", first.conversation_id, Context(), agent_id=agent
    )
    follow_up = emulator.requests[-1].messages
    assert follow_up[0] == command[0]  # the system message is byte-identical
    assert follow_up[1]["content"] == "Turn on the Kitchen Ceiling"  # earlier turns: text only
    assert follow_up[-1]["content"].startswith("Devices:\nKitchen: light (Kitchen Ceiling)\n")
    await conversation.async_converse(hass, "What is 2 + 2?", None, Context(), agent_id=agent)
    question = emulator.requests[-1].messages
    assert question[0] == command[0]
    assert question[-1]["content"] == "What is 2 + 2?"  # nothing matched: no entity lines


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [
        {
            "model": "Qwen2.5-1.5B-Instruct",
            "prompt": "Be brief.",
            "llm_hass_api": [llm.LLM_API_ASSIST],
            CONF_ENTITIES_IN_PROMPT: ENTITIES_ALL,
        }
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_all_entities_mode(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The "all entities" option lists every exposed entity in the system message."""
    await async_build_home(hass, size=53)
    await conversation.async_converse(
        hass,
        "Turn on the Kitchen Ceiling",
        None,
        Context(),
        agent_id=agent_id(hass, mock_config_entry),
    )
    sent = emulator.requests[-1].messages
    assert (
        "\nKitchen: light (Counter Lights, Kitchen Ceiling, Pantry Light), sensor ("
        in sent[0]["content"]
    )
    assert "Devices:" not in sent[-1]["content"]
    assert hass.states.get("light.kitchen_ceiling").state == "on"


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


def test_area_index() -> None:
    """One line: areas by floor when there are floors, the rest after them."""
    home = [
        Entity("light.a", "light", ("A",), ("Kitchen", "Cookery"), ("Ground floor",)),
        Entity("light.b", "light", ("B",), ("Bedroom",), ("Upstairs", "OG")),
        Entity("light.c", "light", ("C",), ("Garden",)),
        Entity("light.d", "light", ("D",), ("Attic",), ("Upstairs",)),
        Entity("light.e", "light", ("E",)),
    ]
    assert area_index(home) == "Areas: Ground floor: Kitchen; Upstairs: Attic, Bedroom; Garden."
    assert area_index(home[2:3]) == "Areas: Garden."
    assert area_index(home[4:]) == ""


@pytest.mark.usefixtures("init_integration")
async def test_aliases_and_floors_from_the_registries(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Entity aliases, area aliases and floors reach the index, the matching and the block."""
    await async_build_home(hass, size=12)
    floor = fr.async_get(hass).async_create("Ground floor", aliases={"EG"})
    areas = ar.async_get(hass)
    kitchen = areas.async_get_area_by_name("Kitchen")
    assert kitchen is not None
    areas.async_update(kitchen.id, floor_id=floor.floor_id, aliases={"Küche"})
    er.async_get(hass).async_update_entity(
        "light.kitchen_ceiling", aliases=[er.COMPUTED_NAME, "Big Light"]
    )
    agent = agent_id(hass, mock_config_entry)
    await conversation.async_converse(
        hass, "Switch on the big light", None, Context(), agent_id=agent
    )
    sent = emulator.requests[-1].messages
    assert "Areas: Ground floor: Kitchen; Living Room." in sent[0]["content"]
    assert sent[-1]["content"].startswith("Devices:\nKitchen: light (Kitchen Ceiling/Big Light)\n")
    await conversation.async_converse(
        hass, "Licht im EG aus", None, Context(), language="de", agent_id=agent
    )
    block = emulator.requests[-1].messages[-1]["content"]
    assert block.startswith(
        "Devices:\nKitchen: light (Counter Lights, Kitchen Ceiling/Big Light, Pantry Light)\n"
    )


def test_home_index_built_once_per_home() -> None:
    """The home's index is reused from turn to turn and rebuilt when exposure changes."""
    lamp = Entity("light.lamp", "light", ("Lamp",), ("Hall",))
    fan = Entity("fan.attic", "fan", ("Attic fan",))
    assert home_matcher((lamp,)) is home_matcher((lamp,))
    assert "Lamp" in entity_block((lamp,), ["turn on the lamp"])
    assert entity_block((lamp,), ["turn on the attic fan"]) == ""
    assert home_matcher((lamp, fan)) is not home_matcher((lamp,))
    assert "Attic fan" in entity_block((lamp, fan), ["turn on the attic fan"])


@pytest.mark.usefixtures("init_integration")
async def test_static_part_built_once_while_unchanged(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The system message is built once for turns of an unchanged home, anew when it changes."""
    builds: list[str] = []
    build = static._build

    def counting_build(inputs: Any, api: llm.APIInstance | None) -> static.StaticPrompt:
        prompt = build(inputs, api)
        builds.append(prompt.text)
        return prompt

    monkeypatch.setattr(static, "_build", counting_build)
    entity_ids = await async_build_home(hass, size=12)
    agent = agent_id(hass, mock_config_entry)
    first = await conversation.async_converse(
        hass, "What is 2 + 2?", None, Context(), agent_id=agent
    )
    await conversation.async_converse(
        hass, "Turn on the Kitchen Ceiling", first.conversation_id, Context(), agent_id=agent
    )
    assert len(builds) == 1  # two turns, three requests: one build
    assert emulator.requests[-1].messages[0]["content"] == builds[0]

    async_expose_entity(hass, conversation.DOMAIN, entity_ids[0], False)
    await conversation.async_converse(hass, "What is 3 + 3?", None, Context(), agent_id=agent)
    assert len(builds) == 2  # exposure changed
