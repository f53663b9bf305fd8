"""Repair issues that tell the user how to fix a model the server cannot use."""

from __future__ import annotations

from homeassistant.helpers import issue_registry as ir

from .api import RkllamaError, RkllamaModelLoadError, RkllamaModelNotFoundError
from .const import DOMAIN
from .coordinator import RkllmDataUpdateCoordinator
from .models import find_known_model

MODELS_DIR = "~/RKLLAMA/models"
ISSUE_RUNTIME_MISMATCH = "model_runtime_mismatch"
ISSUE_MODEL_MISSING = "model_missing"


def _issue_id(kind: str, coordinator: RkllmDataUpdateCoordinator, model: str) -> str:
    return f"{kind}_{coordinator.config_entry.entry_id}_{model}"


def expected_directory(model: str) -> str:
    """Return the directory rkllama looks for `model` in."""
    known = find_known_model(model)
    return f"{MODELS_DIR}/{known.directory if known else model}/"


def report_model_issue(
    coordinator: RkllmDataUpdateCoordinator, model: str, err: RkllamaError
) -> None:
    """Raise a repair issue when `err` says the model must be rebuilt or installed."""
    if isinstance(err, RkllamaModelLoadError) and err.version_mismatch:
        kind = ISSUE_RUNTIME_MISMATCH
    elif isinstance(err, RkllamaModelNotFoundError):
        kind = ISSUE_MODEL_MISSING
    else:
        return
    ir.async_create_issue(
        coordinator.hass,
        DOMAIN,
        _issue_id(kind, coordinator, model),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=kind,
        translation_placeholders={
            "model": model,
            "server": coordinator.config_entry.title,
            "directory": expected_directory(model),
        },
    )


def clear_model_issues(coordinator: RkllmDataUpdateCoordinator, model: str) -> None:
    """Remove the model's issues once it answered."""
    for kind in (ISSUE_RUNTIME_MISMATCH, ISSUE_MODEL_MISSING):
        ir.async_delete_issue(coordinator.hass, DOMAIN, _issue_id(kind, coordinator, model))
