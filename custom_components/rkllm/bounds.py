"""The bounds of one turn: a total time limit and a maximum answer length."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import math
from typing import Any

from .const import (
    ANSWER_TOKEN_RESERVE,
    CONF_TURN_TIMEOUT,
    DEFAULT_TURN_TIMEOUT,
    MAX_TURN_TIMEOUT,
    MIN_TURN_TIMEOUT,
)

MAX_ANSWER_TOKENS = ANSWER_TOKEN_RESERVE
"""`num_predict` of every answer: the room the history budget keeps free for it."""


def turn_seconds(settings: Mapping[str, Any]) -> float:
    """Return the agent's time limit for one turn (a bad stored value gives the default)."""
    try:
        seconds = float(settings.get(CONF_TURN_TIMEOUT, DEFAULT_TURN_TIMEOUT))
    except TypeError, ValueError:
        return float(DEFAULT_TURN_TIMEOUT)
    if not math.isfinite(seconds):
        return float(DEFAULT_TURN_TIMEOUT)
    return min(max(seconds, MIN_TURN_TIMEOUT), MAX_TURN_TIMEOUT)


def turn_deadline(settings: Mapping[str, Any]) -> float:
    """Return the event-loop time by which the turn must end."""
    return asyncio.get_running_loop().time() + turn_seconds(settings)
