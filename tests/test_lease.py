"""The NPU lease covers everything: actions wait for running answers, loads block no one else."""

from __future__ import annotations

import asyncio
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, MessageRole
from custom_components.rkllm.const import DOMAIN
from rkllama_emulator import EmulatorConfig, Flavour, RkllamaEmulator, Timing

from .conftest import REASONING_MODEL, TEST_MODEL

OTHER_MODEL = "Qwen2.5-3B"
LONG = "Is 17 a prime number? Explain."


@pytest.fixture
def flavour() -> Flavour:
    """Return the emulated server generation (parametrize to change)."""
    return Flavour.OLLAMA


@pytest.fixture
def emulator_config(models_dir: Path, flavour: Flavour) -> EmulatorConfig:
    """Make loads take a while and answers overlap them."""
    return EmulatorConfig(
        models_dir=models_dir,
        flavour=flavour,
        timing=Timing(load_seconds=1.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=40),
        holdback_replay_seconds=0.001,
    )


async def _answer(entry: MockConfigEntry, model: str, text: str = LONG) -> str:
    chunks = entry.runtime_data.pool.async_chat(
        model, [ChatMessage(MessageRole.USER, text)], own_entry=entry.entry_id
    )
    return "".join([chunk.content async for chunk in chunks])


async def _call(hass: HomeAssistant, service: str, entry_id: str, model: str) -> None:
    await hass.services.async_call(
        DOMAIN, service, {"config_entry_id": entry_id, "model": model}, blocking=True
    )


async def _started(entry: MockConfigEntry) -> None:
    """Wait until an answer streams (the emulator records a request when it ends)."""
    pool = entry.runtime_data.pool
    started = asyncio.Event()
    remove = pool.async_add_listener(lambda: started.set() if pool.in_flight else None)
    await started.wait()
    remove()
    await asyncio.sleep(0.2)


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA_SINGLE])
async def test_load_action_waits_for_the_running_answer(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """On a single-model server, load_model switches only after the running answer ends."""
    answer = asyncio.create_task(_answer(init_integration, TEST_MODEL))
    await _started(init_integration)
    await _call(hass, "load_model", init_integration.entry_id, OTHER_MODEL)
    assert answer.done()
    text = await answer
    chat = next(r for r in emulator.requests if r.route == "/api/chat")
    assert chat.done
    assert text == chat.reply  # the whole answer: nothing was unloaded under it
    assert emulator.resident_models() == [OTHER_MODEL]


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA_SINGLE, Flavour.OLLAMA])
async def test_action_refused_while_answering(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
    flavour: Flavour,
) -> None:
    """Past its wait, an action that would disturb an answer is refused with a clear error."""
    monkeypatch.setattr("custom_components.rkllm.services.ACTION_WAIT", 0.05)
    answer = asyncio.create_task(_answer(init_integration, TEST_MODEL))
    await _started(init_integration)
    service, model = (
        ("load_model", OTHER_MODEL)
        if flavour is Flavour.OLLAMA_SINGLE
        else ("unload_model", TEST_MODEL)
    )
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, service, init_integration.entry_id, model)
    assert err.value.translation_key == "model_in_use"
    assert str(err.value).startswith("The model is still answering. Please try again")
    assert await answer
    assert TEST_MODEL in emulator.resident_models()
    assert emulator.unloads == []


async def test_unload_action_waits_for_the_model(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """Unloading a model that is answering waits for the answer; other models are untouched."""
    answer = asyncio.create_task(_answer(init_integration, TEST_MODEL))
    await _started(init_integration)
    await _call(hass, "unload_model", init_integration.entry_id, TEST_MODEL)
    assert answer.done()
    chat = next(r for r in emulator.requests if r.route == "/api/chat")
    assert await answer == chat.reply
    assert TEST_MODEL not in emulator.resident_models()


async def test_resident_model_does_not_wait_for_another_load(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """On a multi-model server, an answer of a resident model runs beside another's load."""
    assert emulator.resident_models() == [TEST_MODEL]
    loading = asyncio.create_task(_answer(init_integration, REASONING_MODEL, "Hi"))
    action = asyncio.create_task(_call(hass, "load_model", init_integration.entry_id, OTHER_MODEL))
    await asyncio.sleep(0.2)  # both loads (1 s each) are under way on the server
    assert await _answer(init_integration, TEST_MODEL, "What is 1 + 2?")
    assert not loading.done()
    assert not action.done()
    assert await loading
    await action
    assert sorted(emulator.resident_models()) == sorted([TEST_MODEL, REASONING_MODEL, OTHER_MODEL])
