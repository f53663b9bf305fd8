"""HTTP to one rkllama server: address, credentials, session, errors and background drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
import logging
import time
from typing import TypedDict
import weakref

import aiohttp
from yarl import URL

from .exceptions import (
    RkllamaAuthError,
    RkllamaConnectionError,
    RkllamaError,
    RkllamaMalformedResponseError,
    RkllamaServerError,
    RkllamaTimeoutError,
)
from .models import JsonObject
from .stream import loads_or_none, read_bounded
from .timeouts import Timeouts
from .translate import error_from_text, excerpt_of
from .urls import url_secrets, without_credentials, without_credentials_text

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 << 20  # one non-streamed body
_GATEWAY_DOWN = frozenset({HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE})


class _RequestOptions(TypedDict):
    json: JsonObject | None
    headers: dict[str, str]
    auth: aiohttp.BasicAuth | None
    timeout: aiohttp.ClientTimeout


class Transport:
    """Send requests to one server and turn failed answers into typed errors.

    Shared by the client and its streamed answers. Without a `session` it makes its own and
    closes it in `close()`. Credentials in `base_url` and the `token` never appear in errors
    or logs.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None,
        token: str | None,
        timeouts: Timeouts,
        on_route_gone: Callable[[], None],
    ) -> None:
        """Prepare; nothing is sent yet. `on_route_gone` runs when a route answers 404."""
        self.base_url = base_url
        self.session = session
        self.token = token
        self.timeouts = timeouts
        self._on_route_gone = on_route_gone
        self._own_session = False
        self._drains: set[asyncio.Task[None]] = set()
        self._streams: weakref.WeakSet[aiohttp.ClientResponse] = weakref.WeakSet()
        self._requests = 0
        """Short requests (a load among them) under way; `close()` lets them finish."""
        self._closing = False
        self._closed = False
        """`close()` was called: no new session is opened (no request after an unload)."""

    @property
    def address(self) -> str:
        """Return the server's URL without credentials (for messages and logs)."""
        return without_credentials(self.base_url)

    def clean(self, text: str) -> str:
        """Return `text` without the server's credentials or token."""
        return without_credentials_text(text, self.token, *url_secrets(self.base_url))

    # -- sending -------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        payload: JsonObject | None = None,
        *,
        limit: float | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and return its status and (bounded) body.

        Raises:
            RkllamaAuthError: a reverse proxy refused the access token.
            RkllamaTimeoutError: no whole answer within `limit` (default: the request timeout).
            RkllamaConnectionError: the server cannot be reached.

        """
        self._requests += 1
        try:
            async with (
                asyncio.timeout(limit or self.timeouts.request),
                self._client_session().request(
                    method, self._url(path), **self._options(payload)
                ) as response,
            ):
                body = await read_bounded(response, DEFAULT_MAX_BODY_BYTES)
                raise_for_auth(response.status, body, f"{method} {path}")
                return response.status, body
        except TimeoutError as err:
            raise RkllamaTimeoutError(f"timeout on {method} {path} at {self.address}") from err
        except (aiohttp.ClientError, OSError) as err:
            raise self.connection_error(f"cannot reach ({method} {path})", err) from err
        finally:
            self._requests -= 1
            if self._closing and not self._requests:
                await self._close_session()

    async def open_stream(self, path: str, payload: JsonObject) -> aiohttp.ClientResponse:
        """POST `payload` and return the response as soon as its headers are in.

        The caller reads the body and releases the response; no time limit applies here.
        `close()` ends the read of a response still open.
        """
        response = await self._client_session().post(self._url(path), **self._options(payload))
        self._streams.add(response)
        return response

    async def get_json(self, path: str) -> JsonObject:
        """Return the JSON object `GET path` answers, or raise the matching error."""
        status, body = await self.request("GET", path)
        return self.expect_json_object(status, body, f"GET {path}")

    # -- reading answers -------------------------------------------------------------------------

    def expect_json_object(self, status: int, body: bytes, what: str) -> JsonObject:
        """Return the JSON object of a 200 answer, or raise the matching error."""
        if status != HTTPStatus.OK:
            raise self.status_error(status, body, what)
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

    def status_error(self, status: int, body: bytes, what: str) -> RkllamaError:
        """Return the error for a non-200 answer (rkllama's own text first)."""
        data = loads_or_none(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            return error_from_text(error, status, body)
        if status in _GATEWAY_DOWN:
            # A reverse proxy in front of rkllama cannot reach it.
            return RkllamaConnectionError(f"{what}: HTTP {status} from a proxy at {self.address}")
        if status == HTTPStatus.GATEWAY_TIMEOUT:
            return RkllamaTimeoutError(f"{what}: HTTP {status} from a proxy at {self.address}")
        if status == HTTPStatus.NOT_FOUND:
            # The route is gone: the server was replaced by another API flavour.
            self._on_route_gone()
        return RkllamaServerError(
            f"{what} failed with HTTP {status}: {excerpt_of(body)!r}",
            status=status,
            body=excerpt_of(body),
        )

    def connection_error(self, what: str, err: BaseException) -> RkllamaConnectionError:
        """Return the error for a failed connection, its text free of credentials."""
        return RkllamaConnectionError(self.clean(f"{self.address}: {what}: {err}"))

    # -- abandoned answers ---------------------------------------------------------------------

    def drain_later(
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
        task = asyncio.get_running_loop().create_task(
            self._drain(pending, on_done), name="rkllama stream drain"
        )
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

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

    async def close(self, drain_limit: float | None = None) -> None:
        """Finish background drains, end the reads still open, close this transport's session.

        Short requests under way (a model load the next entry joins) finish first: the
        session closes as the last of them ends.
        """
        self._closed = True
        await self.wait_drained(drain_limit)
        for response in list(self._streams):
            response.close()
        if self._requests:
            self._closing = True
        else:
            await self._close_session()

    async def _close_session(self) -> None:
        self._closing = False
        if self.session is not None and self._own_session:
            await self.session.close()
            self.session = None
            self._own_session = False

    # -- internals -------------------------------------------------------------------------------

    async def _drain(
        self,
        pending: aiohttp.ClientResponse | asyncio.Task[aiohttp.ClientResponse],
        on_done: Callable[[], None] | None,
    ) -> None:
        timeouts = self.timeouts
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

    def _client_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RkllamaConnectionError(f"{self.address}: the client is closed")
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self._own_session = True
        return self.session

    def _url(self, path: str) -> URL:
        return URL(self.address.rstrip("/") + path)

    def _options(self, payload: JsonObject | None) -> _RequestOptions:
        """Return the body, headers, credentials and connect timeout of one request."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        base = URL(self.base_url)
        auth = None
        if not self.token and (base.user is not None or base.password is not None):
            # The address's user name and password; a bearer token takes their place.
            auth = aiohttp.BasicAuth(base.user or "", base.password or "")
        return {
            "json": payload,
            "headers": headers,
            "auth": auth,
            "timeout": aiohttp.ClientTimeout(total=None, sock_connect=self.timeouts.connect),
        }


def raise_for_auth(status: int, body: bytes, what: str) -> None:
    """Raise RkllamaAuthError for the statuses of a refused access token."""
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        raise RkllamaAuthError(
            f"{what}: access refused (HTTP {status}); check the access token",
            status=status,
            body=excerpt_of(body),
        )
