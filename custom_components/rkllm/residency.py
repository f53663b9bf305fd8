"""Model residency on one server: load on demand, and never pull a model from under an answer.

Multi-model servers keep several models resident and run each model's answers in its own
queue; a model is loaded under its own lock, so an answer of a resident model never waits
behind another model's load. Single-model servers hold one model: a switch waits until no
answer is running and lets none start meanwhile. Actions (load, unload) wait for the answers
they would disturb, within a bound, or are refused with `ModelInUseError`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
import time

from .api import RkllamaBusyError, RkllamaClient, RkllamaError
from .const import LOGGER

MAX_ACTION_WAITERS = 4
"""Actions waiting on one server at once; more are refused at once."""


class ModelInUseError(RkllamaError):
    """An action would disturb running answers, and they did not finish in time."""


class ModelResidency:
    """Decide when a server loads, keeps and switches models."""

    def __init__(
        self,
        client: RkllamaClient,
        *,
        single_model: bool,
        on_change: Callable[[], None],
    ) -> None:
        """Track the models of `client`'s server; `on_change` is called after a load or unload."""
        self.client = client
        self.single_model = single_model
        self._on_change = on_change
        self.resident: list[str] = []
        """Models believed resident, least recently used first."""
        self.loads = 0
        self.load_seconds = 0.0
        self.last_used: dict[str, float] = {}
        """Monotonic time of the last request start (or load) per model."""
        self._npu_lock = asyncio.Lock()  # single-model servers: one switch at a time
        self._model_locks: dict[str, asyncio.Lock] = {}  # multi-model: per model
        self._in_use: Counter[str] = Counter()
        self._idle = asyncio.Condition()
        self._action_waiters = 0

    def sync(self, loaded: list[str]) -> None:
        """Adopt the server's own list of resident models (from a poll)."""
        kept = [name for name in self.resident if name in loaded]
        self.resident = kept + [name for name in loaded if name not in kept]

    def in_use(self, model: str | None = None) -> int:
        """Return the answers running on `model` (or on any model)."""
        return self._in_use[model] if model is not None else self._in_use.total()

    def is_resident(self, model: str) -> bool:
        """Return True when `model` is resident and not being swapped out."""
        return model in self.resident and not self._lock(model).locked()

    @asynccontextmanager
    async def use(self, model: str) -> AsyncIterator[None]:
        """Hold `model` resident for one answer; load it first when needed."""
        if not self.is_resident(model):
            async with self._lock(model):
                if model not in self.resident:
                    if self.single_model:
                        await self._wait_idle(lambda: self.in_use() == 0)
                    await self._load(model)
                    self._on_change()
        # No await between the check above and this count: nothing can unload it meanwhile.
        self._in_use[model] += 1
        self.last_used[model] = time.monotonic()
        self._touch(model)
        try:
            yield
        finally:
            self._in_use[model] -= 1
            async with self._idle:
                self._idle.notify_all()

    async def ensure_loaded(self, model: str, *, wait: float) -> bool:
        """Make `model` resident (an action or a preload); True when this call loaded it.

        Raises:
            ModelInUseError: a single-model server kept answering for `wait` seconds.

        """
        idle = (lambda: self.in_use() == 0) if self.single_model else (lambda: True)
        async with self._claim(model, idle, wait):
            if model in self.resident:
                self._touch(model)
                return False
            await self._load(model)
        self._on_change()
        return True

    async def unload(self, model: str, *, wait: float) -> bool:
        """Unload `model` once its answers finished; False when the server did not hold it.

        Raises:
            ModelInUseError: `model` kept answering for `wait` seconds.

        """
        async with self._claim(model, lambda: self.in_use(model) == 0, wait):
            unloaded = await self.client.unload_model(model)
            if model in self.resident:
                self.resident.remove(model)
        self._on_change()
        return unloaded

    @asynccontextmanager
    async def _claim(
        self, model: str, idle: Callable[[], bool], wait: float
    ) -> AsyncIterator[None]:
        """Hold `model`'s lock once `idle()` holds, waiting at most `wait` seconds for both.

        No new answer of the model starts while the lock is held or waited for, and at most
        MAX_ACTION_WAITERS actions wait at once. The load or unload itself is not timed here
        (the client bounds it).
        """
        if self._action_waiters >= MAX_ACTION_WAITERS:
            raise ModelInUseError("too many actions are waiting for this server")
        lock = self._lock(model)
        self._action_waiters += 1
        try:
            async with asyncio.timeout(wait):
                await lock.acquire()
                try:
                    await self._wait_idle(idle)
                except BaseException:
                    lock.release()
                    raise
        except TimeoutError as err:
            raise ModelInUseError(f"the server kept answering for {wait:.0f} s") from err
        finally:
            self._action_waiters -= 1
        try:
            yield
        finally:
            lock.release()

    async def _load(self, model: str) -> None:
        """Load `model` (single-model servers: after unloading the others). Hold its lock."""
        if self.single_model:
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

    async def _wait_idle(self, done: Callable[[], bool]) -> None:
        async with self._idle:
            await self._idle.wait_for(done)

    def _lock(self, model: str) -> asyncio.Lock:
        if self.single_model:
            return self._npu_lock
        return self._model_locks.setdefault(model, asyncio.Lock())

    def _touch(self, model: str) -> None:
        if model in self.resident:
            self.resident.remove(model)
            self.resident.append(model)
