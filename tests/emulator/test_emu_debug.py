"""GET /_emulator/requests: the emulator's records with wall-clock stamps (for benchmarks)."""

from __future__ import annotations

import time

import aiohttp
from emu_helpers import TURN_ON_TOOL, chat, user

from rkllama_emulator.__main__ import build_config, parse_args


async def test_debug_route_reports_records_with_ordered_stamps(
    emulator, http: aiohttp.ClientSession
) -> None:
    """Every stamp is set and in order; `since` pages; loads are listed."""
    before = time.time()
    status, _ = await chat(http, emulator.url, messages=[user("What is 145 + 278?")])
    assert status == 200
    await chat(
        http, emulator.url, messages=[user("Turn on the kitchen light")], tools=[TURN_ON_TOOL]
    )
    async with http.get(f"{emulator.url}/_emulator/requests") as response:
        assert response.status == 200
        data = await response.json()
    assert data["next"] == 2
    assert [load["model"] for load in data["loads"]] == ["Qwen2.5-1.5B-Instruct"]
    assert data["loads"][0]["loaded_by"]
    assert data["loads"][0]["at"] >= before
    first, second = data["requests"]
    assert first["index"] == 0
    assert second["index"] == 1
    for record in (first, second):
        stamps = [
            record[key]
            for key in (
                "arrived_at",
                "started_at",
                "first_token_at",
                "first_sent_at",
                "last_token_at",
                "ended_at",
            )
        ]
        assert before <= stamps[0] <= stamps[1] <= stamps[2] <= stamps[3] <= stamps[5], record
        assert stamps[2] <= stamps[4] <= stamps[5]
        assert record["prompt_tokens"] > 0
        assert "<|im_start|>user" in record["prompt"]
        assert record["queue_wait_seconds"] >= 0
    assert first["reply"] == "145 + 278 = 423."
    async with http.get(f"{emulator.url}/_emulator/requests?since=1") as response:
        paged = await response.json()
    assert [record["index"] for record in paged["requests"]] == [1]
    async with http.get(f"{emulator.url}/_emulator/requests?since=x") as response:
        assert response.status == 400


def test_cli_no_prompt_cache_turns_the_system_prompt_cache_off(tmp_path) -> None:
    """--no-prompt-cache: every prompt is prefilled in full (default: the cache is on)."""
    base = ["--models-dir", str(tmp_path)]
    assert build_config(parse_args(base)).system_prompt_cache is True
    assert build_config(parse_args([*base, "--no-prompt-cache"])).system_prompt_cache is False
