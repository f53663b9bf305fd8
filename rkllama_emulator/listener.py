"""The listening socket: REFUSE closes it, SILENT_PORT swaps in one that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def listen_socket(host: str, port: int) -> socket.socket:
    """Bind and listen (SO_REUSEADDR), non-blocking."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=128)
    sock.setblocking(False)  # noqa: FBT003 - socket API
    return sock


class _Silent(asyncio.Protocol):
    """Accept a connection, read nothing, answer nothing."""

    def __init__(self, held: set[asyncio.BaseTransport]) -> None:
        self._held = held
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._held.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - protocol API
        if self._transport is not None:
            self._held.discard(self._transport)


class Listener:
    """Accepts connections for an aiohttp low-level server; can stop and resume listening."""

    def __init__(self, factory: web.Server, host: str) -> None:
        """Nothing listens yet."""
        self._factory = factory
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._closed: list[asyncio.Server] = []
        self._pending: socket.socket | None = None
        self._silent: asyncio.Server | None = None
        self._held: set[asyncio.BaseTransport] = set()

    @property
    def listening(self) -> bool:
        """Return True unless refusing connections."""
        return self._server is not None or self._pending is not None

    async def start(self, port: int) -> None:
        """Listen on host:port (0 picks a free port)."""
        sock = listen_socket(self.host, port)
        self.port = int(sock.getsockname()[1])
        await self._serve(sock)

    async def _serve(self, sock: socket.socket) -> None:
        """Serve an already listening socket."""
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._factory, sock=sock)
        except BaseException:
            sock.close()
            raise
        finally:
            if self._pending is sock:
                self._pending = None

    def refuse(self) -> None:
        """Close the listening socket: new connections are refused."""
        if self._server is not None:
            self._server.close()
            self._closed.append(self._server)
            self._server = None

    def silence(self) -> asyncio.Task[None]:
        """Accept connections on the port and never answer; the socket listens at once."""
        self.refuse()
        sock = listen_socket(self.host, self.port)
        loop = asyncio.get_running_loop()

        async def serve() -> None:
            self._silent = await loop.create_server(lambda: _Silent(self._held), sock=sock)

        return loop.create_task(serve())

    def _end_silence(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._closed.append(self._silent)
            self._silent = None
        for transport in list(self._held):
            transport.close()
        self._held.clear()

    def resume(self) -> asyncio.Task[None] | None:
        """Listen again on the same port; the socket listens before this returns."""
        self._end_silence()
        if self.listening:
            return None
        sock = listen_socket(self.host, self.port)
        self._pending = sock
        return asyncio.get_running_loop().create_task(self._serve(sock))

    async def close(self) -> None:
        """Stop listening for good."""
        self.refuse()
        self._end_silence()
        if self._pending is not None:
            self._pending.close()
            self._pending = None

    async def wait_closed(self) -> None:
        """Wait until closed servers have released their connections."""
        for server in self._closed:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._closed.clear()
