"""Upstream native routes: model loading/unloading, /rm, /pull, /generate (spec 5.3)."""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING

from aiohttp import web

from .bodies import BodyError, get_dict, json_force, loaded_by
from .faults import Fault
from .models import ModelStore
from .residency import LoadError
from .state import STATE_KEY
from .wire import html_error, json_body

UNEXPECTED_LOAD_ERROR = (
    "Unexpected Error loading the model {model} into memory. Check the file .rkllm is not "
    "corrupted, that the Modelfile properties (NUM_CTX, ...) match the converted model and "
    "that the RKLLM runtime version is compatible. Details: {reason}"
)
PULL_ERROR = "Error: downloads are not available in the rkllama emulator.\n"

if TYPE_CHECKING:
    from typing import Any


async def load_model(request: web.Request) -> web.Response:
    """POST /load_model (upstream: several models; 200 with `error` when already loaded)."""
    state = request.app[STATE_KEY]
    try:
        body = get_dict(await json_force(request))
    except BodyError as error:
        return error.response
    raw = body.get("model_name")
    if not raw:
        return json_body({"error": "Please enter the name of the model to be loaded."}, 400)
    name = ModelStore.strip_namespace(str(raw))
    if state.residency.get(name) is not None:
        return json_body({"error": "A model is already loaded. Nothing to do."})
    if ("from" in body) != ("huggingface_path" in body):
        return html_error(500)
    try:
        await state.residency.ensure_loaded(name, loaded_by(request))
    except LoadError as error:
        if error.runtime:
            text = UNEXPECTED_LOAD_ERROR.format(model=name, reason=error.reason)
            return json_body({"error": text}, 400)
        return json_body({"error": error.reason}, 400)
    return json_body({"message": f"Model {name} loaded successfully."})


async def unload_model(request: web.Request) -> web.Response:
    """POST /unload_model (upstream: the body is required)."""
    state = request.app[STATE_KEY]
    try:
        body = get_dict(await json_force(request))
    except BodyError as error:
        return error.response
    raw = body.get("model_name")
    if not raw:
        return json_body({"error": "Please enter the name of the model to be unloaded."}, 400)
    name = ModelStore.strip_namespace(str(raw))
    worker = state.residency.get(name)
    if worker is not None and worker.busy and state.faults.consume(Fault.UNLOAD_KILLS):
        # Upstream SIGKILLs a worker that does not exit in time, mid-generation.
        worker.abort = worker.killed = True
    if not state.residency.unload(name):
        return json_body({"error": f"No model {name} are currently loaded."}, 400)
    return json_body({"message": f"Model {name} successfully unloaded!"})


async def unload_models(_request: web.Request) -> web.Response:
    """POST /unload_models: answers success and does nothing (as upstream)."""
    return json_body({"message": "Models successfully unloaded!"})


async def generate_broken(_request: web.Request) -> web.Response:
    """POST /generate on upstream: always 500 HTML."""
    return html_error(500)


async def _delete(request: web.Request, name: Any) -> web.Response:
    """Unload and delete a model directory."""
    state = request.app[STATE_KEY]
    if not name:
        return json_body({"error": "Please specify a model."}, 400)
    model = ModelStore.strip_namespace(str(name))
    info = state.store.info(model)
    if info is None:
        return json_body({"error": f"Model directory for '{model}' not found"}, 404)
    state.residency.unload(model)
    try:
        await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, info.path)
    except OSError as error:
        return json_body({"error": f"Failed to delete model: {error}"}, 500)
    return json_body({"message": "The model has been successfully deleted!"})


async def rm(request: web.Request) -> web.Response:
    """DELETE /rm {"model"}."""
    try:
        body = get_dict(await json_force(request))
    except BodyError as error:
        return error.response
    return await _delete(request, body.get("model"))


async def api_delete(request: web.Request) -> web.Response:
    """DELETE /api/delete {"name"} (a missing name gives 500 HTML)."""
    try:
        body = get_dict(await json_force(request))
    except BodyError as error:
        return error.response
    if "name" not in body:
        return html_error(500)
    return await _delete(request, body.get("name"))


async def pull(_request: web.Request) -> web.Response:
    """POST /pull and /api/pull: progress lines are plain text; downloads are not emulated."""
    return web.Response(text=PULL_ERROR, content_type="text/plain")
