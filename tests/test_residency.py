"""Which models a server holds: preload, switching, no thrashing, and one load of a model.

Upstream rkllama has no lock around `/load_model`: a second call for a model that is still
loading starts a second worker, which holds NPU memory nobody can free. The emulator records
every `/load_model` call (`load_requests`), answered or not.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
import time

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_MODEL, CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, MessageRole, RkllamaClient
from custom_components.rkllm.const import CONF_KEEP_LOADED, DOMAIN
from custom_components.rkllm.coordinator import RkllmDataUpdateCoordinator
from custom_components.rkllm.pool.residency import ModelResidency
from rkllama_emulator import FAST_TIMING, EmulatorConfig, Flavour, RkllamaEmulator, Timing

from .conftest import REASONING_MODEL, TEST_MODEL, agent_subentry

SINGLE_MODEL_FLAVOURS = [Flavour.OLLAMA_SINGLE, Flavour.LEGACY]
REQUESTS = 20
LOAD_SECONDS = 0.6
SLOW_LOAD = Timing(
    load_seconds=LOAD_SECONDS, prefill_tokens_per_second=1e6, decode_tokens_per_second=200
)
"""A load long enough for a second request to arrive meanwhile."""
SLOW_ANSWER = Timing(load_seconds=0.01, prefill_tokens_per_second=1e6, decode_tokens_per_second=40)


@pytest.fixture
def flavour() -> Flavour:
    """Return the emulated server generation (parametrize to change)."""
    return Flavour.OLLAMA


@pytest.fixture
def timing() -> Timing:
    """Return the emulated NPU's speed (parametrize to change)."""
    return FAST_TIMING


@pytest.fixture
def emulator_config(models_dir: Path, flavour: Flavour, timing: Timing) -> EmulatorConfig:
    """Run the emulator with the test's flavour and speed."""
    return EmulatorConfig(
        models_dir=models_dir, flavour=flavour, timing=timing, holdback_replay_seconds=0.001
    )


@pytest.fixture
async def second_board(emulator_config: EmulatorConfig) -> AsyncIterator[RkllamaEmulator]:
    """Run a second emulated board."""
    async with RkllamaEmulator(emulator_config) as board:
        yield board


def _entry(hass: HomeAssistant, url: str, *agents: dict[str, object]) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, title=url, data={CONF_URL: url}, subentries_data=agents)
    entry.add_to_hass(hass)
    return entry


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _ready(hass: HomeAssistant, entry: MockConfigEntry) -> RkllmDataUpdateCoordinator:
    """Return the coordinator once the preload task has finished."""
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry.runtime_data.coordinator


def _residency(coordinator: RkllmDataUpdateCoordinator) -> ModelResidency:
    """Return what the pool knows of the coordinator's server."""
    entry = coordinator.config_entry
    return entry.runtime_data.pool.residency(entry.entry_id)


async def _ask(coordinator: RkllmDataUpdateCoordinator, model: str, text: str) -> str:
    """Run one generation on `model` the way an agent does: through the pool."""
    entry = coordinator.config_entry
    chunks = entry.runtime_data.pool.async_chat(
        model, [ChatMessage(MessageRole.USER, text)], own_entry=entry.entry_id
    )
    return "".join([chunk.content async for chunk in chunks])


