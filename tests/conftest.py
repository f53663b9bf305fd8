"""Shared fixtures: a real rkllama emulator on 127.0.0.1 and rkllm config entries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.components import conversation
from homeassistant.const import CONF_LLM_HASS_API, CONF_MODEL, CONF_PROMPT, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, entity_registry as er, llm
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm.api import ChatMessage, GenerationStats, MessageRole, RkllamaClient
from custom_components.rkllm.const import CONF_KEEP_LOADED, DOMAIN
from rkllama_emulator import (
    FAST_TIMING,
    EmulatorConfig,
    RkllamaEmulator,
    brain,
    create_seed_models,
)
from rkllama_emulator.messages import message_text

TEST_MODEL = "Qwen2.5-1.5B-Instruct"
REASONING_MODEL = "DeepSeek-R1-1.5B"
MAX_SPOKEN_CHARS = 150
STRINGS = Path(__file__).parents[1] / "custom_components/rkllm/strings.json"
SPOKEN: dict[str, str] = {
    key: value["message"]
    for key, value in json.loads(STRINGS.read_text(encoding="utf-8"))["exceptions"].items()
    if key.startswith("spoken_")
}
"""The English spoken sentences by translation key."""
_UNSPEAKABLE = re.compile(
    r"https?://|www\.|[<>{}\[\]]|\b\w+(?:Error|Exception)\b|Traceback|\bHTTP\b|\d{3,}\s*:"
)


def agent_subentry(model: str = TEST_MODEL, *, keep_loaded: bool = True) -> dict[str, object]:
    """Return the subentry data of a brief conversation agent on `model`."""
    return {
        "data": {CONF_MODEL: model, CONF_PROMPT: "Be brief.", CONF_KEEP_LOADED: keep_loaded},
        "subentry_type": "conversation",
        "title": f"Agent {model}",
        "unique_id": None,
    }


def agent_id(hass: HomeAssistant, entry: MockConfigEntry, kind: str = "conversation") -> str:
    """Return the entity id of the entry's conversation agent (or AI task entity)."""
    subentry_type = "conversation" if kind == "conversation" else "ai_task_data"
    subentry = next(s for s in entry.subentries.values() if s.subentry_type == subentry_type)
    entity_id = er.async_get(hass).async_get_entity_id(kind, DOMAIN, subentry.subentry_id)
    assert entity_id is not None
    return entity_id


async def say(
    hass: HomeAssistant, entry: MockConfigEntry, text: str, cid: str | None = None
) -> conversation.ConversationResult:
    """Converse in a task of its own, as every pipeline run does.

    (HA leaves a failed turn's chat log in the caller's context; in production each
    request has its own context, so run each turn in a task to test what users get.)
    """
    return await asyncio.create_task(
        conversation.async_converse(hass, text, cid, Context(), agent_id=agent_id(hass, entry))
    )


def speech(result: conversation.ConversationResult) -> str:
    """Return what Assist says for a result."""
    return str(result.response.speech["plain"]["speech"])


