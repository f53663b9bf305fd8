"""Faults in front of the routes: a reverse proxy's 502/504 and broken polling answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .faults import Fault
from .wire import html_error

if TYPE_CHECKING:
    from .faults import FaultBoard

POLLED = frozenset({("GET", "/"), ("GET", "/api/tags"), ("GET", "/api/ps"), ("POST", "/api/show")})
"""The routes a client polls for health and residency."""

_PROXY_PAGES = {
    Fault.PROXY_502: (502, "Bad Gateway"),
    Fault.PROXY_504: (504, "Gateway Time-out"),
}


def proxy_page(status: int, title: str) -> web.Response:
    """Return the error page an nginx reverse proxy sends when rkllama is gone or slow."""
    body = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(
        status=status, text=body, content_type="text/html", headers={"Server": "nginx"}
    )


async def route_fault(request: web.Request, board: FaultBoard) -> web.StreamResponse | None:
    """Return the faulty answer for this request, or None to handle it normally."""
    for fault, (status, title) in _PROXY_PAGES.items():
        if board.consume(fault) is not None:
            return proxy_page(status, title)
    if (request.method, request.path) not in POLLED:
        return None
    if board.consume(Fault.POLL_HTTP_500) is not None:
        return html_error(500)
    if board.consume(Fault.POLL_BAD_JSON) is not None:
        return web.Response(text='{"models": [{"name": ', content_type="application/json")
    if board.consume(Fault.POLL_HANG) is not None:
        await board.wait_hang_release()
    return None
