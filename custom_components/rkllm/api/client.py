"""Async client for rkllama servers (legacy `/generate` and Ollama-compatible `/api/*`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
import contextlib
from dataclasses import dataclass, field, replace
from http import HTTPStatus
import json
import logging
import time
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from .exceptions import (
    RkllamaAuthError,
    RkllamaBusyError,
    RkllamaConnectionError,
    RkllamaDeadlineError,
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
)
from .stream import loads_or_none, read_bounded, read_json_lines
from .timeouts import DEFAULT_TIMEOUTS, Timeouts
from .translate import (
    BODY_EXCERPT,
    LegacyTranslator,
    OllamaTranslator,
    as_str,
    error_from_text,
    excerpt_of,
)
from .urls import url_secrets, without_credentials, without_credentials_text

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_LINE_BYTES = 1 << 20  # one streamed JSON line
DEFAULT_MAX_BODY_BYTES = 8 << 20  # one non-streamed body
_GATEWAY_DOWN = frozenset({HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE})


@dataclass(repr=False, slots=True)
class RkllamaClient:
    """Talk to one rkllama server.

    Pass Home Assistant's shared session as `session`; without one the client makes its own
    and closes it in `close()` (or at the end of `async with`). Credentials in `base_url`
    and the `token` never appear in errors, logs or `repr()`.
    """

    base_url: str
    session: aiohttp.ClientSession | None = None
    token: str | None = None
    """Bearer token, for servers behind an authenticating reverse proxy."""
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    flavour: ApiFlavour | None = None
    """Set by `detect()`; pass it to skip detection."""
    _close_session: bool = field(default=False, init=False)
    _legacy_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _drains: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __repr__(self) -> str:
        """Name the server without its credentials."""
        return f"RkllamaClient({self.address!r}, flavour={self.flavour})"

    @property
    def address(self) -> str:
        """Return the server's URL without credentials (for messages and logs)."""
        return without_credentials(self.base_url)

    def clean(self, text: str) -> str:
        """Return `text` without this client's credentials or token."""
        return without_credentials_text(text, self.token, *url_secrets(self.base_url))

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

    @property
    def pending_drains(self) -> int:
        """Return how many abandoned answers are still being read in the background."""
        return sum(1 for task in self._drains if not task.done())

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
        data = loads_or_none(body)
        message = data.get("message") if isinstance(data, dict) else None
        if (
            status != HTTPStatus.OK
            or not isinstance(message, str)
            or not _is_rkllama_welcome(message)
        ):
            raise RkllamaUnsupportedError(
                f"{self.address} is not an rkllama server (GET / gave {status}: "
                f"{excerpt_of(body)!r})"
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
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR and loads_or_none(body) is None:
            # Upstream lists the directory before checking it exists: HTML 500 = not found.
            raise RkllamaModelNotFoundError(
                f"model {model!r} not found", status=status, body=excerpt_of(body)
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
        status, body = await self._request("POST", "/unload_model", payload)
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
            "POST", "/api/generate", payload, limit=self.timeouts.first_chunk
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
        deadline: float | None = None,
    ) -> AsyncGenerator[ChatChunk]:
        """Stream an answer: content chunks, tool calls, then one `done` chunk with stats.

        `deadline` (event-loop time) bounds the whole answer. The stream is never dropped
        half-read: if the caller stops early, is cancelled or the deadline passes, the rest is
        drained in the background, because upstream rkllama kills a model's worker when its
        client disconnects mid-answer.

        Raises:
            RkllamaTimeoutError: no first chunk, a gap between chunks or the deadline.
            RkllamaModelNotFoundError, RkllamaModelLoadError, RkllamaServerError,
            RkllamaTaskError, RkllamaMalformedResponseError, RkllamaConnectionError.

        """
        flavour = await self._flavour()
        if flavour is ApiFlavour.LEGACY:
            # The fork runs concurrent streams on one handle and mixes their output, so the
            # lock is held until the answer is read to its end (in the background if need be).
            # Closed with this generator, so an early stop starts the drain at once.
            stream = _Stream(self, "/generate", LegacyTranslator(), deadline, self._legacy_lock)
            async with contextlib.aclosing(
                stream.run(_legacy_body(messages, stream=True))
            ) as chunks:
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
        stream = _Stream(self, "/api/chat", OllamaTranslator(), deadline)
        async with contextlib.aclosing(stream.run(body)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def chat_complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: ChatOptions | None = None,
    ) -> ChatResponse:
        """Return a whole answer (streamed underneath, so the timeouts stay per chunk)."""
        content: list[str] = []
        tool_calls: list[ToolCall] = []
        stats: GenerationStats | None = None
        async for chunk in self.chat(messages, model=model, options=options):
            content.append(chunk.content)
            tool_calls.extend(chunk.tool_calls)
            if chunk.stats is not None:
                stats = chunk.stats
        if stats is None:  # pragma: no cover - a stream always ends with stats
            raise RkllamaMalformedResponseError("stream ended without statistics")
        return ChatResponse("".join(content), tuple(tool_calls), stats)

    async def generate(
        self,
        messages: Sequence[ChatMessage | JsonObject],
        stream: bool = False,  # noqa: ARG002 - the seed's signature; answers are always streamed
        *,
        model: str | None = None,
    ) -> str:
        """Return the answer text to `messages` (the seed client's surface)."""
        if model is None:
            loaded = await self.loaded_models()
            if not loaded:
                raise RkllamaServerError("No models are currently loaded.")
            model = loaded[0].name
        typed = [_as_message(m) for m in messages]
        return (await self.chat_complete(typed, model=model)).content

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
        return URL(self.address.rstrip("/") + path)

    def _auth(self) -> aiohttp.BasicAuth | None:
        """Return the address's user name and password; a bearer token takes their place."""
        base = URL(self.base_url)
        if self.token or (base.user is None and base.password is None):
            return None
        return aiohttp.BasicAuth(base.user or "", base.password or "")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=self.timeouts.connect)

    def _connection_error(self, what: str, err: BaseException) -> RkllamaConnectionError:
        """Return the error for a failed connection, its text free of credentials."""
        return RkllamaConnectionError(self.clean(f"{self.address}: {what}: {err}"))

    async def _request(
        self,
        method: str,
        path: str,
        payload: JsonObject | None = None,
        *,
        limit: float | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and return its status and (bounded) body."""
        try:
            async with asyncio.timeout(limit or self.timeouts.request):
                async with self._session().request(
                    method,
                    self._url(path),
                    json=payload,
                    headers=self._headers(),
                    auth=self._auth(),
                    timeout=self._client_timeout(),
                ) as response:
                    body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                    _raise_for_auth(response.status, body, f"{method} {path}")
                    return response.status, body
        except TimeoutError as err:
            raise RkllamaTimeoutError(f"timeout on {method} {path} at {self.address}") from err
        except (aiohttp.ClientError, OSError) as err:
            raise self._connection_error(f"cannot reach ({method} {path})", err) from err

    async def _get_json(self, path: str) -> JsonObject:
        status, body = await self._request("GET", path)
        return self._expect_json_object(status, body, f"GET {path}")

    def _expect_json_object(self, status: int, body: bytes, what: str) -> JsonObject:
        """Return the JSON object of a 200 answer, or raise the matching error."""
        if status != HTTPStatus.OK:
            raise self._status_error(status, body, what)
        data = loads_or_none(body)
        if not isinstance(data, dict):
            raise RkllamaMalformedResponseError(
                f"{what}: expected a JSON object, got {excerpt_of(body)!r}",
                status=status,
                body=excerpt_of(body),
            )
        if isinstance(error := data.get("error"), str):
            raise error_from_text(error, status, body)
        return data

    def _status_error(self, status: int, body: bytes, what: str) -> RkllamaError:
        data = loads_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            return error_from_text(error, status, body)
        if status in _GATEWAY_DOWN:
            # A reverse proxy in front of rkllama cannot reach it.
            return RkllamaConnectionError(f"{what}: HTTP {status} from a proxy at {self.address}")
        if status == HTTPStatus.GATEWAY_TIMEOUT:
            return RkllamaTimeoutError(f"{what}: HTTP {status} from a proxy at {self.address}")
        if status == HTTPStatus.NOT_FOUND and self.flavour is not None:
            # The route is gone: the server was replaced by another API flavour. Detect
            # again on the next call.
            self.flavour = None
        return RkllamaServerError(
            f"{what} failed with HTTP {status}: {excerpt_of(body)!r}",
            status=status,
            body=excerpt_of(body),
        )

    @staticmethod
    def _malformed(what: str, data: JsonValue) -> RkllamaMalformedResponseError:
        text = json.dumps(data)[:BODY_EXCERPT]
        return RkllamaMalformedResponseError(f"{what}: unexpected shape {text}", body=text)

    def _drain_later(
        self,
        pending: aiohttp.ClientResponse | asyncio.Task[aiohttp.ClientResponse],
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Read an abandoned answer to its end in the background, then release it.

        Upstream rkllama kills a model's worker when its client disconnects mid-answer, and
        the model then hangs for up to a minute; reading on keeps it healthy. The drain ends
        after `timeouts.drain` in all, or after `timeouts.idle` without a byte. `on_done`
        runs at the very end (the legacy server's lock is released there).
        """
        timeouts = self.timeouts

        async def drain() -> None:
            response: aiohttp.ClientResponse | None = None
            try:
                async with asyncio.timeout(timeouts.drain):
                    response = await pending if isinstance(pending, asyncio.Task) else pending
                    while True:
                        async with asyncio.timeout(timeouts.idle):
                            if not await response.content.readany():
                                break
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                _LOGGER.debug(
                    "Draining an abandoned answer from %s ended: %s",
                    self.address,
                    self.clean(str(err)),
                )
            finally:
                if response is not None:
                    response.release()
                if on_done is not None:
                    on_done()

        task = asyncio.get_running_loop().create_task(drain(), name="rkllama stream drain")
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)


