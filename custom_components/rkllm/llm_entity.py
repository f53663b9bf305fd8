"""Shared base of the rkllm agents: chat log → compact prompt → rkllama stream → chat log.

No `tools` are sent to the server: upstream rkllama holds back the first 100 pieces of a
tool-enabled stream while it looks for a tool call. The tools are described in the system
prompt instead (see `prompt`), and tool calls are read from the live stream here (see
`stream_parser`), so plain answer text is spoken from its first piece.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
import logging
import math
from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_MODEL
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, llm
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import (
    ChatChunk,
    ChatMessage,
    ChatOptions,
    GenerationStats,
    JsonValue,
    MessageRole,
    RkllamaDeadlineError,
    RkllamaError,
)
from .api.model_text import ToolCallError, parse_tool_call, tool_call_text
from .const import (
    ANSWER_TOKEN_RESERVE,
    CONF_ENTITIES_IN_PROMPT,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_QUICK_CONFIRMATION,
    CONF_SHOW_THINKING,
    CONF_TEMPERATURE,
    CONF_THINK,
    CONF_TURN_TIMEOUT,
    DEFAULT_ENTITIES_IN_PROMPT,
    DEFAULT_MAX_HISTORY,
    DEFAULT_QUICK_CONFIRMATION,
    DEFAULT_SHOW_THINKING,
    DEFAULT_TEMPERATURE,
    DEFAULT_THINK,
    DEFAULT_TURN_TIMEOUT,
    DOMAIN,
    ENTITIES_ALL,
    MANUFACTURER,
    MAX_TOOL_ITERATIONS,
    MAX_TURN_TIMEOUT,
    MIN_TURN_TIMEOUT,
)
from .coordinator import RkllmDataUpdateCoordinator
from .errors import log_failure, spoken_key
from .images import PreparedImages, with_images
from .models import ModelProfile
from .pool.deadlines import patience_of
from .prompt import (
    ContextTooSmallError,
    PromptRequest,
    PromptSettings,
    async_build_request,
    async_get_tokenizer_cache,
)
from .runtime import RkllmConfigEntry
from .speech import async_confirmation, async_error_sentence
from .stream_parser import (
    ParserFactory,
    StreamParser,
    TextPart,
    ToolCallPart,
    async_get_parser_factory,
)

_LOGGER = logging.getLogger(__name__)

DEADLINE_GRACE = 1.0  # seconds the client gets to end a stream at the deadline itself
PARTIAL_MARK = " …"  # appended to an answer cut short by an error
TOOL_CALL_RETRIES = 1  # corrective retries after a tool call that cannot be used
# `num_predict` of every answer: the room the history budget keeps free for it.
MAX_ANSWER_TOKENS = ANSWER_TOKEN_RESERVE


class TurnError(HomeAssistantError):
    """A turn ended early with a translated error."""

    kept_partial: bool = False
    """The chat log holds the part of the answer that was streamed (marked with `…`)."""


@dataclass(slots=True)
class _Generation:
    """What one request to the server produced."""

    text: str = ""
    """Answer text sent to the chat log."""
    calls: int = 0
    """Usable tool calls sent to the chat log."""
    bad_calls: list[tuple[str, str]] = field(default_factory=list)
    """Unusable tool calls: (raw text, reason)."""
    received: bool = False
    """The server sent at least one chunk."""
    stats: GenerationStats | None = None
    error: RkllamaError | None = None


@dataclass(frozen=True, slots=True)
class _TurnSetup:
    """Everything fixed for one turn."""

    choice: str
    """The agent's model choice (each board may name the model differently)."""
    server_model: str
    profile: ModelProfile
    factory: ParserFactory
    prompt: PromptSettings
    options: ChatOptions
    keep_thinking: bool
    """Reasoning goes to the chat log (shown, never spoken)."""
    deadline: float
    """Event-loop time by which the whole turn ends (the agent's time limit)."""
    quick_confirmation: bool
    language: str
    think: bool | None
    """Sent as `think` to models that switch thinking (Qwen3): off for voice unless opted in."""


