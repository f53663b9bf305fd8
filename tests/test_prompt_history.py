"""Context budget: token counting (tokenizer or estimate) and trimming of old turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components import conversation
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, MessageRole, ToolCall
from custom_components.rkllm.const import CONF_MAX_HISTORY, CONF_NUM_CTX, DOMAIN
from custom_components.rkllm.models import ModelProfile
from custom_components.rkllm.prompt.history import (
    MESSAGE_OVERHEAD_TOKENS,
    ContextTooSmallError,
    async_fit_history,
)
from custom_components.rkllm.prompt.tokens import (
    TokenCounter,
    async_get_tokenizer_cache,
    load_tokenizer,
)
from rkllama_emulator import RkllamaEmulator, create_seed_models

from .conftest import agent_id
from .home_helpers import build_tiny_tokenizer, count_words

TINY_MODEL = "tiny-chat-1b"
ANSWER_RESERVE = 512


def _turn(index: int, words: int = 20) -> list[ChatMessage]:
    text = " ".join(f"w{index}x{n}" for n in range(words))
    return [ChatMessage(MessageRole.USER, text), ChatMessage(MessageRole.ASSISTANT, text)]


async def test_trim_oldest_turns_first(hass: HomeAssistant) -> None:
    """The oldest turns go first; the current turn and the system prompt always stay."""
    counter = TokenCounter(None)  # estimate: 4 characters per token
    system = ChatMessage(MessageRole.SYSTEM, "s" * 400)  # 100 tokens
    history = [m for i in range(6) for m in _turn(i)] + [ChatMessage(MessageRole.USER, "now")]
    fitted = await async_fit_history(
        hass,
        counter,
        system,
        history,
        context_window=ANSWER_RESERVE + 450,
        answer_reserve=ANSWER_RESERVE,
        max_history=10,
    )
    assert fitted.messages[0] is system
    assert fitted.messages[-1].content == "now"
    assert fitted.tokens <= 450
    assert 0 < fitted.dropped_turns < 6
    kept = fitted.messages[1:-1]
    assert kept == history[2 * fitted.dropped_turns : -1]  # a contiguous, newest tail


async def test_max_history_and_tool_groups(hass: HomeAssistant) -> None:
    """At most max_history earlier turns; a tool call stays with its result."""
    counter = TokenCounter(None)
    call = ChatMessage(
        MessageRole.ASSISTANT, "", tool_calls=(ToolCall("intent__HassTurnOn", {"name": "x"}),)
    )
    result = ChatMessage(MessageRole.TOOL, '{"ok":1}', tool_name="intent__HassTurnOn")
    tool_turn = [ChatMessage(MessageRole.USER, "turn on x"), call, result]
    history = [*_turn(0), *tool_turn, ChatMessage(MessageRole.ASSISTANT, "Done."), *_turn(2)]
    history.append(ChatMessage(MessageRole.USER, "now"))
    fitted = await async_fit_history(
        hass, counter, None, history, context_window=10_000, answer_reserve=0, max_history=2
    )
    assert fitted.messages == history[2:]
    assert fitted.dropped_turns == 1
    none = await async_fit_history(
        hass, counter, None, history, context_window=10_000, answer_reserve=0, max_history=0
    )
    assert none.messages == history[-1:]


async def test_fixed_part_too_big(hass: HomeAssistant) -> None:
    """System prompt + current turn + answer reserve beyond the window: a clear error."""
    with pytest.raises(ContextTooSmallError, match="needs"):
        await async_fit_history(
            hass,
            TokenCounter(None),
            ChatMessage(MessageRole.SYSTEM, "s" * 4000),
            [ChatMessage(MessageRole.USER, "hi")],
            context_window=1024,
            answer_reserve=ANSWER_RESERVE,
            max_history=10,
        )


async def test_tiny_tokenizer_counts_exactly(hass: HomeAssistant, tmp_path: Path) -> None:
    """A real tokenizer counts tokens, in the executor, and renders the template's tools."""
    path = build_tiny_tokenizer(tmp_path / "tok")
    tokenizer = await hass.async_add_executor_job(load_tokenizer, str(path), str(tmp_path))
    counter = TokenCounter(str(path), tokenizer)
    assert counter.exact
    text = "Turn on the kitchen light, please!"
    assert await counter.async_count_many(hass, [text]) == [count_words(text)]
    block = await counter.async_render_tool_block(hass, [{"name": "intent__HassTurnOn"}])
    assert block is not None
    assert block.lstrip("\n").startswith("# Tools")
    assert '{"name": "intent__HassTurnOn"}' in block
    assert block.endswith("</tool_call>")


@pytest.mark.parametrize(
    "template",
    [
        "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",  # ignores tools
        "{{ raise_exception('System role not supported') }}",
        "{% if tools %}{{ tools[0].function.name }}{% endif %}{{ messages[0].content }}",
    ],
    ids=["no_tools", "raises", "tools_before_system"],
)
async def test_template_without_usable_tools(
    hass: HomeAssistant, tmp_path: Path, template: str
) -> None:
    """Templates that drop, refuse or misplace the tools give no block (ours is used)."""
    path = build_tiny_tokenizer(tmp_path / "tok", template)
    tokenizer = await hass.async_add_executor_job(load_tokenizer, str(path), str(tmp_path))
    counter = TokenCounter(str(path), tokenizer)
    assert await counter.async_render_tool_block(hass, [{"name": "intent__HassTurnOn"}]) is None


