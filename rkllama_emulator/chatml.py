"""Fallback prompt rendering: ChatML as the Qwen 2.5 template renders it, written by us."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from .messages import message_text

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
GENERATION_PROMPT = "<|im_start|>assistant\n"


def tools_block(tools: list[dict[str, Any]]) -> str:
    """Return a Qwen-2.5-style `# Tools` section with one JSON schema per line."""
    schemas = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    return (
        "\n\n# Tools\n\nYou may call one or more functions to help with the user's request.\n\n"
        "The function signatures are listed inside <tools></tools> XML tags:\n"
        f"<tools>\n{schemas}\n</tools>\n\n"
        "To call a function, answer with a JSON object holding its name and arguments "
        "inside <tool_call></tool_call> XML tags:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def _turn(role: str, text: str) -> str:
    """Return one ChatML turn."""
    return f"<|im_start|>{role}\n{text}<|im_end|>\n"


def _tool_call_text(call: Any) -> str:
    """Render one assistant tool call as a <tool_call> block."""
    function = call.get("function", call) if isinstance(call, dict) else {}
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    payload = json.dumps({"name": function.get("name"), "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{payload}\n</tool_call>"


def _assistant_text(message: dict[str, Any]) -> str:
    """Render an assistant message with its tool calls."""
    text = message_text(message.get("content"))
    for call in message.get("tool_calls") or []:
        text = f"{text}\n{_tool_call_text(call)}" if text else _tool_call_text(call)
    return text


def render_system(system: str | None, tools: list[dict[str, Any]] | None) -> str:
    """Render the system turn (default Qwen system text when none is given)."""
    text = DEFAULT_SYSTEM if system is None else system
    if tools:
        text += tools_block(tools)
    return _turn("system", text)


def render_chatml(
    system: str | None,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """Render a whole conversation plus the generation prompt."""
    parts = [render_system(system, tools)]
    pending_tool_results: list[str] = []
    for message in messages:
        role = str(message.get("role", "user"))
        if role == "tool":
            content = message_text(message.get("content"))
            pending_tool_results.append(f"<tool_response>\n{content}\n</tool_response>")
            continue
        if pending_tool_results:
            parts.append(_turn("user", "\n".join(pending_tool_results)))
            pending_tool_results = []
        if role == "assistant":
            parts.append(_turn("assistant", _assistant_text(message)))
        else:
            parts.append(_turn(role, message_text(message.get("content"))))
    if pending_tool_results:
        parts.append(_turn("user", "\n".join(pending_tool_results)))
    parts.append(GENERATION_PROMPT)
    return "".join(parts)
