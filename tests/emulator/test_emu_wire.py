"""NDJSON and body shapes of the upstream Ollama-style routes (spec 5.3-5.6, 5.8)."""

from __future__ import annotations

import re

from emu_helpers import QWEN, chat, content_of, user

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
PS_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
FINAL_KEYS = [
    "model",
    "created_at",
    "message",
    "done",
    "done_reason",
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
]


async def test_chat_stream_lines_and_final_stats(emulator, http) -> None:
    status, lines = await chat(http, emulator.url, messages=[user("What is 145 + 278?")])
    assert status == 200
    *pieces, final = lines
    assert content_of(pieces) == "145 + 278 = 423."
    assert len(pieces) == 14  # real Qwen pieces: one per digit
    for line in pieces:
        assert list(line) == ["model", "created_at", "message", "done"]
        assert line["done"] is False
        assert line["message"]["role"] == "assistant"
        assert ISO_Z.fullmatch(line["created_at"])
    assert list(final) == FINAL_KEYS
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["load_duration"] == 100_000_000
    assert final["eval_count"] == 14
    assert final["prompt_eval_count"] == emulator.requests[-1].prompt_tokens > 0
    assert isinstance(final["eval_duration"], int)
    assert final["eval_duration"] * 1000 < final["total_duration"]


async def test_chat_stream_is_raw_ndjson_with_spaces(emulator, http) -> None:
    body = {"model": QWEN, "messages": [user("hi")]}
    async with http.post(f"{emulator.url}/api/chat", json=body) as response:
        assert response.headers["Content-Type"] == "application/x-ndjson"
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.headers["Connection"] == "close"
        first = (await response.content.readline()).decode()
    assert first.startswith('{"model": "Qwen2.5-1.5B-Instruct", "created_at": "')
    assert first.endswith('"done": false}\n')


async def test_board_timing_units(make_emulator, http) -> None:
    from rkllama_emulator import Timing  # noqa: PLC0415

    emu = await make_emulator(
        timing=Timing(
            load_seconds=0.05, prefill_tokens_per_second=1000, decode_tokens_per_second=200
        )
    )
    _, lines = await chat(http, emu.url, messages=[user("What is 145 + 278?")])
    final = lines[-1]
    prompt_ms = final["prompt_eval_count"] / 1000 * 1000
    assert abs(final["prompt_eval_duration"] - prompt_ms) <= 2
    assert 20 <= final["eval_duration"] <= 250  # 5 pieces at 200/s = 25 ms
    assert final["total_duration"] > final["eval_duration"] * 1_000_000
    assert final["load_duration"] == 100_000_000
    assert emu.loads == [(QWEN, 0.05)]


async def test_chat_non_stream_body(emulator, http) -> None:
    async with http.post(
        f"{emulator.url}/api/chat",
        json={"model": QWEN, "stream": False, "messages": [user("hello there")]},
    ) as response:
        assert response.content_type == "application/json"
        text = await response.text()
        body = await response.json()
    assert text.startswith('{"created_at":"')  # jsonify: compact and sorted
    assert body["message"] == {"role": "assistant", "content": "You said: hello there"}
    assert body["done"] is True
    assert body["done_reason"] == "stop"
    assert body["eval_count"] == 5  # You| said|:| hello| there (real Qwen pieces)
    assert sorted(body) == sorted(FINAL_KEYS)


async def test_generate_routes(emulator, http) -> None:
    url = f"{emulator.url}/api/generate"
    async with http.post(url, json={"model": QWEN, "prompt": "What is 6 x 7?"}) as response:
        lines = [line for line in (await response.text()).splitlines() if line]
    assert '"response": "6"' in lines[0]
    assert '"done": true' in lines[-1]
    assert '"context"' not in lines[-1]
    async with http.post(url, json={"model": QWEN, "prompt": "hi", "stream": False}) as response:
        body = await response.json()
    assert body["response"] == "You said: hi"
    assert body["context"] == []
    assert body["done_reason"] == "stop"
    assert emulator.resident_models() == [QWEN]
    async with http.post(url, json={"model": QWEN, "prompt": ""}) as response:
        assert await response.text() == '{"model":"Qwen2.5-1.5B-Instruct","unload":true}\n'
    assert emulator.resident_models() == []
    assert emulator.unloads == [QWEN]
    async with http.post(url, json={"model": "never-loaded"}) as response:
        assert await response.json() == {"model": "never-loaded", "unload": True}


