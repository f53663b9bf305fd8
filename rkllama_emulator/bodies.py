"""Request body parsing the way Flask does it for each flavour."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .wire import html_error

if TYPE_CHECKING:
    from aiohttp import web


class BodyError(Exception):
    """The body cannot be parsed; `response` is what Flask would answer."""

    def __init__(self, response: web.Response) -> None:
        """Keep the response to send."""
        super().__init__(response.status)
        self.response = response


async def json_force(request: web.BaseRequest, *, single_quotes: bool = False) -> Any:
    """Parse like `get_json(force=True)`: any content type; empty/invalid gives 400 HTML."""
    raw = await request.text()
    if single_quotes:
        raw = raw.replace("'", '"')
    if not raw.strip():
        raise BodyError(html_error(400))
    try:
        return json.loads(raw)
    except ValueError:
        raise BodyError(html_error(400)) from None


async def json_strict(request: web.BaseRequest) -> Any:
    """Parse like `request.json` (Flask 2.3): 415 HTML without a JSON content type."""
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise BodyError(html_error(415))
    return await json_force(request)


def get_dict(body: Any) -> dict[str, Any]:
    """Return the body as a dict (a non-object body behaves like an empty one)."""
    return body if isinstance(body, dict) else {}


def loaded_by(request: web.BaseRequest) -> str:
    """Return who loads a model: X-Loaded-By, else the User-Agent."""
    return request.headers.get("X-Loaded-By") or request.headers.get("User-Agent") or ""
