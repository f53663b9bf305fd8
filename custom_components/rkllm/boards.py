"""Request-level parallelism across boards: each answer goes to one whole-model server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .coordinator import RkllmConfigEntry, RkllmDataUpdateCoordinator
from .models import find_known_model


@dataclass(frozen=True, slots=True)
class Board:
    """A server chosen for one generation, with its name for the agent's model."""

    coordinator: RkllmDataUpdateCoordinator
    model: str


def _offers(coordinator: RkllmDataUpdateCoordinator, choice: str) -> str | None:
    """Return the server's name for `choice` when it has that model and is reachable."""
    if not coordinator.last_update_success or coordinator.data is None:
        return None
    name = coordinator.server_model(choice)
    if name in coordinator.data.model_names:
        return name
    known = find_known_model(choice)
    return name if known is not None and find_known_model(name) == known else None


def pick_board(hass: HomeAssistant, home: RkllmDataUpdateCoordinator, choice: str) -> Board:
    """Return the least busy server that holds the agent's model.

    RKLLM runs whole models only, so boards share work per request, never per layer. The
    agent's own server wins ties, then a server that already has the model resident (no
    load), so one board serves everything until it is busy.
    """
    candidates: list[tuple[tuple[int, int, int], Board]] = []
    entries: list[RkllmConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    for entry in entries:
        if entry.state is not ConfigEntryState.LOADED:
            continue
        coordinator = entry.runtime_data.coordinator
        name = _offers(coordinator, choice)
        if name is None:
            continue
        resident = coordinator.data is not None and name in coordinator.data.loaded_names
        rank = (
            coordinator.active_generations,
            0 if coordinator is home else 1,
            0 if resident else 1,
        )
        candidates.append((rank, Board(coordinator, name)))
    if not candidates:
        return Board(home, home.server_model(choice))
    return min(candidates, key=lambda item: item[0])[1]


@contextmanager
def busy(coordinator: RkllmDataUpdateCoordinator) -> Iterator[None]:
    """Count a generation in flight on `coordinator` (what pick_board balances on)."""
    coordinator.active_generations += 1
    try:
        yield
    finally:
        coordinator.active_generations -= 1
