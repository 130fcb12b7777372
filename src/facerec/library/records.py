"""What a photo library stores and passes around: photos to index, what indexing one photo gave, stored faces.

A *photo library* (see :mod:`facerec.library`) keeps every face of every photo, not only the faces of enrolled
people. These records are plain frozen dataclasses so that they cross process boundaries (worker processes, Ray
actors) by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import FacerecError
from facerec.types import Box

__all__ = ["ClusterSummary", "IndexedFace", "LibraryError", "PhotoResult", "PhotoTask", "StoredFace"]


class LibraryError(FacerecError):
    """A photo library cannot be opened, read or changed as asked (the message names it and why)."""


@dataclass(frozen=True)
class PhotoTask:
    """One photo to index.

    Attributes:
        path: the file, as found.
        sha256: the hex SHA-256 of its bytes when the driver read it (the worker checks it again).
        size_bytes: its size when listed.
        mtime_ns: its modification time when listed (with the size, the cheap test of "unchanged" on a re-run).
    """

    path: str
    sha256: str
    size_bytes: int
    mtime_ns: int


@dataclass(frozen=True, eq=False)
class IndexedFace:
    """One face found in a photo.

    Attributes:
        box: where it is, in the photo's pixels (after EXIF rotation).
        score: the detector's score (higher is more confident).
        embedding: ``(128,)`` float32.
        crop_jpeg: a small JPEG thumbnail of the face.
    """

    box: Box
    score: float
    embedding: npt.NDArray[np.float32] = field(repr=False)
    crop_jpeg: bytes = field(repr=False)


@dataclass(frozen=True, eq=False)
class PhotoResult:
    """What indexing one photo gave: its faces, or why it failed.

    Attributes:
        path, size_bytes, mtime_ns: as in the :class:`PhotoTask`.
        sha256: the hex SHA-256 of the bytes the worker analysed (``None`` when the file could not be read).
        width, height: the image's size after EXIF rotation (``0`` when it could not be decoded).
        faces: every face found (empty for a photo without faces).
        error: why the photo failed (``None`` when it did not).
    """

    path: str
    sha256: str | None
    size_bytes: int
    mtime_ns: int
    width: int = 0
    height: int = 0
    faces: tuple[IndexedFace, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the photo was analysed."""
        return self.error is None


@dataclass(frozen=True)
class StoredFace:
    """A face as the library keeps it.

    Attributes:
        id: the library's id for the face (never reused).
        photo_id: the photo it is in.
        path: that photo's file.
        box: where the face is in the photo.
        score: the detector's score.
        cluster_id: the cluster (group of faces thought to be one person) it belongs to, or ``None``.
        person_id: the gallery person its cluster was named as, or ``None``.
    """

    id: int
    photo_id: int
    path: str
    box: Box
    score: float | None
    cluster_id: int | None
    person_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"id": self.id, "photo_id": self.photo_id, "path": self.path, "box": self.box.to_dict(),
                "score": self.score, "cluster_id": self.cluster_id, "person_id": self.person_id}


@dataclass(frozen=True)
class ClusterSummary:
    """A cluster of faces: its size and whom it was named as.

    Attributes:
        id: the cluster's id.
        size: how many faces it holds.
        person_id: the gallery person it was named as (``None``: not named yet).
        face_ids: a few of its faces (the most confident detections first), to show.
    """

    id: int
    size: int
    person_id: int | None
    face_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"id": self.id, "size": self.size, "person_id": self.person_id, "face_ids": list(self.face_ids)}
