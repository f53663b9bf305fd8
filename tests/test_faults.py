"""Every fault a real rkllama server (or its proxy) shows ends in one short spoken sentence.

Each case runs over real sockets against the emulator: a conversation turn meets the fault,
Assist says one translated sentence fit for a speaker, the streamed part of the answer is kept
when there was one, and the next turn is answered normally.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from homeassistant.components import conversation
from homeassistant.const import CONF_MODEL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import chat_session, intent, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import Timeouts
from custom_components.rkllm.const import CONF_KEEP_LOADED, CONF_TURN_TIMEOUT, DOMAIN
from custom_components.rkllm.llm_entity import PARTIAL_MARK
from rkllama_emulator import EmulatorConfig, Fault, Flavour, RkllamaEmulator, Timing

from .conftest import SPOKEN, TEST_MODEL, assert_speakable, say, speech

LONG_ASK = "Write a Python function to check if a number is prime."
# Short limits, so a stalled server is noticed within a test's time.
TEST_TIMEOUTS = Timeouts(request=2.0, first_chunk=0.8, idle=0.4, drain=5.0)


@pytest.fixture
def decode_rate() -> float:
    """Return the emulator's decode speed in pieces per second."""
    return 400.0


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig, decode_rate: float) -> EmulatorConfig:
    """Return a quick board whose dead workers come back at once."""
    return replace(
        emulator_config,
        timing=Timing(
            load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=decode_rate
        ),
        dead_worker_seconds=0.05,
        idle_check_seconds=0.05,  # the dead-worker sweep, scaled down like the timings
    )


@pytest.fixture
async def agent(hass: HomeAssistant, init_integration: MockConfigEntry) -> MockConfigEntry:
    """Return the set-up entry, its client on short time limits."""
    init_integration.runtime_data.coordinator.client.timeouts = TEST_TIMEOUTS
    return init_integration


