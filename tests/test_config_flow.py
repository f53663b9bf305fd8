"""Config flow and subentry flows of rkllm, against the real emulator."""

from __future__ import annotations

import math
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_NAME, CONF_PROMPT, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.rkllm.api.urls import (
    ENV_SERVER_HOST,
    ENV_SERVER_PORT,
    InvalidServerUrlError,
    default_server_url,
    host_and_port,
    normalize_url,
)
from custom_components.rkllm.config_flow import RkllmConfigFlow
from custom_components.rkllm.const import (
    CONF_BOARDS,
    CONF_ENTITIES_IN_PROMPT,
    CONF_KEEP_LOADED,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_QUICK_CONFIRMATION,
    CONF_SHOW_THINKING,
    CONF_TEMPERATURE,
    CONF_THINK,
    CONF_TOKEN,
    DOMAIN,
    ENTITIES_ALL,
    ENTITIES_RELEVANT,
)
from rkllama_emulator import EmulatorConfig, Fault, RkllamaEmulator

from .conftest import REASONING_MODEL, TEST_MODEL

pytestmark = pytest.mark.usefixtures("setup_ha")


def _hostport(emulator: RkllamaEmulator) -> str:
    """Return `127.0.0.1:<port>` of the emulator."""
    url = URL(emulator.url)
    return f"{url.host}:{url.port}"


