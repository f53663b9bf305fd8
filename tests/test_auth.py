"""An rkllama server behind a reverse proxy that wants an access token."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import RkllamaAuthError, RkllamaClient
from custom_components.rkllm.const import CONF_TOKEN, DOMAIN
from rkllama_emulator import EmulatorConfig, RkllamaEmulator

TOKEN = "proxy-secret"

pytestmark = pytest.mark.usefixtures("setup_ha")


@pytest.fixture
def emulator_config(emulator_config: EmulatorConfig) -> EmulatorConfig:
    """Put the emulator behind a token-checking proxy."""
    return replace(emulator_config, proxy_token=TOKEN)


async def test_client_reports_refused_token(emulator: RkllamaEmulator) -> None:
    """401 from the proxy is an auth error, not 'not rkllama'."""
    async with RkllamaClient(emulator.url, token="wrong") as client:
        with pytest.raises(RkllamaAuthError) as err:
            await client.detect()
    assert err.value.status == 401
    async with RkllamaClient(emulator.url, token=TOKEN) as client:
        assert (await client.detect()).message


async def test_user_flow_wrong_then_right_token(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """A refused token gives `invalid_auth`; the right one creates the entry with it."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url, CONF_TOKEN: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url, CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: emulator.url, CONF_TOKEN: TOKEN}
    await hass.async_block_till_done()


async def test_refused_token_starts_reauth(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """Setup with a stale token fails with a reauth flow; a new token brings it back."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="rkllama",
        data={CONF_URL: emulator.url, CONF_TOKEN: "stale"},
        unique_id=emulator.url,
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    flow_id = flows[0]["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_TOKEN: "still-wrong"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_TOKEN] == TOKEN
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)
