"""Resident models ("workers"): loading, LRU eviction, idle unload, dead workers (spec 5.2)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING

from .faults import Fault, FaultBoard

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .modelfile import Modelfile
    from .models import ModelInfo, ModelStore

MAX_DOMAIN_ID = 9
INVALID_MAGIC_TEXT = (
    "rkllm init failed: E RKNN: invalid rknn llm model magic, the model file does not match "
    "this runtime version"
)
LOAD_FAILURE_TEXT = "rkllm init failed: the RKLLM runtime could not initialise the model"


class LoadError(Exception):
    """A model could not be loaded; `runtime` is True for failures inside rkllm_init."""

    def __init__(self, reason: str, *, runtime: bool = False) -> None:
        """Keep the reason text and whether the runtime failed."""
        super().__init__(reason)
        self.reason = reason
        self.runtime = runtime


@dataclass(eq=False)
class Worker:
    """One resident model (upstream: one worker process)."""

    name: str
    info: ModelInfo
    modelfile: Modelfile
    loaded_by: str
    domain_id: int
    loaded_at: float = field(default_factory=time.time)
    last_call: float = field(default_factory=time.time)
    expires_at: float = field(default_factory=time.time)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    resident: bool = True
    dead_until: float | None = None
    active: int = 0
    abort: bool = False
    killed: bool = False
    """The worker process was killed under a running generation (UNLOAD_KILLS)."""
    stranded: str = ""
    last_metrics: dict[str, int] | None = None

    @property
    def busy(self) -> bool:
        """Return True while a generation runs on this worker."""
        return self.active > 0


class Residency:
    """The table of resident models."""

    def __init__(self, config: EmulatorConfig, store: ModelStore, faults: FaultBoard) -> None:
        """Start with nothing loaded."""
        self.config = config
        self.store = store
        self.faults = faults
        self.workers: dict[str, Worker] = {}
        self.loads: list[tuple[str, float]] = []
        self.load_events: list[dict[str, str | float]] = []
        """Every load with who asked for it and when it ended (time.time()), for benchmarks."""
        self.unloads: list[str] = []
        self._load_locks: dict[str, asyncio.Lock] = {}

    def resident_names(self) -> list[str]:
        """Return the resident model names, least recently called first."""
        return list(self.workers)

    def get(self, name: str) -> Worker | None:
        """Return the resident worker of a model, if any."""
        return self.workers.get(name)

    def touch(self, worker: Worker) -> None:
        """Note a request start: refresh last_call/expires_at and the LRU order."""
        now = time.time()
        worker.last_call = now
        worker.expires_at = now + self.config.idle_unload_seconds
        if self.workers.get(worker.name) is worker:
            self.workers.pop(worker.name)
            self.workers[worker.name] = worker

    def unload(self, name: str) -> bool:
        """Unload a model; return False if it was not resident."""
        worker = self.workers.pop(name, None)
        if worker is None:
            return False
        worker.resident = False
        self.unloads.append(name)
        return True

    def mark_dead(self, worker: Worker) -> None:
        """Mark a worker as dead for dead_worker_seconds (it stays listed meanwhile)."""
        worker.dead_until = asyncio.get_running_loop().time() + self.config.dead_worker_seconds

    def expire(self) -> None:
        """Unload idle models and remove dead workers whose time has passed."""
        now = time.time()
        mono = asyncio.get_running_loop().time()
        for worker in list(self.workers.values()):
            dead_over = worker.dead_until is not None and worker.dead_until <= mono
            if dead_over or (not worker.busy and worker.expires_at <= now):
                self.unload(worker.name)

    async def monitor(self) -> None:
        """Run the idle-unload check every idle_check_seconds, forever."""
        while True:
            await asyncio.sleep(self.config.idle_check_seconds)
            self.expire()

    async def ensure_loaded(self, name: str, loaded_by: str = "") -> Worker:
        """Return the model's worker, waiting out a dead worker and loading when needed."""
        loop = asyncio.get_running_loop()
        while True:
            worker = self.workers.get(name)
            if worker is not None and worker.dead_until is not None:
                await asyncio.sleep(max(0.0, worker.dead_until - loop.time()))
                if self.workers.get(name) is worker:
                    self.unload(name)
                continue
            if worker is not None:
                return worker
            lock = self._load_locks.setdefault(name, asyncio.Lock())
            async with lock:
                if name not in self.workers:
                    return await self._load(name, loaded_by)

    def check_loadable(self, name: str) -> tuple[ModelInfo, Modelfile]:
        """Run the directory and Modelfile checks of a load."""
        info = self.store.info(name)
        if info is None:
            raise LoadError(f"Model directory '{name}' not found.")
        modelfile = info.modelfile()
        if modelfile is None:
            raise LoadError(f"Modelfile not found in '{name}' directory.")
        if not modelfile.from_file or not modelfile.huggingface_path:
            raise LoadError("FROM or HUGGINGFACE_PATH not defined in Modelfile.")
        return info, modelfile

    def _runtime_failure(self, modelfile: Modelfile) -> str | None:
        """Return the runtime error of this load (faults, quoted numbers), if any."""
        if self.faults.consume(Fault.INVALID_MAGIC) is not None:
            return INVALID_MAGIC_TEXT
        if self.faults.consume(Fault.LOAD_FAILURE) is not None:
            return LOAD_FAILURE_TEXT
        return modelfile.numeric_error()

    def _free_domain_id(self) -> int:
        """Return the highest free base_domain_id (9 down to 1)."""
        used = {worker.domain_id for worker in self.workers.values()}
        for candidate in range(MAX_DOMAIN_ID, 0, -1):
            if candidate not in used:
                return candidate
        return 0

    def _evict(self) -> None:
        """Unload least recently called models until one more fits."""
        while len(self.workers) >= self.config.effective_max_resident:
            self.unload(next(iter(self.workers)))

    async def _load(self, name: str, loaded_by: str) -> Worker:
        """Load a model: checks, faults, LRU eviction, then the load time."""
        info, modelfile = self.check_loadable(name)
        failure = self._runtime_failure(modelfile)
        if failure is not None:
            raise LoadError(failure, runtime=True)
        self._evict()
        seconds = self.config.timing.load_seconds
        await asyncio.sleep(seconds)
        self._evict()
        worker = Worker(
            name=name,
            info=info,
            modelfile=modelfile,
            loaded_by=loaded_by,
            domain_id=self._free_domain_id(),
        )
        self.workers[name] = worker
        self.touch(worker)
        self.loads.append((name, seconds))
        self.load_events.append(
            {"model": name, "seconds": seconds, "loaded_by": loaded_by, "at": time.time()}
        )
        return worker