def _stored(hass: HomeAssistant, cid: str) -> list[conversation.Content]:
    with (
        chat_session.async_get_chat_session(hass, cid) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        return list(chat_log.content)


async def _spoken_failure(
    hass: HomeAssistant, entry: MockConfigEntry, text: str, cid: str | None, key: str
) -> conversation.ConversationResult:
    """Say `text`, expect the spoken sentence of `key`, and check it fits a speaker."""
    result = await say(hass, entry, text, cid)
    assert result.response.response_type is intent.IntentResponseType.ERROR
    said = speech(result)
    assert said == SPOKEN[f"spoken_{key}"]
    assert_speakable(said)
    return result


async def _recovers(hass: HomeAssistant, entry: MockConfigEntry, cid: str) -> None:
    """Check that the next turn is answered and remembers the first.

    (It may queue behind the abandoned answer, which is still read to its end.) A server the
    fault left known to be down rejoins at its next good poll, which is run first.
    """
    coordinator = entry.runtime_data.coordinator
    coordinator.client.timeouts = Timeouts()
    if coordinator.known_down:
        await coordinator.async_refresh()
        assert not coordinator.known_down
    result = await say(hass, entry, "What is my name?", cid)
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(result) == "Your name is Ada."


@dataclass(frozen=True)
class Case:
    """One fault, what the user hears, and whether a partial answer is kept."""

    fault: Fault
    key: str
    partial: bool = False
    ask: str = LONG_ASK
    unload_first: bool = False
    """Unload the model first, so the turn has to load it."""


CASES = {
    "server_down": Case(Fault.REFUSE, "cannot_connect"),
    "http_500": Case(Fault.HTTP_500, "server_error"),
    "error_line_in_200": Case(Fault.ERROR_200, "server_error"),
    "first_line_not_json": Case(Fault.MALFORMED_JSON, "invalid_response"),
    "slow_first_token": Case(Fault.SLOW_FIRST_TOKEN, "timeout"),
    "hang_before_headers": Case(Fault.HANG, "timeout"),
    "stall_after_headers": Case(Fault.STALL_AFTER_HEADERS, "timeout"),
    "keep_alive_trickle": Case(Fault.KEEPALIVE_TRICKLE, "timeout"),
    "stall_mid_stream": Case(Fault.STALL_MID_STREAM, "timeout", partial=True),
    "dropped_mid_answer": Case(Fault.DROP_MID_STREAM, "connection_dropped", partial=True),
    "bad_json_after_first_line": Case(Fault.BAD_JSON_LATER, "invalid_response", partial=True),
    "deeply_nested_line": Case(Fault.DEEP_JSON, "invalid_response"),
    "line_not_utf8": Case(Fault.NON_UTF8, "invalid_response"),
    "huge_line": Case(Fault.HUGE_LINE, "invalid_response"),
    "worker_task_error": Case(Fault.TASK_ERROR, "task_error", partial=True),
    "proxy_502": Case(Fault.PROXY_502, "cannot_connect"),
    "proxy_504": Case(Fault.PROXY_504, "timeout"),
    "model_load_failure": Case(Fault.LOAD_FAILURE, "model_load_failed", unload_first=True),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize(
    "conversation_subentry_data", [{CONF_MODEL: TEST_MODEL, CONF_KEEP_LOADED: False}]
)
async def test_fault_is_spoken_and_recovered(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator, case: Case
) -> None:
    """One sentence per failure kind; the partial answer kept; the next turn answered."""
    cid = (await say(hass, agent, "My name is Ada")).conversation_id
    before = _stored(hass, cid)
    if case.unload_first:
        assert await agent.runtime_data.coordinator.client.unload_model(TEST_MODEL)
        await agent.runtime_data.coordinator.async_refresh()
    emulator.set_fault(case.fault, times=1, delay=2.0)
    await _spoken_failure(hass, agent, case.ask, cid, case.key)
    emulator.clear_faults()
    last = _stored(hass, cid)[-1]
    if case.partial:
        assert isinstance(last, conversation.AssistantContent)
        assert (last.content or "").endswith(PARTIAL_MARK)
    else:
        assert _stored(hass, cid) == before  # the failed turn left no trace
    await _recovers(hass, agent, cid)


async def test_prompt_over_context_window(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The runtime refuses a prompt longer than the loaded window: upstream's task error."""
    cid = (await say(hass, agent, "My name is Ada")).conversation_id
    emulator.change(context_window=20)
    await _spoken_failure(hass, agent, "Hello", cid, "task_error")
    emulator.change(context_window=None)
    await _recovers(hass, agent, cid)


@pytest.mark.parametrize("decode_rate", [40.0])
async def test_unload_kills_running_answer(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """An unload that kills the worker mid-answer: the partial answer and one sentence."""
    cid = (await say(hass, agent, "My name is Ada")).conversation_id
    emulator.set_fault(Fault.UNLOAD_KILLS, times=1)
    turn = asyncio.create_task(say(hass, agent, LONG_ASK, cid))
    async with asyncio.timeout(10):
        while not emulator.requests[-1].first_sent_at:  # noqa: ASYNC110 - polls the emulator
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # a few pieces reach the agent
    assert await agent.runtime_data.coordinator.client.unload_model(TEST_MODEL)
    result = await turn
    assert speech(result) == SPOKEN["spoken_connection_dropped"]
    assert_speakable(speech(result))
    assert (_stored(hass, cid)[-1].content or "").endswith(PARTIAL_MARK)
    await _recovers(hass, agent, cid)


@pytest.mark.parametrize("decode_rate", [20.0])
@pytest.mark.parametrize(
    "conversation_subentry_data",
    [{CONF_MODEL: TEST_MODEL, CONF_KEEP_LOADED: True, CONF_TURN_TIMEOUT: 1}],
)
async def test_turn_time_limit(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A long answer on a slow board stops at the agent's time limit, partial kept."""
    agent.runtime_data.coordinator.client.timeouts = replace(
        TEST_TIMEOUTS, first_chunk=5.0, idle=5.0, drain=60
    )
    cid = (await say(hass, agent, "My name is Ada")).conversation_id
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _spoken_failure(hass, agent, LONG_ASK, cid, "turn_timeout")
    assert loop.time() - started < 2.0
    assert (_stored(hass, cid)[-1].content or "").endswith(PARTIAL_MARK)
    assert emulator.requests[-1].options["num_predict"] == 512
    await agent.runtime_data.coordinator.client.wait_drained()
    assert emulator.disconnects == 0  # the rest was read, so the worker stays healthy
    assert emulator.requests[-1].done


async def test_keep_alive_bytes_never_extend_a_turn(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Blank lines every 50 ms do not count as progress: the turn ends near its limit."""
    emulator.set_fault(Fault.KEEPALIVE_TRICKLE, delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _spoken_failure(hass, agent, "Hello", None, "timeout")
    assert loop.time() - started < TEST_TIMEOUTS.first_chunk + 1.0
    emulator.clear_faults()


async def test_refused_token_is_spoken(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A proxy that starts refusing the access token: one sentence, reauth offered."""
    emulator.change(proxy_token="new-token")
    await _spoken_failure(hass, agent, "Hello", None, "invalid_auth")
    emulator.change(proxy_token=None)
    result = await say(hass, agent, "What is 2 + 3?")
    assert "5" in speech(result)


@pytest.mark.parametrize(
    "conversation_subentry_data", [{CONF_MODEL: TEST_MODEL, CONF_KEEP_LOADED: False}]
)
async def test_runtime_mismatch_raises_repair_issue(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Runtime version mismatch: a spoken pointer to the repair, which names the fix."""
    emulator.set_fault(Fault.INVALID_MAGIC, times=1)
    await _spoken_failure(hass, agent, "Hello", None, "model_version_mismatch")
    issue_id = f"model_runtime_mismatch_{agent.entry_id}_{TEST_MODEL}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["model"] == TEST_MODEL
    assert issue.translation_placeholders["directory"] == f"~/RKLLAMA/models/{TEST_MODEL}/"
    # Once the model answers again, the issue goes away.
    result = await say(hass, agent, "What is 2 + 3?")
    assert "5" in speech(result)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize(
    "conversation_subentry_data", [{CONF_MODEL: TEST_MODEL, CONF_KEEP_LOADED: False}]
)
async def test_repair_from_an_action_cleared_by_an_answer(
    hass: HomeAssistant,
    agent: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A repair raised by the load action goes with the model's next answer, and only then."""
    deleted: list[str] = []
    delete = ir.async_delete_issue

    def record_delete(hass: HomeAssistant, domain: str, issue_id: str) -> None:
        deleted.append(issue_id)
        delete(hass, domain, issue_id)

    monkeypatch.setattr(ir, "async_delete_issue", record_delete)
    emulator.set_fault(Fault.INVALID_MAGIC, times=1)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "load_model",
            {"config_entry_id": agent.entry_id, "model": TEST_MODEL},
            blocking=True,
        )
    issue_id = f"model_runtime_mismatch_{agent.entry_id}_{TEST_MODEL}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert "5" in speech(await say(hass, agent, "What is 2 + 3?"))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert "3" in speech(await say(hass, agent, "What is 1 + 2?"))
    assert deleted == [issue_id]  # the second answer had no repair to clear


@pytest.mark.parametrize("conversation_subentry_data", [{CONF_MODEL: "Missing-Model-7B"}])
async def test_missing_model_names_directory(hass: HomeAssistant, agent: MockConfigEntry) -> None:
    """A model the server lacks: one sentence, and a repair naming the expected directory."""
    await _spoken_failure(hass, agent, "Hello", None, "model_not_found")
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"model_missing_{agent.entry_id}_Missing-Model-7B"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["directory"] == "~/RKLLAMA/models/Missing-Model-7B/"


async def test_restart_with_other_api_flavour(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """An upgrade changes the API under a running agent: one sentence, then answers again."""
    await say(hass, agent, "My name is Ada")
    await emulator.restart(flavour=Flavour.OLLAMA_SINGLE, version="0.5.1")
    await emulator.restart(flavour=Flavour.LEGACY)
    await _spoken_failure(hass, agent, "Hello", None, "server_error")
    client = agent.runtime_data.coordinator.client
    assert client.flavour is None  # the next call detects the server again
    await emulator.restart(flavour=Flavour.OLLAMA)
    result = await say(hass, agent, "What is 2 + 3?")
    assert "5" in speech(result)


@pytest.mark.parametrize("fault", [Fault.POLL_HTTP_500, Fault.POLL_BAD_JSON, Fault.POLL_HANG])
async def test_polling_faults_never_reach_a_turn(
    hass: HomeAssistant, agent: MockConfigEntry, emulator: RkllamaEmulator, fault: Fault
) -> None:
    """A broken `/`, `/api/tags`, `/api/ps` or `/api/show`: the poll fails quietly, turns work."""
    coordinator = agent.runtime_data.coordinator
    emulator.set_fault(fault)
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    result = await say(hass, agent, "What is 2 + 3?")
    assert "5" in speech(result)
    emulator.clear_faults()
    await coordinator.async_refresh()
    assert coordinator.last_update_success
