"""The conversation agent, through Home Assistant, against the rkllama emulator."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import async_get_agent
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, intent, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import GenerationStats
from custom_components.rkllm.const import (
    CONF_KEEP_LOADED,
    CONF_QUICK_CONFIRMATION,
    CONF_SHOW_THINKING,
)
from custom_components.rkllm.conversation import RkllmConversationEntity
from custom_components.rkllm.llm_entity import PARTIAL_MARK
from rkllama_emulator import EmulatorConfig, Fault, Flavour, RkllamaEmulator, Timing

from .conftest import agent_id, say, speech, stored_log
from .home_helpers import async_build_home

STATS = GenerationStats(1, 1, None, None, None, 0.0, 0.0, "stop")


@pytest.fixture
def decode_rate() -> float:
    """Return the emulator's decode speed in pieces per second (parametrize to slow down)."""
    return 2000.0


@pytest.fixture
def flavour() -> Flavour:
    """Return the emulated API flavour (parametrize for the legacy API)."""
    return Flavour.OLLAMA


@pytest.fixture
def structured_tool_calls() -> bool:
    """Return whether the emulator parses tool calls itself (parametrize to turn on)."""
    return False


@pytest.fixture
def emulator_config(
    emulator_config: EmulatorConfig,
    decode_rate: float,
    flavour: Flavour,
    structured_tool_calls: bool,
) -> EmulatorConfig:
    """Dead workers (after a timed-out request) come back at once."""
    return EmulatorConfig(
        models_dir=emulator_config.models_dir,
        flavour=flavour,
        timing=Timing(
            load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=decode_rate
        ),
        holdback_replay_seconds=emulator_config.holdback_replay_seconds,
        dead_worker_seconds=0.05,
        structured_tool_calls=structured_tool_calls,
    )


@pytest.mark.usefixtures("init_integration")
async def test_answer_and_memory(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Arithmetic is answered; a name given in turn 1 is remembered in turn 3."""
    result = await say(hass, mock_config_entry, "What is 145 + 278?")
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert "423" in speech(result)
    cid = result.conversation_id
    await say(hass, mock_config_entry, "My name is Grace", cid)
    result = await say(hass, mock_config_entry, "What is my name?", cid)
    assert speech(result) == "Your name is Grace."
    request = emulator.requests[-1]
    assert [m["role"] for m in request.messages] == [
        "system",
        *["user", "assistant"] * 2,
        "user",
    ]
    assert request.tools is None
    assert request.options == {"temperature": 0.5, "num_ctx": 4096, "num_predict": 512}
    coordinator = mock_config_entry.runtime_data.coordinator
    assert coordinator.data.last_inference is not None


@pytest.mark.parametrize("decode_rate", [300.0])
@pytest.mark.usefixtures("init_integration")
async def test_streaming_first_delta_early(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Deltas start with the role, and the first words arrive before the answer is complete.

    The emulator holds the rest of the answer back after its first pieces: the first words
    must reach the chat log while the server still holds the rest (whatever the machine's load).
    """
    seen: list[dict[str, Any]] = []
    first_words = asyncio.Event()

    def listener(_chat_log: conversation.ChatLog, delta: dict[str, Any]) -> None:
        seen.append(delta)
        if "content" in delta:
            first_words.set()

    emulator.set_fault(Fault.STALL_MID_STREAM, times=1)
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session, chat_log_delta_listener=listener),
    ):
        turn = asyncio.create_task(
            conversation.async_converse(
                hass,
                "Is 17 a prime number?",
                session.conversation_id,
                Context(),
                agent_id=agent_id(hass, mock_config_entry),
            )
        )
        async with asyncio.timeout(10):
            await first_words.wait()
        assert not turn.done()  # the server still holds the rest of the answer
        assert not emulator.requests[-1].done
        emulator.clear_faults()
        result = await turn
    assert speech(result).startswith("Yes, 17 is a prime number.")
    assert seen[0] == {"role": "assistant"}
    content = [d["content"] for d in seen if "content" in d]
    assert len(content) > 20  # streamed piece by piece
    assert "".join(content) == speech(result)


