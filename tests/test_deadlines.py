"""Never keep a voice waiting: deadlines from what a healthy server takes, and servers known down.

Through Home Assistant against the emulator: a silent server is given up at its first-word
deadline (the request goes to another server, or one sentence is spoken); a server known to be
down gets no request; removing an entry leaves no connection open; a slow but healthy server
is never cut. The floors are scaled down like the emulator's timings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from homeassistant.components import conversation
from homeassistant.const import CONF_MODEL, CONF_PROMPT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.rkllm as component
from custom_components.rkllm.api import Timeouts
from custom_components.rkllm.const import CONF_KEEP_LOADED
from custom_components.rkllm.coordinator import ServerFigures
from custom_components.rkllm.llm_entity import PARTIAL_MARK
from custom_components.rkllm.pool import deadlines
from rkllama_emulator import BOARD_TIMING, EmulatorConfig, Fault, RkllamaEmulator, Timing

from .conftest import SPOKEN, TEST_MODEL, add_server, assert_speakable, say, speech, stored_log

BRIEF = {CONF_MODEL: TEST_MODEL, CONF_PROMPT: "Be brief.", CONF_KEEP_LOADED: True}
FLOOR = 0.5
"""Seconds: the first-word and gap floors, scaled down for the tests."""
REAL_FLOORS = {"FIRST_WORD_FLOOR": deadlines.FIRST_WORD_FLOOR, "GAP_FLOOR": deadlines.GAP_FLOOR}
QUESTION_250 = "Please read this note. " + "The quick brown fox jumps over the lazy dog. " * 22


@pytest.fixture(autouse=True)
def short_floors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scale the floors down like the emulator's timings."""
    monkeypatch.setattr(deadlines, "FIRST_WORD_FLOOR", FLOOR)
    monkeypatch.setattr(deadlines, "GAP_FLOOR", FLOOR)


@pytest.fixture
def conversation_subentry_data() -> dict[str, object]:
    """Return a brief agent without tools that keeps its model loaded."""
    return BRIEF


def _chats(board: RkllamaEmulator) -> int:
    return sum(1 for request in board.requests if request.route == "/api/chat")


async def _measured(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Answer one question, so the server's figures are measured; return the conversation."""
    result = await say(hass, entry, "My name is Ada")
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert entry.runtime_data.coordinator.figures.overhead is not None
    return result.conversation_id


def _spoken(result: conversation.ConversationResult, key: str) -> None:
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result) == SPOKEN[f"spoken_{key}"]
    assert_speakable(speech(result))


# -- how the deadlines are derived ---------------------------------------------------------


def test_deadlines_from_board_figures() -> None:
    """Board figures: a resident 250-token prompt is given up within 6 s; a slow load is not."""
    board = ServerFigures(prefill_rate=340.0, decode_rate=7.8, overhead=0.45, load_seconds=4.0)
    timeouts = Timeouts()
    for figures in (board, ServerFigures()):  # measured, and the defaults before a measure
        assert deadlines.stream_limits(figures, timeouts, 250, loads=False).first_chunk <= 6.0
    big = deadlines.stream_limits(board, timeouts, 4000, loads=True)
    assert big.first_chunk >= 2 * (0.45 + 4.0 + 4000 / 340)
    steady = replace(board, decode_rate=4.0)
    assert deadlines.stream_limits(steady, timeouts, 250, loads=False).idle >= 10 / 4.0
    patient = deadlines.stream_limits(board, timeouts, 4000, loads=True, patience=3.0)
    assert patient.first_chunk == pytest.approx(3 * big.first_chunk)
    assert deadlines.patience_of({"patience": "nan"}) == 1.0
    assert deadlines.patience_of({"patience": 50}) == 10.0


# -- a silent server -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.HANG, Fault.KEEPALIVE_TRICKLE, Fault.SILENT_PORT], ids=str)
async def test_silent_server_alone_is_spoken(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    fault: Fault,
) -> None:
    """No headers, keep-alive bytes only, or a port that never answers: spoken at the deadline.

    The client's own limits stay at their defaults (120 s): only the derived deadline ends it.
    """
    cid = await _measured(hass, init_integration)
    emulator.set_fault(fault, delay=0.05)
    async with asyncio.timeout(10 * FLOOR):
        result = await say(hass, init_integration, "What is 1 + 2?", cid)
    _spoken(result, "timeout")
    emulator.clear_faults()


