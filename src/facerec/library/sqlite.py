"""A photo library's tables in the gallery's SQLite file (same durability settings as the gallery: WAL,
``synchronous=FULL``, foreign keys, ``secure_delete``; every write one ``BEGIN IMMEDIATE`` transaction)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.library.records import LibraryError, PhotoResult
from facerec.library.store import (
    EMBEDDING_DIM,
    SCHEMA_VERSION,
    BatchOutcome,
    PhotoStore,
    box_to_text,
    storable_path,
)

__all__ = ["SQLitePhotoStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS library_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS library_photos (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256     TEXT NOT NULL UNIQUE,
    path       TEXT NOT NULL,
    size_bytes INTEGER,
    mtime_ns   INTEGER,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    face_count INTEGER NOT NULL,
    indexed    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS library_photos_path ON library_photos(path);
CREATE TABLE IF NOT EXISTS library_failures (
    path       TEXT PRIMARY KEY,
    sha256     TEXT,
    size_bytes INTEGER,
    mtime_ns   INTEGER,
    reason     TEXT NOT NULL,
    at         REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS library_clusters (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER,
    created   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS library_faces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id   INTEGER NOT NULL REFERENCES library_photos(id) ON DELETE CASCADE,
    box        TEXT NOT NULL,
    score      REAL,
    embedding  BLOB NOT NULL CHECK (length(embedding) = 512),
    crop_jpeg  BLOB,
    cluster_id INTEGER REFERENCES library_clusters(id) ON DELETE SET NULL,
    sample_id  INTEGER,
    UNIQUE (photo_id, box)
);
CREATE INDEX IF NOT EXISTS library_faces_cluster ON library_faces(cluster_id);
CREATE TABLE IF NOT EXISTS library_rejections (
    face_id    INTEGER NOT NULL REFERENCES library_faces(id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL REFERENCES library_clusters(id) ON DELETE CASCADE,
    PRIMARY KEY (face_id, cluster_id)
);
"""


class SQLitePhotoStore(PhotoStore):
    """The library's tables in a SQLite file (normally the gallery's; see :func:`~facerec.library.open_store`).

    Args:
        path: the file.
        timeout_s: how long to wait for another writer's lock.

    Raises:
        LibraryError: the file cannot be opened or its library tables are of a newer layout.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._lock = threading.RLock()
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
            c = self._conn
            c.execute("PRAGMA foreign_keys = ON")
            c.execute("PRAGMA secure_delete = ON")
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")
            with self._write() as w:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        w.execute(statement)
                w.execute("INSERT INTO library_meta(key, value) VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                          (str(SCHEMA_VERSION),))
            version = int(c.execute("SELECT value FROM library_meta WHERE key = 'schema_version'").fetchone()[0])
        except sqlite3.Error as exc:
            self.close()
            raise LibraryError(f"cannot open the photo library in {self.path}: {exc}") from exc
        self._check_layout(version)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LibraryError(f"photo library {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            c = self.conn
            try:
                c.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LibraryError(f"cannot write to photo library {self.path}: {exc}") from exc
            try:
                yield c
                c.execute("COMMIT")
            except BaseException as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise LibraryError(f"photo library {self.path}: {exc}") from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self.conn.execute(sql, list(params)).fetchall()
            except sqlite3.Error as exc:
                raise LibraryError(f"photo library {self.path}: {exc}") from exc

    def _execute(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._write() as c:
            for sql, params in statements:
                c.execute(sql, list(params))

    def _vectors(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = np.frombuffer(b"".join(values), dtype=np.float32).reshape(
            len(values), EMBEDDING_DIM).copy()
        return out

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_conn", None) is not None:
                assert self._conn is not None
                self._conn.close()
            self._conn = None

    def new_cluster(self) -> int:
        with self._write() as c:
            cur = c.execute("INSERT INTO library_clusters(person_id, created) VALUES (NULL, ?)", (time.time(),))
            return int(cur.lastrowid or 0)

    def write_batch(self, results: Sequence[PhotoResult], *, model_id: str) -> BatchOutcome:
        photos = faces = duplicates = failures = 0
        now = time.time()
        with self._write() as c:
            bound = c.execute("SELECT value FROM library_meta WHERE key = 'model_id'").fetchone()
            if bound is None and any(r.ok and r.faces for r in results):
                c.execute("INSERT INTO library_meta(key, value) VALUES ('model_id', ?)", (model_id,))
            elif bound is not None and bound[0] != model_id:
                raise LibraryError(f"photo library {self.path} holds embeddings of model {bound[0]!r}, not "
                                   f"{model_id!r}")
            for result in results:
                path = storable_path(result.path)
                if not result.ok:
                    c.execute("INSERT INTO library_failures(path, sha256, size_bytes, mtime_ns, reason, at) "
                              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, "
                              "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, "
                              "reason = excluded.reason, at = excluded.at",
                              (path, result.sha256, result.size_bytes, result.mtime_ns, result.error, now))
                    failures += 1
                    continue
                row = c.execute(
                    "INSERT INTO library_photos(sha256, path, size_bytes, mtime_ns, width, height, face_count, "
                    "indexed) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING RETURNING id",
                    (result.sha256, path, result.size_bytes, result.mtime_ns, result.width, result.height,
                     len(result.faces), now)).fetchone()
                c.execute("DELETE FROM library_failures WHERE path = ?", (path,))
                if row is None:
                    duplicates += 1
                    continue
                photo_id = int(row[0])
                c.executemany(
                    "INSERT INTO library_faces(photo_id, box, score, embedding, crop_jpeg) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(photo_id, box_to_text(f.box), float(f.score),
                      np.ascontiguousarray(f.embedding, dtype=np.float32).tobytes(), f.crop_jpeg)
                     for f in result.faces])
                photos += 1
                faces += len(result.faces)
        return BatchOutcome(photos=photos, faces=faces, duplicates=duplicates, failures=failures)