def _suggested(result: dict[str, Any], key: str) -> Any:
    """Return the suggested value of a form field."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def _select_options(result: dict[str, Any], key: str) -> list[dict[str, str]]:
    """Return the options of a select field."""
    for marker, selector in result["data_schema"].schema.items():
        if marker == key:
            return list(selector.config["options"])
    raise KeyError(key)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    "address",
    ["{hostport}", "http://{hostport}", "http://{hostport}/", "  HTTP://{hostport}  "],
)
async def test_user_flow(
    hass: HomeAssistant, emulator: RkllamaEmulator, mock_setup_entry: AsyncMock, address: str
) -> None:
    """Each way to write the address gives one normalised URL."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] is None or result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: address.format(hostport=_hostport(emulator))}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"rkllama ({_hostport(emulator)})"
    assert result["data"] == {CONF_URL: f"http://{_hostport(emulator)}"}
    assert result["result"].unique_id == f"http://{_hostport(emulator)}"
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_with_token(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """A token is stored, stripped; it is not part of the title or unique id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url, CONF_TOKEN: " s3cret "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: f"http://{_hostport(emulator)}", CONF_TOKEN: "s3cret"}
    assert "s3cret" not in result["title"]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.REFUSE, "cannot_connect"),
        (Fault.NOT_RKLLAMA, "not_rkllama"),
    ],
)
async def test_user_flow_server_errors(
    hass: HomeAssistant,
    emulator: RkllamaEmulator,
    mock_setup_entry: AsyncMock,
    fault: Fault,
    error: str,
) -> None:
    """A failing probe shows the error, keeps the input, and the same flow recovers."""
    emulator.set_fault(fault)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: _hostport(emulator), CONF_TOKEN: "abc"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert _suggested(result, CONF_URL) == _hostport(emulator)
    assert _suggested(result, CONF_TOKEN) == "abc"

    emulator.clear_faults()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: _hostport(emulator)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_nothing_listening(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """A port where nothing listens is cannot_connect."""
    port = URL(emulator.url).port
    await emulator.stop()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"127.0.0.1:{port}"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    "address", ["ftp://{hostport}", "127.0.0.1:notaport", "http://", "bad host", "127.0.0.1:99999"]
)
async def test_user_flow_invalid_url(
    hass: HomeAssistant, emulator: RkllamaEmulator, address: str
) -> None:
    """Unusable addresses are invalid_url; then a good one is accepted."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: address.format(hostport=_hostport(emulator))}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_url"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_credentials_and_token(
    hass: HomeAssistant, emulator: RkllamaEmulator
) -> None:
    """URL credentials (basic auth) and a bearer token cannot be combined."""
    with_credentials = emulator.url.replace("http://", "http://user:pw@")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: with_credentials, CONF_TOKEN: "abc"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "token_with_credentials"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: with_credentials}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: with_credentials}
    assert result["title"] == f"rkllama ({_hostport(emulator)})"
    assert result["result"].unique_id == emulator.url


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_already_configured(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """The same server written differently is still one entry."""
    MockConfigEntry(
        domain=DOMAIN,
        data={CONF_URL: f"http://{_hostport(emulator)}"},
        unique_id=f"http://{_hostport(emulator)}",
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: _hostport(emulator)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_form_default_url(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The form suggests localhost:8080, or the address from the environment."""
    monkeypatch.delenv(ENV_SERVER_HOST, raising=False)
    monkeypatch.delenv(ENV_SERVER_PORT, raising=False)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert _suggested(result, CONF_URL) == "http://localhost:8080"

    monkeypatch.setenv(ENV_SERVER_HOST, "rock5b.local")
    monkeypatch.setenv(ENV_SERVER_PORT, "8081")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert _suggested(result, CONF_URL) == "http://rock5b.local:8081"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("", "", "http://localhost:8080"),
        ("rock5b", "", "http://rock5b:8080"),
        ("", "9000", "http://localhost:9000"),
        ("https://llm.example.com", "", "https://llm.example.com"),
        ("https://llm.example.com", "8443", "https://llm.example.com:8443"),
        ("rock5b:8000", "9000", "http://rock5b:8000"),
        ("rock5b", "x", "http://localhost:8080"),
        ("not a host", "", "http://localhost:8080"),
        ("rock5b", "99999", "http://localhost:8080"),
        ("  [fd00::20]  ", " 8081 ", "http://[fd00::20]:8081"),
    ],
)
def test_default_server_url(
    monkeypatch: pytest.MonkeyPatch, host: str, port: str, expected: str
) -> None:
    """The environment's host and port make the suggested URL."""
    monkeypatch.setenv(ENV_SERVER_HOST, host)
    monkeypatch.setenv(ENV_SERVER_PORT, port)
    assert default_server_url() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rock5b", "http://rock5b:8080"),
        ("Rock5B.local:8081", "http://rock5b.local:8081"),
        ("192.168.1.20", "http://192.168.1.20:8080"),
        ("[fd00::20]:8080", "http://[fd00::20]:8080"),
        ("http://rock5b", "http://rock5b:8080"),
        ("https://llm.example.com", "https://llm.example.com"),
        ("https://llm.example.com/rkllama/", "https://llm.example.com/rkllama"),
        ("http://user:pw@rock5b:8080/?x=1#y", "http://user:pw@rock5b:8080"),
    ],
)
def test_normalize_url(text: str, expected: str) -> None:
    """Host, host:port and URLs become one canonical URL."""
    assert normalize_url(text) == expected


@pytest.mark.parametrize("text", ["", " ", "ftp://rock5b", "rock5b:x", "-rock5b", "a b:80"])
def test_normalize_url_invalid(text: str) -> None:
    """Unusable text is rejected."""
    with pytest.raises(InvalidServerUrlError):
        normalize_url(text)


async def test_reconfigure(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator_config: EmulatorConfig,
) -> None:
    """Reconfigure moves the entry to another server and reloads it."""
    other = RkllamaEmulator(emulator_config)
    await other.start()
    try:
        result = await init_integration.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert _suggested(result, CONF_URL) == init_integration.data[CONF_URL]

        other.set_fault(Fault.REFUSE)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: _hostport(other), CONF_TOKEN: "t0ken"}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "cannot_connect"}

        other.clear_faults()
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: _hostport(other), CONF_TOKEN: "t0ken"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()

        new_url = f"http://{_hostport(other)}"
        assert dict(init_integration.data) == {CONF_URL: new_url, CONF_TOKEN: "t0ken"}
        assert init_integration.unique_id == new_url
        assert init_integration.title == f"rkllama ({_hostport(other)})"
        assert init_integration.state is ConfigEntryState.LOADED
        assert init_integration.runtime_data.coordinator.client.base_url == new_url

        # Clearing the token removes it.
        result = await init_integration.start_reconfigure_flow(hass)
        assert _suggested(result, CONF_TOKEN) == "t0ken"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: new_url, CONF_TOKEN: ""}
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert dict(init_integration.data) == {CONF_URL: new_url}
        assert init_integration.state is ConfigEntryState.LOADED
    finally:
        await hass.config_entries.async_unload(init_integration.entry_id)
        await other.stop()


