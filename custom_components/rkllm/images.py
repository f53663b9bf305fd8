"""Images for a vision model: checked, read, resized and encoded in the executor.

Home Assistant hands an AI task its attachments as files (a camera snapshot is written to a
temporary file first). Every check that needs no file runs before any is read, and every
image is ready before the request is sent: a bad attachment never leaves a request half-done.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
import io
from pathlib import Path

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from PIL import Image, UnidentifiedImageError

from .api import ChatMessage, MessageRole
from .const import DOMAIN
from .models import Vision

MIB = 1024 * 1024
MAX_IMAGE_BYTES = 20 * MIB
"""A larger attachment is refused unread (a camera snapshot is well under 1 MiB)."""
MAX_IMAGE_PIXELS = 40_000_000
"""A larger image is refused before it is decoded (a 40-megapixel photo at most)."""
JPEG_QUALITY = 90
BACKGROUND = (255, 255, 255)
"""What a transparent area becomes (rkllama's encoder reads transparency as black)."""


@dataclass(frozen=True, slots=True)
class PreparedImages:
    """The images of one request, as the server takes them."""

    images: tuple[str, ...]
    """Base64-encoded JPEG images, each within the encoder's size."""
    tokens: int
    """Prompt tokens the images take."""


class ImageAttachmentError(HomeAssistantError):
    """An attachment the model cannot be sent (translated; nothing was sent)."""

    def __init__(self, key: str, **placeholders: str) -> None:
        """Build the translated error `exceptions.<key>`."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        )


async def async_prepare_images(
    hass: HomeAssistant,
    attachments: Sequence[conversation.Attachment],
    vision: Vision | None,
    model: str,
) -> PreparedImages:
    """Return the attachments as images for `model`'s encoder.

    Raises:
        ImageAttachmentError: the model cannot see, too many images, an attachment that is no
            image, or one too large.

    """
    if vision is None:
        raise ImageAttachmentError("model_cannot_see", model=model)
    if len(attachments) > vision.max_images:
        raise ImageAttachmentError(
            "too_many_images",
            model=model,
            count=str(len(attachments)),
            limit=str(vision.max_images),
        )
    for attachment in attachments:
        if not attachment.mime_type.startswith("image/"):
            raise ImageAttachmentError(
                "attachment_not_image",
                name=_name(attachment),
                mime_type=attachment.mime_type,
            )
    size = (vision.width, vision.height)
    images = [
        await hass.async_add_executor_job(encode_image, attachment, size)
        for attachment in attachments
    ]
    return PreparedImages(tuple(images), vision.tokens * len(images))


def encode_image(attachment: conversation.Attachment, size: tuple[int, int]) -> str:
    """Return the attachment as a base64 JPEG that fits within `size` (blocking).

    Raises:
        ImageAttachmentError: the file is too large, or is not an image.

    """
    name = _name(attachment)
    data = _read(attachment.path, name)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ImageAttachmentError(
                    "image_too_large",
                    name=name,
                    size=f"{image.width} x {image.height} px",
                    limit=f"{MAX_IMAGE_PIXELS // 1_000_000} MP",
                )
            image.load()
            prepared = _fitted(_opaque(image), size)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise ImageAttachmentError(
            "attachment_not_image", name=name, mime_type=attachment.mime_type
        ) from err
    buffer = io.BytesIO()
    prepared.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _read(path: Path, name: str) -> bytes:
    """Return the file's bytes unless it is larger than any image we take."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ImageAttachmentError(
                "image_too_large",
                name=name,
                size=_bytes_text(size),
                limit=_bytes_text(MAX_IMAGE_BYTES),
            )
        return path.read_bytes()
    except OSError as err:
        raise ImageAttachmentError("attachment_unreadable", name=name) from err


def _bytes_text(count: int) -> str:
    """Return a byte count as people read it (KiB below one MiB)."""
    if count < MIB:
        return f"{count / 1024:.0f} KiB"
    return f"{count / MIB:.1f} MiB"


def _opaque(image: Image.Image) -> Image.Image:
    """Return an RGB image; transparent areas become the background colour."""
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _fitted(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Return the image scaled down to fit `size`, its proportions kept."""
    if image.width <= size[0] and image.height <= size[1]:
        return image
    scale = min(size[0] / image.width, size[1] / image.height)
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(target, Image.Resampling.LANCZOS)


def with_images(messages: list[ChatMessage], images: tuple[str, ...]) -> list[ChatMessage]:
    """Return the messages with the images on the last user message (where rkllama puts them)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is MessageRole.USER:
            return [
                *messages[:index],
                replace(messages[index], images=images),
                *messages[index + 1 :],
            ]
    return messages


def _name(attachment: conversation.Attachment) -> str:
    """Return how the user knows the attachment (its media id, e.g. the camera)."""
    return attachment.media_content_id
