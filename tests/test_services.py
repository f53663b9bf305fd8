"""The load_model and unload_model actions."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from rkllama_emulator import Fault, RkllamaEmulator

from .conftest import TEST_MODEL

OTHER_MODEL = "Qwen2.5-3B"


async def _call(hass: HomeAssistant, service: str, entry_id: str, model: str) -> None:
    """Call an rkllm action and wait for it."""
    await hass.services.async_call(
        DOMAIN, service, {"config_entry_id": entry_id, "model": model}, blocking=True
    )


async def test_load_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The actions load and unload models on the server."""
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = init_integration.runtime_data.coordinator
    before = len(emulator.loads)

    await _call(hass, "load_model", init_integration.entry_id, OTHER_MODEL)
    assert [model for model, _ in emulator.loads[before:]] == [OTHER_MODEL]
    assert OTHER_MODEL in emulator.resident_models()
    assert (
        OTHER_MODEL
        in init_integration.runtime_data.pool.residency(init_integration.entry_id).resident
    )
    await hass.async_block_till_done()
    assert OTHER_MODEL in coordinator.data.loaded_names

    # Loading it again is a no-op.
    await _call(hass, "load_model", init_integration.entry_id, OTHER_MODEL)
    assert len(emulator.loads) == before + 1

    await _call(hass, "unload_model", init_integration.entry_id, OTHER_MODEL)
    assert OTHER_MODEL in [name for name, *_ in map(_as_tuple, emulator.unloads)]
    assert OTHER_MODEL not in emulator.resident_models()
    assert (
        OTHER_MODEL
        not in init_integration.runtime_data.pool.residency(init_integration.entry_id).resident
    )


def _as_tuple(item: object) -> tuple[object, ...]:
    """Return an unload record as a tuple (the emulator may record names or tuples)."""
    return item if isinstance(item, tuple) else (item,)


async def test_catalogue_name_is_resolved(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A catalogue key resolves to the server's directory name."""
    await hass.async_block_till_done(wait_background_tasks=True)
    before = len(emulator.loads)
    await _call(hass, "load_model", init_integration.entry_id, "qwen2.5-3b")
    assert [model for model, _ in emulator.loads[before:]] == [OTHER_MODEL]


async def test_unknown_model(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A model the server does not have is a validation error."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "load_model", init_integration.entry_id, "no-such-model")
    assert err.value.translation_key == "service_model_not_found"
    assert err.value.translation_placeholders == {"model": "no-such-model"}
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "unload_model", init_integration.entry_id, "no-such-model")
    assert err.value.translation_key == "service_model_not_found"


async def test_entry_not_loaded(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """An unloaded or unknown entry is a validation error."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    for entry_id in (init_integration.entry_id, "not-an-entry"):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "load_model", entry_id, TEST_MODEL)
        assert err.value.translation_key == "service_entry_not_loaded"


@pytest.mark.parametrize(
    ("fault", "translation_key"),
    [
        (Fault.LOAD_FAILURE, "model_load_failed"),
        (Fault.INVALID_MAGIC, "model_version_mismatch"),
    ],
)
async def test_load_failures(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    fault: Fault,
    translation_key: str,
) -> None:
    """A load the server fails is a translated error."""
    await hass.async_block_till_done(wait_background_tasks=True)
    emulator.set_fault(fault)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "load_model", init_integration.entry_id, OTHER_MODEL)
    assert err.value.translation_key == translation_key
    assert err.value.translation_domain == DOMAIN
    assert OTHER_MODEL not in emulator.resident_models()


async def test_server_down(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A refused connection is cannot_connect and marks the server unavailable at once."""
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = init_integration.runtime_data.coordinator
    emulator.set_fault(Fault.REFUSE)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "load_model", init_integration.entry_id, OTHER_MODEL)
    assert err.value.translation_key == "cannot_connect"
    assert str(err.value).startswith("Cannot connect to the rkllama server")
    assert coordinator.last_update_success is False
    emulator.clear_faults()
