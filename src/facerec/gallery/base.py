"""The :class:`Gallery` interface and its records: :class:`Person`, :class:`Sample`, :class:`NewSample`, :class:`Match`.

A gallery stores *people* (a unique name, JSON metadata, a creation time) and their *face samples* (a 128-d float32
embedding, where it came from: source file, its SHA-256, the face box, the detector score, the model that made it,
and optionally a small JPEG crop of the face). Every change is one transaction.

A gallery is bound to one embedding model (see :func:`model_id_for`): the first samples added record their model
id, and adding or searching with another model id raises :class:`~facerec.gallery.errors.ModelMismatchError`.

Two backends implement the interface: :class:`~facerec.gallery.sqlite.SQLiteGallery` (one file, the default) and
:class:`~facerec.gallery.postgres.PostgresGallery` (PostgreSQL with pgvector); their reads are written once in
:class:`~facerec.gallery.sql.SQLGallery`. :func:`open_gallery` picks one from a path or a ``postgresql://`` DSN.
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Union

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, FacerecError
from facerec.gallery.errors import GalleryError, ModelMismatchError, PersonNotFoundError
from facerec.types import Box

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.gallery.search import GallerySearcher

__all__ = [
    "EMBEDDING_DIM",
    "EmbeddingTable",
    "Gallery",
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
    "default_gallery_path",
    "is_postgres_dsn",
    "model_id_for",
    "open_gallery",
]

#: Length of the embeddings a gallery stores.
EMBEDDING_DIM = 128

#: A person given by id (``int``), by name (``str``) or as a :class:`Person` record.
PersonRef = Union[int, str, "Person"]

G = TypeVar("G", bound="Gallery")

#: Embedders that run the same network (dlib's face ResNet) and so share a model id.
_RESNET_EMBEDDERS = {"dlib": "dlib-resnet-v1", "onnx": "dlib-resnet-v1"}


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
        source: the file it came from (kept as given), or ``None``.
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


@dataclass(frozen=True)
class Match:
    """One candidate person for a searched face.

    Attributes:
        person_id: the person's id.
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


