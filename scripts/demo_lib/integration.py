"""Drive Home Assistant like a user: config flow, subentry flow, exposure, Assist pipeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time
from typing import Any

from demo_lib.hass import HassClient, HassWebSocket
from demo_lib.procs import DemoError

DOMAIN = "rkllm"
ENTRY_TIMEOUT = 120.0  # seconds for the entry to load (first poll of the server, model preload)
# Sensor translation keys of the integration, and what the demo reads from them.
SENSOR_KEYS = (
    "tokens_per_second",
    "time_to_first_token",
    "prompt_tokens",
    "completion_tokens",
    "response_time",
    "loaded_model",
)


@dataclass
class DemoAgent:
    """What the demo set up: the server entry, the agent, its sensors and the pipeline."""

    entry_id: str
    subentry_id: str
    agent_id: str
    device_id: str | None
    sensors: dict[str, str]  # translation key -> entity id
    pipeline_id: str
    """The preferred Assist pipeline: local commands first, the rest to the agent."""
    model_pipeline_id: str
    """A pipeline that sends everything to the agent (to show its tool calls)."""


def _option_value(field: dict[str, Any], wanted: Any) -> Any:
    """Map an answer onto a select field's option values (exact, else by substring)."""
    options = ((field.get("selector") or {}).get("select") or {}).get("options") or []
    values = [opt["value"] if isinstance(opt, dict) else opt for opt in options]
    if not values or isinstance(wanted, list) or wanted in values:
        return wanted
    lowered = str(wanted).lower()
    for opt in options:
        value = opt["value"] if isinstance(opt, dict) else opt
        label = opt.get("label", "") if isinstance(opt, dict) else ""
        if lowered in str(value).lower() or lowered in str(label).lower():
            return value
    return wanted  # custom values are allowed where the selector says so; HA judges


def form_answers(step: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Fill a form as the frontend does: our answers, else the suggested values shown."""
    data: dict[str, Any] = {}
    for field in step.get("data_schema") or []:
        name = field["name"]
        suggested = (field.get("description") or {}).get("suggested_value")
        if name in answers:
            data[name] = _option_value(field, answers[name])
        elif suggested is not None:
            data[name] = suggested
        elif field.get("required") and "default" not in field:
            raise DemoError(
                f"form step {step.get('step_id')!r} asks for {name!r}, which the demo cannot answer"
            )
    return data


async def run_flow(
    client: HassClient, base: str, start: dict[str, Any], answers: dict[str, Any], what: str
) -> dict[str, Any]:
    """Run a config or subentry flow over REST to its created entry; raise on errors/aborts."""
    result: dict[str, Any] = await client.request("POST", base, json=start)
    step_path = f"{base}/{result['flow_id']}"
    answered: set[str] = set()
    for _ in range(20):
        kind = result.get("type")
        if kind == "create_entry":
            return result
        if kind == "abort":
            raise DemoError(f"{what}: the flow aborted ({result.get('reason')})")
        if kind == "progress":
            await asyncio.sleep(0.5)
            result = await client.request("GET", step_path)
            continue
        if kind != "form":
            raise DemoError(f"{what}: unexpected flow step {result}")
        step_id = str(result.get("step_id"))
        if result.get("errors") or step_id in answered:
            raise DemoError(f"{what}: step {step_id!r} refused the input: {result.get('errors')}")
        answered.add(step_id)
        result = await client.request("POST", step_path, json=form_answers(result, answers))
    raise DemoError(f"{what}: the flow did not finish")


async def entry_state(client: HassClient, entry_id: str) -> str:
    """Return the state of a config entry ("loaded", "setup_retry", …)."""
    entries = await client.request("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    for entry in entries:
        if entry["entry_id"] == entry_id:
            return str(entry["state"])
    return "missing"


async def wait_entry_loaded(client: HassClient, entry_id: str) -> None:
    """Wait until the entry is loaded; fail with its state after ENTRY_TIMEOUT."""
    deadline = time.monotonic() + ENTRY_TIMEOUT
    while (state := await entry_state(client, entry_id)) != "loaded":
        if time.monotonic() > deadline or state in {"setup_error", "migration_error"}:
            raise DemoError(f"the rkllm config entry did not load (state {state!r}); see HA's log")
        await asyncio.sleep(0.5)


async def add_server(client: HassClient, url: str) -> str:
    """Add the rkllama server through the integration's config flow; return the entry id."""
    result = await run_flow(
        client,
        "/api/config/config_entries/flow",
        {"handler": DOMAIN, "show_advanced_options": False},
        {"url": url},
        "adding the rkllama server",
    )
    entry_id = str(result["result"]["entry_id"])
    await wait_entry_loaded(client, entry_id)
    return entry_id


async def _subentry_ids(ws: HassWebSocket, entry_id: str) -> set[str]:
    subentries = await ws.call("config_entries/subentries/list", entry_id=entry_id)
    return {str(sub["subentry_id"]) for sub in subentries if sub["subentry_type"] == "conversation"}


async def add_agent(
    client: HassClient,
    ws: HassWebSocket,
    entry_id: str,
    model: str,
    name: str,
    *,
    llm_hass_api: tuple[str, ...] = ("assist",),
) -> str:
    """Add a conversation agent (subentry) for ``model``, by default with the Assist API.

    Returns the subentry id.
    """
    before = await _subentry_ids(ws, entry_id)
    await run_flow(
        client,
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "conversation"], "show_advanced_options": False},
        {"name": name, "model": model, "llm_hass_api": list(llm_hass_api), "keep_loaded": True},
        f"adding the {model} conversation agent",
    )
    # The REST answer names no subentry: the one that is new is ours.
    created = await _subentry_ids(ws, entry_id) - before
    if len(created) != 1:
        raise DemoError(f"the subentry flow finished, but {len(created)} new agents appeared")
    return created.pop()


