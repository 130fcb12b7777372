"""Anything that holds a picture -> an RGB ``uint8`` array of shape ``(height, width, 3)``.

:func:`load_image` accepts paths, ``bytes``, binary file objects, numpy arrays and PIL images, reads JPEG, PNG,
WebP, BMP, TIFF, GIF (first frame) and PGM/PPM, applies the EXIF orientation (phone photos), converts every mode
(RGBA, LA, P, CMYK, 16-bit, 32-bit integer, grayscale) to RGB ``uint8``, and refuses images above a pixel-count
limit before decoding them (decompression bombs). Whatever goes wrong surfaces as one :class:`ImageError` that names
the input and the reason.
"""

from __future__ import annotations

import io
import os
import re
import threading
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from facerec.errors import ConfigurationError, FirstFrameWarning, ImageError

__all__ = ["DEFAULT_MAX_PIXELS", "ImageInput", "declared_pixels", "describe_source", "load_image",
           "load_image_with_notes", "resize_to_max_side", "resize_to_size"]

#: Images with more pixels than this are refused before decoding (about 8,000 x 8,000). Raise it with the
#: ``max_pixels`` argument (``FaceAnalyzer(max_pixels=...)``, ``--max-pixels`` on the command line).
DEFAULT_MAX_PIXELS = 64_000_000

#: Pillow's own decompression-bomb check runs inside ``Image.open``; facerec applies its ``max_pixels`` instead,
#: so a file Pillow refuses but the caller allows is opened again with Pillow's check off, under this lock.
_PILLOW_LIMIT_LOCK = threading.Lock()
_BOMB_SIZE = re.compile(r"\((\d+) pixels\)")

ImageInput = str | os.PathLike[str] | bytes | bytearray | IO[bytes] | npt.NDArray[Any] | Image.Image


def describe_source(source: object) -> str:
    """A short printable name for an image input (used in error messages and reports)."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.size[0]}x{source.size[1]}>"
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str) else f"<{type(source).__name__}>"


def load_image(source: ImageInput, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               exif_transpose: bool = True) -> npt.NDArray[np.uint8]:
    """Read ``source`` as an RGB ``uint8`` array of shape ``(height, width, 3)``.

    A file with several frames (animated GIF/WebP/PNG, multi-page TIFF) gives its first frame, with a
    :class:`~facerec.errors.FirstFrameWarning` that says so (:func:`load_image_with_notes` returns the notice
    instead).

    Args:
        source: a path, the encoded file as ``bytes``, a binary file object, a numpy array (``uint8`` or
            ``uint16``; ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA) or a PIL image.
        max_pixels: refuse images with more pixels than this (``None`` for no limit).
        exif_transpose: rotate/flip by the EXIF orientation tag, as photo viewers show the picture.

    Returns:
        A C-contiguous RGB ``uint8`` array.

    Raises:
        ImageError: the input is missing, unreadable, truncated, not an image, too large or of an unsupported
            array type. The message names the input and the reason.

    Examples:
        >>> load_image(np.zeros((4, 6), dtype=np.uint8)).shape
        (4, 6, 3)
    """
    rgb, notes = load_image_with_notes(source, max_pixels=max_pixels, exif_transpose=exif_transpose)
    for note in notes:
        warnings.warn(f"{describe_source(source)}: {note}", FirstFrameWarning, stacklevel=2)
    return rgb


def load_image_with_notes(source: ImageInput, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                          exif_transpose: bool = True) -> tuple[npt.NDArray[np.uint8], tuple[str, ...]]:
    """:func:`load_image`, returning the notices about the picture (e.g. "first of 3 frames used") beside it.

    Returns:
        The RGB array and a tuple of notices in words (empty for an ordinary picture).

    Raises:
        ImageError: as :func:`load_image`.
    """
    name = describe_source(source)
    if isinstance(source, np.ndarray):
        return _from_array(source, name, max_pixels), ()
    if isinstance(source, Image.Image):
        _check_pixels(source.size[0] * source.size[1], name, max_pixels)
        return _from_pil(source, name, exif_transpose), _frame_notes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(name, "no such file")
        if path.is_dir():
            raise ImageError(name, "is a directory, not an image file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(name, f"cannot be read ({exc.strerror or exc})") from exc
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        try:
            data = source.read()
        except OSError as exc:
            raise ImageError(name, f"cannot be read ({exc})") from exc
        if not isinstance(data, bytes):
            raise ImageError(name, "file object must be opened in binary mode")
    else:
        raise ImageError(name, f"unsupported input type {type(source).__name__}; give a path, bytes, a binary "
                               "file object, a numpy array or a PIL image")
    return _decode(data, name, max_pixels, exif_transpose)


def declared_pixels(path: str | os.PathLike[str]) -> int:
    """The pixel count the header of the image file ``path`` declares, without decoding it (0 when the file cannot
    be read as an image: :func:`load_image` says why).

    Examples:
        >>> declared_pixels("no-such-file.jpg")
        0
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                return int(img.size[0]) * int(img.size[1])
    except Exception:
        return 0


