"""Measure 10: one camera image through `ai_task.generate_data`, ours beside HA's ollama.

A camera (Home Assistant's MJPEG integration, added through its config flow) fetches its
still image from a small web server of the bench on 127.0.0.1. Each side gets an AI-task
entity on the vision model through its own subentry flow; the action asks whether a parcel
lies at the door, with a `structure`. The time from the action to its data is compared with
what the server spent on the request (encoder, prefill, answer): the rest is the side's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from PIL import Image, ImageDraw

from bench_lib.stats import Figure, Summary, ours_at_most
from demo_lib import integration
from demo_lib.procs import DemoError
from rkllama_emulator.vision import MARKER_RGB

if TYPE_CHECKING:
    from bench_lib.agents import Side
    from bench_lib.server import Recorder
    from demo_lib.hass import HassClient, HassWebSocket

VISION_MODEL = "Qwen2.5-VL-3B-Instruct"
M10 = "10. Camera image"
OWN_TIME_GOAL = 0.100  # seconds of our own beside the server's encoder + prefill + answer
FRAME_SIZE = (1280, 720)
STRUCTURE = {
    "parcel": {"description": "Is there a parcel at the door?", "selector": {"boolean": {}}},
    "colour": {"description": "The main colour of the picture", "selector": {"text": {}}},
}


def frame() -> bytes:
    """Return the camera's frame: a red door with a parcel (the emulator's marker)."""
    image = Image.new("RGB", FRAME_SIZE, (200, 40, 40))
    ImageDraw.Draw(image).rectangle((560, 300, 720, 420), fill=MARKER_RGB)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


class CameraServer:
    """The camera's web server: the same JPEG for the still image and the stream URL."""

    def __init__(self) -> None:
        """Prepare the frame."""
        self.body = frame()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _image(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.body, content_type="image/jpeg")

    async def start(self, host: str) -> None:
        """Serve on a free port of ``host``."""
        app = web.Application()
        app.router.add_get("/{name}", self._image)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self.runner is not None:
            await self.runner.cleanup()


async def add_camera(client: HassClient, ws: HassWebSocket, url: str) -> str:
    """Add the MJPEG camera through its config flow; return its entity id."""
    result = await integration.run_flow(
        client,
        "/api/config/config_entries/flow",
        {"handler": "mjpeg", "show_advanced_options": False},
        {
            "name": "Doorbell",
            "mjpeg_url": f"{url}/stream.jpg",
            "still_image_url": f"{url}/still.jpg",
            "password": "",
            "verify_ssl": False,
        },
        "adding the MJPEG camera",
    )
    entry_id = str(result["result"]["entry_id"])
    return await _entity_of(ws, "camera.", lambda e: e.get("config_entry_id") == entry_id)


async def add_task_entity(client: HassClient, ws: HassWebSocket, side: Side, entry_id: str) -> str:
    """Add a side's AI-task entity on the vision model (its subentry flow); return it."""
    domain = "rkllm" if side == "ours" else "ollama"
    before = {e["entity_id"] for e in await ws.call("config/entity_registry/list")}
    await integration.run_flow(
        client,
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry_id, "ai_task_data"], "show_advanced_options": False},
        {"name": f"{side} doorbell eyes", "model": VISION_MODEL},
        f"adding the {domain} AI task on {VISION_MODEL}",
    )
    return await _entity_of(
        ws,
        "ai_task.",
        lambda e: e.get("platform") == domain and e["entity_id"] not in before,
    )


async def _entity_of(
    ws: HassWebSocket, prefix: str, wanted: Callable[[dict[str, Any]], bool]
) -> str:
    """Return the first registry entity with ``prefix`` that ``wanted`` accepts (waits 60 s)."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        for entry in await ws.call("config/entity_registry/list"):
            if entry["entity_id"].startswith(prefix) and wanted(entry):
                return str(entry["entity_id"])
        await asyncio.sleep(0.2)
    raise DemoError(f"no {prefix[:-1]} entity appeared")


async def timed_task(
    client: HassClient, records: Recorder, entity_id: str, camera: str
) -> dict[str, Any]:
    """Run the action once; return its time, the server's time and the data."""
    mark = await records.mark()
    started = time.monotonic()
    response = await client.request(
        "POST",
        "/api/services/ai_task/generate_data?return_response",
        json={
            "task_name": "doorbell",
            "entity_id": entity_id,
            "instructions": "Is there a parcel at the door?",
            "attachments": [
                {"media_content_id": f"media-source://camera/{camera}", "media_content_type": ""}
            ],
            "structure": STRUCTURE,
        },
        timeout=300.0,
    )
    seconds = time.monotonic() - started
    snapshot = await records.settled(mark)
    chats = [r for r in snapshot.requests if r.route == "/api/chat"]
    if not chats:
        raise DemoError("the action sent no request to the server")
    data = (response or {}).get("service_response", {}).get("data")
    return {
        "seconds": seconds,
        "server_seconds": sum(r.server_seconds for r in chats),
        "requests": len(chats),
        "data": data,
    }


def figures(homes: dict[str, dict[str, Any]]) -> list[Figure]:
    """Return measure 10's figures from the homes that measured it."""
    result: list[Figure] = []
    for size, home in homes.items():
        runs = home.get("vision")
        if not runs:
            continue
        ours = [r for r in runs if r["side"] == "ours"]
        peer = [r for r in runs if r["side"] == "peer"]
        if not ours:
            raise DemoError("ours did not answer the camera task")

        def summary(rows: list[dict[str, Any]], key: str) -> Summary | None:
            values = [float(r[key]) for r in rows]
            return Summary.of(values) if values else None

        own = [{**r, "own": r["seconds"] - r["server_seconds"]} for r in runs]
        for key, label, field, goal in (
            (f"camera_task.{size}", "action to its data, one camera image", "seconds", None),
            (
                f"camera_task_own.{size}",
                "of that, outside the server (read, resize, encode, HA)",
                "own",
                OWN_TIME_GOAL,
            ),
        ):
            rows_ours = [r for r in own if r["side"] == "ours"]
            rows_peer = [r for r in own if r["side"] == "peer"]
            ours_summary = summary(rows_ours, field)
            peer_summary = summary(rows_peer, field)
            if ours_summary is None:
                raise DemoError(f"no samples of {field}")
            extra: dict[str, Any] = {}
            if goal is not None:
                extra = {"goal": f"ours ≤ {goal:g} s", "check": ours_at_most(goal)}
            result.append(
                Figure(
                    M10,
                    key,
                    label,
                    "s",
                    ours_summary.median,
                    peer_summary.median if peer_summary else None,
                    ours_summary=ours_summary,
                    peer_summary=peer_summary,
                    note=f"{len(ours)} runs ours, {len(peer)} peer",
                    **extra,
                )
            )
    if not result:
        raise DemoError("no camera task measured")
    return result