@pytest.mark.parametrize(
    ("conversation_subentry_data", "shown"),
    [
        ({CONF_MODEL: "DeepSeek-R1-1.5B", CONF_SHOW_THINKING: True}, True),
        ({CONF_MODEL: "DeepSeek-R1-1.5B", CONF_SHOW_THINKING: False}, False),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_reasoning_never_spoken(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, shown: bool
) -> None:
    """DeepSeek's `<think>` part is never spoken; the option decides if it is kept."""
    result = await say(hass, mock_config_entry, "What is 145 + 278?")
    assert speech(result) == "145 + 278 = 423."
    last = stored_log(hass, result.conversation_id)[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert last.content == "145 + 278 = 423."
    assert ("The user wrote" in (last.thinking_content or "")) is shown


NO_QUICK_CONFIRMATION = {
    CONF_MODEL: "Qwen2.5-1.5B-Instruct",
    CONF_PROMPT: "You are a voice assistant for Home Assistant. Answer briefly.",
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
    CONF_QUICK_CONFIRMATION: False,
}


@pytest.mark.parametrize("conversation_subentry_data", [NO_QUICK_CONFIRMATION])
@pytest.mark.usefixtures("init_integration")
async def test_tool_call_from_text_turns_on_light(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The model writes `<tool_call>` in its text; HA runs it; the light really goes on.

    (With the quick confirmation off, the result goes back to the model: see
    test_quick_confirmation for the default.)
    """
    await async_build_home(hass, size=12)
    assert hass.states.get("light.kitchen_ceiling").state == "off"
    result = await say(hass, mock_config_entry, "Turn on the Kitchen Ceiling")
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert speech(result) == "Done, the Kitchen Ceiling is on."
    assert "<tool_call>" in emulator.requests[-2].reply
    sent = emulator.requests[-1].messages
    # The model sees and writes the tool's name without HA's `intent__` namespace.
    assert sent[-2]["tool_calls"] == [
        {"function": {"name": "HassTurnOn", "arguments": {"name": "Kitchen Ceiling"}}}
    ]
    assert sent[-1]["role"] == "tool"
    assert '"success"' in sent[-1]["content"]
    log = stored_log(hass, result.conversation_id)
    call = next(c for c in log if isinstance(c, conversation.AssistantContent) and c.tool_calls)
    assert not call.content  # the tag text is never spoken
    assert call.tool_calls is not None
    assert call.tool_calls[0].tool_name == "intent__HassTurnOn"  # HA's name in the log


@pytest.mark.parametrize("conversation_subentry_data", [NO_QUICK_CONFIRMATION])
@pytest.mark.usefixtures("init_integration")
async def test_tool_loop_bounded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A model that keeps calling tools is stopped and says so."""
    await async_build_home(hass, size=12)
    before = len(emulator.requests)
    with patch("custom_components.rkllm.llm_entity.MAX_TOOL_ITERATIONS", 1):
        result = await say(hass, mock_config_entry, "Turn on the Kitchen Ceiling")
    assert len(emulator.requests) == before + 1
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert speech(result).startswith("The model's tool call failed: more than 1 tool calls")


@pytest.mark.parametrize("conversation_subentry_data", [NO_QUICK_CONFIRMATION])
@pytest.mark.parametrize("flavour", [Flavour.LEGACY])
@pytest.mark.usefixtures("init_integration")
async def test_legacy_api(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The legacy `/generate` API: answers, memory and tool calls work the same way."""
    await async_build_home(hass, size=12)
    result = await say(hass, mock_config_entry, "What is 145 + 278?")
    assert "423" in speech(result)
    result = await say(
        hass, mock_config_entry, "Turn on the Kitchen Ceiling", result.conversation_id
    )
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert speech(result) == "Done, the Kitchen Ceiling is on."
    sent = emulator.requests[-1].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[0]["content"].startswith("You are a voice assistant")  # system folded in
    assert "<tool_response>" in sent[-1]["content"]


@pytest.mark.parametrize("structured_tool_calls", [True])
@pytest.mark.usefixtures("init_integration")
async def test_structured_tool_calls_from_server(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Structured `tool_calls` chunks (servers that parse calls) are used the same way.

    The emulator sends the call only as a structured chunk, with no text: the light goes on
    only if that chunk is used.
    """
    await async_build_home(hass, size=12)
    result = await say(hass, mock_config_entry, "Turn on the Kitchen Ceiling")
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    results = [
        content
        for content in stored_log(hass, result.conversation_id)
        if isinstance(content, conversation.ToolResultContent)
    ]
    assert [content.tool_name for content in results] == ["intent__HassTurnOn"]  # mapped back


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [{CONF_MODEL: "Qwen2.5-1.5B-Instruct", CONF_PROMPT: "Be brief."}],
)
@pytest.mark.usefixtures("init_integration")
async def test_unusable_tool_call_retried_then_honest(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A call to a tool that was not offered: one corrective retry, then a spoken failure."""
    before = len(emulator.requests)
    emulator.set_fault(Fault.UNLISTED_TOOL_CALL, times=2)  # the model invents a tool, twice
    result = await say(hass, mock_config_entry, "Turn on the lamp")
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(result) == (
        "The model's tool call failed: there is no tool named fake__HassTurnOn."
    )
    assert len(emulator.requests) == before + 2
    retry = emulator.requests[-1].messages
    assert retry[-2]["role"] == "assistant"
    assert "fake__HassTurnOn" in retry[-2]["content"]
    assert retry[-1]["content"].startswith("That tool call could not be used")
    # The conversation goes on normally.
    result = await say(hass, mock_config_entry, "What is 1 + 1?", result.conversation_id)
    assert "= 2" in speech(result)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.HTTP_500, "The rkllama server reported an error"),
        (Fault.ERROR_200, "The rkllama server reported an error"),
        (Fault.MALFORMED_JSON, "The rkllama server sent an invalid response"),
        (Fault.REFUSE, "I cannot reach the rkllama server"),
        (Fault.SLOW_FIRST_TOKEN, "The rkllama server did not answer in time"),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_server_errors_spoken(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    fault: Fault,
    message: str,
) -> None:
    """Each failure ends the turn with a short translated error; history stays clean."""
    client = mock_config_entry.runtime_data.coordinator.client
    client.timeouts = replace(client.timeouts, first_chunk=0.3)
    first = await say(hass, mock_config_entry, "My name is Ada")
    cid = first.conversation_id
    emulator.set_fault(fault, times=1, delay=1.0)
    result = await say(hass, mock_config_entry, "What is 145 + 278?", cid)
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result).startswith(message)
    emulator.clear_faults()
    client.timeouts = replace(client.timeouts, first_chunk=10.0)
    await mock_config_entry.runtime_data.coordinator.async_refresh()  # known down: rejoins

    result = await say(hass, mock_config_entry, "What is my name?", cid)
    assert speech(result) == "Your name is Ada."
    sent = [m["content"] for m in emulator.requests[-1].messages]
    assert "What is 145 + 278?" not in sent  # the failed turn left no trace


@pytest.mark.usefixtures("init_integration")
async def test_dropped_mid_answer_keeps_partial(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A connection dropped mid-answer: the streamed part stays, marked; the error is said."""
    first = await say(hass, mock_config_entry, "My name is Ada")
    cid = first.conversation_id
    emulator.set_fault(Fault.DROP_MID_STREAM, times=1)
    result = await say(hass, mock_config_entry, "What is 145 + 278?", cid)
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result).startswith("The connection to the rkllama server dropped")
    last = stored_log(hass, cid)[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert last.content is not None
    assert last.content.endswith(PARTIAL_MARK)
    assert last.content.startswith("145")

    await mock_config_entry.runtime_data.coordinator.async_refresh()  # known down: rejoins
    result = await say(hass, mock_config_entry, "What is my name?", cid)
    assert speech(result) == "Your name is Ada."
    roles = [m["role"] for m in emulator.requests[-1].messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]


@pytest.mark.parametrize(
    ("conversation_subentry_data", "fault", "message"),
    [
        (
            {CONF_MODEL: "Qwen2.5-1.5B-Instruct", CONF_KEEP_LOADED: False},
            Fault.LOAD_FAILURE,
            "The rkllama server could not load the model",
        ),
        (
            {CONF_MODEL: "Qwen2.5-1.5B-Instruct", CONF_KEEP_LOADED: False},
            Fault.INVALID_MAGIC,
            "The model does not fit the server's NPU runtime",
        ),
        ({CONF_MODEL: "No-Such-Model-7B"}, None, "The model is not installed"),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_model_errors_spoken(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    fault: Fault | None,
    message: str,
) -> None:
    """A model that is missing or fails to load: a clear spoken error."""
    if fault is not None:
        emulator.set_fault(fault, times=1)
    result = await say(hass, mock_config_entry, "Hello")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result).startswith(message)


@pytest.mark.usefixtures("init_integration")
async def test_agent_registration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The agent streams, controls HA with an LLM API, and answers any language."""
    entity = async_get_agent(hass, agent_id(hass, mock_config_entry))
    assert isinstance(entity, RkllmConversationEntity)
    assert entity.supported_languages == "*"
    assert entity.supports_streaming
    assert entity.supported_features == conversation.ConversationEntityFeature.CONTROL
    assert entity.device_info is not None
    assert entity.device_info["name"] == "Kitchen assistant"


@pytest.mark.usefixtures("init_integration")
async def test_user_language_asked_for(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A German pipeline asks the model to answer in German; English adds nothing."""
    await asyncio.create_task(
        conversation.async_converse(
            hass,
            "Wie spät ist es?",
            None,
            Context(),
            language="de",
            agent_id=agent_id(hass, mock_config_entry),
        )
    )
    system = str(emulator.requests[-1].messages[0]["content"])
    assert "Answer in the user's language (de)." in system
    await say(hass, mock_config_entry, "What is 2 + 2?")
    assert "user's language" not in str(emulator.requests[-1].messages[0]["content"])