class Gallery(abc.ABC):
    """A persistent store of people and their face embeddings, for 1:N identification.

    Use it as a context manager (or call :meth:`close`). Methods that take a person accept its id (``int``), its
    name (``str``) or a :class:`Person`.
    """

    #: A printable name of where the gallery lives (a path or a DSN without password).
    location: str = ""

    _searcher: GallerySearcher | None = None

    # -- the model the gallery is bound to -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def model_id(self) -> str | None:
        """The model id the gallery is bound to (``None`` until the first sample is added)."""

    def check_model(self, model_id: str, *, where: str = "") -> None:
        """Raise :class:`ModelMismatchError` unless the gallery is unbound or bound to ``model_id``."""
        bound = self.model_id
        if bound is not None and bound != model_id:
            raise ModelMismatchError(bound, model_id, where=where or self.location)

    # -- people ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_person(self, name: str, metadata: dict[str, Any] | None = None) -> Person:
        """Add a person.

        Raises:
            GalleryError: a person of that name exists already.
            ConfigurationError: the name is empty or the metadata is not JSON-ready.
        """

    @abc.abstractmethod
    def find_person(self, name: str) -> Person | None:
        """The person called ``name``, or ``None``."""

    @abc.abstractmethod
    def _person_by_id(self, person_id: int) -> Person | None:
        """The person with this id, or ``None``."""

    def get_person(self, person: PersonRef) -> Person:
        """The person given by id, name or record.

        Raises:
            PersonNotFoundError: there is no such person (the message suggests close names).
        """
        if isinstance(person, Person):
            person = person.id
        if isinstance(person, bool) or not isinstance(person, (int, str, np.integer)):
            raise ConfigurationError(f"a person is given by id, name or Person, got {type(person).__name__}")
        found = self._person_by_id(int(person)) if isinstance(person, (int, np.integer)) else self.find_person(person)
        if found is None:
            import difflib

            hint = ""
            if isinstance(person, str):
                close = difflib.get_close_matches(person, [p.name for p in self.list_people()], n=3)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            what = f"id {person}" if isinstance(person, (int, np.integer)) else repr(person)
            raise PersonNotFoundError(f"no person {what} in gallery {self.location}{hint}")
        return found

    def get_or_add_person(self, name: str, metadata: dict[str, Any] | None = None) -> Person:
        """The person called ``name``, added first if missing."""
        found = self.find_person(check_name(name))
        if found is not None:
            return found
        try:
            return self.add_person(name, metadata)
        except GalleryError:  # added by someone else in the meantime
            found = self.find_person(check_name(name))
            if found is None:
                raise
            return found

    @abc.abstractmethod
    def list_people(self) -> list[Person]:
        """Every person, by name."""

    @abc.abstractmethod
    def rename_person(self, person: PersonRef, new_name: str) -> Person:
        """Give a person a new name.

        Raises:
            PersonNotFoundError: no such person.
            GalleryError: another person has that name already.
        """

    @abc.abstractmethod
    def set_metadata(self, person: PersonRef, metadata: dict[str, Any]) -> Person:
        """Replace a person's metadata."""

    @abc.abstractmethod
    def merge_people(self, source: PersonRef, target: PersonRef) -> Person:
        """Move every sample of ``source`` to ``target`` and remove ``source`` (one transaction).

        A sample that ``target`` already has (same source SHA-256 and box) is dropped instead of moved.

        Returns:
            ``target`` after the merge.
        """

    @abc.abstractmethod
    def remove_person(self, person: PersonRef) -> int:
        """Delete a person with their samples and crops; the deleted bytes are overwritten where the backend can.

        Returns:
            How many samples were deleted.
        """

    # -- samples ---------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_samples(self, person: PersonRef, samples: Sequence[NewSample], *, model_id: str,
                    create_person: bool = False) -> list[int]:
        """Add face samples of one person in one transaction.

        Idempotent: a sample whose (person, source SHA-256, box) is stored already is not added again; its
        existing id is returned instead.

        Args:
            person: whose faces they are (must exist: see :meth:`get_or_add_person`).
            samples: the samples.
            model_id: the model that made the embeddings (see :func:`model_id_for`). The first samples bind the
                gallery to it.
            create_person: when ``person`` is a name not in the gallery, add the person in the same transaction
                as the samples (so an interrupted enrollment never leaves a person without samples).

        Returns:
            The sample ids, in the order of ``samples``.

        Raises:
            ModelMismatchError: the gallery is bound to another model.
            PersonNotFoundError: no such person.
            ConfigurationError: an embedding is not 128 finite numbers.
        """

    @abc.abstractmethod
    def remove_sample(self, sample_id: int) -> None:
        """Delete one sample (and its crop).

        Raises:
            GalleryError: no such sample.
        """

    @abc.abstractmethod
    def samples_of(self, person: PersonRef) -> list[Sample]:
        """A person's samples, oldest first."""

    @abc.abstractmethod
    def has_source(self, person: PersonRef, source_sha256: str) -> bool:
        """Whether the person has a sample from the file with this SHA-256 (to skip work when enrolling again)."""

    @abc.abstractmethod
    def get_crop(self, sample_id: int) -> bytes | None:
        """The stored JPEG crop of a sample, or ``None``."""

    @abc.abstractmethod
    def embedding_table(self, *, after_id: int = 0) -> EmbeddingTable:
        """Every embedding with a sample id above ``after_id``, by sample id."""

    @abc.abstractmethod
    def sample_people(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(sample_ids, person_ids)`` of every sample, by sample id (cheap: no embeddings)."""

    @abc.abstractmethod
    def embeddings_for(self, sample_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The embeddings of some samples, in the order given (``(n, 128)``; missing ids are left out)."""

    @abc.abstractmethod
    def generation(self) -> int:
        """A number that grows with every committed change (caches compare it to know they are stale)."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many samples the gallery holds."""

    @abc.abstractmethod
    def count_people(self) -> int:
        """How many people the gallery holds."""

    # -- search ----------------------------------------------------------------------------------------------
    def search(self, queries: Any, *, model_id: str, top_k: int = 3) -> list[list[Match]]:
        """The ``top_k`` nearest people to each query embedding, nearest first.

        A person's distance is the distance to their nearest sample. Small galleries are searched exactly; large
        ones through an approximate (HNSW) index that is kept in step with the gallery (see
        :class:`~facerec.gallery.search.GallerySearcher`).

        Args:
            queries: ``(n, 128)`` or ``(128,)`` embeddings.
            model_id: the model that made them.
            top_k: how many people to return per query.

        Raises:
            ModelMismatchError: the gallery is bound to another model.
        """
        from facerec.gallery.search import GallerySearcher, as_queries

        self.check_model(model_id)
        matrix = as_queries(queries)
        if self._searcher is None:
            self._searcher = GallerySearcher(index_path=self.index_path())
        return self._searcher.search(self, matrix, top_k=top_k)

    def index_path(self) -> Path | None:
        """Where the approximate search index of this gallery is kept between processes (``None``: nowhere)."""
        return None

    def index_header(self) -> dict[str, Any]:
        """What a saved search index must have been made for: this gallery and its model."""
        return {"gallery": self.location, "model_id": self.model_id}

    def _refresh_index(self) -> None:
        """After a removal: bring a saved search index in step, so that no file keeps a removed embedding.

        When that fails the index files are deleted instead (they are a cache: the next search rebuilds them); the
        removal itself is committed by then, so the failure is logged, not raised.
        """
        import logging

        from facerec.gallery.search import GallerySearcher, remove_index_files

        path = self.index_path()
        if path is None or (self._searcher is None and not path.exists()):
            return
        try:
            if self._searcher is None:
                self._searcher = GallerySearcher(index_path=path)
            self._searcher.refresh(self)
        except (OSError, RuntimeError, ImportError, ValueError, FacerecError) as exc:  # drop the cache, keep no copy
            logging.getLogger("facerec.gallery").warning("search index %s deleted after a removal: %s", path, exc)
            self._searcher = None
            remove_index_files(path)

    # -- upkeep ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found in the stored data, one line each; an empty list means the gallery is sound."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def __enter__(self: G) -> G:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    def _names(self, person_ids: Iterable[int]) -> dict[int, str]:
        """Names of some people by id (backends may do this in one query)."""
        return {p.id: p.name for p in self.list_people() if p.id in set(person_ids)}


def default_gallery_path() -> Path:
    """Where the gallery lives when none is named.

    ``$FACEREC_GALLERY`` if set, else ``$XDG_DATA_HOME/facerec/gallery.sqlite``, else
    ``~/.local/share/facerec/gallery.sqlite``.
    """
    env = os.environ.get("FACEREC_GALLERY")
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "facerec" / "gallery.sqlite"


def is_postgres_dsn(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_gallery(location: str | os.PathLike[str] | None = None, *, create: bool = True,
                 **options: Any) -> Gallery:
    """Open a gallery: a SQLite file, or PostgreSQL when ``location`` is a ``postgresql://`` DSN.

    Args:
        location: a file path or a DSN; ``None`` for :func:`default_gallery_path`.
        create: create the gallery if it does not exist (otherwise :class:`GalleryError`).
        options: passed on to the backend (e.g. ``schema`` for PostgreSQL).

    Raises:
        GalleryError: it cannot be opened (missing with ``create=False``, not a gallery, unreachable server, ...).
    """
    if location is None:
        location = default_gallery_path()
    if is_postgres_dsn(location):
        from facerec.gallery.postgres import PostgresGallery

        return PostgresGallery(str(location), create=create, **options)
    from facerec.gallery.sqlite import SQLiteGallery

    return SQLiteGallery(location, create=create, **options)


def model_id_for(analyzer: FaceAnalyzer | None = None) -> str:
    """The id of the embedding model an analyzer uses, as galleries record it.

    It names the network, the SHA-256 prefix of its weights file and the alignment, e.g.
    ``"dlib-resnet-v1:3b4b1e5d9a2c/5pt"``. The ``dlib`` and ``onnx`` embedders run the same network from the same
    file and so share an id. Another embedder may name itself with a ``model_id`` attribute.

    Args:
        analyzer: the analyzer (default: the shared one with default options).
    """
    if analyzer is None:
        from facerec.api import get_analyzer

        analyzer = get_analyzer()
    alignment = f"{analyzer.landmark_points}pt"
    family = _RESNET_EMBEDDERS.get(analyzer.embedder_name)
    if family is not None:
        from facerec.models import file_sha256, locate_model

        path = analyzer.embedder_options.get("model_path")
        sha = file_sha256(locate_model("resnet", path))
        return f"{family}:{sha[:12]}/{alignment}"
    explicit = getattr(analyzer.embedder, "model_id", None)
    name = str(explicit) if explicit else analyzer.embedder_name
    return f"{name}/{alignment}"
