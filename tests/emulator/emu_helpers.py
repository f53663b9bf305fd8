"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

QWEN = "Qwen2.5-1.5B-Instruct"
DEEPSEEK = "DeepSeek-R1-1.5B"
TURN_ON_TOOL = {
    "type": "function",
    "function": {
        "name": "HassTurnOn",
        "description": "Turns on a device",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}


def user(text: str) -> dict[str, str]:
    """Return a user message."""
    return {"role": "user", "content": text}


async def ndjson(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    """Read a whole NDJSON stream."""
    text = await response.text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


async def chat(
    session: aiohttp.ClientSession, url: str, **body: Any
) -> tuple[int, list[dict[str, Any]]]:
    """POST /api/chat (streaming unless told otherwise); return status and lines/body."""
    body.setdefault("model", QWEN)
    async with session.post(f"{url}/api/chat", json=body) as response:
        if response.content_type == "application/x-ndjson":
            return response.status, await ndjson(response)
        return response.status, [await response.json(content_type=None)]


def content_of(lines: list[dict[str, Any]]) -> str:
    """Join the streamed message contents."""
    return "".join(line["message"]["content"] for line in lines)
