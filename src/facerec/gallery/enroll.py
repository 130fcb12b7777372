""":func:`enroll`: a folder of people (one sub-folder each) -> face samples in a gallery, one commit per photo."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.errors import ImageError
from facerec.filenames import display_path, display_text
from facerec.files import bytes_sha256, find_images
from facerec.gallery.base import Gallery, model_id_for
from facerec.gallery.errors import GalleryError
from facerec.gallery.records import NewSample
from facerec.images import DEFAULT_MAX_PIXELS
from facerec.types import Box

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.batch import BatchProcessor, FileResult

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
        message: the reason in words, for skipped photos; notes such as "has 3 frames; only the first is used"
            for enrolled ones.
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
        return {"file": display_path(self.path), "person": self.person, "status": self.status,
                "sample_id": self.sample_id, "faces": self.faces, "message": self.message}


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
           crop_size_px: int = CROP_SIZE_PX, batch: BatchProcessor | None = None) -> EnrollReport:
    """Enroll a folder of people: ``people_dir/<name>/*.jpg`` -> one face sample per photo of ``<name>``.

    Each photo must show exactly one face; photos with none or several are skipped and reported. Each photo is
    committed on its own, so an interrupted run keeps every photo finished before it, and running it again adds
    only what is missing (a photo already stored, by content hash, is not even analysed again). Symbolic links to
    person folders are followed. When another process enrolls the same photos at the same time, a photo it stored
    first is reported ``unchanged`` ("stored meanwhile by another enrollment"), not ``enrolled``.

    Args:
        gallery: where to store the samples.
        people_dir: a folder with one sub-folder per person, named after the person; photos may sit in nested
            folders below a person's folder.
        analyzer: detects and embeds the faces (default: the shared analyzer with default options). Its model id
            (:func:`~facerec.gallery.base.model_id_for`) must match the gallery's.
        on_progress: called after each photo with ``(done, total, outcome)``.
        store_crops: also store a small JPEG crop of each face in the gallery (deleted with the person).
        crop_size_px: the crops' longer side.
        batch: embed the photos with this :class:`~facerec.batch.BatchProcessor` instead (e.g. several worker
            processes); its analyzer replaces ``analyzer``. Samples are still stored one photo at a time, in order.

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
    engine = batch.analyzer if batch is not None else analyzer or get_analyzer()
    model_id = model_id_for(engine)
    gallery.check_model(model_id)
    files = find_images([root])
    report = EnrollReport(model_id=model_id)
    if batch is None:
        photos: Iterator[tuple[_Photo, _Analysed | None]] = (
            (photo, None) for photo in (_check(gallery, root, path) for path in files))
    else:
        checked = [_check(gallery, root, path, keep_data=False) for path in files]
        first: set[tuple[str, str]] = set()
        for photo in checked:  # a second copy of a photo waits for the first to be stored, then is checked again
            if photo.outcome is None:
                photo.again = (photo.name, photo.sha) in first
                first.add((photo.name, photo.sha))
        pending = [photo for photo in checked if photo.outcome is None and not photo.again]
        results = iter(batch.run([photo.path for photo in pending], operation="embed"))
        photos = ((_check(gallery, root, photo.path), None) if photo.again
                  else (photo, None if photo.outcome is not None else _from_result(next(results)))
                  for photo in checked)
    for done, (photo, analysed) in enumerate(photos, start=1):
        outcome = photo.outcome or _store(gallery, engine, photo, analysed, model_id, store_crops, crop_size_px,
                                          max_pixels=engine.max_pixels)
        report.outcomes.append(outcome)
        if on_progress is not None:
            on_progress(done, len(files), outcome)
    return report


@dataclass
class _Photo:
    """One photo before analysis: its person and content hash, or already its outcome."""

    path: Path
    name: str = ""
    sha: str = ""
    data: bytes | None = None
    outcome: EnrollOutcome | None = None
    person: Any = None
    again: bool = False


@dataclass
class _Analysed:
    """What analysing a photo gave: faces, notes, or why it could not be read."""

    faces: list[Any]
    notes: tuple[str, ...] = ()
    error: str | None = None


def _from_result(result: FileResult) -> _Analysed:
    return _Analysed(list(result.faces), result.notes, result.error)


def _check(gallery: Gallery, root: Path, path: Path, *, keep_data: bool = True) -> _Photo:
    """The photo's person and hash, with its outcome when it needs no analysis (skipped or stored already)."""
    relative = path.relative_to(root)
    if len(relative.parts) < 2:
        return _Photo(path, outcome=EnrollOutcome(path, "", "not_in_person_folder",
                                                  message="photos must sit in a sub-folder named after the person"))
    name = display_text(relative.parts[0])  # a folder name that is not UTF-8 gets \xNN escapes
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # e.g. a symbolic link whose target is gone
        return _Photo(path, name, outcome=EnrollOutcome(path, name, "unreadable", message="no such file"))
    except OSError as exc:
        return _Photo(path, name, outcome=EnrollOutcome(path, name, "unreadable",
                                                        message=f"cannot read: {exc.strerror or exc}"))
    return _photo(gallery, path, name, data, keep_data=keep_data)


def enroll_photo(gallery: Gallery, name: str, data: bytes, *, analyzer: FaceAnalyzer | None = None,
                 source: str | os.PathLike[str] = "<upload>", model_id: str | None = None, store_crops: bool = False,
                 crop_size_px: int = CROP_SIZE_PX, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> EnrollOutcome:
    """Enroll one photo (its encoded bytes) as a face sample of person ``name``: what :func:`enroll` does with each
    file, for photos that come from elsewhere (an upload to ``facerec serve``).

    The photo must show exactly one face; the person is created with their first sample, in one transaction.
    A photo stored already for that person (same content hash) is ``unchanged`` and not analysed again, and so is
    one that another enrollment stored between the check and the write ("stored meanwhile by another enrollment").

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

    engine = analyzer or get_analyzer()
    model_id = model_id or model_id_for(engine)
    photo = _photo(gallery, Path(source), name, data)
    return photo.outcome or _store(gallery, engine, photo, None, model_id, store_crops, crop_size_px,
                                   max_pixels=max_pixels)


def _photo(gallery: Gallery, path: Path, name: str, data: bytes, *, keep_data: bool = True) -> _Photo:
    """A photo read: its hash and person, with its outcome when it is stored already."""
    sha = file_sha256(data)
    person = gallery.find_person(name)
    if person is not None and gallery.has_source(person, sha):
        stored = [s.id for s in gallery.samples_of(person) if s.source_sha256 == sha]
        return _Photo(path, name, sha, outcome=EnrollOutcome(path, name, "unchanged",
                                                             sample_id=stored[0] if stored else None, faces=1))
    return _Photo(path, name, sha, data if keep_data else None, person=person)


def _store(gallery: Gallery, engine: FaceAnalyzer, photo: _Photo, analysed: _Analysed | None, model_id: str,
           store_crops: bool, crop_size_px: int, *, max_pixels: int | None) -> EnrollOutcome:
    """Analyse ``photo`` (unless ``analysed`` already) and store its one face; ``max_pixels`` is the limit when
    the photo is read here."""
    from facerec.images import load_image_with_notes

    path, name = photo.path, photo.name
    rgb = None
    if analysed is None:
        try:
            rgb, notes = load_image_with_notes(photo.data if photo.data is not None else path,
                                               max_pixels=max_pixels)
        except ImageError as exc:
            return EnrollOutcome(path, name, "unreadable", message=exc.reason)
        analysed = _Analysed(engine.analyze(rgb), notes)
    if analysed.error is not None:
        return EnrollOutcome(path, name, "unreadable", message=analysed.error)
    faces = analysed.faces
    if not faces:
        return EnrollOutcome(path, name, "no_face", faces=0, message="no face found")
    if len(faces) > 1:
        return EnrollOutcome(path, name, "several_faces", faces=len(faces),
                             message=f"{len(faces)} faces found; enrollment photos must show one face")
    face = faces[0]
    if face.embedding is None:  # pragma: no cover - analyze always embeds
        return EnrollOutcome(path, name, "no_face", faces=0, message="no embedding")
    crop = None
    if store_crops:
        if rgb is None:
            rgb = engine.load(path)
        crop = face_crop_jpeg(rgb, face.box, size_px=crop_size_px)
    sample = NewSample(embedding=face.embedding, source=display_path(path), source_sha256=photo.sha, box=face.box,
                       score=float(face.score), crop_jpeg=crop)
    # the person is created in the same transaction as the first sample: a killed run leaves no empty person
    stored_now: list[bool] = []
    (sample_id,) = gallery.add_samples(photo.person or name, [sample], model_id=model_id, create_person=True,
                                       new=stored_now)
    if not stored_now[0]:  # another process enrolling the same photo stored it between our check and our write
        return EnrollOutcome(path, name, "unchanged", sample_id=sample_id, faces=1,
                             message="stored meanwhile by another enrollment")
    return EnrollOutcome(path, name, "enrolled", sample_id=sample_id, faces=1, message="; ".join(analysed.notes))
