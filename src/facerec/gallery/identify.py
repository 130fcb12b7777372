""":func:`identify`: who is each face of a photo, among the people of a gallery?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.gallery.base import Gallery, Match, model_id_for
from facerec.gallery.errors import GalleryError
from facerec.metric import DEFAULT_COMPARISON, Comparison, LearnedMetric, resolve_comparison
from facerec.types import Face

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.images import ImageInput

__all__ = ["RERANK_PEOPLE", "UNKNOWN", "Identification", "identify"]

#: With a learned comparison, how many people the Euclidean search proposes per face before every sample of
#: theirs is re-scored with the learned distance.
RERANK_PEOPLE = 25

#: The name given to a face whose nearest person is farther than the distance threshold.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Identification:
    """The answer for one face.

    Attributes:
        name: the nearest person's name when within the threshold, else :data:`UNKNOWN`.
        person_id: that person's id, or ``None`` when unknown.
        distance: distance to the nearest person (known or not); ``None`` when the gallery is empty.
        candidates: the ``top_k`` nearest people, nearest first, whatever their distance.
        face: the face (box, score, embedding), or ``None`` when a bare embedding was given.
        threshold: the distance threshold used (lower is stricter).
    """

    name: str
    person_id: int | None
    distance: float | None
    candidates: list[Match] = field(default_factory=list)
    face: Face | None = None
    threshold: float = DEFAULT_DISTANCE_THRESHOLD

    @property
    def known(self) -> bool:
        """Whether the face was matched to a person."""
        return self.person_id is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (without the embedding)."""
        out: dict[str, Any] = {"name": self.name, "person_id": self.person_id, "distance": self.distance,
                               "threshold": self.threshold, "candidates": [c.to_dict() for c in self.candidates]}
        if self.face is not None:
            out["box"] = self.face.box.to_dict()
            out["score"] = float(self.face.score)
        return out


def _embeddings_of(image_or_faces: Any, engine: FaceAnalyzer) -> tuple[list[Face | None], np.ndarray]:
    if isinstance(image_or_faces, Face):
        image_or_faces = [image_or_faces]
    if isinstance(image_or_faces, np.ndarray) and image_or_faces.ndim in (1, 2) \
            and image_or_faces.shape[-1] == 128 and np.issubdtype(image_or_faces.dtype, np.floating):
        vectors = np.asarray(image_or_faces, dtype=np.float32).reshape(-1, 128)
        return [None] * len(vectors), vectors
    if isinstance(image_or_faces, Sequence) and not isinstance(image_or_faces, (str, bytes, bytearray)) \
            and all(isinstance(f, Face) for f in image_or_faces):
        faces: list[Face] = list(image_or_faces)
    else:
        faces = engine.analyze(image_or_faces)
    missing = [i for i, f in enumerate(faces) if f.embedding is None]
    if missing:
        raise ConfigurationError(f"faces {missing} carry no embedding; pass faces from FaceAnalyzer.analyze")
    vectors = np.stack([f.embedding for f in faces if f.embedding is not None]) if faces \
        else np.zeros((0, 128), dtype=np.float32)
    return list(faces), vectors.astype(np.float32)


