"""Vision models: the `.rknn` encoder, the image tokens, and answers about the image.

A vision model's folder holds a `.rkllm` language model and a `.rknn` encoder; its Modelfile
names the encoder's input size and the tokens one image takes (`IMAGE_WIDTH`, `IMAGE_HEIGHT`,
`N_IMAGE_TOKENS`). Upstream loads the encoder for every request, so its time is paid per image,
before the prefill; the image tokens are prefilled with the text. The answer describes the
image's dominant colour and whether a parcel marker (a magenta square) is drawn into it, so a
test can tell the image really reached the model.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
import io
import json
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from pathlib import Path

    from .modelfile import Modelfile

ENCODER_SUFFIX = ".rknn"
IMAGE_ERROR = "Unexpected error encoding image"
MARKER_RGB = (255, 0, 255)
"""The parcel marker: a magenta area of at least MARKER_SHARE of the image."""
MARKER_SHARE = 0.02
_COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 60, 210),
    "yellow": (230, 210, 40),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "grey": (128, 128, 128),
    "magenta": MARKER_RGB,
}
_DUMMY_SIZE = 4096


@dataclass(frozen=True)
class VisionSeed:
    """A vision model directory: language model, encoder and the encoder's figures."""

    name: str
    huggingface_path: str
    width: int
    height: int
    tokens: int

    @property
    def stem(self) -> str:
        """Return the file name stem of the model's files."""
        return f"{self.name}-rk3588-w8a8"


VISION_SEED_MODELS: tuple[VisionSeed, ...] = (
    VisionSeed("Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-3B-Instruct", 392, 392, 196),
    VisionSeed("MiniCPM-V-4", "openbmb/MiniCPM-V-4", 448, 448, 64),
)


def create_vision_models(models_dir: Path, *, encoder: bool = True) -> list[str]:
    """Write the vision model directories (without their `.rknn` when `encoder` is False)."""
    for seed in VISION_SEED_MODELS:
        folder = models_dir / seed.name
        folder.mkdir(parents=True, exist_ok=True)
        header = f"RKLLM-EMULATOR dummy weights for {seed.name}\n".encode()
        (folder / f"{seed.stem}.rkllm").write_bytes(header.ljust(_DUMMY_SIZE, b"\0"))
        if encoder:
            (folder / f"{seed.stem}{ENCODER_SUFFIX}").write_bytes(header.ljust(_DUMMY_SIZE, b"\0"))
        lines = [
            f'FROM="{seed.stem}.rkllm"',
            f'HUGGINGFACE_PATH="{seed.huggingface_path}"',
            'SYSTEM=""',
            "TEMPERATURE=0.5",
            "NUM_CTX=4096",
            "MAX_NEW_TOKENS=1024",
            f"IMAGE_WIDTH={seed.width}",
            f"IMAGE_HEIGHT={seed.height}",
            f"N_IMAGE_TOKENS={seed.tokens}",
        ]
        (folder / "Modelfile").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [seed.name for seed in VISION_SEED_MODELS]


def images_of(messages: list[dict[str, Any]]) -> list[str]:
    """Return the images of every message (upstream collects them all)."""
    return [
        image
        for message in messages
        for image in message.get("images") or ()
        if isinstance(image, str)
    ]


def image_tokens(modelfile: Modelfile) -> int:
    """Return the tokens one image takes (the Modelfile's N_IMAGE_TOKENS, raw as upstream)."""
    return int(modelfile.options.get("n_image_tokens", "0"))


@dataclass(frozen=True)
class Seen:
    """What the encoder made of one image."""

    colour: str
    parcel: bool
    size: tuple[int, int]


def look(data: str) -> Seen:
    """Decode one base64 image and describe it.

    Raises:
        ValueError: not base64, or not an image upstream reads (GIF is refused as upstream).

    """
    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw)) as image:
            if image.format == "GIF":
                raise ValueError(IMAGE_ERROR)
            rgb = image.convert("RGB")
    except (binascii.Error, UnidentifiedImageError, OSError) as err:
        raise ValueError(IMAGE_ERROR) from err
    small = rgb.resize((32, 32), Image.Resampling.NEAREST)
    counts: dict[str, int] = {}
    for pixel in small.get_flattened_data():
        name = _nearest(pixel)
        counts[name] = counts.get(name, 0) + 1
    parcel = counts.get("magenta", 0) >= MARKER_SHARE * 32 * 32
    counts.pop("magenta", None)
    colour = max(counts, key=counts.__getitem__) if counts else "magenta"
    return Seen(colour, parcel, rgb.size)


def _nearest(pixel: tuple[int, ...] | float) -> str:
    if not isinstance(pixel, tuple):
        pixel = (int(pixel),) * 3
    return min(
        _COLOURS,
        key=lambda name: sum((a - b) ** 2 for a, b in zip(pixel, _COLOURS[name], strict=True)),
    )


def describe(seen: list[Seen], fmt: Any) -> str:
    """Return the model's answer about the images (a JSON object for a `format` schema)."""
    colours = [item.colour for item in seen]
    parcel = any(item.parcel for item in seen)
    if isinstance(fmt, dict) and isinstance(fmt.get("properties"), dict):
        values: dict[str, Any] = {}
        for key, spec in fmt["properties"].items():
            kind = spec.get("type") if isinstance(spec, dict) else "string"
            if kind == "boolean":
                values[key] = parcel
            elif kind in {"integer", "number"}:
                values[key] = len(seen)
            else:
                values[key] = colours[0]
        return json.dumps(values)
    described = ", ".join(f"mostly {colour}" for colour in colours)
    where = "There is a parcel at the door." if parcel else "There is no parcel."
    noun = "image is" if len(seen) == 1 else "images are"
    return f"The {noun} {described}. {where}"
