"""The deterministic model, token estimates and prompt rendering."""

from __future__ import annotations

from emu_helpers import DEEPSEEK, QWEN, chat, content_of, user
import pytest

from rkllama_emulator.brain import reply
from rkllama_emulator.chatml import render_chatml
from rkllama_emulator.tokens import count_prompt_tokens, estimate_tokens, split_pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is 145 + 278?", "145 + 278 = 423."),
        ("what is 10 - 25", "10 - 25 = -15."),
        ("6 x 7", "6 x 7 = 42."),
        ("1.5 * 4", "1.5 * 4 = 6."),
        ("10 / 4", "10 / 4 = 2.5."),
        ("1 / 0", "1 / 0 is undefined: you cannot divide by zero."),
        ("hello", "You said: hello"),
        ("Dated 2026-11-25, 0-100 %", "You said: Dated 2026-11-25, 0-100 %"),
    ],
)
def test_rules(text: str, expected: str) -> None:
    assert reply(QWEN, [user(text)]) == expected


def test_tool_call_needs_an_offered_tool() -> None:
    assert reply(QWEN, [user("Turn on the hall light")]) == "You said: Turn on the hall light"
    assert reply(QWEN, [user("Turn on the hall light")], ["HassTurnOn"]) == (
        '<tool_call>\n{"name": "HassTurnOn", "arguments": {"name": "hall light"}}\n</tool_call>'
    )
    system = {"role": "system", "content": "You can call mcp.HassTurnOff and mcp.HassTurnOn."}
    assert '"name": "mcp.HassTurnOff"' in reply(QWEN, [system, user("turn off the fan!")])


def test_user_words_never_offer_a_tool() -> None:
    """A tool named only in the user's text is not offered: the list is the prompt's."""
    system = {"role": "system", "content": "You are a voice assistant."}
    text = "Use HassTurnOn and turn on the hall light"
    assert "<tool_call>" not in reply(QWEN, [system, user(text)])
    assert "<tool_call>" not in reply(QWEN, [system, user("hi"), user(text)])


def test_tool_result_from_text_tool_call() -> None:
    messages = [
        user("turn off the fan"),
        {
            "role": "assistant",
            "content": '<tool_call>\n{"name": "HassTurnOff", "arguments": {"name": "fan"}}\n'
            "</tool_call>",
        },
        user('<tool_response>\n{"success": true}\n</tool_response>'),
    ]
    assert reply(QWEN, messages) == "Done, the fan is off."
    assert reply(QWEN, [user("x"), {"role": "tool", "content": "ok"}]) == "Done."


def test_memory_and_benchmarks() -> None:
    messages = [
        user("Hello, my name is Grace"),
        {"role": "assistant", "content": "Hi Grace."},
        user("What's my name?"),
    ]
    assert reply(QWEN, messages) == "Your name is Grace."
    sizes = {
        "What is Python in one sentence?": 29,
        "Write a Python function to check if a number is prime.": 150,
        "Is 17 a prime number? Explain.": 200,
        "Write a haiku about AI.": 26,
    }
    for prompt, size in sizes.items():
        assert abs(len(split_pieces(reply(QWEN, [user(prompt)]))) - size) <= size * 0.1


def test_deepseek_thinks() -> None:
    text = reply(DEEPSEEK, [user("What is 2 + 2?")])
    assert text.startswith("<think>\n")
    assert text.endswith("</think>\n\n2 + 2 = 4.")


def test_split_pieces() -> None:
    text = "<think>\nHello wonderful world</think>\n\n  x"
    pieces = split_pieces(text)
    assert "".join(pieces) == text
    assert pieces[:4] == ["<think>", "\nHell", "o", " wond"]
    assert "</think>" in pieces
    assert all(len(p.strip()) <= 4 or p.startswith("<") for p in pieces)


def test_estimate_and_chatml() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcde") == 2
    tools = [{"type": "function", "function": {"name": "HassTurnOn"}}]
    messages = [
        user("hi"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "HassTurnOn", "arguments": {"name": "x"}}}],
        },
        {"role": "tool", "content": "ok"},
    ]
    text = render_chatml("Be brief.", messages, tools)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert '<tools>\n{"type": "function", "function": {"name": "HassTurnOn"}}\n</tools>' in text
    assert '<tool_call>\n{"name": "HassTurnOn", "arguments": {"name": "x"}}\n</tool_call>' in text
    assert "<|im_start|>user\n<tool_response>\nok\n</tool_response><|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert count_prompt_tokens(messages, tools, "Be brief.") == estimate_tokens(text)


async def test_deepseek_think_tags_over_http(emulator, http) -> None:
    _, lines = await chat(http, emulator.url, model=DEEPSEEK, messages=[user("hi")])
    text = content_of(lines[:-1])
    assert lines[0]["message"]["content"] == "<think>"
    assert text.endswith("</think>\n\nYou said: hi")


async def test_think_true_prepends_tag(emulator, http) -> None:
    _, lines = await chat(http, emulator.url, think=True, messages=[user("hi")])
    assert lines[0]["message"]["content"] == "<think>You"
    assert emulator.requests[-1].think is True


async def test_multi_turn_memory_over_http(emulator, http) -> None:
    messages = [
        {"role": "system", "content": "You are a voice assistant."},
        user("my name is Linus"),
        {"role": "assistant", "content": "Nice to meet you."},
        user("What is my name?"),
    ]
    _, [body] = await chat(http, emulator.url, stream=False, messages=messages)
    assert body["message"]["content"] == "Your name is Linus."
    assert emulator.requests[-1].prompt.startswith(
        "<|im_start|>system\nYou are a voice assistant.<|im_end|>"
    )


async def test_stranded_piece(make_emulator, http) -> None:
    emu = await make_emulator(stranded_piece=True)
    _, first = await chat(http, emu.url, messages=[user("What is 145 + 278?")])
    _, second = await chat(http, emu.url, stream=False, messages=[user("hi")])
    # Real Qwen pieces: one per digit; the last piece (".") is stranded into the next answer.
    assert content_of(first[:-1]) == "145 + 278 = 423"
    assert first[-1]["eval_count"] == 14
    assert second[0]["message"]["content"] == ".You said:"  # " hi" is stranded in turn
