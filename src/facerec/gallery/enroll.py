""":func:`enroll`: a folder of people (one sub-folder each) -> face samples in a gallery, one commit per photo."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.errors import ImageError
from facerec.files import bytes_sha256, find_images
from facerec.gallery.base import Gallery, model_id_for
from facerec.gallery.errors import GalleryError
from facerec.gallery.records import NewSample
from facerec.images import DEFAULT_MAX_PIXELS
from facerec.types import Box

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer

__all__ = ["CROP_SIZE_PX", "EnrollOutcome", "EnrollReport", "EnrollStatus", "enroll", "enroll_photo",
           "face_crop_jpeg", "file_sha256"]

#: The longer side of stored face crops, in pixels.
CROP_SIZE_PX = 112

#: What happened to one photo: ``enrolled`` (a sample was added), ``unchanged`` (its sample was stored already),
#: ``no_face``, ``several_faces`` (enrollment photos must show one face), ``unreadable`` (not an image), or
#: ``not_in_person_folder`` (a file directly in the people folder).
EnrollStatus = Literal["enrolled", "unchanged", "no_face", "several_faces", "unreadable", "not_in_person_folder"]


@dataclass(frozen=True)
class EnrollOutcome:
    """What :func:`enroll` did with one photo.

    Attributes:
        path: the photo.
        person: the person (sub-folder) it belongs to, or ``""``.
        status: see :data:`EnrollStatus`.
        sample_id: the stored sample (``enrolled`` and ``unchanged``), else ``None``.
        faces: how many faces were found (``None`` when not analysed).
        message: the reason in words, for skipped photos.
    """

    path: Path
    person: str
    status: EnrollStatus
    sample_id: int | None = None
    faces: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether the photo is in the gallery (newly or from before)."""
        return self.status in ("enrolled", "unchanged")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"file": str(self.path), "person": self.person, "status": self.status, "sample_id": self.sample_id,
                "faces": self.faces, "message": self.message}


