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

Detection on a downscaled copy (``max_side``; :class:`~facerec.FaceAnalyzer` detects on a copy of at most
:data:`DEFAULT_MAX_SIDE` px by default) costs what the copy costs, not what the photo costs: a 1080p photo is
scanned as 640 x 360. The copy shows faces down to ``DETECTION_WINDOW_PX / 2**upsample`` of its pixels (40 at
upsample 1), i.e. about 1/16 of the photo's longer side at 640. With ``refine=True`` the photo is scanned again at
full size (within the budget) when the copy shows no face, or only faces within :data:`REFINE_MARGIN` of that
limit (a group photo whose faces sit at the limit may hold smaller ones): the cost of the full scan is paid only
where it can find more. A photo whose smaller faces sit beside a much bigger one still loses them: pass
``max_side=None`` (``--max-side 0``) to scan every photo at full size, as face_recognition does.
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

__all__ = ["DEFAULT_MAX_SIDE", "DETECTION_WINDOW_PX", "DETECTORS", "REFINE_MARGIN", "Detector", "create_detector",
           "detect", "detect_max_pixels", "list_detectors", "plan_detection", "smallest_face_px"]

#: The longer side (px) of the copy :class:`~facerec.FaceAnalyzer` detects on by default (``None``: full size).
DEFAULT_MAX_SIDE = 640
#: The smallest face (box width, px) dlib's detectors find at upsample 0: their 80 x 80 scanning window.
DETECTION_WINDOW_PX = 80
#: ``refine`` rescans at full size when the smallest face found is narrower than this many times the smallest
#: face the downscaled copy can show.
REFINE_MARGIN = 1.5


@runtime_checkable
class Detector(Protocol):
    """A face detector backend."""

    name: str

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        """Detections on ``image`` with boxes as the model gives them (not yet clipped)."""
        ...


DETECTORS: Registry[Detector] = Registry("detector")


@DETECTORS.register("hog", "dlib HOG frontal detector (fast; misses small or turned faces)", threads=True,
                    on_copy={"split_pyramid": True})
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


def smallest_face_px(upsample: int, scale: float = 1.0) -> float:
    """The narrowest face (px of the original photo) a scan at ``upsample`` of a copy ``scale`` times smaller finds.

    Examples:
        >>> smallest_face_px(1)              # the photo itself, doubled once
        40.0
        >>> smallest_face_px(1, 3.0)         # a 1920-px photo scanned as a 640-px copy
        120.0
    """
    return float(DETECTION_WINDOW_PX / 2**upsample * scale)


def detect(detector: Detector, image: npt.NDArray[np.uint8], *, upsample: int = 1, min_face_size_px: int = 0,
           max_side: int | None = None, max_detect_pixels: int | None = None,
           refine: bool = False) -> list[tuple[Detection, Box]]:
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
        refine: with ``max_side``, detect again on the full-size photo when the copy shows no face or only faces
            narrower than :data:`REFINE_MARGIN` times :func:`smallest_face_px` (see the module's text).

    Returns:
        ``(detection, unclipped_box)`` pairs, best score first; ``detection.box`` is clipped to the image, the
        second element is the box as the model gave it (landmark predictors want the unclipped box).
    """
    if upsample < 0 or upsample > 4:
        raise ConfigurationError(f"upsample must be between 0 and 4, got {upsample}")
    if min_face_size_px < 0:
        raise ConfigurationError(f"min_face_size_px must be >= 0, got {min_face_size_px}")
    budget = max_detect_pixels if max_detect_pixels is not None else detect_max_pixels(detector.name)
    if max_side is None or max(image.shape[:2]) <= max_side:
        return _detect_scaled(detector, image, image, upsample, min_face_size_px, budget)[0]
    copy, _ = resize_to_max_side(image, max_side)
    found, limit = _detect_scaled(detector, image, copy, upsample, min_face_size_px, budget)
    if refine and (not found or min(raw.width for _, raw in found) < REFINE_MARGIN * limit):
        found = _detect_scaled(detector, image, image, upsample, min_face_size_px, budget)[0]
    return found


def _detect_scaled(detector: Detector, image: npt.NDArray[np.uint8], work: npt.NDArray[np.uint8], upsample: int,
                   min_face_size_px: int, budget: int) -> tuple[list[tuple[Detection, Box]], float]:
    """Detections on ``work`` (``image`` or a downscaled copy of it) in ``image``'s pixels, best first, and the
    narrowest face (in ``image``'s pixels) that scan could find."""
    height, width = image.shape[:2]
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
    return out, smallest_face_px(plan.upsample, scale)
