"""Body shapes of the Ollama-style answers (spec 5.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .wire import now_iso

if TYPE_CHECKING:
    from .engine import GenerationStats

LOAD_DURATION_NS = 100_000_000
ABORT_TEXT = "Aborted inference by Timeout ({seconds} seconds). Try again."
OVER_CONTEXT = "prompt over the context ({tokens} > {limit} tokens)"
"""The emulator's record of a prompt the runtime refused (rkllama itself only logs it)."""
ERROR_200_TEXT = "Unexpected error during inference: the worker returned <RKLLM_TASK_ERROR>"


def piece_line(model: str, chat: bool, piece: str) -> dict[str, Any]:
    """Return one streamed piece line."""
    line: dict[str, Any] = {"model": model, "created_at": now_iso()}
    if chat:
        line["message"] = {"role": "assistant", "content": piece}
    else:
        line["response"] = piece
    line["done"] = False
    return line


def tool_call_line(model: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the single streamed chunk that carries tool calls."""
    return {
        "model": model,
        "created_at": now_iso(),
        "message": {"role": "assistant", "content": "", "tool_calls": calls},
        "done": False,
    }


def metrics(stats: GenerationStats | None, total_ns: int) -> dict[str, int]:
    """Return the final-line metrics; `*_eval_duration` are in ms as upstream sends them."""
    if stats is None or stats.aborted:
        return {
            "total_duration": total_ns,
            "load_duration": LOAD_DURATION_NS,
            "prompt_eval_count": 0,
            "prompt_eval_duration": 0,
            "eval_count": 0,
            "eval_duration": 0,
        }
    return {
        "total_duration": total_ns,
        "load_duration": LOAD_DURATION_NS,
        "prompt_eval_count": stats.prompt_tokens,
        "prompt_eval_duration": stats.prefill_ms,
        "eval_count": stats.eval_count,
        "eval_duration": stats.eval_ms,
    }


def final_line(model: str, chat: bool, done_reason: str, figures: dict[str, int]) -> dict[str, Any]:
    """Return the final `done: true` stream line."""
    line = piece_line(model, chat, "")
    line["done"] = True
    line["done_reason"] = done_reason
    line.update(figures)
    return line


def full_body(
    model: str,
    chat: bool,
    content: str,
    *,
    calls: list[dict[str, Any]] | None,
    done_reason: str,
    figures: dict[str, int],
) -> dict[str, Any]:
    """Return the non-stream body of /api/chat or /api/generate."""
    body = final_line(model, chat, done_reason, figures)
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        body["message"] = message
    else:
        body["response"] = content
        body["context"] = []
    return body
