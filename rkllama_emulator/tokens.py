"""Prompt rendering and token counting: a local tokenizer when present, else an estimate.

The estimate renders ChatML (see chatml.py) and counts ceil(len(text) / 4) tokens, which is
close to Qwen 2.5's ratio for English text. Reply pieces are then words with their leading
whitespace; words longer than four characters are cut into pieces of at most four characters,
and the tags <think>, </think>, <tool_call>, </tool_call> stay whole (one token each in Qwen).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import math
import re
from typing import TYPE_CHECKING, Any

from .chatml import render_chatml, render_system
from .hf_tokenizer import HfTokenizer

if TYPE_CHECKING:
    from .models import ModelInfo

CHARS_PER_TOKEN = 4
_SPECIAL = r"</?think>|</?tool_call>|</?tool_response>"
_PIECE_RE = re.compile(rf"{_SPECIAL}|\s+(?={_SPECIAL})|\s*(?:(?!{_SPECIAL})\S)+|\s+")
_LEADING_SPACE_RE = re.compile(r"^(\s*)(.*)$", re.DOTALL)
_SPECIAL_RE = re.compile(rf"^(?:{_SPECIAL})$")


def estimate_tokens(text: str) -> int:
    """Estimate a token count as ceil(len(text) / 4)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def split_pieces(text: str) -> list[str]:
    """Cut a reply into runtime-like text pieces; "".join(pieces) == text."""
    pieces: list[str] = []
    for chunk in _PIECE_RE.findall(text):
        if _SPECIAL_RE.match(chunk):
            pieces.append(chunk)
            continue
        match = _LEADING_SPACE_RE.match(chunk)
        space, word = (match.group(1), match.group(2)) if match else ("", chunk)
        if len(word) <= CHARS_PER_TOKEN:
            pieces.append(chunk)
            continue
        cuts = [word[i : i + CHARS_PER_TOKEN] for i in range(0, len(word), CHARS_PER_TOKEN)]
        pieces.append(space + cuts[0])
        pieces.extend(cuts[1:])
    return pieces


def count_prompt_tokens(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    system: str | None = None,
) -> int:
    """Estimate the prompt tokens of a conversation rendered as ChatML."""
    return estimate_tokens(render_chatml(system, messages, tools))


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt, its token count and its system part (for the prompt cache)."""

    text: str
    tokens: int
    system_text: str
    system_tokens: int


class PromptRenderer:
    """Renders prompts per model, caching local tokenizers."""

    def __init__(self) -> None:
        """Start with an empty tokenizer cache."""
        self._tokenizers: dict[str, HfTokenizer | None] = {}
        self._lock = asyncio.Lock()

    async def tokenizer_for(self, info: ModelInfo) -> HfTokenizer | None:
        """Return the model's local tokenizer (loaded once, in an executor), or None."""
        key = str(info.tokenizer_dir)
        if key in self._tokenizers:
            return self._tokenizers[key]
        async with self._lock:
            if key not in self._tokenizers:
                tokenizer = None
                if info.tokenizer_dir.is_dir():
                    loop = asyncio.get_running_loop()
                    tokenizer = await loop.run_in_executor(
                        None, HfTokenizer.load, info.tokenizer_dir
                    )
                self._tokenizers[key] = tokenizer
        return self._tokenizers[key]

    async def render(
        self,
        info: ModelInfo,
        system: str | None,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        think: bool | None,
    ) -> RenderedPrompt:
        """Render a conversation for a model and count its tokens."""
        tokenizer = await self.tokenizer_for(info)
        if tokenizer is None:
            text = render_chatml(system, messages, tools)
            system_text = render_system(system, tools) if system is not None or tools else ""
            return RenderedPrompt(
                text, estimate_tokens(text), system_text, estimate_tokens(system_text)
            )
        head: list[dict[str, Any]] = []
        if system is not None and tokenizer.supports_system:
            head = [{"role": "system", "content": system}]
        text = tokenizer.render([*head, *messages], tools, think)
        system_text = ""
        if head or tools:
            try:
                candidate = tokenizer.render(head, tools, think, add_generation_prompt=False)
            except Exception:  # noqa: BLE001 - some templates refuse a system-only chat
                candidate = ""
            system_text = candidate if candidate and text.startswith(candidate) else ""
        return RenderedPrompt(
            text, tokenizer.count(text), system_text, tokenizer.count(system_text)
        )

    async def pieces(self, info: ModelInfo, text: str) -> list[str]:
        """Cut a reply into pieces with the model's tokenizer, or the estimate rule."""
        tokenizer = await self.tokenizer_for(info)
        if tokenizer is None:
            return split_pieces(text)
        return tokenizer.pieces(text)