@pytest.fixture
async def second_board(
    emulator_config: EmulatorConfig,
) -> AsyncIterator[RkllamaEmulator]:
    """Return a second emulated board."""
    async with RkllamaEmulator(emulator_config) as board:
        yield board


async def test_silent_server_fails_over(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    second_board: RkllamaEmulator,
) -> None:
    """A silent server is given up at its deadline; the other server answers, once."""
    cid = await _measured(hass, init_integration)
    other = await add_server(hass, second_board.url)
    assert second_board.resident_models() == [TEST_MODEL]  # the kept model, preloaded
    emulator.set_fault(Fault.HANG)
    async with asyncio.timeout(10 * FLOOR):
        result = await say(hass, init_integration, "What is my name?", cid)
    assert speech(result) == "Your name is Ada."
    assert (_chats(emulator), _chats(second_board)) == (2, 1)
    answers = [
        content
        for content in stored_log(hass, cid)
        if isinstance(content, conversation.AssistantContent)
    ]
    assert [answer.content for answer in answers][-1] == "Your name is Ada."
    assert len(answers) == 2  # one answer per question: never twice
    emulator.clear_faults()
    await hass.config_entries.async_unload(other.entry_id)


@pytest.mark.parametrize("emulator_config_timing", [BOARD_TIMING])
@pytest.mark.parametrize("with_second_board", [False, True], ids=["alone", "second_board"])
async def test_silent_board_within_the_goals(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    with_second_board: bool,
) -> None:
    """Board timing, real floors, a ~250-token prompt, model resident: given up within 6 s.

    Alone, the sentence is spoken by then; with a second board, its answer comes within 8 s.
    """
    for name, value in REAL_FLOORS.items():
        monkeypatch.setattr(deadlines, name, value)
    cid = await _measured(hass, init_integration)
    async with RkllamaEmulator(emulator.config) as board:
        if with_second_board:
            other = await add_server(hass, board.url)
        emulator.set_fault(Fault.HANG)
        async with asyncio.timeout(8.0 if with_second_board else 6.0):
            result = await say(hass, init_integration, QUESTION_250 + "What is my name?", cid)
        emulator.clear_faults()
        if with_second_board:
            assert speech(result) == "Your name is Ada."
            assert _chats(board) == 1
            await hass.config_entries.async_unload(other.entry_id)
        else:
            _spoken(result, "timeout")
    assert emulator.requests[-1].prompt_tokens >= 250


# -- a server known to be down ---------------------------------------------------------------


