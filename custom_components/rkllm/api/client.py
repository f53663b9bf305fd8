"""Async client for rkllama servers (legacy `/generate` and Ollama-compatible `/api/*`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
import contextlib
from dataclasses import dataclass, field, replace
from http import HTTPStatus
import json
import logging
import socket
import time
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from .exceptions import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaModelLoadError,
    RkllamaModelNotFoundError,
    RkllamaServerError,
    RkllamaTimeoutError,
    RkllamaUnsupportedError,
)
from .messages import legacy_messages
from .models import (
    ApiFlavour,
    ChatChunk,
    ChatMessage,
    ChatOptions,
    ChatResponse,
    GenerationStats,
    JsonObject,
    JsonValue,
    LoadedModel,
    MessageRole,
    ModelDetails,
    ModelInfo,
    ServerInfo,
    ToolCall,
    parse_tool_calls,
)
from .stream import read_bounded, read_json_lines

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds
DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds, for short API calls
DEFAULT_LOAD_TIMEOUT = 300.0  # seconds, a model load (server waits up to 300 s for its worker)
DEFAULT_FIRST_CHUNK_TIMEOUT = 120.0  # seconds: queue wait + model load + prefill
DEFAULT_IDLE_TIMEOUT = 60.0  # seconds between two streamed chunks
DEFAULT_MAX_LINE_BYTES = 1 << 20  # one streamed JSON line
DEFAULT_MAX_BODY_BYTES = 8 << 20  # one non-streamed body
BODY_EXCERPT = 200  # characters of a bad body kept in errors

_SERVER_TIMEOUT_TEXT = "Aborted inference by Timeout"
_TASK_ERROR_TEXT = "<RKLLM_TASK_ERROR>"


@dataclass
class RkllamaClient:
    """Talk to one rkllama server.

    Pass Home Assistant's shared session as `session`; without one the client makes its own
    and closes it in `close()` (or at the end of `async with`).
    """

    base_url: str
    session: aiohttp.ClientSession | None = None
    token: str | None = None
    """Bearer token, for servers behind an authenticating reverse proxy."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    load_timeout: float = DEFAULT_LOAD_TIMEOUT
    first_chunk_timeout: float = DEFAULT_FIRST_CHUNK_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    flavour: ApiFlavour | None = None
    """Set by `detect()`; pass it to skip detection."""
    _close_session: bool = field(default=False, init=False, repr=False)
    _legacy_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _drains: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self, drain_limit: float | None = None) -> None:
        """Finish background drains and close the session if the client created it."""
        await self.wait_drained(drain_limit)
        if self.session is not None and self._close_session:
            await self.session.close()
            self.session = None
            self._close_session = False

    async def wait_drained(self, limit: float | None = None) -> None:
        """Wait until abandoned answers are read to their end; cancel them after `limit` s."""
        deadline = None if limit is None else time.monotonic() + limit
        while pending := [task for task in self._drains if not task.done()]:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
                return
            await asyncio.wait(pending, timeout=remaining)

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
        status, body = await self._request("GET", "/")
        data = _json_or_none(body)
        message = data.get("message") if isinstance(data, dict) else None
        if (
            status != HTTPStatus.OK
            or not isinstance(message, str)
            or not _is_rkllama_welcome(message)
        ):
            raise RkllamaUnsupportedError(
                f"{self.base_url} is not an rkllama server (GET / gave {status}: "
                f"{_excerpt(body)!r})"
            )
        status, body = await self._request("GET", "/api/version")
        if status == HTTPStatus.NOT_FOUND:
            info = ServerInfo(ApiFlavour.LEGACY, None, message)
        else:
            version_data = self._expect_json_object(status, body, "GET /api/version")
            version = version_data.get("version")
            status, _ = await self._request("GET", "/api/ps")
            flavour = ApiFlavour.OLLAMA if status == HTTPStatus.OK else ApiFlavour.OLLAMA_SINGLE
            info = ServerInfo(flavour, str(version) if version is not None else None, message)
        self.flavour = info.flavour
        return info

    async def health_check(self) -> bool:
        """Return True when an rkllama server answers `GET /`."""
        try:
            status, body = await self._request("GET", "/")
        except RkllamaError:
            return False
        data = _json_or_none(body)
        message = data.get("message") if isinstance(data, dict) else None
        return status == HTTPStatus.OK and isinstance(message, str) and _is_rkllama_welcome(message)

    async def list_models(self) -> list[str]:
        """Return the names of the models available on the server."""
        return [model.name for model in await self.models()]

    async def models(self) -> list[ModelInfo]:
        """Return the models available on the server, with what it tells about each."""
        flavour = await self._flavour()
        if flavour.ollama_routes:
            data = await self._get_json("/api/tags")
            entries = data.get("models")
            if not isinstance(entries, list):
                raise self._malformed("GET /api/tags", data)
            return [ModelInfo.from_tags_entry(e) for e in entries if isinstance(e, dict)]
        data = await self._get_json("/models")
        names = data.get("models")
        if not isinstance(names, list):
            raise self._malformed("GET /models", data)
        return [ModelInfo(name=str(name)) for name in names]

    async def loaded_models(self) -> list[LoadedModel]:
        """Return the models resident on the NPU."""
        flavour = await self._flavour()
        if flavour is ApiFlavour.OLLAMA:
            data = await self._get_json("/api/ps")
            entries = data.get("models")
            if not isinstance(entries, list):
                raise self._malformed("GET /api/ps", data)
            return [LoadedModel.from_ps_entry(e) for e in entries if isinstance(e, dict)]
        status, body = await self._request("GET", "/current_model")
        if status == HTTPStatus.NOT_FOUND:
            return []
        data = self._expect_json_object(status, body, "GET /current_model")
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
        status, body = await self._request("POST", "/api/show", {"model": model})
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR and _json_or_none(body) is None:
            # Upstream lists the directory before checking it exists: HTML 500 = not found.
            raise RkllamaModelNotFoundError(
                f"model {model!r} not found", status=status, body=_excerpt(body)
            )
        return ModelDetails.from_show(model, self._expect_json_object(status, body, "show"))

    # -- residency ---------------------------------------------------------------------------

    async def load_model(self, model: str) -> bool:
        """Load `model` onto the NPU; True when it is (or already was) resident.

        Raises:
            RkllamaBusyError: a single-model server holds another model.
            RkllamaModelNotFoundError: no such model directory.
            RkllamaModelLoadError: the runtime failed to load it.

        """
        status, body = await self._request(
            "POST", "/load_model", {"model_name": model}, limit=self.load_timeout
        )
        data = _json_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if status == HTTPStatus.OK and error is None:
            return True
        if status == HTTPStatus.OK and isinstance(error, str) and "already loaded" in error:
            return True  # upstream: this very model is resident, "Nothing to do."
        text = error if isinstance(error, str) else _excerpt(body)
        if "already loaded" in text:
            raise RkllamaBusyError(text, status=status, body=_excerpt(body))
        if "not found" in text:
            raise RkllamaModelNotFoundError(text, status=status, body=_excerpt(body))
        raise RkllamaModelLoadError(
            f"loading {model!r} failed: {text}", status=status, body=_excerpt(body)
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
        status, body = await self._request("POST", "/unload_model", payload)
        if status == HTTPStatus.OK:
            return True
        data = _json_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if (
            status == HTTPStatus.BAD_REQUEST
            and isinstance(error, str)
            and "currently loaded" in error
        ):
            return False
        raise self._status_error(status, body, "POST /unload_model")

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
        status, body = await self._request(
            "POST", "/api/generate", payload, limit=self.first_chunk_timeout
        )
        self._expect_json_object(status, body, "POST /api/generate")

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
    ) -> AsyncGenerator[ChatChunk]:
        """Stream an answer: content chunks, tool calls, then one `done` chunk with stats.

        The stream is never dropped half-read: if the caller stops early (or is cancelled) the
        rest is drained in the background, because upstream rkllama kills a model's worker when
        its client disconnects mid-answer.

        Raises:
            RkllamaTimeoutError: no first chunk, or a gap between chunks, within the limits.
            RkllamaModelNotFoundError, RkllamaModelLoadError, RkllamaServerError,
            RkllamaMalformedResponseError, RkllamaConnectionError.

        """
        flavour = await self._flavour()
        if flavour is ApiFlavour.LEGACY:
            # The fork runs concurrent streams on one handle and mixes their output.
            async with (
                self._legacy_lock,
                contextlib.aclosing(
                    self._stream("/generate", _legacy_body(messages, stream=True), legacy=True)
                ) as chunks,
            ):
                async for chunk in chunks:
                    yield chunk
            return
        body: JsonObject = {
            "model": model,
            "messages": [message.as_json() for message in messages],
            "stream": True,
        }
        if options is not None and (opts := options.as_json()):
            body["options"] = opts
        if tools:
            body["tools"] = list(tools)
        if think is not None:
            body["think"] = think
        if response_format is not None:
            body["format"] = response_format
        # Closed with this generator, so an early stop starts the drain at once.
        async with contextlib.aclosing(self._stream("/api/chat", body, legacy=False)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def chat_complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: ChatOptions | None = None,
        tools: Sequence[JsonObject] | None = None,
        think: bool | None = None,
        response_format: JsonValue = None,
    ) -> ChatResponse:
        """Return a whole answer (streamed underneath, so the timeouts stay per chunk)."""
        content: list[str] = []
        tool_calls: list[ToolCall] = []
        stats: GenerationStats | None = None
        async for chunk in self.chat(
            messages,
            model=model,
            options=options,
            tools=tools,
            think=think,
            response_format=response_format,
        ):
            content.append(chunk.content)
            tool_calls.extend(chunk.tool_calls)
            if chunk.stats is not None:
                stats = chunk.stats
        if stats is None:  # pragma: no cover - _stream always ends with stats
            raise RkllamaMalformedResponseError("stream ended without statistics")
        return ChatResponse("".join(content), tuple(tool_calls), stats)

    async def generate(
        self,
        messages: Sequence[ChatMessage | JsonObject],
        stream: bool = False,
        *,
        model: str | None = None,
    ) -> str:
        """Return the answer text to `messages` (the seed client's surface)."""
        typed = [_as_message(m) for m in messages]
        flavour = await self._flavour()
        if model is None:
            loaded = await self.loaded_models()
            if not loaded:
                raise RkllamaServerError("No models are currently loaded.")
            model = loaded[0].name
        if stream or flavour is not ApiFlavour.LEGACY:
            return (await self.chat_complete(typed, model=model)).content
        async with self._legacy_lock:
            status, body = await self._request(
                "POST",
                "/generate",
                _legacy_body(typed, stream=False),
                limit=self.first_chunk_timeout,
            )
        data = self._expect_json_object(status, body, "POST /generate")
        choices = data.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return str(choices[0].get("content") or "")
        raise self._malformed("POST /generate", data)

    async def generate_from_prompt(self, prompt: str, *, model: str | None = None) -> str:
        """Return the answer to one user prompt."""
        return await self.generate([ChatMessage(MessageRole.USER, prompt)], model=model)

    # -- internals -----------------------------------------------------------------------------

    async def _flavour(self) -> ApiFlavour:
        if self.flavour is None:
            await self.detect()
        assert self.flavour is not None  # noqa: S101 - set by detect()
        return self.flavour

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self._close_session = True
        return self.session

    def _url(self, path: str) -> URL:
        return URL(self.base_url.rstrip("/") + path)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout)

    async def _request(
        self,
        method: str,
        path: str,
        payload: JsonObject | None = None,
        *,
        limit: float | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and return its status and (bounded) body."""
        url = self._url(path)
        try:
            async with asyncio.timeout(limit or self.request_timeout):
                async with self._session().request(
                    method,
                    url,
                    json=payload,
                    headers=self._headers(),
                    timeout=self._client_timeout(),
                ) as response:
                    body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                    _raise_for_auth(response.status, body, f"{method} {path}")
                    return response.status, body
        except TimeoutError as err:
            raise RkllamaTimeoutError(f"timeout on {method} {path} at {self.base_url}") from err
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise RkllamaConnectionError(
                f"cannot reach {self.base_url} ({method} {path}): {err}"
            ) from err

    async def _get_json(self, path: str) -> JsonObject:
        status, body = await self._request("GET", path)
        return self._expect_json_object(status, body, f"GET {path}")

    def _expect_json_object(self, status: int, body: bytes, what: str) -> JsonObject:
        """Return the JSON object of a 200 answer, or raise the matching error."""
        if status != HTTPStatus.OK:
            raise self._status_error(status, body, what)
        data = _json_or_none(body)
        if not isinstance(data, dict):
            raise RkllamaMalformedResponseError(
                f"{what}: expected a JSON object, got {_excerpt(body)!r}",
                status=status,
                body=_excerpt(body),
            )
        if isinstance(error := data.get("error"), str):
            raise _error_from_text(error, status, body)
        return data

    def _status_error(self, status: int, body: bytes, what: str) -> RkllamaError:
        data = _json_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            return _error_from_text(error, status, body)
        return RkllamaServerError(
            f"{what} failed with HTTP {status}: {_excerpt(body)!r}",
            status=status,
            body=_excerpt(body),
        )

    @staticmethod
    def _malformed(what: str, data: JsonValue) -> RkllamaMalformedResponseError:
        text = json.dumps(data)[:BODY_EXCERPT]
        return RkllamaMalformedResponseError(f"{what}: unexpected shape {text}", body=text)

    async def _stream(
        self, path: str, payload: JsonObject, *, legacy: bool
    ) -> AsyncGenerator[ChatChunk]:
        """POST a streaming request and translate its lines into chunks.

        Once sent, a request is never dropped: if the caller gives up (first-chunk timeout,
        cancellation, an early `aclose()`), the answer is read to its end in the background.
        """
        started = time.monotonic()
        sending = asyncio.get_running_loop().create_task(
            self._session().post(
                self._url(path),
                json=payload,
                headers=self._headers(),
                timeout=self._client_timeout(),
            ),
            name="rkllama stream request",
        )
        try:
            async with asyncio.timeout(self.first_chunk_timeout):
                response = await asyncio.shield(sending)
        except TimeoutError as err:
            self._drain_later(sending)
            raise RkllamaTimeoutError(
                f"no answer within {self.first_chunk_timeout:.0f} s from {self.base_url}{path}"
            ) from err
        except asyncio.CancelledError:
            self._drain_later(sending)
            raise
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise RkllamaConnectionError(f"cannot reach {self.base_url}: {err}") from err

        finished = False
        try:
            if response.status != HTTPStatus.OK:
                body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                finished = True
                _raise_for_auth(response.status, body, f"POST {path}")
                raise self._status_error(response.status, body, f"POST {path}")
            translate: _OllamaStream | _LegacyStream = (
                _LegacyStream() if legacy else _OllamaStream()
            )
            lines = read_json_lines(
                response,
                first_timeout=max(0.0, self.first_chunk_timeout - (time.monotonic() - started)),
                idle_timeout=self.idle_timeout,
                max_line_bytes=self.max_line_bytes,
                what=f"POST {path}",
            )
            first_at: float | None = None
            async for line in lines:
                chunk = translate.chunk(line)
                if first_at is None and (chunk.content or chunk.tool_calls or chunk.done):
                    first_at = time.monotonic()
                if chunk.done:
                    finished = True
                    yield replace(chunk, stats=translate.stats(started, first_at or started))
                    return
                if chunk.content or chunk.thinking or chunk.tool_calls:
                    yield chunk
            finished = True
            if not legacy:
                raise RkllamaConnectionError(
                    f"the stream from {self.base_url}{path} ended before its final chunk"
                )
            yield ChatChunk(done=True, stats=translate.stats(started, first_at or started))
        except RkllamaMalformedResponseError:
            finished = True  # not an rkllama stream: nothing to protect, close it
            raise
        except TimeoutError as err:
            raise RkllamaTimeoutError(
                f"no data within the time limit from {self.base_url}{path}"
            ) from err
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as err:
            finished = True
            raise RkllamaConnectionError(
                f"connection to {self.base_url} dropped mid-answer: {err}"
            ) from err
        finally:
            if finished or response.closed:
                response.release()
            else:
                self._drain_later(response)

    def _drain_later(
        self, pending: aiohttp.ClientResponse | asyncio.Task[aiohttp.ClientResponse]
    ) -> None:
        """Read an abandoned answer to its end in the background, then release it.

        Upstream rkllama kills a model's worker when its client disconnects mid-answer, and
        the model then hangs for up to a minute; reading on keeps it healthy. The drain waits
        as long as a model load may take for the headers, then `idle_timeout` per read.
        """

        async def drain() -> None:
            response: aiohttp.ClientResponse | None = None
            try:
                if isinstance(pending, asyncio.Task):
                    async with asyncio.timeout(self.load_timeout):
                        response = await pending
                else:
                    response = pending
                while True:
                    async with asyncio.timeout(self.idle_timeout):
                        if not await response.content.readany():
                            break
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                _LOGGER.debug("Draining an abandoned answer from %s ended: %s", self.base_url, err)
            finally:
                if response is not None:
                    response.release()

        task = asyncio.get_running_loop().create_task(drain(), name="rkllama stream drain")
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)


class _OllamaStream:
    """Turn `/api/chat` and `/api/generate` NDJSON lines into chunks."""

    def __init__(self) -> None:
        self._done_line: JsonObject = {}

    def chunk(self, line: JsonObject) -> ChatChunk:
        """Return the chunk one line carries."""
        _raise_for_error_line(line)
        message = line.get("message")
        if not isinstance(message, dict):
            text = line.get("response")  # /api/generate
            message = {"content": text} if isinstance(text, str) else {}
        content = _str(message.get("content"))
        if _TASK_ERROR_TEXT in content:
            raise RkllamaServerError("the model's worker failed during generation")
        done = line.get("done") is True
        if done:
            self._done_line = line
            if _int(line.get("eval_count")) == 0 and _SERVER_TIMEOUT_TEXT in content:
                raise RkllamaTimeoutError("the server aborted the generation (token timeout)")
        return ChatChunk(
            content=content,
            thinking=_str(message.get("thinking")),
            tool_calls=parse_tool_calls(message.get("tool_calls")),
            done=done,
        )

    def stats(self, started: float, first_at: float) -> GenerationStats:
        """Return the figures of the `done` line, in the units GenerationStats names."""
        line = self._done_line
        total_ns = _int(line.get("total_duration"))
        eval_raw = _int(line.get("eval_duration"))
        prompt_raw = _int(line.get("prompt_eval_duration"))
        # Upstream sends both *_eval_duration values in ms under Ollama's ns names; real
        # Ollama sends ns. Tell them apart against the ns total, as the API notes suggest.
        scale = 1e-3 if total_ns == 0 or eval_raw * 1000 < total_ns else 1e-9
        now = time.monotonic()
        return GenerationStats(
            prompt_tokens=_int(line.get("prompt_eval_count")),
            completion_tokens=_int(line.get("eval_count")),
            prompt_eval_seconds=prompt_raw * scale if prompt_raw else None,
            eval_seconds=eval_raw * scale if eval_raw else None,
            total_seconds=total_ns / 1e9 if total_ns else None,
            time_to_first_chunk=first_at - started,
            wall_seconds=now - started,
            done_reason=_str(line.get("done_reason")) or None,
        )


class _LegacyStream:
    """Turn the fork's blank-line separated `rkllm_chat` objects into chunks."""

    def __init__(self) -> None:
        self._usage: JsonObject = {}

    def chunk(self, line: JsonObject) -> ChatChunk:
        """Return the chunk one object carries (the fork never sends a final one)."""
        _raise_for_error_line(line)
        usage = line.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = line.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else {}
        content = _str(first.get("content")) if isinstance(first, dict) else ""
        return ChatChunk(content=content)

    def stats(self, started: float, first_at: float) -> GenerationStats:
        """Return the last usage figures; the fork sends no durations, so rates use timing."""
        return GenerationStats(
            prompt_tokens=_int(self._usage.get("prompt_tokens")),
            completion_tokens=_int(self._usage.get("completion_tokens")),
            prompt_eval_seconds=None,
            eval_seconds=None,
            total_seconds=None,
            time_to_first_chunk=first_at - started,
            wall_seconds=time.monotonic() - started,
            done_reason="stop",
        )


def _legacy_body(messages: Sequence[ChatMessage], *, stream: bool) -> JsonObject:
    turns: list[JsonValue] = list(legacy_messages(messages))
    return {"messages": turns, "stream": stream}


def _as_message(message: ChatMessage | JsonObject) -> ChatMessage:
    if isinstance(message, ChatMessage):
        return message
    return ChatMessage(
        role=MessageRole(_str(message.get("role")) or "user"),
        content=_str(message.get("content")),
    )


def _raise_for_error_line(line: JsonObject) -> None:
    """Raise the matching error for a streamed `{"error": …}` line (sent with HTTP 200)."""
    if isinstance(error := line.get("error"), str):
        raise _error_from_text(error, HTTPStatus.OK, json.dumps(line).encode())


def _raise_for_auth(status: int, body: bytes, what: str) -> None:
    """Raise RkllamaAuthError for the statuses of a refused access token."""
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        raise RkllamaAuthError(
            f"{what}: access refused (HTTP {status}); check the access token",
            status=status,
            body=_excerpt(body),
        )


def _is_rkllama_welcome(message: str) -> bool:
    return "RKLLama" in message or "RK-LLama" in message


def _json_or_none(body: bytes) -> JsonValue:
    try:
        value: JsonValue = json.loads(body)
    except ValueError:
        return None
    return value


def _excerpt(body: bytes) -> str:
    return body[:BODY_EXCERPT].decode("utf-8", "replace")


def _error_from_text(error: str, status: int, body: bytes) -> RkllamaError:
    """Map an rkllama `{"error": …}` text to the matching exception."""
    excerpt = _excerpt(body)
    lowered = error.lower()
    if "failed to load model" in lowered and "not found" in lowered:
        return RkllamaModelNotFoundError(error, status=status, body=excerpt)
    if "not found" in lowered and ("model" in lowered or "directory" in lowered):
        return RkllamaModelNotFoundError(error, status=status, body=excerpt)
    if "failed to load model" in lowered or "loading the model" in lowered or "magic" in lowered:
        return RkllamaModelLoadError(error, status=status, body=excerpt)
    if "already loaded" in lowered:
        return RkllamaBusyError(error, status=status, body=excerpt)
    return RkllamaServerError(error, status=status, body=excerpt)


def _int(value: JsonValue) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return int(value)
    return 0


def _str(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""
