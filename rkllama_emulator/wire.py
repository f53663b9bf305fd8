"""Wire helpers: Flask-like JSON bodies, Werkzeug-like HTML errors, lazily started streams."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from .models import local_timestamp

_PAGES = {
    400: (
        "Bad Request",
        "The browser (or proxy) sent a request that this server could not understand.",
    ),
    404: (
        "Not Found",
        (
            "The requested URL was not found on the server. If you entered the URL manually "
            "please check your spelling and try again."
        ),
    ),
    405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
    415: (
        "Unsupported Media Type",
        (
            "Did not attempt to load JSON data because the request Content-Type was not "
            "'application/json'."
        ),
    ),
    500: (
        "Internal Server Error",
        (
            "The server encountered an internal error and was unable to complete your "
            "request. Either the server is overloaded or there is an error in the application."
        ),
    ),
}


def now_iso() -> str:
    """Return the current local time with a literal Z, as rkllama's created_at."""
    return local_timestamp(time.time())


def json_body(data: Any, status: int = 200) -> web.Response:
    """Return a jsonify-like response: compact, sorted keys, trailing newline."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"
    return web.Response(status=status, text=text, content_type="application/json")


def html_error(status: int) -> web.Response:
    """Return a Werkzeug-style HTML error page."""
    title, message = _PAGES.get(status, _PAGES[500])
    body = (
        "<!doctype html>\n<html lang=en>\n"
        f"<title>{status} {title}</title>\n<h1>{title}</h1>\n<p>{message}</p>\n"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def stream_line(data: dict[str, Any]) -> bytes:
    """Return one streamed NDJSON line (json.dumps default spacing, insertion order)."""
    return (json.dumps(data) + "\n").encode()


class LazyStream:
    """A chunked response whose headers go out only with the first byte."""

    def __init__(
        self, request: web.BaseRequest, content_type: str, charset: str | None = None
    ) -> None:
        """Prepare nothing yet."""
        self.request = request
        self.response = web.StreamResponse(status=200)
        self.response.content_type = content_type
        if charset:
            self.response.charset = charset
        self.broken = False
        self.started = False

    async def start(self) -> None:
        """Send the status line and headers now, before any body byte."""
        if self.started or self.broken:
            return
        self.started = True
        try:
            await self.response.prepare(self.request)
            await self.response.drain()
        except ConnectionError:
            self.broken = True

    async def send(self, data: bytes) -> bool:
        """Write bytes (starting the response first); return False once the client is gone."""
        if self.broken:
            return False
        try:
            if not self.started:
                self.started = True
                await self.response.prepare(self.request)
            await self.response.write(data)
        except ConnectionError:
            self.broken = True
            return False
        return True

    async def finish(self) -> web.StreamResponse:
        """End the stream (an empty stream still gets its headers)."""
        if not self.broken:
            try:
                if not self.started:
                    self.started = True
                    await self.response.prepare(self.request)
                await self.response.write_eof()
            except ConnectionError:
                self.broken = True
        return self.response

    async def drop(self) -> web.StreamResponse:
        """Cut the connection without ending the chunked body."""
        if not self.started:
            self.started = True
            await self.response.prepare(self.request)
        transport = self.request.transport
        if transport is not None:
            transport.close()
        self.broken = True
        return self.response
