"""Token counting and tool-block rendering with the model's own tokenizer.

The tokenizer (and `transformers` itself) is loaded in the background, in the executor, once per
tokenizer id for all agents: from the disk cache under `.storage/rkllm_tokenizers`, from the
shipped Qwen files for the Qwen family, else downloaded once (bounded). Until it is there, and
when it cannot be had (offline, unknown repository), the length of a text is estimated as one
token per `ESTIMATE_CHARS_PER_TOKEN` characters; a failed load raises a repair issue once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import json
import logging
import math
import os
import time
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey
from jinja2 import TemplateError

from ..const import DOMAIN
from ..models import ModelProfile
from .tokenizer_sources import download, load_offline

_LOGGER = logging.getLogger(__name__)

ESTIMATE_CHARS_PER_TOKEN = 4  # English text and JSON average about 4 characters per token
TOKENIZER_CACHE_DIR = ".storage/rkllm_tokenizers"
HF_ENDPOINT = "https://huggingface.co"
REACH_TIMEOUT = 5.0  # seconds: is Hugging Face reachable at all (else no download is tried)
DOWNLOAD_TIMEOUT = 60.0  # seconds the background download may take before it counts as failed
RETRY_AFTER = 3600.0  # seconds before a failed download is tried again (at the next turn)
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

    def __init__(
        self,
        source: str | None,
        tokenizer: Any = None,
        *,
        own_template: bool = True,
        on_exact_wanted: Callable[[], None] | None = None,
    ) -> None:
        """Wrap a loaded tokenizer (or None for estimates).

        `own_template` is False when the tokenizer only shares the model's vocabulary (the
        shipped Qwen files): it counts, but its chat template does not render the tool block.
        `on_exact_wanted` starts loading the tokenizer of an estimating counter.
        """
        self.source = source
        self._tokenizer = tokenizer
        self._own_template = own_template
        self._on_exact_wanted = on_exact_wanted
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._tool_blocks: dict[str, str | None] = {}

    @property
    def exact(self) -> bool:
        """Return True when counts come from the model's tokenizer."""
        return self._tokenizer is not None

    def want_exact(self) -> None:
        """Ask for exact counts (the estimate may be too far off): load in the background."""
        if self._tokenizer is None and self._on_exact_wanted is not None:
            self._on_exact_wanted()

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
        if self._tokenizer is None or not self._own_template or not tools:
            return None
        key = json.dumps(tools, sort_keys=True)
        if key not in self._tool_blocks:
            self._tool_blocks[key] = self._render_tool_block(tools)
        return self._tool_blocks[key]

    async def async_render_tool_block(
        self, hass: HomeAssistant, tools: list[dict[str, Any]]
    ) -> str | None:
        """Return the template's tool block, rendered in the executor the first time."""
        if self._tokenizer is None or not self._own_template or not tools:
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
    """Load a tokenizer from the disk cache or shipped Qwen files, else download it (blocking)."""
    if (found := load_offline(source, cache_dir)) is not None:
        return found[0]
    return download(source, cache_dir)


@dataclass(slots=True)
class _Slot:
    """One tokenizer id: its counter (an estimate until loaded) and its loading."""

    counter: TokenCounter
    task: asyncio.Task[None] | None = None
    failed_at: float | None = None


class TokenizerCache:
    """Token counters per tokenizer id, shared by all agents.

    A turn never waits for a tokenizer: `async_get` answers at once with the counter, an
    estimating one until the tokenizer is loaded. Loading happens only when exact counts are
    wanted (`TokenCounter.want_exact`: a prompt near the context window, or text the estimate
    cannot judge), in the background: disk cache, shipped Qwen files, then one download
    bounded by `DOWNLOAD_TIMEOUT`; a failed download is tried again no sooner than
    `RETRY_AFTER`. Loading is not free: Qwen's BPE takes about 110 MiB and its Rust loader
    holds the GIL (so stalls the event loop) for one to a few seconds.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Start empty."""
        self._hass = hass
        self._slots: dict[str, _Slot] = {}

    async def async_get(self, profile: ModelProfile) -> TokenCounter:
        """Return the model's counter at once; start loading its tokenizer when that is due."""
        return self._get(profile)

    def _get(self, profile: ModelProfile) -> TokenCounter:
        source = profile.tokenizer
        if not source:
            return TokenCounter(None)
        slot = self._slots.get(source)
        if slot is None:
            slot = _Slot(TokenCounter(source))
            slot.counter = TokenCounter(
                source, on_exact_wanted=lambda: self._start_load(slot, source, profile.name)
            )
            self._slots[source] = slot
        return slot.counter

    def _start_load(self, slot: _Slot, source: str, model: str) -> None:
        """Start loading in the background unless loading, loaded or failed recently."""
        if slot.counter.exact or (slot.task is not None and not slot.task.done()):
            return
        if slot.failed_at is None or time.monotonic() - slot.failed_at >= RETRY_AFTER:
            slot.task = self._hass.async_create_background_task(
                self._async_load(slot, source, model), f"{DOMAIN} load tokenizer {source}"
            )

    async def async_wait(self, profile: ModelProfile) -> TokenCounter:
        """Load the model's tokenizer now; return its counter once loaded (or failed)."""
        counter = self._get(profile)
        counter.want_exact()
        slot = self._slots.get(profile.tokenizer or "")
        if slot is not None and slot.task is not None:
            await asyncio.shield(slot.task)
            return slot.counter
        return counter

    async def _async_load(self, slot: _Slot, source: str, model: str) -> None:
        hass = self._hass
        cache_dir = hass.config.path(TOKENIZER_CACHE_DIR)
        issue_id = f"tokenizer_unavailable_{slugify(source)}"
        try:
            found = await hass.async_add_executor_job(load_offline, source, cache_dir)
            if found is None:
                tokenizer, origin = await self._async_download(source, cache_dir), "download"
            else:
                tokenizer, origin = found
        except (*_LOAD_ERRORS, TimeoutError, aiohttp.ClientError) as err:
            slot.failed_at = time.monotonic()
            _LOGGER.warning(
                "Tokenizer %s of %s is unavailable, estimating token counts: %s",
                source,
                model,
                err,
            )
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="tokenizer_unavailable",
                translation_placeholders={"model": model, "tokenizer": source},
            )
            return
        _LOGGER.debug("Tokenizer %s of %s loaded (%s)", source, model, origin)
        slot.counter = TokenCounter(source, tokenizer, own_template=origin != "shipped")
        slot.failed_at = None
        ir.async_delete_issue(hass, DOMAIN, issue_id)

    async def _async_download(self, source: str, cache_dir: str) -> Any:
        """Download once, bounded: a quick reachability check first, so no retry storm."""
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
            raise OSError("HF_HUB_OFFLINE is set")
        session = async_get_clientsession(self._hass)
        async with asyncio.timeout(REACH_TIMEOUT):
            async with session.head(f"{HF_ENDPOINT}/{source}/resolve/main/tokenizer_config.json"):
                pass
        async with asyncio.timeout(DOWNLOAD_TIMEOUT):
            return await self._hass.async_add_executor_job(download, source, cache_dir)


def async_get_tokenizer_cache(hass: HomeAssistant) -> TokenizerCache:
    """Return the shared tokenizer cache."""
    if (cache := hass.data.get(DATA_TOKENIZERS)) is None:
        cache = hass.data[DATA_TOKENIZERS] = TokenizerCache(hass)
    return cache
