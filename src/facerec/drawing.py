"""Annotated pictures, drawn once: boxes and names on a photo (``facerec identify --draw``, ``detect --draw``,
the batch runner, the service and video all draw through here), and where the copies go.

Green is a known person (or a plain detection), red an unknown one; the label sits in a filled band under the
box (above it when there is no room below).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from facerec.types import Box, Face

__all__ = ["annotated_paths", "draw_faces", "draw_identifications", "save_image"]

_KNOWN_COLOUR = (0, 200, 0)
_UNKNOWN_COLOUR = (230, 0, 0)


def draw_faces(image: npt.NDArray[np.uint8] | Image.Image, boxes: Sequence[Box], labels: Sequence[str] = (),
               known: Sequence[bool] = ()) -> Image.Image:
    """A copy of ``image`` with a rectangle around each box and its label in a filled band below it.

    Args:
        image: RGB ``uint8`` array or PIL image (not modified).
        boxes: the face boxes.
        labels: one text per box (missing ones are left blank).
        known: per box, green (``True``, the default) or red (``False``, e.g. unknown people).

    Returns:
        An RGB PIL image the size of ``image``.
    """
    canvas = (image.convert("RGB") if isinstance(image, Image.Image) else Image.fromarray(image, "RGB")).copy()
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    line = max(2, round(max(width, height) / 400))
    font = _font(max(12, round(max(width, height) / 50)))
    for i, box in enumerate(boxes):
        colour = _KNOWN_COLOUR if (known[i] if i < len(known) else True) else _UNKNOWN_COLOUR
        draw.rectangle((box.left, box.top, box.right, box.bottom), outline=colour, width=line)
        text = labels[i] if i < len(labels) else ""
        if not text:
            continue
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(2, line)
        band_h = bottom - top + 2 * pad
        band_top = box.bottom if box.bottom + band_h <= height else max(box.top - band_h, 0)
        band_right = max(box.right, box.left + right - left + 2 * pad)
        draw.rectangle((box.left, band_top, band_right, band_top + band_h), fill=colour, outline=colour)
        draw.text((box.left + pad - left, band_top + pad - top), text, fill=(255, 255, 255), font=font)
    return canvas


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or built without FreeType: the small bitmap font
        return ImageFont.load_default()


def save_image(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write an annotated picture: JPEG (quality 90) for a ``.jpg``/``.jpeg``/``.jpe`` name, else PNG; the folder is
    created first. Returns the path written.

    Raises:
        OSError: it cannot be written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".jpg", ".jpeg", ".jpe"):
        image.save(target, format="JPEG", quality=90)
    else:
        image.save(target, format="PNG")
    return target


def draw_identifications(image: npt.NDArray[np.uint8] | Image.Image, faces: Sequence[Face],
                         answers: Sequence[Any] | None = None) -> Image.Image:
    """:func:`draw_faces` for faces and, when given, their answers (anything with ``name`` and ``known``: green
    for a known person, red for an unknown one); without answers the faces are numbered from 1."""
    if answers is None:
        return draw_faces(image, [f.box for f in faces], [str(i) for i in range(1, len(faces) + 1)])
    return draw_faces(image, [f.box for f in faces], [a.name for a in answers], [a.known for a in answers])


def annotated_paths(paths: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Where the annotated copy of each file goes: ``out_dir`` / its name, distinct for every file.

    JPEG inputs keep their name; other formats get a ``.png`` ending. Names that would collide (``a/x.jpg`` and
    ``b/x.jpg``) get ``-2``, ``-3``, ... before the ending.
    """
    out = Path(out_dir)
    taken: set[str] = set()
    planned: list[Path] = []
    for item in paths:
        source = Path(item)
        suffix = source.suffix if source.suffix.lower() in (".jpg", ".jpeg", ".jpe", ".png") else ".png"
        name = source.stem + suffix
        counter = 1
        while name.lower() in taken:
            counter += 1
            name = f"{source.stem}-{counter}{suffix}"
        taken.add(name.lower())
        planned.append(out / name)
    return planned