def identify(gallery: Gallery, image_or_faces: ImageInput | Face | Sequence[Face] | np.ndarray, *,
             analyzer: FaceAnalyzer | None = None, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
             top_k: int = 3, comparison: Comparison | LearnedMetric | None = DEFAULT_COMPARISON,
             ) -> list[Identification]:
    """Name every face of a photo with the nearest person of ``gallery``, or :data:`UNKNOWN`.

    A person's distance is the distance to their nearest sample; a face is called the nearest person when that
    distance is at most ``distance_threshold``.

    Args:
        gallery: the people to search.
        image_or_faces: a photo (anything :func:`facerec.load_image` reads), faces from
            :meth:`FaceAnalyzer.analyze`, or ``(n, 128)`` embeddings. Faces and embeddings are taken to come from
            ``analyzer``'s model.
        analyzer: detects and embeds (default: the shared analyzer with default options); its model must be the
            gallery's.
        distance_threshold: the largest distance still called a match. Lower is stricter; 0.6 is typical.
        top_k: how many candidate people to list per face.
        comparison: ``"euclidean"`` (default), ``"learned"`` (the map shipped with facerec), ``"auto"`` (that
            map when it was fitted for the analyzer's model) or a fitted :class:`~facerec.metric.LearnedMetric`.
            With a learned one, the gallery's Euclidean search proposes the :data:`RERANK_PEOPLE` nearest people
            and all their samples are re-scored; stored embeddings stay raw.

    Returns:
        One :class:`Identification` per face, in the order of the faces.

    Raises:
        ModelMismatchError: the gallery holds embeddings of another model (checked before analysing the photo).
        ConfigurationError: ``distance_threshold`` or ``top_k`` is out of range.

    Examples:
        >>> with open_gallery("people.sqlite") as gallery:                     # doctest: +SKIP
        ...     [(i.name, round(i.distance, 2)) for i in identify(gallery, "party.jpg")]
        [('alice', 0.38), ('unknown', 0.71)]
    """
    if distance_threshold <= 0:
        raise ConfigurationError(f"distance_threshold must be > 0, got {distance_threshold}")
    if top_k < 1:
        raise ConfigurationError(f"top_k must be >= 1, got {top_k}")
    from facerec.api import get_analyzer

    engine = analyzer or get_analyzer()
    model_id = model_id_for(engine)
    gallery.check_model(model_id)
    faces, vectors = _embeddings_of(image_or_faces, engine)
    if len(vectors) == 0:
        return []
    metric = resolve_comparison(comparison, model_id)
    if gallery.model_id is None:  # nothing enrolled yet
        matches: list[list[Match]] = [[] for _ in range(len(vectors))]
    elif metric is None:
        matches = gallery.search(vectors, model_id=model_id, top_k=top_k)
    else:
        matches = _learned_search(gallery, vectors, model_id, top_k, metric)
    out = []
    for face, found in zip(faces, matches):
        best = found[0] if found else None
        known = best is not None and best.distance <= distance_threshold
        out.append(Identification(
            name=best.name if known and best else UNKNOWN, person_id=best.person_id if known and best else None,
            distance=best.distance if best else None, candidates=found, face=face,
            threshold=float(distance_threshold)))
    return out


def _learned_search(gallery: Gallery, vectors: np.ndarray, model_id: str, top_k: int,
                    metric: LearnedMetric) -> list[list[Match]]:
    """Euclidean candidates, re-ranked by the learned distance to every sample of each candidate person."""
    proposed = gallery.search(vectors, model_id=model_id, top_k=max(top_k, RERANK_PEOPLE))
    names = {m.person_id: m.name for found in proposed for m in found}
    if not names:
        return [[] for _ in proposed]
    sample_ids, person_ids = gallery.sample_people()
    keep = np.isin(person_ids, np.fromiter(names, dtype=np.int64))
    sample_ids, person_ids = sample_ids[keep], person_ids[keep]
    raw = gallery.embeddings_for(sample_ids.tolist())
    if len(raw) != len(sample_ids):
        raise GalleryError("the gallery changed during the search (samples removed); search again")
    mapped = metric.transform(raw)
    queries = metric.transform(vectors)
    out = []
    for query, found in zip(queries, proposed):
        candidates = np.isin(person_ids, np.fromiter((m.person_id for m in found), dtype=np.int64))
        distances = np.linalg.norm(mapped[candidates] - query, axis=1)
        order = np.argsort(distances, kind="stable")
        best: dict[int, Match] = {}
        for i in order:
            pid = int(person_ids[candidates][i])
            if pid not in best:
                best[pid] = Match(person_id=pid, name=names[pid], distance=float(distances[i]),
                                  sample_id=int(sample_ids[candidates][i]))
                if len(best) == top_k:
                    break
        out.append(list(best.values()))
    return out