async def test_tokenizer_unavailable_estimates_and_raises_issue(hass: HomeAssistant) -> None:
    """An unreachable tokenizer: estimates, and one repair issue shared by all agents."""
    cache = async_get_tokenizer_cache(hass)
    profile = ModelProfile("m", "nobody/no-such-tokenizer", 4096, reasoning=False)
    counter = await cache.async_wait(profile)
    assert not counter.exact
    assert counter.count("12345678") == 2
    assert await cache.async_get(profile) is counter  # failed once: not tried again yet
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, "tokenizer_unavailable_nobody_no_such_tokenizer"
    )
    assert issue is not None
    assert issue.translation_key == "tokenizer_unavailable"
    assert issue.translation_placeholders == {
        "model": "m",
        "tokenizer": "nobody/no-such-tokenizer",
    }
    # No tokenizer named at all: estimates, no issue.
    assert not (await cache.async_get(ModelProfile("x", None, 4096, reasoning=False))).exact


# -- through the agent, against the emulator -------------------------------------------------


@pytest.fixture
def tokenizer_dir(tmp_path: Path) -> Path:
    """Return a tiny tokenizer saved on disk."""
    return build_tiny_tokenizer(tmp_path / "tiny-tokenizer")


@pytest.fixture
def models_dir(tmp_path: Path, tokenizer_dir: Path) -> Path:
    """Return the seed models plus a model whose tokenizer is the tiny one."""
    directory = tmp_path / "models"
    create_seed_models(directory)
    model = directory / TINY_MODEL
    model.mkdir()
    (model / "tiny-chat-1B-rk3588-w8a8.rkllm").write_bytes(b"RKLLM-EMULATOR".ljust(4096, b"\0"))
    (model / "Modelfile").write_text(
        f'FROM="tiny-chat-1B-rk3588-w8a8.rkllm"\nHUGGINGFACE_PATH="{tokenizer_dir}"\n',
        encoding="utf-8",
    )
    return directory


@pytest.fixture
def conversation_subentry_data() -> dict[str, Any]:
    """Use the tiny-tokenizer model with a small window and no tools."""
    return {
        CONF_MODEL: TINY_MODEL,
        CONF_PROMPT: "Be brief.",
        CONF_NUM_CTX: ANSWER_RESERVE + 300,
        CONF_MAX_HISTORY: 10,
    }


def _request_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(count_words(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@pytest.mark.usefixtures("init_integration")
async def test_history_trimmed_with_tokenizer(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: RkllamaEmulator,
    tokenizer_dir: Path,
) -> None:
    """Long conversations drop their oldest turns; counts come from the model's tokenizer."""
    agent = agent_id(hass, mock_config_entry)
    padding = " ".join(["blah"] * 30)
    result = await conversation.async_converse(
        hass, f"My name is Bob. {padding}", None, Context(), agent_id=agent
    )
    cid = result.conversation_id
    result = await conversation.async_converse(
        hass, "What is my name?", cid, Context(), agent_id=agent
    )
    assert result.response.speech["plain"]["speech"] == "Your name is Bob."
    for index in range(4):
        await conversation.async_converse(
            hass, f"Turn {index}: {padding}", cid, Context(), agent_id=agent
        )
    result = await conversation.async_converse(
        hass, "What is my name?", cid, Context(), agent_id=agent
    )
    # The turn with the name no longer fits: the model cannot know it any more.
    assert "Bob" not in result.response.speech["plain"]["speech"]
    sent = emulator.requests[-1].messages
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert all("My name is Bob" not in m["content"] for m in sent)
    assert _request_tokens(sent) + 3 <= 300
    assert sent[1]["role"] == "user"  # whole turns only
    profile = ModelProfile(TINY_MODEL, str(tokenizer_dir), 4096, reasoning=False)
    assert (await async_get_tokenizer_cache(hass).async_get(profile)).exact


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [
        {
            CONF_MODEL: TINY_MODEL,
            CONF_PROMPT: "Be brief.",
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            CONF_NUM_CTX: 4096,
        }
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_tool_block_is_ours_with_a_tokenizer(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """With a tokenizer too, the tools use our compact block, not the template's wording.

    Qwen's template spends about 40 more tokens on the same convention and writes each tool
    as a JSON schema: at 340 prompt tokens a second that is time every request pays.
    """
    agent = agent_id(hass, mock_config_entry)
    profile = await mock_config_entry.runtime_data.coordinator.async_profile(TINY_MODEL)
    assert (await async_get_tokenizer_cache(hass).async_wait(profile)).exact
    await conversation.async_converse(hass, "Hello", None, Context(), agent_id=agent)
    system = emulator.requests[-1].messages[0]["content"]
    assert "You may call one or more functions to assist with the user query." not in system
    assert "# Tools\n\nFunctions you may call:\n<tools>\n" in system
    # No areas in this home: no `area` parameter either.
    assert "\nHassTurnOn(name, domain): Turns on/opens/presses\n" in system
    assert emulator.requests[-1].tools is None


@pytest.mark.parametrize(
    "conversation_subentry_data",
    [{CONF_MODEL: "Qwen2.5-1.5B-Instruct", CONF_PROMPT: "x " * 400, CONF_NUM_CTX: 600}],
)
@pytest.mark.usefixtures("init_integration")
async def test_context_too_small_spoken(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: RkllamaEmulator
) -> None:
    """A window too small for the fixed prompt ends the turn with a clear error."""
    before = len(emulator.requests)
    result = await conversation.async_converse(
        hass, "Hello", None, Context(), agent_id=agent_id(hass, mock_config_entry)
    )
    assert result.response.response_type.value == "error"
    assert (
        "does not fit into the model's context window"
        in (result.response.speech["plain"]["speech"])
    )
    assert len(emulator.requests) == before  # nothing was sent
