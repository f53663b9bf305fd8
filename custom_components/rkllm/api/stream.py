"""Bounded reading of rkllama response bodies and streamed JSON lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json

import aiohttp

from .exceptions import RkllamaMalformedResponseError
from .models import JsonObject


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


async def read_json_lines(
    response: aiohttp.ClientResponse,
    *,
    first_timeout: float,
    idle_timeout: float,
    max_line_bytes: int,
    what: str,
) -> AsyncIterator[JsonObject]:
    """Yield the JSON objects of a newline-delimited stream; blank lines are skipped.

    Covers both NDJSON (`/api/chat`) and the fork's blank-line separated objects. The first
    read may take `first_timeout` (model load + prefill); later gaps at most `idle_timeout`.
    A line over `max_line_bytes` or one that is not a JSON object raises
    RkllamaMalformedResponseError; a timeout raises TimeoutError.
    """
    buffer = bytearray()
    timeout = first_timeout
    while True:
        async with asyncio.timeout(timeout):
            data = await response.content.readany()
        if not data:
            break
        timeout = idle_timeout
        buffer += data
        lines = buffer.split(b"\n")
        buffer = bytearray(lines.pop())
        for raw in lines:
            if raw.strip():
                yield _parse_line(bytes(raw), what)
        if len(buffer) > max_line_bytes:
            raise RkllamaMalformedResponseError(
                f"{what}: a streamed line is longer than {max_line_bytes} bytes",
                status=response.status,
            )
    if buffer.strip():
        yield _parse_line(bytes(buffer), what)


def _parse_line(raw: bytes, what: str) -> JsonObject:
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise RkllamaMalformedResponseError(
            f"{what}: streamed line is not JSON: {raw[:120]!r}",
            body=raw[:200].decode("utf-8", "replace"),
        ) from err
    if not isinstance(value, dict):
        raise RkllamaMalformedResponseError(f"{what}: streamed line is not a JSON object")
    return value