async def test_chat_errors(emulator, http) -> None:
    status, body = await chat(http, emulator.url, model="nope", messages=[user("hi")])
    assert status == 500
    assert body == [{"error": "Failed to load model 'nope': Model directory 'nope' not found."}]
    async with http.post(f"{emulator.url}/api/chat", json={"messages": []}) as response:
        assert response.status == 500
        assert "join() argument must be str" in (await response.json())["error"]
    async with http.post(f"{emulator.url}/api/chat", data=b"") as response:
        assert response.status == 400
        assert response.content_type == "text/html"
    async with http.post(f"{emulator.url}/api/chat", data=b'{"model": "x"') as response:
        assert response.status == 400


async def test_namespace_prefix_is_stripped(emulator, http) -> None:
    status, lines = await chat(http, emulator.url, model=f"library/{QWEN}", messages=[user("a")])
    assert status == 200
    assert lines[-1]["model"] == QWEN


async def test_native_model_routes(emulator, http) -> None:
    url = emulator.url
    async with http.post(f"{url}/load_model", json={"model_name": QWEN}) as response:
        assert await response.json() == {"message": f"Model {QWEN} loaded successfully."}
    async with http.post(f"{url}/load_model", json={"model_name": QWEN}) as response:
        assert response.status == 200
        assert await response.json() == {"error": "A model is already loaded. Nothing to do."}
    async with http.post(f"{url}/load_model", json={"model_name": "Phi-3-mini"}) as response:
        assert response.status == 200
    async with http.post(f"{url}/load_model", json={}) as response:
        assert response.status == 400
    async with http.post(f"{url}/load_model", json={"model_name": "zz"}) as response:
        assert response.status == 400
        assert await response.json() == {"error": "Model directory 'zz' not found."}
    async with http.get(f"{url}/current_models") as response:
        models = (await response.json())["models"]
    assert [m["name"] for m in models] == [QWEN, "Phi-3-mini"]
    assert [m["base_domain_id"] for m in models] == [[9], [8]]
    assert PS_TIME.fullmatch(models[0]["expires_at"])
    assert PS_TIME.fullmatch(models[0]["loaded_at"])
    assert models[0]["details"]["families"] == ["llama"]
    async with http.post(f"{url}/unload_model") as response:
        assert response.status == 400
        assert response.content_type == "text/html"
    async with http.post(f"{url}/unload_model", json={"model_name": "Phi-3-mini"}) as response:
        assert await response.json() == {"message": "Model Phi-3-mini successfully unloaded!"}
    async with http.post(f"{url}/unload_model", json={"model_name": "Phi-3-mini"}) as response:
        assert response.status == 400
        assert await response.json() == {"error": "No model Phi-3-mini are currently loaded."}
    async with http.post(f"{url}/unload_models") as response:
        assert await response.json() == {"message": "Models successfully unloaded!"}
    assert emulator.resident_models() == [QWEN]
    async with http.post(f"{url}/generate", json={"messages": [user("hi")]}) as response:
        assert response.status == 500
        assert response.content_type == "text/html"


async def test_keep_alive_is_ignored(emulator, http) -> None:
    await chat(http, emulator.url, messages=[user("a")], keep_alive=0)
    assert emulator.resident_models() == [QWEN]


async def test_options_num_predict_and_float_pathology(emulator, http) -> None:
    question = "Is 17 a prime number? Explain."
    _, lines = await chat(http, emulator.url, messages=[user(question)], options={"num_predict": 7})
    assert lines[-1]["eval_count"] == 7
    status, body = await chat(
        http, emulator.url, stream=False, messages=[user("hi")], options={"top_k": 40.0}
    )
    assert status == 200
    assert body[0]["message"]["content"] == ""
    assert body[0]["eval_count"] == 7  # the previous request's metrics
