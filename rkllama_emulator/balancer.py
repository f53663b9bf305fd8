"""A real HAProxy on 127.0.0.1 in front of several emulated boards (tests and benchmark).

`maxconn 1` per board mirrors rkllama's one-answer-at-a-time queue: HAProxy queues the rest
and hands each request to the first free board (`leastconn`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import shutil
import socket
import tempfile
from types import TracebackType
from typing import Self

START_TIMEOUT = 10.0


def find_haproxy() -> str | None:
    """Return the haproxy executable, or None when it is not installed."""
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )


def haproxy_config(port: int, boards: list[str]) -> str:
    """Return an HAProxy configuration: `port` on 127.0.0.1 in front of `boards` (host:port)."""
    servers = "\n".join(
        f"    server board{index} {board} maxconn 1" for index, board in enumerate(boards, 1)
    )
    return f"""global
    maxconn 256

defaults
    mode http
    timeout connect 5s
    timeout client 600s
    timeout server 600s
    timeout queue 600s

frontend rkllama
    bind 127.0.0.1:{port}
    default_backend boards

backend boards
    balance leastconn
{servers}
"""


class HaproxyBalancer:
    """Run haproxy in the foreground with a generated configuration; stop it on exit."""

    def __init__(self, port: int, boards: list[str]) -> None:
        """Prepare a balancer on `port` for `boards` (host:port each)."""
        self.port = port
        self.boards = boards
        self._process: asyncio.subprocess.Process | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """Return the balancer's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start haproxy and wait until it accepts connections.

        Raises:
            FileNotFoundError: haproxy is not installed.
            RuntimeError: it exited or did not listen in time.

        """
        executable = find_haproxy()
        if executable is None:
            raise FileNotFoundError("haproxy")
        self._dir = tempfile.TemporaryDirectory(prefix="rkllm-haproxy-")
        config = Path(self._dir.name) / "haproxy.cfg"
        config.write_text(haproxy_config(self.port, self.boards))
        self._process = await asyncio.create_subprocess_exec(
            executable,
            "-db",  # foreground, no daemon
            "-f",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not _listening(self.port):
            if self._process.returncode is not None or loop.time() > deadline:
                error = b""
                if self._process.stderr is not None and self._process.returncode is not None:
                    error = await self._process.stderr.read()
                await self.stop()
                raise RuntimeError(f"haproxy did not start: {error.decode(errors='replace')}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop haproxy (the process this object started) and remove its configuration."""
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                async with asyncio.timeout(5):
                    await self._process.wait()
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def __aenter__(self) -> Self:
        """Start on entering `async with`."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving `async with`."""
        await self.stop()


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
