"""Stage 1 of the pipeline: find faces.

Detectors are chosen by name from :data:`DETECTORS`:

* ``hog`` -- dlib's HOG + linear SVM frontal face detector: fast, misses small, dark and turned faces.
* ``cnn`` -- dlib's MMOD CNN face detector run on ONNX Runtime: slower, finds more faces, more accurate boxes.
* ``cnn-dlib`` -- the same CNN run by dlib itself, kept as the reference for parity tests.

Every detector takes an RGB ``uint8`` image and ``upsample`` (how many times to double the image before
detecting: each doubling finds faces half as small, at about 4x the cost) and returns :class:`Detection` values
whose boxes are clipped to the image. :func:`detect` adds a minimum face size and detection on a downscaled copy of
big photos, with boxes mapped back to the original; it also keeps every detector within its memory budget
(:mod:`facerec.detection.budget`: lower upsampling, then a downscaled copy, for photos too big to scan as asked).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from facerec.detection.budget import detect_max_pixels, plan_detection
from facerec.errors import ConfigurationError
from facerec.images import resize_to_max_side, resize_to_size
from facerec.registry import Registry
from facerec.types import Box, Detection

__all__ = ["DETECTORS", "Detector", "create_detector", "detect", "detect_max_pixels", "list_detectors",
           "plan_detection"]


@runtime_checkable
class Detector(Protocol):
    """A face detector backend."""

    name: str

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        """Detections on ``image`` with boxes as the model gives them (not yet clipped)."""
        ...


DETECTORS: Registry[Detector] = Registry("detector")


@DETECTORS.register("hog", "dlib HOG frontal detector (fast; misses small or turned faces)")
def _make_hog(**options: object) -> Detector:
    from facerec.detection.hog import HogDetector

    return HogDetector(**options)  # type: ignore[arg-type]


@DETECTORS.register("cnn", "dlib MMOD CNN detector on ONNX Runtime (accurate; same boxes as cnn-dlib, much faster)",
                    threads=True)
def _make_cnn(**options: object) -> Detector:
    from facerec.detection.cnn import OnnxCnnDetector

    return OnnxCnnDetector(**options)  # type: ignore[arg-type]


@DETECTORS.register("cnn-dlib", "dlib MMOD CNN detector run by dlib (reference; slow on CPU)")
def _make_cnn_dlib(**options: object) -> Detector:
    from facerec.detection.cnn_dlib import DlibCnnDetector

    return DlibCnnDetector(**options)  # type: ignore[arg-type]


def create_detector(name: str, **options: object) -> Detector:
    """A detector by name (see :data:`DETECTORS`)."""
    return DETECTORS.create(name, **options)


def list_detectors() -> list[str]:
    """The names of the available detectors."""
    return DETECTORS.names()


def detect(detector: Detector, image: npt.NDArray[np.uint8], *, upsample: int = 1, min_face_size_px: int = 0,
           max_side: int | None = None, max_detect_pixels: int | None = None) -> list[tuple[Detection, Box]]:
    """Run ``detector`` on ``image`` with the options every detector shares.

    Args:
        detector: a backend from :func:`create_detector`.
        image: RGB ``uint8`` array.
        upsample: times to double the image before detecting (0 = none; 1 finds faces down to about 40 px with
            HOG, at about 4x the cost of 0).
        min_face_size_px: drop faces whose box is narrower than this (in original-image pixels).
        max_side: if set and the image's longer side exceeds it, detect on a copy downscaled to this size and map
            the boxes back (much faster on big photos; faces smaller than ``~40 * scale`` px are lost).
        max_detect_pixels: the most pixels the detector may scan after upsampling (``None``: the detector's
            budget, :func:`facerec.detection.budget.detect_max_pixels`). A photo above it is detected at a lower
            upsampling, then on a downscaled copy (:func:`facerec.detection.budget.plan_detection`); this bounds
            memory whatever the photo.

    Returns:
        ``(detection, unclipped_box)`` pairs, best score first; ``detection.box`` is clipped to the image, the
        second element is the box as the model gave it (landmark predictors want the unclipped box).
    """
    if upsample < 0 or upsample > 4:
        raise ConfigurationError(f"upsample must be between 0 and 4, got {upsample}")
    if min_face_size_px < 0:
        raise ConfigurationError(f"min_face_size_px must be >= 0, got {min_face_size_px}")
    height, width = image.shape[:2]
    work = image
    if max_side is not None:
        work, _ = resize_to_max_side(image, max_side)
    budget = max_detect_pixels if max_detect_pixels is not None else detect_max_pixels(detector.name)
    plan = plan_detection(work.shape[1], work.shape[0], upsample, budget)
    work = resize_to_size(work, plan.size)
    scale = width / work.shape[1] if work.shape[1] != width else 1.0
    found = detector.detect_raw(work, plan.upsample)
    out: list[tuple[Detection, Box]] = []
    for det in found:
        raw = det.box.scaled(scale) if scale != 1.0 else det.box
        clipped = raw.clip(width, height)
        if clipped.width < max(min_face_size_px, 1):
            continue
        out.append((Detection(clipped, det.score), raw))
    out.sort(key=lambda pair: -pair[0].score)
    return out
