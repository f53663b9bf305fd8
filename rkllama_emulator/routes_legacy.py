"""Fork (F) model-management routes: one model, explicit load/unload (spec 4.3-4.5, 4.7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bodies import BodyError, get_dict, json_strict, loaded_by
from .residency import LoadError
from .state import STATE_KEY
from .wire import html_error, json_body

if TYPE_CHECKING:
    from aiohttp import web

    from .residency import Worker
    from .state import EmulatorState

NO_MODEL = "No models are currently loaded."


def current_worker(state: EmulatorState) -> Worker | None:
    """Return the one loaded model, if any."""
    return next(iter(state.residency.workers.values()), None)


async def load_model(request: web.Request) -> web.Response:
    """POST /load_model: 400 while any model is loaded (checked before the body)."""
    state = request.app[STATE_KEY]
    if current_worker(state) is not None:
        return json_body({"error": "A model is already loaded. Please unload it first."}, 400)
    try:
        body = get_dict(await json_strict(request))
    except BodyError as error:
        return error.response
    name = body.get("model_name")
    if not name:
        return json_body({"error": "Please enter the name of the model to be loaded."}, 400)
    if ("from" in body) != ("huggingface_path" in body):
        return html_error(500)
    try:
        await state.residency.ensure_loaded(str(name), loaded_by(request))
    except LoadError as error:
        if error.runtime:
            return html_error(500)
        return json_body({"error": error.reason}, 400)
    return json_body({"message": f"Model {name} loaded successfully."})


async def unload_model(request: web.Request) -> web.Response:
    """POST /unload_model (no body)."""
    state = request.app[STATE_KEY]
    worker = current_worker(state)
    if worker is None:
        return json_body({"error": NO_MODEL}, 400)
    state.residency.unload(worker.name)
    return json_body({"message": "Model successfully unloaded!"})


async def current_model(request: web.Request) -> web.Response:
    """GET /current_model: 404 when nothing is loaded."""
    worker = current_worker(request.app[STATE_KEY])
    if worker is None:
        return json_body({"error": NO_MODEL}, 404)
    return json_body({"model_name": worker.name})


async def rm_broken(_request: web.Request) -> web.Response:
    """DELETE /rm on the fork: always 500 (NameError in the handler)."""
    return html_error(500)
