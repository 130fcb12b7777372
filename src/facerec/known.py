"""Known people for ``facerec identify --known``: a folder of photos, embedded on every run, searched exactly like
a gallery and answering with the same :class:`~facerec.identification.Identification`.

Two layouts are understood, and may be mixed (:func:`known_people_files`): ``known/<name>.jpg`` (one photo of
``name``) and ``known/<name>/*.jpg`` (several). :func:`facerec.batch.load_known_people` embeds them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.files import IMAGE_SUFFIXES, find_images
from facerec.identification import (
    Candidate,
    Identification,
    check_identify_options,
    faces_and_embeddings,
    name_faces,
)
from facerec.nearest import ExactSearch
from facerec.types import UNKNOWN, Face

__all__ = ["KnownPeople", "Match", "known_people_files"]


@dataclass(frozen=True)
class Match:
    """Who a face is, in the short form of :meth:`KnownPeople.match` (kept for that method's callers; everything
    else answers with :class:`~facerec.identification.Identification`).

    Attributes:
        name: the nearest known person's name when within the threshold, else :data:`UNKNOWN`.
        distance: the distance to the nearest known face (lower is more alike), or ``None`` when nobody is known.
        nearest: the nearest known person's name even when farther than the threshold (``None`` when nobody is
            known).
    """

    name: str
    distance: float | None
    nearest: str | None

    @property
    def known(self) -> bool:
        """Whether the face was matched to a known person."""
        return self.name != UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distance": self.distance, "nearest": self.nearest}


@dataclass(frozen=True, eq=False)
class KnownPeople:
    """Embeddings of known people, one row per enrolled photo (a person may have several).

    Attributes:
        names: the person of each row.
        embeddings: ``(n, 128)`` float32 array.
        sources: the photo each row came from.
    """

    names: tuple[str, ...]
    embeddings: npt.NDArray[np.float32]
    sources: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if self.embeddings.shape != (len(self.names), 128):
            raise ConfigurationError(f"known embeddings must have shape ({len(self.names)}, 128), "
                                     f"got {self.embeddings.shape}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def people(self) -> list[str]:
        """The distinct names, sorted."""
        return sorted(set(self.names))

    def _search(self) -> ExactSearch:
        """The gallery's exact search over these rows (row ``i`` is sample ``i`` of person ``people.index``)."""
        search = self.__dict__.get("_exact")
        if search is None:
            index = {name: i for i, name in enumerate(self.people)}
            search = ExactSearch(np.arange(len(self.names), dtype=np.int64),
                                 np.asarray([index[n] for n in self.names], dtype=np.int64), self.embeddings)
            object.__setattr__(self, "_exact", search)
        return search

    def identify(self, faces: Sequence[Face] | npt.NDArray[np.float32], *,
                 distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD, top_k: int = 1,
                 probability: Callable[[float], float] | None = None) -> list[Identification]:
        """Name faces (with embeddings) or ``(n, 128)`` embeddings with the nearest known person, or ``unknown``.

        The same answer as a gallery's (:func:`facerec.gallery.identify`): a person's distance is the distance to
        their nearest photo, searched exactly.

        Args:
            faces: faces from :meth:`FaceAnalyzer.analyze`, or embeddings.
            distance_threshold: the largest distance still called a match. Lower is stricter; 0.58 is the default
                (face_recognition's 0.6 false-accept rate with flip averaging).
            top_k: how many candidate people to list per face.
            probability: ``P(same | distance)`` (e.g. ``Calibration.probability``) to attach to each answer.
        """
        check_identify_options(distance_threshold, top_k)
        found, vectors = faces_and_embeddings(faces, None)
        people = self.people
        ranked = self._search().search(vectors, top_k) if len(vectors) else []
        candidates = [[Candidate(person_id=pid, name=people[pid], distance=dist, sample_id=sid)
                       for sid, pid, dist in row] for row in ranked]
        return name_faces(candidates, found, distance_threshold=distance_threshold, probability=probability)

    def match(self, embedding: npt.NDArray[np.float32],
              distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD) -> Match:
        """The known person nearest to ``embedding`` (:meth:`identify` of one embedding, in short).

        Args:
            embedding: one ``(128,)`` embedding.
            distance_threshold: the largest distance still called a match. Lower is stricter; 0.58 is the default
                (face_recognition's 0.6 false-accept rate with flip averaging).
        """
        (answer,) = self.identify(np.asarray(embedding, dtype=np.float32).reshape(1, 128),
                                  distance_threshold=distance_threshold)
        return Match(answer.name, answer.distance, answer.nearest)


def known_people_files(folder: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """The ``(name, photo)`` pairs of a known-people folder.

    Two layouts are understood, and may be mixed: an image file directly in ``folder`` is one photo of the person
    named by its file stem (``known/barack_obama.jpg``), and a sub-folder holds any number of photos of the person
    named by the sub-folder (``known/barack_obama/*.jpg``, searched recursively).

    Raises:
        ConfigurationError: ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigurationError(f"known people folder {os.fspath(folder)!r} is not a folder")
    pairs: list[tuple[str, Path]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            pairs.extend((entry.name, photo) for photo in find_images([entry]))
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            pairs.append((entry.stem, entry))
    return pairs
