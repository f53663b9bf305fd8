"""Child processes the demo starts (and only those it stops), and port checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import errno
import os
from pathlib import Path
import signal
import socket

from demo_lib.progress import Progress

STOP_TIMEOUT = 30.0  # seconds a child gets to exit after SIGTERM before SIGKILL


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DemoError(Exception):
    """A failure the demo reports in one sentence and exits non-zero for."""


def port_in_use(host: str, port: int) -> bool:
    """Return True when ``host:port`` cannot be bound (something listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in {errno.EADDRINUSE, errno.EACCES}:
                return True
            raise
    return False


def check_ports(host: str, ports: dict[str, tuple[int, str]]) -> None:
    """Raise DemoError naming every busy port, its user and the option that moves it."""
    busy = [
        f"{host}:{port} ({what}) is already in use: stop what listens there or pass {option} PORT"
        for what, (port, option) in ports.items()
        if port_in_use(host, port)
    ]
    if busy:
        raise DemoError("; ".join(busy))


class ManagedProcess:
    """One child in its own process group, its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        """Describe the child; nothing runs before start()."""
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """Return the child's pid once started."""
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """Return the exit code, or None while it runs (or before it started)."""
        return self._proc.returncode if self._proc else None

    async def start(self) -> None:
        """Start the child, stdout and stderr into the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
            )

    def log_tail(self, lines: int = 25) -> str:
        """Return the last lines of the child's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        """Raise DemoError with the log tail when the child has exited."""
        if self._proc is not None and self._proc.returncode is not None:
            raise DemoError(
                f"{self.name} exited with code {self._proc.returncode}; "
                f"last lines of {self.log_path}:\n{self.log_tail()}"
            )

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the child's process group: SIGTERM, then SIGKILL after ``timeout``."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await proc.wait()
        # Leftovers of the group (a helper the child started) go too.
        self._signal(signal.SIGKILL)

    def kill(self) -> None:
        """Kill the child's process group now (SIGKILL)."""
        if self.returncode is None:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)


async def stop_processes(processes: list[ManagedProcess], progress: Progress) -> None:
    """Stop the children a run started, newest first, each as a progress step."""
    for process in reversed(processes):
        if process.returncode is None:
            async with progress.step(f"stopping {process.name} (pid {process.pid})"):
                await process.stop()


def kill_processes(processes: list[ManagedProcess]) -> None:
    """Kill the children a run started at once (a second Ctrl-C)."""
    for process in processes:
        process.kill()


def cancel_on_signals(kill: Callable[[], None]) -> Callable[[], None]:
    """Let a first SIGINT/SIGTERM cancel the current task (an orderly stop), a second `kill`.

    Returns the function that removes these handlers again.
    """
    task = asyncio.current_task()
    signalled = False

    def on_signal() -> None:
        nonlocal signalled
        if signalled:
            kill()
        elif task is not None:
            signalled = True
            task.cancel()

    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)

    def restore() -> None:
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    return restore
