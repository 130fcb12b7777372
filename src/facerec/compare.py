"""Comparing embeddings: Euclidean distance, threshold decisions and pair verification.

dlib's face ResNet was trained so that two photos of one person are closer than 0.6 and photos of different people
are farther, and face_recognition compares its plain embeddings at 0.6. facerec's default pipeline averages each
embedding with its mirror image's (flip averaging), which shrinks distances, different people's too: the same 0.6
would accept 0.83% of LFW's different-person pairs instead of face_recognition's 0.58%. So the default
``distance_threshold`` is :data:`DEFAULT_DISTANCE_THRESHOLD` = 0.58, the threshold with face_recognition's
false-accept rate at 0.6 under flip averaging (0.45% of LFW's different-person pairs, at the same 97.5% of
same-person pairs accepted; ``benchmarks/threshold.py``). *Lower is stricter* (fewer false matches, more missed
matches). :mod:`facerec.thresholds` gives the rate a threshold implies, also for a whole gallery; calibrated
thresholds for your own people and a target false-accept rate come from ``facerec calibrate``.
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

#: The default decision threshold (lower is stricter): 0.58 is face_recognition's 0.6 false-accept rate with flip
#: averaging (measured on LFW by ``benchmarks/threshold.py``; dlib's own 0.6 is for plain embeddings).
DEFAULT_DISTANCE_THRESHOLD = 0.58


def _as_matrix(vectors: Any, what: str) -> npt.NDArray[np.float32]:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or (arr.size and arr.shape[1] != 128):
        raise ConfigurationError(f"{what} must be 128-d embeddings, got shape {np.shape(vectors)}")
    return arr


def face_distance(known: Any, candidate: Any) -> npt.NDArray[np.float32]:
    """Euclidean distances between each of ``known`` (``(n, 128)`` or a list) and one ``candidate`` (``(128,)``).

    Lower means more alike; :data:`DEFAULT_DISTANCE_THRESHOLD` (0.58) is the default same-person threshold.

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
        distance_threshold: the largest distance still called a match. Lower is stricter; 0.58 is the default,
            equal to face_recognition's 0.6 false-accept rate with flip averaging.
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
