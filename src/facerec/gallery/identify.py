""":func:`identify`: who is each face of a photo, among the people of a gallery?"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.gallery.base import Gallery, model_id_for
from facerec.gallery.errors import GalleryError
from facerec.gallery.records import Match
from facerec.identification import Identification, check_identify_options, faces_and_embeddings, name_faces
from facerec.metric import DEFAULT_COMPARISON, Comparison, LearnedMetric, resolve_comparison
from facerec.types import UNKNOWN, Face

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.images import ImageInput

__all__ = ["RERANK_PEOPLE", "UNKNOWN", "Identification", "identify"]

#: With a learned comparison, how many people the Euclidean search proposes per face before every sample of
#: theirs is re-scored with the learned distance.
RERANK_PEOPLE = 25


def identify(gallery: Gallery, image_or_faces: ImageInput | Face | Sequence[Face] | np.ndarray, *,
             analyzer: FaceAnalyzer | None = None, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
             top_k: int = 3, probability: Callable[[float], float] | None = None,
             comparison: Comparison | LearnedMetric | None = DEFAULT_COMPARISON) -> list[Identification]:
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
        distance_threshold: the largest distance still called a match. Lower is stricter; 0.58 is the default,
            equal to face_recognition's 0.6 false-accept rate with flip averaging. Against a gallery a stranger
            has one chance per enrolled photo: :func:`facerec.thresholds.strangers_accepted` estimates the
            share named, :func:`facerec.thresholds.threshold_for_strangers` the threshold for a target.
        top_k: how many candidate people to list per face.
        probability: ``P(same | distance)`` (e.g. ``Calibration.probability``) to attach to each answer.
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
    check_identify_options(distance_threshold, top_k)
    from facerec.analyzer import get_analyzer

    engine = analyzer or get_analyzer()
    model_id = model_id_for(engine)
    gallery.check_model(model_id)
    faces, vectors = faces_and_embeddings(image_or_faces, engine)
    if len(vectors) == 0:
        return []
    metric = resolve_comparison(comparison, model_id)
    if gallery.model_id is None:  # nothing enrolled yet
        matches: list[list[Match]] = [[] for _ in range(len(vectors))]
    elif metric is None:
        matches = gallery.search(vectors, model_id=model_id, top_k=top_k)
    else:
        matches = _learned_search(gallery, vectors, model_id, top_k, metric)
    return name_faces(matches, faces, distance_threshold=distance_threshold, probability=probability)


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
        ids, people = sample_ids[candidates], person_ids[candidates]
        distances = np.linalg.norm(mapped[candidates] - query, axis=1)
        best: dict[int, Match] = {}
        for i in np.argsort(distances, kind="stable"):
            pid = int(people[i])
            if pid not in best:
                best[pid] = Match(person_id=pid, name=names[pid], distance=float(distances[i]),
                                  sample_id=int(ids[i]))
                if len(best) == top_k:
                    break
        out.append(list(best.values()))
    return out
