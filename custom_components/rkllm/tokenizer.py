"""Token counting and tool-block rendering with the model's own tokenizer.

The tokenizer (and `transformers` itself) is loaded lazily in the executor, once per tokenizer
id for all agents, and kept on disk under `.storage/rkllm_tokenizers`. When it cannot be had
(offline, unknown repository) the length of a text is estimated as one token per
`ESTIMATE_CHARS_PER_TOKEN` characters, and a repair issue says so once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
import json
import logging
import math
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey
from jinja2 import TemplateError

from .const import DOMAIN
from .models import ModelProfile

_LOGGER = logging.getLogger(__name__)

ESTIMATE_CHARS_PER_TOKEN = 4  # English text and JSON average about 4 characters per token
TOKENIZER_CACHE_DIR = ".storage/rkllm_tokenizers"
_COUNT_CACHE_SIZE = 512  # texts whose token count is remembered (system prompts repeat)
_SENTINEL = "RKLLM-SYSTEM-TEXT"

DATA_TOKENIZERS: HassKey[TokenizerCache] = HassKey("rkllm_tokenizers")

# What loading a tokenizer raises when it is not there (offline, no such repository, a file
# it cannot read, a blocked socket in tests).
_LOAD_ERRORS = (OSError, ValueError, RuntimeError, ImportError, KeyError)


def estimate_tokens(text: str) -> int:
    """Return the estimated token count of `text` (no tokenizer)."""
    return math.ceil(len(text) / ESTIMATE_CHARS_PER_TOKEN)


class TokenCounter:
    """Count tokens with a tokenizer when there is one, else estimate them."""

    def __init__(self, source: str | None, tokenizer: Any = None) -> None:
        """Wrap a loaded tokenizer (or None for estimates)."""
        self.source = source
        self._tokenizer = tokenizer
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._tool_blocks: dict[str, str | None] = {}

    @property
    def exact(self) -> bool:
        """Return True when counts come from the model's tokenizer."""
        return self._tokenizer is not None

    def count(self, text: str) -> int:
        """Return the token count of `text` (blocking when exact)."""
        if self._tokenizer is None:
            return estimate_tokens(text)
        if (known := self._counts.get(text)) is not None:
            self._counts.move_to_end(text)
            return known
        value = len(self._tokenizer.encode(text, add_special_tokens=False))
        self._counts[text] = value
        if len(self._counts) > _COUNT_CACHE_SIZE:
            self._counts.popitem(last=False)
        return value

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Return the token counts of several texts (blocking when exact)."""
        return [self.count(text) for text in texts]

    async def async_count_many(self, hass: HomeAssistant, texts: Sequence[str]) -> list[int]:
        """Return token counts; tokenizing runs in the executor unless all are known."""
        if self._tokenizer is None or all(text in self._counts for text in texts):
            return self.count_many(texts)
        return await hass.async_add_executor_job(self.count_many, list(texts))

    def render_tool_block(self, tools: list[dict[str, Any]]) -> str | None:
        """Return the text the chat template appends to the system turn for `tools` (blocking).

        None when there is no tokenizer, or when its template puts tools somewhere else or
        does not show every tool (then the caller uses its own block).
        """
        if self._tokenizer is None or not tools:
            return None
        key = json.dumps(tools, sort_keys=True)
        if key not in self._tool_blocks:
            self._tool_blocks[key] = self._render_tool_block(tools)
        return self._tool_blocks[key]

    async def async_render_tool_block(
        self, hass: HomeAssistant, tools: list[dict[str, Any]]
    ) -> str | None:
        """Return the template's tool block, rendered in the executor the first time."""
        if self._tokenizer is None or not tools:
            return None
        key = json.dumps(tools, sort_keys=True)
        if key in self._tool_blocks:
            return self._tool_blocks[key]
        return await hass.async_add_executor_job(self.render_tool_block, tools)

    def _render_tool_block(self, tools: list[dict[str, Any]]) -> str | None:
        """Render a system turn with and without tools and return the difference."""
        messages = [{"role": "system", "content": _SENTINEL}]
        try:
            plain = str(self._apply(messages, None))
            with_tools = str(self._apply(messages, tools))
        except (*_LOAD_ERRORS, TypeError, TemplateError) as err:
            _LOGGER.debug("Chat template of %s cannot render tools: %s", self.source, err)
            return None
        start, end = plain.find(_SENTINEL), with_tools.find(_SENTINEL)
        if start == -1 or end == -1:
            return None
        before, after = plain[:start], plain[start + len(_SENTINEL) :]
        if with_tools[:end] != before or not with_tools.endswith(after):
            _LOGGER.debug("Chat template of %s puts tools outside the system turn", self.source)
            return None
        block = with_tools[end + len(_SENTINEL) : len(with_tools) - len(after)]
        names = [str(tool.get("function", tool).get("name", "")) for tool in tools]
        if not block or not all(name in block for name in names):
            _LOGGER.debug("Chat template of %s does not render these tools", self.source)
            return None
        return block

    def _apply(self, messages: list[dict[str, str]], tools: list[dict[str, Any]] | None) -> Any:
        return self._tokenizer.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=False
        )


def load_tokenizer(source: str, cache_dir: str) -> Any:
    """Load a tokenizer from the disk cache, else from Hugging Face (blocking)."""
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, executor only

    try:
        return AutoTokenizer.from_pretrained(source, cache_dir=cache_dir, local_files_only=True)
    except OSError:
        return AutoTokenizer.from_pretrained(source, cache_dir=cache_dir)


class TokenizerCache:
    """Token counters per tokenizer id, shared by all agents."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start empty."""
        self._hass = hass
        self._counters: dict[str, asyncio.Future[TokenCounter]] = {}

    async def async_get(self, profile: ModelProfile) -> TokenCounter:
        """Return the counter for a model; the first call loads its tokenizer."""
        source = profile.tokenizer
        if not source:
            return TokenCounter(None)
        if (future := self._counters.get(source)) is None:
            future = self._hass.async_create_task(
                self._async_load(source, profile.name), f"{DOMAIN} load tokenizer {source}"
            )
            self._counters[source] = future
        return await asyncio.shield(future)

    def ready(self, profile: ModelProfile) -> TokenCounter | None:
        """Return the model's counter if its tokenizer is loaded already (never waits)."""
        future = self._counters.get(profile.tokenizer or "")
        if future is None or not future.done() or future.cancelled() or future.exception():
            return None
        return future.result()

    async def _async_load(self, source: str, model: str) -> TokenCounter:
        cache_dir = self._hass.config.path(TOKENIZER_CACHE_DIR)
        issue_id = f"tokenizer_unavailable_{slugify(source)}"
        try:
            tokenizer = await self._hass.async_add_executor_job(load_tokenizer, source, cache_dir)
        except _LOAD_ERRORS as err:
            _LOGGER.warning(
                "Tokenizer %s of %s is unavailable, estimating token counts: %s",
                source,
                model,
                err,
            )
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="tokenizer_unavailable",
                translation_placeholders={"model": model, "tokenizer": source},
            )
            return TokenCounter(source)
        ir.async_delete_issue(self._hass, DOMAIN, issue_id)
        return TokenCounter(source, tokenizer)


def async_get_tokenizer_cache(hass: HomeAssistant) -> TokenizerCache:
    """Return the shared tokenizer cache."""
    if (cache := hass.data.get(DATA_TOKENIZERS)) is None:
        cache = hass.data[DATA_TOKENIZERS] = TokenizerCache(hass)
    return cache
