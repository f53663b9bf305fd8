"""Fault knobs: each one, and how `times` and clear_faults work."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
from emu_helpers import QWEN, chat, user
import pytest

from rkllama_emulator import Fault, Flavour

BODY = {"model": QWEN, "messages": [user("What is Python in one sentence?")]}


async def test_refuse_then_listen_again(emulator, http) -> None:
    url = emulator.url
    emulator.set_fault(Fault.REFUSE)
    with pytest.raises(aiohttp.ClientConnectorError):
        async with http.get(f"{url}/"):
            pass
    emulator.clear_faults()
    async with http.get(f"{url}/") as response:
        assert response.status == 200
    assert emulator.url == url


async def test_hang_until_cleared(emulator, http) -> None:
    emulator.set_fault(Fault.HANG)
    task = asyncio.create_task(chat(http, emulator.url, stream=False, messages=[user("yo")]))
    await asyncio.sleep(0.15)
    assert not task.done()
    emulator.clear_faults()
    status, [body] = await task
    assert status == 200
    assert body["message"]["content"] == "You said: yo"


async def test_hang_is_released_by_stop(make_emulator) -> None:
    emu = await make_emulator()
    emu.set_fault(Fault.HANG)
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(chat(session, emu.url, messages=[user("hi")]))
        await asyncio.sleep(0.1)
        await emu.stop()
        with pytest.raises(aiohttp.ClientError):
            await task


async def test_drop_mid_stream(emulator, http) -> None:
    emulator.set_fault(Fault.DROP_MID_STREAM, times=1)
    lines: list[dict] = []

    async def read() -> None:
        async with http.post(f"{emulator.url}/api/chat", json=BODY) as response:
            async for raw in response.content:
                lines.append(json.loads(raw))  # noqa: PERF401 - keep lines read before the error

    with pytest.raises(aiohttp.ClientPayloadError):
        await read()
    assert len(lines) == 3
    assert not any(line["done"] for line in lines)
    status, _ = await chat(http, emulator.url, messages=[user("again")])
    assert status == 200
    assert emulator.disconnects == 0


async def test_drop_non_stream(emulator, http) -> None:
    emulator.set_fault(Fault.DROP_MID_STREAM, times=1)
    with pytest.raises(aiohttp.ClientError):
        await chat(http, emulator.url, stream=False, messages=[user("hi")])


async def test_http_500_times(emulator, http) -> None:
    emulator.set_fault(Fault.HTTP_500, times=2)
    for _ in range(2):
        async with http.post(f"{emulator.url}/api/chat", json=BODY) as response:
            assert response.status == 500
            assert response.content_type == "text/html"
    assert emulator.active_faults() == []
    status, _ = await chat(http, emulator.url, messages=[user("hi")])
    assert status == 200


async def test_malformed_json(emulator, http) -> None:
    emulator.set_fault(Fault.MALFORMED_JSON, times=2)
    async with http.post(f"{emulator.url}/api/chat", json=BODY) as response:
        lines = (await response.text()).splitlines()
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])
    assert json.loads(lines[-1])["done"] is True
    async with http.post(f"{emulator.url}/api/chat", json={**BODY, "stream": False}) as response:
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.text())


async def test_slow_first_token(emulator, http) -> None:
    emulator.set_fault(Fault.SLOW_FIRST_TOKEN, times=1, delay=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http.post(f"{emulator.url}/api/chat", json=BODY) as response:
        await response.content.readline()
        assert loop.time() - start >= 0.2
        await response.read()


async def test_load_failures(make_emulator, http) -> None:
    emu = await make_emulator()
    emu.set_fault(Fault.LOAD_FAILURE, times=1)
    status, [body] = await chat(http, emu.url, messages=[user("hi")])
    assert status == 500
    assert body["error"].startswith(f"Failed to load model '{QWEN}': ")
    emu.set_fault(Fault.INVALID_MAGIC, times=1)
    async with http.post(f"{emu.url}/load_model", json={"model_name": QWEN}) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error.startswith(f"Unexpected Error loading the model {QWEN} into memory.")
    assert "invalid rknn llm model magic" in error
    emu.set_fault(Fault.INVALID_MAGIC, times=1)
    status, [body] = await chat(http, emu.url, messages=[user("hi")])
    assert "invalid rknn llm model magic" in body["error"]
    assert emu.loads == []
    legacy = await make_emulator(flavour=Flavour.LEGACY)
    legacy.set_fault(Fault.LOAD_FAILURE)
    async with http.post(f"{legacy.url}/load_model", json={"model_name": QWEN}) as response:
        assert response.status == 500
        assert response.content_type == "text/html"


async def test_huge_line(make_emulator, http) -> None:
    emu = await make_emulator(huge_line_bytes=3 * 1024 * 1024)
    emu.set_fault(Fault.HUGE_LINE, times=1)
    async with http.post(f"{emu.url}/api/chat", json=BODY) as response:
        raw = await response.read()
    assert len(raw) > 3 * 1024 * 1024
    assert b"\n" not in raw


async def test_not_rkllama(emulator, http) -> None:
    emulator.set_fault(Fault.NOT_RKLLAMA)
    async with http.get(f"{emulator.url}/") as response:
        assert response.content_type == "text/plain"
        assert await response.text() == "Ollama is running"
    async with http.get(f"{emulator.url}/api/version") as response:
        assert response.status == 404
    emulator.clear_faults()
    async with http.get(f"{emulator.url}/api/version") as response:
        assert response.status == 200


async def test_error_200(emulator, http) -> None:
    emulator.set_fault(Fault.ERROR_200, times=1)
    async with http.post(f"{emulator.url}/api/chat", json=BODY) as response:
        assert response.status == 200
        assert "error" in await response.json()


async def test_legacy_faults(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    async with http.post(f"{emu.url}/load_model", json={"model_name": QWEN}) as response:
        assert response.status == 200
    emu.set_fault(Fault.DROP_MID_STREAM, times=1)
    body = {"messages": [user("What is Python in one sentence?")], "stream": True}
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post(f"{emu.url}/generate", json=body) as response:
            await response.read()
    emu.set_fault(Fault.HTTP_500, times=1)
    async with http.post(f"{emu.url}/generate", json=body) as response:
        assert response.status == 500


async def test_silent_port_accepts_and_never_answers(emulator, http) -> None:
    url = emulator.url
    emulator.set_fault(Fault.SILENT_PORT)
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3), http.get(f"{url}/api/tags"):
            pass
    emulator.clear_faults()
    await asyncio.sleep(0.05)
    async with http.get(f"{url}/api/tags") as response:
        assert response.status == 200


async def test_faults_over_the_debug_routes(emulator, http) -> None:
    async with http.post(f"{emulator.url}/_emulator/fault", json={"fault": "hang"}) as response:
        assert response.status == 200
    assert emulator.active_faults() == [Fault.HANG]
    async with http.post(f"{emulator.url}/_emulator/fault", json={"fault": "nope"}) as response:
        assert response.status == 400
    async with http.post(f"{emulator.url}/_emulator/clear", json={}) as response:
        assert response.status == 200
    assert emulator.active_faults() == []


async def test_open_connections_are_counted(emulator) -> None:
    emulator.set_fault(Fault.HANG)
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(chat(session, emulator.url, messages=[user("hi")]))
        for _ in range(50):
            if emulator.open_connections:
                break
            await asyncio.sleep(0.02)
        assert emulator.open_connections == 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for _ in range(50):
        if not emulator.open_connections:
            break
        await asyncio.sleep(0.02)
    assert emulator.open_connections == 0  # the held handler does not count once closed
    emulator.clear_faults()
