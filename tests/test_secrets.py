"""Credentials in the server address and access tokens never reach any output."""

from __future__ import annotations

import logging
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_MODEL, CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.rkllm.api import RkllamaClient, RkllamaError
from custom_components.rkllm.api.urls import (
    has_credentials,
    token_travels_in_clear,
    without_credentials,
    without_credentials_text,
)
from custom_components.rkllm.const import CONF_TOKEN, DOMAIN
from rkllama_emulator import Fault, RkllamaEmulator

from .conftest import TEST_MODEL, assert_speakable, say, speech

PASSWORD = "S3cret-Pass-99"
USER = "ada-lovelace"
TOKEN = "tok-abcdef-123456"
SECRETS = (PASSWORD, USER, TOKEN)


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


@pytest.fixture
def mock_config_entry(hass: HomeAssistant, emulator: RkllamaEmulator) -> MockConfigEntry:
    """Return an entry whose address carries a user name and password."""
    url = str(URL(emulator.url).with_user(USER).with_password(PASSWORD))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="rkllama",
        data={CONF_URL: url},
        unique_id=without_credentials(url),
        subentries_data=[
            {
                "data": {CONF_MODEL: TEST_MODEL},
                "subentry_type": "conversation",
                "title": "Kitchen assistant",
                "unique_id": None,
            },
        ],
    )
    entry.add_to_hass(hass)
    return entry


@pytest.mark.parametrize("fault", [Fault.REFUSE, Fault.DROP_MID_STREAM, Fault.HTTP_500])
async def test_no_secret_in_speech_or_log(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: RkllamaEmulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    """A failed turn says a sentence and logs details, never the address's credentials."""
    caplog.set_level(logging.DEBUG)
    emulator.set_fault(fault, times=1)
    result = await say(hass, init_integration, "Write a Python function to check primes.")
    assert_speakable(speech(result), SECRETS)
    emulator.clear_faults()
    assert "Answer of" in caplog.text  # the details were logged
    _no_secret(caplog.text)
    _no_secret(repr(init_integration.runtime_data.coordinator.client))


async def test_no_secret_in_diagnostics(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics show the address with its user-info redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    _no_secret(str(diagnostics))


async def test_client_repr_and_errors_hide_token_and_password(
    emulator: RkllamaEmulator,
) -> None:
    """`repr()` and error texts of the client carry neither the token nor the password."""
    url = str(URL(emulator.url).with_user(USER).with_password(PASSWORD))
    emulator.set_fault(Fault.REFUSE)
    async with RkllamaClient(url, token=TOKEN) as client:
        _no_secret(repr(client))
        with pytest.raises(RkllamaError) as caught:
            await client.detect()
    _no_secret(str(caught.value))
    _no_secret(repr(caught.value))
    emulator.clear_faults()


def test_url_helpers() -> None:
    """One module strips credentials from URLs and from free text, and spots clear-text tokens."""
    url = f"http://{USER}:{PASSWORD}@board.example.com:8080"
    assert has_credentials(url)
    assert without_credentials(url) == "http://board.example.com:8080"
    text = f"cannot reach {url}/api/chat; header Authorization: Bearer {TOKEN}"
    _no_secret(without_credentials_text(text))
    assert token_travels_in_clear("http://board.example.com:8080")
    assert not token_travels_in_clear("https://board.example.com")
    assert not token_travels_in_clear("http://192.168.1.20:8080")
    assert not token_travels_in_clear("http://localhost:8080")


async def test_reauth_with_credentials_in_address(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reauthentication of an address with user-info asks for user name and password."""
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert set(result["data_schema"].schema) == {CONF_USERNAME, CONF_PASSWORD}
    _no_secret(str(result.get("description_placeholders")))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USER, CONF_PASSWORD: "new-pass-4711"}
    )
    assert result["type"] == "abort"
    assert result["reason"] == "reauth_successful"
    url = URL(init_integration.data[CONF_URL])
    assert (url.user, url.password) == (USER, "new-pass-4711")


@pytest.mark.usefixtures("setup_ha")
async def test_token_over_plain_http_is_warned(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """A token that would cross a network unencrypted needs a confirmation first."""
    with patch("custom_components.rkllm.config_flow.token_travels_in_clear", return_value=True):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: emulator.url, CONF_TOKEN: TOKEN}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "insecure_token"
        _no_secret(str(result.get("description_placeholders")))
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TOKEN] == TOKEN
