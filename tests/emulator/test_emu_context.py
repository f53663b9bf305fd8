"""A prompt over the model's context: the runtime generates nothing, as on a real server."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from emu_helpers import QWEN, TURN_ON_TOOL, chat, user
import pytest

from rkllama_emulator import Flavour

SMALL_CONTEXT = 64
LONG_ASK = "Please describe every room of the house in detail. " * 40  # about 500 tokens


def set_num_ctx(models_dir: Path, model: str, tokens: int) -> None:
    """Give a model's Modelfile another NUM_CTX (read when the model loads)."""
    path = models_dir / model / "Modelfile"
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines() if "NUM_CTX" not in line
    ]
    path.write_text("\n".join([*lines, f"NUM_CTX={tokens}"]) + "\n", encoding="utf-8")


@pytest.fixture
async def small(make_emulator, models_dir: Path):
    """Return an emulator whose Qwen was converted with a 64-token NUM_CTX."""
    set_num_ctx(models_dir, QWEN, SMALL_CONTEXT)
    return await make_emulator()


async def test_after_an_answer_the_refusal_is_empty_with_the_previous_metrics(
    small, http: aiohttp.ClientSession
) -> None:
    """The worker reports the previous generation's figures; both shapes say nothing."""
    _, first = await chat(http, small.url, messages=[user("hi")])
    previous = first[-1]["eval_count"]
    status, lines = await chat(http, small.url, messages=[user(LONG_ASK)], tools=[TURN_ON_TOOL])
    assert status == 200
    assert len(lines) == 1  # only the final line: no piece at all
    assert lines[0]["done"] is True
    assert lines[0]["message"]["content"] == ""
    assert lines[0]["eval_count"] == previous
    status, body = await chat(http, small.url, stream=False, messages=[user(LONG_ASK)])
    assert status == 200
    assert body[0]["message"]["content"] == ""
    assert body[0]["done_reason"] == "stop"
    assert body[0]["eval_count"] == previous
    refused = small.requests[-1]
    assert refused.reply == ""
    assert refused.prefill_seconds == 0.0
    assert refused.refusal is not None
    assert refused.refusal.startswith("prompt over the context (")
    assert refused.refusal.endswith(f" > {SMALL_CONTEXT} tokens)")


async def test_a_fresh_worker_fails_its_first_task(small, http: aiohttp.ClientSession) -> None:
    """No previous metrics: the worker's task error, in each delivery."""
    async with http.post(
        f"{small.url}/api/chat", json={"model": QWEN, "messages": [user(LONG_ASK)]}
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()  # the <RKLLM_TASK_ERROR> piece, then a cut chunked body
    await _unload(http, small.url)
    held = {"model": QWEN, "messages": [user(LONG_ASK)], "tools": [TURN_ON_TOOL]}
    async with http.post(f"{small.url}/api/chat", json=held) as response:
        # The piece was held back while tool calls were looked for: Werkzeug's 500 page.
        assert (response.status, response.content_type) == (500, "text/html")
    await _unload(http, small.url)
    status, body = await chat(http, small.url, stream=False, messages=[user(LONG_ASK)])
    assert (status, body) == (500, [{"error": ""}])  # the EOFError's empty text


async def test_a_prompt_within_the_context_is_answered(small, http) -> None:
    """The limit is the Modelfile's NUM_CTX: a short prompt still gets its answer."""
    status, lines = await chat(http, small.url, messages=[user("What is 145 + 278?")])
    assert status == 200
    assert "".join(line["message"]["content"] for line in lines) == "145 + 278 = 423."
    assert small.requests[-1].refusal is None


async def test_default_context_is_4096_tokens(emulator, http) -> None:
    """Without NUM_CTX the runtime's default 4096 applies; the seed's NUM_CTX is 4096 too."""
    await chat(http, emulator.url, messages=[user("hi")])
    near = "word " * 3900  # ceil(len / 4) plus the template stays under 4096
    _, lines = await chat(http, emulator.url, stream=False, messages=[user(near)])
    assert lines[0]["message"]["content"]
    _, lines = await chat(http, emulator.url, stream=False, messages=[user(near * 2)])
    assert lines[0]["message"]["content"] == ""
    assert emulator.requests[-1].refusal is not None
    assert emulator.requests[-1].refusal.endswith(" > 4096 tokens)")


async def test_legacy_fork_refuses_over_its_fixed_context(make_emulator, http) -> None:
    """The fork's context is always 4096: an empty stream, or an empty reply."""
    emu = await make_emulator(flavour=Flavour.LEGACY)
    async with http.post(f"{emu.url}/load_model", json={"model_name": QWEN}) as response:
        assert response.status == 200
    ask = {"messages": [user("word " * 8000)]}
    async with http.post(f"{emu.url}/generate", json={**ask, "stream": True}) as response:
        assert response.status == 200
        assert await response.text() == ""
    async with http.post(f"{emu.url}/generate", json=ask) as response:
        body = await response.json()
    assert body["choices"][0]["content"] == ""
    assert body["usage"]["completion_tokens"] == 0
    assert body["usage"]["prompt_tokens"] > 4096
    assert emu.requests[-1].refusal is not None


async def _unload(http: aiohttp.ClientSession, url: str) -> None:
    """Unload Qwen so its next request starts a fresh worker."""
    async with http.post(f"{url}/unload_model", json={"model_name": QWEN}) as response:
        assert response.status == 200
