"""One mapping from client errors to what Home Assistant shows."""

from __future__ import annotations

from .api import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaTimeoutError,
)
from .coordinator import RkllmDataUpdateCoordinator
from .pool import PoolBusyError
from .residency import ModelInUseError


def error_translation_key(err: RkllamaError, *, mid_answer: bool = False) -> str:
    """Return the `exceptions.<key>` that explains a client error."""
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
        return "model_load_failed"
    if isinstance(err, RkllamaBusyError):
        return "server_busy"
    if isinstance(err, RkllamaMalformedResponseError):
        return "invalid_response"
    return "server_error"


def report_outage(coordinator: RkllmDataUpdateCoordinator, err: RkllamaError) -> None:
    """Mark the server unavailable at once when a request found it gone (not merely slow)."""
    if isinstance(err, RkllamaConnectionError) and not isinstance(err, RkllamaTimeoutError):
        coordinator.async_mark_unreachable(err)
