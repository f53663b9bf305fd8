"""The two agents under test, set up through their own config flows, as a user would.

Ours: this integration (`rkllm`), the Assist API selected, every other option at its default.
The peer: Home Assistant's built-in `ollama` integration against the same server's
Ollama-compatible API, the same model, the Assist API selected, every other option at its
default.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import Literal

from demo_lib import integration
from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.procs import DemoError

type Side = Literal["ours", "peer"]
PEER_DOMAIN = "ollama"
ENTITY_TIMEOUT = 120.0


@dataclass
class Agent:
    """One conversation agent of one side, and its Assist pipeline."""

    side: Side
    entry_id: str
    subentry_id: str
    entity_id: str
    pipeline_id: str
    model: str
    setup_seconds: float  # the config flow (server entry) until the entry is loaded


async def _wait_loaded(client: HassClient, domain: str, entry_id: str) -> None:
    deadline = time.monotonic() + ENTITY_TIMEOUT
    while True:
        entries = await client.request("GET", f"/api/config/config_entries/entry?domain={domain}")
        state = next((e["state"] for e in entries if e["entry_id"] == entry_id), "missing")
        if state == "loaded":
            return
        if time.monotonic() > deadline or state in {"setup_error", "migration_error"}:
            raise DemoError(f"the {domain} entry {entry_id} did not load (state {state!r})")
        await asyncio.sleep(0.2)


async def add_ours_server(client: HassClient, url: str) -> tuple[str, float]:
    """Add the rkllama server through our config flow; return the entry id and seconds taken."""
    started = time.monotonic()
    entry_id = await integration.add_server(client, url)
    return entry_id, time.monotonic() - started


async def add_ours_agent(
    client: HassClient,
    ws: HassWebSocket,
    entry_id: str,
    model: str,
    name: str,
    *,
    apis: tuple[str, ...] = ("assist",),
) -> tuple[str, str]:
    """Add our conversation agent for ``model``; return the subentry and the entity id."""
    subentry_id = await integration.add_agent(client, ws, entry_id, model, name, llm_hass_api=apis)
    entity_id, _sensors, _device = await integration.find_agent_entities(
        client, ws, entry_id, subentry_id
    )
    return subentry_id, entity_id


async def add_peer_server(client: HassClient, url: str) -> tuple[str, float]:
    """Add the same server to HA's ollama integration; return the entry id and seconds taken."""
    started = time.monotonic()
    result = await integration.run_flow(
        client,
        "/api/config/config_entries/flow",
        {"handler": PEER_DOMAIN, "show_advanced_options": False},
        {"url": url},
        "adding the server to the ollama integration",
    )
    entry_id = str(result["result"]["entry_id"])
    await _wait_loaded(client, PEER_DOMAIN, entry_id)
    return entry_id, time.monotonic() - started


async def _subentries(ws: HassWebSocket, entry_id: str) -> set[str]:
    subentries = await ws.call("config_entries/subentries/list", entry_id=entry_id)
    return {str(s["subentry_id"]) for s in subentries if s["subentry_type"] == "conversation"}


async def add_peer_agent(
    client: HassClient,
    ws: HassWebSocket,
    entry_id: str,
    model: str,
    name: str,
    *,
    apis: tuple[str, ...] = ("assist",),
) -> tuple[str, str]:
    """Add an ollama conversation agent (subentry flow); return the subentry and entity id."""
    before = await _subentries(ws, entry_id)
    await integration.run_flow(
        client,
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "conversation"], "show_advanced_options": False},
        {"name": name, "model": model, "llm_hass_api": list(apis)},
        f"adding the ollama {model} conversation agent",
    )
    created = await _subentries(ws, entry_id) - before
    if len(created) != 1:
        raise DemoError(f"the ollama subentry flow finished, but {len(created)} agents appeared")
    subentry_id = created.pop()
    deadline = time.monotonic() + ENTITY_TIMEOUT
    while True:
        for entry in await ws.call("config/entity_registry/list"):
            if (
                entry.get("platform") == PEER_DOMAIN
                and entry.get("config_subentry_id") == subentry_id
                and entry["entity_id"].startswith("conversation.")
            ):
                await _wait_loaded(client, PEER_DOMAIN, entry_id)
                return subentry_id, str(entry["entity_id"])
        if time.monotonic() > deadline:
            raise DemoError("the ollama conversation entity did not appear")
        await asyncio.sleep(0.2)


async def create_pipeline(
    ws: HassWebSocket,
    agent_id: str,
    name: str,
    *,
    local_first: bool = False,
    language: str = "en",
) -> str:
    """Create a text-only Assist pipeline on the agent, in ``language``; return its id.

    Without ``local_first`` every request reaches the agent (the LLM path that is measured);
    with it, HA's "prefer handling commands locally" answers what its own matcher knows.
    """
    return await integration.create_pipeline(
        ws, agent_id, name, prefer_local_intents=local_first, language=language
    )


async def reload_seconds(client: HassClient, domain: str, entry_id: str) -> float:
    """Reload a config entry over the API (unload + setup); return the seconds it took."""
    started = time.monotonic()
    await client.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
    await _wait_loaded(client, domain, entry_id)
    return time.monotonic() - started


async def wait_entity(client: HassClient, entity_id: str) -> None:
    """Wait until an entity has a state (after a reload)."""
    deadline = time.monotonic() + ENTITY_TIMEOUT
    while True:
        try:
            state = await client.state(entity_id)
        except DemoError:
            state = {}
        if state.get("state") not in {None, "unavailable"}:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"{entity_id} did not come back after a reload")
        await asyncio.sleep(0.2)
