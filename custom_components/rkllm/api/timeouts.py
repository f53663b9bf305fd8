"""Every time limit of the rkllama client, in one place."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long the client waits, in seconds."""

    connect: float = 5.0
    """Opening a TCP connection."""
    request: float = 10.0
    """A short API call (tags, ps, show, version)."""
    load: float = 300.0
    """A model load (upstream waits up to 300 s for its worker)."""
    first_chunk: float = 120.0
    """From sending a chat request to its first line (prefill); a request's own
    `StreamLimits` take its place, and the pool keeps this as their ceiling."""
    idle: float = 60.0
    """Between two lines that carry data; keep-alive blank lines do not count. The ceiling
    of a request's own gap limit."""
    drain: float = 600.0
    """Reading an abandoned answer to its end in the background, in total."""


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """One answer's own limits, in seconds; they take the place of `Timeouts`' for it.

    The caller derives them from what the server should take for this request (its prompt,
    whether the model must load, the server's measured rates).
    """

    first_chunk: float
    """From sending the request to its first line."""
    idle: float
    """Between two lines that carry data."""
    recheck: Callable[[], Coroutine[Any, Any, float]] | None = None
    """Asked, halfway to a late first line, for the seconds to add once (0: none).

    A server that lost the model (its idle timer, another client) loads it again on demand:
    the caller tells that apart from a silent server while the request keeps waiting.
    """
