"""Shared state of one emulator instance, reachable from every handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .engine import Engine
from .faults import FaultBoard
from .models import ModelStore
from .residency import Residency
from .tokens import PromptRenderer

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .config import EmulatorConfig
    from .records import RecordedRequest


@dataclass(eq=False)
class EmulatorState:
    """Everything the handlers share."""

    config: EmulatorConfig
    store: ModelStore
    faults: FaultBoard
    residency: Residency
    engine: Engine
    renderer: PromptRenderer
    requests: list[RecordedRequest] = field(default_factory=list)
    load_requests: list[str] = field(default_factory=list)
    """The model named by every POST /load_model, answered or not."""
    disconnects: int = 0
    legacy_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    legacy_shared: list[str] = field(default_factory=list)
    legacy_streams: int = 0
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    handler_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    controls: Any = None
    """The running emulator (set_fault, clear_faults), for the debug routes."""

    @classmethod
    def create(cls, config: EmulatorConfig) -> EmulatorState:
        """Build the state for a config."""
        store = ModelStore(config.models_dir)
        faults = FaultBoard()
        residency = Residency(config, store, faults)
        return cls(
            config=config,
            store=store,
            faults=faults,
            residency=residency,
            engine=Engine(config, residency),
            renderer=PromptRenderer(),
        )

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a background task that stop() will cancel and await."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


STATE_KEY = web.AppKey("rkllama_state", EmulatorState)
