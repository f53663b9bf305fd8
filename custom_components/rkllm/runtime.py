"""What a loaded rkllm config entry keeps while it runs."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import RkllmDataUpdateCoordinator
from .pool import NpuPool

type RkllmConfigEntry = ConfigEntry[RkllmRuntimeData]


@dataclass
class RkllmRuntimeData:
    """Objects one config entry keeps while loaded."""

    coordinator: RkllmDataUpdateCoordinator
    """Polls the entry's server; its `client` is the entry's one client."""
    pool: NpuPool
    """The pool of every entry's server, which runs this entry's agents' answers."""
