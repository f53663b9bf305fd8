"""The aiohttp application with the route table of each flavour."""

from __future__ import annotations

from aiohttp import web

from . import (
    legacy_generate,
    routes_debug,
    routes_info,
    routes_legacy,
    routes_native,
    routes_ollama,
)
from .config import Flavour
from .middleware import on_response_prepare, rkllama_middleware
from .state import STATE_KEY, EmulatorState


def _ollama_routes() -> list[web.RouteDef]:
    """Return the /api/* routes shared by both Ollama-compatible flavours."""
    return [
        web.get("/api/version", routes_info.version),
        web.get("/api/tags", routes_info.tags),
        web.post("/api/show", routes_info.show),
        web.post("/api/chat", routes_ollama.api_chat),
        web.post("/api/generate", routes_ollama.api_generate),
        web.post("/api/pull", routes_native.pull),
        web.delete("/api/delete", routes_native.api_delete),
    ]


def _fork_routes() -> list[web.RouteDef]:
    """Return the fork's single-model management routes."""
    return [
        web.post("/load_model", routes_legacy.load_model),
        web.post("/unload_model", routes_legacy.unload_model),
        web.get("/current_model", routes_legacy.current_model),
        web.post("/generate", legacy_generate.generate),
        web.delete("/rm", routes_legacy.rm_broken),
    ]


def _routes(flavour: Flavour) -> list[web.RouteDef]:
    """Return the route table of a flavour."""
    common = [
        web.get(f"{routes_debug.DEBUG_PREFIX}/requests", routes_debug.requests),
        web.post(f"{routes_debug.DEBUG_PREFIX}/fault", routes_debug.set_fault),
        web.post(f"{routes_debug.DEBUG_PREFIX}/clear", routes_debug.clear_faults),
        web.get("/", routes_info.root),
        web.get("/models", routes_info.models),
        web.post("/pull", routes_native.pull),
    ]
    if flavour is Flavour.LEGACY:
        return [*common, *_fork_routes()]
    if flavour is Flavour.OLLAMA_SINGLE:
        return [*common, *_fork_routes(), *_ollama_routes()]
    return [
        *common,
        *_ollama_routes(),
        web.get("/api/ps", routes_info.ps),
        web.get("/current_models", routes_info.ps),
        web.post("/load_model", routes_native.load_model),
        web.post("/unload_model", routes_native.unload_model),
        web.post("/unload_models", routes_native.unload_models),
        web.post("/generate", routes_native.generate_broken),
        web.delete("/rm", routes_native.rm),
    ]


def build_app(state: EmulatorState) -> web.Application:
    """Build the application for an emulator state."""
    app = web.Application(middlewares=[rkllama_middleware], client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    app.add_routes(_routes(state.config.flavour))
    app.on_response_prepare.append(on_response_prepare)
    return app
