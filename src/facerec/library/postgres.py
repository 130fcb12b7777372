"""A photo library's tables in the gallery's PostgreSQL schema, embeddings in pgvector ``vector(128)`` columns.

Batches are written with few round trips: the photos of a batch in one ``INSERT ... SELECT FROM unnest(...)
ON CONFLICT DO NOTHING RETURNING``, their faces with one ``COPY ... FROM STDIN``, all in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.gallery.postgres import check_schema_name, redact_dsn
from facerec.library.records import LibraryError, PhotoResult
from facerec.library.store import (
    EMBEDDING_DIM,
    SCHEMA_VERSION,
    BatchOutcome,
    PhotoStore,
    box_to_text,
    storable_path,
)

__all__ = ["PostgresPhotoStore"]

_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.library_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.library_photos (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256     text NOT NULL UNIQUE,
    path       text NOT NULL,
    size_bytes bigint,
    mtime_ns   bigint,
    width      integer NOT NULL,
    height     integer NOT NULL,
    face_count integer NOT NULL,
    indexed    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS library_photos_path ON {s}.library_photos (path);
CREATE TABLE IF NOT EXISTS {s}.library_failures (
    path       text PRIMARY KEY,
    sha256     text,
    size_bytes bigint,
    mtime_ns   bigint,
    reason     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.library_clusters (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint,
    created   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.library_faces (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    photo_id   bigint NOT NULL REFERENCES {s}.library_photos(id) ON DELETE CASCADE,
    box        text NOT NULL,
    score      double precision,
    embedding  vector(128) NOT NULL,
    crop_jpeg  bytea,
    cluster_id bigint REFERENCES {s}.library_clusters(id) ON DELETE SET NULL,
    sample_id  bigint,
    UNIQUE (photo_id, box)
);
CREATE INDEX IF NOT EXISTS library_faces_cluster ON {s}.library_faces (cluster_id);
CREATE TABLE IF NOT EXISTS {s}.library_rejections (
    face_id    bigint NOT NULL REFERENCES {s}.library_faces(id) ON DELETE CASCADE,
    cluster_id bigint NOT NULL REFERENCES {s}.library_clusters(id) ON DELETE CASCADE,
    PRIMARY KEY (face_id, cluster_id)
);
INSERT INTO {s}.library_meta(key, value) VALUES ('schema_version', '{version}') ON CONFLICT (key) DO NOTHING;
"""


def _vector_text(vector: npt.NDArray[np.float32]) -> str:
    """pgvector's text form, exact for float32 (``repr`` of each value round-trips)."""
    return "[" + ",".join(repr(float(v)) for v in np.asarray(vector, dtype=np.float32)) + "]"


