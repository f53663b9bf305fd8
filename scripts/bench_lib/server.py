"""What the rkllama server saw: the emulator's records (GET /_emulator/requests), model control."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from demo_lib.procs import DemoError

REQUEST_TIMEOUT = 30.0  # seconds for a debug or model-control call (a load takes ~4 s)
LOAD_TIMEOUT = 300.0


@dataclass
class ServerRecord:
    """One /api/chat request as the server handled it (times: time.time() seconds)."""

    index: int
    route: str
    model: str
    prompt: str
    prompt_tokens: int
    completion_tokens: int
    reply: str
    queue_wait: float
    prefill_seconds: float
    arrived_at: float
    started_at: float | None
    first_token_at: float | None
    first_sent_at: float | None
    last_token_at: float | None
    ended_at: float | None
    tools: bool
    messages: list[dict[str, Any]] = field(repr=False)
    options: dict[str, Any] | None = field(repr=False)
    raw_tools: list[dict[str, Any]] | None = field(repr=False)
    refusal: str | None = None
    """Why the server generated nothing (the emulator's record), e.g. a prompt over the context."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerRecord:
        """Build from one entry of the debug route."""
        return cls(
            index=int(data["index"]),
            route=str(data.get("route") or ""),
            model=str(data.get("model") or ""),
            prompt=str(data.get("prompt") or ""),
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            reply=str(data.get("reply") or ""),
            queue_wait=float(data.get("queue_wait_seconds") or 0.0),
            prefill_seconds=float(data.get("prefill_seconds") or 0.0),
            arrived_at=float(data["arrived_at"]),
            started_at=data.get("started_at"),
            first_token_at=data.get("first_token_at"),
            first_sent_at=data.get("first_sent_at"),
            last_token_at=data.get("last_token_at"),
            ended_at=data.get("ended_at"),
            tools=bool(data.get("tools")),
            messages=list(data.get("messages") or []),
            options=data.get("options"),
            raw_tools=data.get("tools"),
            refusal=data.get("refusal"),
        )

    @property
    def failure(self) -> str | None:
        """Return why this request got no answer from the server, if it got none."""
        if self.refusal:
            return f"refused: {self.refusal}"
        if self.ended_at is not None and not self.reply and not self.completion_tokens:
            return f"the server answered nothing ({self.prompt_tokens} prompt tokens)"
        return None

    @property
    def server_seconds(self) -> float:
        """Return the server's own wall time for the request: arrival to the response's end."""
        if self.ended_at is None:
            raise DemoError(f"server request {self.index} has not ended")
        return self.ended_at - self.arrived_at


@dataclass(frozen=True)
class LoadEvent:
    """One model load on the server."""

    model: str
    seconds: float
    loaded_by: str
    at: float


@dataclass(frozen=True)
class Snapshot:
    """Requests and loads the server recorded since a mark."""

    requests: list[ServerRecord]
    loads: list[LoadEvent]
    next_index: int


class Recorder(Protocol):
    """What the benchmark asks of the server side (the emulator, or the proxy to a board)."""

    async def mark(self) -> tuple[int, int]:
        """Return a mark to read what happens after it."""
        ...

    async def since(self, mark: tuple[int, int]) -> Snapshot:
        """Return what was recorded after ``mark``."""
        ...

    async def settled(self, mark: tuple[int, int], timeout: float = 10.0) -> Snapshot:
        """Like ``since``, once every request after the mark has ended."""
        ...

    async def resident(self) -> list[str]:
        """Return the models the server holds."""
        ...

    async def load(self, model: str) -> None:
        """Make ``model`` resident."""
        ...

    async def unload_all(self) -> None:
        """Unload every resident model."""
        ...


class EmulatorRecords:
    """Reads the bundled emulator's debug route and controls its models."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        """Talk to the emulator at ``url``."""
        self.session = session
        self.url = url
        self._loads_seen = 0

    async def _get(self, path: str) -> dict[str, Any]:
        try:
            async with (
                asyncio.timeout(REQUEST_TIMEOUT),
                self.session.get(self.url + path) as resp,
            ):
                if resp.status != 200:
                    raise DemoError(
                        f"GET {self.url}{path} answered {resp.status}: the server is not the "
                        "bundled emulator (a real board has no /_emulator routes)"
                    )
                data: dict[str, Any] = await resp.json(content_type=None)
                return data
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DemoError(f"GET {self.url}{path}: {err}") from err

    async def mark(self) -> tuple[int, int]:
        """Return a mark (request index, load count) to read what happens after it."""
        data = await self._get("/_emulator/requests?since=1000000000")
        return int(data["next"]), len(data["loads"])

    async def since(self, mark: tuple[int, int]) -> Snapshot:
        """Return the requests and loads recorded after ``mark``."""
        start, loads_before = mark
        data = await self._get(f"/_emulator/requests?since={start}")
        requests = [ServerRecord.from_json(item) for item in data["requests"]]
        loads = [
            LoadEvent(
                model=str(item["model"]),
                seconds=float(item["seconds"]),
                loaded_by=str(item.get("loaded_by") or ""),
                at=float(item.get("at") or 0.0),
            )
            for item in data["loads"][loads_before:]
        ]
        return Snapshot(requests=requests, loads=loads, next_index=int(data["next"]))

    async def settled(self, mark: tuple[int, int], timeout: float = 10.0) -> Snapshot:
        """Like ``since``, once every request after the mark has ended."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            snapshot = await self.since(mark)
            if all(r.ended_at is not None for r in snapshot.requests):
                return snapshot
            if asyncio.get_running_loop().time() > deadline:
                return snapshot
            await asyncio.sleep(0.05)

    async def resident(self) -> list[str]:
        """Return the models the server holds."""
        data = await self._get("/_emulator/requests?since=1000000000")
        return [str(name) for name in data["resident"]]

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with (
                asyncio.timeout(LOAD_TIMEOUT),
                self.session.post(self.url + path, json=body) as resp,
            ):
                data: dict[str, Any] = await resp.json(content_type=None)
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise DemoError(f"POST {self.url}{path}: {err}") from err

    async def load(self, model: str) -> None:
        """Make ``model`` resident (a no-op when it is)."""
        await self._post("/load_model", {"model_name": model})

    async def unload_all(self) -> None:
        """Unload every resident model."""
        for model in await self.resident():
            await self._post("/unload_model", {"model_name": model})
