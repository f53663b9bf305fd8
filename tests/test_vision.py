"""A camera sees for the model: `ai_task.generate_data` with attachments, against the emulator.

The camera is Home Assistant's MJPEG camera, fetching its still image from this test's own
web server on 127.0.0.1; Home Assistant's action writes the snapshot to a file, and the
integration reads, resizes and encodes it in the executor (Home Assistant's test harness
fails a test that blocks the event loop).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
import io
from pathlib import Path
from typing import Any

from aiohttp import web
from homeassistant.components import ai_task, persistent_notification
from homeassistant.const import CONF_MODEL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from PIL import Image, ImageDraw
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rkllm import images as images_module
from custom_components.rkllm.api import ChatMessage, MessageRole, RkllamaImagesUnsupportedError
from custom_components.rkllm.api.bodies import legacy_body
from custom_components.rkllm.const import DOMAIN
from custom_components.rkllm.models import find_known_model
from rkllama_emulator import RkllamaEmulator, create_seed_models, create_vision_models
from rkllama_emulator.vision import MARKER_RGB

from .conftest import TEST_MODEL, add_server

VISION_MODEL = "Qwen2.5-VL-3B-Instruct"
CAMERA = "camera.doorbell"
DOORBELL_STRUCTURE = {
    "parcel": {"description": "Is there a parcel at the door?", "selector": {"boolean": {}}},
    "colour": {"description": "The main colour of the picture", "selector": {"text": {}}},
}


def snapshot(colour: tuple[int, int, int], *, marker: bool, size: tuple[int, int]) -> bytes:
    """Return a JPEG camera frame of one colour, with the parcel marker when asked."""
    image = Image.new("RGB", size, colour)
    if marker:
        width, height = size
        box = (width * 2 // 5, height * 2 // 5, width * 3 // 5, height * 3 // 5)
        ImageDraw.Draw(image).rectangle(box, fill=MARKER_RGB)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


class CameraServer:
    """The camera's own web server: it serves whatever frame the test puts up."""

    def __init__(self) -> None:
        """Start with a red frame showing a parcel."""
        self.frame = snapshot((220, 30, 30), marker=True, size=(1280, 640))
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _still(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.frame, content_type="image/jpeg")

    async def start(self) -> None:
        """Serve `/still.jpg` on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/still.jpg", self._still)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """Return the seed's models and the vision models (with their encoders)."""
    directory = tmp_path / "models"
    create_seed_models(directory)
    create_vision_models(directory)
    return directory


@pytest.fixture
async def camera_server(socket_enabled: None) -> AsyncIterator[CameraServer]:
    """Run the camera's web server."""
    server = CameraServer()
    await server.start()
    yield server
    if server.runner is not None:
        await server.runner.cleanup()


