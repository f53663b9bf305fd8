"""Errors raised by the rkllama client; every one derives from RkllamaError."""

from __future__ import annotations


class RkllamaError(Exception):
    """Base class of every rkllama client error."""


class RkllamaConnectionError(RkllamaError):
    """The server could not be reached, or the connection broke."""


class RkllamaTimeoutError(RkllamaConnectionError):
    """The server did not answer in time (connect, first chunk or idle gap)."""


class RkllamaDeadlineError(RkllamaTimeoutError):
    """The answer ran past the caller's total time bound and was abandoned."""


class RkllamaResponseError(RkllamaError):
    """The server answered with an error status or an unusable body."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        """Keep the HTTP status and an excerpt of the body for diagnostics."""
        super().__init__(message)
        self.status = status
        self.body = body


class RkllamaServerError(RkllamaResponseError):
    """The server reported a failure (HTTP 5xx/4xx or an `error` field)."""


class RkllamaAuthError(RkllamaResponseError):
    """The server (or a reverse proxy in front of it) refused the access token (401/403)."""


class RkllamaMalformedResponseError(RkllamaResponseError):
    """The body was not what rkllama sends (bad JSON, oversized line, wrong shape)."""


class RkllamaModelNotFoundError(RkllamaServerError):
    """The requested model does not exist on the server."""


class RkllamaModelLoadError(RkllamaServerError):
    """The model exists but the server failed to load it onto the NPU."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        version_mismatch: bool = False,
    ) -> None:
        """Also tell whether the runtime refused a model built for another runtime version."""
        super().__init__(message, status=status, body=body)
        self.version_mismatch = version_mismatch


class RkllamaTaskError(RkllamaServerError):
    """The model's worker failed during a generation (`<RKLLM_TASK_ERROR>`)."""


class RkllamaBusyError(RkllamaServerError):
    """The server holds another model and refuses to switch (single-model servers)."""


class RkllamaUnsupportedError(RkllamaError):
    """Something answered, but it is not an rkllama server."""


class RkllamaImagesUnsupportedError(RkllamaError):
    """The request holds images, and the server's API cannot take them (legacy `/generate`)."""
