"""Which models one server holds, and the one load of each model at a time.

Upstream rkllama has no lock around `/load_model`: a second call for a model that is still
loading starts a second worker that holds NPU memory nobody can free. So a server is never
asked to load a model that is loading or resident: every load of a model joins the one under
way. A load runs in a task of its own, which a caller that gives up (or an entry that is
reloaded) does not cancel. The pool decides when a load or unload may run; this class runs it
(a single-model server unloads the others first) and follows the server's polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time

from homeassistant.core import HomeAssistant

from ..api import RkllamaBusyError, RkllamaClient
from ..const import DOMAIN, LOGGER


class ModelResidency:
    """The models one server holds or loads."""

    def __init__(
        self, hass: HomeAssistant, *, single_model: bool, on_change: Callable[[], None]
    ) -> None:
        """Track one server; `on_change` is called after each load or unload."""
        self.hass = hass
        self.single_model = single_model
        self._on_change = on_change
        self.resident: list[str] = []
        """Models believed resident, least recently used first."""
        self.loads = 0
        self.load_seconds = 0.0
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._changed_at: dict[str, float] = {}
        """Monotonic time of our last load or unload per model."""
        self._synced_at = float("-inf")

    @property
    def mean_load_seconds(self) -> float | None:
        """Return the mean time our loads on this server took, None before the first."""
        return self.load_seconds / self.loads if self.loads else None

    @property
    def loading(self) -> bool:
        """Return True while a load is under way."""
        return bool(self._loading)

    def holds(self, model: str) -> bool:
        """Return True when `model` is resident or being loaded."""
        return model in self.resident or model in self._loading

    def is_loading(self, model: str) -> bool:
        """Return True while `model` is being loaded."""
        return model in self._loading

    def is_ready(self, model: str) -> bool:
        """Return True when `model` is resident and the server is not being switched."""
        return model in self.resident and not (self.single_model and self._loading)

    def sync(self, loaded: list[str], polled_at: float) -> None:
        """Adopt the server's list of resident models from a poll that started at `polled_at`.

        What we loaded or unloaded since then is newer than the poll and is kept as it is.
        """
        if polled_at <= self._synced_at:
            return
        self._synced_at = polled_at
        newer = {name for name, at in self._changed_at.items() if at >= polled_at}
        listed = [name for name in loaded if name not in newer and name not in self._loading]
        kept = [name for name in self.resident if name in listed or name in newer]
        self.resident = kept + [name for name in listed if name not in kept]

    def use(self, model: str) -> None:
        """Mark `model` as the most recently used."""
        if model in self.resident:
            self.resident.remove(model)
            self.resident.append(model)

    def start_load(self, client: RkllamaClient, model: str) -> asyncio.Task[None] | None:
        """Start loading `model` unless it is resident; return the load under way, if any."""
        if (task := self._loading.get(model)) is not None or model in self.resident:
            return task
        task = self.hass.async_create_background_task(
            self._load(client, model), f"{DOMAIN} load {model}"
        )
        self._loading[model] = task
        task.add_done_callback(lambda done: self._loaded(model, done))
        return task

    async def load(self, client: RkllamaClient, model: str) -> bool:
        """Make `model` resident; True when this call started its load.

        Raises the load's error (to every caller that waits for it).
        """
        started = not self.holds(model)
        if (task := self.start_load(client, model)) is not None:
            await asyncio.shield(task)
        return started

    async def unload(self, client: RkllamaClient, model: str) -> bool:
        """Unload `model`; False when the server did not hold it. The caller holds its lane."""
        unloaded = await client.unload_model(model)
        self._forget(model)
        self._on_change()
        return unloaded

    async def _load(self, client: RkllamaClient, model: str) -> None:
        """Load `model` (single-model servers: after unloading the others)."""
        if self.single_model:
            for other in list(self.resident):
                LOGGER.debug("Switching the NPU from %s to %s", other, model)
                await client.unload_model(other)
                self._forget(other)
        started = time.monotonic()
        try:
            await client.load_model(model)
        except RkllamaBusyError:
            # Someone else loaded a model behind our back: unload it and try once more.
            await client.unload_model(None)
            await client.load_model(model)
        self.loads += 1
        self.load_seconds += time.monotonic() - started
        self._changed_at[model] = time.monotonic()
        self.resident.append(model)

    def _loaded(self, model: str, task: asyncio.Task[None]) -> None:
        """Forget the finished load; let the server's state be polled soon."""
        if self._loading.get(model) is task:
            del self._loading[model]
        if not task.cancelled() and task.exception() is not None:
            LOGGER.debug("Loading %s failed: %s", model, task.exception())
        self._on_change()

    def _forget(self, model: str) -> None:
        self._changed_at[model] = time.monotonic()
        if model in self.resident:
            self.resident.remove(model)
