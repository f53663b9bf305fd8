"""Several boards as one pool: placement, failover, rejoin, the bounded queue, availability."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
import logging

from homeassistant.components import conversation
from homeassistant.const import CONF_MODEL, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er, intent
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.pool import NpuPool, async_get_pool
from rkllama_emulator import EmulatorConfig, Fault, RkllamaEmulator, Timing

from .conftest import REASONING_MODEL, TEST_MODEL, add_server, agent_subentry, speech

SLOW = Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=150.0)
LONG_ANSWER = "Write a haiku about AI."


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Decode slowly enough for answers to overlap."""
    return replace(emulator_config, timing=SLOW)


@pytest.fixture
async def boards(
    emulator: RkllamaEmulator, emulator_config: EmulatorConfig
) -> AsyncIterator[list[RkllamaEmulator]]:
    """Return three emulated boards (the first is the shared `emulator` fixture)."""
    others = [RkllamaEmulator(emulator_config) for _ in range(2)]
    for other in others:
        await other.start()
    try:
        yield [emulator, *others]
    finally:
        for other in others:
            await other.stop()


def _agent_id(hass: HomeAssistant, entry: MockConfigEntry, model: str = TEST_MODEL) -> str:
    return next(
        e.entity_id
        for e in er.async_get(hass).entities.values()
        if e.domain == "conversation"
        and e.config_entry_id == entry.entry_id
        and e.original_name is None
        and entry.subentries[e.config_subentry_id or ""].data[CONF_MODEL] == model
    )


async def _ask(hass: HomeAssistant, agent_id: str, text: str) -> conversation.ConversationResult:
    return await asyncio.create_task(
        conversation.async_converse(hass, text, None, Context(), agent_id=agent_id)
    )


def _chats(board: RkllamaEmulator) -> int:
    return sum(1 for r in board.requests if r.route == "/api/chat")


async def _poll(hass: HomeAssistant) -> None:
    """Run every server's poll now (what the 30 s timer does)."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("setup_ha")
async def test_kept_model_on_every_board_and_spread(
    hass: HomeAssistant, boards: list[RkllamaEmulator]
) -> None:
    """A kept model is loaded on every board; one answer stays on its own, others spread."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    for board in boards[1:]:
        await add_server(hass, board.url)
    assert [board.resident_models() for board in boards] == [[TEST_MODEL]] * 3
    agent_id = _agent_id(hass, own)

    assert "423" in speech(await _ask(hass, agent_id, "What is 145 + 278?"))
    assert "3" in speech(await _ask(hass, agent_id, "What is 1 + 2?"))
    assert [_chats(board) for board in boards] == [2, 0, 0]  # the agent's own board wins ties

    answers = await asyncio.gather(*(_ask(hass, agent_id, LONG_ANSWER) for _ in range(3)))
    assert all(speech(answer) for answer in answers)
    assert [_chats(board) for board in boards] == [3, 1, 1]
    assert [len(board.loads) for board in boards] == [1, 1, 1]  # no load during the answers
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_no_needless_load(hass: HomeAssistant, boards: list[RkllamaEmulator]) -> None:
    """Without "keep loaded", a request next in line waits for the board that holds its model."""
    own = await add_server(hass, boards[0].url, [agent_subentry(keep_loaded=False)])
    await add_server(hass, boards[1].url)
    agent_id = _agent_id(hass, own)
    assert "423" in speech(await _ask(hass, agent_id, "What is 145 + 278?"))
    answers = await asyncio.gather(_ask(hass, agent_id, LONG_ANSWER), _ask(hass, agent_id, "Hi"))
    assert all(speech(answer) for answer in answers)
    # The second request was next in line for the busy board: it waited instead of loading.
    assert ([len(b.loads) for b in boards[:2]], [_chats(b) for b in boards[:2]]) == (
        [1, 0],
        [3, 0],
    )
    # A queue builds up: the request behind another one loads the model on the idle board.
    answers = await asyncio.gather(*(_ask(hass, agent_id, LONG_ANSWER) for _ in range(3)))
    assert all(speech(answer) for answer in answers)
    assert [len(b.loads) for b in boards[:2]] == [1, 1]
    assert _chats(boards[1]) == 1
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_two_models_no_switching(hass: HomeAssistant, boards: list[RkllamaEmulator]) -> None:
    """Two agents on two models over three boards: both kept everywhere, no load per answer."""
    own = await add_server(hass, boards[0].url, [agent_subentry(), agent_subentry(REASONING_MODEL)])
    for board in boards[1:]:
        await add_server(hass, board.url)
    loads = [len(board.loads) for board in boards]
    assert loads == [2, 2, 2]
    agents = [_agent_id(hass, own), _agent_id(hass, own, REASONING_MODEL)]
    answers = await asyncio.gather(
        *(_ask(hass, agents[index % 2], f"What is {index} + 1?") for index in range(12))
    )
    assert all(speech(answer) for answer in answers)
    assert [len(board.loads) for board in boards] == loads
    assert sum(_chats(board) for board in boards) == 12
    await _unload_all(hass)


