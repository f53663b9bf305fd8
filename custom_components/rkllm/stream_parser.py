"""Live parsing of the model's text into answer, reasoning and tool calls (see `model_text`).

The region scanning is transformers' `ResponseParser` (a declarative `response_template`),
which holds back a possibly split tag (`<thi` … `nk>`) and streams everything else at once.
Around it this module adds what rkllama and small models need:

* reasoning models whose prompt already opened the reasoning emit only its closing tag: their
  text is held until either tag shows which part is reasoning (it is never spoken);
* the jfreed-dev fork writes `(N tokens)` after the reasoning's closing tag: it is dropped;
* stray closing tags are dropped; leading and trailing whitespace of the answer is not sent;
* with tools offered, an answer that starts with `{` or a code fence is held to the end and
  read as a bare JSON tool call when it is one (small models often forget the tags);
* a tool call is returned the moment its JSON object is complete, before its closing tag; once
  a call was made, text other than another call ends the answer (`calls_done`): what a model
  writes after its calls is a guess at their results, never spoken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
import re
from typing import Any, Literal, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .api.model_text import (
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    json_object_end,
    looks_like_tool_call,
)

RESPONSE_TEMPLATE: dict[str, Any] = {
    "version": 1,
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "thinking": {"open": THINK_OPEN, "close": THINK_CLOSE, "content_args": {"strip": False}},
        "tool_calls": {"open": TOOL_CALL_OPEN, "close": TOOL_CALL_CLOSE, "repeats": True},
        # A closing tag with no opening one: an empty region, so the tag is never spoken.
        "stray": {"open": [THINK_CLOSE, TOOL_CALL_CLOSE], "close_pattern": ""},
        "content": {},
    },
}

_FORK_MARKER = re.compile(r"\s*\(\d+ (?:thinking )?tokens\)[ \t]*\n?")
_FORK_MARKER_MAX = 32  # characters after the reasoning held while looking for the fork's marker
_JSON_STARTS = ("{", "`", "[")

DATA_PARSER_FACTORY: HassKey[asyncio.Future[ParserFactory]] = HassKey("rkllm_response_parser")


class RegionParser(Protocol):
    """What this module uses of transformers' `ResponseParser`."""

    def feed(self, text: str) -> list[dict[str, Any]]:
        """Consume model text and return region events."""

    def finalize(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Close the stream and return the message and the last events."""


type ParserFactory = Callable[[], RegionParser]


@dataclass(frozen=True, slots=True)
class TextPart:
    """Answer text (spoken) or reasoning text (never spoken)."""

    kind: Literal["content", "thinking"]
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """The raw text of one tool call, to be read by `model_text.parse_tool_call`."""

    raw: str


type Part = TextPart | ToolCallPart


def load_parser_factory() -> ParserFactory:
    """Import transformers' response parser and compile our template (blocking)."""
    from transformers.utils.chat_parsing import ResponseParser  # noqa: PLC0415
    from transformers.utils.chat_parsing.response_templates import (  # noqa: PLC0415
        load_response_template,
    )

    template = load_response_template(RESPONSE_TEMPLATE)
    factory: ParserFactory = partial(ResponseParser, template, prefix="")
    return factory


@callback
def async_start_parser_import(hass: HomeAssistant) -> asyncio.Future[ParserFactory]:
    """Start importing transformers' parser in the executor, once per Home Assistant.

    Importing transformers takes seconds on a small machine: set-up starts it, so that no
    turn (the first after a restart included) waits for it.
    """
    if (future := hass.data.get(DATA_PARSER_FACTORY)) is None:
        future = hass.async_add_executor_job(load_parser_factory)
        hass.data[DATA_PARSER_FACTORY] = future
    return future


async def async_get_parser_factory(hass: HomeAssistant) -> ParserFactory:
    """Return the parser factory, waiting for its import if it is still running."""
    # Shielded: a cancelled turn must not cancel the import other turns wait for.
    return await asyncio.shield(async_start_parser_import(hass))


class StreamParser:
    """Split one streamed answer into parts, as early as the text allows."""

    def __init__(self, factory: ParserFactory, *, reasoning: bool, tools: bool) -> None:
        """Start a message; `reasoning` models may begin inside unopened reasoning."""
        self._regions = factory()
        self._tools = tools
        self._pending_think: str | None = "" if reasoning else None
        self._started = False  # some answer text was sent
        self._held_space = ""  # whitespace sent only if more answer text follows
        self._after_think: str | None = None  # text after the reasoning, checked for the marker
        self._held_json: str | None = None  # a possible bare JSON tool call
        self._call: str | None = None  # the text of the open tool-call region
        self._calls = 0  # tool calls returned
        self.calls_done = False
        """Tool calls were made and the model went on with something else: stop reading."""
        self._finished = False

    def feed(self, text: str) -> list[Part]:
        """Consume a piece of model text and return the parts it completes."""
        if not text:
            return []
        if self._pending_think is not None:
            return self._feed_pending(text)
        return self._handle(self._regions.feed(text))

    def finish(self) -> list[Part]:
        """End the message: flush everything held back."""
        if self._finished:
            return []
        self._finished = True
        parts: list[Part] = []
        if self._pending_think is not None:
            held, self._pending_think = self._pending_think, None
            parts += self._handle(self._regions.feed(held))
        _, events = self._regions.finalize()
        parts += self._handle(events)
        if self._after_think is not None:
            held, self._after_think = self._after_think, None
            parts += self._content(held, final=True)
        if self._held_json is not None:
            parts += self._flush_json()
        return parts

    # -- internals ---------------------------------------------------------------------------

    def _feed_pending(self, text: str) -> list[Part]:
        """Hold a reasoning model's text until a think tag shows where the answer starts."""
        held = (self._pending_think or "") + text
        opened, closed = held.find(THINK_OPEN), held.find(THINK_CLOSE)
        if opened == -1 and closed == -1:
            self._pending_think = held
            return []
        self._pending_think = None
        if closed != -1 and (opened == -1 or closed < opened):
            held = THINK_OPEN + held  # the prompt opened the reasoning; the model only closes it
        return self._handle(self._regions.feed(held))

    def _handle(self, events: list[dict[str, Any]]) -> list[Part]:
        parts: list[Part] = []
        for event in events:
            field, kind = event.get("field"), event.get("type")
            if field == "content" and kind == "region_chunk":
                parts += self._content(str(event.get("text", "")))
            elif field == "thinking" and kind == "region_chunk":
                if text := str(event.get("text", "")):
                    parts.append(TextPart("thinking", text))
            elif field == "thinking" and kind == "region_close":
                self._after_think = ""
                self._held_space = ""
            elif field == "tool_calls" and kind == "region_open":
                self._call = ""
            elif field == "tool_calls" and kind == "region_chunk" and self._call is not None:
                self._call += str(event.get("text", ""))
                if (end := json_object_end(self._call)) is not None:
                    parts.append(self._tool_call(self._call[:end].strip()))
                    self._call = None  # the rest of the region is the closing tag
            elif field == "tool_calls" and kind == "region_close":
                if self._call is not None:
                    parts.append(self._tool_call(str(event.get("value", ""))))
                self._call = None
        return parts

    def _tool_call(self, raw: str) -> ToolCallPart:
        self._calls += 1
        return ToolCallPart(raw)

    def _content(self, text: str, *, final: bool = False) -> list[Part]:
        """Route answer text through the marker check, the JSON hold and whitespace holding."""
        if self._calls:
            if text.strip():
                self.calls_done = True
            return []
        if self._after_think is not None:
            held = self._after_think + text
            stripped = held.lstrip()
            undecided = stripped.startswith("(") and ")" not in stripped
            if not final and (not stripped or undecided) and len(held) < _FORK_MARKER_MAX:
                self._after_think = held
                return []
            self._after_think = None
            text = _FORK_MARKER.sub("", held, count=1) if stripped.startswith("(") else held
        if self._held_json is not None:
            self._held_json += text
            return []
        if not self._started:
            text = text.lstrip()
            if not text:
                return []
            if self._tools and text.startswith(_JSON_STARTS):
                self._held_json = text
                return []
        body = text.rstrip()
        if not body:
            self._held_space += text
            return []
        out = self._held_space + body
        self._held_space = text[len(body) :]
        self._started = True
        return [TextPart("content", out)]

    def _flush_json(self) -> list[Part]:
        """Return held text as a tool call when it is one, else as answer text."""
        held, self._held_json = self._held_json or "", None
        if looks_like_tool_call(held):
            return [ToolCallPart(held)]
        self._started = True
        body = held.rstrip()
        return [TextPart("content", body)] if body else []
