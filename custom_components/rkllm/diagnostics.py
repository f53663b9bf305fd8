"""Diagnostics of an rkllm config entry, with secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant

from .api.urls import redacted as redact_url
from .const import CONF_TOKEN
from .runtime import RkllmConfigEntry

TO_REDACT = {CONF_TOKEN}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: RkllmConfigEntry,
) -> dict[str, Any]:
    """Return what helps to debug this server's entry."""
    entry_data = async_redact_data(dict(entry.data), TO_REDACT)
    entry_data[CONF_URL] = redact_url(entry.data[CONF_URL])
    coordinator = entry.runtime_data.coordinator
    state = coordinator.data
    residency = entry.runtime_data.pool.residency(entry.entry_id)
    return {
        "entry": {
            "title": entry.title,
            "data": entry_data,
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "subentries": [
            {
                "subentry_type": subentry.subentry_type,
                "title": subentry.title,
                "data": async_redact_data(dict(subentry.data), TO_REDACT),
            }
            for subentry in entry.subentries.values()
        ],
        "server": asdict(coordinator.server_info),
        "last_update_success": coordinator.last_update_success,
        "models": [asdict(model) for model in state.models] if state else [],
        "loaded": [asdict(model) for model in state.loaded] if state else [],
        "last_inference": (
            asdict(state.last_inference) if state and state.last_inference else None
        ),
        "residency": {
            "single_model": residency.single_model,
            "resident": list(residency.resident),
            "loads": residency.loads,
            "load_seconds": round(residency.load_seconds, 3),
        },
    }
