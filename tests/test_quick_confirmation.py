"""The spoken fast path: successful device actions are confirmed without a second answer."""

from __future__ import annotations

import asyncio

from homeassistant.components import conversation
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import CONF_QUICK_CONFIRMATION, DOMAIN
from custom_components.rkllm.speech import async_confirmation
from rkllama_emulator import RkllamaEmulator

from .conftest import agent_id
from .home_helpers import async_build_home

AGENT = {
    CONF_MODEL: "Qwen2.5-1.5B-Instruct",
    CONF_PROMPT: "Be brief.",
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
}


async def _say(
    hass: HomeAssistant, entry: MockConfigEntry, text: str, language: str | None = None
) -> str:
    result = await asyncio.create_task(
        conversation.async_converse(
            hass, text, None, Context(), language=language, agent_id=agent_id(hass, entry)
        )
    )
    return str(result.response.speech["plain"]["speech"])


@pytest.mark.parametrize(
    ("conversation_subentry_data", "speech", "requests"),
    [
        (AGENT, "Turned on the light", 1),
        ({**AGENT, CONF_QUICK_CONFIRMATION: False}, "Done, the Kitchen Ceiling is on.", 2),
    ],
    ids=["on_by_default", "off"],
)
@pytest.mark.usefixtures("init_integration")
async def test_action_confirmed_without_second_answer(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    speech: str,
    requests: int,
) -> None:
    """On: one request, HA confirms itself. Off: the tool result goes back to the model."""
    await async_build_home(hass, size=12)
    before = len(emulator.requests)
    assert await _say(hass, mock_config_entry, "Turn on the Kitchen Ceiling") == speech
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert len(emulator.requests) == before + requests
    assert '"name": "HassTurnOn"' in emulator.requests[before].reply  # the short tool name


@pytest.mark.usefixtures("init_integration")
async def test_several_actions_and_languages(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Several named targets are listed in one sentence; one target gets HA's own sentence."""
    await async_build_home(hass, size=12)
    speech = await _say(hass, mock_config_entry, "Turn on the Kitchen Ceiling and the Sofa Lamp")
    assert speech == "Turned on Kitchen Ceiling and Sofa Lamp."
    speech = await _say(hass, mock_config_entry, "Turn off the Kettle", language="de")
    assert speech == "Kettle ausgeschaltet"  # HA's German response names the target
    speech = await _say(hass, mock_config_entry, "Turn off the Kettle", language="fr")
    assert speech == "Éteint"
    speech = await _say(hass, mock_config_entry, "Turn on the Sofa Lamp", language="ja")
    assert speech == "ライトがオンになりました"
    assert hass.states.get("light.sofa_lamp").state == "on"


@pytest.mark.parametrize(
    "text",
    ["Turn on the Garage Door", "Turn on the Kitchen Ceiling and the Garage Door"],
    ids=["failure", "partial_success"],
)
@pytest.mark.usefixtures("init_integration")
async def test_failures_go_back_to_the_model(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator, text: str
) -> None:
    """A failed call, or a step where only some calls succeeded: the model answers."""
    await async_build_home(hass, size=12)
    before = len(emulator.requests)
    speech = await _say(hass, mock_config_entry, text)
    assert len(emulator.requests) == before + 2
    assert '"error"' in emulator.requests[-1].messages[-1]["content"]
    assert not speech.startswith("Turned on")


@pytest.mark.usefixtures("init_integration", "setup_ha")
async def test_queries_go_back_to_the_model(hass: HomeAssistant) -> None:
    """A tool that returns data (live context, date and time) is never confirmed."""
    await async_build_home(hass, size=12)
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        await chat_log.async_provide_llm_data(
            llm.LLMContext(DOMAIN, Context(), "en", "conversation", None), [llm.LLM_API_ASSIST]
        )
        chat_log.async_add_user_content(conversation.UserContent("is the kettle on?"))
        for name, args in (
            ("homeassistant__GetLiveContext", {"name": "Kettle"}),
            ("llm__GetDateTime", {}),
            ("intent__HassTurnOn", {"name": "Kettle"}),
        ):
            content = conversation.AssistantContent(
                agent_id="conversation.x",
                tool_calls=[llm.ToolInput(tool_name=name, tool_args=args)],
            )
            async for _result in chat_log.async_add_assistant_content(content):
                pass
            confirmed = await async_confirmation(hass, chat_log, "en")
            assert (confirmed is not None) is (name == "intent__HassTurnOn"), name
