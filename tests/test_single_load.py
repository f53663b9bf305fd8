"""A board is never asked to load a model that is loading or resident: one load per model.

Upstream rkllama has no lock around `/load_model`: a second call for a model that is still
loading starts a second worker, which holds NPU memory nobody can free. The emulator records
every `/load_model` call (`load_requests`), answered or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_MODEL, CONF_PROMPT, CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, MessageRole
from custom_components.rkllm.const import CONF_KEEP_LOADED, DOMAIN
from rkllama_emulator import EmulatorConfig, Flavour, RkllamaEmulator, Timing

from .conftest import REASONING_MODEL, TEST_MODEL

LOAD_SECONDS = 0.6


@pytest.fixture
def flavour() -> Flavour:
    """Return the emulated server generation (parametrize to change)."""
    return Flavour.OLLAMA


@pytest.fixture
def emulator_config(models_dir: Path, flavour: Flavour) -> EmulatorConfig:
    """Make a load take long enough for a second request to arrive meanwhile."""
    return EmulatorConfig(
        models_dir=models_dir,
        flavour=flavour,
        timing=Timing(
            load_seconds=LOAD_SECONDS, prefill_tokens_per_second=1e6, decode_tokens_per_second=200
        ),
        holdback_replay_seconds=0.001,
    )


@pytest.fixture
async def second_board(emulator_config: EmulatorConfig) -> AsyncIterator[RkllamaEmulator]:
    """Run a second emulated board."""
    async with RkllamaEmulator(emulator_config) as board:
        yield board


def _agent(model: str = TEST_MODEL, *, keep_loaded: bool = True) -> dict[str, object]:
    return {
        "data": {CONF_MODEL: model, CONF_PROMPT: "Be brief.", CONF_KEEP_LOADED: keep_loaded},
        "subentry_type": "conversation",
        "title": f"Agent {model}",
        "unique_id": None,
    }


def _entry(hass: HomeAssistant, url: str, *agents: dict[str, object]) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, title=url, data={CONF_URL: url}, subentries_data=agents)
    entry.add_to_hass(hass)
    return entry


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)


async def _answer(entry: MockConfigEntry, model: str = TEST_MODEL) -> str:
    chunks = entry.runtime_data.pool.async_chat(
        model, [ChatMessage(MessageRole.USER, "What is 1 + 2?")], own_entry=entry.entry_id
    )
    return "".join([chunk.content async for chunk in chunks])


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, Flavour.OLLAMA_SINGLE, Flavour.LEGACY])
@pytest.mark.usefixtures("setup_ha")
async def test_setup_loads_once(
    hass: HomeAssistant, emulator: RkllamaEmulator, flavour: Flavour
) -> None:
    """Two agents and an AI task on one kept model: set-up loads it once."""
    ai_task = {**_agent(), "subentry_type": "ai_task_data", "title": "AI task"}
    entry = _entry(hass, emulator.url, _agent(), _agent(), ai_task)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await _settle(hass)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_agent_added_while_loading(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """An agent added while the kept model loads (a reload) does not load it again."""
    entry = _entry(hass, emulator.url, _agent())
    assert await hass.config_entries.async_setup(entry.entry_id)
    await asyncio.sleep(LOAD_SECONDS / 3)  # the preload is under way on the server
    assert emulator.load_requests == [TEST_MODEL]
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=_agent()["data"], subentry_type="conversation", title="Second", unique_id=None
        ),  # type: ignore[arg-type]
    )
    await _settle(hass)
    assert emulator.resident_models() == [TEST_MODEL]
    assert await _answer(entry)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_reload_of_a_loaded_entry(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """A reload finds the kept model resident and loads nothing."""
    entry = _entry(hass, emulator.url, _agent(), _agent(REASONING_MODEL))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await _settle(hass)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await _settle(hass)
    assert sorted(emulator.load_requests) == sorted([TEST_MODEL, REASONING_MODEL])
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_answers_and_actions_during_a_preload(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """Answers of two agents and a load action that arrive while the model loads wait for it."""
    entry = _entry(hass, emulator.url, _agent(), _agent())
    assert await hass.config_entries.async_setup(entry.entry_id)
    action = hass.services.async_call(
        DOMAIN,
        "load_model",
        {"config_entry_id": entry.entry_id, "model": TEST_MODEL},
        blocking=True,
    )
    answers = await asyncio.gather(_answer(entry), _answer(entry), action)
    assert all(answers[:2])
    await _settle(hass)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_unkept_model_first_answers(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """Concurrent first answers of a model nobody keeps loaded load it once."""
    entry = _entry(hass, emulator.url, _agent(keep_loaded=False))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await _settle(hass)
    assert all(await asyncio.gather(*(_answer(entry) for _ in range(3))))
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_kept_model_on_two_boards(
    hass: HomeAssistant, emulator: RkllamaEmulator, second_board: RkllamaEmulator
) -> None:
    """A kept model is preloaded once on each board, whichever entry registers first."""
    first = _entry(hass, emulator.url, _agent())
    _entry(hass, second_board.url, _agent())
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    await _settle(hass)
    assert [emulator.load_requests, second_board.load_requests] == [[TEST_MODEL]] * 2
    await _unload_all(hass)


@pytest.mark.usefixtures("setup_ha")
async def test_two_entries_for_one_address(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """Two entries that name one server share its NPU: the kept model is loaded once."""
    first = _entry(hass, emulator.url, _agent())
    second = _entry(hass, emulator.url + "/", _agent())
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    await _settle(hass)
    assert await _answer(second)
    assert emulator.load_requests == [TEST_MODEL]
    await _unload_all(hass)
