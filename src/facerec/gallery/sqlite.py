"""The default gallery backend: one SQLite file.

Settings, chosen for a store of biometric data that must survive crashes and forget what it deletes:

* ``journal_mode=WAL``: readers (a search) never block the writer (an enroll), and a commit is one append.
* ``synchronous=FULL``: the WAL is fsynced at every commit, so a committed transaction survives a power cut, not
  only a killed process (``NORMAL`` would keep the last commits at risk on power loss). It costs one fsync per
  commit; enrollment commits once per photo, and a photo takes ~100 ms to analyze, so the fsync is noise.
* ``foreign_keys=ON``: samples and crops cannot outlive their person (``ON DELETE CASCADE``).
* ``secure_delete=ON``: deleted rows are overwritten with zeros in the database file, and after every removal the
  WAL is checkpointed and truncated, so a removed person's embeddings and crops are gone from the bytes on disk.
* Every change runs in one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction; sample and person ids use
  ``AUTOINCREMENT`` and are never reused.
* Large galleries are searched through an HNSW index saved beside the file (``<file>.hnsw`` and
  ``<file>.hnsw.npz``, see :class:`~facerec.gallery.search.GallerySearcher`). It is a cache: deleting it costs a
  rebuild. After every removal it is updated and saved at once with the removed vectors overwritten, or deleted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.filenames import display_text
from facerec.gallery.errors import GalleryError, NameTakenError, PersonNotFoundError, SampleNotFoundError
from facerec.gallery.records import (
    EMBEDDING_DIM,
    EmbeddingTable,
    NewSample,
    Person,
    PersonRef,
    box_to_text,
    check_metadata,
    check_name,
)
from facerec.gallery.sql import SQLGallery

__all__ = ["SCHEMA_VERSION", "SQLiteGallery"]

#: The version of the file layout written by this code (2 added the ``api_keys`` table; a layout-1 file is
#: upgraded when opened writable).
SCHEMA_VERSION = 2

_KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL UNIQUE,
    role     TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    key_hash TEXT NOT NULL UNIQUE,
    prefix   TEXT NOT NULL,
    created  TEXT NOT NULL
)
"""

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE people (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created  REAL NOT NULL
);
CREATE TABLE samples (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    embedding     BLOB NOT NULL CHECK (length(embedding) = 512),
    source        TEXT,
    source_sha256 TEXT,
    box           TEXT NOT NULL DEFAULT '',
    score         REAL,
    model         TEXT NOT NULL,
    created       REAL NOT NULL
);
CREATE INDEX samples_person ON samples(person_id);
CREATE UNIQUE INDEX samples_unique_source ON samples(person_id, source_sha256, box)
    WHERE source_sha256 IS NOT NULL;