@dataclass
class EnrollReport:
    """Every photo's :class:`EnrollOutcome`, in the order they were processed."""

    outcomes: list[EnrollOutcome] = field(default_factory=list)
    model_id: str = ""

    @property
    def enrolled(self) -> list[EnrollOutcome]:
        """Photos that added a sample."""
        return [o for o in self.outcomes if o.status == "enrolled"]

    @property
    def unchanged(self) -> list[EnrollOutcome]:
        """Photos whose sample was stored already."""
        return [o for o in self.outcomes if o.status == "unchanged"]

    @property
    def skipped(self) -> list[EnrollOutcome]:
        """Photos that were not used, with the reason in each outcome."""
        return [o for o in self.outcomes if not o.ok]

    def counts(self) -> dict[str, int]:
        """How many photos ended in each status."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"model": self.model_id, "counts": self.counts(), "files": [o.to_dict() for o in self.outcomes]}


#: The hex SHA-256 of a photo's bytes (what makes a sample unique together with person and box); the old name of
#: :func:`facerec.files.bytes_sha256`.
file_sha256 = bytes_sha256


def face_crop_jpeg(image_rgb: npt.NDArray[np.uint8], box: Box, *, size_px: int = CROP_SIZE_PX,
                   margin: float = 0.25, quality: int = 85) -> bytes:
    """A small JPEG of one face: the box grown by ``margin`` of its size on each side, shrunk to ``size_px``."""
    from PIL import Image

    height, width = image_rgb.shape[:2]
    grow_x, grow_y = int(box.width * margin), int(box.height * margin)
    grown = Box(box.left - grow_x, box.top - grow_y, box.right + grow_x, box.bottom + grow_y).clip(width, height)
    picture = Image.fromarray(image_rgb[grown.top:grown.bottom, grown.left:grown.right])
    picture.thumbnail((size_px, size_px))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def enroll(gallery: Gallery, people_dir: str | os.PathLike[str], analyzer: FaceAnalyzer | None = None, *,
           on_progress: Callable[[int, int, EnrollOutcome], None] | None = None, store_crops: bool = False,
           crop_size_px: int = CROP_SIZE_PX) -> EnrollReport:
    """Enroll a folder of people: ``people_dir/<name>/*.jpg`` -> one face sample per photo of ``<name>``.

    Each photo must show exactly one face; photos with none or several are skipped and reported. Each photo is
    committed on its own, so an interrupted run keeps every photo finished before it, and running it again adds
    only what is missing (a photo already stored, by content hash, is not even analysed again).

    Args:
        gallery: where to store the samples.
        people_dir: a folder with one sub-folder per person, named after the person; photos may sit in nested
            folders below a person's folder.
        analyzer: detects and embeds the faces (default: the shared analyzer with default options). Its model id
            (:func:`~facerec.gallery.base.model_id_for`) must match the gallery's.
        on_progress: called after each photo with ``(done, total, outcome)``.
        store_crops: also store a small JPEG crop of each face in the gallery (deleted with the person).
        crop_size_px: the crops' longer side.

    Returns:
        The per-photo outcomes.

    Raises:
        GalleryError: ``people_dir`` is not a folder.
        ModelMismatchError: the gallery holds embeddings of another model (checked before any work).

    Examples:
        >>> with open_gallery("people.sqlite") as gallery:                     # doctest: +SKIP
        ...     report = enroll(gallery, "photos/people")
        >>> report.counts()                                                    # doctest: +SKIP
        {'enrolled': 12, 'several_faces': 1}
    """
    from facerec.analyzer import get_analyzer

    root = Path(people_dir)
    if not root.is_dir():
        raise GalleryError(f"{root} is not a folder (expected one sub-folder of photos per person)")
    engine = analyzer or get_analyzer()
    model_id = model_id_for(engine)
    gallery.check_model(model_id)
    files = find_images([root])
    report = EnrollReport(model_id=model_id)
    for done, path in enumerate(files, start=1):
        outcome = _enroll_one(gallery, engine, root, path, model_id, store_crops, crop_size_px)
        report.outcomes.append(outcome)
        if on_progress is not None:
            on_progress(done, len(files), outcome)
    return report


def _enroll_one(gallery: Gallery, engine: FaceAnalyzer, root: Path, path: Path, model_id: str, store_crops: bool,
                crop_size_px: int) -> EnrollOutcome:
    relative = path.relative_to(root)
    if len(relative.parts) < 2:
        return EnrollOutcome(path, "", "not_in_person_folder",
                             message="photos must sit in a sub-folder named after the person")
    name = relative.parts[0]
    try:
        data = path.read_bytes()
    except OSError as exc:
        return EnrollOutcome(path, name, "unreadable", message=f"cannot read: {exc.strerror or exc}")
    return enroll_photo(gallery, name, data, analyzer=engine, source=path, model_id=model_id,
                        store_crops=store_crops, crop_size_px=crop_size_px)


def enroll_photo(gallery: Gallery, name: str, data: bytes, *, analyzer: FaceAnalyzer | None = None,
                 source: str | os.PathLike[str] = "<upload>", model_id: str | None = None, store_crops: bool = False,
                 crop_size_px: int = CROP_SIZE_PX, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> EnrollOutcome:
    """Enroll one photo (its encoded bytes) as a face sample of person ``name``: what :func:`enroll` does with each
    file, for photos that come from elsewhere (an upload to ``facerec serve``).

    The photo must show exactly one face; the person is created with their first sample, in one transaction.
    A photo stored already for that person (same content hash) is ``unchanged`` and not analysed again.

    Args:
        gallery: where to store the sample.
        name: the person.
        data: the photo's file content.
        analyzer: detects and embeds (default: the shared analyzer with default options).
        source: where the photo came from, as recorded in the sample.
        model_id: the analyzer's model id when known already (see :func:`model_id_for`).
        store_crops: also store a small JPEG crop of the face.
        crop_size_px: the crop's longer side.
        max_pixels: refuse photos with more pixels than this (``unreadable``).

    Returns:
        The photo's outcome (``enrolled``, ``unchanged``, ``no_face``, ``several_faces`` or ``unreadable``).

    Raises:
        ModelMismatchError: the gallery holds embeddings of another model.
    """
    from facerec.analyzer import get_analyzer
    from facerec.images import load_image

    engine = analyzer or get_analyzer()
    model_id = model_id or model_id_for(engine)
    path = Path(source)
    sha = file_sha256(data)
    person = gallery.find_person(name)
    if person is not None and gallery.has_source(person, sha):
        stored = [s.id for s in gallery.samples_of(person) if s.source_sha256 == sha]
        return EnrollOutcome(path, name, "unchanged", sample_id=stored[0] if stored else None, faces=1)
    try:
        rgb = load_image(data, max_pixels=max_pixels)
    except ImageError as exc:
        return EnrollOutcome(path, name, "unreadable", message=exc.reason)
    faces = engine.analyze(rgb)
    if not faces:
        return EnrollOutcome(path, name, "no_face", faces=0, message="no face found")
    if len(faces) > 1:
        return EnrollOutcome(path, name, "several_faces", faces=len(faces),
                             message=f"{len(faces)} faces found; enrollment photos must show one face")
    face = faces[0]
    if face.embedding is None:  # pragma: no cover - analyze always embeds
        return EnrollOutcome(path, name, "no_face", faces=0, message="no embedding")
    crop = face_crop_jpeg(rgb, face.box, size_px=crop_size_px) if store_crops else None
    sample = NewSample(embedding=face.embedding, source=str(source), source_sha256=sha, box=face.box,
                       score=float(face.score), crop_jpeg=crop)
    # the person is created in the same transaction as the first sample: a killed run leaves no empty person
    (sample_id,) = gallery.add_samples(person or name, [sample], model_id=model_id, create_person=True)
    return EnrollOutcome(path, name, "enrolled", sample_id=sample_id, faces=1)
