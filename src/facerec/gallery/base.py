"""The :class:`Gallery` interface: what every backend stores and answers (its records are in
:mod:`facerec.gallery.records`).

A gallery stores *people* (a unique name, JSON metadata, a creation time) and their *face samples* (a 128-d float32
embedding, where it came from: source file, its SHA-256, the face box, the detector score, the model that made it,
and optionally a small JPEG crop of the face). Every change is one transaction.

A gallery is bound to one embedding model (see :func:`model_id_for`): the first samples added record their model
id, and adding or searching with another model id raises :class:`~facerec.gallery.errors.ModelMismatchError`.

Layers, each importing only those below it: records -> search engine -> this interface -> the backends
(:class:`~facerec.gallery.sqlite.SQLiteGallery`, one file, the default;
:class:`~facerec.gallery.postgres.PostgresGallery`, PostgreSQL with pgvector; their reads written once in
:class:`~facerec.gallery.sql.SQLGallery`) -> :func:`~facerec.gallery.factory.open_gallery`, which picks one from a
path or a ``postgresql://`` DSN.
"""

from __future__ import annotations

import abc
import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from facerec.analyzer import get_analyzer
from facerec.errors import ConfigurationError, FacerecError
from facerec.gallery.errors import GalleryError, ModelMismatchError, PersonNotFoundError
from facerec.gallery.records import (
    EMBEDDING_DIM,
    EmbeddingTable,
    Match,
    NewSample,
    Person,
    PersonRef,
    Sample,
    box_from_text,
    box_to_text,
    check_embedding,
    check_metadata,
    check_name,
)
from facerec.gallery.search import GallerySearcher, as_queries, remove_index_files

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer

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
    "model_id_for",
]

G = TypeVar("G", bound="Gallery")

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


def model_id_for(analyzer: FaceAnalyzer | None = None) -> str:
    """The id of the embedding model an analyzer uses, as galleries record it (:attr:`FaceAnalyzer.model_id`).

    Args:
        analyzer: the analyzer (default: the shared one with default options).
    """
    return (analyzer or get_analyzer()).model_id
