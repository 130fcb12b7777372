"""Verification errors as pictures: the two aligned face chips of each wrongly decided pair, side by side.

A reader sees at once why the pipeline failed: a missed face (a grey "no face" tile), the wrong face of a group
photo picked, a profile or a blurred photo, or a genuine look-alike.

Examples:
    >>> errors = [{"kind": "false accept", "photo_a": "a.jpg", "photo_b": "b.jpg", "distance": 0.41,
    ...            "threshold": 0.6, "fold": 0}]
    >>> grid = error_grid(errors, lambda key: Path(key), Variant())       # doctest: +SKIP
    >>> grid.save("errors.png")                                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from facerec.errors import FacerecError

if TYPE_CHECKING:
    from PIL import Image

    from facerec.evaluation.embedding_cache import Variant

__all__ = ["error_grid", "face_chip_for"]

_BACKGROUND = (255, 255, 255)
_MISSING = (200, 200, 200)
_TEXT = (20, 20, 20)
_KIND_COLOURS = {"false accept": (190, 30, 30), "false reject": (30, 90, 190)}


def face_chip_for(path: Path, variant: Variant, size: int) -> npt.NDArray[np.uint8] | None:
    """The aligned chip of the face ``variant`` compares in photo ``path`` (``None``: unreadable or no face)."""
    from facerec.alignment import face_chips
    from facerec.analyzer import pick_face
    from facerec.evaluation.embedding_cache import _analyzer_for
    from facerec.images import load_image

    try:
        rgb = load_image(path)
    except FacerecError:
        return None
    analyzer = _analyzer_for(variant)
    face = pick_face(analyzer.detect(rgb), rgb.shape, variant.pick)  # type: ignore[arg-type]
    if face is None:
        return None
    aligned = analyzer.landmarks(rgb, [face], points=variant.landmarks)
    marks = aligned[0].landmarks
    if marks is None:
        return None
    chip: npt.NDArray[np.uint8] = np.asarray(face_chips(rgb, [marks], size=size)[0], dtype=np.uint8)
    return chip


def error_grid(errors: Sequence[dict[str, Any]], path_of: Callable[[str], Path], variant: Variant, *,
               chip_px: int = 112, columns: int = 2,
               chip_of: Callable[[Path], npt.NDArray[np.uint8] | None] | None = None) -> Image.Image:
    """An image with, for each error, the two face chips side by side and a caption.

    Args:
        errors: rows as :func:`facerec.evaluation.verify_protocol.verification_errors` gives them (``kind``,
            ``photo_a``, ``photo_b``, ``distance``, ``threshold``).
        path_of: the file of a photo key.
        variant: the pipeline setting whose face pick and alignment made the decision.
        chip_px: side of each chip in the grid.
        columns: pairs per row of the grid.
        chip_of: the chip of a photo (default: :func:`face_chip_for` with ``variant``); ``None`` draws a grey
            "no face" tile.

    Returns:
        A PIL image (white background); an empty list gives a small image that says so.
    """
    from PIL import Image, ImageDraw

    get_chip = chip_of or (lambda path: face_chip_for(path, variant, chip_px))
    caption_px = 34
    cell_w, cell_h = 2 * chip_px + 12, chip_px + caption_px + 12
    if not errors:
        blank = Image.new("RGB", (cell_w, 40), _BACKGROUND)
        ImageDraw.Draw(blank).text((6, 12), "no errors", fill=_TEXT)
        return blank
    rows = (len(errors) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell_w, rows * cell_h), _BACKGROUND)
    draw = ImageDraw.Draw(grid)
    for n, error in enumerate(errors):
        x0, y0 = (n % columns) * cell_w + 6, (n // columns) * cell_h + 6
        for side, key in enumerate((error["photo_a"], error["photo_b"])):
            chip = get_chip(path_of(str(key)))
            x = x0 + side * chip_px
            if chip is None:
                draw.rectangle([x, y0, x + chip_px - 1, y0 + chip_px - 1], fill=_MISSING)
                draw.text((x + 8, y0 + chip_px // 2 - 6), "no face", fill=_TEXT)
            else:
                tile = Image.fromarray(np.ascontiguousarray(chip))
                if tile.size != (chip_px, chip_px):
                    tile = tile.resize((chip_px, chip_px))
                grid.paste(tile, (x, y0))
        kind = str(error["kind"])
        distance = error.get("distance")
        numbers = "no face" if distance is None else f"d {distance:.3f} / t {float(error['threshold']):.3f}"
        colour = next((c for k, c in _KIND_COLOURS.items() if kind.startswith(k)), _TEXT)
        draw.text((x0, y0 + chip_px + 3), f"{kind}: {numbers}", fill=colour)
        names = f"{Path(str(error['photo_a'])).stem} | {Path(str(error['photo_b'])).stem}"
        draw.text((x0, y0 + chip_px + 17), names[: 2 * chip_px // 6], fill=_TEXT)
    return grid