class _Stream:
    """One streamed answer: open the request, translate its lines, drain what is left."""

    def __init__(
        self,
        client: RkllamaClient,
        path: str,
        translator: OllamaTranslator | LegacyTranslator,
        deadline: float | None,
        lock: asyncio.Lock | None = None,
    ) -> None:
        """Prepare; nothing is sent before `run()`."""
        self.client = client
        self.path = path
        self.translator = translator
        self.deadline = deadline
        self.lock = lock
        self.loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        self.handed = False

    def _first_limit(self) -> float:
        """Return the loop time by which the headers must have come."""
        limit = self.loop.time() + self.client.timeouts.first_chunk
        return limit if self.deadline is None else min(limit, self.deadline)

    async def run(self, payload: JsonObject) -> AsyncGenerator[ChatChunk]:
        """Yield the answer's chunks; every path out leaves the response read or draining.

        Even after a bad line the rest is drained: upstream kills a worker whose client
        leaves mid-answer, and its model then hangs for a minute.
        """
        if self.lock is not None:
            await self.lock.acquire()
        try:
            response = await self._open(payload)
        except BaseException:
            if not self.handed:
                self._release()
            raise
        finished = False
        try:
            if response.status != HTTPStatus.OK:
                body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                finished = True
                _raise_for_auth(response.status, body, f"POST {self.path}")
                raise self.client._status_error(response.status, body, f"POST {self.path}")  # noqa: SLF001
            async for chunk in self._translate(response):
                yield chunk
            finished = True
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as err:
            finished = True
            raise self.client._connection_error("the answer broke off", err) from err  # noqa: SLF001
        finally:
            if finished or response.closed:
                response.release()
                self._release()
            else:
                self._hand_over(response)

    async def _open(self, payload: JsonObject) -> aiohttp.ClientResponse:
        """Send the request and wait for the headers (model load and prefill included)."""
        client = self.client
        sending = self.loop.create_task(
            client._session().post(  # noqa: SLF001
                client._url(self.path),  # noqa: SLF001
                json=payload,
                headers=client._headers(),  # noqa: SLF001
                auth=client._auth(),  # noqa: SLF001
                timeout=client._client_timeout(),  # noqa: SLF001
            ),
            name="rkllama stream request",
        )
        try:
            async with asyncio.timeout_at(self._first_limit()):
                return await asyncio.shield(sending)
        except TimeoutError as err:
            self._hand_over(sending)
            what = f"POST {self.path} at {client.address}"
            if self.deadline is not None and self.loop.time() >= self.deadline:
                raise RkllamaDeadlineError(f"{what}: the answer took longer than allowed") from err
            raise RkllamaTimeoutError(f"{what}: no answer in time") from err
        except asyncio.CancelledError:
            self._hand_over(sending)
            raise
        except (aiohttp.ClientError, OSError) as err:
            raise client._connection_error("cannot reach", err) from err  # noqa: SLF001

    def _hand_over(
        self, pending: aiohttp.ClientResponse | asyncio.Task[aiohttp.ClientResponse]
    ) -> None:
        """Let a background drain finish the answer; it releases the lock at its end."""
        self.handed = True
        self.client._drain_later(pending, self._release)  # noqa: SLF001

    def _release(self) -> None:
        if self.lock is not None and self.lock.locked():
            self.lock.release()

    async def _translate(self, response: aiohttp.ClientResponse) -> AsyncIterator[ChatChunk]:
        """Turn the response's lines into chunks; end with one `done` chunk carrying stats."""
        translator = self.translator
        lines = read_json_lines(
            response,
            first_timeout=max(
                0.0, self.client.timeouts.first_chunk - (time.monotonic() - self.started)
            ),
            idle_timeout=self.client.timeouts.idle,
            max_line_bytes=self.client.max_line_bytes,
            deadline=self.deadline,
            what=f"POST {self.path}",
        )
        first_at: float | None = None
        async for line in lines:
            chunk = translator.chunk(line)
            if first_at is None and (chunk.content or chunk.tool_calls or chunk.done):
                first_at = time.monotonic()
            if chunk.done:
                yield replace(chunk, stats=translator.stats(self.started, first_at or self.started))
                return
            if chunk.content or chunk.thinking or chunk.tool_calls:
                yield chunk
        if not translator.legacy:
            raise RkllamaConnectionError(
                f"the stream from {self.client.address}{self.path} ended before its final chunk"
            )
        yield ChatChunk(done=True, stats=translator.stats(self.started, first_at or self.started))


def _legacy_body(messages: Sequence[ChatMessage], *, stream: bool) -> JsonObject:
    turns: list[JsonValue] = list(legacy_messages(messages))
    return {"messages": turns, "stream": stream}


def _as_message(message: ChatMessage | JsonObject) -> ChatMessage:
    if isinstance(message, ChatMessage):
        return message
    return ChatMessage(
        role=MessageRole(as_str(message.get("role")) or "user"),
        content=as_str(message.get("content")),
    )


def _raise_for_auth(status: int, body: bytes, what: str) -> None:
    """Raise RkllamaAuthError for the statuses of a refused access token."""
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        raise RkllamaAuthError(
            f"{what}: access refused (HTTP {status}); check the access token",
            status=status,
            body=excerpt_of(body),
        )


def _is_rkllama_welcome(message: str) -> bool:
    return "RKLLama" in message or "RK-LLama" in message
