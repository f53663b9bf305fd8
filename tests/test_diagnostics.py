"""Diagnostics of an rkllm entry."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
from yarl import URL

from custom_components.rkllm.const import CONF_TOKEN, DOMAIN
from custom_components.rkllm.diagnostics import redact_url
from rkllama_emulator import RkllamaEmulator

from .conftest import TEST_MODEL, answer_stats

DYNAMIC = (
    "loaded_at",
    "expires_at",
    "last_call",
    "finished_at",
    "load_seconds",
    "time_to_first_token",
    "response_time",
    "tokens_per_second",
)


def _stable(data: dict[str, Any], emulator: RkllamaEmulator) -> dict[str, Any]:
    """Replace the emulator's random port so the snapshot is stable."""
    url = URL(emulator.url)
    host = f"{url.host}:{url.port}"
    stable: dict[str, Any] = json.loads(json.dumps(data).replace(host, "127.0.0.1:PORT"))
    return stable


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show the server, models, residency and the last answer."""
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = init_integration.runtime_data.coordinator
    stats = await answer_stats(coordinator.client, "hello")
    coordinator.async_record_inference(TEST_MODEL, stats)
    await coordinator.async_refresh()

    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert _stable(result, emulator) == snapshot(exclude=props(*DYNAMIC))


@pytest.mark.usefixtures("setup_ha")
@pytest.mark.parametrize(
    ("credentials", "token"),
    [("admin:hunter2@", None), ("", "t0ps3cret")],
)
async def test_diagnostics_redacts_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: RkllamaEmulator,
    credentials: str,
    token: str | None,
) -> None:
    """Tokens and URL credentials never appear in diagnostics."""
    data = {CONF_URL: emulator.url.replace("http://", f"http://{credentials}")}
    if token:
        data[CONF_TOKEN] = token
    entry = MockConfigEntry(domain=DOMAIN, data=data, title="rkllama")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(result)
    for secret in ("hunter2", "admin", "t0ps3cret"):
        assert secret not in text
    if token:
        assert result["entry"]["data"][CONF_TOKEN] == REDACTED
        assert result["entry"]["data"][CONF_URL] == emulator.url
    else:
        assert result["entry"]["data"][CONF_URL] == emulator.url.replace(
            "http://", f"http://{REDACTED}@"
        )
    await hass.config_entries.async_unload(entry.entry_id)


def test_redact_url() -> None:
    """Only URLs with credentials change."""
    assert redact_url("http://h:8080") == "http://h:8080"
    assert redact_url("http://u:p@h:8080/x") == f"http://{REDACTED}@h:8080/x"
    assert redact_url("http://u@h:8080") == f"http://{REDACTED}@h:8080"
