"""Image input: every accepted form, every mode converted to RGB uint8, and bad files as ImageError."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facerec import ImageError, load_image


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture()
def rgb() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))


def test_load_image_reference_shapes(test_images: Path) -> None:
    assert load_image(test_images / "obama.jpg").shape == (1137, 910, 3)
    assert load_image(test_images / "32bit.png").shape == (1200, 626, 3)


def test_load_image_same_from_path_bytes_file_pil_and_array(tmp_path: Path, rgb: Image.Image) -> None:
    path = tmp_path / "x.png"
    rgb.save(path)
    expected = np.asarray(rgb)
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes()), rgb, expected):
        out = load_image(source)
        assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP", "PPM", "GIF", "JPEG"])
def test_load_image_formats(rgb: Image.Image, fmt: str) -> None:
    kw = {"lossless": True} if fmt == "WEBP" else {}
    out = load_image(_encode(rgb, fmt, **kw))
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    if fmt in ("PNG", "BMP", "TIFF", "WEBP", "PPM"):
        np.testing.assert_array_equal(out, np.asarray(rgb))


def test_load_image_gif_takes_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue())
    assert tuple(out[0, 0]) == (255, 0, 0)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "1"])
def test_load_image_modes_become_rgb(rgb: Image.Image, mode: str) -> None:
    img = rgb.convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    out = load_image(_encode(img, fmt))
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    if mode in ("L", "LA"):
        np.testing.assert_array_equal(out[..., 0], np.asarray(rgb.convert("L")))


def test_load_image_pgm_grayscale(rgb: Image.Image) -> None:
    out = load_image(_encode(rgb.convert("L"), "PPM"))
    assert out.shape == (40, 60, 3)
    assert (out[..., 0] == out[..., 2]).all()


def test_load_image_16bit_png_scaled_not_clipped() -> None:
    ramp = (np.arange(64, dtype=np.uint32).reshape(8, 8) * 1000).astype(np.uint16)
    out = load_image(_encode(Image.fromarray(ramp), "PNG"))
    assert out.dtype == np.uint8
    assert out.max() == round(63000 * 255 / 65535)  # scaled from 16 bits, not clipped at 255
    assert out[0, 1, 0] == round(1000 * 255 / 65535)


def test_load_image_16bit_array() -> None:
    arr = np.full((4, 4, 3), 65535, dtype=np.uint16)
    assert load_image(arr).max() == 255


def test_load_image_applies_exif_orientation(rgb: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encode(rgb, "JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(data)
    assert out.shape == (60, 40, 3)
    assert load_image(data, exif_transpose=False).shape == (40, 60, 3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image|corrupt"),
    ],
)
def test_load_image_bad_bytes_raise_image_error(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        load_image(data)


def test_load_image_truncated_jpeg_names_file(tmp_path: Path, rgb: Image.Image) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(_encode(rgb.resize((400, 300)), "JPEG")[:600])
    with pytest.raises(ImageError, match=r"cut.jpg: .*(truncated|corrupt)"):
        load_image(path)


def test_load_image_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_load_image_pixel_limit_checked_before_decoding() -> None:
    data = _encode(Image.new("L", (3000, 3000)), "PNG")
    with pytest.raises(ImageError, match="above the limit"):
        load_image(data, max_pixels=1_000_000)
    assert load_image(data, max_pixels=None).shape == (3000, 3000, 3)


def test_load_image_rejects_float_arrays_and_odd_shapes() -> None:
    with pytest.raises(ImageError, match="dtype"):
        load_image(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((4, 4, 2), dtype=np.uint8))
    with pytest.raises(ImageError, match="unsupported input"):
        load_image(12345)  # type: ignore[arg-type]
