"""Checks of what users type into the agent forms and actions: numbers and model names."""

from __future__ import annotations

from collections.abc import Collection, Mapping
import math
import re
from typing import Any

from homeassistant.const import CONF_MODEL

from .const import (
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_PATIENCE,
    CONF_TEMPERATURE,
    CONF_TURN_TIMEOUT,
    MAX_MAX_HISTORY,
    MAX_NUM_CTX,
    MAX_PATIENCE,
    MAX_TEMPERATURE,
    MAX_TURN_TIMEOUT,
    MIN_MAX_HISTORY,
    MIN_NUM_CTX,
    MIN_PATIENCE,
    MIN_TEMPERATURE,
    MIN_TURN_TIMEOUT,
)
from .models import find_known_model

# A custom model name: path segments of letters, digits and ._:+- that never start with a dot,
# so `..`, absolute paths and hidden directories are refused.
_MODEL_NAME = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}(?:/[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}){0,2}"
)

NUMBER_LIMITS: dict[str, tuple[float, float, bool]] = {
    CONF_NUM_CTX: (MIN_NUM_CTX, MAX_NUM_CTX, True),
    CONF_MAX_HISTORY: (MIN_MAX_HISTORY, MAX_MAX_HISTORY, True),
    CONF_TEMPERATURE: (MIN_TEMPERATURE, MAX_TEMPERATURE, False),
    CONF_TURN_TIMEOUT: (MIN_TURN_TIMEOUT, MAX_TURN_TIMEOUT, False),
    CONF_PATIENCE: (MIN_PATIENCE, MAX_PATIENCE, False),
}
"""Field: (lowest, highest, whole numbers only)."""


def number_ok(value: Any, low: float, high: float, *, whole: bool) -> bool:
    """Return True for a finite number within [low, high] (whole when asked)."""
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except TypeError, ValueError, OverflowError:
        return False
    if not math.isfinite(number) or not low <= number <= high:
        return False
    return not whole or number.is_integer()


def model_name_ok(name: str, server_models: Collection[str]) -> bool:
    """Return True for a model the server lists, a catalogue model, or a safe custom name."""
    if name in server_models or find_known_model(name) is not None:
        return True
    return _MODEL_NAME.fullmatch(name) is not None


def subentry_errors(
    user_input: Mapping[str, Any], server_models: Collection[str]
) -> dict[str, str]:
    """Return form errors for an agent's settings (empty when they are usable)."""
    errors: dict[str, str] = {}
    model = str(user_input.get(CONF_MODEL) or "").strip()
    if not model_name_ok(model, server_models):
        errors[CONF_MODEL] = "invalid_model_name"
    for key, (low, high, whole) in NUMBER_LIMITS.items():
        value = user_input.get(key)
        if value is not None and not number_ok(value, low, high, whole=whole):
            errors[key] = f"invalid_{key}"
    return errors
