"""Draw the integration's brand images into custom_components/rkllm/brand/ (run by hand).

    .venv/bin/python scripts/brand_images.py

The mark: an NPU chip with pins, a speech bubble on its die (a local voice assistant on a
Rockchip board). Home Assistant's brand rules: icon 256x256 (and @2x 512x512), logo landscape
with its short side 128 (and @2x 256), transparent background, light and dark variants.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parents[1] / "custom_components" / "rkllm" / "brand"
ACCENT = (3, 169, 244, 255)  # Home Assistant blue
LIGHT_INK = (40, 48, 56, 255)  # the chip on light backgrounds
DARK_INK = (226, 232, 240, 255)  # the chip on dark backgrounds
SCALE = 4  # draw large, then downsample for smooth edges


def _mark(size: int, ink: tuple[int, int, int, int]) -> Image.Image:
    """Return the square mark (chip, pins, speech bubble) at `size` pixels."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / 32
    body = (7 * unit, 7 * unit, 25 * unit, 25 * unit)
    for index in range(4):  # four pins per side
        offset = (9.5 + index * 4) * unit
        for x0, y0, x1, y1 in (
            (offset, 2 * unit, offset + 1.6 * unit, 7 * unit),
            (offset, 25 * unit, offset + 1.6 * unit, 30 * unit),
            (2 * unit, offset, 7 * unit, offset + 1.6 * unit),
            (25 * unit, offset, 30 * unit, offset + 1.6 * unit),
        ):
            draw.rounded_rectangle((x0, y0, x1, y1), radius=0.5 * unit, fill=ink)
    draw.rounded_rectangle(body, radius=2.5 * unit, fill=ink)
    bubble = (10 * unit, 10.5 * unit, 22 * unit, 19 * unit)
    draw.rounded_rectangle(bubble, radius=2.5 * unit, fill=ACCENT)
    draw.polygon(
        [(12.5 * unit, 18.5 * unit), (12.5 * unit, 22.5 * unit), (16 * unit, 18.5 * unit)],
        fill=ACCENT,
    )
    for index in range(3):  # three dots: the model is speaking
        cx = (13 + index * 3) * unit
        cy = 14.75 * unit
        r = 1.05 * unit
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ink)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _logo(height: int, ink: tuple[int, int, int, int]) -> Image.Image:
    """Return the landscape logo: the mark and the word "rkllm", `height` pixels high."""
    big = height * SCALE
    font = ImageFont.load_default(size=int(big * 0.62))
    text = "rkllm"
    left, top, right, bottom = font.getbbox(text)
    gap = int(big * 0.12)
    width = big + gap + (right - left) + gap // 2
    image = Image.new("RGBA", (width, big), (0, 0, 0, 0))
    image.alpha_composite(_mark(big, ink))
    draw = ImageDraw.Draw(image)
    draw.text((big + gap - left, (big - (bottom - top)) / 2 - top), text, font=font, fill=ink)
    return image.resize((width // SCALE, height), Image.Resampling.LANCZOS)


def main() -> None:
    """Write the eight brand images."""
    BRAND.mkdir(parents=True, exist_ok=True)
    for prefix, ink in (("", LIGHT_INK), ("dark_", DARK_INK)):
        _mark(256, ink).save(BRAND / f"{prefix}icon.png", optimize=True)
        _mark(512, ink).save(BRAND / f"{prefix}icon@2x.png", optimize=True)
        _logo(128, ink).save(BRAND / f"{prefix}logo.png", optimize=True)
        _logo(256, ink).save(BRAND / f"{prefix}logo@2x.png", optimize=True)


if __name__ == "__main__":
    main()
