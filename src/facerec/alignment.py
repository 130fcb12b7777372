"""Stage 2 of the pipeline: landmarks and aligned face chips.

* :class:`Landmarker` runs one of dlib's shape predictors: ``5`` points (eye corners and nose base, what the
  face ResNet was trained with) or ``68`` points (the iBUG 300-W scheme: chin, brows, nose, eyes, lips).
* :func:`face_chips` cuts aligned chips exactly as dlib's ``get_face_chip`` does: a similarity transform that puts
  the landmarks on dlib's mean face, ``size`` x ``size`` pixels, with ``padding`` (fraction of the face width added
  on each side; 0.25 is what the face ResNet expects at 150 px).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.models.locate import locate_model
from facerec.types import Box

__all__ = ["CHIP_PADDING", "CHIP_SIZE", "Landmarker", "face_chips"]

#: The chip size and padding dlib's face ResNet was trained on.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


class Landmarker:
    """One of dlib's shape predictors.

    Args:
        points: 5 or 68.
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.
    """

    def __init__(self, points: int = 5, model_path: str | os.PathLike[str] | None = None) -> None:
        if points not in (5, 68):
            raise ConfigurationError(f"landmark model must have 5 or 68 points, got {points}")
        import dlib

        self.points = points
        self._predictor = dlib.shape_predictor(str(locate_model(f"shape{points}", model_path)))

    def predict(self, image: npt.NDArray[np.uint8], box: Box) -> npt.NDArray[np.int64]:
        """The ``(points, 2)`` array of ``(x, y)`` landmarks of the face in ``box``."""
        import dlib

        shape = self._predictor(image, dlib.rectangle(box.left, box.top, box.right, box.bottom))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int64)


def face_chips(image: npt.NDArray[np.uint8], landmarks: Sequence[npt.NDArray[np.int64]], *,
               size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> npt.NDArray[np.uint8]:
    """Aligned chips, one per landmark set, as dlib's ``get_face_chip`` cuts them.

    Args:
        image: RGB ``uint8`` array.
        landmarks: 5- or 68-point arrays from :class:`Landmarker`.
        size: chip side in pixels (150 for the face ResNet; other sizes for training).
        padding: fraction of the face added on each side (0.25 for the face ResNet; larger shows more head).

    Returns:
        ``(n, size, size, 3)`` ``uint8`` array.
    """
    if size < 16:
        raise ConfigurationError(f"chip size must be at least 16 pixels, got {size}")
    if padding < 0:
        raise ConfigurationError(f"chip padding must be >= 0, got {padding}")
    if len(landmarks) == 0:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    import dlib

    shapes = dlib.full_object_detections()
    for points in landmarks:
        xs, ys = points[:, 0], points[:, 1]
        rect = dlib.rectangle(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        shapes.append(dlib.full_object_detection(rect, [dlib.point(int(x), int(y)) for x, y in points]))
    chips = dlib.get_face_chips(image, shapes, size=size, padding=padding)
    return np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
