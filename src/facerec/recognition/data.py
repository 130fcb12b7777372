"""Labelled embeddings from a folder-per-person tree, the input of identifiers and calibration.

A *labelled data directory* holds one sub-folder per person, named after the person, with that person's photos
inside (LFW's ``images/<Name>/<Name>_0001.jpg`` layout)::

    people/
      Alice/  a1.jpg a2.png
      Bob/    b1.jpg

:func:`embed_directory` embeds one face per photo (the largest by default) and returns the embeddings with their
labels; photos without a face are skipped and listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facerec.analyzer import FaceAnalyzer, FacePick, pick_face
from facerec.errors import ConfigurationError, ImageError
from facerec.files import people_folders

__all__ = ["LabelledEmbeddings", "embed_directory", "embed_one", "people_in"]

#: ``progress(done, total)`` is called after each photo.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class LabelledEmbeddings:
    """Embeddings with one label each.

    Attributes:
        embeddings: ``(n, 128)`` float32 array.
        labels: ``(n,)`` array of person names (``str``).
        paths: the photo each embedding came from (``n`` strings).
        skipped: photos that gave no embedding, with the reason (``(path, reason)`` pairs).
    """

    embeddings: npt.NDArray[np.float32]
    labels: npt.NDArray[np.str_]
    paths: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def save(self, path: str | Path) -> None:
        """Write to a ``.npz`` file (read back with :meth:`load`)."""
        np.savez_compressed(path, embeddings=self.embeddings, labels=self.labels,
                            paths=np.asarray(self.paths, dtype=str))

    @classmethod
    def load(cls, path: str | Path) -> LabelledEmbeddings:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(embeddings=data["embeddings"].astype(np.float32), labels=data["labels"].astype(str),
                       paths=[str(p) for p in data["paths"]])


def people_in(data_dir: str | Path, *, min_images: int = 1) -> dict[str, list[Path]]:
    """``{person: [photos]}`` of a labelled data directory, people sorted by name, keeping those with at least
    ``min_images`` photos.

    Raises:
        ConfigurationError: ``data_dir`` is not a directory, or no person has ``min_images`` photos.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigurationError(f"{root}: not a directory (expected one sub-folder of photos per person)")
    people = {name: photos for name, photos in people_folders(root).items() if len(photos) >= min_images}
    if not people:
        raise ConfigurationError(f"{root}: no person folder holds at least {min_images} photo(s); expected "
                                 "<data_dir>/<person>/<photo>.jpg")
    return people


def embed_directory(data_dir: str | Path, *, min_images: int = 1, analyzer: FaceAnalyzer | None = None,
                    pick: FacePick = "largest", people: Sequence[str] | None = None,
                    progress: ProgressCallback | None = None) -> LabelledEmbeddings:
    """Embed one face per photo of a labelled data directory (one sub-folder per person).

    Args:
        data_dir: the folder of person folders.
        min_images: keep only people with at least this many photos (counted before detection).
        analyzer: the analyzer to embed with (default: the shared one with default options).
        pick: which face of a photo with several: ``"largest"``, ``"central"`` or ``"best"``.
        people: embed only these person folders (default: all).
        progress: called as ``progress(done, total)`` after each photo.

    Returns:
        The embeddings, labelled with the folder names; photos with no face (or unreadable) are in ``skipped``.

    Raises:
        ConfigurationError: ``data_dir`` is not a labelled data directory.
        ModelError: a model could not be loaded.
    """
    from facerec.analyzer import get_analyzer

    engine = analyzer or get_analyzer()
    found = people_in(data_dir, min_images=min_images)
    if people is not None:
        missing = sorted(set(people) - set(found))
        if missing:
            raise ConfigurationError(f"{data_dir}: no folder for {', '.join(missing)}")
        found = {name: found[name] for name in people}
    jobs = [(name, photo) for name, photos in found.items() for photo in photos]
    vectors: list[npt.NDArray[np.float32]] = []
    labels: list[str] = []
    paths: list[str] = []
    skipped: list[tuple[str, str]] = []
    for done, (name, photo) in enumerate(jobs, start=1):
        try:
            vector = embed_one(photo, engine, pick)
        except ImageError as error:  # one bad photo; model and option errors stop the run
            skipped.append((str(photo), error.reason))
        else:
            if vector is None:
                skipped.append((str(photo), "no face found"))
            else:
                vectors.append(vector)
                labels.append(name)
                paths.append(str(photo))
        if progress is not None:
            progress(done, len(jobs))
    matrix = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 128), dtype=np.float32)
    return LabelledEmbeddings(embeddings=matrix, labels=np.asarray(labels, dtype=str), paths=paths,
                              skipped=skipped)


def embed_one(photo: str | Path, analyzer: FaceAnalyzer, pick: FacePick = "largest") -> npt.NDArray[np.float32] | None:
    """The embedding of one face of ``photo`` (chosen by ``pick``), or ``None`` when it holds no face."""
    from facerec.images import load_image

    rgb = load_image(photo)
    face = pick_face(analyzer.detect(rgb), rgb.shape, pick)
    if face is None:
        return None
    embedded = analyzer.analyze(rgb, [face])[0].embedding
    return None if embedded is None else np.asarray(embedded, dtype=np.float32)