class PostgresPhotoStore(PhotoStore):
    """The library's tables in a PostgreSQL schema (normally the gallery's; see
    :func:`~facerec.library.open_store`).

    Args:
        dsn: a libpq connection string.
        schema: the schema (default ``facerec``, the gallery's default).

    Raises:
        LibraryError: psycopg/pgvector missing, the server unreachable, or the tables cannot be created.
    """

    _PARAM = "%s"

    def __init__(self, dsn: str, *, schema: str = "facerec", **_: Any) -> None:
        check_schema_name(schema)
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError as exc:
            raise LibraryError(f"a PostgreSQL photo library needs psycopg and pgvector: "
                               f"pip install 'facerec[postgres]' ({exc})") from exc
        self.dsn = dsn
        self.schema = schema
        self.location = f"{redact_dsn(dsn)} (schema {schema})"
        self._psycopg = psycopg
        self._lock = threading.RLock()
        try:
            self._conn: Any = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise LibraryError(f"cannot connect to {redact_dsn(dsn)}: {str(exc).strip()}") from exc
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"facerec-library:{schema}",))
                for statement in _DDL.format(s=schema, version=SCHEMA_VERSION).split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
            register_vector(self._conn)
            row: Any = self._conn.execute(
                f"SELECT value FROM {schema}.library_meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0])
        except psycopg.Error as exc:
            self.close()
            raise LibraryError(f"cannot set up the photo library in {self.location}: {str(exc).strip()}") from exc
        self._check_layout(version)

    def _table(self, name: str) -> str:
        return f"{self.schema}.library_{name}"

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise LibraryError(f"photo library {self.location} is closed")
        return self._conn

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return list(self.conn.execute(sql, list(params)).fetchall())
            except self._psycopg.Error as exc:
                raise LibraryError(f"photo library {self.location}: {str(exc).strip()}") from exc

    def _execute(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._lock:
            try:
                with self.conn.transaction():
                    for sql, params in statements:
                        self.conn.execute(sql, list(params))
            except self._psycopg.Error as exc:
                raise LibraryError(f"photo library {self.location}: {str(exc).strip()}") from exc

    def _vectors(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        if not values:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        rows = [getattr(v, "to_numpy", lambda v=v: v)() for v in values]
        return np.asarray(rows, dtype=np.float32).reshape(len(values), EMBEDDING_DIM)

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            self._conn = None

    def drop(self) -> None:
        """Delete the library's tables (not the gallery's) and close the connection."""
        with self._lock:
            for name in ("rejections", "faces", "clusters", "failures", "photos", "meta"):
                self.conn.execute(f"DROP TABLE IF EXISTS {self._table(name)} CASCADE")
        self.close()

    def new_cluster(self) -> int:
        return int(self._read(self._sql("INSERT INTO {clusters}(person_id) VALUES (NULL) RETURNING id"))[0][0])

    def write_batch(self, results: Sequence[PhotoResult], *, model_id: str) -> BatchOutcome:
        meta, photos_t, faces_t, failures_t = (self._table(n) for n in ("meta", "photos", "faces", "failures"))
        good = [r for r in results if r.ok]
        bad = [r for r in results if not r.ok]
        stored_faces = 0
        with self._lock:
            try:
                with self.conn.transaction():
                    c = self.conn
                    bound = c.execute(f"SELECT value FROM {meta} WHERE key = 'model_id' FOR UPDATE").fetchone()
                    if bound is None and any(r.faces for r in good):
                        c.execute(f"INSERT INTO {meta}(key, value) VALUES ('model_id', %s) "
                                  "ON CONFLICT (key) DO NOTHING", (model_id,))
                        bound = c.execute(f"SELECT value FROM {meta} WHERE key = 'model_id'").fetchone()
                    if bound is not None and bound[0] != model_id:
                        raise LibraryError(f"photo library {self.location} holds embeddings of model "
                                           f"{bound[0]!r}, not {model_id!r}")
                    inserted: dict[str, int] = {}
                    if good:
                        rows = c.execute(
                            f"INSERT INTO {photos_t}(sha256, path, size_bytes, mtime_ns, width, height, face_count) "
                            "SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::int[], "
                            "%s::int[], %s::int[]) ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256",
                            ([r.sha256 for r in good], [storable_path(r.path) for r in good],
                             [r.size_bytes for r in good], [r.mtime_ns for r in good], [r.width for r in good],
                             [r.height for r in good], [len(r.faces) for r in good])).fetchall()
                        inserted = {str(sha): int(pid) for pid, sha in rows}
                        c.execute(f"DELETE FROM {failures_t} WHERE path = ANY(%s)",
                                  ([storable_path(r.path) for r in good],))
                        with c.cursor().copy(f"COPY {faces_t} (photo_id, box, score, embedding, crop_jpeg) "
                                             "FROM STDIN") as copy:
                            for r in good:
                                photo_id = inserted.pop(r.sha256 or "", None)  # first of duplicates in the batch
                                if photo_id is None:
                                    continue
                                for face in r.faces:
                                    copy.write_row((photo_id, box_to_text(face.box), float(face.score),
                                                    _vector_text(face.embedding), face.crop_jpeg))
                                    stored_faces += 1
                        stored_photos = len(rows)
                    else:
                        stored_photos = 0
                    if bad:
                        c.cursor().executemany(
                            f"INSERT INTO {failures_t}(path, sha256, size_bytes, mtime_ns, reason) "
                            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, "
                            "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, "
                            "reason = excluded.reason, at = now()",
                            [(storable_path(r.path), r.sha256, r.size_bytes, r.mtime_ns, r.error) for r in bad])
            except self._psycopg.Error as exc:
                raise LibraryError(f"photo library {self.location}: {str(exc).strip()}") from exc
        return BatchOutcome(photos=stored_photos, faces=stored_faces, duplicates=len(good) - stored_photos,
                            failures=len(bad))
