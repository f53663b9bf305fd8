"""How long a healthy server should take for one answer: its first-word and gap deadlines.

Expected time to the first piece = the server's overhead + the model's load (when it is not
resident) + prompt tokens ÷ prefill rate; the deadline is that times `SAFETY_FACTOR`, at least
`FIRST_WORD_FLOOR`. The gap allowed between two pieces is `GAP_FACTOR` mean gaps (1 ÷ decode
rate), at least `GAP_FLOOR`. A server's own measurements take the place of the defaults once it
has answered (and loaded); an agent's patience multiplies both deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Any

from ..api import StreamLimits, Timeouts
from ..const import CONF_PATIENCE, DEFAULT_PATIENCE, MAX_PATIENCE, MIN_PATIENCE
from ..coordinator import ServerFigures

SAFETY_FACTOR = 2.0
FIRST_WORD_FLOOR = 4.0
"""Seconds: no first-word deadline is shorter."""
RECHECK_TIMEOUT = 1.0
"""Seconds a late first word's check of the server's resident models may take."""
GAP_FACTOR = 10.0
GAP_FLOOR = 5.0
"""Seconds: no gap deadline is shorter."""


@dataclass(frozen=True, slots=True)
class BoardDefaults:
    """What an RK3588 takes before a server has been measured (on the slow side)."""

    overhead: float = 1.0
    prefill_rate: float = 200.0
    decode_rate: float = 4.0
    load_seconds: float = 30.0


DEFAULTS = BoardDefaults()


def expected_first_word(figures: ServerFigures, prompt_tokens: int, *, loads: bool) -> float:
    """Return the seconds a healthy server takes to its first piece."""
    overhead = figures.overhead if figures.overhead is not None else DEFAULTS.overhead
    prefill_rate = figures.prefill_rate or DEFAULTS.prefill_rate
    load = (figures.load_seconds or DEFAULTS.load_seconds) if loads else 0.0
    return overhead + load + max(0, prompt_tokens) / prefill_rate


def stream_limits(
    figures: ServerFigures,
    timeouts: Timeouts,
    prompt_tokens: int,
    *,
    loads: bool,
    patience: float = DEFAULT_PATIENCE,
) -> StreamLimits:
    """Return one answer's first-word and gap deadlines.

    The client's own limits (plus its load limit when the model loads first) stay the
    ceiling; the agent's patience lifts them too.
    """
    first = SAFETY_FACTOR * expected_first_word(figures, prompt_tokens, loads=loads)
    ceiling = timeouts.first_chunk + (timeouts.load if loads else 0.0)
    decode_rate = figures.decode_rate or DEFAULTS.decode_rate
    gap = GAP_FACTOR / decode_rate
    return StreamLimits(
        first_chunk=patience * min(max(first, FIRST_WORD_FLOOR), ceiling),
        idle=patience * min(max(gap, GAP_FLOOR), timeouts.idle),
    )


def load_allowance(figures: ServerFigures) -> float:
    """Return the seconds a healthy server may take to load a model, with the safety factor."""
    return SAFETY_FACTOR * (figures.load_seconds or DEFAULTS.load_seconds)


def patience_of(settings: Mapping[str, Any]) -> float:
    """Return an agent's patience with a slow server (a bad stored value gives the default)."""
    try:
        patience = float(settings.get(CONF_PATIENCE, DEFAULT_PATIENCE))
    except TypeError, ValueError:
        return DEFAULT_PATIENCE
    if not math.isfinite(patience):
        return DEFAULT_PATIENCE
    return min(max(patience, MIN_PATIENCE), MAX_PATIENCE)
