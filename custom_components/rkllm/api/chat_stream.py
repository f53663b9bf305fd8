"""One streamed answer: send the request, translate its lines, drain what is left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from http import HTTPStatus
import time

import aiohttp

from .exceptions import (
    RkllamaConnectionError,
    RkllamaDeadlineError,
    RkllamaTaskError,
    RkllamaTimeoutError,
)
from .models import ChatChunk, JsonObject
from .stream import read_bounded, read_json_lines
from .timeouts import StreamLimits
from .translate import LegacyTranslator, OllamaTranslator
from .transport import DEFAULT_MAX_BODY_BYTES, Transport, raise_for_auth

type Pending = aiohttp.ClientResponse | asyncio.Task[aiohttp.ClientResponse]


class ChatStream:
    """Read one answer to its end, even when its reader leaves early.

    Upstream rkllama kills a model's worker when its client disconnects mid-answer, and the
    model then hangs for a minute: whatever the reader does, the rest is drained.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        translator: OllamaTranslator | LegacyTranslator,
        *,
        max_line_bytes: int,
        deadline: float | None,
        limits: StreamLimits | None = None,
        lock: asyncio.Lock | None = None,
    ) -> None:
        """Prepare; nothing is sent before `run()`. `lock` is held until the answer ends.

        `limits` replace the transport's first-line and gap limits for this answer.
        """
        self.transport = transport
        timeouts = transport.timeouts
        self.limits = limits or StreamLimits(timeouts.first_chunk, timeouts.idle)
        self.path = path
        self.translator = translator
        self.max_line_bytes = max_line_bytes
        self.deadline = deadline
        self.lock = lock
        self.loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        self.handed = False

    async def run(self, payload: JsonObject) -> AsyncGenerator[ChatChunk]:
        """Yield the answer's chunks; every path out leaves the response read or draining."""
        if self.lock is not None:
            await self.lock.acquire()
        try:
            response = await self._open(payload)
        except BaseException:
            if not self.handed:
                self._release()
            raise
        finished = False
        what = f"POST {self.path}"
        try:
            if response.status != HTTPStatus.OK:
                body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                finished = True
                raise_for_auth(response.status, body, what)
                raise self.transport.status_error(response.status, body, what)
            async for chunk in self._translate(response):
                yield chunk
            finished = True
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as err:
            finished = True
            raise self.transport.connection_error("the answer broke off", err) from err
        finally:
            if finished or response.closed:
                response.release()
                self._release()
            else:
                self._hand_over(response)

    async def _open(self, payload: JsonObject) -> aiohttp.ClientResponse:
        """Send the request and wait for the headers (model load and prefill included)."""
        transport = self.transport
        sending = self.loop.create_task(
            transport.open_stream(self.path, payload), name="rkllama stream request"
        )
        limit = self.loop.time() + self.limits.first_chunk
        if self.deadline is not None:
            limit = min(limit, self.deadline)
        try:
            return await self._first_line(sending, limit)
        except TimeoutError as err:
            self._hand_over(sending)
            what = f"POST {self.path} at {transport.address}"
            if self.deadline is not None and self.loop.time() >= self.deadline:
                raise RkllamaDeadlineError(f"{what}: the answer took longer than allowed") from err
            raise RkllamaTimeoutError(f"{what}: no answer in time") from err
        except asyncio.CancelledError:
            self._hand_over(sending)
            raise
        except (aiohttp.ClientError, OSError) as err:
            raise transport.connection_error("cannot reach", err) from err

    async def _first_line(
        self, sending: asyncio.Task[aiohttp.ClientResponse], limit: float
    ) -> aiohttp.ClientResponse:
        """Wait for the headers until `limit`, extended once when `limits.recheck` says so.

        The recheck starts halfway to the limit, so a silent server is given up on time.

        Raises:
            TimeoutError: no headers by the (extended) limit.

        """
        recheck = self.limits.recheck
        if recheck is None:
            async with asyncio.timeout_at(limit):
                return await asyncio.shield(sending)
        halfway = self.loop.time() + (limit - self.loop.time()) / 2
        try:
            async with asyncio.timeout_at(halfway):
                return await asyncio.shield(sending)
        except TimeoutError:
            pass
        check = self.loop.create_task(recheck(), name="rkllama late first line")
        try:
            async with asyncio.timeout_at(limit):
                return await asyncio.shield(sending)
        except TimeoutError:
            extra = check.result() if check.done() and check.exception() is None else 0.0
            if extra <= 0 or (self.deadline is not None and self.loop.time() >= self.deadline):
                raise
        finally:
            check.cancel()
        extended = self.loop.time() + extra
        if self.deadline is not None:
            extended = min(extended, self.deadline)
        async with asyncio.timeout_at(extended):
            return await asyncio.shield(sending)

    def _hand_over(self, pending: Pending) -> None:
        """Let a background drain finish the answer; it releases the lock at its end."""
        self.handed = True
        self.transport.drain_later(pending, self._release)

    def _release(self) -> None:
        if self.lock is not None and self.lock.locked():
            self.lock.release()

    async def _translate(self, response: aiohttp.ClientResponse) -> AsyncIterator[ChatChunk]:
        """Turn the response's lines into chunks; end with one `done` chunk carrying stats."""
        translator = self.translator
        limits = self.limits
        lines = read_json_lines(
            response,
            first_timeout=max(0.0, limits.first_chunk - (time.monotonic() - self.started)),
            idle_timeout=limits.idle,
            max_line_bytes=self.max_line_bytes,
            deadline=self.deadline,
            what=f"POST {self.path}",
        )
        first_at: float | None = None
        produced = False
        async for line in lines:
            chunk = translator.chunk(line)
            if first_at is None and (chunk.content or chunk.tool_calls or chunk.done):
                first_at = time.monotonic()
            if chunk.done:
                self._check_produced(produced)
                yield replace(chunk, stats=translator.stats(self.started, first_at or self.started))
                return
            if chunk.content or chunk.thinking or chunk.tool_calls:
                produced = True
                yield chunk
        if not translator.legacy:
            raise RkllamaConnectionError(
                f"the stream from {self.transport.address}{self.path} ended before its final chunk"
            )
        self._check_produced(produced)
        yield ChatChunk(done=True, stats=translator.stats(self.started, first_at or self.started))

    def _check_produced(self, produced: bool) -> None:
        """Refuse an answer that ended without a piece: the runtime refused the task.

        The RKLLM runtime answers nothing (and upstream rkllama then reports the previous
        answer's figures) when the prompt is over the model's context window.
        """
        if not produced:
            raise RkllamaTaskError(
                f"POST {self.path} at {self.transport.address}: the model answered nothing "
                "(is the prompt longer than the model's context window?)"
            )
