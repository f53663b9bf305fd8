"""Client tests need no Home Assistant instance: the client against emulators on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from aiohttp import web
import pytest

from custom_components.rkllm.api import ChatChunk, ChatMessage, MessageRole, RkllamaClient
from rkllama_emulator import EmulatorConfig, RkllamaEmulator

MODEL = "Qwen2.5-1.5B-Instruct"
OTHER = "Qwen2.5-3B"

type StartEmulator = Callable[..., Awaitable[RkllamaEmulator]]
type RawServer = Callable[[web.Application], Awaitable[str]]


def ask(text: str) -> list[ChatMessage]:
    """Return a one-question conversation."""
    return [ChatMessage(MessageRole.USER, text)]


async def collect(stream: AsyncIterator[ChatChunk]) -> list[ChatChunk]:
    """Read a whole stream."""
    return [chunk async for chunk in stream]


async def cancel_mid_answer(client: RkllamaClient, text: str) -> None:
    """Start reading an answer in a task and cancel that task after the first chunk."""
    started = asyncio.Event()

    async def read() -> None:
        async for _chunk in client.chat(ask(text), model=MODEL):
            started.set()

    task = asyncio.create_task(read())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the root fixture: no `hass` here."""


@pytest.fixture
async def client(emulator: RkllamaEmulator) -> AsyncIterator[RkllamaClient]:
    """Return a client (owning its session) for the emulator."""
    async with RkllamaClient(emulator.url) as rk_client:
        yield rk_client


@pytest.fixture
async def start_emulator(
    emulator_config: EmulatorConfig, socket_enabled: None
) -> AsyncIterator[StartEmulator]:
    """Start extra emulators with changed knobs; all are stopped at the end."""
    started: list[RkllamaEmulator] = []

    async def start(**changes: object) -> RkllamaEmulator:
        emu = RkllamaEmulator(replace(emulator_config, **changes))
        await emu.start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        await emu.stop()


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncIterator[RawServer]:
    """Serve a hand-written aiohttp app on 127.0.0.1 (for quirks the emulator lacks)."""
    runners: list[web.AppRunner] = []

    async def serve(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()