def add_subentry_entities(
    entry: RkllmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    subentry_type: str,
    entity_class: Callable[[RkllmConfigEntry, ConfigSubentry], Entity],
) -> None:
    """Add one entity of `entity_class` per subentry of `subentry_type`, as its device."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == subentry_type:
            async_add_entities(
                [entity_class(entry, subentry)], config_subentry_id=subentry.subentry_id
            )


class RkllmLLMEntity(Entity):
    """An agent (conversation or AI task) backed by a model on the rkllama server."""

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(self, entry: RkllmConfigEntry, subentry: ConfigSubentry) -> None:
        """Create the agent of one subentry, as its own service device."""
        self.entry = entry
        self.subentry = subentry
        self._attr_unique_id = subentry.subentry_id
        self._was_available = True
        model, _, tag = str(subentry.data.get(CONF_MODEL, "")).partition(":")
        self._attr_device_info = dr.DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer=MANUFACTURER,
            model=model or None,
            sw_version=tag or None,
            entry_type=dr.DeviceEntryType.SERVICE,
        )

    @property
    def _coordinator(self) -> RkllmDataUpdateCoordinator:
        return self.entry.runtime_data.coordinator

    @property
    def _settings(self) -> dict[str, Any]:
        return {**self.entry.data, **self.subentry.data}

    @property
    def available(self) -> bool:
        """Return True while a reachable board can answer: its own, or another with the model."""
        return self.entry.runtime_data.pool.can_serve(
            str(self._settings[CONF_MODEL]), own_entry=self.entry.entry_id
        )

    @callback
    def _async_pool_changed(self) -> None:
        """Follow the boards: unavailable while none can answer (logged once each way)."""
        available = self.available
        if available == self._was_available:
            return
        self._was_available = available
        if available:
            _LOGGER.info("%s is available again", self.entity_id)
        else:
            _LOGGER.info("%s is unavailable: no reachable server has its model", self.entity_id)
        self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Follow the pool; warm up the response parser and the tokenizer in the background."""
        await super().async_added_to_hass()
        self._was_available = self.available
        self.async_on_remove(
            self.entry.runtime_data.pool.async_add_listener(self._async_pool_changed)
        )
        self.entry.async_create_background_task(
            self.hass, self._async_warm_up(), f"{DOMAIN} warm up {self.entity_id}"
        )

    async def _async_warm_up(self) -> None:
        """Import transformers and load the model's tokenizer before the first turn."""
        await async_get_parser_factory(self.hass)
        profile = await self._coordinator.async_profile(self._settings[CONF_MODEL])
        await async_get_tokenizer_cache(self.hass).async_get(profile)

    # -- the turn --------------------------------------------------------------------------

    async def _async_handle_chat_log(
        self,
        chat_log: conversation.ChatLog,
        *,
        response_format: JsonValue = None,
        language: str | None = None,
        images: PreparedImages | None = None,
    ) -> None:
        """Generate the answer to the chat log, running tools in between (bounded).

        `images` go with the last user message of every request of the turn.

        Raises:
            TurnError: the server failed, or the prompt does not fit the context window.

        """
        setup = await self._async_setup_turn(language)
        retries = TOOL_CALL_RETRIES
        correction: list[ChatMessage] = []
        for _iteration in range(MAX_TOOL_ITERATIONS):
            request = await self._async_request(chat_log, setup, images)
            result = await _within_deadline(
                setup.deadline,
                self._async_generate(chat_log, setup, request, correction, response_format),
            )
            correction = []
            if result.error is not None:
                raise self._turn_error(chat_log, result, result.error)
            if result.bad_calls and not result.calls:
                raw, reason = result.bad_calls[0]
                if retries > 0:
                    retries -= 1
                    _LOGGER.debug("Unusable tool call (%s): %s", reason, raw)
                    correction = _correction(raw, reason, chat_log)
                    continue
                await self._async_add_failure(chat_log, setup.language, reason)
                return
            if not chat_log.unresponded_tool_results:
                return
            if setup.quick_confirmation and (
                speech := await async_confirmation(self.hass, chat_log, setup.language)
            ):
                # Every call was a device action that succeeded: say so, no second prefill.
                chat_log.async_add_assistant_content_without_tools(
                    conversation.AssistantContent(agent_id=self.entity_id, content=speech)
                )
                return
        # Still calling tools after MAX_TOOL_ITERATIONS rounds: say so rather than loop on.
        await self._async_add_failure(
            chat_log, setup.language, f"more than {MAX_TOOL_ITERATIONS} tool calls in a row"
        )

    async def _async_setup_turn(self, language: str | None = None) -> _TurnSetup:
        """Resolve the model and the turn's settings."""
        settings = self._settings
        deadline = turn_deadline(settings)
        coordinator = self._coordinator
        choice = str(settings[CONF_MODEL])
        profile = await coordinator.async_profile(choice)
        context_window = int(settings.get(CONF_NUM_CTX) or profile.context_length)
        think = bool(settings.get(CONF_THINK, DEFAULT_THINK)) if profile.hybrid_thinking else None
        return _TurnSetup(
            choice=choice,
            server_model=coordinator.server_model(choice),
            profile=profile,
            factory=await async_get_parser_factory(self.hass),
            prompt=PromptSettings(
                relevant_entities=settings.get(CONF_ENTITIES_IN_PROMPT, DEFAULT_ENTITIES_IN_PROMPT)
                != ENTITIES_ALL,
                context_window=context_window,
                max_history=int(settings.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY)),
                language=language,
            ),
            options=ChatOptions(
                temperature=float(settings.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)),
                num_ctx=context_window,
                num_predict=MAX_ANSWER_TOKENS,
            ),
            keep_thinking=bool(settings.get(CONF_SHOW_THINKING, DEFAULT_SHOW_THINKING) or think),
            deadline=deadline,
            quick_confirmation=bool(
                settings.get(CONF_QUICK_CONFIRMATION, DEFAULT_QUICK_CONFIRMATION)
            ),
            language=language or self.hass.config.language,
            think=think,
        )

    async def _async_request(
        self,
        chat_log: conversation.ChatLog,
        setup: _TurnSetup,
        images: PreparedImages | None = None,
    ) -> PromptRequest:
        """Return the next request's messages, fitted to the context window."""
        try:
            request = await async_build_request(
                self.hass,
                chat_log,
                setup.profile,
                setup.prompt,
                extra_tokens=images.tokens if images else 0,
            )
        except ContextTooSmallError as err:
            raise TurnError(
                translation_domain=DOMAIN,
                translation_key="context_too_small",
                translation_placeholders={"error": str(err)},
            ) from err
        _LOGGER.debug(
            "Prompt for %s: %s messages, %s tokens (%s), %s earlier turns dropped",
            setup.server_model,
            len(request.messages),
            request.tokens,
            "counted" if request.exact else "estimated",
            request.dropped_turns,
        )
        if images:
            request = replace(request, messages=with_images(request.messages, images.images))
        return request

    async def _async_generate(
        self,
        chat_log: conversation.ChatLog,
        setup: _TurnSetup,
        request: PromptRequest,
        correction: list[ChatMessage],
        response_format: JsonValue,
    ) -> _Generation:
        """Stream one answer of the model into the chat log."""
        result = _Generation()
        messages = request.messages + correction
        stream = self.entry.runtime_data.pool.async_chat(
            setup.choice,
            messages,
            own_entry=self.entry.entry_id,
            options=setup.options,
            think=setup.think,
            response_format=response_format,
            deadline=setup.deadline,
            prompt_tokens=request.tokens,
            patience=patience_of(self._settings),
        )
        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, self._deltas(stream, setup, request.tools, result)
        ):
            pass
        return result

    async def _deltas(
        self,
        stream: AsyncGenerator[ChatChunk],
        setup: _TurnSetup,
        tools: Mapping[str, str],
        result: _Generation,
    ) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
        """Turn the server's chunks into chat-log deltas as soon as they are known."""
        parser = StreamParser(setup.factory, reasoning=setup.profile.reasoning, tools=bool(tools))
        offered = list(tools)
        yield {"role": "assistant"}
        try:
            async for chunk in stream:
                result.received = True
                for chunk_delta in self._chunk_deltas(chunk, parser, offered, setup, result):
                    yield chunk_delta
                if parser.calls_done:
                    # The calls already run: stop here, the client reads the rest in the
                    # background (upstream kills a worker whose client goes away).
                    await stream.aclose()
                    break
        except RkllamaError as err:
            result.error = err
        for part in parser.finish():
            if result.error is not None and not _is_answer(part):
                continue  # cut short: only the answer text streamed so far is kept
            if (delta := self._delta(part, offered, setup, result)) is not None:
                yield delta
        if result.error is not None and result.text:
            yield {"content": PARTIAL_MARK}

    def _chunk_deltas(
        self,
        chunk: ChatChunk,
        parser: StreamParser,
        offered: list[str],
        setup: _TurnSetup,
        result: _Generation,
    ) -> Iterator[conversation.AssistantContentDeltaDict]:
        """Return the deltas one chunk of the server completes."""
        if chunk.thinking and setup.keep_thinking:
            yield {"thinking_content": chunk.thinking}
        for part in parser.feed(chunk.content):
            if (delta := self._delta(part, offered, setup, result)) is not None:
                yield delta
        for call in chunk.tool_calls:
            structured = {"name": call.name, "arguments": call.arguments}
            if (delta := self._call_delta(structured, offered, result)) is not None:
                yield delta
        if chunk.stats is not None:
            result.stats = chunk.stats

    def _delta(
        self,
        part: TextPart | ToolCallPart,
        offered: list[str],
        setup: _TurnSetup,
        result: _Generation,
    ) -> conversation.AssistantContentDeltaDict | None:
        if isinstance(part, ToolCallPart):
            return self._call_delta(part.raw, offered, result)
        if part.kind == "thinking":
            return {"thinking_content": part.text} if setup.keep_thinking else None
        result.text += part.text
        return {"content": part.text}

    @staticmethod
    def _call_delta(
        raw: str | dict[str, Any], offered: list[str], result: _Generation
    ) -> conversation.AssistantContentDeltaDict | None:
        try:
            call = parse_tool_call(raw, offered)
        except ToolCallError as err:
            result.bad_calls.append((raw if isinstance(raw, str) else str(raw), str(err)))
            return None
        result.calls += 1
        return {"tool_calls": [llm.ToolInput(tool_name=call.name, tool_args=call.arguments)]}

    # -- endings ---------------------------------------------------------------------------

    def _turn_error(
        self, chat_log: conversation.ChatLog, result: _Generation, err: RkllamaError
    ) -> TurnError:
        """Return the translated error for a generation that failed with `err`."""
        log_failure(_LOGGER, self.entity_id, err)
        error = TurnError(
            translation_domain=DOMAIN,
            translation_key=spoken_key(err, mid_answer=result.received),
        )
        last = chat_log.content[-1]
        error.kept_partial = (
            bool(result.text)
            and isinstance(last, conversation.AssistantContent)
            and (last.content or "").endswith(PARTIAL_MARK)
        )
        return error

    async def _async_add_failure(
        self, chat_log: conversation.ChatLog, language: str, reason: str
    ) -> None:
        """End the turn with an honest spoken failure after unusable tool calls."""
        message = await async_error_sentence(
            self.hass, language, "tool_call_failed", {"error": reason}
        )
        message = message.rstrip(".")
        _LOGGER.debug("Giving up on the tool call: %s", reason)
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=self.entity_id, content=f"{message}.")
        )


