"""Agent forms refuse NaN, infinite and absurd numbers and unsafe model names, translated."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_MODEL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import (
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_PATIENCE,
    CONF_TEMPERATURE,
    CONF_TURN_TIMEOUT,
)
from custom_components.rkllm.validation import model_name_ok, number_ok

from .conftest import TEST_MODEL

STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components/rkllm/strings.json").read_text("utf-8")
)


CORRECTED: dict[str, Any] = {
    CONF_MODEL: "my-own-model:1b",
    CONF_NUM_CTX: 4096,
    CONF_TEMPERATURE: 0.4,
    CONF_MAX_HISTORY: 6,
    CONF_TURN_TIMEOUT: 120,
}


@pytest.mark.parametrize("subentry_type", ["conversation", "ai_task_data"])
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (CONF_NUM_CTX, math.nan, "invalid_num_ctx"),
        (CONF_NUM_CTX, 4096.5, "invalid_num_ctx"),
        (CONF_TEMPERATURE, math.nan, "invalid_temperature"),
        (CONF_MAX_HISTORY, math.nan, "invalid_max_history"),
        (CONF_TURN_TIMEOUT, math.nan, "invalid_turn_timeout"),
        (CONF_PATIENCE, math.nan, "invalid_patience"),
        (CONF_MODEL, "../../../tmp/x", "invalid_model_name"),
        (CONF_MODEL, "/etc/passwd", "invalid_model_name"),
        (CONF_MODEL, "models/../../x", "invalid_model_name"),
    ],
)
async def test_bad_input_refused_and_nothing_saved(  # noqa: PLR0917 - parametrised
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    subentry_type: str,
    field: str,
    value: Any,
    error: str,
) -> None:
    """The form comes back with a translated error; no subentry is created."""
    before = len(init_integration.subentries)
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    user_input: dict[str, Any] = {CONF_MODEL: TEST_MODEL, field: value}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert STRINGS["config_subentries"][subentry_type]["error"][error]
    assert len(init_integration.subentries) == before
    # Corrected, the same flow goes through.
    user_input[field] = {CONF_MODEL: "my-own-model:1b"}.get(
        field, 4096 if field != CONF_TEMPERATURE else 0.4
    )
    if field == CONF_MAX_HISTORY:
        user_input[field] = 6
    if field == CONF_TURN_TIMEOUT:
        user_input[field] = 120
    if field == CONF_PATIENCE:
        user_input[field] = 2
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(init_integration.subentries) == before + 1


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (2048, True),
        (2048.0, True),
        (math.nan, False),
        (math.inf, False),
        (-math.inf, False),
        (10**9, False),
        ("2048", True),
        ("x", False),
        (True, False),
        (None, False),
    ],
)
def test_number_ok(value: Any, ok: bool) -> None:
    """Finite, within range and whole; NaN, inf, huge, text and booleans are refused."""
    assert number_ok(value, 512, 131072, whole=True) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Qwen2.5-1.5B-Instruct", True),
        ("qwen2.5-3b", True),
        ("my-own-model:1b", True),
        ("hf.co/owner/model", True),
        ("../../../tmp/x", False),
        (".hidden", False),
        ("a b", False),
        ("", False),
        ("x" * 300, False),
    ],
)
def test_model_name_ok(name: str, ok: bool) -> None:
    """Listed, catalogue or safe custom names pass; paths and odd characters do not."""
    assert model_name_ok(name, ["Qwen2.5-1.5B-Instruct"]) is ok
