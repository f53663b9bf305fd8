"""Async client for rkllama servers (legacy `/generate` and Ollama-compatible `/api/*`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
import contextlib
from http import HTTPStatus
import json
from types import TracebackType
from typing import Self

import aiohttp

from .bodies import legacy_body, ollama_body
from .chat_stream import ChatStream
from .exceptions import (
    RkllamaBusyError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaServerError,
    RkllamaUnsupportedError,
)
from .models import (
    ApiFlavour,
    ChatChunk,
    ChatMessage,
    ChatOptions,
    JsonObject,
    JsonValue,
    LoadedModel,
    MessageRole,
    ModelDetails,
    ModelInfo,
    ServerInfo,
)
from .stream import loads_or_none
from .timeouts import DEFAULT_TIMEOUTS, StreamLimits, Timeouts
from .translate import (
    BODY_EXCERPT,
    LegacyTranslator,
    OllamaTranslator,
    as_str,
    error_from_text,
    excerpt_of,
)
from .transport import Transport

DEFAULT_MAX_LINE_BYTES = 1 << 20  # one streamed JSON line


class RkllamaClient:
    """Talk to one rkllama server.

    Pass Home Assistant's shared session as `session`; without one the client makes its own
    and closes it in `close()` (or at the end of `async with`). Credentials in `base_url`
    and the `token` never appear in errors, logs or `repr()`.
    """

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        token: str | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        flavour: ApiFlavour | None = None,
    ) -> None:
        """Prepare; nothing is sent yet.

        `token` is a bearer token for servers behind an authenticating reverse proxy;
        `flavour` skips detection.
        """
        self._transport = Transport(
            base_url,
            session=session,
            token=token,
            timeouts=timeouts,
            on_route_gone=self._forget_flavour,
        )
        self.max_line_bytes = max_line_bytes
        self.flavour = flavour
        """Set by `detect()`; forgotten when the server stops knowing one of its routes."""
        self._legacy_lock = asyncio.Lock()

    def __repr__(self) -> str:
        """Name the server without its credentials."""
        return f"RkllamaClient({self._transport.address!r}, flavour={self.flavour})"

    @property
    def base_url(self) -> str:
        """Return the server's URL as given (credentials included)."""
        return self._transport.base_url

    @property
    def address(self) -> str:
        """Return the server's URL without credentials (safe to log, one per server)."""
        return self._transport.address

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """Return the HTTP session in use (None before the first request without one)."""
        return self._transport.session

    @property
    def timeouts(self) -> Timeouts:
        """Return the time limits of requests and streamed answers."""
        return self._transport.timeouts

    @timeouts.setter
    def timeouts(self, timeouts: Timeouts) -> None:
        self._transport.timeouts = timeouts

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self, drain_limit: float | None = None) -> None:
        """Finish background drains and close the session if the client created it."""
        await self._transport.close(drain_limit)

    async def wait_drained(self, limit: float | None = None) -> None:
        """Wait until abandoned answers are read to their end; cancel them after `limit` s."""
        await self._transport.wait_drained(limit)

    async def __aenter__(self) -> Self:
        """Enter `async with`."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on leaving `async with`."""
        await self.close()

    # -- discovery -------------------------------------------------------------------------

    async def detect(self) -> ServerInfo:
        """Find out which rkllama API the server speaks.

        Returns:
            The flavour, rkllama's version string and the welcome message.

        Raises:
            RkllamaUnsupportedError: something answered, but not rkllama.
            RkllamaAuthError: a reverse proxy refused the access token.
            RkllamaConnectionError: nothing answered.

        """
        status, body = await self._transport.request("GET", "/")
        data = loads_or_none(body)
        message = data.get("message") if isinstance(data, dict) else None
        if (
            status != HTTPStatus.OK
            or not isinstance(message, str)
            or not _is_rkllama_welcome(message)
        ):
            raise RkllamaUnsupportedError(
                f"{self._transport.address} is not an rkllama server (GET / gave {status}: "
                f"{excerpt_of(body)!r})"
            )
        status, body = await self._transport.request("GET", "/api/version")
        if status == HTTPStatus.NOT_FOUND:
            info = ServerInfo(ApiFlavour.LEGACY, None, message)
        else:
            version_data = self._transport.expect_json_object(status, body, "GET /api/version")
            version = version_data.get("version")
            status, _ = await self._transport.request("GET", "/api/ps")
            flavour = ApiFlavour.OLLAMA if status == HTTPStatus.OK else ApiFlavour.OLLAMA_SINGLE
            info = ServerInfo(flavour, str(version) if version is not None else None, message)
        self.flavour = info.flavour
        return info

    async def health_check(self) -> bool:
        """Return True when an rkllama server answers `GET /`."""
        try:
            status, body = await self._transport.request("GET", "/")
        except RkllamaError:
            return False
        data = loads_or_none(body)
        message = data.get("message") if isinstance(data, dict) else None
        return status == HTTPStatus.OK and isinstance(message, str) and _is_rkllama_welcome(message)

    async def list_models(self) -> list[str]:
        """Return the names of the models available on the server."""
        return [model.name for model in await self.models()]

    async def models(self) -> list[ModelInfo]:
        """Return the models available on the server, with what it tells about each."""
        flavour = await self._flavour()
        if flavour.ollama_routes:
            data = await self._transport.get_json("/api/tags")
            entries = data.get("models")
            if not isinstance(entries, list):
                raise _malformed("GET /api/tags", data)
            return [ModelInfo.from_tags_entry(e) for e in entries if isinstance(e, dict)]
        data = await self._transport.get_json("/models")
        names = data.get("models")
        if not isinstance(names, list):
            raise _malformed("GET /models", data)
        return [ModelInfo(name=str(name)) for name in names]

    async def loaded_models(self) -> list[LoadedModel]:
        """Return the models resident on the NPU."""
        flavour = await self._flavour()
        if flavour is ApiFlavour.OLLAMA:
            data = await self._transport.get_json("/api/ps")
            entries = data.get("models")
            if not isinstance(entries, list):
                raise _malformed("GET /api/ps", data)
            return [LoadedModel.from_ps_entry(e) for e in entries if isinstance(e, dict)]
        status, body = await self._transport.request("GET", "/current_model")
        if status == HTTPStatus.NOT_FOUND:
            return []
        data = self._transport.expect_json_object(status, body, "GET /current_model")
        name = data.get("model_name")
        return [LoadedModel(name=name)] if isinstance(name, str) and name else []

    async def show(self, model: str) -> ModelDetails:
        """Return what the server knows about `model` (legacy servers know nothing more).

        Raises:
            RkllamaModelNotFoundError: the server has no such model.

        """
        flavour = await self._flavour()
        if not flavour.ollama_routes:
            if model not in await self.list_models():
                raise RkllamaModelNotFoundError(f"model {model!r} not found", status=None)
            return ModelDetails(name=model)
        status, body = await self._transport.request("POST", "/api/show", {"model": model})
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR and loads_or_none(body) is None:
            # Upstream lists the directory before checking it exists: HTML 500 = not found.
            raise RkllamaModelNotFoundError(
                f"model {model!r} not found", status=status, body=excerpt_of(body)
            )
        return ModelDetails.from_show(
            model, self._transport.expect_json_object(status, body, "show")
        )

    # -- residency ---------------------------------------------------------------------------

    async def load_model(self, model: str) -> bool:
        """Load `model` onto the NPU; True when it is (or already was) resident.

        Raises:
            RkllamaBusyError: a single-model server holds another model.
            RkllamaModelNotFoundError: no such model directory.
            RkllamaModelLoadError: the runtime failed to load it.

        """
        status, body = await self._transport.request(
            "POST", "/load_model", {"model_name": model}, limit=self.timeouts.load
        )
        data = loads_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if status == HTTPStatus.OK and error is None:
            return True
        if status == HTTPStatus.OK and isinstance(error, str) and "already loaded" in error:
            return True  # upstream: this very model is resident, "Nothing to do."
        failure = error_from_text(
            error if isinstance(error, str) else excerpt_of(body), status, body
        )
        if isinstance(
            failure, RkllamaModelLoadError | RkllamaModelNotFoundError | RkllamaBusyError
        ):
            raise failure
        raise RkllamaModelLoadError(
            f"loading {model!r} failed: {failure}", status=status, body=excerpt_of(body)
        )

    async def unload_model(self, model: str | None = None) -> bool:
        """Unload `model` (legacy servers: the one model); False when it was not loaded."""
        flavour = await self._flavour()
        payload: JsonObject | None = None
        if flavour is not ApiFlavour.LEGACY:
            if model is None:
                loaded = await self.loaded_models()
                if not loaded:
                    return False
                model = loaded[0].name
            payload = {"model_name": model}
        status, body = await self._transport.request("POST", "/unload_model", payload)
        if status == HTTPStatus.OK:
            return True
        data = loads_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if (
            status == HTTPStatus.BAD_REQUEST
            and isinstance(error, str)
            and "currently loaded" in error
        ):
            return False
        raise self._transport.status_error(status, body, "POST /unload_model")

    async def touch(self, model: str) -> None:
        """Run a one-token request so the server restarts `model`'s idle-unload timer.

        Legacy servers have no idle unload; nothing is sent to them.
        """
        if not (await self._flavour()).ollama_routes:
            return
        payload: JsonObject = {
            "model": model,
            "prompt": ".",
            "stream": False,
            "options": ChatOptions(num_predict=1).as_json(),
        }
        status, body = await self._transport.request(
            "POST", "/api/generate", payload, limit=self.timeouts.first_chunk
        )
        self._transport.expect_json_object(status, body, "POST /api/generate")

    # -- generation ----------------------------------------------------------------------------

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: ChatOptions | None = None,
        tools: Sequence[JsonObject] | None = None,
        think: bool | None = None,
        response_format: JsonValue = None,
        deadline: float | None = None,
        limits: StreamLimits | None = None,
    ) -> AsyncGenerator[ChatChunk]:
        """Stream an answer: content chunks, tool calls, then one `done` chunk with stats.

        `response_format` (a JSON schema, or `"json"`) asks for a JSON answer: Ollama-style
        servers get it as `format`; the legacy API ignores `format`, so there the request's
        prompt asks for the JSON object in words. `deadline` (event-loop time) bounds the
        whole answer; `limits` replace the first-line and gap limits for this answer. The
        stream is never dropped half-read: if the caller stops early, is cancelled or the
        deadline passes, the rest is drained in the background, because upstream rkllama
        kills a model's worker when its client disconnects mid-answer.

        Raises:
            RkllamaTimeoutError: no first chunk, a gap between chunks or the deadline.
            RkllamaModelNotFoundError, RkllamaModelLoadError, RkllamaServerError,
            RkllamaTaskError, RkllamaMalformedResponseError, RkllamaConnectionError.

        """
        if await self._flavour() is ApiFlavour.LEGACY:
            # The fork runs concurrent streams on one handle and mixes their output, so the
            # lock is held until the answer is read to its end (in the background if need be).
            stream = self._stream(
                "/generate", LegacyTranslator(), deadline, limits, self._legacy_lock
            )
            body = legacy_body(messages, response_format)
        else:
            stream = self._stream("/api/chat", OllamaTranslator(), deadline, limits)
            body = ollama_body(
                messages,
                model=model,
                options=options,
                tools=tools,
                think=think,
                response_format=response_format,
            )
        # Closed with this generator, so an early stop starts the drain at once.
        async with contextlib.aclosing(stream.run(body)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def generate(
        self,
        messages: Sequence[ChatMessage | JsonObject],
        stream: bool = False,  # noqa: ARG002 - the seed's signature; answers are always streamed
        *,
        model: str | None = None,
    ) -> str:
        """Return the answer text to `messages` (`{"role", "content"}` dicts or ChatMessage).

        Without `model`, the model resident on the NPU answers.

        Raises:
            RkllamaServerError: no `model` given and none is loaded.

        """
        if model is None:
            loaded = await self.loaded_models()
            if not loaded:
                raise RkllamaServerError("No models are currently loaded.")
            model = loaded[0].name
        typed = [_as_message(message) for message in messages]
        return "".join([chunk.content async for chunk in self.chat(typed, model=model)])

    async def generate_from_prompt(self, prompt: str, *, model: str | None = None) -> str:
        """Return the answer to one user prompt."""
        return await self.generate([ChatMessage(MessageRole.USER, prompt)], model=model)

    # -- internals -----------------------------------------------------------------------------

    async def _flavour(self) -> ApiFlavour:
        if self.flavour is None:
            return (await self.detect()).flavour
        return self.flavour

    def _forget_flavour(self) -> None:
        """Detect again on the next call (the server may now speak another API flavour)."""
        self.flavour = None

    def _stream(
        self,
        path: str,
        translator: OllamaTranslator | LegacyTranslator,
        deadline: float | None,
        limits: StreamLimits | None,
        lock: asyncio.Lock | None = None,
    ) -> ChatStream:
        return ChatStream(
            self._transport,
            path,
            translator,
            max_line_bytes=self.max_line_bytes,
            deadline=deadline,
            limits=limits,
            lock=lock,
        )


def _malformed(what: str, data: JsonValue) -> RkllamaMalformedResponseError:
    text = json.dumps(data)[:BODY_EXCERPT]
    return RkllamaMalformedResponseError(f"{what}: unexpected shape {text}", body=text)


def _as_message(message: ChatMessage | JsonObject) -> ChatMessage:
    if isinstance(message, ChatMessage):
        return message
    return ChatMessage(
        role=MessageRole(as_str(message.get("role")) or "user"),
        content=as_str(message.get("content")),
    )


def _is_rkllama_welcome(message: str) -> bool:
    return "RKLLama" in message or "RK-LLama" in message
