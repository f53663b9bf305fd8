"""Actions of rkllm: load a model onto the NPU, or unload it."""

from __future__ import annotations

from collections.abc import Awaitable

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio

from .api import (
    RkllamaError,
    RkllamaModelNotFoundError,
)
from .const import ATTR_CONFIG_ENTRY_ID, ATTR_MODEL, DOMAIN
from .coordinator import RkllmDataUpdateCoordinator
from .errors import error_translation_key
from .pool import ACTION_WAIT
from .pool.repairs import report_model_issue
from .runtime import RkllmConfigEntry

SERVICE_LOAD_MODEL = "load_model"
SERVICE_UNLOAD_MODEL = "unload_model"

SERVICE_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_MODEL): cv.string,
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the rkllm actions (once, from async_setup)."""
    hass.services.async_register(
        DOMAIN, SERVICE_LOAD_MODEL, _async_load_model, schema=SERVICE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_UNLOAD_MODEL, _async_unload_model, schema=SERVICE_SCHEMA
    )


async def _async_load_model(call: ServiceCall) -> None:
    """Load a model onto the server's NPU and keep it resident.

    A single-model server switches only once the answers running on it are finished;
    past ACTION_WAIT the action is refused with a translated "model in use" error.
    """
    entry, model = _target(call)
    pool = entry.runtime_data.pool
    await _async_translated(
        entry, model, pool.async_load_model(entry.entry_id, model, wait=ACTION_WAIT)
    )


async def _async_unload_model(call: ServiceCall) -> None:
    """Unload a model from the server's NPU once its running answers are finished."""
    entry, model = _target(call)
    pool = entry.runtime_data.pool
    await _async_translated(
        entry, model, pool.async_unload_model(entry.entry_id, model, wait=ACTION_WAIT)
    )


def _target(call: ServiceCall) -> tuple[RkllmConfigEntry, str]:
    """Return the call's loaded config entry and its server's name of the model."""
    entry = _loaded_entry(call)
    return entry, _server_model(entry.runtime_data.coordinator, call.data[ATTR_MODEL])


async def _async_translated(entry: RkllmConfigEntry, model: str, action: Awaitable[object]) -> None:
    """Await a pool action; a client error becomes a translated Home Assistant error."""
    try:
        await action
    except RkllamaError as err:
        raise _translate(entry.runtime_data.coordinator, err, model) from err


def _loaded_entry(call: ServiceCall) -> RkllmConfigEntry:
    """Return the call's config entry, which must be loaded."""
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    entry: RkllmConfigEntry | None = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_entry_not_loaded",
            translation_placeholders={"entry_id": entry_id},
        )
    return entry


def _server_model(coordinator: RkllmDataUpdateCoordinator, choice: str) -> str:
    """Return the server's name for `choice`; it must be one of the server's models."""
    name = coordinator.server_model(choice.strip())
    if coordinator.data is None or name not in coordinator.data.model_names:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_model_not_found",
            translation_placeholders={"model": choice},
        )
    return name


def _translate(
    coordinator: RkllmDataUpdateCoordinator, err: RkllamaError, model: str
) -> HomeAssistantError:
    """Return the translated Home Assistant error for a client error."""
    placeholders = {"error": str(err), "model": model}
    if isinstance(err, RkllamaModelNotFoundError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="service_model_not_found",
            translation_placeholders=placeholders,
        )
    coordinator.async_mark_unreachable(err)  # only when the server is gone, not slow
    report_model_issue(coordinator.hass, coordinator.config_entry, model, err)
    key = error_translation_key(err)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )
