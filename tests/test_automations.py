"""Automations: the agents through Home Assistant's own actions, and the README's examples.

The examples are loaded from the README and run as written, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.components import conversation, persistent_notification
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.pool import QUEUE_LIMIT, QUEUE_TIMEOUT
from rkllama_emulator import EmulatorConfig, Fault, RkllamaEmulator, Timing

from .conftest import README, ScriptedModel
from .home_helpers import async_build_home

# The entity ids the README's examples use (a user's own names, set as a user would rename).
README_AGENT = "conversation.kitchen_assistant"
README_AI_TASK = "ai_task.climate_reporter"

ASK_AND_STORE = """
- alias: Ask the kitchen assistant
  triggers:
    - trigger: event
      event_type: ask_kitchen_assistant
  actions:
    - action: conversation.process
      data:
        agent_id: conversation.kitchen_assistant
        text: "{{ trigger.event.data.question }}"
      response_variable: reply
    - action: input_text.set_value
      target:
        entity_id: input_text.assistant_answer
      data:
        value: "{{ reply.response.speech.plain.speech }}"
"""


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Decode at 400 pieces/s, so two answers at once overlap on the NPU."""
    return EmulatorConfig(
        models_dir=emulator_config.models_dir,
        timing=Timing(
            load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=400
        ),
        holdback_replay_seconds=emulator_config.holdback_replay_seconds,
    )


@pytest.fixture
async def agents(hass: HomeAssistant, init_integration: MockConfigEntry) -> MockConfigEntry:
    """Give the entry's agent and AI task the README's entity ids, as a user names them."""
    registry = er.async_get(hass)
    for subentry in init_integration.subentries.values():
        domain, new_id = {
            "conversation": ("conversation", README_AGENT),
            "ai_task_data": ("ai_task", README_AI_TASK),
        }[subentry.subentry_type]
        old_id = registry.async_get_entity_id(domain, DOMAIN, subentry.subentry_id)
        assert old_id is not None
        if old_id != new_id:
            registry.async_update_entity(old_id, new_entity_id=new_id)
    await hass.async_block_till_done()
    assert hass.states.get(README_AGENT) is not None
    assert hass.states.get(README_AI_TASK) is not None
    return init_integration


