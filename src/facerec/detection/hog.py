"""dlib's HOG frontal face detector."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facerec.types import Box, Detection

__all__ = ["HogDetector"]


class HogDetector:
    """dlib's ``get_frontal_face_detector`` (HOG features + linear SVM, five poses).

    Args:
        adjust_threshold: added to the SVM's decision threshold; higher finds fewer, surer faces (typical 0.0,
            the value face_recognition uses).
    """

    name = "hog"

    def __init__(self, adjust_threshold: float = 0.0) -> None:
        import dlib

        self.adjust_threshold = adjust_threshold
        self._detector = dlib.get_frontal_face_detector()

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        rects, scores, _ = self._detector.run(image, upsample, self.adjust_threshold)
        return [Detection(Box(r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]
