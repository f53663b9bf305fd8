"""Each side's own client, without Home Assistant: the same recorded request sent straight.

Ours: the integration's `RkllamaClient` (independent of Home Assistant). The peer: the
`ollama` Python library that Home Assistant's ollama integration uses.
"""

from __future__ import annotations

import importlib
from typing import Any

import aiohttp
import ollama

from bench_lib.server import ServerRecord
from demo_lib.procs import DemoError

# Imported by name: mypy checks the integration as the package `rkllm` (custom_components has
# no __init__.py), so a static import from here would make it see the files twice.
_API: Any = importlib.import_module("custom_components.rkllm.api")

_OPTION_FIELDS = ("temperature", "top_p", "top_k", "repeat_penalty", "num_predict", "num_ctx")


def _message(data: dict[str, Any]) -> Any:
    calls = tuple(
        _API.ToolCall(
            name=str((call.get("function") or call).get("name")),
            arguments=dict((call.get("function") or call).get("arguments") or {}),
        )
        for call in data.get("tool_calls") or []
        if isinstance(call, dict)
    )
    return _API.ChatMessage(
        _API.MessageRole(str(data["role"])),
        str(data.get("content") or ""),
        tool_calls=calls,
        tool_name=data.get("tool_name"),
    )


async def ours_client(url: str, session: aiohttp.ClientSession) -> Any:
    """Return our client (an RkllamaClient) for ``url``, its server flavour detected."""
    client = _API.RkllamaClient(url, session=session)
    await client.detect()
    return client


async def ours_chat(client: Any, record: ServerRecord) -> int:
    """Stream the recorded request with RkllamaClient; return the chunks received."""
    options = {k: v for k, v in (record.options or {}).items() if k in _OPTION_FIELDS}
    chunks = 0
    async for _chunk in client.chat(
        [_message(m) for m in record.messages],
        model=record.model,
        options=_API.ChatOptions(**options) if options else None,
    ):
        chunks += 1
    if not chunks:
        raise DemoError("the direct rkllama request returned nothing")
    return chunks


def peer_client(url: str) -> ollama.AsyncClient:
    """Return the ollama library's client for ``url``."""
    return ollama.AsyncClient(host=url)


async def peer_chat(client: ollama.AsyncClient, record: ServerRecord) -> int:
    """Stream the recorded request with the ollama library; return the chunks received."""
    chunks = 0
    stream = await client.chat(
        model=record.model,
        messages=record.messages,
        tools=record.raw_tools,
        stream=True,
        options=record.options,
    )
    async for _part in stream:
        chunks += 1
    if not chunks:
        raise DemoError("the direct ollama request returned nothing")
    return chunks
