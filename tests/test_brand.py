"""The integration's own brand images follow Home Assistant's brand rules."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
import pytest

BRAND = Path(__file__).resolve().parents[1] / "custom_components" / "rkllm" / "brand"


@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_brand_images(prefix: str) -> None:
    """Icons are square 256/512 px, logos landscape with a 128/256 px short side; transparent."""
    sizes = {}
    for name in ("icon", "icon@2x", "logo", "logo@2x"):
        with Image.open(BRAND / f"{prefix}{name}.png") as image:
            assert image.format == "PNG"
            assert image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0  # transparent corner
            sizes[name] = image.size
    assert sizes["icon"] == (256, 256)
    assert sizes["icon@2x"] == (512, 512)
    width, height = sizes["logo"]
    assert height == 128 < width
    assert sizes["logo@2x"][1] == 256 < sizes["logo@2x"][0]
