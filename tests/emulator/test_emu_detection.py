"""Flavour detection routes and common transport facts (spec sections 1-3)."""

from __future__ import annotations

import re

import aiohttp
import pytest

from rkllama_emulator import Flavour

WELCOME_OLLAMA = "Welcome to RKLLama with Ollama API compatibility!"


@pytest.mark.parametrize(
    "case",
    [
        (Flavour.OLLAMA, WELCOME_OLLAMA, 200, 200),
        (Flavour.OLLAMA_SINGLE, WELCOME_OLLAMA, 200, 404),
        (Flavour.LEGACY, "Welcome to RKLLama !", 404, 404),
    ],
    ids=["ollama", "ollama-single", "legacy"],
)
async def test_detection_routes(make_emulator, http: aiohttp.ClientSession, case) -> None:
    flavour, welcome, version, ps_status = case
    emu = await make_emulator(flavour=flavour)
    async with http.get(f"{emu.url}/") as response:
        assert response.status == 200
        assert response.headers["Connection"] == "close"
        assert await response.text() == (
            '{"github":"https://github.com/notpunhnox/rkllama","message":"' + welcome + '"}\n'
        )
    async with http.get(f"{emu.url}/api/version") as response:
        assert response.status == version
        if version == 200:
            expected = "0.0.74" if flavour is Flavour.OLLAMA else "0.5.1"
            assert await response.json() == {"version": expected}
        else:
            assert response.content_type == "text/html"
    async with http.get(f"{emu.url}/api/ps") as response:
        assert response.status == ps_status
    async with http.get(f"{emu.url}/current_model") as response:
        assert response.status == 404  # nothing loaded, or the route is gone (upstream)


async def test_unknown_route_and_wrong_method_are_html(emulator, http) -> None:
    async with http.get(f"{emulator.url}/nope") as response:
        assert response.status == 404
        assert response.content_type == "text/html"
        assert "<title>404 Not Found</title>" in await response.text()
    async with http.get(f"{emulator.url}/api/chat") as response:
        assert response.status == 405
        assert "<title>405 Method Not Allowed</title>" in await response.text()


async def test_cors_only_upstream(make_emulator, http) -> None:
    upstream = await make_emulator()
    legacy = await make_emulator(flavour=Flavour.LEGACY)
    async with http.get(f"{upstream.url}/") as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    async with http.get(f"{legacy.url}/") as response:
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_models_and_tags(emulator, http) -> None:
    async with http.get(f"{emulator.url}/models") as response:
        assert (await response.json())["models"] == [
            "DeepSeek-R1-1.5B",
            "Phi-3-mini",
            "Qwen2.5-1.5B",
            "Qwen2.5-1.5B-Instruct",
            "Qwen2.5-3B",
            "Qwen3-0.6B",
            "Qwen3-1.7B",
            "Qwen3-4B",
        ]
    async with http.get(f"{emulator.url}/api/tags") as response:
        models = (await response.json())["models"]
    phi = next(m for m in models if m["name"] == "Phi-3-mini")
    assert phi["details"] == {
        "format": "rkllm",
        "family": "llama",
        "parameter_size": "3.8B",
        "quantization_level": "Q8_0",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", phi["modified_at"])
    assert phi["digest"] == ""
    assert phi["size"] > 0


async def test_show(emulator, http) -> None:
    async with http.post(f"{emulator.url}/api/show", json={"model": "Qwen2.5-3B"}) as response:
        body = await response.json()
    assert body["details"]["parent_model"] == "Qwen/Qwen2.5-3B-Instruct"
    assert body["details"]["family"] == "qwen2"
    assert body["model_info"]["qwen2.context_length"] == 32768
    assert body["capabilities"] == ["completion", "tools"]
    async with http.post(f"{emulator.url}/api/show", data="{'name': 'Phi-3-mini'}") as response:
        assert "tools" in (await response.json())["capabilities"]
    async with http.post(f"{emulator.url}/api/show", json={"model": "DeepSeek-R1-1.5B"}) as resp:
        assert (await resp.json())["capabilities"] == ["completion"]
    async with http.post(f"{emulator.url}/api/show", json={"model": "missing"}) as response:
        assert response.status == 500
        assert response.content_type == "text/html"
