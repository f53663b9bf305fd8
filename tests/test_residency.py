"""Which models the server holds: preload, switching, and no thrashing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from homeassistant.const import CONF_MODEL, CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, MessageRole
from custom_components.rkllm.const import CONF_KEEP_LOADED, DOMAIN
from custom_components.rkllm.coordinator import RkllmDataUpdateCoordinator
from custom_components.rkllm.pool.residency import ModelResidency
from rkllama_emulator import FAST_TIMING, EmulatorConfig, Flavour, RkllamaEmulator

from .conftest import REASONING_MODEL, TEST_MODEL

SINGLE_MODEL_FLAVOURS = [Flavour.OLLAMA_SINGLE, Flavour.LEGACY]
REQUESTS = 20


@pytest.fixture
def flavour() -> Flavour:
    """Return the emulated server generation (parametrize to change)."""
    return Flavour.OLLAMA


@pytest.fixture
def emulator_config(models_dir: Path, flavour: Flavour) -> EmulatorConfig:
    """Run the emulator with the test's flavour."""
    return EmulatorConfig(
        models_dir=models_dir,
        flavour=flavour,
        timing=FAST_TIMING,
        holdback_replay_seconds=0.001,
    )


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
