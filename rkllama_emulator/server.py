"""RkllamaEmulator: a real HTTP server that behaves like rkllama on an RK3588."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from . import qwen_vocab
from .app import build_app
from .faults import Fault
from .listener import Listener
from .state import EmulatorState

if TYPE_CHECKING:
    from types import TracebackType

    from .config import EmulatorConfig
    from .records import RecordedRequest

SHUTDOWN_TIMEOUT = 0.5


class RkllamaEmulator:
    """An rkllama server emulator on 127.0.0.1 (see README.md for the knobs)."""

    def __init__(self, config: EmulatorConfig) -> None:
        """Create a stopped emulator."""
        self.config = config
        self.state = EmulatorState.create(config)
        self._runner: web.AppRunner | None = None
        self._listener: Listener | None = None
        self._relisten: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Return the base URL, e.g. http://127.0.0.1:8080."""
        if self._listener is None:
            raise RuntimeError("the emulator is not started")
        host = self._listener.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._listener.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening (port 0 = any free port) and return the base URL."""
        if self._runner is not None:
            return self.url
        # Qwen's real BPE takes a second or more to load and holds the GIL meanwhile: load it
        # before serving, so no request (and no benchmark figure) pays for it.
        await asyncio.get_running_loop().run_in_executor(None, qwen_vocab.load_bundled)
        runner = web.AppRunner(
            build_app(self.state), shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None
        )
        await runner.setup()
        if runner.server is None:
            raise RuntimeError("aiohttp runner has no server")
        self._runner = runner
        self.state.controls = self
        self._listener = Listener(runner.server, host)
        await self._listener.start(port)
        if self.state.faults.is_active(Fault.REFUSE):
            self._listener.refuse()
        if self.state.faults.is_active(Fault.SILENT_PORT):
            self._relisten = self._listener.silence()
        if self.config.multi_model:
            self.state.spawn(self.state.residency.monitor())
        return self.url

    async def stop(self) -> None:
        """Stop listening, end in-flight requests and background tasks."""
        if self._runner is None or self._listener is None:
            return
        await self._listener.close()
        pending = [*self.state.handler_tasks, *self.state.tasks]
        if self._relisten is not None:
            pending.append(self._relisten)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._runner.cleanup()
        await self._listener.wait_closed()
        self._runner = None

    def change(self, **changes: Any) -> None:
        """Change knobs read per request (`proxy_token`, `context_window`) while running."""
        self.config = replace(self.config, **changes)
        self.state.config = self.config

    async def restart(self, **changes: Any) -> str:
        """Stop, apply config changes (e.g. another `flavour`: an upgrade) and start again.

        The new server listens on the same address and starts with nothing loaded, as after
        a real restart; the model directory stays.
        """
        host, port = self._listener.host if self._listener else "127.0.0.1", 0
        if self._listener is not None:
            port = self._listener.port
        await self.stop()
        self.config = replace(self.config, **changes)
        self.state = EmulatorState.create(self.config)
        self._listener = None
        return await self.start(host, port)

    async def __aenter__(self) -> Self:
        """Start on 127.0.0.1 with a free port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    def set_fault(self, fault: Fault, *, times: int | None = None, delay: float = 0.0) -> None:
        """Activate a fault (times=None: until cleared; else consumed per affected request)."""
        self.state.faults.set(fault, times, delay)
        if fault is Fault.REFUSE and self._listener is not None:
            self._listener.refuse()
        if fault is Fault.SILENT_PORT and self._listener is not None:
            self._relisten = self._listener.silence()

    def clear_faults(self) -> None:
        """Deactivate every fault, release hung requests and listen again if refusing."""
        self.state.faults.clear()
        if self._listener is not None:
            self._relisten = self._listener.resume() or self._relisten

    def active_faults(self) -> list[Fault]:
        """Return the active faults."""
        return self.state.faults.active()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return every recorded chat/generate request, oldest first."""
        return self.state.requests

    @property
    def loads(self) -> list[tuple[str, float]]:
        """Return (model, seconds) for every model load."""
        return self.state.residency.loads

    @property
    def load_requests(self) -> list[str]:
        """Return the model of every POST /load_model, answered or not, in order."""
        return self.state.load_requests

    @property
    def unloads(self) -> list[str]:
        """Return every unloaded model name, in order."""
        return self.state.residency.unloads

    def resident_models(self) -> list[str]:
        """Return the resident models, least recently called first."""
        return self.state.residency.resident_names()

    @property
    def open_connections(self) -> int:
        """Return the HTTP connections open to the emulator right now (idle ones included)."""
        if self._runner is None or self._runner.server is None:
            return 0
        # A handler held by a fault outlives its connection: count live sockets only.
        return sum(
            1
            for handler in self._runner.server.connections
            if handler.transport is not None and not handler.transport.is_closing()
        )

    @property
    def disconnects(self) -> int:
        """Return how many clients went away mid-stream."""
        return self.state.disconnects

    @property
    def max_concurrent_inferences(self) -> int:
        """Return the highest number of generations that ran at the same time."""
        return self.state.engine.max_running

    def stats(self) -> dict[str, Any]:
        """Return a summary of what happened so far."""
        return {
            "requests": len(self.requests),
            "loads": len(self.loads),
            "unloads": len(self.unloads),
            "resident": self.resident_models(),
            "disconnects": self.disconnects,
            "max_concurrent_inferences": self.max_concurrent_inferences,
        }
