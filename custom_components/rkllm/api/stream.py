"""Bounded reading of rkllama response bodies and streamed JSON lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json

import aiohttp

from .exceptions import (
    RkllamaDeadlineError,
    RkllamaMalformedResponseError,
    RkllamaTimeoutError,
)
from .models import JsonObject, JsonValue

_BLANK = b" \t\r\n"


async def read_bounded(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Return the whole body, refusing bodies larger than `max_bytes`."""
    body = bytearray()
    while chunk := await response.content.readany():
        body += chunk
        if len(body) > max_bytes:
            raise RkllamaMalformedResponseError(
                f"{response.method} {response.url.path}: body larger than {max_bytes} bytes",
                status=response.status,
            )
    return bytes(body)


def loads_or_none(raw: bytes | str) -> JsonValue:
    """Return the JSON value of `raw`, or None when it is not JSON (or nested too deeply)."""
    try:
        value: JsonValue = json.loads(raw)
    except ValueError, RecursionError:
        return None
    return value


async def read_json_lines(
    response: aiohttp.ClientResponse,
    *,
    first_timeout: float,
    idle_timeout: float,
    max_line_bytes: int,
    deadline: float | None,
    what: str,
) -> AsyncIterator[JsonObject]:
    """Yield the JSON objects of a newline-delimited stream; blank lines are skipped.

    Covers both NDJSON (`/api/chat`) and the fork's blank-line separated objects. The first
    line may take `first_timeout` (model load + prefill), later gaps at most `idle_timeout`.
    Only bytes that carry data restart that timer: a server (or proxy) sending keep-alive
    blank lines still times out. Nothing is read past `deadline` (event-loop time).

    Raises:
        RkllamaMalformedResponseError: a line is too long, not UTF-8, not JSON, nested too
            deeply or not a JSON object.
        RkllamaTimeoutError: no data within the limits.

    """
    loop = asyncio.get_running_loop()
    buffer = bytearray()
    quiet_until = loop.time() + first_timeout
    while True:
        limit = quiet_until if deadline is None else min(quiet_until, deadline)
        try:
            async with asyncio.timeout_at(limit):
                data = await response.content.readany()
        except TimeoutError as err:
            if limit != quiet_until:
                raise RkllamaDeadlineError(f"{what}: the answer took longer than allowed") from err
            raise RkllamaTimeoutError(f"{what}: no data within the time limit") from err
        if not data:
            break
        if data.strip(_BLANK):
            quiet_until = loop.time() + idle_timeout
        buffer += data
        lines = buffer.split(b"\n")
        buffer = bytearray(lines.pop())
        for raw in lines:
            if len(raw) > max_line_bytes:
                raise _too_long(what, max_line_bytes, response.status)
            if raw.strip(_BLANK):
                yield parse_line(bytes(raw), what)
        if len(buffer) > max_line_bytes:
            raise _too_long(what, max_line_bytes, response.status)
    if buffer.strip(_BLANK):
        yield parse_line(bytes(buffer), what)


def _too_long(what: str, max_line_bytes: int, status: int) -> RkllamaMalformedResponseError:
    return RkllamaMalformedResponseError(
        f"{what}: a streamed line is longer than {max_line_bytes} bytes", status=status
    )


def parse_line(raw: bytes, what: str) -> JsonObject:
    """Return the JSON object of one streamed line.

    Raises:
        RkllamaMalformedResponseError: not UTF-8, not JSON, too deep, or not an object.

    """
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RkllamaMalformedResponseError(f"{what}: a streamed line is not UTF-8") from err
    except RecursionError as err:
        raise RkllamaMalformedResponseError(
            f"{what}: a streamed line is nested too deeply"
        ) from err
    except ValueError as err:
        raise RkllamaMalformedResponseError(
            f"{what}: streamed line is not JSON: {raw[:120]!r}",
            body=raw[:200].decode("utf-8", "replace"),
        ) from err
    if not isinstance(value, dict):
        raise RkllamaMalformedResponseError(f"{what}: streamed line is not a JSON object")
    return value
