"""Inference timing: per-model FIFO slots, prefill, decode pace and the stranded piece."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .config import EmulatorConfig
    from .residency import Residency, Worker


@dataclass
class GenerationStats:
    """Runtime perf figures of one generation (durations in ms, like upstream sends them)."""

    prompt_tokens: int = 0
    prefill_ms: int = 0
    eval_count: int = 0
    eval_ms: int = 0
    aborted: bool = False


class Engine:
    """Runs generations on resident workers, one at a time per model (FIFO)."""

    def __init__(self, config: EmulatorConfig, residency: Residency) -> None:
        """Create the engine; single-model flavours share one global slot."""
        self.config = config
        self.residency = residency
        self.global_lock = asyncio.Lock()
        self.running = 0
        self.max_running = 0
        self._seen_system: dict[str, set[str]] = {}

    async def acquire(self, name: str, loaded_by: str = "") -> Worker:
        """Wait for the model's slot (loading the model when needed) and hold it."""
        if not self.config.multi_model:
            await self.global_lock.acquire()
            try:
                worker = await self.residency.ensure_loaded(name, loaded_by)
            except BaseException:
                self.global_lock.release()
                raise
        else:
            while True:
                worker = await self.residency.ensure_loaded(name, loaded_by)
                await worker.lock.acquire()
                if worker.resident and worker.dead_until is None:
                    break
                worker.lock.release()
        self.begin(worker)
        return worker

    def begin(self, worker: Worker) -> None:
        """Count a generation as running on a worker."""
        worker.active += 1
        worker.abort = False
        self.running += 1
        self.max_running = max(self.max_running, self.running)

    def end(self, worker: Worker) -> None:
        """Count a generation as finished."""
        worker.active -= 1
        self.running -= 1

    def release(self, worker: Worker) -> None:
        """Give the slot back."""
        self.end(worker)
        if self.config.multi_model:
            worker.lock.release()
        else:
            self.global_lock.release()

    def prefill_seconds(
        self, model: str, tokens: int, system_text: str, system_tokens: int
    ) -> float:
        """Return the prefill time; a system part seen before for this model is free."""
        billed = tokens
        if self.config.system_prompt_cache and system_text:
            seen = self._seen_system.setdefault(model, set())
            if system_text in seen:
                billed = max(0, tokens - system_tokens)
            seen.add(system_text)
        return billed / self.config.timing.prefill_tokens_per_second

    @staticmethod
    async def prefill(seconds: float, stats: GenerationStats) -> None:
        """Spend the prefill time."""
        await asyncio.sleep(seconds)
        stats.prefill_ms = int(seconds * 1000)

    async def decode(
        self, worker: Worker, pieces: list[str], stats: GenerationStats
    ) -> AsyncIterator[str]:
        """Yield the pieces at the decode rate; honour abort and the stranded-piece race."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.config.timing.decode_tokens_per_second
        start = loop.time()
        prefix, worker.stranded = worker.stranded, ""
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            await asyncio.sleep(max(0.0, start + (index + 1) * interval - loop.time()))
            if worker.abort:
                stats.aborted = True
                break
            stats.eval_count += 1
            if self.config.stranded_piece and index == last:
                worker.stranded = piece
                break
            yield prefix + piece
            prefix = ""
        stats.eval_ms = int((loop.time() - start) * 1000)
        if prefix:
            yield prefix
