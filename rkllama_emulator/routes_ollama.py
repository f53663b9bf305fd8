"""Ollama-style inference routes: /api/chat and /api/generate (spec 5.4)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .bodies import BodyError, json_force, loaded_by
from .jsonformat import apply_format
from .messages import clean_messages, upstream_messages
from .models import ModelStore
from .ollama_infer import OllamaJob, OllamaRun
from .records import RecordedRequest
from .state import STATE_KEY
from .wire import json_body

if TYPE_CHECKING:
    from aiohttp import web

JOIN_ERROR = "join() argument must be str, bytes, or os.PathLike object, not 'NoneType'"


def _think(body: dict[str, Any]) -> bool | None:
    """Return `think` (or `enable_thinking`), None when absent."""
    value = body.get("think", body.get("enable_thinking"))
    return None if value is None else bool(value)


async def _body(request: web.BaseRequest) -> dict[str, Any] | web.Response:
    """Parse the body or return the error response."""
    try:
        body = await json_force(request)
    except BodyError as error:
        return error.response
    if not isinstance(body, dict):
        return json_body({"error": f"'{type(body).__name__}' object has no attribute 'get'"}, 500)
    return body


async def api_chat(request: web.Request) -> web.StreamResponse:
    """POST /api/chat."""
    body = await _body(request)
    if not isinstance(body, dict):
        return body
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return json_body({"error": JOIN_ERROR}, 500)
    model = ModelStore.strip_namespace(model)
    messages = clean_messages(body.get("messages"))
    system, rest = upstream_messages(messages, str(body.get("system") or ""))
    tools = body.get("tools") if isinstance(body.get("tools"), list) else None
    return await _run(
        request,
        body,
        chat=True,
        model=model,
        system=system,
        messages=messages,
        prompt_messages=rest,
        tools=tools,
    )


async def api_generate(request: web.Request) -> web.StreamResponse:
    """POST /api/generate (an empty prompt unloads the model)."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    if not isinstance(body, dict):
        return body
    model = body.get("model")
    if isinstance(model, str):
        model = ModelStore.strip_namespace(model)
    prompt = body.get("prompt")
    if not prompt:
        if isinstance(model, str):
            state.residency.unload(model)
        return json_body({"model": model, "unload": True})
    if not isinstance(model, str) or not model:
        return json_body({"error": JOIN_ERROR}, 500)
    system = str(body.get("system") or "") or None
    user = {"role": "user", "content": str(prompt)}
    if body.get("images"):
        user["images"] = body["images"]
    messages = [*([{"role": "system", "content": system}] if system else []), user]
    return await _run(
        request,
        body,
        chat=False,
        model=model,
        system=system,
        messages=messages,
        prompt_messages=[user],
        tools=None,
    )


async def _run(
    request: web.Request,
    body: dict[str, Any],
    *,
    chat: bool,
    model: str,
    system: str | None,
    messages: list[dict[str, Any]],
    prompt_messages: list[dict[str, Any]],
    tools: list[Any] | None,
) -> web.StreamResponse:
    """Record one /api/chat or /api/generate request, run it, and note how it ended."""
    state = request.app[STATE_KEY]
    stream = bool(body.get("stream", True))
    fmt = body.get("format")
    options = body.get("options") if isinstance(body.get("options"), dict) else None
    record = RecordedRequest(
        route="/api/chat" if chat else "/api/generate",
        model=model,
        messages=messages,
        tools=tools,
        options=options,
        format=fmt,
        think=_think(body),
        stream=stream,
    )
    state.requests.append(record)
    job = OllamaJob(
        chat=chat,
        model=model,
        system=system,
        brain_messages=messages,
        prompt_messages=apply_format(prompt_messages, fmt),
        tools=tools or None,
        think=_think(body),
        stream=stream,
        fmt=fmt,
        options=dict(options or {}),
        loaded_by=loaded_by(request),
        record=record,
    )
    response = await OllamaRun(state, request, job).run()
    record.status = response.status
    record.ended_at = time.time()
    return response
