"""One mapping from client errors to what Home Assistant shows, says and logs."""

from __future__ import annotations

import logging

from .api import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaDeadlineError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaTaskError,
    RkllamaTimeoutError,
)
from .coordinator import RkllmDataUpdateCoordinator
from .pool import ModelInUseError, PoolBusyError

SPOKEN_PREFIX = "spoken_"
"""Keys of the one-sentence errors Assist says (no placeholders, nothing from the server)."""


def error_translation_key(err: RkllamaError, *, mid_answer: bool = False) -> str:
    """Return the `exceptions.<key>` that explains a client error."""
    if isinstance(err, RkllamaDeadlineError):
        return "turn_timeout"
    if isinstance(err, PoolBusyError):
        return "pool_busy"
    if isinstance(err, ModelInUseError):
        return "model_in_use"
    if isinstance(err, RkllamaTimeoutError):
        return "timeout"
    if isinstance(err, RkllamaConnectionError):
        return "connection_dropped" if mid_answer else "cannot_connect"
    if isinstance(err, RkllamaAuthError):
        return "invalid_auth"
    if isinstance(err, RkllamaModelNotFoundError):
        return "model_not_found"
    if isinstance(err, RkllamaModelLoadError):
        return "model_version_mismatch" if err.version_mismatch else "model_load_failed"
    if isinstance(err, RkllamaBusyError):
        return "server_busy"
    if isinstance(err, RkllamaMalformedResponseError):
        return "invalid_response"
    if isinstance(err, RkllamaTaskError):
        return "task_error"
    return "server_error"


def spoken_key(err: RkllamaError, *, mid_answer: bool) -> str:
    """Return the key of the one short sentence Assist says for a failed answer."""
    return SPOKEN_PREFIX + error_translation_key(err, mid_answer=mid_answer)


def log_failure(logger: logging.Logger, who: str, err: RkllamaError) -> None:
    """Log a failed answer once, with its details (the client removed credentials)."""
    logger.warning("Answer of %s failed (%s): %s", who, type(err).__name__, err)


def report_outage(coordinator: RkllmDataUpdateCoordinator, err: RkllamaError) -> None:
    """Mark the server unavailable at once when a request found it gone (not merely slow)."""
    if isinstance(err, RkllamaConnectionError) and not isinstance(err, RkllamaTimeoutError):
        coordinator.async_mark_unreachable(err)
