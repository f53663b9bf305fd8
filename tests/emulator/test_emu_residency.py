"""Loading, queueing, idle unload, eviction and the disconnect pathology (spec 5.2)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from emu_helpers import QWEN, chat, user
import pytest

from rkllama_emulator import Timing


def timing(load: float = 0.0, prefill: float = 1e6, decode: float = 2000) -> Timing:
    """Return a Timing for a test."""
    return Timing(
        load_seconds=load, prefill_tokens_per_second=prefill, decode_tokens_per_second=decode
    )


async def test_load_and_prefill_happen_before_any_byte(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(load=0.15, prefill=1000))
    loop = asyncio.get_running_loop()
    start = loop.time()
    body = {"model": QWEN, "messages": [user("hello")]}
    async with http.post(f"{emu.url}/api/chat", json=body) as response:
        headers_at = loop.time() - start
        text = await response.text()
    prompt_tokens = emu.requests[-1].prompt_tokens
    assert headers_at >= 0.15 + prompt_tokens / 1000 - 0.01
    assert text.count("\n") == 5  # You| said|:| hello (real Qwen pieces) + final line
    assert emu.loads == [(QWEN, 0.15)]


async def test_fifo_queue_records_wait(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(decode=200))
    await chat(http, emu.url, messages=[user("warm up")])

    async def one(text: str) -> dict:
        _, lines = await chat(http, emu.url, messages=[user(text)])
        return lines[-1]

    finals = await asyncio.gather(*(one(f"request number {i}") for i in range(3)))
    records = emu.requests[1:]  # arrival order = queue order
    waits = [record.queue_wait_seconds for record in records]
    assert waits[0] < waits[1] < waits[2]
    assert waits[2] >= 2 * 5 / 200 - 0.01  # two answers of >= 5 pieces ahead of it
    total_by_reply = {
        f"You said: request number {i}": final["total_duration"] for i, final in enumerate(finals)
    }
    totals = [total_by_reply[record.reply] for record in records]
    assert totals == sorted(totals)  # total_duration includes the queue wait
    assert emu.max_concurrent_inferences == 1


async def test_distinct_models_run_in_parallel(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(decode=100))
    await asyncio.gather(
        chat(http, emu.url, messages=[user("a b c d e")]),
        chat(http, emu.url, model="Phi-3-mini", messages=[user("a b c d e")]),
    )
    assert emu.max_concurrent_inferences == 2


async def test_idle_unload(make_emulator, http) -> None:
    emu = await make_emulator(idle_unload_seconds=0.15, idle_check_seconds=0.05)
    await chat(http, emu.url, messages=[user("hi")])
    assert emu.resident_models() == [QWEN]
    await asyncio.sleep(0.1)
    assert emu.resident_models() == [QWEN]
    await asyncio.sleep(0.2)
    assert emu.resident_models() == []
    assert emu.unloads == [QWEN]


async def test_lru_eviction(make_emulator, http) -> None:
    emu = await make_emulator(max_resident=2)
    for model in (QWEN, "Phi-3-mini", QWEN, "Qwen2.5-3B"):
        await chat(http, emu.url, model=model, messages=[user("hi")])
    assert emu.resident_models() == [QWEN, "Qwen2.5-3B"]
    assert emu.unloads == ["Phi-3-mini"]
    assert [name for name, _ in emu.loads] == [QWEN, "Phi-3-mini", "Qwen2.5-3B"]


async def test_system_prompt_cache_skips_prefill(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(prefill=2000))
    system = {"role": "system", "content": "You are a helpful home assistant. " * 20}
    _, first = await chat(http, emu.url, messages=[system, user("hi")])
    _, second = await chat(http, emu.url, messages=[system, user("hi again")])
    assert first[-1]["prompt_eval_duration"] > 3 * second[-1]["prompt_eval_duration"]
    assert second[-1]["prompt_eval_count"] > first[-1]["prompt_eval_count"] - 5


async def test_disconnect_kills_worker_until_reload(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(decode=100), dead_worker_seconds=0.5)
    body = {"model": QWEN, "messages": [user("What is Python in one sentence?")]}
    async with http.post(f"{emu.url}/api/chat", json=body) as response:
        await response.content.readline()
        response.close()
    for _ in range(60):
        if emu.disconnects:
            break
        await asyncio.sleep(0.05)
    assert emu.disconnects == 1
    assert emu.resident_models() == [QWEN]  # dead, but still listed
    async with http.get(f"{emu.url}/api/ps") as response:
        assert [m["name"] for m in (await response.json())["models"]] == [QWEN]
    loop = asyncio.get_running_loop()
    start = loop.time()
    status, _ = await chat(http, emu.url, messages=[user("hi")])
    assert status == 200
    assert loop.time() - start >= 0.25  # hung until the dead worker was removed
    assert [name for name, _ in emu.loads] == [QWEN, QWEN]


async def test_token_timeout_aborts(make_emulator, http) -> None:
    emu = await make_emulator(timing=timing(decode=50), token_timeout_seconds=0.2)
    long_body = {"model": QWEN, "messages": [user("Is 17 a prime number? Explain.")]}
    short = chat(http, emu.url, stream=False, messages=[user("hi")])

    async def long() -> str:
        async with http.post(f"{emu.url}/api/chat", json=long_body) as response:
            return await response.text()

    long_task = asyncio.create_task(long())
    await asyncio.sleep(0.05)
    status, [body] = await short
    await long_task
    assert status == 200
    assert body["message"]["content"] == "Aborted inference by Timeout (0.2 seconds). Try again."
    assert body["eval_count"] == 0
    assert body["prompt_eval_count"] == 0


async def test_stop_with_request_in_flight(make_emulator) -> None:
    emu = await make_emulator(timing=timing(decode=20))
    async with aiohttp.ClientSession() as session:
        body = {"model": QWEN, "messages": [user("Is 17 a prime number? Explain.")]}
        async with session.post(f"{emu.url}/api/chat", json=body) as response:
            assert json.loads(await response.content.readline())["done"] is False
            await emu.stop()
            # The answer in flight is cut, not finished, and nothing of it is left running.
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    assert not emu.state.handler_tasks
    assert not [task for task in emu.state.tasks if not task.done()]
