"""Emulator-only debug route (not part of rkllama): what the emulator saw, for benchmarks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .faults import Fault
from .state import STATE_KEY
from .wire import json_body

if TYPE_CHECKING:
    from aiohttp import web

DEBUG_PREFIX = "/_emulator"


async def requests(request: web.Request) -> web.Response:
    """GET /_emulator/requests[?since=N]: the recorded requests from index N on, and loads.

    Each request carries its index, the rendered prompt and its token count, the queue wait and
    wall-clock (time.time()) stamps: arrival, generation start, first piece generated, first
    piece written, last piece generated, end. `loads` lists every model load so far
    (model, seconds, loaded_by, at).
    """
    state = request.app[STATE_KEY]
    try:
        since = max(0, int(request.query.get("since", "0")))
    except ValueError:
        return json_body({"error": "since must be an integer"}, status=400)
    records = [
        {"index": index, **record.as_json()}
        for index, record in enumerate(state.requests[since:], start=since)
    ]
    return json_body(
        {
            "requests": records,
            "next": len(state.requests),
            "loads": list(state.residency.load_events),
            "unloads": list(state.residency.unloads),
            "resident": state.residency.resident_names(),
            "max_concurrent_inferences": state.engine.max_running,
        }
    )


async def set_fault(request: web.Request) -> web.Response:
    """POST /_emulator/fault {"fault", "times" (null: until cleared), "delay"}: set a fault."""
    state = request.app[STATE_KEY]
    body = await request.json()
    try:
        fault = Fault(body["fault"])
        times = None if body.get("times") is None else int(body["times"])
        delay = float(body.get("delay", 0.0))
    except (KeyError, TypeError, ValueError) as err:
        return json_body({"error": f"bad fault request: {err}"}, status=400)
    state.controls.set_fault(fault, times=times, delay=delay)
    return json_body({"faults": [str(each) for each in state.faults.active()]})


async def clear_faults(request: web.Request) -> web.Response:
    """POST /_emulator/clear: clear every fault (and listen again)."""
    request.app[STATE_KEY].controls.clear_faults()
    return json_body({"faults": []})
