"""The flat functions for the common cases. Each delegates to a shared :class:`~facerec.analyzer.FaceAnalyzer`
built for its options (one per distinct set of options, kept for reuse), so results equal the analyzer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.alignment import CHIP_PADDING, CHIP_SIZE
from facerec.analyzer import (
    DEFAULT_DETECTOR,
    DEFAULT_EMBEDDER,
    DEFAULT_FALLBACK_DETECTOR,
    DEFAULT_FLIP,
    FaceAnalyzer,
    FacePick,
    pick_face,
)
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD, Verification, verify_embeddings
from facerec.errors import FaceNotFoundError
from facerec.images import ImageInput, describe_source, load_image
from facerec.metric import DEFAULT_COMPARISON, Comparison, LearnedMetric, comparison_name, resolve_comparison
from facerec.types import Box, Face

__all__ = ["align_faces", "detect_faces", "embed_faces", "face_landmarks", "get_analyzer", "verify"]


@lru_cache(maxsize=16)
def _analyzer(detector: str, embedder: str, upsample: int, min_face_size_px: int, max_side: int | None,
              fallback_detector: str | None, landmarks: int, num_jitters: int, flip: bool,
              preset: str | None = None) -> FaceAnalyzer:
    return FaceAnalyzer(detector=detector, embedder=embedder, upsample=upsample, min_face_size_px=min_face_size_px,
                        max_side=max_side, fallback_detector=fallback_detector, landmarks=landmarks,
                        num_jitters=num_jitters, flip=flip, preset=preset)


def get_analyzer(*, detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER, upsample: int = 1,
                 min_face_size_px: int = 0, max_side: int | None = None,
                 fallback_detector: str | None = DEFAULT_FALLBACK_DETECTOR, landmarks: int = 5, num_jitters: int = 1,
                 flip: bool = DEFAULT_FLIP, preset: str | None = None) -> FaceAnalyzer:
    """The shared analyzer for these options (created once, models loaded on first use); ``preset``: see
    :class:`FaceAnalyzer` (``"fast"`` or ``"accurate"``)."""
    return _analyzer(detector, embedder, upsample, min_face_size_px, max_side, fallback_detector, landmarks,
                     num_jitters, flip, preset)


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
           pick: FacePick = "largest", analyzer: FaceAnalyzer | None = None,
           comparison: Comparison | LearnedMetric | None = DEFAULT_COMPARISON) -> Verification:
    """Are ``a`` and ``b`` the same person?

    Args:
        a, b: images (one face is taken from each: see ``pick``) or ready 128-d embeddings.
        distance_threshold: the largest distance called "same". Lower is stricter; 0.6 is typical (for a
            learned comparison too: its scale gives 0.6 the false-accept rate Euclidean has at 0.6).
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
    metric = resolve_comparison(comparison, _model_id(engine)) if comparison not in (None, "euclidean") else None
    vectors = [_embedding_of(x, engine, pick) for x in (a, b)]
    if metric is not None:
        vectors = [metric.transform(v) for v in vectors]
    result = verify_embeddings(vectors[0], vectors[1], distance_threshold)
    return replace(result, comparison=comparison_name(metric))


def _model_id(engine: FaceAnalyzer) -> str:
    from facerec.gallery.base import model_id_for  # the id lives beside the galleries that record it

    return model_id_for(engine)


def _embedding_of(x: Any, engine: FaceAnalyzer, pick: FacePick) -> npt.NDArray[np.float32]:
    if isinstance(x, Face) and x.embedding is not None:
        return x.embedding
    if isinstance(x, (np.ndarray, list, tuple)) and np.asarray(x).shape == (128,):
        return np.asarray(x, dtype=np.float32)
    rgb = load_image(x)
    face = pick_face(engine.detect(rgb), rgb.shape, pick)
    if face is None:
        raise FaceNotFoundError(f"{describe_source(x)}: no face found")
    return engine.analyze(rgb, [face])[0].embedding  # type: ignore[return-value]
