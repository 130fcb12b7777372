"""Comparing embeddings: Euclidean distance, threshold decisions and pair verification.

dlib's face ResNet was trained so that two photos of one person are closer than 0.6 and photos of different people
are farther: ``distance_threshold`` 0.6 is the typical value, and *lower is stricter* (fewer false matches, more
missed matches). Calibrated thresholds for a target false-accept rate come from ``facerec calibrate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError

__all__ = [
    "DEFAULT_DISTANCE_THRESHOLD",
    "Verification",
    "compare_faces",
    "face_distance",
    "verify_embeddings",
]

#: The usual decision threshold for dlib's embeddings (stored in the model file's loss layer). Lower is stricter.
DEFAULT_DISTANCE_THRESHOLD = 0.6


def _as_matrix(vectors: Any, what: str) -> npt.NDArray[np.float32]:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or (arr.size and arr.shape[1] != 128):
        raise ConfigurationError(f"{what} must be 128-d embeddings, got shape {np.shape(vectors)}")
    return arr


def face_distance(known: Any, candidate: Any) -> npt.NDArray[np.float32]:
    """Euclidean distances between each of ``known`` (``(n, 128)`` or a list) and one ``candidate`` (``(128,)``).

    Lower means more alike; 0.6 is the usual same-person threshold.

    Examples:
        >>> [round(float(d), 3) for d in face_distance(np.zeros((2, 128)), np.ones(128) * 0.05)]
        [0.566, 0.566]
    """
    known_m = _as_matrix(known, "known") if len(known) else np.zeros((0, 128), dtype=np.float32)
    cand = _as_matrix(candidate, "candidate")
    if cand.shape[0] != 1:
        raise ConfigurationError(f"candidate must be one embedding, got {cand.shape[0]}")
    distances: npt.NDArray[np.float32] = np.linalg.norm(known_m - cand, axis=1).astype(np.float32)
    return distances


def compare_faces(known: Any, candidate: Any, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD) -> list[bool]:
    """For each known embedding, whether ``candidate`` is within ``distance_threshold`` of it.

    Args:
        known: ``(n, 128)`` embeddings.
        candidate: one ``(128,)`` embedding.
        distance_threshold: the largest distance still called a match. Lower is stricter; 0.6 is typical.
    """
    if distance_threshold <= 0:
        raise ConfigurationError(f"distance_threshold must be > 0, got {distance_threshold}")
    return [bool(d <= distance_threshold) for d in face_distance(known, candidate)]


@dataclass(frozen=True)
class Verification:
    """The answer to "are these the same person?".

    Attributes:
        distance: Euclidean distance between the two embeddings (lower is more alike).
        threshold: the distance threshold used (lower is stricter).
        same: ``distance <= threshold``.
    """

    distance: float
    threshold: float
    same: bool

    def to_dict(self) -> dict[str, Any]:
        return {"distance": self.distance, "threshold": self.threshold, "same": self.same}


def verify_embeddings(a: Any, b: Any, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD) -> Verification:
    """:class:`Verification` of two embeddings."""
    distance = float(face_distance(_as_matrix(a, "a"), b)[0])
    return Verification(distance=distance, threshold=float(distance_threshold), same=distance <= distance_threshold)
