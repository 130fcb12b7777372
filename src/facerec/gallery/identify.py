""":func:`identify`: who is each face of a photo, among the people of a gallery?"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.gallery.base import Gallery, model_id_for
from facerec.gallery.records import Match
from facerec.identification import Identification, check_identify_options, faces_and_embeddings, name_faces
from facerec.types import UNKNOWN, Face

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.images import ImageInput

__all__ = ["UNKNOWN", "Identification", "identify"]


def identify(gallery: Gallery, image_or_faces: ImageInput | Face | Sequence[Face] | np.ndarray, *,
             analyzer: FaceAnalyzer | None = None, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
             top_k: int = 3, probability: Callable[[float], float] | None = None) -> list[Identification]:
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
    if gallery.model_id is None:  # nothing enrolled yet
        matches: list[list[Match]] = [[] for _ in range(len(vectors))]
    else:
        matches = gallery.search(vectors, model_id=model_id, top_k=top_k)
    return name_faces(matches, faces, distance_threshold=distance_threshold, probability=probability)
