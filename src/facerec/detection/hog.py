"""dlib's HOG frontal face detector."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.concurrency import InstancePool
from facerec.types import Box, Detection

__all__ = ["HogDetector"]


def _make_dlib_hog() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


class HogDetector:
    """dlib's ``get_frontal_face_detector`` (HOG features + linear SVM, five poses).

    Safe to share between threads: dlib's detector object loads each image into itself while it runs, so every
    concurrent caller borrows its own copy from an :class:`~facerec.concurrency.InstancePool` (about 0.4 s to make
    one, a few MB each; threads then detect in parallel).

    Args:
        adjust_threshold: added to the SVM's decision threshold; higher finds fewer, surer faces (typical 0.0,
            the value face_recognition uses).
    """

    name = "hog"

    def __init__(self, adjust_threshold: float = 0.0) -> None:
        self.adjust_threshold = adjust_threshold
        self._pool: InstancePool[Any] = InstancePool(_make_dlib_hog)
        with self._pool.borrow():  # make the first one now: a missing dlib fails here, not on the first photo
            pass

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        with self._pool.borrow() as detector:
            rects, scores, _ = detector.run(image, upsample, self.adjust_threshold)
        return [Detection(Box(r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]