async def _alternating(coordinator: RkllmDataUpdateCoordinator) -> list[str]:
    """Send REQUESTS concurrent requests, alternating between two models."""
    models = [TEST_MODEL if i % 2 == 0 else REASONING_MODEL for i in range(REQUESTS)]
    return await asyncio.gather(
        *(_ask(coordinator, model, f"question {i}") for i, model in enumerate(models))
    )


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, *SINGLE_MODEL_FLAVOURS])
async def test_preload_keep_loaded_model(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The model of a "keep loaded" agent is loaded at setup, once."""
    coordinator = await _ready(hass, init_integration)
    assert [model for model, _ in emulator.loads] == [TEST_MODEL]
    assert emulator.resident_models() == [TEST_MODEL]
    assert _residency(coordinator).resident == [TEST_MODEL]
    assert _residency(coordinator).loads == 1


@pytest.mark.parametrize("conversation_subentry_data", [{"model": TEST_MODEL}])
async def test_no_preload_without_keep_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Nothing is loaded at setup when no agent asks for it."""
    await _ready(hass, init_integration)
    assert emulator.loads == []


@pytest.mark.parametrize("flavour", SINGLE_MODEL_FLAVOURS)
async def test_single_model_switches(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A single-model server is switched to the model each request needs."""
    coordinator = await _ready(hass, init_integration)
    assert await _ask(coordinator, REASONING_MODEL, "hello")
    assert emulator.resident_models() == [REASONING_MODEL]
    assert await _ask(coordinator, TEST_MODEL, "hello")
    assert emulator.resident_models() == [TEST_MODEL]
    assert [model for model, _ in emulator.loads] == [TEST_MODEL, REASONING_MODEL, TEST_MODEL]
    assert _residency(coordinator).resident == [TEST_MODEL]


@pytest.mark.parametrize("flavour", SINGLE_MODEL_FLAVOURS)
async def test_single_model_no_thrash(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Two agents on two models, interleaved requests: few switches, every answer arrives."""
    coordinator = await _ready(hass, init_integration)
    before = len(emulator.loads)
    answers = await _alternating(coordinator)
    assert all(answers)
    switches = len(emulator.loads) - before
    # A request-by-request policy would switch about REQUESTS times.
    assert 1 <= switches <= 6, emulator.loads
    assert _residency(coordinator).loads == before + switches


async def test_multi_model_loads_each_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A multi-model server keeps both models: each is loaded exactly once."""
    coordinator = await _ready(hass, init_integration)
    answers = await _alternating(coordinator)
    assert all(answers)
    assert Counter(model for model, _ in emulator.loads) == {TEST_MODEL: 1, REASONING_MODEL: 1}
    assert sorted(emulator.resident_models()) == sorted([TEST_MODEL, REASONING_MODEL])
    assert emulator.unloads == []


@pytest.mark.parametrize("keep_loaded", [True, False])
@pytest.mark.usefixtures("socket_enabled", "setup_ha")
async def test_keep_loaded_outlives_idle_unload(
    hass: HomeAssistant,
    models_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    keep_loaded: bool,
) -> None:
    """Polls touch a kept model before the server's idle timer would unload it."""
    monkeypatch.setattr(
        "custom_components.rkllm.pool.keep_loaded.KEEP_LOADED_REFRESH", timedelta(seconds=0.2)
    )
    config = EmulatorConfig(
        models_dir=models_dir,
        timing=FAST_TIMING,
        idle_unload_seconds=0.6,
        idle_check_seconds=0.1,
    )
    async with RkllamaEmulator(config) as emu:
        await emu.start()
        entry = MockConfigEntry(
            domain=DOMAIN,
            data={CONF_URL: emu.url},
            subentries_data=[
                {
                    "data": {CONF_MODEL: TEST_MODEL, CONF_KEEP_LOADED: keep_loaded},
                    "subentry_type": "conversation",
                    "title": "Agent",
                    "unique_id": None,
                }
            ],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        coordinator = await _ready(hass, entry)
        if not keep_loaded:
            await _ask(coordinator, TEST_MODEL, "hello")
        for _poll in range(12):  # 1.8 s of polls, three idle-unload periods
            await asyncio.sleep(0.15)
            await coordinator.async_refresh()
            await hass.async_block_till_done(wait_background_tasks=True)
        touches = [r for r in emu.requests if r.route == "/api/generate"]
        if keep_loaded:
            assert emu.resident_models() == [TEST_MODEL]
            assert len(touches) >= 2
            assert [model for model, _ in emu.loads] == [TEST_MODEL]
        else:
            assert emu.resident_models() == []
            assert touches == []
        await hass.config_entries.async_unload(entry.entry_id)


# -- one load of a model per server ----------------------------------------------------------


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, *SINGLE_MODEL_FLAVOURS])
@pytest.mark.usefixtures("setup_ha")
async def test_setup_loads_once(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """Two agents and an AI task on one kept model: set-up loads it once."""
    ai_task = {**agent_subentry(), "subentry_type": "ai_task_data", "title": "AI task"}
    entry = _entry(hass, emulator.url, agent_subentry(), agent_subentry(), ai_task)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await _ready(hass, entry)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.usefixtures("setup_ha")
async def test_agent_added_while_loading(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """An agent added while the kept model loads (a reload) does not load it again."""
    entry = _entry(hass, emulator.url, agent_subentry())
    assert await hass.config_entries.async_setup(entry.entry_id)
    await asyncio.sleep(LOAD_SECONDS / 3)  # the preload is under way on the server
    assert emulator.load_requests == [TEST_MODEL]
    data = agent_subentry()["data"]
    assert isinstance(data, dict)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(data=data, subentry_type="conversation", title="Second", unique_id=None),
    )
    coordinator = await _ready(hass, entry)
    assert emulator.resident_models() == [TEST_MODEL]
    assert await _ask(coordinator, TEST_MODEL, "What is 1 + 2?")
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.usefixtures("setup_ha")
async def test_reload_of_a_loaded_entry(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """A reload finds the kept models resident and loads nothing."""
    entry = _entry(hass, emulator.url, agent_subentry(), agent_subentry(REASONING_MODEL))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await _ready(hass, entry)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await _ready(hass, entry)
    assert sorted(emulator.load_requests) == sorted([TEST_MODEL, REASONING_MODEL])
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, Flavour.OLLAMA_SINGLE])
@pytest.mark.usefixtures("setup_ha")
async def test_answers_and_actions_during_a_preload(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """Answers of two agents and a load action that arrive while the model loads wait for it."""
    entry = _entry(hass, emulator.url, agent_subentry(), agent_subentry())
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    action = hass.services.async_call(
        DOMAIN,
        "load_model",
        {"config_entry_id": entry.entry_id, "model": TEST_MODEL},
        blocking=True,
    )
    answers = await asyncio.gather(
        _ask(coordinator, TEST_MODEL, "What is 1 + 2?"),
        _ask(coordinator, TEST_MODEL, "What is 2 + 3?"),
        action,
    )
    assert all(answers[:2])
    await _ready(hass, entry)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.usefixtures("setup_ha")
async def test_first_answers_of_an_unkept_model(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """Concurrent first answers of a model nobody keeps loaded load it once."""
    entry = _entry(hass, emulator.url, agent_subentry(keep_loaded=False))
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = await _ready(hass, entry)
    questions = [f"What is {number} + 1?" for number in range(3)]
    assert all(await asyncio.gather(*(_ask(coordinator, TEST_MODEL, q) for q in questions)))
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.usefixtures("setup_ha")
async def test_kept_model_on_two_boards(
    hass: HomeAssistant, emulator: RkllamaEmulator, second_board: RkllamaEmulator
) -> None:
    """A kept model is preloaded once on each board, whichever entry registers first."""
    first = _entry(hass, emulator.url, agent_subentry())
    _entry(hass, second_board.url, agent_subentry())
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    await _ready(hass, first)
    assert [emulator.load_requests, second_board.load_requests] == [[TEST_MODEL]] * 2
    await _unload_all(hass)


@pytest.mark.parametrize("timing", [SLOW_LOAD])
@pytest.mark.usefixtures("setup_ha")
async def test_two_entries_for_one_address(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """Two entries that name one server share its NPU: the kept model is loaded once."""
    first = _entry(hass, emulator.url, agent_subentry())
    second = _entry(hass, emulator.url + "/", agent_subentry())
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    coordinator = await _ready(hass, second)
    assert await _ask(coordinator, TEST_MODEL, "What is 1 + 2?")
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


async def test_poll_older_than_a_load(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """A poll that started before a load ended does not make the model look unloaded."""
    residency = ModelResidency(hass, single_model=False, on_change=lambda: None)
    async with RkllamaClient(emulator.url) as client:
        polled_at = time.monotonic()
        assert await residency.load(client, TEST_MODEL)
        residency.sync([], polled_at)  # the poll read the list before the load ended
        assert residency.resident == [TEST_MODEL]
        assert not await residency.load(client, TEST_MODEL)
        residency.sync([], time.monotonic())  # a newer poll: someone else unloaded it
        assert residency.resident == []
    assert emulator.load_requests == [TEST_MODEL]


@pytest.mark.parametrize("timing", [SLOW_ANSWER])
@pytest.mark.usefixtures("setup_ha")
async def test_no_touch_while_answering(
    hass: HomeAssistant, emulator: RkllamaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept model is not touched while it answers (the answer restarts its idle timer)."""
    monkeypatch.setattr(
        "custom_components.rkllm.pool.keep_loaded.KEEP_LOADED_REFRESH", timedelta(seconds=0.1)
    )
    entry = _entry(hass, emulator.url, agent_subentry())
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = await _ready(hass, entry)
    answer = asyncio.create_task(_ask(coordinator, TEST_MODEL, "Is 17 a prime number? Explain."))
    polls = 0
    while not answer.done():
        await asyncio.sleep(0.1)
        await coordinator.async_refresh()
        polls += 1
    assert await answer
    assert polls >= 3
    chat = next(r for r in emulator.requests if r.route == "/api/chat")
    assert chat.ended_at is not None
    touches = [r.arrived_at for r in emulator.requests if r.route == "/api/generate"]
    assert not [at for at in touches if chat.arrived_at <= at <= chat.ended_at]
    await asyncio.sleep(0.15)
    await coordinator.async_refresh()  # idle again: now it is touched
    await _ready(hass, entry)
    assert sum(r.route == "/api/generate" for r in emulator.requests) > len(touches)
    await _unload_all(hass)
