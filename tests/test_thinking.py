"""Qwen3 thinks only when the agent asks: off for voice by default, an option turns it on."""

from __future__ import annotations

from homeassistant.components import conversation
from homeassistant.const import CONF_MODEL, CONF_PROMPT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.const import CONF_THINK
from custom_components.rkllm.models import find_known_model, model_profile
from rkllama_emulator import RkllamaEmulator

from .conftest import say, speech, stored_log

QWEN3 = "Qwen3-1.7B"


def test_qwen3_catalogue() -> None:
    """The three Qwen3 sizes, with their tokenizers and the server's context window."""
    for size in ("0.6B", "1.7B", "4B"):
        known = find_known_model(f"Qwen3-{size}-rk3588-w8a8")
        assert known is not None
        assert known.tokenizer == f"Qwen/Qwen3-{size}"
        assert known.context_length == 4096
        assert known.hybrid_thinking
        assert not known.reasoning
    assert model_profile("qwen3:1.7b").hybrid_thinking
    assert not model_profile("Qwen2.5-3B").hybrid_thinking


@pytest.mark.parametrize(
    "conversation_subentry_data", [{CONF_MODEL: QWEN3, CONF_PROMPT: "Answer briefly."}]
)
@pytest.mark.usefixtures("init_integration")
async def test_thinking_off_by_default(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """`think: false` is sent (the Modelfile says think); no reasoning is generated."""
    result = await say(hass, mock_config_entry, "What is 145 + 278?")
    assert speech(result) == "145 + 278 = 423."
    record = emulator.requests[-1]
    assert record.think is False
    assert record.prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "<think>" not in record.reply
    last = stored_log(hass, result.conversation_id)[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert not last.thinking_content


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [{CONF_MODEL: QWEN3, CONF_PROMPT: "Answer briefly.", CONF_THINK: True}],
)
@pytest.mark.usefixtures("init_integration")
async def test_thinking_on_goes_to_the_chat_log_never_spoken(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """The option sends `think: true`; the reasoning lands in thinking content, unspoken."""
    result = await say(hass, mock_config_entry, "What is 145 + 278?")
    assert speech(result) == "145 + 278 = 423."
    record = emulator.requests[-1]
    assert record.think is True
    assert "</think>" in record.reply
    last = stored_log(hass, result.conversation_id)[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert last.content == "145 + 278 = 423."
    assert "The user wrote" in (last.thinking_content or "")