async def _process(hass: HomeAssistant, text: str, cid: str | None = None) -> dict[str, Any]:
    """Call `conversation.process` as an automation's action does."""
    data = {"agent_id": README_AGENT, "text": text}
    if cid is not None:
        data["conversation_id"] = cid
    response = await hass.services.async_call(
        "conversation", "process", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _spoken(response: dict[str, Any]) -> str:
    return str(response["response"]["speech"]["plain"]["speech"])


async def _generate(hass: HomeAssistant, instructions: str, structure: Any) -> dict[str, Any]:
    """Call `ai_task.generate_data` as an automation's action does."""
    response = await hass.services.async_call(
        "ai_task",
        "generate_data",
        {
            "task_name": "test",
            "entity_id": README_AI_TASK,
            "instructions": instructions,
            "structure": structure,
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def _fire_at(hass: HomeAssistant, hour: int, minute: int) -> None:
    """Move Home Assistant's clock to the next local `hour:minute` and let automations run."""
    now = dt_util.now()
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    async_fire_time_changed(hass, target)
    await hass.async_block_till_done()
    # The run is over: switch the automations off, which cancels their next day's timer.
    await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


async def _setup_automations(hass: HomeAssistant, automations: list[dict[str, Any]]) -> None:
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()


@pytest.mark.usefixtures("agents")
async def test_process_answers_and_follows_up(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """`conversation.process` answers; a follow-up in its conversation_id has the history."""
    first = await _process(hass, "What is 145 + 278?")
    assert first["response"]["response_type"] == "action_done"
    assert "423" in _spoken(first)
    cid = first["conversation_id"]
    await _process(hass, "My name is Grace", cid)
    follow_up = await _process(hass, "What is my name?", cid)
    assert follow_up["conversation_id"] == cid
    assert _spoken(follow_up) == "Your name is Grace."
    sent = [m["content"] for m in emulator.requests[-1].messages if m["role"] == "user"]
    assert len(sent) == 3
    assert "What is 145 + 278?" in sent[0]


@pytest.mark.usefixtures("agents")
async def test_process_device_command(hass: HomeAssistant) -> None:
    """A device command through `conversation.process` really turns the light on."""
    await async_build_home(hass, size=12)
    assert hass.states.get("light.kitchen_ceiling").state == "off"
    response = await _process(hass, "Turn on the Kitchen Ceiling")
    assert hass.states.get("light.kitchen_ceiling").state == "on"
    assert response["response"]["response_type"] == "action_done"
    # The action succeeded: the agent confirms it without asking the model again.
    assert _spoken(response) == "Turned on the light"


@pytest.mark.usefixtures("agents")
async def test_process_server_down_speaks_error(
    hass: HomeAssistant, emulator: RkllamaEmulator, agents: MockConfigEntry
) -> None:
    """The board is down: the action does not raise; its response carries the spoken error."""
    await emulator.stop()
    response = await _process(hass, "What is 145 + 278?")
    assert response["response"]["response_type"] == "error"
    spoken = _spoken(response)
    assert spoken.startswith("I cannot reach the rkllama server")
    assert "Traceback" not in spoken

    # Once the coordinator has noticed, the agent is unavailable; the action still answers.
    await agents.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(README_AGENT).state == "unavailable"
    response = await _process(hass, "What is 145 + 278?")
    assert response["response"]["response_type"] == "error"
    assert _spoken(response).startswith("I cannot reach the rkllama server")


@pytest.mark.usefixtures("agents")
async def test_process_board_busy_speaks_busy(
    hass: HomeAssistant, emulator: RkllamaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board is busy past the wait limit: the response says so; the first answer goes on."""
    monkeypatch.setattr("custom_components.rkllm.pool.QUEUE_TIMEOUT", 0.3)
    emulator.set_fault(Fault.HANG, times=1)
    holding = asyncio.create_task(_process(hass, "What is 145 + 278?"))
    for _ in range(500):  # wait until the first request holds the board
        if emulator.requests and not emulator.requests[-1].done:
            break
        await asyncio.sleep(0.01)
    response = await _process(hass, "What is 1 + 1?")
    assert response["response"]["response_type"] == "error"
    assert _spoken(response).startswith("Every board is busy right now")
    emulator.clear_faults()
    assert "423" in _spoken(await holding)


@pytest.mark.usefixtures("agents")
async def test_generate_data_server_down_raises(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """The board is down: `ai_task.generate_data` fails with the translated sentence."""
    await emulator.stop()
    with pytest.raises(HomeAssistantError, match=r"^I cannot reach the rkllama server"):
        await _generate(hass, '{"title": "x"}', {"title": {"selector": {"text": None}}})


REPORT_STRUCTURE = {
    "title": {"required": True, "selector": {"text": None}},
    "rooms": {"required": True, "selector": {"number": {"min": 0, "max": 20}}},
}


@pytest.mark.usefixtures("agents")
async def test_generate_data_with_structure(
    hass: HomeAssistant, emulator: RkllamaEmulator, scripted_model: ScriptedModel
) -> None:
    """`ai_task.generate_data` with a structure returns data that validates against it."""
    scripted_model.add("Count the rooms", '```json\n{"title": "Rooms", "rooms": 7}\n```')
    response = await _generate(hass, "Count the rooms.", REPORT_STRUCTURE)
    assert response["data"] == {"title": "Rooms", "rooms": 7}
    schema = emulator.requests[-1].format
    assert schema["required"] == ["title", "rooms"]


@pytest.mark.usefixtures("agents")
async def test_generate_data_retries_once(
    hass: HomeAssistant, emulator: RkllamaEmulator, scripted_model: ScriptedModel
) -> None:
    """JSON that does not fit gets one corrective retry; a fitting retry is the result."""
    scripted_model.add(
        "Count the rooms", '{"title": "Rooms", "rooms": "seven"}', '{"title": "Rooms", "rooms": 7}'
    )
    before = len(emulator.requests)
    response = await _generate(hass, "Count the rooms.", REPORT_STRUCTURE)
    assert response["data"] == {"title": "Rooms", "rooms": 7}
    assert len(emulator.requests) == before + 2
    assert emulator.requests[-1].messages[-1]["content"].startswith("That answer was not valid")


@pytest.mark.usefixtures("agents")
async def test_generate_data_mismatch_fails_clearly(
    hass: HomeAssistant, emulator: RkllamaEmulator, scripted_model: ScriptedModel
) -> None:
    """JSON that never fits: one retry, then a clear error, and the automation step fails."""
    scripted_model.add("Count the rooms", '{"title": "Rooms"}')
    before = len(emulator.requests)
    with pytest.raises(HomeAssistantError) as err:
        await _generate(hass, "Count the rooms.", REPORT_STRUCTURE)
    assert str(err.value).startswith(
        "The model did not answer with valid JSON for the requested structure"
    )
    assert "rooms" in str(err.value)
    assert len(emulator.requests) == before + 2


@pytest.mark.usefixtures("agents")
async def test_automation_writes_answer_to_input_text(hass: HomeAssistant) -> None:
    """An automation asks the agent, keeps `response_variable` and stores the answer."""
    assert await async_setup_component(
        hass, "input_text", {"input_text": {"assistant_answer": {"max": 255}}}
    )
    await _setup_automations(hass, parse_yaml(ASK_AND_STORE))
    hass.bus.async_fire("ask_kitchen_assistant", {"question": "What is 145 + 278?"})
    await hass.async_block_till_done()
    assert hass.states.get("input_text.assistant_answer").state == "145 + 278 = 423."


@pytest.mark.usefixtures("agents")
async def test_readme_morning_briefing(
    hass: HomeAssistant, emulator: RkllamaEmulator, readme_examples: dict[str, Any]
) -> None:
    """The README's first example, as written: at 07:30 the agent's answer is announced."""
    spoken = async_mock_service(hass, "tts", "speak")
    hass.states.async_set("sensor.outside_temperature", "4.5")
    await _setup_automations(hass, readme_examples["morning-briefing"])
    await _fire_at(hass, 7, 30)

    assert len(spoken) == 1
    call: ServiceCall = spoken[0]
    assert call.data["entity_id"] == ["tts.piper"]
    assert call.data["media_player_entity_id"] == "media_player.kitchen_speaker"
    request = emulator.requests[-1]
    asked = request.messages[-1]["content"]
    weekday = dt_util.now().strftime("%A")
    assert f"greet us for {weekday} and say it is 4.5 °C outside." in asked
    assert call.data["message"] == request.reply  # the agent's whole answer is announced


@pytest.mark.usefixtures("agents")
async def test_readme_daily_climate_report(
    hass: HomeAssistant,
    emulator: RkllamaEmulator,
    scripted_model: ScriptedModel,
    readme_examples: dict[str, Any],
) -> None:
    """The README's second example, as written: sensor figures in, a notification out."""
    assert await async_setup_component(hass, "notify", {})
    notifications: list[dict[str, Any]] = []
    persistent_notification.async_register_callback(
        hass, lambda _kind, shown: notifications.extend(shown.values())
    )
    for sensor, value in (
        ("living_room_temperature_min_24h", "16.5"),
        ("living_room_temperature_max_24h", "27.0"),
        ("living_room_humidity_mean_24h", "38"),
    ):
        hass.states.async_set(f"sensor.{sensor}", value)
    scripted_model.add(
        "Summarize the living room's last 24 hours",
        '{"title": "Warm living room", "message": "It reached 27 °C; humidity was fine.", '
        '"needs_attention": true}',
    )
    await _setup_automations(hass, readme_examples["daily-climate-report"])
    await _fire_at(hass, 21, 0)

    asked = emulator.requests[-1].messages[-1]["content"]
    assert "Temperature: min 16.5 °C, max 27.0 °C. Humidity: mean 38 %." in asked
    schema = emulator.requests[-1].format
    assert schema["required"] == ["title", "message", "needs_attention"]
    assert [(n["title"], n["message"]) for n in notifications] == [
        ("⚠️ Warm living room", "It reached 27 °C; humidity was fine.")
    ]


def test_readme_states_the_wait_limits() -> None:
    """What the README promises about a busy board matches the pool's queue limits."""
    text = README.read_text(encoding="utf-8")
    section = " ".join(text.split("## Use it from automations", 1)[1].split("\n## ", 1)[0].split())
    assert f"up to {QUEUE_LIMIT} waiting for up to {QUEUE_TIMEOUT:.0f} s" in section


@pytest.mark.usefixtures("agents")
async def test_automation_and_voice_at_once(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """An automation and a voice request at the same moment: both answered, in order."""
    await _process(hass, "What is 1 + 1?")  # the model is resident and warm
    before = len(emulator.requests)
    finished: list[str] = []

    async def from_automation() -> dict[str, Any]:
        response = await _process(hass, "Is 17 a prime number?")
        finished.append("automation")
        return response

    async def from_voice() -> conversation.ConversationResult:
        result = await conversation.async_converse(
            hass, "Write a haiku about AI", None, Context(), agent_id=README_AGENT
        )
        finished.append("voice")
        return result

    automation_task = asyncio.create_task(from_automation())
    voice_task = asyncio.create_task(from_voice())
    automation, voice = await asyncio.gather(automation_task, voice_task)

    assert _spoken(automation).startswith("Yes, 17 is a prime number.")
    assert voice.response.speech["plain"]["speech"].startswith("Here is a haiku:")
    assert automation["conversation_id"] != voice.conversation_id
    served = emulator.requests[before:]
    asked = {"Is 17 a prime number?": "automation", "Write a haiku about AI": "voice"}
    assert len(served) == 2  # one generation each, neither lost nor repeated
    first, second = sorted(served, key=lambda r: r.arrived_at)
    # Served in arrival order, one after the other on the NPU, and finished in that order.
    assert first.last_token_at is not None
    assert second.started_at is not None
    assert second.started_at >= first.last_token_at
    assert second.queue_wait_seconds > 0  # the later request waited its turn
    arrival = [
        next(who for text, who in asked.items() if text in r.messages[-1]["content"])
        for r in (first, second)
    ]
    assert finished == arrival
