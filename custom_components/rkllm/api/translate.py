"""Translate rkllama's streamed lines and error texts into chunks and typed errors."""

from __future__ import annotations

from http import HTTPStatus
import json
import time

from .exceptions import (
    RkllamaBusyError,
    RkllamaError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaServerError,
    RkllamaTaskError,
    RkllamaTimeoutError,
)
from .models import ChatChunk, GenerationStats, JsonObject, JsonValue, parse_tool_calls

BODY_EXCERPT = 200  # characters of a bad body kept in errors
SERVER_TIMEOUT_TEXT = "Aborted inference by Timeout"
TASK_ERROR_TEXT = "<RKLLM_TASK_ERROR>"
VERSION_MISMATCH_TEXT = "invalid rknn llm model magic"


class OllamaTranslator:
    """Turn `/api/chat` and `/api/generate` NDJSON lines into chunks."""

    legacy = False

    def __init__(self) -> None:
        """Start before the first line."""
        self._done_line: JsonObject = {}

    def chunk(self, line: JsonObject) -> ChatChunk:
        """Return the chunk one line carries."""
        raise_for_error_line(line)
        message = line.get("message")
        if not isinstance(message, dict):
            text = line.get("response")  # /api/generate
            message = {"content": text} if isinstance(text, str) else {}
        content = as_str(message.get("content"))
        if TASK_ERROR_TEXT in content:
            raise RkllamaTaskError("the model's worker failed during generation")
        done = line.get("done") is True
        if done:
            self._done_line = line
            if as_int(line.get("eval_count")) == 0 and SERVER_TIMEOUT_TEXT in content:
                raise RkllamaTimeoutError("the server aborted the generation (token timeout)")
        return ChatChunk(
            content=content,
            thinking=as_str(message.get("thinking")),
            tool_calls=parse_tool_calls(message.get("tool_calls")),
            done=done,
        )

    def stats(self, started: float, first_at: float) -> GenerationStats:
        """Return the figures of the `done` line, in the units GenerationStats names."""
        line = self._done_line
        total_ns = as_int(line.get("total_duration"))
        eval_raw = as_int(line.get("eval_duration"))
        prompt_raw = as_int(line.get("prompt_eval_duration"))
        # Upstream sends both *_eval_duration values in ms under Ollama's ns names; real
        # Ollama sends ns. Tell them apart against the ns total, as the API notes suggest.
        scale = 1e-3 if total_ns == 0 or eval_raw * 1000 < total_ns else 1e-9
        now = time.monotonic()
        return GenerationStats(
            prompt_tokens=as_int(line.get("prompt_eval_count")),
            completion_tokens=as_int(line.get("eval_count")),
            prompt_eval_seconds=prompt_raw * scale if prompt_raw else None,
            eval_seconds=eval_raw * scale if eval_raw else None,
            total_seconds=total_ns / 1e9 if total_ns else None,
            time_to_first_chunk=first_at - started,
            wall_seconds=now - started,
            done_reason=as_str(line.get("done_reason")) or None,
        )


class LegacyTranslator:
    """Turn the fork's blank-line separated `rkllm_chat` objects into chunks."""

    legacy = True

    def __init__(self) -> None:
        """Start before the first object."""
        self._usage: JsonObject = {}

    def chunk(self, line: JsonObject) -> ChatChunk:
        """Return the chunk one object carries (the fork never sends a final one)."""
        raise_for_error_line(line)
        usage = line.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = line.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else {}
        content = as_str(first.get("content")) if isinstance(first, dict) else ""
        if TASK_ERROR_TEXT in content:
            raise RkllamaTaskError("the model's worker failed during generation")
        return ChatChunk(content=content)

    def stats(self, started: float, first_at: float) -> GenerationStats:
        """Return the last usage figures; the fork sends no durations, so rates use timing."""
        return GenerationStats(
            prompt_tokens=as_int(self._usage.get("prompt_tokens")),
            completion_tokens=as_int(self._usage.get("completion_tokens")),
            prompt_eval_seconds=None,
            eval_seconds=None,
            total_seconds=None,
            time_to_first_chunk=first_at - started,
            wall_seconds=time.monotonic() - started,
            done_reason="stop",
        )


def raise_for_error_line(line: JsonObject) -> None:
    """Raise the matching error for a streamed `{"error": …}` line (sent with HTTP 200)."""
    if isinstance(error := line.get("error"), str):
        raise error_from_text(error, HTTPStatus.OK, json.dumps(line).encode())


def error_from_text(error: str, status: int, body: bytes) -> RkllamaError:
    """Map an rkllama `{"error": …}` text to the matching exception.

    rkllama reports failures only as text, so its wording is read here, once; everything
    after this point tells failures apart by exception type.
    """
    excerpt = excerpt_of(body)
    lowered = error.lower()
    if "not found" in lowered and (
        "model" in lowered or "directory" in lowered or "modelfile" in lowered
    ):
        return RkllamaModelNotFoundError(error, status=status, body=excerpt)
    if VERSION_MISMATCH_TEXT in lowered:
        return RkllamaModelLoadError(error, status=status, body=excerpt, version_mismatch=True)
    if "failed to load model" in lowered or "loading the model" in lowered or "magic" in lowered:
        return RkllamaModelLoadError(error, status=status, body=excerpt)
    if "already loaded" in lowered:
        return RkllamaBusyError(error, status=status, body=excerpt)
    return RkllamaServerError(error, status=status, body=excerpt)


def excerpt_of(body: bytes) -> str:
    """Return the start of a body, for error details."""
    return body[:BODY_EXCERPT].decode("utf-8", "replace")


def as_int(value: JsonValue) -> int:
    """Return a JSON number as an int (0 for anything else)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        try:
            return int(value)
        except OverflowError, ValueError:  # inf, NaN
            return 0
    return 0


def as_str(value: JsonValue) -> str:
    """Return a JSON string, or "" for anything else."""
    return value if isinstance(value, str) else ""