def stored_log(hass: HomeAssistant, cid: str) -> list[conversation.Content]:
    """Return the stored chat log of a conversation."""
    with (
        chat_session.async_get_chat_session(hass, cid) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        return list(chat_log.content)


def assert_speakable(text: str, secrets: Iterable[str] = ()) -> None:
    """Assert that `text` is one short sentence fit for a speaker, without secrets."""
    assert text, "nothing to say"
    assert len(text) <= MAX_SPOKEN_CHARS, text
    assert not _UNSPEAKABLE.search(text), text
    for secret in secrets:
        assert secret not in text


async def answer_stats(
    client: RkllamaClient, text: str, model: str = TEST_MODEL
) -> GenerationStats:
    """Read a whole answer to `text` straight from the client; return its figures."""
    chunks = [
        chunk async for chunk in client.chat([ChatMessage(MessageRole.USER, text)], model=model)
    ]
    stats = chunks[-1].stats
    assert stats is not None
    return stats


async def add_server(
    hass: HomeAssistant, url: str, subentries: list[dict[str, object]] | None = None
) -> MockConfigEntry:
    """Add and set up one more rkllm entry (another board of the pool) for `url`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=url,
        data={CONF_URL: url},
        unique_id=url,
        subentries_data=subentries or [],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/rkllm."""


@pytest.fixture(autouse=True)
def no_tokenizer_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never download a tokenizer: the Qwen family uses the shipped files, others estimate."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """Return a models directory holding the seed's five models."""
    directory = tmp_path / "models"
    create_seed_models(directory)
    return directory


@pytest.fixture
def emulator_config(models_dir: Path) -> EmulatorConfig:
    """Return the emulator configuration; override in a module to change flavour or knobs."""
    return EmulatorConfig(models_dir=models_dir, timing=FAST_TIMING, holdback_replay_seconds=0.001)


@pytest.fixture
async def emulator(
    emulator_config: EmulatorConfig,
    socket_enabled: None,  # phcc blocks socket creation; connects stay limited to 127.0.0.1
) -> AsyncIterator[RkllamaEmulator]:
    """Run a real rkllama emulator on 127.0.0.1 for one test."""
    emu = RkllamaEmulator(emulator_config)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def conversation_subentry_data() -> dict[str, object]:
    """Return the data of the default conversation subentry (Assist API on)."""
    return {
        CONF_MODEL: TEST_MODEL,
        CONF_PROMPT: "You are a voice assistant for Home Assistant. Answer briefly.",
        CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
        CONF_KEEP_LOADED: True,
    }


@pytest.fixture
def mock_config_entry(
    hass: HomeAssistant,
    emulator: RkllamaEmulator,
    conversation_subentry_data: dict[str, object],
) -> MockConfigEntry:
    """Return an rkllm entry for the emulator, with a conversation and an AI task subentry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="rkllama 127.0.0.1",
        data={CONF_URL: emulator.url},
        unique_id=emulator.url,
        version=1,
        minor_version=1,
        subentries_data=[
            {
                "data": conversation_subentry_data,
                "subentry_type": "conversation",
                "title": "Kitchen assistant",
                "unique_id": None,
            },
            {
                "data": {CONF_MODEL: TEST_MODEL},
                "subentry_type": "ai_task_data",
                "title": "AI task",
                "unique_id": None,
            },
        ],
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_ha(hass: HomeAssistant) -> None:
    """Load Home Assistant's core integration (needed by conversation and llm)."""
    assert await async_setup_component(hass, "homeassistant", {})


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, setup_ha: None, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set up the rkllm entry against the emulator; unload it (draining streams) at the end."""
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    # Let the preload of "keep loaded" models finish, so tests start from a settled server.
    await hass.async_block_till_done(wait_background_tasks=True)
    yield mock_config_entry
    if mock_config_entry.state.recoverable:
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Skip real entry setup (config-flow tests only)."""
    with patch("custom_components.rkllm.async_setup_entry", return_value=True) as mock:
        yield mock


README = Path(__file__).parents[1] / "README.md"
_README_EXAMPLE = re.compile(r"<!-- automation-example: ([\w-]+) -->\n```yaml\n(.*?)```", re.DOTALL)


@pytest.fixture
def readme_examples() -> dict[str, Any]:
    """Return the README's automation examples by name, parsed as Home Assistant reads YAML."""
    text = README.read_text(encoding="utf-8")
    return {name: parse_yaml(body) for name, body in _README_EXAMPLE.findall(text)}


class ScriptedModel:
    """Replies the emulated model gives, in order, in conversations that mention a fragment.

    Everything else is answered by the emulator's own deterministic model.
    """

    def __init__(self) -> None:
        """Start with no scripts."""
        self._scripts: dict[str, list[str]] = {}

    def add(self, fragment: str, *replies: str) -> None:
        """Answer conversations whose user messages hold `fragment` with `replies`, in order.

        The last reply repeats once the others are used up.
        """
        self._scripts[fragment] = list(replies)

    def reply_for(self, messages: list[dict[str, Any]]) -> str | None:
        """Return the next scripted reply for a conversation, or None."""
        said = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        for fragment, replies in self._scripts.items():
            if any(fragment in text for text in said):
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return None


@pytest.fixture
def scripted_model(monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    """Let a test decide what the emulated model answers to some prompts."""
    scripted = ScriptedModel()
    own_answer = brain.answer

    def answer(messages: list[dict[str, Any]], tool_names: list[str]) -> str:
        reply = scripted.reply_for(messages)
        return own_answer(messages, tool_names) if reply is None else reply

    monkeypatch.setattr(brain, "answer", answer)
    return scripted
