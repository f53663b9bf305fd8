"""A small client for Home Assistant's documented REST and websocket APIs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
import time
from typing import Any, Self

import aiohttp

from demo_lib.procs import DemoError, ManagedProcess

REQUEST_TIMEOUT = 300.0  # seconds: a conversation turn on board timing can take a minute or more
_CLOSED: dict[str, Any] = {"type": "closed"}


class HassClient:
    """REST calls to one Home Assistant instance, with a bearer token once onboarded."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        """Talk to ``base_url`` (no trailing slash) through ``session``."""
        self.base_url = base_url
        self.session = session
        self.token: str | None = None

    @property
    def client_id(self) -> str:
        """Return the OAuth client id HA expects from its own frontend: the base URL + '/'."""
        return f"{self.base_url}/"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Any:
        """Send one request and return its JSON body; raise DemoError on an error status."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with (
                asyncio.timeout(timeout),
                self.session.request(
                    method, self.base_url + path, json=json, data=data, headers=headers
                ) as resp,
            ):
                text = await resp.text()
                if resp.status >= 400:
                    raise DemoError(f"{method} {path} answered {resp.status}: {text[:500]}")
                return await resp.json(content_type=None) if text else None
        except TimeoutError as err:
            raise DemoError(f"{method} {path}: no answer within {timeout:.0f}s") from err
        except aiohttp.ClientError as err:
            raise DemoError(f"{method} {path}: {err}") from err

    async def wait_until_serving(self, process: ManagedProcess, timeout: float) -> None:
        """Wait until HA's HTTP server answers the onboarding view (or the process died)."""
        deadline = time.monotonic() + timeout
        while True:
            process.check_alive()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with (
                    asyncio.timeout(5),
                    self.session.get(self.base_url + "/api/onboarding") as resp,
                ):
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise DemoError(
                    f"Home Assistant did not serve {self.base_url} within {timeout:.0f}s; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}"
                )
            await asyncio.sleep(0.5)

    async def onboard(self, name: str, username: str, password: str) -> None:
        """Create the owner through onboarding and keep an access token for it."""
        created = await self.request(
            "POST",
            "/api/onboarding/users",
            json={
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        tokens = await self.request(
            "POST",
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": self.client_id,
            },
        )
        self.token = tokens["access_token"]

    async def websocket(self) -> HassWebSocket:
        """Open an authenticated websocket."""
        if self.token is None:
            raise DemoError("no access token yet (onboard first)")
        return await HassWebSocket.connect(self.session, self.base_url, self.token)

    async def state(self, entity_id: str) -> dict[str, Any]:
        """Return one entity's state object."""
        result: dict[str, Any] = await self.request("GET", f"/api/states/{entity_id}")
        return result


class HassWebSocket:
    """Home Assistant's websocket API: commands, and commands that stream events."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated websocket."""
        self._ws = ws
        self._next_id = 1
        self._queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, base_url: str, token: str) -> Self:
        """Connect and authenticate with ``token``."""
        ws = await session.ws_connect(base_url + "/api/websocket", max_msg_size=0)
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise DemoError(f"unexpected websocket greeting: {hello}")
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise DemoError(f"websocket authentication failed: {answer}")
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                payload = message.json()
                for item in payload if isinstance(payload, list) else [payload]:
                    if (queue := self._queues.get(item.get("id"))) is not None:
                        queue.put_nowait(item)
        finally:
            for queue in self._queues.values():
                queue.put_nowait(_CLOSED)

    async def _send(self, command: str, payload: dict[str, Any]) -> int:
        """Send a command; its answers queue up under the returned message id."""
        msg_id = self._next_id
        self._next_id += 1
        self._queues[msg_id] = asyncio.Queue()
        await self._ws.send_json({"id": msg_id, "type": command, **payload})
        return msg_id

    async def _receive(self, command: str, msg_id: int, timeout: float) -> dict[str, Any]:
        """Return the next answer to a command."""
        try:
            async with asyncio.timeout(timeout):
                item = await self._queues[msg_id].get()
        except TimeoutError as err:
            raise DemoError(f"websocket {command}: no answer within {timeout:.0f}s") from err
        if item is _CLOSED:
            raise DemoError(f"websocket {command}: connection closed")
        return item

    async def call(self, command: str, timeout: float = 60.0, **payload: Any) -> Any:
        """Send one command and return its result."""
        msg_id = await self._send(command, payload)
        try:
            result = await self._receive(command, msg_id, timeout)
        finally:
            del self._queues[msg_id]
        if not result.get("success"):
            raise DemoError(f"websocket {command} failed: {result.get('error')}")
        return result.get("result")

    async def events(
        self, command: str, timeout: float = REQUEST_TIMEOUT, **payload: Any
    ) -> AsyncGenerator[dict[str, Any]]:
        """Send a command that answers with events (e.g. a pipeline run) and yield them."""
        msg_id = await self._send(command, payload)
        try:
            while True:
                item = await self._receive(command, msg_id, timeout)
                if item.get("type") == "result" and not item.get("success"):
                    raise DemoError(f"websocket {command} failed: {item.get('error')}")
                if item.get("type") == "event":
                    yield item["event"]
        finally:
            del self._queues[msg_id]

    async def close(self) -> None:
        """Close the websocket."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
