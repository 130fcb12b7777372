"""How big an image each detector may work on: the one place where detection's memory is bounded.

A detector's memory and time grow with the pixels it scans *after* upsampling: ``height * width * 4**upsample``.
Measured peak memory (``benchmarks/memory.py``, docs/BENCHMARKS.md "Bounded memory"): dlib's HOG needs about 11
bytes per scanned pixel, the MMOD CNN on ONNX Runtime about 150, dlib's own MMOD CNN about 1,000. Unbounded, a
blank 64-megapixel PNG at upsample 1 asked HOG for 256 Mpx and the CNN fallback for far more (past 9 GB).

So every detector gets a budget of scanned pixels, :data:`DETECT_MAX_PIXELS` (by detector name;
:data:`DEFAULT_DETECT_MAX_PIXELS` for others), and :func:`plan_detection` fits each image into it:

1. an image that fits at the requested upsampling is detected exactly as asked (every normal photo: 1080p and
   the reference test photos at upsample 1 with HOG, LFW photos at upsample 1 with the CNN);
2. otherwise the upsampling is lowered, one doubling at a time, while the image fits without it;
3. an image that does not fit even at upsample 0 is detected on a copy downscaled to the budget (boxes are mapped
   back to the original by :func:`facerec.detection.detect`; landmarks and chips still come from the original).

The budgets bound memory to a few hundred MB per detector (HOG 16 Mpx ~ 180 MB, CNN 4 Mpx ~ 650 MB; dlib's own
CNN, the slow reference, 1.2 Mpx ~ 1.2 GB) whatever the photo, and keep the smallest face HOG finds at about 80 px
in a 16 Mpx copy (a 4,000 x 4,000 photo: faces from about 2% of its side).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from facerec.errors import ConfigurationError

__all__ = ["DEFAULT_DETECT_MAX_PIXELS", "DETECT_MAX_PIXELS", "DetectionPlan", "detect_max_pixels", "plan_detection"]

#: Scanned pixels (after upsampling) each detector may work on, by name.
DETECT_MAX_PIXELS: dict[str, int] = {
    "hog": 16_000_000,
    "cnn": 4_000_000,
    "cnn-dlib": 1_200_000,
}
#: The budget of a detector not named in :data:`DETECT_MAX_PIXELS`.
DEFAULT_DETECT_MAX_PIXELS = 4_000_000


class DetectionPlan(NamedTuple):
    """How to detect on one image.

    Attributes:
        size: ``(width, height)`` of the copy to detect on (the image's own size when no downscaling is needed).
        upsample: the upsampling to use on that copy (at most the one asked for).
    """

    size: tuple[int, int]
    upsample: int

    def scanned_pixels(self) -> int:
        """Pixels the detector scans: ``width * height * 4**upsample``."""
        return int(self.size[0] * self.size[1] * 4 ** self.upsample)


def detect_max_pixels(detector_name: str) -> int:
    """The scanned-pixel budget of the detector called ``detector_name``."""
    return DETECT_MAX_PIXELS.get(detector_name, DEFAULT_DETECT_MAX_PIXELS)


def plan_detection(width: int, height: int, upsample: int, max_pixels: int) -> DetectionPlan:
    """Fit a ``width`` x ``height`` image detected at ``upsample`` into ``max_pixels`` scanned pixels.

    Examples:
        >>> plan_detection(1920, 1080, 1, 16_000_000)        # fits: as asked
        DetectionPlan(size=(1920, 1080), upsample=1)
        >>> plan_detection(4000, 3000, 1, 16_000_000)        # fits without the doubling
        DetectionPlan(size=(4000, 3000), upsample=0)
        >>> plan_detection(8000, 8000, 1, 16_000_000)        # too big even so: a downscaled copy
        DetectionPlan(size=(4000, 4000), upsample=0)
    """
    if max_pixels < 256:
        raise ConfigurationError(f"the detection pixel budget must be at least 256, got {max_pixels}")
    pixels = width * height
    while upsample > 0 and pixels * 4 ** upsample > max_pixels:
        upsample -= 1
    if pixels <= max_pixels:
        return DetectionPlan((width, height), upsample)
    scale = math.sqrt(max_pixels / pixels)
    return DetectionPlan((max(1, math.floor(width * scale)), max(1, math.floor(height * scale))), upsample)
