"""Client errors map to one translated explanation each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.rkllm.api import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaDeadlineError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaServerError,
    RkllamaTaskError,
    RkllamaTimeoutError,
)
from custom_components.rkllm.errors import error_translation_key
from custom_components.rkllm.pool import ModelInUseError, PoolBusyError

STRINGS = Path(__file__).parents[1] / "custom_components/rkllm/strings.json"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No `hass` needed here."""


@pytest.mark.parametrize(
    ("error", "mid_answer", "key"),
    [
        (RkllamaTimeoutError("t"), False, "timeout"),
        (RkllamaTimeoutError("t"), True, "timeout"),
        (RkllamaDeadlineError("d"), True, "turn_timeout"),
        (PoolBusyError("p"), False, "pool_busy"),
        (ModelInUseError("u"), False, "model_in_use"),
        (RkllamaConnectionError("c"), False, "cannot_connect"),
        (RkllamaConnectionError("c"), True, "connection_dropped"),
        (RkllamaAuthError("a", status=401), False, "invalid_auth"),
        (RkllamaModelNotFoundError("m"), False, "model_not_found"),
        (RkllamaModelLoadError("l"), False, "model_load_failed"),
        (RkllamaModelLoadError("l", version_mismatch=True), True, "model_version_mismatch"),
        (RkllamaTaskError("k"), True, "task_error"),
        (RkllamaBusyError("b"), False, "server_busy"),
        (RkllamaMalformedResponseError("x"), True, "invalid_response"),
        (RkllamaServerError("s", status=500), False, "server_error"),
    ],
)
def test_error_translation_key(error: RkllamaError, mid_answer: bool, key: str) -> None:
    """Each client error has its key, and the key has a message in strings.json."""
    assert error_translation_key(error, mid_answer=mid_answer) == key
    exceptions = json.loads(STRINGS.read_text(encoding="utf-8"))["exceptions"]
    assert exceptions[key]["message"]
