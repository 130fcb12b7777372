"""What the two SQL backends share: the reads, written once.

:class:`SQLGallery` holds every read of people and samples that differs between SQLite and PostgreSQL only in
the parameter placeholder (``?`` or ``%s``), the table names (PostgreSQL's live in a schema) and how an
embedding, a metadata document and a time come back from the driver. The writes stay in each backend: their
dialects differ (``RETURNING``, ``ON CONFLICT``, locking, ``jsonb``).

Queries are written with ``?`` placeholders and ``{people}``, ``{samples}``, ``{crops}``, ``{meta}`` and
``{api_keys}`` for the tables; :meth:`SQLGallery._sql` turns them into the backend's.

The service's API keys (:mod:`facerec.gallery.keys`) live in the same database, in a small ``api_keys`` table whose
reads *and* writes are written once here: they need nothing beyond ``INSERT ... RETURNING`` and ``DELETE ...
RETURNING``, which both databases speak.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.gallery.base import Gallery
from facerec.gallery.records import (
    EMBEDDING_DIM,
    EmbeddingTable,
    NewSample,
    Person,
    PersonRef,
    Sample,
    box_from_text,
    check_embedding,
    check_name,
)

__all__ = ["SQLGallery"]

_TABLES = ("people", "samples", "crops", "meta", "api_keys")


class SQLGallery(Gallery):
    """A gallery in a SQL database: the shared reads (see the module docstring)."""

    #: the driver's parameter placeholder
    _PARAM = "?"

    def _table(self, name: str) -> str:
        """The qualified name of one of the gallery's tables."""
        return name

    def _sql(self, query: str) -> str:
        """``query`` with the backend's table names and placeholders."""
        return query.format(**{t: self._table(t) for t in _TABLES}).replace("?", self._PARAM)

    @abc.abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read-only query (already in the backend's SQL)."""

    @abc.abstractmethod
    def _metadata(self, value: Any) -> dict[str, Any]:
        """A person's metadata as the driver returns it, as a dictionary."""

    @abc.abstractmethod
    def _time(self, value: Any) -> datetime:
        """A stored time as the driver returns it, in UTC."""

    @abc.abstractmethod
    def _embeddings(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        """Stored embeddings as the driver returns them, as an ``(n, 128)`` float32 matrix."""

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Any]:
        """One write transaction (the connection, with ``execute``), committed on leaving the block."""

    def _query(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read(self._sql(query), params)

    # -- API keys (see facerec.gallery.keys) -------------------------------------------------------------------
    _KEY_COLUMNS = "id, name, role, key_hash, prefix, created"

    def key_rows(self) -> list[tuple[int, str, str, str, str, str]]:
        """Every stored API key as ``(id, name, role, key_hash, prefix, created)``, by id."""
        return [(int(r[0]), r[1], r[2], r[3], r[4], r[5])
                for r in self._query(f"SELECT {self._KEY_COLUMNS} FROM {{api_keys}} ORDER BY id")]

    def insert_key_row(self, name: str, role: str, key_hash: str, prefix: str, created: str) -> int | None:
        """Store one API key; its id, or ``None`` when a key of that name exists already."""
        with self._write() as c:
            row = c.execute(self._sql("INSERT INTO {api_keys}(name, role, key_hash, prefix, created) "
                                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id"),
                            (name, role, key_hash, prefix, created)).fetchone()
        return None if row is None else int(row[0])

    def delete_key_row(self, key_id: int) -> bool:
        """Delete one API key; whether it existed."""
        with self._write() as c:
            row = c.execute(self._sql("DELETE FROM {api_keys} WHERE id = ? RETURNING id"), (int(key_id),)).fetchone()
        return row is not None

    # -- people ----------------------------------------------------------------------------------------------
    _PERSON_SQL = ("SELECT p.id, p.name, p.metadata, p.created, "
                   "(SELECT count(*) FROM {samples} x WHERE x.person_id = p.id) FROM {people} p ")

    def _person(self, row: Sequence[Any]) -> Person:
        return Person(id=int(row[0]), name=row[1], metadata=self._metadata(row[2]), created=self._time(row[3]),
                      sample_count=int(row[4]))

    def find_person(self, name: str) -> Person | None:
        rows = self._query(self._PERSON_SQL + "WHERE p.name = ?", (name.strip(),))
        return self._person(rows[0]) if rows else None

    def _person_by_id(self, person_id: int) -> Person | None:
        rows = self._query(self._PERSON_SQL + "WHERE p.id = ?", (person_id,))
        return self._person(rows[0]) if rows else None

    def list_people(self) -> list[Person]:
        return [self._person(r) for r in self._query(self._PERSON_SQL + "ORDER BY p.name")]

    def count_people(self) -> int:
        return int(self._query("SELECT count(*) FROM {people}")[0][0])

    # -- samples ---------------------------------------------------------------------------------------------
    def _check_samples(self, person: PersonRef, samples: Sequence[NewSample], model_id: str, create_person: bool
                       ) -> tuple[list[npt.NDArray[np.float32]], Person | None, str | None]:
        """What :meth:`add_samples` checks before its transaction: the embeddings, the model and the person.

        Returns:
            The checked embeddings; the person (``None``: a new one to create in the transaction); the name to
            create them under (``None`` unless ``create_person`` and ``person`` is a name).
        """
        if not model_id:
            raise ConfigurationError("model_id must name the model that made the embeddings")
        self.check_model(model_id)
        vectors = [check_embedding(s.embedding, f"sample {i} embedding") for i, s in enumerate(samples)]
        new_name = check_name(person) if create_person and isinstance(person, str) else None
        target = self.find_person(new_name) if new_name is not None else self.get_person(person)
        return vectors, target, new_name

    def samples_of(self, person: PersonRef) -> list[Sample]:
        target = self.get_person(person)
        rows = self._query(
            "SELECT x.id, x.person_id, x.embedding, x.source, x.source_sha256, x.box, x.score, x.model, x.created, "
            "EXISTS (SELECT 1 FROM {crops} c WHERE c.sample_id = x.id) FROM {samples} x WHERE x.person_id = ? "
            "ORDER BY x.id", (target.id,))
        vectors = self._embeddings([r[2] for r in rows])
        return [Sample(id=int(r[0]), person_id=int(r[1]), embedding=vector, source=r[3], source_sha256=r[4],
                       box=box_from_text(r[5]), score=r[6], model=r[7], created=self._time(r[8]),
                       has_crop=bool(r[9])) for r, vector in zip(rows, vectors)]

    def has_source(self, person: PersonRef, source_sha256: str) -> bool:
        target = self.get_person(person)
        return bool(self._query("SELECT 1 FROM {samples} WHERE person_id = ? AND source_sha256 = ? LIMIT 1",
                                (target.id, source_sha256)))

    def get_crop(self, sample_id: int) -> bytes | None:
        rows = self._query("SELECT jpeg FROM {crops} WHERE sample_id = ?", (int(sample_id),))
        return bytes(rows[0][0]) if rows else None

    def embedding_table(self, *, after_id: int = 0) -> EmbeddingTable:
        rows = self._query("SELECT id, person_id, embedding FROM {samples} WHERE id > ? ORDER BY id",
                           (int(after_id),))
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return EmbeddingTable(empty, empty.copy(), np.zeros((0, EMBEDDING_DIM), dtype=np.float32))
        ids, pids, values = zip(*rows)
        return EmbeddingTable(np.asarray(ids, dtype=np.int64), np.asarray(pids, dtype=np.int64),
                              self._embeddings(values))

    def embeddings_for(self, sample_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        wanted = [int(s) for s in sample_ids]
        found: dict[int, Any] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(self._query("SELECT id, embedding FROM {samples} WHERE id IN (" + marks + ")", part))
        return self._embeddings([found[s] for s in wanted if s in found])

    def sample_people(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        rows = self._query("SELECT id, person_id FROM {samples} ORDER BY id")
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        return np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])

    def generation(self) -> int:
        return int(self._query("SELECT value FROM {meta} WHERE key = 'generation'")[0][0])

    def count(self) -> int:
        return int(self._query("SELECT count(*) FROM {samples}")[0][0])
