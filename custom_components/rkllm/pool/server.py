"""The pool's view of a server: the NPU behind an address, and each entry that names it."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from ..coordinator import RkllmDataUpdateCoordinator
from .residency import ModelResidency


@dataclass(eq=False)
class Npu:
    """The NPU behind one server address, shared by every entry that names the address.

    The pool alone changes it. A lane is the queue that answers share on the server: one per
    model on a multi-model server, a single one on a single-model server. Every request sent
    to the server (an answer, a keep-alive touch, a load or an unload) holds a place in its
    lane while it runs.
    """

    residency: ModelResidency
    running: Counter[str] = field(default_factory=Counter)
    """Requests in flight per lane."""
    claimed: Counter[str] = field(default_factory=Counter)
    """Loads and unloads waiting for their lane to empty: no answer starts there meanwhile."""
    last_used: dict[str, float] = field(default_factory=dict)
    """Monotonic time of the last answer, touch or load per model (the server's idle timer)."""
    actions_waiting: int = 0
    _emptied: list[asyncio.Future[None]] = field(default_factory=list, init=False, repr=False)

    def start(self, lane: str) -> None:
        """Count a request that now runs in `lane`."""
        self.running[lane] += 1

    def finish(self, lane: str) -> None:
        """Count a request of `lane` as done; wake the actions that wait for lanes to empty."""
        self.running[lane] -= 1
        emptied, self._emptied = self._emptied, []
        for waiter in emptied:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_empty(self, lane: str) -> None:
        """Return once no request runs in `lane`."""
        while self.running[lane]:
            waiter = asyncio.get_running_loop().create_future()
            self._emptied.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._emptied:
                    self._emptied.remove(waiter)

    @property
    def busy(self) -> bool:
        """Return True while a request runs or a load is under way."""
        return bool(self.running.total() or self.claimed.total() or self.residency.loading)


@dataclass(eq=False)
class PoolServer:
    """One config entry's server as the pool sees it."""

    entry_id: str
    coordinator: RkllmDataUpdateCoordinator
    npu: Npu
    answers_per_model: int
    """Answers of one model at once: 1 for an rkllama server, N for a proxy in front of N."""
    was_healthy: bool = True

    @property
    def healthy(self) -> bool:
        """Return True while the server answers (polls and requests)."""
        return self.coordinator.last_update_success

    @property
    def reachable(self) -> bool:
        """Return False while the server is known to be down (its port refuses or drops)."""
        return not self.coordinator.known_down

    @property
    def residency(self) -> ModelResidency:
        """Return what the server holds and loads."""
        return self.npu.residency

    @property
    def single_model(self) -> bool:
        """Return True when the server holds one model at a time."""
        return self.npu.residency.single_model

    def lane(self, model: str) -> str:
        """Return the lane `model`'s requests share on this server."""
        return "" if self.single_model else model

    def free(self, model: str) -> bool:
        """Return True when a request of `model` may start at once."""
        lane = self.lane(model)
        return not self.npu.claimed[lane] and self.npu.running[lane] < self.answers_per_model

    def idle(self, model: str) -> bool:
        """Return True when nothing runs or waits in `model`'s lane."""
        lane = self.lane(model)
        return not self.npu.claimed[lane] and not self.npu.running[lane]

    def ready(self, model: str) -> bool:
        """Return True when an answer of `model` would start at once, with no load."""
        return self.free(model) and self.npu.residency.is_ready(model)

    def may_load(self, model: str) -> bool:
        """Return True when `model` could be loaded for an answer now.

        A single-model server is switched only while it runs nothing.
        """
        return self.idle(model) if self.single_model else self.free(model)
