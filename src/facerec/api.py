"""The flat functions for the common cases. Each delegates to a shared :class:`~facerec.analyzer.FaceAnalyzer`
built for its options (:func:`~facerec.analyzer.get_analyzer`: one per distinct set of options, kept for reuse), so
results equal the analyzer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.alignment import CHIP_PADDING, CHIP_SIZE
from facerec.analyzer import (
    DEFAULT_DETECTOR,
    DEFAULT_EMBEDDER,
    DEFAULT_FLIP,
    FaceAnalyzer,
    FacePick,
    get_analyzer,
    pick_face,
)
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD, Verification, verify_embeddings
from facerec.errors import FaceNotFoundError
from facerec.images import ImageInput, describe_source, load_image
from facerec.types import Box, Face

__all__ = ["align_faces", "choose_face", "detect_faces", "embed_faces", "face_landmarks", "get_analyzer", "verify"]


def detect_faces(image: ImageInput, *, detector: str = DEFAULT_DETECTOR, upsample: int = 1,
                 min_face_size_px: int = 0, max_side: int | None = None) -> list[Face]:
    """Every face in ``image`` (boxes and scores, best first).

    Args:
        image: a path, bytes, file object, array or PIL image (see :func:`facerec.load_image`).
        detector: ``"hog"`` (fast) or ``"cnn"`` (accurate, slower).
        upsample: times to double the image first; higher finds smaller faces (1 is typical, 0 is 4x faster).
        min_face_size_px: drop faces narrower than this.
        max_side: detect on a copy downscaled to this longer side (faster on big photos).

    Examples:
        >>> faces = detect_faces("group.jpg")                        # doctest: +SKIP
        >>> [f.box.css() for f in faces]                             # doctest: +SKIP
        [(142, 617, 409, 349)]
    """
    return get_analyzer(detector=detector, upsample=upsample, min_face_size_px=min_face_size_px,
                        max_side=max_side).detect(image)


def face_landmarks(image: ImageInput, faces: Sequence[Face | Box] | None = None, *, points: int = 68,
                   detector: str = DEFAULT_DETECTOR, upsample: int = 1) -> list[Face]:
    """Faces with 68-point (or 5-point) landmarks; ``face.landmark_groups()`` names them (chin, eyes, lips...)."""
    return get_analyzer(detector=detector, upsample=upsample).landmarks(image, faces, points=points)


def align_faces(image: ImageInput, faces: Sequence[Face | Box] | None = None, *, size: int = CHIP_SIZE,
                padding: float = CHIP_PADDING, detector: str = DEFAULT_DETECTOR, upsample: int = 1,
                landmarks: int = 5) -> npt.NDArray[np.uint8]:
    """Aligned ``(n, size, size, 3)`` face chips, cut as dlib's ``get_face_chip`` does."""
    return get_analyzer(detector=detector, upsample=upsample, landmarks=landmarks).chips(
        image, faces, size=size, padding=padding)


def embed_faces(image: ImageInput, faces: Sequence[Face | Box] | None = None, *,
                detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER, upsample: int = 1,
                num_jitters: int = 1, flip: bool = DEFAULT_FLIP, landmarks: int = 5) -> list[Face]:
    """Every face with its 128-d embedding (``face.embedding``).

    Args:
        num_jitters: average the embeddings of this many jittered copies (1 = none; higher is slightly more
            accurate and proportionally slower).
        flip: also embed each mirrored face and average (on by default; +0.1 points on LFW).
    """
    return get_analyzer(detector=detector, embedder=embedder, upsample=upsample, num_jitters=num_jitters,
                        flip=flip, landmarks=landmarks).analyze(image, faces)


def verify(a: ImageInput | Any, b: ImageInput | Any, *, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
           pick: FacePick = "largest", analyzer: FaceAnalyzer | None = None) -> Verification:
    """Are ``a`` and ``b`` the same person?

    Args:
        a, b: images (one face is taken from each: see ``pick``) or ready 128-d embeddings.
        distance_threshold: the largest distance called "same". Lower is stricter; 0.58 is the default, equal
            to face_recognition's 0.6 false-accept rate with flip averaging.
        pick: which face of a photo with several: ``"largest"``, ``"central"`` or ``"best"`` (score).
        analyzer: the analyzer to use (default: the shared one with default options).

    Raises:
        FaceNotFoundError: a photo holds no face.
    """
    engine = analyzer or get_analyzer()
    vectors = [_embedding_of(x, engine, pick) for x in (a, b)]
    return verify_embeddings(vectors[0], vectors[1], distance_threshold)


def _embedding_of(x: Any, engine: FaceAnalyzer, pick: FacePick) -> npt.NDArray[np.float32]:
    if isinstance(x, Face) and x.embedding is not None:
        return x.embedding
    if isinstance(x, (np.ndarray, list, tuple)) and np.asarray(x).shape == (128,):
        return np.asarray(x, dtype=np.float32)
    return choose_face(x, pick=pick, analyzer=engine)[0].embedding  # type: ignore[return-value]


def choose_face(image: ImageInput, *, pick: FacePick = "largest", name: str | None = None,
                analyzer: FaceAnalyzer | None = None) -> tuple[Face, int]:
    """The face of ``image`` that :func:`verify` compares, with its embedding, and how many faces were found.

    Args:
        image: a photo.
        pick: which face of several: ``"largest"``, ``"central"`` or ``"best"`` (score).
        name: how to name the photo in the error (default: its path or a description).
        analyzer: the analyzer to use (default: the shared one with default options).

    Raises:
        FaceNotFoundError: the photo holds no face.
    """
    engine = analyzer or get_analyzer()
    rgb = load_image(image)
    faces = engine.detect(rgb)
    face = pick_face(faces, rgb.shape, pick)
    if face is None:
        raise FaceNotFoundError(f"{name or describe_source(image)}: no face found")
    return engine.analyze(rgb, [face])[0], len(faces)
