"""One answer to "who is this face?", whoever is asked.

A *known set* -- a gallery (:func:`facerec.gallery.identify`), a folder of known people (``--known``:
:class:`facerec.batch.KnownPeople`, searched by the gallery's exact search engine) -- ranks its people for each
face: a list of :class:`Candidate` (each person's nearest sample, nearest first). :func:`name_faces` turns those
lists into one :class:`Identification` per face with the same rule everywhere: the nearest person's name when the
distance is at most the threshold, else :data:`~facerec.types.UNKNOWN`.

Examples:
    >>> ann = Candidate(person_id=1, name="ann", distance=0.41, sample_id=7)
    >>> bo = Candidate(person_id=2, name="bo", distance=0.72, sample_id=9)
    >>> near, far = name_faces([[ann, bo], [bo]], distance_threshold=0.6)
    >>> (near.name, near.known, near.nearest), (far.name, far.known, far.nearest)
    (('ann', True, 'ann'), ('unknown', False, 'bo'))
    >>> name_faces([[]])[0].to_dict()["distance"] is None      # nobody known: unknown, no distance
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.types import UNKNOWN, Face

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer

__all__ = ["Candidate", "Identification", "check_identify_options", "faces_and_embeddings", "name_faces"]


@dataclass(frozen=True)
class Candidate:
    """One candidate person for a searched face (the gallery calls it :class:`facerec.gallery.Match`).

    Attributes:
        person_id: the person's id in the known set.
        name: the person's name.
        distance: Euclidean distance from the query to the person's nearest sample (lower is more alike).
        sample_id: that nearest sample.
    """

    person_id: int
    name: str
    distance: float
    sample_id: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"person_id": self.person_id, "name": self.name, "distance": self.distance,
                "sample_id": self.sample_id}


@dataclass(frozen=True)
class Identification:
    """The answer for one face.

    Attributes:
        name: the nearest person's name when within the threshold, else :data:`~facerec.types.UNKNOWN`.
        person_id: that person's id, or ``None`` when unknown.
        distance: distance to the nearest person (known or not); ``None`` when nobody is known.
        candidates: the nearest people, nearest first, whatever their distance.
        face: the face (box, score, embedding), or ``None`` when a bare embedding was given.
        threshold: the distance threshold used (lower is stricter).
        probability: ``P(same person | distance)`` of the nearest person from a calibration, when one was given.
    """

    name: str
    person_id: int | None
    distance: float | None
    candidates: list[Candidate] = field(default_factory=list)
    face: Face | None = None
    threshold: float = DEFAULT_DISTANCE_THRESHOLD
    probability: float | None = None

    @property
    def known(self) -> bool:
        """Whether the face was matched to a person."""
        return self.person_id is not None

    @property
    def nearest(self) -> str | None:
        """The nearest person's name even when farther than the threshold (``None`` when nobody is known)."""
        return self.candidates[0].name if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (without the embedding; ``probability`` only when there is one)."""
        out: dict[str, Any] = {"name": self.name, "person_id": self.person_id, "distance": self.distance,
                               "threshold": self.threshold, "candidates": [c.to_dict() for c in self.candidates]}
        if self.probability is not None:
            out["probability"] = self.probability
        if self.face is not None:
            out["box"] = self.face.box.to_dict()
            out["score"] = float(self.face.score)
        return out


def check_identify_options(distance_threshold: float, top_k: int = 1) -> None:
    """Raise :class:`~facerec.errors.ConfigurationError` for a threshold that is not positive or ``top_k`` < 1."""
    if distance_threshold <= 0:
        raise ConfigurationError(f"distance_threshold must be > 0, got {distance_threshold}")
    if top_k < 1:
        raise ConfigurationError(f"top_k must be >= 1, got {top_k}")


def name_faces(candidates: Sequence[Sequence[Candidate]], faces: Sequence[Face | None] | None = None, *,
               distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
               probability: Callable[[float], float] | None = None) -> list[Identification]:
    """One :class:`Identification` per face from each face's ranked candidates.

    Args:
        candidates: per face, the candidate people nearest first (empty when nobody is known).
        faces: the faces, in the same order (``None``: bare embeddings were searched).
        distance_threshold: the largest distance still called a match. Lower is stricter; 0.58 is the default
            (face_recognition's 0.6 false-accept rate with flip averaging).
        probability: ``P(same | distance)`` from a calibration, applied to the nearest person's distance.
    """
    check_identify_options(distance_threshold)
    out = []
    for i, found in enumerate(candidates):
        best = found[0] if found else None
        known = best is not None and best.distance <= distance_threshold
        out.append(Identification(
            name=best.name if best is not None and known else UNKNOWN,
            person_id=best.person_id if best is not None and known else None,
            distance=best.distance if best is not None else None, candidates=list(found),
            face=faces[i] if faces is not None else None, threshold=float(distance_threshold),
            probability=None if probability is None or best is None else float(probability(best.distance))))
    return out


def faces_and_embeddings(image_or_faces: Any, engine: FaceAnalyzer | None,
                         ) -> tuple[list[Face | None], npt.NDArray[np.float32]]:
    """The faces to name and their ``(n, 128)`` embeddings, from a photo (analysed with ``engine``), faces from
    :meth:`FaceAnalyzer.analyze`, one face, or bare embeddings (then the faces are ``None``).

    Raises:
        ConfigurationError: a given face carries no embedding.
    """
    if isinstance(image_or_faces, Face):
        image_or_faces = [image_or_faces]
    if isinstance(image_or_faces, np.ndarray) and image_or_faces.ndim in (1, 2) \
            and image_or_faces.shape[-1] == 128 and np.issubdtype(image_or_faces.dtype, np.floating):
        vectors = np.asarray(image_or_faces, dtype=np.float32).reshape(-1, 128)
        return [None] * len(vectors), vectors
    if isinstance(image_or_faces, Sequence) and not isinstance(image_or_faces, (str, bytes, bytearray)) \
            and all(isinstance(f, Face) for f in image_or_faces):
        faces: list[Face] = list(image_or_faces)
    elif engine is not None:
        faces = engine.analyze(image_or_faces)
    else:
        raise ConfigurationError("give faces with embeddings, or (n, 128) embeddings")
    missing = [i for i, f in enumerate(faces) if f.embedding is None]
    if missing:
        raise ConfigurationError(f"faces {missing} carry no embedding; pass faces from FaceAnalyzer.analyze")
    vectors = np.stack([f.embedding for f in faces if f.embedding is not None]) if faces \
        else np.zeros((0, 128), dtype=np.float32)
    return list(faces), vectors.astype(np.float32)
