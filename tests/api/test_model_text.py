"""The model's text conventions: tool calls read, repaired and written; fences; names."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.rkllm.api.messages import legacy_messages
from custom_components.rkllm.api.model_text import (
    ToolCallError,
    json_object_end,
    looks_like_tool_call,
    parse_tool_call,
    strip_code_fence,
    tool_base_name,
    tool_call_text,
)
from custom_components.rkllm.api.models import ChatMessage, MessageRole, ToolCall

OFFERED = ["intent__HassTurnOn", "intent__HassTurnOff", "homeassistant__GetLiveContext"]


@pytest.mark.parametrize(
    ("raw", "name", "arguments"),
    [
        ('{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp"}}', None, None),
        ('```json\n{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp"}}\n```', None, None),
        ("{'name': 'intent__HassTurnOn', 'arguments': {'name': 'Lamp'}}", None, None),
        ('{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp",},}', None, None),
        ('{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp"}', None, None),
        ('{"name": "HassTurnOn", "parameters": {"name": "Lamp"}}', None, None),
        (
            '{"function": {"name": "intent__HassTurnOn", "arguments": "{\\"name\\": \\"Lamp\\"}"}}',
            None,
            None,
        ),
        ('[{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp", "area": ""}}]', None, None),
        (
            (
                '{"name": "intent__HassTurnOn", "arguments": {"name": "Lamp", '
                '"domain": "[\\"light\\"]", "floor": null, "x": True}}'
            ),
            "intent__HassTurnOn",
            {"name": "Lamp", "domain": ["light"], "x": True},
        ),
        ('{"name": "homeassistant__GetLiveContext"}', "homeassistant__GetLiveContext", {}),
    ],
)
def test_parse_and_repair(raw: str, name: str | None, arguments: dict[str, Any] | None) -> None:
    """What small models get wrong is repaired."""
    call = parse_tool_call(raw, OFFERED)
    assert call.name == (name or "intent__HassTurnOn")
    assert call.arguments == (arguments if arguments is not None else {"name": "Lamp"})


def test_structured_call() -> None:
    """Structured calls from the server go through the same checks."""
    call = parse_tool_call({"name": "intent__HassTurnOff", "arguments": {"name": "x"}}, OFFERED)
    assert (call.name, call.arguments) == ("intent__HassTurnOff", {"name": "x"})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("not json at all", "not valid JSON"),
        ('{"arguments": {}}', "no function name"),
        ('{"name": "bogus__Thing", "arguments": {}}', "no tool named bogus__Thing"),
        ('{"name": "intent__HassTurnOn", "arguments": [1, 2]}', "not a JSON object"),
        ('{"name": "intent__HassTurnOn", "arguments": "nope"}', "not valid JSON"),
    ],
)
def test_unusable_calls(raw: str, reason: str) -> None:
    """Calls that cannot be repaired say why."""
    with pytest.raises(ToolCallError, match=reason):
        parse_tool_call(raw, OFFERED)


def test_ambiguous_short_name() -> None:
    """A name without namespace that matches two tools is refused."""
    with pytest.raises(ToolCallError):
        parse_tool_call('{"name": "HassTurnOn"}', ["a__HassTurnOn", "b__HassTurnOn"])


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ('{"a": 1}', '{"a": 1}'),
        ('  {"a": 1}\n', '{"a": 1}'),
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('```JSON {"a": 1} ```', '{"a": 1}'),
        ('```\n{"a": 1}', '{"a": 1}'),  # an unclosed fence runs to the end
        ('Here it is:\n```json\n{"a": 1}\n```\nDone.', '{"a": 1}'),
    ],
)
def test_strip_code_fence(text: str, body: str) -> None:
    """One fence reader serves tool calls and AI task answers."""
    assert strip_code_fence(text) == body


def test_bare_json_call_detected() -> None:
    """A call written without its tags is recognised, fenced or not; other JSON is not."""
    assert looks_like_tool_call('{"name": "HassTurnOn", "arguments": {}}')
    assert looks_like_tool_call('```json\n[{"function": {"name": "HassTurnOn"}}]\n```')
    assert not looks_like_tool_call('{"answer": 42}')
    assert not looks_like_tool_call("not json")


def test_json_object_end() -> None:
    """The end of the first complete object is found; braces inside strings do not count."""
    text = '{"name": "x", "arguments": {"a": "}{"}} trailing'
    end = json_object_end(text)
    assert end is not None
    assert text[:end].endswith('"}}')
    assert json_object_end('{"open": {') is None
    assert json_object_end("no object") is None


def test_namespaced_names() -> None:
    """HA's `namespace__` prefix is split off once, at its last separator."""
    assert tool_base_name("intent__HassTurnOn") == "HassTurnOn"
    assert tool_base_name("a__b__HassTurnOn") == "HassTurnOn"
    assert tool_base_name("HassTurnOn") == "HassTurnOn"


def test_calls_written_as_the_model_writes_them() -> None:
    """The correction shows the raw call in its tags; legacy history renders calls and results."""
    assert tool_call_text('  {"name": "x"} \n') == '<tool_call>\n{"name": "x"}\n</tool_call>'
    messages = legacy_messages(
        [
            ChatMessage(MessageRole.USER, "Lamp on"),
            ChatMessage(
                MessageRole.ASSISTANT,
                "",
                tool_calls=(ToolCall(name="HassTurnOn", arguments={"name": "Lamp"}),),
            ),
            ChatMessage(MessageRole.TOOL, '{"ok":1}', tool_name="HassTurnOn"),
        ]
    )
    assert messages[1]["content"] == (
        '<tool_call>\n{"name": "HassTurnOn", "arguments": {"name": "Lamp"}}\n</tool_call>'
    )
    assert messages[2]["content"] == '<tool_response>\n{"ok":1}\n</tool_response>'


def test_call_names_any_offered_tool() -> None:
    """Names given as the model sees them resolve to HA's names."""
    call = parse_tool_call('{"name": "GetLiveContext"}', OFFERED)
    assert call == type(call)("homeassistant__GetLiveContext", {})
