"""Structured output: each server flavour is asked for the JSON object the way it reads it."""

from __future__ import annotations

import json

import pytest

from custom_components.rkllm.api import ChatMessage, JsonValue, MessageRole, RkllamaClient
from rkllama_emulator import Flavour

from .conftest import MODEL, StartEmulator, ask, collect

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}, "unit": {"type": "string"}},
    "required": ["answer"],
}
INSTRUCTION = (
    "Answer with only a JSON object with the keys: answer (integer), unit (string, optional)."
)


async def _answer(client: RkllamaClient, messages: list[ChatMessage], schema: JsonValue) -> str:
    chunks = await collect(client.chat(messages, model=MODEL, response_format=schema))
    return "".join(chunk.content for chunk in chunks)


async def test_legacy_request_carries_the_instruction(start_emulator: StartEmulator) -> None:
    """The legacy API ignores `format`: the instruction joins the system text in the prompt."""
    emu = await start_emulator(flavour=Flavour.LEGACY)
    messages = [
        ChatMessage(MessageRole.SYSTEM, "Answer briefly."),
        ChatMessage(MessageRole.USER, "What is 145 + 278?"),
    ]
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        answer = json.loads(await _answer(client, messages, SCHEMA))
    assert answer["answer"] == 423
    request = emu.requests[-1]
    assert request.format is None
    assert [message["role"] for message in request.messages] == ["user"]
    assert request.messages[0]["content"] == (
        f"Answer briefly.\n\n{INSTRUCTION}\n\nWhat is 145 + 278?"
    )


@pytest.mark.parametrize("flavour", [Flavour.OLLAMA, Flavour.OLLAMA_SINGLE])
async def test_ollama_request_carries_format(
    start_emulator: StartEmulator, flavour: Flavour
) -> None:
    """Ollama-style servers get the schema as `format`, and no instruction in the prompt."""
    emu = await start_emulator(flavour=flavour)
    async with RkllamaClient(emu.url) as client:
        answer = json.loads(await _answer(client, ask("What is 145 + 278?"), SCHEMA))
    assert answer["answer"] == 423
    request = emu.requests[-1]
    assert request.format == SCHEMA
    assert "JSON" not in str(request.messages)


@pytest.mark.parametrize(
    ("schema", "instruction"),
    [
        (
            {
                "type": "object",
                "properties": {
                    "mood": {"type": "string", "enum": ["calm", "busy"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["mood"],
            },
            (
                'Answer with only a JSON object with the keys: mood ("calm" or "busy"), '
                "tags (list of string, optional)."
            ),
        ),
        ("json", "Answer with only a JSON object."),
    ],
    ids=["enum_and_list", "any_object"],
)
async def test_legacy_instruction_wording(
    start_emulator: StartEmulator, schema: JsonValue, instruction: str
) -> None:
    """Enums and lists are described in words; a bare `"json"` asks for any object."""
    emu = await start_emulator(flavour=Flavour.LEGACY)
    async with RkllamaClient(emu.url) as client:
        await client.load_model(MODEL)
        await _answer(client, ask("How are you?"), schema)
    assert emu.requests[-1].messages[0]["content"] == f"{instruction}\n\nHow are you?"
