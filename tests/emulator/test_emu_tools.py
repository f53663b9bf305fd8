"""Tool calls, the tools+stream hold-back and text-rendered tools (spec 5.5)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from emu_helpers import QWEN, TURN_ON_TOOL, chat, content_of, user

from rkllama_emulator import Timing

SLOW_DECODE = Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=100)
SLOWER_DECODE = Timing(load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=50)
LONG_TEXT = "hello there my good old friend from far away over the hills"  # 14 reply pieces
TOOL_CALL_TEXT = (
    '<tool_call>\n{"name": "HassTurnOn", "arguments": {"name": "kitchen light"}}\n</tool_call>'
)


async def timed_lines(http, url: str, body: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    """Stream /api/chat and note when each line arrived (seconds after the request)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with http.post(f"{url}/api/chat", json={"model": QWEN, **body}) as response:
        return [(loop.time() - start, json.loads(raw)) async for raw in response.content]


async def test_tool_call_stream_conversion(emulator, http) -> None:
    _, lines = await chat(
        http, emulator.url, tools=[TURN_ON_TOOL], messages=[user("Turn on the kitchen light.")]
    )
    assert len(lines) == 2
    call, final = lines
    assert call["done"] is False
    assert call["message"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"function": {"name": "HassTurnOn", "arguments": {"name": "kitchen light"}}}
        ],
    }
    assert final["done"] is True
    assert final["done_reason"] == "tool_calls"
    assert emulator.requests[-1].reply == TOOL_CALL_TEXT


async def test_tool_call_non_stream_conversion(emulator, http) -> None:
    _, [body] = await chat(
        http,
        emulator.url,
        stream=False,
        tools=[TURN_ON_TOOL],
        messages=[user("turn on kitchen light!")],
    )
    assert body["message"]["content"] == ""
    assert body["message"]["tool_calls"][0]["function"]["arguments"] == {"name": "kitchen light"}
    assert body["done_reason"] == "tool_calls"


async def test_tools_in_system_prompt_stream_as_text(emulator, http) -> None:
    system = {"role": "system", "content": "Tools: HassTurnOn, HassTurnOff. Answer with JSON."}
    _, lines = await chat(http, emulator.url, messages=[system, user("Turn off the Porch Lamp")])
    text = content_of(lines[:-1])
    assert text == (
        '<tool_call>\n{"name": "HassTurnOff", "arguments": {"name": "Porch Lamp"}}\n</tool_call>'
    )
    assert lines[-1]["done_reason"] == "stop"
    assert "tool_calls" not in lines[-1]["message"]


async def test_tool_result_confirmation(emulator, http) -> None:
    messages = [
        user("Turn on the kitchen light"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "HassTurnOn", "arguments": {"name": "kitchen light"}}}
            ],
        },
        {"role": "tool", "content": '{"success": true}'},
    ]
    _, [body] = await chat(http, emulator.url, stream=False, messages=messages)
    assert body["message"]["content"] == "Done, the kitchen light is on."
    assert "<tool_response>" in emulator.requests[-1].prompt


async def test_holdback_delays_short_plain_answer(make_emulator, http) -> None:
    emu = await make_emulator(timing=SLOW_DECODE, holdback_replay_seconds=0.03)
    body = {"tools": [TURN_ON_TOOL], "messages": [user("hello there friend")]}
    lines = await timed_lines(http, emu.url, body)
    pieces = lines[:-1]
    assert content_of([line for _, line in pieces]) == "You said: hello there friend"
    generation = len(pieces) / 100
    assert pieces[0][0] >= generation + 0.025  # nothing before the whole generation + 1 replay
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(pieces)]
    assert min(gaps) >= 0.015
    assert lines[-1][1]["total_duration"] / 1e9 >= generation + len(pieces) * 0.03 - 0.01


async def test_no_holdback_without_tools(make_emulator, http) -> None:
    emu = await make_emulator(timing=SLOWER_DECODE, holdback_replay_seconds=0.03)
    lines = await timed_lines(http, emu.url, {"messages": [user(LONG_TEXT)]})
    pieces = lines[:-1]
    generation = len(pieces) / 50
    # Live: the pieces arrive spread over the generation, not together at its end (what a
    # hold-back does). Relative, so a loaded machine that delays everything cannot fail it.
    assert pieces[0][0] < pieces[-1][0] / 2
    assert pieces[-1][0] - pieces[0][0] >= generation / 2


async def test_holdback_off_knob(make_emulator, http) -> None:
    emu = await make_emulator(timing=SLOWER_DECODE, tool_holdback=False)
    lines = await timed_lines(
        http, emu.url, {"tools": [TURN_ON_TOOL], "messages": [user(LONG_TEXT)]}
    )
    assert lines[0][0] < (len(lines) - 1) / 50 / 2


async def test_long_answer_goes_live_after_100_pieces(make_emulator, http) -> None:
    emu = await make_emulator(holdback_replay_seconds=0.002)
    body = {"tools": [TURN_ON_TOOL], "messages": [user("Is 17 a prime number? Explain.")]}
    lines = await timed_lines(http, emu.url, body)
    pieces = [line for _, line in lines[:-1]]
    assert len(pieces) > 150
    assert content_of(pieces).startswith("Yes, 17 is a prime number.")
    assert lines[-1][1]["done_reason"] == "stop"
    assert lines[100][0] >= 100 * 0.002