async def registry_entries(ws: HassWebSocket) -> list[dict[str, Any]]:
    """Return the entity registry's entries of the rkllm platform."""
    entries = await ws.call("config/entity_registry/list")
    return [e for e in entries if e.get("platform") == DOMAIN]


def _sensor_key(entry: dict[str, Any]) -> str | None:
    """Return which of SENSOR_KEYS a registry entry is (by translation key, else unique id)."""
    if entry["entity_id"].split(".")[0] != "sensor":
        return None
    for key in SENSOR_KEYS:
        if entry.get("translation_key") == key or str(entry.get("unique_id")).endswith(f"_{key}"):
            return key
    return None


async def find_agent_entities(
    client: HassClient, ws: HassWebSocket, entry_id: str, subentry_id: str
) -> tuple[str, dict[str, str], str | None]:
    """Wait for the agent's conversation entity; return it, the sensors and the server device."""
    deadline = time.monotonic() + ENTRY_TIMEOUT
    while True:
        entries = await registry_entries(ws)
        agent = next(
            (
                e["entity_id"]
                for e in entries
                if e["entity_id"].startswith("conversation.")
                and e.get("config_subentry_id") == subentry_id
            ),
            None,
        )
        sensors = {
            key: e
            for e in entries
            if e.get("config_entry_id") == entry_id and (key := _sensor_key(e))
        }
        state = await entry_state(client, entry_id)
        if agent and state == "loaded" and set(sensors) >= set(SENSOR_KEYS):
            break
        if time.monotonic() > deadline:
            missing = sorted(set(SENSOR_KEYS) - set(sensors))
            raise DemoError(
                f"the agent's entities did not appear (conversation entity: {agent}, "
                f"entry state: {state}, missing sensors: {missing})"
            )
        await asyncio.sleep(0.5)
    disabled = [e["entity_id"] for e in sensors.values() if e.get("disabled_by")]
    for entity_id in disabled:
        await ws.call("config/entity_registry/update", entity_id=entity_id, disabled_by=None)
    if disabled:
        await client.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
        await wait_entry_loaded(client, entry_id)
    device_id = sensors["tokens_per_second"].get("device_id")
    return agent, {key: e["entity_id"] for key, e in sensors.items()}, device_id


async def expose(ws: HassWebSocket, entity_ids: list[str]) -> None:
    """Expose entities to Assist (the conversation assistant)."""
    await ws.call(
        "homeassistant/expose_entity",
        assistants=["conversation"],
        entity_ids=entity_ids,
        should_expose=True,
    )


async def place_in_areas(ws: HassWebSocket, areas: dict[str, str]) -> None:
    """Put entities into existing areas (those onboarding created), so the overview groups them."""
    existing = {area["area_id"] for area in await ws.call("config/area_registry/list")}
    for entity_id, area_id in areas.items():
        if area_id in existing:
            await ws.call("config/entity_registry/update", entity_id=entity_id, area_id=area_id)


async def create_pipeline(
    ws: HassWebSocket,
    agent_id: str,
    name: str,
    *,
    prefer_local_intents: bool = True,
    preferred: bool = True,
    language: str = "en",
) -> str:
    """Create a text-only Assist pipeline on the agent (preferred unless told); return its id.

    With ``prefer_local_intents`` (HA's "Prefer handling commands locally") Home Assistant's own
    sentence matcher answers simple commands ("turn on the kitchen light") in well under a
    second; only what it cannot match reaches the agent, and so the NPU.
    """
    pipeline = await ws.call(
        "assist_pipeline/pipeline/create",
        name=name,
        language=language,
        conversation_engine=agent_id,
        conversation_language=language,
        prefer_local_intents=prefer_local_intents,
        stt_engine=None,
        stt_language=None,
        tts_engine=None,
        tts_language=None,
        tts_voice=None,
        wake_word_entity=None,
        wake_word_id=None,
    )
    if preferred:
        await ws.call("assist_pipeline/pipeline/set_preferred", pipeline_id=pipeline["id"])
    return str(pipeline["id"])
