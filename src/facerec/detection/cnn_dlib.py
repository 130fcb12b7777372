"""dlib's MMOD CNN face detector, run by dlib itself (the reference for the ONNX ``cnn`` detector)."""

from __future__ import annotations

import os
import threading

import numpy as np
import numpy.typing as npt

from facerec.models.locate import locate_model
from facerec.types import Box, Detection

__all__ = ["DlibCnnDetector"]


class DlibCnnDetector:
    """``dlib.cnn_face_detection_model_v1`` on ``mmod_human_face_detector.dat``.

    Safe to share between threads: dlib's network keeps each layer's output inside itself, so runs take turns
    behind a lock (see :mod:`facerec.concurrency`).

    Args:
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.
    """

    name = "cnn-dlib"

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        import dlib

        self._detector = dlib.cnn_face_detection_model_v1(str(locate_model("mmod", model_path)))
        self._lock = threading.Lock()

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        with self._lock:
            found = self._detector(image, upsample)
        return [Detection(Box(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), float(d.confidence))
                for d in found]