def _check_pixels(count: int, name: str, max_pixels: int | None) -> None:
    if max_pixels is not None and count > max_pixels:
        raise ImageError(name, _too_many_pixels(count, max_pixels))


def _too_many_pixels(count: int | None, max_pixels: int) -> str:
    """The reason given for a picture above the pixel limit (names the options that raise it)."""
    size = f"{count:,} pixels" if count is not None else "more pixels than Pillow opens by default"
    return (f"image has {size}, above the limit of {max_pixels:,} pixels (facerec's max_pixels; refused as a "
            f"possible decompression bomb; if you trust this file, raise the limit with --max-pixels N on the "
            f"command line or max_pixels=N in the library)")


def _frame_notes(img: Image.Image) -> tuple[str, ...]:
    frames = getattr(img, "n_frames", 1)
    if isinstance(frames, int) and frames > 1:
        kind = "pages" if img.format == "TIFF" else "frames"
        return (f"has {frames} {kind}; only the first is used",)
    return ()


def _open(data: bytes, name: str, max_pixels: int | None) -> Image.Image:
    """``Image.open`` with facerec's pixel limit in place of Pillow's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        found = _BOMB_SIZE.search(str(exc))
        count = int(found.group(1)) if found else None
        if max_pixels is not None and (count is None or count > max_pixels):
            raise ImageError(name, _too_many_pixels(count, max_pixels)) from None
    with _PILLOW_LIMIT_LOCK:  # the caller allows more than Pillow does: open without Pillow's check
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _decode(data: bytes, name: str, max_pixels: int | None,
            exif_transpose: bool) -> tuple[npt.NDArray[np.uint8], tuple[str, ...]]:
    if not data:
        raise ImageError(name, "file is empty")
    try:
        img = _open(data, name, max_pixels)
        _check_pixels(img.size[0] * img.size[1], name, max_pixels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
        notes = _frame_notes(img)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError(name, "not an image, or a format Pillow cannot read") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = f"truncated or corrupt image data ({reason})"
        else:
            reason = f"corrupt image data ({reason})"
        raise ImageError(name, reason) from exc
    return _from_pil(img, name, exif_transpose), notes


def _from_pil(img: Image.Image, name: str, exif_transpose: bool) -> npt.NDArray[np.uint8]:
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)
        if exif_transpose:
            img = ImageOps.exif_transpose(img)
        mode = img.mode
        if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            return _from_array(np.asarray(img), name, None)
        if mode == "F":
            raise ImageError(name, "32-bit float images are not supported; convert to 8-bit first")
        if mode == "P":
            img = img.convert("RGBA")
        if img.mode != "RGB":
            img = img.convert("RGB")
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(name, f"corrupt image data ({exc})") from exc


def _from_array(arr: npt.NDArray[Any], name: str, max_pixels: int | None) -> npt.NDArray[np.uint8]:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(name, "array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(name, "image has no pixels")
    _check_pixels(int(arr.shape[0]) * int(arr.shape[1]), name, max_pixels)
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype in (np.uint16, np.dtype(">u2"), np.dtype("<u2")):
        out = (arr.astype(np.uint32) * 255 + 32767) // 65535
    elif arr.dtype in (np.int32, np.uint32, np.int64) and arr.size and int(arr.min()) >= 0 and int(arr.max()) <= 65535:
        # PIL mode "I" holds 16-bit PNG samples in int32
        peak = 255 if int(arr.max()) <= 255 else 65535
        out = (arr.astype(np.int64) * 255 + peak // 2) // peak
    else:
        raise ImageError(name, f"unsupported array dtype {arr.dtype}; give uint8 (0-255) or uint16 (0-65535) "
                               "pixel values")
    out = out.astype(np.uint8, copy=False)
    if out.ndim == 2:
        out = np.stack([out, out, out], axis=-1)
    elif out.shape[2] == 4:
        out = out[:, :, :3]
    return np.ascontiguousarray(out)


def resize_to_max_side(image: npt.NDArray[np.uint8], max_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    """Downscale ``image`` so that its longer side is at most ``max_side`` pixels.

    Returns:
        The (possibly unchanged) image and the factor to multiply its coordinates by to get back to the
        original image (``>= 1``).
    """
    if max_side < 16:
        raise ConfigurationError(f"max_side must be at least 16 pixels, got {max_side}")
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return resize_to_size(image, size), width / size[0]


def resize_to_size(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """``image`` resized (bilinear, with Pillow's reducing gap for big reductions) to ``size = (width, height)``."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
    return np.ascontiguousarray(small)
