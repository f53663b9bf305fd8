"""Model residency on one server: load on demand, group requests by model, never thrash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import time

from .api import RkllamaBusyError, RkllamaClient
from .const import LOGGER, MAX_SWITCH_SKIPS


@dataclass(slots=True)
class _Waiter:
    model: str
    future: asyncio.Future[None]
    skipped: int = 0


@dataclass
class ModelResidency:
    """Decide when a server loads, keeps and switches models.

    Multi-model servers keep every model resident (up to their own limit): a model is loaded
    once, under a lock so two first requests cannot start two workers. Single-model servers
    hold one model; requests then take a lease on the NPU, and waiting requests for the
    resident model go first (at most MAX_SWITCH_SKIPS times in a row), so two agents with
    different models do not force a switch per request.
    """

    client: RkllamaClient
    single_model: bool
    on_change: Callable[[], Awaitable[None]] | None = None
    """Called after a load or unload (the coordinator refreshes)."""
    resident: list[str] = field(default_factory=list)
    """Models believed resident, least recently used first."""
    loads: int = 0
    load_seconds: float = 0.0
    last_used: dict[str, float] = field(default_factory=dict)
    """Monotonic time of the last request start per model."""
    _load_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _leased: bool = False
    _waiters: list[_Waiter] = field(default_factory=list)

    def sync(self, loaded: list[str]) -> None:
        """Adopt the server's own list of resident models (from a poll)."""
        kept = [name for name in self.resident if name in loaded]
        self.resident = kept + [name for name in loaded if name not in kept]

    async def ensure_loaded(self, model: str) -> bool:
        """Make `model` resident; return True when this call loaded it."""
        async with self._load_lock:
            if model in self.resident:
                self._touch(model)
                return False
            if self.single_model and self.resident:
                for other in list(self.resident):
                    LOGGER.debug("Switching the NPU from %s to %s", other, model)
                    await self.client.unload_model(other)
                    self.resident.remove(other)
            started = time.monotonic()
            try:
                await self.client.load_model(model)
            except RkllamaBusyError:
                # Someone else loaded a model behind our back: unload it and try once more.
                await self.client.unload_model(None)
                await self.client.load_model(model)
            self.loads += 1
            self.load_seconds += time.monotonic() - started
            self.last_used[model] = started  # the server's idle timer starts with the load
            self.resident.append(model)
            self._touch(model)
        if self.on_change is not None:
            await self.on_change()
        return True

    async def unload(self, model: str) -> bool:
        """Unload `model`; False when the server did not hold it."""
        async with self._load_lock:
            unloaded = await self.client.unload_model(model)
            if model in self.resident:
                self.resident.remove(model)
        if self.on_change is not None:
            await self.on_change()
        return unloaded

    @asynccontextmanager
    async def use(self, model: str) -> AsyncIterator[None]:
        """Hold `model` resident for one generation."""
        if not self.single_model:
            await self.ensure_loaded(model)
            self.last_used[model] = time.monotonic()
            yield
            return
        await self._acquire(model)
        try:
            await self.ensure_loaded(model)
            self.last_used[model] = time.monotonic()
            yield
        finally:
            self._release()

    def _touch(self, model: str) -> None:
        if model in self.resident:
            self.resident.remove(model)
            self.resident.append(model)

    async def _acquire(self, model: str) -> None:
        if not self._leased and not self._waiters:
            self._leased = True
            return
        waiter = _Waiter(model, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.future.done() and not waiter.future.cancelled():
                self._release()  # the lease was handed over as we were cancelled
            raise

    def _release(self) -> None:
        if not self._waiters:
            self._leased = False
            return
        current = self.resident[-1] if self.resident else None
        oldest = self._waiters[0]
        chosen = oldest
        if oldest.model != current and oldest.skipped < MAX_SWITCH_SKIPS:
            same = next((w for w in self._waiters if w.model == current), None)
            if same is not None:
                chosen = same
                for waiter in self._waiters:
                    if waiter is not same and waiter.model != current:
                        waiter.skipped += 1
        if chosen.model != current:
            # A switch: count passes anew, or waiters that already used up their skips
            # would force a switch on every release and the NPU would thrash.
            for waiter in self._waiters:
                waiter.skipped = 0
        self._waiters.remove(chosen)
        chosen.future.set_result(None)  # the lease passes on without being freed