async def test_known_down_is_spoken_at_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The only server broke off; its port stays open: the next question gets no request.

    It is spoken within a second, and the server rejoins at its next good poll.
    """
    coordinator = init_integration.runtime_data.coordinator
    cid = await _measured(hass, init_integration)
    emulator.set_fault(Fault.DROP_MID_STREAM, times=1)
    _spoken(await say(hass, init_integration, "Write a haiku about AI.", cid), "connection_dropped")
    assert coordinator.known_down
    emulator.set_fault(Fault.SILENT_PORT)  # the crashed worker keeps the port
    sent = len(emulator.requests)
    async with asyncio.timeout(1.0):
        result = await say(hass, init_integration, "What is my name?", cid)
    _spoken(result, "cannot_connect")
    assert len(emulator.requests) == sent
    emulator.clear_faults()
    await coordinator.async_refresh()
    assert not coordinator.known_down
    assert speech(await say(hass, init_integration, "What is my name?", cid)) == (
        "Your name is Ada."
    )


# -- removing an entry -----------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.STALL_MID_STREAM, Fault.HANG], ids=str)
async def test_unloading_an_entry_closes_its_connections(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
) -> None:
    """An answer being read, or one abandoned and drained: unloading leaves 0 connections."""
    monkeypatch.setattr(component, "UNLOAD_DRAIN_LIMIT", 0.2)
    if fault is Fault.STALL_MID_STREAM:  # still being read when the entry goes
        monkeypatch.setattr(deadlines, "GAP_FLOOR", 30.0)
    cid = await _measured(hass, init_integration)
    emulator.set_fault(fault)
    sent = len(emulator.requests)
    turn = asyncio.create_task(say(hass, init_integration, "Write a haiku about AI.", cid))
    async with asyncio.timeout(5):
        while len(emulator.requests) == sent:  # noqa: ASYNC110 - polls the emulator
            await asyncio.sleep(0.02)
    await asyncio.sleep(2 * FLOOR)  # a few pieces, or (hang) the spoken sentence
    assert turn.done() is (fault is Fault.HANG)
    assert emulator.open_connections > 0
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    async with asyncio.timeout(5):
        result = await turn
        while emulator.open_connections:  # noqa: ASYNC110 - the server sees the close
            await asyncio.sleep(0.02)
    assert result.response.response_type is intent.IntentResponseType.ERROR
    emulator.clear_faults()


# -- no false alarm ----------------------------------------------------------------------------

SLOW_BOARD = Timing(
    load_seconds=0.5,
    prefill_tokens_per_second=1500.0,
    decode_tokens_per_second=8.0,
    request_overhead_seconds=0.05,
)


@pytest.mark.parametrize("conversation_subentry_data", [{**BRIEF, CONF_KEEP_LOADED: False}])
@pytest.mark.parametrize("emulator_config_timing", [SLOW_BOARD])
async def test_slow_but_healthy_server_is_answered(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A long prompt on a server that must load its model first, and a slow steady decode."""
    coordinator = init_integration.runtime_data.coordinator
    cid = await _measured(hass, init_integration)
    assert coordinator.figures.decode_rate is not None
    assert await coordinator.client.unload_model(TEST_MODEL)
    await coordinator.async_refresh()
    long_prompt = "Please read this. " + "The quick brown fox jumps over the lazy dog. " * 180
    result = await say(hass, init_integration, long_prompt + " What is my name?", cid)
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE, speech(result)
    assert emulator.load_requests.count(TEST_MODEL) == 2  # it had to load again
    assert emulator.requests[-1].prompt_tokens > 1500


RELOADING_BOARD = Timing(
    load_seconds=1.5,
    prefill_tokens_per_second=5000.0,
    decode_tokens_per_second=50.0,
    request_overhead_seconds=0.05,
)


@pytest.mark.parametrize("emulator_config_timing", [RELOADING_BOARD])
async def test_model_lost_behind_the_pools_back_is_answered(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A model that left the NPU unseen (idle timer, another client) loads on demand: waited for.

    Its load takes three times the first-word deadline; the server's list of resident models,
    asked halfway, shows that the model is loading again rather than a silent server.
    """
    coordinator = init_integration.runtime_data.coordinator
    cid = await _measured(hass, init_integration)
    assert await coordinator.client.unload_model(TEST_MODEL)  # no poll: the pool still trusts it
    loads = emulator.load_requests.count(TEST_MODEL)
    result = await say(hass, init_integration, "What is my name?", cid)
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE, speech(result)
    assert emulator.load_requests.count(TEST_MODEL) == loads  # the server loaded it itself
    assert _chats(emulator) == 2  # asked once, never twice


@pytest.fixture
def emulator_config_timing() -> Timing | None:
    """Return the board timing of a test (None: the quick default)."""
    return None


@pytest.fixture
def emulator_config(
    emulator_config: EmulatorConfig, emulator_config_timing: Timing | None
) -> EmulatorConfig:
    """Apply the test's board timing."""
    if emulator_config_timing is None:
        return emulator_config
    return replace(emulator_config, timing=emulator_config_timing)


async def test_gap_deadline_keeps_the_partial_answer(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A stall after the first words: spoken at the gap deadline, the partial answer kept."""
    cid = await _measured(hass, init_integration)
    emulator.set_fault(Fault.STALL_MID_STREAM)
    async with asyncio.timeout(10 * FLOOR):
        result = await say(hass, init_integration, "Write a haiku about AI.", cid)
    _spoken(result, "timeout")
    assert (stored_log(hass, cid)[-1].content or "").endswith(PARTIAL_MARK)
    emulator.clear_faults()
