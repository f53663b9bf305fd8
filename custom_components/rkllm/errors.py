"""One mapping from client errors to what Home Assistant shows, says and logs."""

from __future__ import annotations

import logging

from .api import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaDeadlineError,
    RkllamaError,
    RkllamaImagesUnsupportedError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaTaskError,
    RkllamaTimeoutError,
)
from .pool import ModelInUseError, PoolBusyError

SPOKEN_PREFIX = "spoken_"
"""Keys of the one-sentence errors Assist says (no placeholders, nothing from the server)."""


_KEYS: tuple[tuple[type[RkllamaError], str], ...] = (
    # Most specific first: a deadline is a timeout, a timeout a connection error.
    (RkllamaDeadlineError, "turn_timeout"),
    (PoolBusyError, "pool_busy"),
    (ModelInUseError, "model_in_use"),
    (RkllamaTimeoutError, "timeout"),
    (RkllamaConnectionError, "cannot_connect"),
    (RkllamaAuthError, "invalid_auth"),
    (RkllamaModelNotFoundError, "model_not_found"),
    (RkllamaModelLoadError, "model_load_failed"),
    (RkllamaBusyError, "server_busy"),
    (RkllamaMalformedResponseError, "invalid_response"),
    (RkllamaTaskError, "task_error"),
    (RkllamaImagesUnsupportedError, "images_unsupported"),
)
"""Client error class: the `exceptions.<key>` that explains it; others are server_error."""


def error_translation_key(err: RkllamaError, *, mid_answer: bool = False) -> str:
    """Return the `exceptions.<key>` that explains a client error."""
    key = next((key for kind, key in _KEYS if isinstance(err, kind)), "server_error")
    if key == "cannot_connect" and mid_answer:
        return "connection_dropped"
    if isinstance(err, RkllamaModelLoadError) and err.version_mismatch:
        return "model_version_mismatch"
    return key


def spoken_key(err: RkllamaError, *, mid_answer: bool) -> str:
    """Return the key of the one short sentence Assist says for a failed answer."""
    return SPOKEN_PREFIX + error_translation_key(err, mid_answer=mid_answer)


def log_failure(logger: logging.Logger, who: str, err: RkllamaError) -> None:
    """Log a failed answer once, with its details (the client removed credentials)."""
    logger.warning("Answer of %s failed (%s): %s", who, type(err).__name__, err)
