"""Naming a track: who its mean embedding is nearest to, and a name that changes only with evidence.

A track is embedded on a few of its best frames; after each new embedding its mean embedding is compared with the
known people (:class:`KnownPeople` from a folder, or a gallery) and :class:`TrackName` decides the name with
hysteresis:

* the first decision is taken as it is (the nearest person if within ``distance_threshold``, else unknown);
* an unknown track becomes a person only at ``distance_threshold - margin`` or closer;
* a named track keeps its name while its distance to that person stays within ``distance_threshold + margin``
  and no other person is nearer by more than ``margin``;
* and any change must be proposed by ``confirm`` decisions in a row (each on a new embedding) before it is made.

So a name never flickers from frame to frame: it can only change when new frames of the face say so, twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.types import UNKNOWN  # the name of a track that is nobody known

if TYPE_CHECKING:
    from facerec.gallery import Gallery
    from facerec.known import KnownPeople

__all__ = ["DEFAULT_NAME_CONFIRM", "DEFAULT_NAME_MARGIN", "UNKNOWN", "Candidates", "GalleryCandidates",
           "KnownCandidates", "TrackName"]


#: The hysteresis band around the threshold, in embedding distance (see the module docstring).
DEFAULT_NAME_MARGIN = 0.04

#: How many decisions in a row must propose a new name before a track's name changes.
DEFAULT_NAME_CONFIRM = 2

#: How many people a gallery lists per query (enough to know the distance to the current name).
_GALLERY_TOP_K = 5


class Candidates(Protocol):
    """The known people nearest to an embedding: ``[(name, distance), ...]``, nearest first, one per person."""

    def nearest(self, embedding: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
        ...


class KnownCandidates:
    """:class:`Candidates` from a folder of known people (:func:`facerec.batch.load_known_people`)."""

    def __init__(self, known: KnownPeople) -> None:
        self.known = known

    def nearest(self, embedding: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
        if len(self.known) == 0:
            return []
        distances = np.linalg.norm(self.known.embeddings - embedding[None, :], axis=1)
        best: dict[str, float] = {}
        for name, distance in zip(self.known.names, distances.tolist()):
            if distance < best.get(name, float("inf")):
                best[name] = float(distance)
        return sorted(best.items(), key=lambda item: item[1])


class GalleryCandidates:
    """:class:`Candidates` from a gallery (a person's distance is to their nearest sample).

    Args:
        gallery: an open gallery.
        model_id: the id of the model that makes the embeddings (:func:`facerec.gallery.model_id_for`); checked
            against the gallery's here.

    Raises:
        ModelMismatchError: the gallery holds another model's embeddings.
    """

    def __init__(self, gallery: Gallery, model_id: str) -> None:
        gallery.check_model(model_id)
        self.gallery = gallery
        self.model_id = model_id

    def nearest(self, embedding: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
        if self.gallery.model_id is None:  # nothing enrolled yet
            return []
        found = self.gallery.search(embedding[None, :], model_id=self.model_id, top_k=_GALLERY_TOP_K)[0]
        return [(m.name, float(m.distance)) for m in found]


@dataclass
class TrackName:
    """A track's name with hysteresis (rules: see the module docstring).

    Args:
        distance_threshold: the largest distance still called a person. Lower is stricter; 0.6 is typical.
        margin: the hysteresis band around the threshold (0.04 typical; 0 turns it off).
        confirm: decisions in a row needed to change a name (1: change at once).

    Attributes:
        name: the current name (``None`` before the first decision).
        distance: the distance from the mean embedding to the named person (to the nearest one when unknown);
            ``None`` when nobody is known.
        nearest: the nearest person whatever the distance (``None`` when nobody is known).
        changes: how many times the name changed after the first decision.
    """

    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD
    margin: float = DEFAULT_NAME_MARGIN
    confirm: int = DEFAULT_NAME_CONFIRM
    name: str | None = None
    distance: float | None = None
    nearest: str | None = None
    changes: int = 0
    _proposal: str | None = None
    _proposed: int = 0

    def __post_init__(self) -> None:
        if self.distance_threshold <= 0:
            raise ConfigurationError(f"distance_threshold must be > 0, got {self.distance_threshold}")
        if self.margin < 0:
            raise ConfigurationError(f"the name margin must be >= 0, got {self.margin}")
        if self.confirm < 1:
            raise ConfigurationError(f"confirm must be >= 1, got {self.confirm}")

    def decide(self, candidates: Sequence[tuple[str, float]]) -> str:
        """Take one decision from the people nearest to the track's mean embedding; returns the (new) name."""
        threshold, margin = self.distance_threshold, self.margin
        nearest, best = candidates[0] if candidates else (None, None)
        distances = dict(candidates)
        self.nearest = nearest
        if self.name is None:
            proposal = nearest if nearest is not None and best is not None and best <= threshold else UNKNOWN
            self._set(proposal, distances, best)
            return proposal
        if self.name == UNKNOWN:
            proposal = nearest if nearest is not None and best is not None and best <= threshold - margin \
                else UNKNOWN
        else:
            current = distances.get(self.name)
            holds = current is not None and best is not None and current <= threshold + margin \
                and (nearest == self.name or best >= current - margin)
            if holds:
                proposal = self.name
            else:
                proposal = nearest if nearest is not None and best is not None and best <= threshold else UNKNOWN
        if proposal == self.name:
            self._proposal, self._proposed = None, 0
        else:
            self._proposed = self._proposed + 1 if proposal == self._proposal else 1
            self._proposal = proposal
            if self._proposed >= self.confirm:
                self.changes += 1
                self._proposal, self._proposed = None, 0
                self.name = proposal
        self._set(self.name, distances, best)
        return self.name

    def _set(self, name: str, distances: dict[str, float], best: float | None) -> None:
        self.name = name
        self.distance = distances.get(name, best) if name != UNKNOWN else best
