"""Repair issues that tell the user how to fix a model the server cannot use."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from ..api import RkllamaError, RkllamaModelLoadError, RkllamaModelNotFoundError
from ..const import DOMAIN
from ..models import find_known_model

MODELS_DIR = "~/RKLLAMA/models"
ISSUE_RUNTIME_MISMATCH = "model_runtime_mismatch"
ISSUE_MODEL_MISSING = "model_missing"

RAISED_ISSUES: HassKey[set[str]] = HassKey(f"{DOMAIN}_raised_issues")
"""Ids of the issues raised since Home Assistant started (they are not persistent)."""


def _issue_id(kind: str, entry: ConfigEntry, model: str) -> str:
    return f"{kind}_{entry.entry_id}_{model}"


def expected_directory(model: str) -> str:
    """Return the directory rkllama looks for `model` in."""
    known = find_known_model(model)
    return f"{MODELS_DIR}/{known.directory if known else model}/"


def report_model_issue(
    hass: HomeAssistant, entry: ConfigEntry, model: str, err: RkllamaError
) -> None:
    """Raise a repair issue when `err` says the model must be rebuilt or installed."""
    if isinstance(err, RkllamaModelLoadError) and err.version_mismatch:
        kind = ISSUE_RUNTIME_MISMATCH
    elif isinstance(err, RkllamaModelNotFoundError):
        kind = ISSUE_MODEL_MISSING
    else:
        return
    issue_id = _issue_id(kind, entry, model)
    hass.data.setdefault(RAISED_ISSUES, set()).add(issue_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=kind,
        translation_placeholders={
            "model": model,
            "server": entry.title,
            "directory": expected_directory(model),
        },
    )


def clear_model_issues(hass: HomeAssistant, entry: ConfigEntry, model: str) -> None:
    """Remove the model's issues once it answered (nothing to do unless one was raised)."""
    if not (raised := hass.data.get(RAISED_ISSUES)):
        return
    for kind in (ISSUE_RUNTIME_MISMATCH, ISSUE_MODEL_MISSING):
        issue_id = _issue_id(kind, entry, model)
        if issue_id in raised:
            raised.discard(issue_id)
            ir.async_delete_issue(hass, DOMAIN, issue_id)
