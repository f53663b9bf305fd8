"""Vision models in the emulator: the encoder, image tokens, answers about the image."""

from __future__ import annotations

import base64
from dataclasses import replace
import io
import json
from pathlib import Path

import aiohttp
from conftest import EmulatorFactory
from emu_helpers import chat, content_of
from PIL import Image, ImageDraw

from rkllama_emulator import FAST_TIMING, create_vision_models
from rkllama_emulator.vision import MARKER_RGB

VL = "Qwen2.5-VL-3B-Instruct"


def image_b64(colour: tuple[int, int, int], *, marker: bool = False, fmt: str = "JPEG") -> str:
    """Return a 640x360 image of one colour, with the parcel marker when asked."""
    image = Image.new("RGB", (640, 360), colour)
    if marker:
        ImageDraw.Draw(image).rectangle((260, 120, 380, 240), fill=MARKER_RGB)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def look_at(*images: str, text: str = "What do you see?") -> dict[str, object]:
    """Return a user message with images."""
    return {"role": "user", "content": text, "images": list(images)}


async def test_answer_depends_on_the_image(
    models_dir: Path, make_emulator: EmulatorFactory
) -> None:
    """The answer tells the image's colour and the marker: the image reached the model."""
    create_vision_models(models_dir)
    emulator = await make_emulator()
    async with aiohttp.ClientSession() as session:
        _, red = await chat(
            session, emulator.url, model=VL, messages=[look_at(image_b64((220, 30, 30)))]
        )
        _, blue = await chat(
            session,
            emulator.url,
            model=VL,
            messages=[look_at(image_b64((30, 60, 210), marker=True))],
        )
    assert content_of(red) == "The image is mostly red. There is no parcel."
    assert content_of(blue) == "The image is mostly blue. There is a parcel at the door."
    # 196 image tokens are prefilled with the text.
    text_only = emulator.requests[0].prompt_tokens - 196
    assert text_only > 0
    assert red[-1]["prompt_eval_count"] == emulator.requests[0].prompt_tokens


async def test_structured_answer_about_images(
    models_dir: Path, make_emulator: EmulatorFactory
) -> None:
    """With a schema, the answer fills it from the images (several in one request)."""
    create_vision_models(models_dir)
    emulator = await make_emulator()
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}, "parcel": {"type": "boolean"}},
        "required": ["colour", "parcel"],
    }
    images = (image_b64((30, 170, 60)), image_b64((245, 245, 245), marker=True))
    async with aiohttp.ClientSession() as session:
        _, lines = await chat(
            session, emulator.url, model=VL, messages=[look_at(*images)], format=schema
        )
    assert json.loads(content_of(lines)) == {"colour": "green", "parcel": True}
    assert emulator.requests[-1].images == 2


async def test_encoder_time_per_image(models_dir: Path, make_emulator: EmulatorFactory) -> None:
    """The encoder's time is paid per image, before the prefill."""
    create_vision_models(models_dir)
    emulator = await make_emulator(timing=replace(FAST_TIMING, encoder_seconds_per_image=0.05))
    async with aiohttp.ClientSession() as session:
        await chat(
            session,
            emulator.url,
            model=VL,
            messages=[look_at(image_b64((0, 0, 0)), image_b64((0, 0, 0)))],
        )
    record = emulator.requests[-1]
    assert record.encoder_seconds == 0.1
    assert record.started_at is not None
    assert record.first_token_at is not None
    assert record.first_token_at - record.started_at >= 0.1


async def test_no_encoder_is_refused(models_dir: Path, make_emulator: EmulatorFactory) -> None:
    """A model folder without its `.rknn` encoder refuses images as rkllama does."""
    create_vision_models(models_dir, encoder=False)
    emulator = await make_emulator()
    async with aiohttp.ClientSession() as session:
        status, body = await chat(
            session, emulator.url, model=VL, messages=[look_at(image_b64((1, 2, 3)))]
        )
        text_status, _ = await chat(
            session, emulator.url, model=VL, messages=[{"role": "user", "content": "Hi"}]
        )
    assert status == 500
    assert body == [{"error": f"No encoder model (.rknn) found for : {VL}"}]
    assert text_status == 200


async def test_gif_is_refused(models_dir: Path, make_emulator: EmulatorFactory) -> None:
    """A GIF (or bad base64) fails as upstream's encoder does."""
    create_vision_models(models_dir)
    emulator = await make_emulator()
    async with aiohttp.ClientSession() as session:
        status, body = await chat(
            session, emulator.url, model=VL, messages=[look_at(image_b64((9, 9, 9), fmt="GIF"))]
        )
    assert status == 500
    assert body == [{"error": "Unexpected error encoding image"}]
