"""The gallery's records: :class:`Person`, :class:`Sample`, :class:`NewSample`, :class:`Match`, :class:`EmbeddingTable`,
and the checks every backend applies to what it stores. The floor under the :class:`~facerec.gallery.base.Gallery`
interface, its search engine and its backends: it imports nothing of theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.identification import Candidate
from facerec.nearest import EMBEDDING_DIM
from facerec.types import Box

__all__ = [
    "EMBEDDING_DIM",
    "EmbeddingTable",
    "Match",
    "NewSample",
    "Person",
    "PersonRef",
    "Sample",
    "box_from_text",
    "box_to_text",
    "check_embedding",
    "check_metadata",
    "check_name",
]

#: A person given by id (``int``), by name (``str``) or as a :class:`Person` record.
PersonRef = Union[int, str, "Person"]

@dataclass(frozen=True)
class Person:
    """One person of a gallery.

    Attributes:
        id: the gallery's id for the person (never reused).
        name: unique within the gallery.
        metadata: free JSON-ready data (an employee number, a note, ...).
        created: when the person was added (UTC).
        sample_count: how many face samples the person has.
    """

    id: int
    name: str
    metadata: dict[str, Any]
    created: datetime
    sample_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"id": self.id, "name": self.name, "metadata": self.metadata, "created": self.created.isoformat(),
                "samples": self.sample_count}


@dataclass(frozen=True, eq=False)
class NewSample:
    """A face sample to add (see :meth:`Gallery.add_samples`).

    Attributes:
        embedding: ``(128,)`` float32 embedding.
        source: the file it came from, or ``None``; stored as :func:`facerec.filenames.display_path` text
            (bytes of the name that are not UTF-8 as ``\\xNN``).
        source_sha256: the hex SHA-256 of that file. Together with the person and the box it makes a sample unique,
            so adding the same face of the same file twice keeps one sample; ``None`` disables that check.
        box: where the face is in the source image.
        score: the detector's score (higher is more confident).
        crop_jpeg: a small JPEG of the face, stored only when given.
    """

    embedding: npt.NDArray[np.float32]
    source: str | None = None
    source_sha256: str | None = None
    box: Box | None = None
    score: float | None = None
    crop_jpeg: bytes | None = None


@dataclass(frozen=True, eq=False)
class Sample:
    """A stored face sample.

    Attributes:
        id: the gallery's id for the sample (never reused).
        person_id: whose face it is.
        embedding: ``(128,)`` float32 embedding.
        source, source_sha256, box, score: as given at :meth:`Gallery.add_samples`.
        model: the model id that made the embedding.
        created: when it was added (UTC).
        has_crop: whether a JPEG crop of the face is stored (:meth:`Gallery.get_crop`).
    """

    id: int
    person_id: int
    embedding: npt.NDArray[np.float32]
    source: str | None
    source_sha256: str | None
    box: Box | None
    score: float | None
    model: str
    created: datetime
    has_crop: bool = False

    def to_dict(self, *, with_embedding: bool = False) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        out: dict[str, Any] = {
            "id": self.id, "person_id": self.person_id, "source": self.source, "source_sha256": self.source_sha256,
            "box": self.box.to_dict() if self.box else None, "score": self.score, "model": self.model,
            "created": self.created.isoformat(), "has_crop": self.has_crop}
        if with_embedding:
            out["embedding"] = [float(v) for v in self.embedding]
        return out


#: One candidate person for a searched face: :class:`facerec.identification.Candidate`, under the gallery's name.
Match = Candidate


@dataclass(frozen=True, eq=False)
class EmbeddingTable:
    """Embeddings in bulk, aligned by row: ``sample_ids[i]`` of ``person_ids[i]`` has ``vectors[i]``."""

    sample_ids: npt.NDArray[np.int64]
    person_ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32] = field(repr=False)

    def __len__(self) -> int:
        return len(self.sample_ids)


def box_to_text(box: Box | None) -> str:
    """A box as the text stored in a gallery (``""`` for no box)."""
    return "" if box is None else f"{box.left},{box.top},{box.right},{box.bottom}"


def box_from_text(text: str | None) -> Box | None:
    """The inverse of :func:`box_to_text`."""
    if not text:
        return None
    left, top, right, bottom = (int(v) for v in text.split(","))
    return Box(left, top, right, bottom)


def check_embedding(vector: Any, what: str = "embedding") -> npt.NDArray[np.float32]:
    """``vector`` as a finite ``(128,)`` float32 array, or :class:`ConfigurationError`."""
    arr = np.ascontiguousarray(vector, dtype=np.float32)
    if arr.shape != (EMBEDDING_DIM,):
        raise ConfigurationError(f"{what} must have shape ({EMBEDDING_DIM},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ConfigurationError(f"{what} holds NaN or infinite values")
    return arr


def check_metadata(metadata: dict[str, Any] | None) -> str:
    """``metadata`` as JSON text, or :class:`ConfigurationError` when it is not a JSON-ready dict."""
    if metadata is None:
        return "{}"
    if not isinstance(metadata, dict):
        raise ConfigurationError(f"person metadata must be a dict, got {type(metadata).__name__}")
    try:
        return json.dumps(metadata, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"person metadata is not JSON-ready: {exc}") from exc


def check_name(name: str) -> str:
    """A person's name, stripped; :class:`ConfigurationError` when empty."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"a person's name must be a non-empty string, got {name!r}")
    return name.strip()
