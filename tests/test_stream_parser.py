"""The live parser of answer text, `<think>` reasoning and `<tool_call>` blocks."""

from __future__ import annotations

import pytest

from custom_components.rkllm.stream_parser import (
    ParserFactory,
    StreamParser,
    TextPart,
    ToolCallPart,
    load_parser_factory,
)

CALL = '{"name": "intent__HassTurnOn", "arguments": {"name": "Kitchen Light"}}'


@pytest.fixture(scope="module")
def factory() -> ParserFactory:
    """Return the parser factory (imports transformers once)."""
    return load_parser_factory()


def _run(
    factory: ParserFactory, chunks: list[str], *, reasoning: bool = False, tools: bool = True
) -> list[TextPart | ToolCallPart]:
    parser = StreamParser(factory, reasoning=reasoning, tools=tools)
    parts = [part for chunk in chunks for part in parser.feed(chunk)]
    return parts + parser.finish()


def _text(parts: list[TextPart | ToolCallPart], kind: str) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart) and p.kind == kind)


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_plain_text_streams_at_once(factory: ParserFactory) -> None:
    """Plain text comes out piece by piece, not at the end."""
    parser = StreamParser(factory, reasoning=False, tools=True)
    assert parser.feed("Hello") == [TextPart("content", "Hello")]
    assert parser.feed(" there") == [TextPart("content", " there")]
    assert parser.finish() == []


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
def test_think_split_across_chunks(factory: ParserFactory, size: int) -> None:
    """Reasoning tags split anywhere never leak into the spoken answer."""
    text = "<think>\nThe user adds numbers.\n</think>\n\n145 + 278 = 423."
    parts = _run(factory, _split(text, size), reasoning=True)
    assert _text(parts, "content") == "145 + 278 = 423."
    assert _text(parts, "thinking").strip() == "The user adds numbers."


def test_reasoning_without_opening_tag(factory: ParserFactory) -> None:
    """A prompt that already opened `<think>`: the model only closes it."""
    parts = _run(factory, ["Let me", " think.</th", "ink>\n\nIt is", " 4."], reasoning=True)
    assert _text(parts, "thinking") == "Let me think."
    assert _text(parts, "content") == "It is 4."


def test_reasoning_model_without_any_tag_speaks_at_the_end(factory: ParserFactory) -> None:
    """No think tags at all: the held text is the answer."""
    parser = StreamParser(factory, reasoning=True, tools=False)
    assert parser.feed("Just an") == []
    assert parser.feed(" answer.") == []
    assert parser.finish() == [TextPart("content", "Just an answer.")]


def test_fork_token_count_marker_dropped(factory: ParserFactory) -> None:
    """The jfreed-dev fork writes `</think> (N tokens)`; the count is not spoken."""
    parts = _run(factory, ["<think>hm", "m</think> (12", " tokens)\nHi", " there"], reasoning=True)
    assert _text(parts, "content") == "Hi there"
    parts = _run(factory, ["<think>x</think> (3 thinking tokens)\n(Yes) sure"], reasoning=True)
    assert _text(parts, "content") == "(Yes) sure"


@pytest.mark.parametrize("size", [1, 3, 4, 6, 11])
def test_tool_call_split_across_chunks(factory: ParserFactory, size: int) -> None:
    """A `<tool_call>` block is cut out of the answer, however it is split."""
    text = f"Sure.\n<tool_call>\n{CALL}\n</tool_call>\n"
    parts = _run(factory, _split(text, size))
    assert _text(parts, "content") == "Sure."
    assert [p for p in parts if isinstance(p, ToolCallPart)] == [ToolCallPart(CALL)]


def test_unclosed_tool_call_read_at_end(factory: ParserFactory) -> None:
    """A model that stops before `</tool_call>` still gets its call read."""
    parts = _run(factory, ["<tool_call>\n", CALL])
    assert parts == [ToolCallPart(CALL)]


def test_bare_json_call_held_and_read(factory: ParserFactory) -> None:
    """Small models forget the tags: a bare JSON call is recognised, never spoken."""
    parser = StreamParser(factory, reasoning=False, tools=True)
    assert parser.feed('  {"name": "intent__HassTurnOn",') == []
    assert parser.feed(' "arguments": {}}') == []
    assert parser.finish() == [ToolCallPart('{"name": "intent__HassTurnOn", "arguments": {}}')]


def test_braces_without_a_call_are_spoken(factory: ParserFactory) -> None:
    """Text that starts like JSON but is not a call is spoken at the end."""
    assert _run(factory, ["{not json}", " ok"]) == [TextPart("content", "{not json} ok")]
    assert _run(factory, ["{not json}"], tools=False) == [TextPart("content", "{not json}")]


def test_stray_closing_tags_dropped(factory: ParserFactory) -> None:
    """Closing tags without an opening one are not spoken."""
    parts = _run(factory, ["Hello </th", "ink>world</tool_call>!"])
    assert _text(parts, "content") == "Hello world!"


def test_whitespace_trimmed(factory: ParserFactory) -> None:
    """Leading and trailing whitespace is not sent; inner whitespace is."""
    parts = _run(factory, ["\n\n", "  Hi", "  ", "\n", "there", "\n\n"])
    assert parts == [TextPart("content", "Hi"), TextPart("content", "  \nthere")]


def test_feed_after_finish_and_empty(factory: ParserFactory) -> None:
    """Empty pieces and a second finish are no-ops."""
    parser = StreamParser(factory, reasoning=False, tools=False)
    assert parser.feed("") == []
    assert parser.feed("ok") == [TextPart("content", "ok")]
    assert parser.finish() == []
    assert parser.finish() == []


def test_tool_call_returned_when_its_json_is_complete(factory: ParserFactory) -> None:
    """The call comes out with the piece that closes its JSON, before `</tool_call>`."""
    parser = StreamParser(factory, reasoning=False, tools=True)
    assert parser.feed("<tool_call>\n") == []
    assert parser.feed(CALL[:-2]) == []
    assert parser.feed(CALL[-2:]) == [ToolCallPart(CALL)]
    assert parser.feed("\n</tool_call>") == []  # not a second time
    assert not parser.calls_done
    assert parser.feed('\n<tool_call>\n{"name": "x", "arguments": {"a": "}{"}}') == [
        ToolCallPart('{"name": "x", "arguments": {"a": "}{"}}')
    ]
    assert parser.finish() == []


def test_text_after_calls_ends_the_answer(factory: ParserFactory) -> None:
    """What a model writes after its calls is never spoken, and says: stop reading."""
    parser = StreamParser(factory, reasoning=False, tools=True)
    parts = parser.feed(f"<tool_call>\n{CALL}\n</tool_call>\n")
    assert parts == [ToolCallPart(CALL)]
    assert not parser.calls_done
    assert parser.feed("The light is now on.") == []
    assert parser.calls_done
    assert parser.finish() == []