CREATE TABLE crops (
    sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
    jpeg      BLOB NOT NULL
);
"""


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class SQLiteGallery(SQLGallery):
    """A gallery in one SQLite file (see the module docstring for its durability settings).

    Args:
        path: the file; created with its folder when missing (unless ``create`` is false).
        create: create a new gallery when the file does not exist; otherwise :class:`GalleryError`.
        timeout_s: how long to wait for another process's write lock before failing.

    Raises:
        GalleryError: the file is missing (``create=False``), not a SQLite database, not a facerec gallery, or of
            a newer layout than this code reads.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._lock = threading.RLock()
        self._model_id: str | None = None
        if not self.path.exists():
            if not create:
                raise GalleryError(f"no gallery at {self.path}; enroll people first (facerec enroll PEOPLE_DIR)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        #: True when the file (or its folder) cannot be written: the gallery is opened for reading only.
        self.read_only = False
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
            self._configure_waiting(timeout_s)
        except sqlite3.Error as exc:
            self._abandon()
            if not self._on_read_only_storage(exc):
                raise GalleryError(f"cannot open gallery {self.path}: {exc}") from exc
            self._open_read_only(timeout_s, exc)
        except GalleryError:
            self._abandon()
            raise

    # -- connection ----------------------------------------------------------------------------------------
    def _on_read_only_storage(self, exc: sqlite3.Error) -> bool:
        """Whether opening failed because the gallery's file or folder cannot be written."""
        if not self.path.is_file():
            return False
        message = str(exc).lower()
        return ("readonly" in message or "read-only" in message or "unable to open" in message
                or not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK))

    def _open_read_only(self, timeout_s: float, cause: sqlite3.Error) -> None:
        """Open the gallery for reading only: ``mode=ro`` (sees a WAL left by a writer, if its ``-shm`` can be
        used), else ``immutable=1`` (the main file as it is, when not even the ``-shm`` can be made)."""
        uri = "file:" + urllib.parse.quote(os.fspath(self.path.resolve()))
        last: Exception = cause
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            try:
                self._conn = sqlite3.connect(uri + query, uri=True, timeout=timeout_s, isolation_level=None,
                                             check_same_thread=False)
                self.read_only = True
                self._configure()
                return
            except sqlite3.Error as exc:
                self._abandon()
                last = exc
        raise GalleryError(f"cannot open gallery {self.path} (read-only storage): {last}") from last

    def _abandon(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise GalleryError(f"gallery {self.path} is closed")
        return self._conn

    def _configure_waiting(self, timeout_s: float) -> None:
        """:meth:`_configure`, waiting while another process holds the file: switching a new file to WAL can
        answer "database is locked" at once, without SQLite's busy timeout (two enrolls creating one gallery)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._configure()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _configure(self) -> None:
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        if not self.read_only:
            c.execute("PRAGMA secure_delete = ON")
            mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise GalleryError(f"cannot switch {self.path} to WAL journaling (got {mode!r})")
            c.execute("PRAGMA synchronous = FULL")
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and not self.read_only:
            with self._write(bump=False) as w:
                # look again under the write lock: another process may have created it meanwhile
                tables = {r[0] for r in w.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not tables:
                    for statement in (_SCHEMA + _KEYS_SCHEMA).split(";"):
                        if statement.strip():
                            w.execute(statement)
                    w.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
                        ("format", "facerec-gallery"), ("schema_version", str(SCHEMA_VERSION)),
                        ("generation", "0"), ("created", repr(time.time()))])
                    tables = {"meta", "samples"}
        if "meta" not in tables or "samples" not in tables:
            raise GalleryError(f"{self.path} is a SQLite database but not a facerec gallery")
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != "facerec-gallery":
            raise GalleryError(f"{self.path} is a SQLite database but not a facerec gallery")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise GalleryError(f"{self.path} has gallery layout {version}, newer than this facerec reads "
                               f"({SCHEMA_VERSION}); upgrade facerec")
        if version < 2:
            self._upgrade_to_2()
        self._model_id = meta.get("model_id")

    def _upgrade_to_2(self) -> None:
        """Layout 1 -> 2: add the ``api_keys`` table. A gallery that cannot be written stays at layout 1 (its
        reads work; only API keys are unavailable)."""
        try:
            with self._write(bump=False) as w:
                w.execute(_KEYS_SCHEMA)
                w.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        except GalleryError:
            pass

    @contextmanager
    def _write(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; bumps the generation on commit."""
        with self._lock:
            c = self.conn
            if self.read_only:
                raise GalleryError(f"cannot write to gallery {self.path}: it is on read-only storage (opened for "
                                   "reading only)")
            try:
                c.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise GalleryError(f"cannot write to gallery {self.path}: {exc}") from exc
            try:
                yield c
                if bump:
                    c.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                c.execute("COMMIT")
            except BaseException as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise GalleryError(f"gallery {self.path}: {exc}") from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise GalleryError(f"gallery {self.path}: {exc}") from exc

    def _forget_deleted(self) -> None:
        """Move the deletions into the main file and truncate the WAL, so no old copy of a page stays behind."""
        with self._lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error:  # busy: a reader holds an old snapshot; the next checkpoint completes it
                pass

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                if not self.read_only:
                    if self._searcher is not None:
                        self._searcher.flush(self)
                    self._forget_deleted()
                self._conn.close()
                self._conn = None

    # -- model -----------------------------------------------------------------------------------------------
    @property
    def model_id(self) -> str | None:
        return self._model_id

    # -- how values come back from sqlite3 -------------------------------------------------------------------
    def _metadata(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(value)
        return out

    def _time(self, value: Any) -> datetime:
        return _utc(value)

    def _embeddings(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        vectors: npt.NDArray[np.float32] = np.frombuffer(b"".join(values), dtype=np.float32)
        shaped: npt.NDArray[np.float32] = vectors.reshape(len(values), EMBEDDING_DIM).copy()
        return shaped

    # -- people ----------------------------------------------------------------------------------------------

    def add_person(self, name: str, metadata: dict[str, Any] | None = None) -> Person:
        name = check_name(name)
        text = check_metadata(metadata)
        with self._write() as c:
            if c.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone():
                raise NameTakenError(f"a person called {name!r} is already in gallery {self.path}")
            cur = c.execute("INSERT INTO people(name, metadata, created) VALUES (?, ?, ?)", (name, text, time.time()))
            person_id = int(cur.lastrowid or 0)
        return self.get_person(person_id)

    def rename_person(self, person: PersonRef, new_name: str) -> Person:
        new_name = check_name(new_name)
        target = self.get_person(person)
        with self._write() as c:
            clash = c.execute("SELECT id FROM people WHERE name = ?", (new_name,)).fetchone()
            if clash and int(clash[0]) != target.id:
                raise NameTakenError(f"cannot rename {target.name!r} to {new_name!r}: that name is taken "
                                   f"(merge the two with `facerec people merge` instead)")
            c.execute("UPDATE people SET name = ? WHERE id = ?", (new_name, target.id))
        return self.get_person(target.id)

    def set_metadata(self, person: PersonRef, metadata: dict[str, Any]) -> Person:
        text = check_metadata(metadata)
        target = self.get_person(person)
        with self._write() as c:
            c.execute("UPDATE people SET metadata = ? WHERE id = ?", (text, target.id))
        return self.get_person(target.id)

    def merge_people(self, source: PersonRef, target: PersonRef) -> Person:
        src, dst = self.get_person(source), self.get_person(target)
        if src.id == dst.id:
            raise ConfigurationError(f"cannot merge {src.name!r} into itself")
        with self._write() as c:
            # drop samples the target already has (same file and box), then move the rest
            c.execute("""DELETE FROM samples WHERE person_id = ? AND source_sha256 IS NOT NULL AND EXISTS (
                             SELECT 1 FROM samples t WHERE t.person_id = ? AND t.source_sha256 = samples.source_sha256
                             AND t.box = samples.box)""", (src.id, dst.id))
            c.execute("UPDATE samples SET person_id = ? WHERE person_id = ?", (dst.id, src.id))
            c.execute("DELETE FROM people WHERE id = ?", (src.id,))
        self._forget_deleted()
        self._refresh_index()
        return self.get_person(dst.id)

    def remove_person(self, person: PersonRef) -> int:
        target = self.get_person(person)
        with self._write() as c:
            removed = c.execute("SELECT count(*) FROM samples WHERE person_id = ?", (target.id,)).fetchone()[0]
            c.execute("DELETE FROM people WHERE id = ?", (target.id,))  # cascades to samples and crops
        self._forget_deleted()
        self._refresh_index()
        return int(removed)

    # -- samples ---------------------------------------------------------------------------------------------
    def add_samples(self, person: PersonRef, samples: Sequence[NewSample], *, model_id: str,
                    create_person: bool = False, new: list[bool] | None = None) -> list[int]:
        vectors, target, new_name = self._check_samples(person, samples, model_id, create_person)
        ids: list[int] = []
        created: list[bool] = []
        now = time.time()
        with self._write() as c:
            if target is None and new_name is not None:
                row = c.execute("SELECT id FROM people WHERE name = ?", (new_name,)).fetchone()
                if row is None:
                    row = (c.execute("INSERT INTO people(name, metadata, created) VALUES (?, '{}', ?)",
                                     (new_name, now)).lastrowid,)
                target = Person(id=int(row[0]), name=new_name, metadata={}, created=_utc(now), sample_count=0)
            assert target is not None
            bound = c.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()
            if bound is None:
                c.execute("INSERT INTO meta(key, value) VALUES ('model_id', ?)", (model_id,))
            elif bound[0] != model_id:  # bound by another process since we opened
                self._model_id = bound[0]
                self.check_model(model_id)
            if c.execute("SELECT 1 FROM people WHERE id = ?", (target.id,)).fetchone() is None:
                raise PersonNotFoundError(f"person {target.name!r} was removed from gallery {self.path}")
            for sample, vector in zip(samples, vectors):
                box = box_to_text(sample.box)
                cur = c.execute(
                    "INSERT INTO samples(person_id, embedding, source, source_sha256, box, score, model, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (target.id, vector.tobytes(), _source_text(sample.source), sample.source_sha256, box,
                     None if sample.score is None else float(sample.score), model_id, now))
                inserted = cur.rowcount == 1
                if inserted:
                    sample_id = int(cur.lastrowid or 0)
                    if sample.crop_jpeg is not None:
                        c.execute("INSERT INTO crops(sample_id, jpeg) VALUES (?, ?)",
                                  (sample_id, bytes(sample.crop_jpeg)))
                else:
                    sample_id = int(c.execute(
                        "SELECT id FROM samples WHERE person_id = ? AND source_sha256 = ? AND box = ?",
                        (target.id, sample.source_sha256, box)).fetchone()[0])
                ids.append(sample_id)
                created.append(inserted)
        self._model_id = model_id
        if new is not None:
            new.extend(created)
        return ids

    def remove_sample(self, sample_id: int) -> None:
        with self._write() as c:
            if c.execute("DELETE FROM samples WHERE id = ?", (int(sample_id),)).rowcount != 1:
                raise SampleNotFoundError(f"no sample {sample_id} in gallery {self.path}")
        self._forget_deleted()
        self._refresh_index()

    def index_path(self) -> Path | None:
        return self.path.with_name(self.path.name + ".hnsw")

    def index_header(self) -> dict[str, Any]:
        created = self._read("SELECT value FROM meta WHERE key = 'created'")
        return {"gallery": created[0][0] if created else None, "model_id": self.model_id}

    # -- upkeep ----------------------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        problems: list[str] = []
        result = [r[0] for r in self._read("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.extend(f"sqlite integrity_check: {line}" for line in result)
        for table, rowid, parent, _ in self._read("PRAGMA foreign_key_check"):
            problems.append(f"{table} row {rowid} points to a missing row of {parent}")
        meta = dict(self._read("SELECT key, value FROM meta"))
        for key in ("format", "schema_version", "generation"):
            if key not in meta:
                problems.append(f"meta has no {key!r} row")
        bad_len = self._read("SELECT id FROM samples WHERE length(embedding) != ? LIMIT 10", (4 * EMBEDDING_DIM,))
        problems.extend(f"sample {r[0]} has an embedding of the wrong size" for r in bad_len)
        model = meta.get("model_id")
        if model is None:
            if self._read("SELECT 1 FROM samples LIMIT 1"):
                problems.append("the gallery holds samples but is bound to no model")
        else:
            for other, n in self._read("SELECT model, count(*) FROM samples WHERE model != ? GROUP BY model",
                                       (model,)):
                problems.append(f"{n} samples were made by model {other!r}, not the gallery's {model!r}")
        for r in self._read("SELECT id FROM people WHERE NOT json_valid(metadata) LIMIT 10"):
            problems.append(f"person {r[0]} has metadata that is not JSON")
        last = 0
        while True:  # non-finite embeddings, a chunk at a time
            table = self._chunk(last, 50_000)
            if not len(table):
                break
            bad = ~np.isfinite(table.vectors).all(axis=1)
            problems.extend(f"sample {sid} has a NaN or infinite embedding" for sid in table.sample_ids[bad][:10])
            last = int(table.sample_ids[-1])
        return problems

    def _chunk(self, after_id: int, limit: int) -> EmbeddingTable:
        rows = self._read("SELECT id, person_id, embedding FROM samples WHERE id > ? AND length(embedding) = ? "
                          "ORDER BY id LIMIT ?", (after_id, 4 * EMBEDDING_DIM, limit))
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return EmbeddingTable(empty, empty.copy(), np.zeros((0, EMBEDDING_DIM), dtype=np.float32))
        ids, pids, blobs = zip(*rows)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), EMBEDDING_DIM)
        return EmbeddingTable(np.asarray(ids, dtype=np.int64), np.asarray(pids, dtype=np.int64), vectors)


def _source_text(source: str | None) -> str | None:
    """A sample's source file name as storable text (undecodable bytes of the name as ``\\xNN``)."""
    return None if source is None else display_text(source)