@pytest.mark.parametrize(
    "fault", [Fault.REFUSE, Fault.HTTP_500, Fault.SLOW_FIRST_TOKEN, Fault.HANG]
)
@pytest.mark.usefixtures("setup_ha")
async def test_failover_before_first_word(
    hass: HomeAssistant, boards: list[RkllamaEmulator], fault: Fault
) -> None:
    """A board that refuses, errors or stays silent is skipped; the next one answers once."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    await add_server(hass, boards[1].url)
    client = own.runtime_data.coordinator.client
    client.timeouts = replace(client.timeouts, first_chunk=0.5)
    agent_id = _agent_id(hass, own)
    boards[0].set_fault(fault, delay=5.0)

    result = await _ask(hass, agent_id, "What is 145 + 278?")
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(result).count("423") == 1
    assert _chats(boards[1]) == 1
    boards[0].clear_faults()
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_no_failover_after_first_word(
    hass: HomeAssistant, boards: list[RkllamaEmulator]
) -> None:
    """An answer broken off after its first word is not repeated elsewhere: the error is said."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    await add_server(hass, boards[1].url)
    agent_id = _agent_id(hass, own)
    boards[0].set_fault(Fault.DROP_MID_STREAM, times=1)

    result = await _ask(hass, agent_id, "What is 145 + 278?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result).startswith("The connection to the rkllama server dropped")
    assert _chats(boards[1]) == 0
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_every_board_fails(hass: HomeAssistant, boards: list[RkllamaEmulator]) -> None:
    """When every board fails before the first word, the last error is said, once each."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    await add_server(hass, boards[1].url)
    for board in boards[:2]:
        board.set_fault(Fault.HTTP_500, times=1)
    result = await _ask(hass, _agent_id(hass, own), "What is 145 + 278?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result).startswith("The rkllama server reported an error")
    assert [len(b.requests) for b in boards[:2]] == [1, 1]
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_board_down_agent_available_and_rejoin(
    hass: HomeAssistant,
    boards: list[RkllamaEmulator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The agent stays available while another board has its model; the board rejoins."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    other = await add_server(hass, boards[1].url)
    agent_id = _agent_id(hass, own)
    pool = async_get_pool(hass)
    assert pool.servers_online == 2

    caplog.set_level(logging.INFO)
    boards[0].set_fault(Fault.REFUSE)
    assert "423" in speech(await _ask(hass, agent_id, "What is 145 + 278?"))
    assert pool.servers_online == 1
    assert hass.states.get(agent_id).state != STATE_UNAVAILABLE
    await _poll(hass)
    assert "3" in speech(await _ask(hass, agent_id, "What is 1 + 2?"))
    assert _chats(boards[1]) == 2

    # The other board goes too: the agent is unavailable, said once.
    boards[1].set_fault(Fault.REFUSE)
    for _ in range(2):
        await _poll(hass)
    assert hass.states.get(agent_id).state == STATE_UNAVAILABLE
    result = await _ask(hass, agent_id, "What is 1 + 2?")
    assert speech(result).startswith("I cannot reach the rkllama server")

    # Both come back with the next poll; the agent's own board serves it again.
    for board in boards[:2]:
        board.clear_faults()
    await _poll(hass)
    assert pool.servers_online == 2
    assert hass.states.get(agent_id).state != STATE_UNAVAILABLE
    before = _chats(boards[0])
    assert "3" in speech(await _ask(hass, agent_id, "What is 1 + 2?"))
    assert _chats(boards[0]) == before + 1
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith(agent_id)]
    assert messages == [
        f"{agent_id} is unavailable: no reachable server has its model",
        f"{agent_id} is available again",
    ]
    assert other.state.recoverable
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_bounded_queue_says_busy(
    hass: HomeAssistant, emulator: RkllamaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the queue's bound a request hears "busy" at once; the others are answered FIFO."""
    monkeypatch.setattr("custom_components.rkllm.pool.QUEUE_LIMIT", 2)
    own = await add_server(hass, emulator.url, [agent_subentry()])
    agent_id = _agent_id(hass, own)
    pool: NpuPool = async_get_pool(hass)
    seen: list[tuple[int, int]] = []
    pool.async_add_listener(lambda: seen.append((pool.in_flight, pool.queue_length)))

    tasks = []
    for index in range(5):
        text = f"{LONG_ANSWER} ({index})"
        tasks.append(asyncio.create_task(_ask(hass, agent_id, text)))
        await asyncio.sleep(0.02)  # a fixed arrival order
    results = await asyncio.gather(*tasks)
    speeches = [speech(result) for result in results]
    assert [s.startswith("Every board is busy right now") for s in speeches] == [
        False,
        False,
        False,
        True,
        True,
    ]
    order = [r.messages[-1]["content"] for r in emulator.requests if r.route == "/api/chat"]
    # First come, first served.
    assert [text.split("\n")[0] for text in order] == [f"{LONG_ANSWER} ({i})" for i in range(3)]
    assert max(queue for _, queue in seen) == 2
    assert (pool.in_flight, pool.queue_length) == (0, 0)
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_pool_sensors(hass: HomeAssistant, boards: list[RkllamaEmulator]) -> None:
    """Each server's device shows the pool's boards online, requests in flight and queue."""
    own = await add_server(hass, boards[0].url, [agent_subentry()])
    await add_server(hass, boards[1].url)
    registry = er.async_get(hass)
    ids = {
        e.unique_id.removeprefix(f"{own.entry_id}_"): e.entity_id
        for e in er.async_entries_for_config_entry(registry, own.entry_id)
        if e.unique_id.startswith(f"{own.entry_id}_pool")
    }
    assert hass.states.get(ids["pool_boards_online"]).state == "2"
    agent_id = _agent_id(hass, own)
    flying: list[str] = []

    def record(_event: object) -> None:
        flying.append(hass.states.get(ids["pool_in_flight"]).state)

    remove = hass.bus.async_listen("state_changed", record)
    await _ask(hass, agent_id, LONG_ANSWER)
    remove()
    assert "1" in flying
    await hass.async_block_till_done()
    assert hass.states.get(ids["pool_in_flight"]).state == "0"
    assert hass.states.get(ids["pool_queue_length"]).state == "0"
    await hass.config_entries.async_unload(hass.config_entries.async_entries(DOMAIN)[1].entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ids["pool_boards_online"]).state == "1"
    await _unload_all(hass)