@pytest.fixture
async def doorbell(hass: HomeAssistant, camera_server: CameraServer) -> str:
    """Set up an MJPEG camera whose still image comes from the camera server."""
    entry = MockConfigEntry(
        domain="mjpeg",
        title="Doorbell",
        options={
            "authentication": "basic",
            "username": None,
            "password": "",
            "mjpeg_url": f"{camera_server.url}/stream",
            "still_image_url": f"{camera_server.url}/still.jpg",
            "verify_ssl": False,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity_id = er.async_get(hass).async_get_entity_id("camera", "mjpeg", entry.entry_id)
    assert entity_id is not None
    return entity_id


@pytest.fixture
async def board(
    hass: HomeAssistant, setup_ha: None, emulator: RkllamaEmulator, tmp_path: Path
) -> AsyncIterator[MockConfigEntry]:
    """Set up one board with an AI task on the vision model and one on a text model.

    Local media (for attachments from the media browser) lives in the test's `media` folder.
    """
    (tmp_path / "media").mkdir()
    hass.config.media_dirs = {"local": str(tmp_path / "media")}
    assert await async_setup_component(hass, "ai_task", {})
    entry = await add_server(
        hass,
        emulator.url,
        [
            {
                "data": {CONF_MODEL: model},
                "subentry_type": "ai_task_data",
                "title": title,
                "unique_id": None,
            }
            for model, title in ((VISION_MODEL, "Doorbell eyes"), (TEST_MODEL, "Text only"))
        ],
    )
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def task_entity(hass: HomeAssistant, entry: MockConfigEntry, model: str) -> str:
    """Return the AI task entity of the entry's subentry on `model`."""
    subentry = next(s for s in entry.subentries.values() if s.data[CONF_MODEL] == model)
    entity_id = er.async_get(hass).async_get_entity_id("ai_task", DOMAIN, subentry.subentry_id)
    assert entity_id is not None
    return entity_id


async def generate(
    hass: HomeAssistant, entity_id: str, *attachments: dict[str, str], **extra: Any
) -> dict[str, Any]:
    """Run Home Assistant's own action `ai_task.generate_data`; return its response."""
    response = await hass.services.async_call(
        "ai_task",
        "generate_data",
        {
            "task_name": "doorbell",
            "entity_id": entity_id,
            "instructions": "Is there a parcel at the door?",
            "attachments": list(attachments),
            **extra,
        },
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def camera_attachment(entity_id: str) -> dict[str, str]:
    """Return the attachment of a camera's snapshot, as the action's media selector gives it."""
    return {"media_content_id": f"media-source://camera/{entity_id}", "media_content_type": ""}


def sent_images(emulator: RkllamaEmulator) -> list[Image.Image]:
    """Return the images the last request carried, decoded."""
    messages = emulator.requests[-1].messages
    return [
        Image.open(io.BytesIO(base64.b64decode(data)))
        for message in messages
        for data in message.get("images") or ()
    ]


async def test_camera_snapshot_structured(
    hass: HomeAssistant, board: MockConfigEntry, doorbell: str, emulator: RkllamaEmulator
) -> None:
    """A camera snapshot reaches the vision model, resized, and the structure is filled."""
    entity_id = task_entity(hass, board, VISION_MODEL)
    response = await generate(
        hass, entity_id, camera_attachment(doorbell), structure=DOORBELL_STRUCTURE
    )
    assert response["data"] == {"parcel": True, "colour": "red"}
    record = emulator.requests[-1]
    assert record.route == "/api/chat"
    assert record.images == 1
    (image,) = sent_images(emulator)
    # The Modelfile's 392 x 392 encoder: a 2:1 frame of 1280 x 640 fits it at 392 x 196.
    assert image.format == "JPEG"
    assert image.size == (392, 196)
    # The image's tokens were prefilled with the text.
    assert record.prompt_tokens > 196


async def test_image_size_from_the_servers_modelfile(
    hass: HomeAssistant,
    board: MockConfigEntry,
    doorbell: str,
    emulator: RkllamaEmulator,
    models_dir: Path,
) -> None:
    """The server's Modelfile (through /api/show) sets the image size over the catalogue's."""
    modelfile = models_dir / VISION_MODEL / "Modelfile"
    text = modelfile.read_text(encoding="utf-8")
    text = text.replace("IMAGE_WIDTH=392", "IMAGE_WIDTH=336").replace(
        "IMAGE_HEIGHT=392", "IMAGE_HEIGHT=336"
    )
    modelfile.write_text(text, encoding="utf-8")
    assert await hass.config_entries.async_reload(board.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await generate(hass, task_entity(hass, board, VISION_MODEL), camera_attachment(doorbell))
    (image,) = sent_images(emulator)
    assert image.size == (336, 168)


async def test_plain_answer_follows_the_picture(
    hass: HomeAssistant,
    board: MockConfigEntry,
    doorbell: str,
    camera_server: CameraServer,
) -> None:
    """Another frame, another answer: the model reads the image it is sent."""
    camera_server.frame = snapshot((30, 60, 210), marker=False, size=(640, 480))
    response = await generate(
        hass, task_entity(hass, board, VISION_MODEL), camera_attachment(doorbell)
    )
    assert response["data"] == "The image is mostly blue. There is no parcel."


async def test_several_images(
    hass: HomeAssistant, board: MockConfigEntry, doorbell: str, emulator: RkllamaEmulator
) -> None:
    """Several snapshots go in one request, each encoded."""
    entity_id = task_entity(hass, board, VISION_MODEL)
    await generate(hass, entity_id, camera_attachment(doorbell), camera_attachment(doorbell))
    assert emulator.requests[-1].images == 2
    assert len(sent_images(emulator)) == 2


async def test_attachment_support_only_where_the_model_sees(
    hass: HomeAssistant, board: MockConfigEntry, doorbell: str, emulator: RkllamaEmulator
) -> None:
    """The vision model's entity takes attachments; the text model's does not."""
    vision = hass.states.get(task_entity(hass, board, VISION_MODEL))
    text = hass.states.get(task_entity(hass, board, TEST_MODEL))
    assert vision is not None
    assert text is not None
    attachments = ai_task.AITaskEntityFeature.SUPPORT_ATTACHMENTS
    assert vision.attributes["supported_features"] & attachments
    assert not text.attributes["supported_features"] & attachments
    before = len(emulator.requests)
    with pytest.raises(HomeAssistantError, match="does not support attachments"):
        await generate(hass, task_entity(hass, board, TEST_MODEL), camera_attachment(doorbell))
    assert len(emulator.requests) == before


@pytest.mark.parametrize(
    ("attachment", "key"),
    [
        ("notes.txt", "attachment_not_image"),
        ("big.jpg", "image_too_large"),
        ("broken.jpg", "attachment_not_image"),
    ],
)
async def test_bad_attachment_refused_before_sending(
    *,
    hass: HomeAssistant,
    board: MockConfigEntry,
    doorbell: str,
    emulator: RkllamaEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attachment: str,
    key: str,
) -> None:
    """A bad attachment (even beside a good one) gets one translated error; nothing is sent."""
    media = tmp_path / "media"
    (media / "notes.txt").write_text("not a picture", encoding="utf-8")
    frame = snapshot((1, 1, 1), marker=False, size=(64, 64))
    (media / "big.jpg").write_bytes(frame.ljust(300_000, b"\0"))
    (media / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    monkeypatch.setattr(images_module, "MAX_IMAGE_BYTES", 200_000)
    before = len(emulator.requests)
    with pytest.raises(HomeAssistantError) as raised:
        await generate(
            hass,
            task_entity(hass, board, VISION_MODEL),
            camera_attachment(doorbell),
            {
                "media_content_id": f"media-source://media_source/local/{attachment}",
                "media_content_type": "",
            },
        )
    assert raised.value.translation_key == key
    assert attachment in str(raised.value)
    assert len(emulator.requests) == before


async def test_too_many_images(
    hass: HomeAssistant, board: MockConfigEntry, doorbell: str, emulator: RkllamaEmulator
) -> None:
    """More images than the model takes: refused before anything is sent."""
    known = find_known_model(VISION_MODEL)
    assert known is not None
    assert known.vision is not None
    before = len(emulator.requests)
    with pytest.raises(HomeAssistantError) as raised:
        await generate(
            hass,
            task_entity(hass, board, VISION_MODEL),
            *[camera_attachment(doorbell)] * (known.vision.max_images + 1),
        )
    assert raised.value.translation_key == "too_many_images"
    assert len(emulator.requests) == before


async def test_readme_doorbell_example(
    hass: HomeAssistant,
    board: MockConfigEntry,
    doorbell: str,
    emulator: RkllamaEmulator,
    readme_examples: dict[str, Any],
) -> None:
    """The README's doorbell example, as written: a ring, a snapshot, a notification."""
    assert doorbell == CAMERA
    assert await async_setup_component(hass, "notify", {})
    notifications: list[dict[str, Any]] = []
    persistent_notification.async_register_callback(
        hass, lambda _kind, shown: notifications.extend(shown.values())
    )
    hass.states.async_set("binary_sensor.front_doorbell", "off")
    assert await async_setup_component(
        hass, "automation", {"automation": readme_examples["doorbell-parcel"]}
    )
    hass.states.async_set("binary_sensor.front_doorbell", "on")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [(n["title"], n["message"]) for n in notifications] == [("Parcel at the door", "red")]
    assert emulator.requests[-1].images == 1


def test_legacy_api_takes_no_images() -> None:
    """The legacy `/generate` body refuses images rather than dropping them."""
    with pytest.raises(RkllamaImagesUnsupportedError):
        legacy_body([ChatMessage(MessageRole.USER, "What is this?", images=("aGk=",))], None)


@pytest.mark.parametrize(
    ("name", "key", "vision"),
    [
        ("qwen3.5-4b:q8_0", "qwen3.5-4b", False),
        ("Qwen3.5-2B-GGUF", "qwen3.5-2b", False),
        ("gemma-4-E2B-it-Q4_K_M", "gemma-4-e2b-it", False),
        ("qwen2.5-vl:3b", "qwen2.5-vl-3b-instruct", True),
        ("Qwen3-VL-2B-Instruct-rk3588-w8a8", "qwen3-vl-2b-instruct", True),
        ("MiniCPM-V-4_5", "minicpm-v-4.5", True),
        ("minicpm-v:4", "minicpm-v-4", True),
        ("InternVL3_5-1B-rk3588-w8a8", "internvl3_5-1b", True),
        ("internvl3.5:2b", "internvl3_5-2b", True),
    ],
)
def test_catalogue_names(name: str, key: str, *, vision: bool) -> None:
    """Directories and short names (GGUF-style folders too) find their catalogue entry."""
    known = find_known_model(name)
    assert known is not None
    assert known.key == key
    assert (known.vision is not None) is vision
