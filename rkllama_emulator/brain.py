"""The deterministic "model": turns a conversation into a reply text."""

from __future__ import annotations

from decimal import Decimal, DivisionByZero, InvalidOperation
import json
import re
from typing import Any

from .canned import benchmark_answer
from .messages import last_user_text, message_text

TOOL_NAME_RE = re.compile(r"[A-Za-z0-9_.]*Hass(?:TurnOn|TurnOff)")
_AND_RE = re.compile(r"\s+and\s+(?:the\s+)?", re.IGNORECASE)
_TURN_RE = re.compile(r"\bturn (on|off) (?:the )?(.+)", re.IGNORECASE | re.DOTALL)
# Spaces around the operator, as people write sums: dates (2026-11-25) and ranges stay text.
_ARITH_RE = re.compile(r"(\d+(?:\.\d+)?)\s+(?:([-+*/])|([xX]))\s+(\d+(?:\.\d+)?)")
_NAME_IS_RE = re.compile(r"\bmy name is ([A-Za-z][A-Za-z'-]*)", re.IGNORECASE)
_ASK_NAME_RE = re.compile(r"\bwhat(?:'s| is) my name\b", re.IGNORECASE)
_TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
TOOL_CALL_CLOSE = "</tool_call>"
_VERBS = (("HassTurnOn", "on"), ("HassTurnOff", "off"))
_REASONING_CHARS = 80


def _call_of(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return (tool name, arguments) of an assistant message's first tool call."""
    calls = message.get("tool_calls") or []
    if calls and isinstance(calls[0], dict):
        function = calls[0].get("function", calls[0])
        name, arguments = function.get("name"), function.get("arguments", {})
    else:
        match = _TOOL_CALL_RE.search(message_text(message.get("content")))
        if match is None:
            return None
        try:
            payload = json.loads(match.group(1))
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        name, arguments = payload.get("name"), payload.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {}
    if not isinstance(arguments, dict):
        arguments = {}
    return (str(name or ""), arguments)


def _tool_result_reply(messages: list[dict[str, Any]]) -> str:
    """Confirm a tool result using the preceding assistant tool call."""
    for message in reversed(messages[:-1]):
        if message.get("role") != "assistant":
            continue
        call = _call_of(message)
        if call is None:
            continue
        tool, arguments = call
        entity = str(arguments.get("name", "")).strip()
        verb = next((word for suffix, word in _VERBS if tool.endswith(suffix)), None)
        if entity and verb:
            entity = entity.removeprefix("the ").removeprefix("The ")
            return f"Done, the {entity} is {verb}."
        return "Done."
    return "Done."


def _is_tool_result(messages: list[dict[str, Any]]) -> bool:
    """Return True if the conversation ends with a tool result."""
    if not messages:
        return False
    last = messages[-1]
    if last.get("role") == "tool":
        return True
    return last.get("role") == "user" and "<tool_response>" in message_text(last.get("content"))


def _offered_tools(messages: list[dict[str, Any]], tool_names: list[str]) -> list[str]:
    """Return tool names from the request and from the tool list in the prompt.

    The list is in the system message, or in the first message where the system text was folded
    into it; the user's own words never offer a tool.
    """
    names = list(tool_names)
    listed = [m for m in messages if m.get("role") == "system"] or messages[:1]
    for message in listed:
        names.extend(TOOL_NAME_RE.findall(message_text(message.get("content"))))
    return names


def _tool_call_reply(user_text: str, offered: list[str]) -> str | None:
    """Return <tool_call> blocks for "turn on/off <name> [and <name>…]" when a tool is offered."""
    match = _TURN_RE.search(user_text)
    if match is None:
        return None
    suffix = "HassTurnOn" if match.group(1).lower() == "on" else "HassTurnOff"
    tool = next((name for name in offered if name.endswith(suffix)), None)
    entities = [
        name.strip().rstrip(".!").strip()
        for name in _AND_RE.split(match.group(2).strip().rstrip(".!"))
    ]
    if tool is None or not all(entities):
        return None
    calls = (
        json.dumps({"name": tool, "arguments": {"name": entity}}, ensure_ascii=False)
        for entity in entities
    )
    return "\n".join(f"<tool_call>\n{payload}\n{TOOL_CALL_CLOSE}" for payload in calls)


def _number(value: Decimal) -> str:
    """Format a result without useless zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _arithmetic_reply(user_text: str) -> str | None:
    """Answer `a <op> b` with the correct result."""
    match = _ARITH_RE.search(user_text)
    if match is None:
        return None
    left, symbol, times, right = match.groups()
    op = symbol or times
    a, b = Decimal(left), Decimal(right)
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "/":
            result = a / b
        else:
            result = a * b
    except DivisionByZero, InvalidOperation:
        return f"{left} / {right} is undefined: you cannot divide by zero."
    return f"{left} {op} {right} = {_number(result)}."


def _memory_reply(messages: list[dict[str, Any]], user_text: str) -> str | None:
    """Answer "what is my name" from an earlier "my name is <Name>"."""
    if not _ASK_NAME_RE.search(user_text):
        return None
    for message in reversed(messages[:-1]):
        if message.get("role") != "user":
            continue
        match = _NAME_IS_RE.search(message_text(message.get("content")))
        if match:
            return f"Your name is {match.group(1)}."
    return None


def answer(messages: list[dict[str, Any]], tool_names: list[str]) -> str:
    """Return the plain answer (no reasoning) for a conversation."""
    if _is_tool_result(messages):
        return _tool_result_reply(messages)
    user_text = last_user_text(messages)
    offered = _offered_tools(messages, tool_names)
    for reply in (
        _tool_call_reply(user_text, offered) if offered else None,
        _arithmetic_reply(user_text),
        benchmark_answer(user_text),
        _memory_reply(messages, user_text),
    ):
        if reply is not None:
            return reply
    return f"You said: {user_text}"


def thinks(model: str, think: bool | None) -> bool:
    """Return True if the model writes a reasoning block (DeepSeek-R1, or Qwen3 with think)."""
    lowered = model.lower()
    return "deepseek" in lowered or ("qwen3" in lowered and bool(think))


def reply(
    model: str,
    messages: list[dict[str, Any]],
    tool_names: list[str] | None = None,
    think: bool | None = None,
) -> str:
    """Return the full reply text of `model` for a conversation."""
    text = answer(messages, list(tool_names or []))
    if not thinks(model, think):
        return text
    topic = " ".join(last_user_text(messages).split())[:_REASONING_CHARS]
    reasoning = (
        f'The user wrote: "{topic}". Let me work out a clear and correct reply, '
        "then give it briefly."
    )
    return f"<think>\n{reasoning}\n</think>\n\n{text}"