async def test_reconfigure_while_not_loaded(hass: HomeAssistant, emulator: RkllamaEmulator) -> None:
    """An entry in setup retry is reloaded at once with its corrected address."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_URL: "http://127.0.0.1:9"}, unique_id="http://127.0.0.1:9"
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_invalid_and_duplicate(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reconfigure reports a bad address and refuses another entry's server."""
    MockConfigEntry(
        domain=DOMAIN, data={CONF_URL: "http://10.0.0.9:8080"}, unique_id="http://10.0.0.9:8080"
    ).add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "ftp://x"}
    )
    assert result["errors"] == {"base": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "10.0.0.9"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("subentry_type", ["conversation", "ai_task_data"])
async def test_subentry_create_and_reconfigure(
    hass: HomeAssistant, init_integration: MockConfigEntry, subentry_type: str
) -> None:
    """Agents are created with the model's friendly name and can be reconfigured."""
    entry = init_integration
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "set_options"

    options = _select_options(result, CONF_MODEL)
    values = [option["value"] for option in options]
    server_models = entry.runtime_data.coordinator.data.model_names
    assert values[: len(server_models)] == sorted(server_models)
    labels = {option["value"]: option["label"] for option in options}
    assert labels[TEST_MODEL] == "Qwen2.5 1.5B Instruct"
    assert labels[REASONING_MODEL] == "DeepSeek-R1 1.5B (reasoning)"
    assert _suggested(result, CONF_NUM_CTX) == 4096
    if subentry_type == "conversation":
        assert _suggested(result, CONF_LLM_HASS_API) == [llm.LLM_API_ASSIST]
        assert _suggested(result, CONF_PROMPT) == llm.DEFAULT_INSTRUCTIONS_PROMPT
        assert _suggested(result, CONF_ENTITIES_IN_PROMPT) == ENTITIES_RELEVANT
        assert _suggested(result, CONF_QUICK_CONFIRMATION) is True
    else:
        for key in (CONF_PROMPT, CONF_LLM_HASS_API, CONF_ENTITIES_IN_PROMPT):
            assert key not in result["data_schema"].schema

    user_input: dict[str, Any] = {
        CONF_MODEL: REASONING_MODEL,
        CONF_MAX_HISTORY: 6.0,
        CONF_NUM_CTX: 2048.0,
        CONF_TEMPERATURE: 0.3,
        CONF_KEEP_LOADED: False,
        CONF_SHOW_THINKING: True,
        CONF_THINK: True,
    }
    if subentry_type == "conversation":
        user_input |= {
            CONF_PROMPT: "Be brief.",
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            CONF_ENTITIES_IN_PROMPT: ENTITIES_ALL,
            CONF_QUICK_CONFIRMATION: False,
        }
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "DeepSeek-R1 1.5B (reasoning)"
    expected = {
        CONF_MODEL: REASONING_MODEL,
        CONF_MAX_HISTORY: 6,
        CONF_NUM_CTX: 2048,
        CONF_TEMPERATURE: 0.3,
        CONF_KEEP_LOADED: False,
        CONF_SHOW_THINKING: True,
        CONF_THINK: True,
    }
    if subentry_type == "conversation":
        expected |= {
            CONF_PROMPT: "Be brief.",
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            CONF_ENTITIES_IN_PROMPT: ENTITIES_ALL,
            CONF_QUICK_CONFIRMATION: False,
        }
    assert result["data"] == expected
    assert isinstance(result["data"][CONF_NUM_CTX], int)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    subentry = next(
        sub
        for sub in entry.subentries.values()
        if sub.title == "DeepSeek-R1 1.5B (reasoning)" and sub.subentry_type == subentry_type
    )
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert CONF_NAME not in result["data_schema"].schema
    assert _suggested(result, CONF_MODEL) == REASONING_MODEL
    assert _suggested(result, CONF_NUM_CTX) == 2048
    assert _suggested(result, CONF_SHOW_THINKING) is True
    assert _suggested(result, CONF_THINK) is True

    changed = {**user_input, CONF_MODEL: TEST_MODEL, CONF_SHOW_THINKING: False}
    if subentry_type == "conversation":
        changed[CONF_LLM_HASS_API] = []
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], changed)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries[subentry.subentry_id].data
    assert data[CONF_MODEL] == TEST_MODEL
    assert data[CONF_SHOW_THINKING] is False
    assert CONF_LLM_HASS_API not in data
    assert entry.subentries[subentry.subentry_id].title == "DeepSeek-R1 1.5B (reasoning)"


