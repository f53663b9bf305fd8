"""A recording reverse proxy on 127.0.0.1 in front of a real rkllama board.

A real server has no `/_emulator/requests`, so with RKLLM_SERVER_HOST/PORT set Home Assistant
(both integrations) and the direct clients talk to this proxy, which forwards every request
unchanged, streams every answer back as it arrives, and records what the emulator would: for
each `/api/chat`, the arrival, the first and last piece sent by the server, the end, the
request's messages and tools, and the server's own `prompt_eval_count` / `eval_count`.
What a board cannot tell is approximated and said so in the results: the prompt text is the
Qwen2.5 ChatML rendering of the recorded messages (for the shared-prefix count only), the
"first token" is the first piece the server sent (so the peer's hold-back is not visible),
and model loads are read from `/api/ps` (`loaded_at` after the mark).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from bench_lib.server import LoadEvent, ServerRecord, Snapshot
from demo_lib.procs import DemoError

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-authenticate",
}
LOAD_TIMEOUT = 300.0


def _headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}


class RecordingProxy:
    """Forwards to ``target`` and records /api/chat requests like the emulator's debug route."""

    def __init__(self, target: str) -> None:
        """Proxy for the server at ``target`` (no trailing slash)."""
        self.target = target.rstrip("/")
        self.records: list[dict[str, Any]] = []
        self._marks: dict[int, float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port); return the proxy's URL."""
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None)
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn the bound port
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop listening and close the upstream session."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """Return the upstream session."""
        if self._session is None:
            raise DemoError("the recording proxy is not started")
        return self._session

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = self._new_record(request, body)
        upstream_url = self.target + request.path_qs
        try:
            async with self.session.request(
                request.method, upstream_url, data=body, headers=_headers(request.headers)
            ) as upstream:
                response = web.StreamResponse(
                    status=upstream.status, headers=_headers(upstream.headers)
                )
                await response.prepare(request)
                pending = b""
                async for chunk in upstream.content.iter_any():
                    if record is not None:
                        pending = self._observe(record, pending + chunk)
                    await response.write(chunk)
                await response.write_eof()
        except aiohttp.ClientError as err:
            if record is not None:
                record["ended_at"] = time.time()
                record["status"] = 502
            return web.Response(status=502, text=f"recording proxy: {err}")
        if record is not None:
            if pending.strip():
                self._observe(record, pending + b"\n")
            record["ended_at"] = time.time()
            record["status"] = upstream.status
        return response

    def _new_record(self, request: web.Request, body: bytes) -> dict[str, Any] | None:
        if request.method != "POST" or request.path != "/api/chat":
            return None
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        from rkllama_emulator.chatml import render_chatml  # noqa: PLC0415 - approximation
        from rkllama_emulator.messages import upstream_messages  # noqa: PLC0415

        messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        tools = data.get("tools") if isinstance(data.get("tools"), list) else None
        try:
            system, rest = upstream_messages(messages, str(data.get("system") or ""))
            prompt = render_chatml(system, rest, tools)
        except TypeError, ValueError, KeyError:
            prompt = ""
        now = time.time()
        record: dict[str, Any] = {
            "index": len(self.records),
            "route": request.path,
            "model": data.get("model"),
            "messages": messages,
            "tools": tools,
            "options": data.get("options"),
            "prompt": prompt,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "reply": "",
            "queue_wait_seconds": 0.0,
            "prefill_seconds": 0.0,
            "arrived_at": now,
            "started_at": None,
            "first_token_at": None,
            "first_sent_at": None,
            "last_token_at": None,
            "ended_at": None,
        }
        self.records.append(record)
        return record

    @staticmethod
    def _observe(record: dict[str, Any], data: bytes) -> bytes:
        """Read complete NDJSON lines of the answer; return the incomplete rest."""
        *lines, rest = data.split(b"\n")
        now = time.time()
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if not isinstance(item, dict):
                continue
            message = item.get("message") or {}
            if message.get("content") or message.get("tool_calls"):
                record["reply"] += str(message.get("content") or "")
                record["last_token_at"] = now
                if record["first_sent_at"] is None:
                    record["first_sent_at"] = record["first_token_at"] = now
                    record["started_at"] = now
            if item.get("done"):
                record["prompt_tokens"] = int(item.get("prompt_eval_count") or 0)
                record["completion_tokens"] = int(item.get("eval_count") or 0)
                record["prefill_seconds"] = float(item.get("prompt_eval_duration") or 0) / 1000
        return rest

    # -- the recorder interface of EmulatorRecords ------------------------------------------

    async def mark(self) -> tuple[int, int]:
        """Return a mark of the current request index (and remember when it was taken)."""
        index = len(self.records)
        self._marks[index] = time.time()
        return index, 0

    async def since(self, mark: tuple[int, int]) -> Snapshot:
        """Return the chat requests after ``mark`` and the loads `/api/ps` shows since then."""
        start = mark[0]
        requests = [ServerRecord.from_json(record) for record in self.records[start:]]
        after = self._marks.get(start, 0.0)
        loads = [
            LoadEvent(str(m.get("name")), 0.0, str(m.get("loaded_by") or ""), at)
            for m in await self._ps()
            if (at := _local_epoch(str(m.get("loaded_at") or ""))) >= after
        ]
        return Snapshot(requests=requests, loads=loads, next_index=len(self.records))

    async def settled(self, mark: tuple[int, int], timeout: float = 10.0) -> Snapshot:
        """Like ``since``, once every request after the mark has ended."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = await self.since(mark)
            if all(r.ended_at is not None for r in snapshot.requests):
                return snapshot
            if time.monotonic() > deadline:
                return snapshot
            await asyncio.sleep(0.05)

    async def _ps(self) -> list[dict[str, Any]]:
        try:
            async with self.session.get(self.target + "/api/ps") as resp:
                if resp.status != 200:
                    return []
                data = await resp.json(content_type=None)
        except aiohttp.ClientError, ValueError:
            return []
        models = data.get("models") if isinstance(data, dict) else None
        return [m for m in models or [] if isinstance(m, dict)]

    async def resident(self) -> list[str]:
        """Return the models the board holds (upstream flavour)."""
        return [str(m.get("name")) for m in await self._ps()]

    async def load(self, model: str) -> None:
        """Make ``model`` resident on the board."""
        async with asyncio.timeout(LOAD_TIMEOUT):
            async with self.session.post(
                self.target + "/load_model", json={"model_name": model}
            ) as resp:
                await resp.read()

    async def unload_all(self) -> None:
        """Unload every resident model on the board."""
        for model in await self.resident():
            async with self.session.post(
                self.target + "/unload_model", json={"model_name": model}
            ) as resp:
                await resp.read()


def _local_epoch(text: str) -> float:
    """Parse upstream's `/api/ps` local time (`%Y-%m-%d %H:%M:%S.%f`); 0 when unreadable."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").astimezone().timestamp()
    except ValueError:
        return 0.0