def _correction(raw: str, reason: str, chat_log: conversation.ChatLog) -> list[ChatMessage]:
    """Return the messages that show the model its unusable tool call and ask again."""
    request = next(
        (c.content for c in reversed(chat_log.content) if isinstance(c, conversation.UserContent)),
        "",
    )
    return [
        ChatMessage(MessageRole.ASSISTANT, tool_call_text(raw)),
        ChatMessage(
            MessageRole.USER,
            f'That tool call could not be used: {reason}. The request was: "{request}". '
            "Call one of the listed tools, with valid JSON, or answer without a tool.",
        ),
    ]


async def _within_deadline(deadline: float, generation: Awaitable[_Generation]) -> _Generation:
    """Return the generation, or a deadline error when it is not done shortly after `deadline`.

    The client itself ends a stream at the deadline (keeping the partial answer); this bound
    ends a turn stuck before its stream, waiting for the NPU or a model load.
    """
    try:
        async with asyncio.timeout_at(deadline + DEADLINE_GRACE):
            return await generation
    except TimeoutError:
        return _Generation(error=RkllamaDeadlineError("no answer within the time limit"))


def _is_answer(part: TextPart | ToolCallPart) -> bool:
    return isinstance(part, TextPart) and part.kind == "content"


def turn_seconds(settings: Mapping[str, Any]) -> float:
    """Return the agent's time limit for one turn (a bad stored value gives the default)."""
    try:
        seconds = float(settings.get(CONF_TURN_TIMEOUT, DEFAULT_TURN_TIMEOUT))
    except TypeError, ValueError:
        return float(DEFAULT_TURN_TIMEOUT)
    if not math.isfinite(seconds):
        return float(DEFAULT_TURN_TIMEOUT)
    return min(max(seconds, MIN_TURN_TIMEOUT), MAX_TURN_TIMEOUT)


def turn_deadline(settings: Mapping[str, Any]) -> float:
    """Return the event-loop time by which the turn must end."""
    return asyncio.get_running_loop().time() + turn_seconds(settings)
