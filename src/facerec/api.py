"""The flat functions for the common cases. Each delegates to a shared :class:`~facerec.analyzer.FaceAnalyzer`
built for its options (:func:`~facerec.analyzer.get_analyzer`: one per distinct set of options, kept for reuse), so
results equal the analyzer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
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
from facerec.detection import DEFAULT_MAX_SIDE
from facerec.errors import FaceNotFoundError
from facerec.images import ImageInput, describe_source
from facerec.metric import DEFAULT_COMPARISON, Comparison, LearnedMetric, comparison_name, resolve_comparison
from facerec.types import Box, Face

__all__ = ["align_faces", "choose_face", "detect_faces", "embed_faces", "face_landmarks", "get_analyzer", "verify"]


def detect_faces(image: ImageInput, *, detector: str = DEFAULT_DETECTOR, upsample: int = 1,
                 min_face_size_px: int = 0, max_side: int | None = DEFAULT_MAX_SIDE) -> list[Face]:
    """Every face in ``image`` (boxes and scores, best first).

    Args:
        image: a path, bytes, file object, array or PIL image (see :func:`facerec.load_image`).
        detector: ``"hog"`` (fast) or ``"cnn"`` (accurate, slower).
        upsample: times to double the image first; higher finds smaller faces (1 is typical, 0 is 4x faster).
        min_face_size_px: drop faces narrower than this.
        max_side: detect on a copy downscaled to this longer side, refined at full size where it shows no face or
            faces near its limit (:class:`facerec.FaceAnalyzer`; ``None``: full size).

    Examples:
        >>> faces = detect_faces("group.jpg")                        # doctest: +SKIP
        >>> [f.box.css() for f in faces]                             # doctest: +SKIP
        [(142, 617, 409, 349)]
    """
    return get_analyzer(detector=detector, upsample=upsample, min_face_size_px=min_face_size_px,
                        max_side=max_side).detect(image)


def face_landmarks(image: ImageInput, faces: Sequence[Face | Box] | None = None, *, points: int = 68,
                   detector: str = DEFAULT_DETECTOR, upsample: int = 1,
                   max_side: int | None = DEFAULT_MAX_SIDE) -> list[Face]:
    """Faces with 68-point (or 5-point) landmarks; ``face.landmark_groups()`` names them (chin, eyes, lips...)."""
    return get_analyzer(detector=detector, upsample=upsample, max_side=max_side).landmarks(image, faces, points=points)


def align_faces(image: ImageInput, faces: Sequence[Face | Box] | None = None, *, size: int = CHIP_SIZE,
                padding: float = CHIP_PADDING, detector: str = DEFAULT_DETECTOR, upsample: int = 1,
                landmarks: int = 5, max_side: int | None = DEFAULT_MAX_SIDE) -> npt.NDArray[np.uint8]:
    """Aligned ``(n, size, size, 3)`` face chips, cut as dlib's ``get_face_chip`` does."""
    return get_analyzer(detector=detector, upsample=upsample, landmarks=landmarks, max_side=max_side).chips(
        image, faces, size=size, padding=padding)


def embed_faces(image: ImageInput, faces: Sequence[Face | Box] | None = None, *,
                detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER, upsample: int = 1,
                num_jitters: int = 1, flip: bool = DEFAULT_FLIP, landmarks: int = 5,
                max_side: int | None = DEFAULT_MAX_SIDE) -> list[Face]:
    """Every face with its 128-d embedding (``face.embedding``).

    Args:
        num_jitters: average the embeddings of this many jittered copies (1 = none; higher is slightly more
            accurate and proportionally slower).
        flip: also embed each mirrored face and average (on by default; +0.1 points on LFW).
        max_side: detect on a copy of at most this longer side, refined where needed (``None``: full size; see
            :class:`facerec.FaceAnalyzer`).
    """
    return get_analyzer(detector=detector, embedder=embedder, upsample=upsample, num_jitters=num_jitters,
                        flip=flip, landmarks=landmarks, max_side=max_side).analyze(image, faces)


def verify(a: ImageInput | Any, b: ImageInput | Any, *, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
           pick: FacePick = "largest", analyzer: FaceAnalyzer | None = None,
           comparison: Comparison | LearnedMetric | None = DEFAULT_COMPARISON) -> Verification:
    """Are ``a`` and ``b`` the same person?

    Args:
        a, b: images (one face is taken from each: see ``pick``) or ready 128-d embeddings.
        distance_threshold: the largest distance called "same". Lower is stricter; 0.58 is the default, equal
            to face_recognition's 0.6 false-accept rate with flip averaging (a learned comparison's scale gives a
            threshold about the false-accept rate Euclidean distance has there).
        pick: which face of a photo with several: ``"largest"``, ``"central"`` or ``"best"`` (score).
        analyzer: the analyzer to use (default: the shared one with default options).
        comparison: ``"euclidean"`` (default: dlib's plain distance; nothing learned beat it on LFW),
            ``"learned"`` (the map fitted on LFW that ships with facerec, see :mod:`facerec.metric`), ``"auto"``
            (that map when it was fitted for the analyzer's model) or your own fitted
            :class:`~facerec.metric.LearnedMetric`.

    Raises:
        FaceNotFoundError: a photo holds no face.
        MetricMismatchError: ``comparison="learned"`` with an analyzer of another embedding model.
    """
    engine = analyzer or get_analyzer()
    metric = None if comparison in (None, "euclidean") else resolve_comparison(comparison, engine.model_id)
    vectors = [_embedding_of(x, engine, pick) for x in (a, b)]
    if metric is not None:
        vectors = [metric.transform(v) for v in vectors]
    result = verify_embeddings(vectors[0], vectors[1], distance_threshold)
    return replace(result, comparison=comparison_name(metric))


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
    rgb = engine.load(image)
    faces = engine.detect(rgb)
    face = pick_face(faces, rgb.shape, pick)
    if face is None:
        raise FaceNotFoundError(f"{name or describe_source(image)}: no face found")
    return engine.analyze(rgb, [face])[0], len(faces)
