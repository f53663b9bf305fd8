"""Cross-cutting HTTP behaviour: HTML errors, `Connection: close`, the NOT_RKLLAMA fault."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from .config import Flavour
from .faults import Fault
from .route_faults import route_fault
from .state import STATE_KEY
from .wire import html_error

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

_LOGGER = logging.getLogger(__name__)
SERVER_HEADER = "Werkzeug/2.3.7 Python/3.11.2"


@web.middleware
async def rkllama_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Track the handler task, fake another server on demand, turn errors into HTML pages."""
    state = request.app[STATE_KEY]
    task = asyncio.current_task()
    if task is not None:
        state.handler_tasks.add(task)
    try:
        token = state.config.proxy_token
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            # A reverse proxy in front of rkllama that wants an access token.
            return web.Response(status=401, text="Unauthorized", content_type="text/plain")
        if state.faults.is_active(Fault.NOT_RKLLAMA):
            if request.path == "/" and request.method == "GET":
                return web.Response(text="Ollama is running", content_type="text/plain")
            return html_error(404)
        if request.method == "POST" and request.path == "/load_model":
            state.load_requests.append(await _model_name(request))
        if (faulty := await route_fault(request, state.faults)) is not None:
            return faulty
        return await handler(request)
    except web.HTTPException as error:
        if error.status in {404, 405}:
            return html_error(error.status)
        raise
    except Exception:
        _LOGGER.exception("Unhandled error in %s %s", request.method, request.path)
        return html_error(500)
    finally:
        if task is not None:
            state.handler_tasks.discard(task)


async def _model_name(request: web.Request) -> str:
    """Return the `model_name` of a request body (aiohttp keeps the body for the handler)."""
    try:
        body = json.loads(await request.text())
    except ValueError:
        return ""
    return str(body.get("model_name", "")) if isinstance(body, dict) else ""


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Close every connection (Werkzeug style) and add upstream's CORS header."""
    response.force_close()
    response.headers["Connection"] = "close"
    response.headers["Server"] = SERVER_HEADER
    if request.app[STATE_KEY].config.flavour is not Flavour.LEGACY:
        response.headers["Access-Control-Allow-Origin"] = "*"
