"""Progress on stderr: a spinner with step name and elapsed time on a TTY, else plain lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import sys
import time
from typing import TextIO

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_TICK = 0.1  # seconds between two spinner frames


class Progress:
    """Report named steps with their duration."""

    def __init__(self, stream: TextIO | None = None, label: str = "demo") -> None:
        """Write to ``stream`` (stderr by default); plain lines start with ``[label]``."""
        self._label = label
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._started = time.monotonic()

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def note(self, message: str) -> None:
        """Print one line of information."""
        self._write(f"\r\033[K{message}\n" if self._tty else f"[{self._label}] {message}\n")

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        """Show ``name`` while the body runs, then its outcome and duration."""
        start = time.monotonic()
        spinner: asyncio.Task[None] | None = None
        if self._tty:
            spinner = asyncio.create_task(self._spin(name, start))
        else:
            self._write(f"[{self._label}] {name} …\n")
        try:
            yield
        except BaseException:
            self._finish(name, start, ok=False, spinner=spinner)
            raise
        self._finish(name, start, ok=True, spinner=spinner)

    def _finish(
        self, name: str, start: float, *, ok: bool, spinner: asyncio.Task[None] | None
    ) -> None:
        if spinner is not None:
            spinner.cancel()
        elapsed = time.monotonic() - start
        if self._tty:
            mark = "\033[32m✓\033[0m" if ok else "\033[31m✗\033[0m"
            self._write(f"\r\033[K{mark} {name} ({elapsed:.1f}s)\n")
        else:
            self._write(
                f"[{self._label}] {name}: {'done' if ok else 'FAILED'} in {elapsed:.1f}s "
                f"(total {time.monotonic() - self._started:.0f}s)\n"
            )

    async def _spin(self, name: str, start: float) -> None:
        frame = 0
        while True:
            elapsed = time.monotonic() - start
            total = time.monotonic() - self._started
            self._write(
                f"\r\033[K\033[36m{_FRAMES[frame % len(_FRAMES)]}\033[0m {name} "
                f"\033[2m{elapsed:.1f}s (total {total:.0f}s)\033[0m"
            )
            frame += 1
            await asyncio.sleep(_TICK)