async def test_subentry_custom_name_and_model(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A given name wins; a custom model name is accepted."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "conversation"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Living room", CONF_MODEL: "my-own-model:1b"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Living room"
    assert result["data"][CONF_MODEL] == "my-own-model:1b"
    await hass.async_block_till_done()

    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "ai_task_data"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "my-own-model:1b"}
    )
    assert result["title"] == "my-own-model:1b"


async def test_subentry_stale_llm_api_filtered(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """LLM API ids that no longer exist are not suggested again."""
    subentry = next(
        sub for sub in init_integration.subentries.values() if sub.subentry_type == "conversation"
    )
    hass.config_entries.async_update_subentry(
        init_integration,
        subentry,
        data={**subentry.data, CONF_LLM_HASS_API: ["gone_api", llm.LLM_API_ASSIST]},
    )
    await hass.async_block_till_done()
    result = await init_integration.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert _suggested(result, CONF_LLM_HASS_API) == [llm.LLM_API_ASSIST]


@pytest.mark.parametrize("subentry_type", ["conversation", "ai_task_data"])
async def test_subentry_parent_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, subentry_type: str
) -> None:
    """Agents cannot be added while the server entry is not loaded."""
    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_subentry_server_down(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """While the server is unreachable the model list is unknown: abort cannot_connect."""
    emulator.set_fault(Fault.REFUSE)
    await init_integration.runtime_data.coordinator.async_refresh()
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "conversation"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"
    emulator.clear_faults()


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(("boards", "stored"), [(3, 3), (1, None), (2.6, 3), (math.nan, None)])
async def test_user_flow_boards(
    hass: HomeAssistant, emulator: RkllamaEmulator, boards: float, stored: int | None
) -> None:
    """Boards are stored as a whole number, only when not the one-server default."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: emulator.url, CONF_BOARDS: boards}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"].get(CONF_BOARDS) == stored


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://rock5b:8080", "rock5b:8080"),
        ("https://user:pw@llm.example.com/rkllama", "llm.example.com:443"),
        ("http://[fd00::20]:8081", "[fd00::20]:8081"),
    ],
)
def test_host_and_port(url: str, expected: str) -> None:
    """The entry title names host and port, never credentials."""
    assert host_and_port(url) == expected


async def test_insecure_token_step_without_a_server(hass: HomeAssistant) -> None:
    """Reached with nothing to confirm, the step asks for the server again."""
    flow = RkllmConfigFlow()
    flow.hass = hass
    flow.context = {"source": SOURCE_USER}
    flow.handler = DOMAIN
    result = await flow.async_step_insecure_token()
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"


async def test_reauth_empty_token_removes_it(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A server that no longer asks for a token: an empty token is dropped from the entry."""
    hass.config_entries.async_update_entry(
        init_integration, data={**init_integration.data, CONF_TOKEN: "old"}
    )
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert set(result["data_schema"].schema) == {CONF_TOKEN}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOKEN: " "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert CONF_TOKEN not in init_integration.data


async def test_subentry_errors_keep_the_prompt_preview(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A refused conversation form still shows the preview (without the refused model)."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "conversation"), context={"source": SOURCE_USER}
    )
    shown = result["description_placeholders"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "../../../tmp/x", CONF_NUM_CTX: 4096.5}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MODEL: "invalid_model_name", CONF_NUM_CTX: "invalid_num_ctx"}
    assert result["description_placeholders"] == shown
    assert _suggested(result, CONF_MODEL) == "../../../tmp/x"
