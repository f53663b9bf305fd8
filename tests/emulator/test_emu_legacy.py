"""The fork flavour (spec section 4) and the single-model Ollama era."""

from __future__ import annotations

import asyncio
import json

from emu_helpers import DEEPSEEK, QWEN, chat, user

from rkllama_emulator import Flavour

LEGACY_CHUNK_KEYS = ["id", "object", "created", "choices", "usage"]


async def _load(http, url: str, name: str = QWEN) -> int:
    async with http.post(f"{url}/load_model", json={"model_name": name}) as response:
        return response.status


async def test_legacy_model_management(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    url = emu.url
    async with http.get(f"{url}/current_model") as response:
        assert response.status == 404
        assert await response.json() == {"error": "No models are currently loaded."}
    async with http.post(f"{url}/generate", json={"messages": [user("hi")]}) as response:
        assert response.status == 400
        assert await response.json() == {"error": "No models are currently loaded."}
    async with http.post(f"{url}/load_model", data=json.dumps({"model_name": QWEN})) as response:
        assert response.status == 415  # no JSON content type
    assert await _load(http, url) == 200
    async with http.get(f"{url}/current_model") as response:
        assert await response.json() == {"model_name": QWEN}
    async with http.post(f"{url}/load_model", json={"model_name": "Phi-3-mini"}) as response:
        assert response.status == 400
        assert await response.json() == {
            "error": "A model is already loaded. Please unload it first."
        }
    async with http.delete(f"{url}/rm", json={"model": QWEN}) as response:
        assert response.status == 500
    async with http.post(f"{url}/unload_model") as response:
        assert await response.json() == {"message": "Model successfully unloaded!"}
    async with http.post(f"{url}/unload_model") as response:
        assert response.status == 400
    async with http.post(f"{url}/load_model", json={"model_name": "zz"}) as response:
        assert await response.json() == {"error": "Model directory 'zz' not found."}
    assert emu.loads == [(QWEN, emu.config.timing.load_seconds)]
    assert emu.unloads == [QWEN]


async def test_legacy_stream_has_no_final_chunk(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    await _load(http, emu.url)
    body = {"messages": [user("What is 145 + 278?")], "stream": True}
    async with http.post(f"{emu.url}/generate", json=body) as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        raw = await response.text()
    assert raw.endswith("}\n\n")
    chunks = [json.loads(part) for part in raw.split("\n\n") if part]
    assert "".join(c["choices"][0]["content"] for c in chunks) == "145 + 278 = 423."
    assert all(list(c) == LEGACY_CHUNK_KEYS for c in chunks)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert [c["usage"]["completion_tokens"] for c in chunks] == list(range(1, 15))  # 1|4|5| +|…
    assert chunks[0]["usage"]["tokens_per_second"] == 0.0
    prompt = chunks[0]["usage"]["prompt_tokens"]
    assert prompt == emu.requests[-1].prompt_tokens
    assert "Tu es un assistant artificiel." in emu.requests[-1].prompt


async def test_legacy_non_stream_and_role_errors(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    await _load(http, emu.url)
    url = f"{emu.url}/generate"
    async with http.post(url, json={"messages": [user("hi")], "stream": 0}) as response:
        body = await response.json()
    assert body["choices"] == [
        {"content": "You said: hi", "finish_reason": "stop", "logprobs": None, "role": "assistant"}
    ]
    assert body["id"] == body["object"] == "rkllm_chat"
    assert body["created"] is None
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    system = [{"role": "system", "content": "Be brief."}, user("hi")]
    async with http.post(url, json={"messages": system}) as response:
        assert response.status == 500
        assert "<title>500 Internal Server Error</title>" in await response.text()
    async with http.post(url, json={"messages": [user("a"), user("b")]}) as response:
        assert response.status == 500
    async with http.post(url, json={"messages": "hi"}) as response:
        assert response.status == 500
    async with http.post(url, json={"stream": False}) as response:
        assert await response.json() == {"status": "error", "message": "Données JSON invalides !"}
    async with http.post(url, data=json.dumps({"messages": [user("hi")]})) as response:
        assert response.status == 415


async def test_legacy_multi_turn_memory(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    await _load(http, emu.url)
    messages = [
        user("Hi, my name is Ada."),
        {"role": "assistant", "content": "Hello Ada!"},
        user("What is my name?"),
    ]
    async with http.post(f"{emu.url}/generate", json={"messages": messages}) as response:
        assert (await response.json())["choices"][0]["content"] == "Your name is Ada."


async def test_legacy_deepseek_thinking_marker(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.LEGACY)
    await _load(http, emu.url, DEEPSEEK)
    async with http.post(f"{emu.url}/generate", json={"messages": [user("hi")]}) as response:
        content = (await response.json())["choices"][0]["content"]
    assert content.startswith("<think></think> (")
    assert content.endswith(" tokens)\nYou said: hi")


async def test_legacy_concurrent_streams_mix(make_emulator, http) -> None:
    from rkllama_emulator import Timing  # noqa: PLC0415

    emu = await make_emulator(
        flavour=Flavour.LEGACY,
        timing=Timing(
            load_seconds=0.0, prefill_tokens_per_second=1e6, decode_tokens_per_second=100
        ),
    )
    await _load(http, emu.url)

    async def stream(text: str) -> str:
        body = {"messages": [user(text)], "stream": True}
        async with http.post(f"{emu.url}/generate", json=body) as response:
            raw = await response.text()
        return "".join(
            json.loads(part)["choices"][0]["content"] for part in raw.split("\n\n") if part
        )

    first, second = await asyncio.gather(stream("alpha beta gamma"), stream("one two three"))
    assert emu.max_concurrent_inferences == 2
    assert "one" in first or "alpha" in second  # one token list shared by both streams


async def test_single_model_flavour_swaps(make_emulator, http) -> None:
    emu = await make_emulator(flavour=Flavour.OLLAMA_SINGLE)
    status, _ = await chat(http, emu.url, messages=[user("a")])
    assert status == 200
    status, _ = await chat(http, emu.url, model="Phi-3-mini", messages=[user("b")])
    assert status == 200
    assert emu.resident_models() == ["Phi-3-mini"]
    assert emu.unloads == [QWEN]
    async with http.get(f"{emu.url}/current_model") as response:
        assert await response.json() == {"model_name": "Phi-3-mini"}
    assert await _load(http, emu.url) == 400
