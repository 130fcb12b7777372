"""The data model: :class:`Box`, :class:`Face` and the conventions they carry.

Conventions, stated once for the whole package:

* **Images** are RGB ``uint8`` numpy arrays of shape ``(height, width, 3)``.
* **Boxes** are :class:`Box` values in image pixel coordinates, ``(left, top, right, bottom)``: the edges of
  dlib's rectangle as the detector gives them, clipped to the image as face_recognition clips them
  (``0 <= left <= right <= width`` and ``0 <= top <= bottom <= height``). ``width`` is ``right - left``.
  ``Box.css()`` gives face_recognition's ``(top, right, bottom, left)`` order at the edges where that order is
  expected.
* **Landmarks** are ``int`` arrays of shape ``(n, 2)`` holding ``(x, y)`` pixel coordinates; ``n`` is 5 or 68.
* **Embeddings** are ``float32`` arrays of shape ``(128,)``. They are not unit length; compare them with Euclidean
  distance, where *lower* means *more alike*.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LANDMARK_GROUPS_5", "LANDMARK_GROUPS_68", "UNKNOWN", "Box", "Detection", "Face"]

#: The name given to a face that is not close enough to anybody known (the gallery, ``--known``, an identifier,
#: a trained model all answer with it).
UNKNOWN = "unknown"

#: Named groups of the 68-point (iBUG 300-W) landmark scheme, as index ranges.
LANDMARK_GROUPS_68: dict[str, tuple[int, ...]] = {
    "chin": tuple(range(17)),
    "left_eyebrow": tuple(range(17, 22)),
    "right_eyebrow": tuple(range(22, 27)),
    "nose_bridge": tuple(range(27, 31)),
    "nose_tip": tuple(range(31, 36)),
    "left_eye": tuple(range(36, 42)),
    "right_eye": tuple(range(42, 48)),
    "top_lip": (48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60),
    "bottom_lip": (54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64),
}

#: Named groups of dlib's 5-point scheme (two corners of each eye and the base of the nose).
LANDMARK_GROUPS_5: dict[str, tuple[int, ...]] = {
    "right_eye": (0, 1),
    "left_eye": (2, 3),
    "nose_tip": (4,),
}


@dataclass(frozen=True, slots=True)
class Box:
    """A face rectangle in pixel coordinates (see the module docstring for the convention)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    @property
    def center(self) -> tuple[float, float]:
        """The centre ``(x, y)``."""
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    def css(self) -> tuple[int, int, int, int]:
        """face_recognition's ``(top, right, bottom, left)`` order."""
        return (self.top, self.right, self.bottom, self.left)

    def xywh(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)``."""
        return (self.left, self.top, self.width, self.height)

    def clip(self, width: int, height: int) -> Box:
        """This box clipped to an image of ``width`` x ``height`` pixels (edges kept within 0..width, 0..height)."""
        return Box(
            left=min(max(self.left, 0), width),
            top=min(max(self.top, 0), height),
            right=min(max(self.right, 0), width),
            bottom=min(max(self.bottom, 0), height),
        )

    def scaled(self, factor: float) -> Box:
        """This box with every coordinate multiplied by ``factor`` and rounded."""
        return Box(*(round(v * factor) for v in (self.left, self.top, self.right, self.bottom)))

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other``."""
        inter = Box(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )
        if inter.right <= inter.left or inter.bottom <= inter.top:
            return 0.0
        union = self.area + other.area - inter.area
        return inter.area / union if union else 0.0

    def to_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}


@dataclass(frozen=True, slots=True)
class Detection:
    """What a detector returns: a box and its score (higher is more confident; scales differ per detector)."""

    box: Box
    score: float


@dataclass(frozen=True, eq=False)
class Face:
    """One face found in an image.

    Attributes:
        box: where the face is (see :class:`Box` for the convention).
        score: the detector's confidence; higher is more confident. HOG scores are around 0-3, CNN scores
            around 0-1.2; the two are not comparable.
        detector: the name of the detector that found it.
        landmarks: ``(n, 2)`` int array of ``(x, y)`` points, or ``None`` if not computed.
        embedding: ``(128,)`` float32 array, or ``None`` if not computed.
        chip: the aligned RGB ``uint8`` chip the embedding was computed from, kept only on request.
        extra: anything else a stage attached (read-only by convention).
        raw_box: the detector's box before it was clipped to the image (it may reach past the edges; landmarks
            are predicted from it, as dlib does), or ``None`` when it is the same as ``box``. :attr:`source_box`
            is whichever applies.
    """

    box: Box
    score: float
    detector: str = ""
    landmarks: npt.NDArray[np.int64] | None = None
    embedding: npt.NDArray[np.float32] | None = None
    chip: npt.NDArray[np.uint8] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw_box: Box | None = None

    @property
    def source_box(self) -> Box:
        """The box the landmarks are predicted from: :attr:`raw_box` when known, else :attr:`box`."""
        return self.box if self.raw_box is None else self.raw_box

    def with_(self, **changes: Any) -> Face:
        """A copy with some fields replaced (the dataclass is frozen)."""
        return replace(self, **changes)

    def landmark_groups(self) -> dict[str, list[tuple[int, int]]]:
        """The landmarks by named group (``chin``, ``left_eye``, ``nose_tip``, ...)."""
        if self.landmarks is None:
            return {}
        groups = LANDMARK_GROUPS_68 if len(self.landmarks) == 68 else LANDMARK_GROUPS_5
        return {name: [(int(self.landmarks[i][0]), int(self.landmarks[i][1])) for i in idx]
                for name, idx in groups.items()}

    def to_dict(self, *, with_embedding: bool = True) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        out: dict[str, Any] = {"box": self.box.to_dict(), "score": float(self.score), "detector": self.detector}
        if self.landmarks is not None:
            out["landmarks"] = [[int(x), int(y)] for x, y in self.landmarks]
        if with_embedding and self.embedding is not None:
            out["embedding"] = [float(v) for v in self.embedding]
        return out
