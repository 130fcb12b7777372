"""A gallery in PostgreSQL with the pgvector extension (``pip install 'facerec[postgres]'``).

Embeddings live in a ``vector(128)`` column with an HNSW index (``vector_l2_ops``); searches run in the server with
pgvector's ``<->`` (Euclidean) operator: exact (a sequential scan) below
:data:`~facerec.gallery.search.ANN_MIN_SAMPLES` samples, through the HNSW index above it with
``hnsw.ef_search`` set to :data:`~facerec.gallery.search.DEFAULT_EF`.

The tables live in one schema (``facerec`` unless told otherwise), so several galleries can share a database. Every
change is one transaction; ids are identity columns and never reused. Removal deletes the rows and then runs
``VACUUM`` on the tables so the space of the deleted rows is reclaimed; PostgreSQL does not overwrite free space,
so unlike the SQLite backend the bytes may linger in the data files until reused (use ``VACUUM FULL`` or the
SQLite backend where that matters).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.filenames import display_text
from facerec.gallery.errors import GalleryError, NameTakenError, PersonNotFoundError, SampleNotFoundError
from facerec.gallery.records import (
    EMBEDDING_DIM,
    Match,
    NewSample,
    Person,
    PersonRef,
    box_to_text,
    check_metadata,
    check_name,
)
from facerec.gallery.search import ANN_MIN_SAMPLES, DEFAULT_EF, as_queries, nearest_people
from facerec.gallery.sql import SQLGallery

__all__ = ["PostgresGallery", "check_schema_name", "redact_dsn"]

#: 2 added the ``api_keys`` table (a layout-1 schema is upgraded when opened).
SCHEMA_VERSION = 2

_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.api_keys (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE,
    role     text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    key_hash text NOT NULL UNIQUE,
    prefix   text NOT NULL,
    created  text NOT NULL
)
"""

_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.people (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL UNIQUE,
    metadata jsonb NOT NULL DEFAULT '{{}}',
    created  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.samples (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id     bigint NOT NULL REFERENCES {schema}.people(id) ON DELETE CASCADE,
    embedding     vector(128) NOT NULL,
    source        text,
    source_sha256 text,
    box           text NOT NULL DEFAULT '',
    score         double precision,
    model         text NOT NULL,
    created       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS samples_person ON {schema}.samples (person_id);
CREATE UNIQUE INDEX IF NOT EXISTS samples_unique_source ON {schema}.samples (person_id, source_sha256, box)
    WHERE source_sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS samples_hnsw ON {schema}.samples USING hnsw (embedding vector_l2_ops)
    WITH (m = 16, ef_construction = 64);
CREATE TABLE IF NOT EXISTS {schema}.crops (
    sample_id bigint PRIMARY KEY REFERENCES {schema}.samples(id) ON DELETE CASCADE,
    jpeg      bytea NOT NULL
);
INSERT INTO {schema}.meta(key, value) VALUES
    ('format', 'facerec-gallery'), ('schema_version', '{version}'), ('generation', '0')
    ON CONFLICT (key) DO NOTHING;
"""


def _vector(value: Any) -> npt.NDArray[np.float32]:
    """A pgvector value (``Vector`` or array, by pgvector's version) as a float32 array."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def redact_dsn(dsn: str) -> str:
    """The DSN without its password (for messages)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def check_schema_name(schema: str) -> None:
    """Refuse a schema name that is not a plain SQL identifier (it is written into statements).

    Raises:
        ConfigurationError: ``schema`` is not ``[A-Za-z_][A-Za-z0-9_]*`` of at most 63 characters.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise ConfigurationError(f"schema must be a plain SQL identifier, got {schema!r}")


class PostgresGallery(SQLGallery):
    """A gallery in a PostgreSQL database with pgvector.

    Args:
        dsn: a libpq connection string, e.g. ``postgresql://user@127.0.0.1:5432/db``.
        schema: the schema holding the gallery's tables (created when missing); one gallery per schema.
        create: create the tables when missing; otherwise :class:`GalleryError`.
        search_method: ``"auto"`` (exact below ``ann_min_samples`` samples, HNSW index above), ``"exact"`` or
            ``"hnsw"``.
        ann_min_samples: the size from which ``"auto"`` uses the HNSW index.
        ef_search: pgvector's ``hnsw.ef_search`` for index searches (higher is more accurate and slower).
        vacuum_on_remove: run ``VACUUM`` after removals.

    Raises:
        GalleryError: psycopg or pgvector is not installed, the server cannot be reached, or the schema holds no
            gallery (``create=False``).
    """

    def __init__(self, dsn: str, *, schema: str = "facerec", create: bool = True, search_method: str = "auto",
                 ann_min_samples: int = ANN_MIN_SAMPLES, ef_search: int = DEFAULT_EF,
                 vacuum_on_remove: bool = True) -> None:
        check_schema_name(schema)
        if search_method not in ("auto", "exact", "hnsw"):
            raise ConfigurationError(f"search_method must be 'auto', 'exact' or 'hnsw', got {search_method!r}")
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError as exc:
            raise GalleryError(f"the PostgreSQL gallery needs psycopg and pgvector: pip install 'facerec[postgres]' "
                               f"({exc})") from exc
        self.dsn = dsn
        self.schema = schema
        self.location = f"{redact_dsn(dsn)} (schema {schema})"
        self.search_method = search_method
        self.ann_min_samples = ann_min_samples
        self.ef_search = ef_search
        self.vacuum_on_remove = vacuum_on_remove
        self._lock = threading.RLock()
        self._model_id: str | None = None
        self._state_cache: tuple[int, int, dict[int, str]] | None = None
        self._psycopg = psycopg
        try:
            self._conn: Any = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise GalleryError(f"cannot connect to {redact_dsn(dsn)}: {str(exc).strip()}") from exc
        try:
            self._setup(create, register_vector)
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # -- connection ----------------------------------------------------------------------------------------
    def _setup(self, create: bool, register_vector: Any) -> None:
        s = self.schema
        exists = self._conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{s}.meta",)).fetchone()[0]
        if not exists:
            if not create:
                raise GalleryError(f"no gallery in schema {s!r} of {redact_dsn(self.dsn)}; enroll people first")
            try:
                with self._conn.transaction():
                    # one creator at a time (two processes opening a new gallery together)
                    self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"facerec-gallery:{s}",))
                    for statement in (_DDL + ";" + _KEYS_DDL).format(schema=s, version=SCHEMA_VERSION).split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
            except self._psycopg.Error as exc:
                raise GalleryError(f"cannot create a gallery in {self.location}: {str(exc).strip()}") from exc
        try:
            register_vector(self._conn)
        except self._psycopg.Error as exc:
            raise GalleryError(f"pgvector is not usable in {redact_dsn(self.dsn)}: {str(exc).strip()}") from exc
        meta = dict(self._conn.execute(f"SELECT key, value FROM {s}.meta").fetchall())
        if meta.get("format") != "facerec-gallery":
            raise GalleryError(f"schema {s!r} of {redact_dsn(self.dsn)} holds no facerec gallery")
        if int(meta.get("schema_version", "0")) > SCHEMA_VERSION:
            raise GalleryError(f"{self.location} has gallery layout {meta['schema_version']}, newer than this "
                               f"facerec reads ({SCHEMA_VERSION}); upgrade facerec")
        if int(meta.get("schema_version", "0")) < 2:
            try:
                with self._conn.transaction():
                    self._conn.execute(_KEYS_DDL.format(schema=s))
                    self._conn.execute(f"UPDATE {s}.meta SET value = %s WHERE key = 'schema_version'",
                                       (str(SCHEMA_VERSION),))
            except self._psycopg.Error:  # no right to change the schema: reads work, API keys do not
                pass
        self._model_id = meta.get("model_id")

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise GalleryError(f"gallery {self.location} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction; bumps the generation on commit."""
        with self._lock:
            try:
                with self.conn.transaction():
                    yield self.conn
                    self.conn.execute(f"UPDATE {self.schema}.meta SET value = (value::bigint + 1)::text "
                                      "WHERE key = 'generation'")
            except self._psycopg.Error as exc:
                raise GalleryError(f"gallery {self.location}: {str(exc).strip()}") from exc

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return list(self.conn.execute(sql, params).fetchall())
            except self._psycopg.Error as exc:
                raise GalleryError(f"gallery {self.location}: {str(exc).strip()}") from exc

    def _vacuum(self) -> None:
        if self.vacuum_on_remove:
            with self._lock:
                try:
                    self.conn.execute(f"VACUUM {self.schema}.samples, {self.schema}.crops")
                except self._psycopg.Error:  # best effort: autovacuum will do it later
                    pass

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def drop(self) -> None:
        """Delete the whole gallery (its schema and everything in it) and close the connection."""
        with self._lock:
            self.conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.close()

    # -- model -----------------------------------------------------------------------------------------------
    @property
    def model_id(self) -> str | None:
        return self._model_id

    # -- how values come back from psycopg --------------------------------------------------------------------
    _PARAM = "%s"

    def _table(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def _metadata(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = value if isinstance(value, dict) else json.loads(value)
        return out

    def _time(self, value: Any) -> datetime:
        return _utc(value)

    def _embeddings(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        if not values:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([_vector(v) for v in values]).reshape(len(values), EMBEDDING_DIM)

    # -- people ----------------------------------------------------------------------------------------------

    def add_person(self, name: str, metadata: dict[str, Any] | None = None) -> Person:
        name = check_name(name)
        text = check_metadata(metadata)
        with self._write() as c:
            row = c.execute(f"INSERT INTO {self.schema}.people(name, metadata) VALUES (%s, %s::jsonb) "
                            "ON CONFLICT (name) DO NOTHING RETURNING id", (name, text)).fetchone()
            if row is None:
                raise NameTakenError(f"a person called {name!r} is already in gallery {self.location}")
        return self.get_person(int(row[0]))

    def rename_person(self, person: PersonRef, new_name: str) -> Person:
        new_name = check_name(new_name)
        target = self.get_person(person)
        with self._write() as c:
            clash = c.execute(f"SELECT id FROM {self.schema}.people WHERE name = %s", (new_name,)).fetchone()
            if clash and int(clash[0]) != target.id:
                raise NameTakenError(f"cannot rename {target.name!r} to {new_name!r}: that name is taken "
                                   f"(merge the two with `facerec people merge` instead)")
            c.execute(f"UPDATE {self.schema}.people SET name = %s WHERE id = %s", (new_name, target.id))
        return self.get_person(target.id)

    def set_metadata(self, person: PersonRef, metadata: dict[str, Any]) -> Person:
        text = check_metadata(metadata)
        target = self.get_person(person)
        with self._write() as c:
            c.execute(f"UPDATE {self.schema}.people SET metadata = %s::jsonb WHERE id = %s", (text, target.id))
        return self.get_person(target.id)

    def merge_people(self, source: PersonRef, target: PersonRef) -> Person:
        src, dst = self.get_person(source), self.get_person(target)
        if src.id == dst.id:
            raise ConfigurationError(f"cannot merge {src.name!r} into itself")
        s = self.schema
        with self._write() as c:
            c.execute(f"""DELETE FROM {s}.samples x WHERE x.person_id = %s AND x.source_sha256 IS NOT NULL
                          AND EXISTS (SELECT 1 FROM {s}.samples t WHERE t.person_id = %s
                                      AND t.source_sha256 = x.source_sha256 AND t.box = x.box)""", (src.id, dst.id))
            c.execute(f"UPDATE {s}.samples SET person_id = %s WHERE person_id = %s", (dst.id, src.id))
            c.execute(f"DELETE FROM {s}.people WHERE id = %s", (src.id,))
        self._vacuum()
        return self.get_person(dst.id)

    def remove_person(self, person: PersonRef) -> int:
        target = self.get_person(person)
        with self._write() as c:
            removed = c.execute(f"SELECT count(*) FROM {self.schema}.samples WHERE person_id = %s",
                                (target.id,)).fetchone()[0]
            c.execute(f"DELETE FROM {self.schema}.people WHERE id = %s", (target.id,))
        self._vacuum()
        return int(removed)

    # -- samples ---------------------------------------------------------------------------------------------
    def add_samples(self, person: PersonRef, samples: Sequence[NewSample], *, model_id: str,
                    create_person: bool = False, new: list[bool] | None = None) -> list[int]:
        vectors, target, new_name = self._check_samples(person, samples, model_id, create_person)
        s = self.schema
        ids: list[int] = []
        created: list[bool] = []
        with self._write() as c:
            if target is None and new_name is not None:
                row = c.execute(f"INSERT INTO {s}.people(name, metadata) VALUES (%s, '{{}}'::jsonb) "
                                "ON CONFLICT (name) DO NOTHING RETURNING id, created", (new_name,)).fetchone()
                if row is None:
                    row = c.execute(f"SELECT id, created FROM {s}.people WHERE name = %s", (new_name,)).fetchone()
                target = Person(id=int(row[0]), name=new_name, metadata={}, created=_utc(row[1]), sample_count=0)
            assert target is not None
            # lock the meta row: binding the model and bumping the generation are serialized
            bound = c.execute(f"SELECT value FROM {s}.meta WHERE key = 'model_id' FOR UPDATE").fetchone()
            if bound is None:
                c.execute(f"INSERT INTO {s}.meta(key, value) VALUES ('model_id', %s) ON CONFLICT (key) DO NOTHING",
                          (model_id,))
                bound = c.execute(f"SELECT value FROM {s}.meta WHERE key = 'model_id'").fetchone()
            if bound[0] != model_id:
                self._model_id = bound[0]
                self.check_model(model_id)
            if c.execute(f"SELECT 1 FROM {s}.people WHERE id = %s FOR SHARE", (target.id,)).fetchone() is None:
                raise PersonNotFoundError(f"person {target.name!r} was removed from gallery {self.location}")
            for sample, vector in zip(samples, vectors):
                box = box_to_text(sample.box)
                row = c.execute(
                    f"INSERT INTO {s}.samples(person_id, embedding, source, source_sha256, box, score, model) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                    (target.id, vector, _source_text(sample.source), sample.source_sha256, box,
                     None if sample.score is None else float(sample.score), model_id)).fetchone()
                inserted = row is not None
                if row is not None:
                    sample_id = int(row[0])
                    if sample.crop_jpeg is not None:
                        c.execute(f"INSERT INTO {s}.crops(sample_id, jpeg) VALUES (%s, %s)",
                                  (sample_id, bytes(sample.crop_jpeg)))
                else:
                    sample_id = int(c.execute(
                        f"SELECT id FROM {s}.samples WHERE person_id = %s AND source_sha256 = %s AND box = %s",
                        (target.id, sample.source_sha256, box)).fetchone()[0])
                ids.append(sample_id)
                created.append(inserted)
        self._model_id = model_id
        if new is not None:
            new.extend(created)
        return ids

    def remove_sample(self, sample_id: int) -> None:
        with self._write() as c:
            cur = c.execute(f"DELETE FROM {self.schema}.samples WHERE id = %s", (int(sample_id),))
            if cur.rowcount != 1:
                raise SampleNotFoundError(f"no sample {sample_id} in gallery {self.location}")
        self._vacuum()

    # -- search in the server --------------------------------------------------------------------------------
    def _search_state(self) -> tuple[int, dict[int, str]]:
        """The sample count and people's names, re-read only when the generation changed."""
        generation = self.generation()
        cached = self._state_cache
        if cached is None or cached[0] != generation:
            total = self.count()
            names = {int(i): n for i, n in self._read(f"SELECT id, name FROM {self.schema}.people")}
            cached = (generation, total, names)
            self._state_cache = cached
        return cached[1], cached[2]

    def search(self, queries: Any, *, model_id: str, top_k: int = 3) -> list[list[Match]]:
        """The ``top_k`` nearest people of each query, searched in the server with pgvector (see the module doc)."""
        if top_k < 1:
            raise ConfigurationError(f"top_k must be >= 1, got {top_k}")
        self.check_model(model_id)
        matrix = as_queries(queries)
        total, names = self._search_state()
        use_index = self.search_method == "hnsw" or (self.search_method == "auto" and total >= self.ann_min_samples)
        s = self.schema
        out: list[list[Match]] = []
        for query in matrix:
            pool = min(max(total, 1), 8 * top_k + 32)
            while True:
                with self._lock:
                    try:
                        with self.conn.transaction():
                            if use_index:
                                self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), pool)}")
                            else:
                                self.conn.execute("SET LOCAL enable_indexscan = off")
                            rows = self.conn.execute(
                                f"SELECT id, person_id, embedding <-> %(q)s FROM {s}.samples "
                                "ORDER BY embedding <-> %(q)s LIMIT %(n)s", {"q": query, "n": pool}).fetchall()
                    except self._psycopg.Error as exc:
                        raise GalleryError(f"gallery {self.location}: {str(exc).strip()}") from exc
                arr_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
                arr_pids = np.asarray([r[1] for r in rows], dtype=np.int64)
                arr_d = np.asarray([r[2] for r in rows], dtype=np.float64)
                ranked = nearest_people(arr_ids, arr_pids, arr_d, top_k)
                if len(ranked) == top_k or pool >= total:
                    break
                pool = min(total, pool * 4)
            out.append([Match(person_id=pid, name=names.get(pid, f"#{pid}"), distance=dist, sample_id=sid)
                        for sid, pid, dist in ranked])
        return out

    # -- upkeep ----------------------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        s = self.schema
        problems: list[str] = []
        meta = dict(self._read(f"SELECT key, value FROM {s}.meta"))
        for key in ("format", "schema_version", "generation"):
            if key not in meta:
                problems.append(f"meta has no {key!r} row")
        for (sid,) in self._read(f"SELECT id FROM {s}.samples WHERE vector_dims(embedding) != %s LIMIT 10",
                                 (EMBEDDING_DIM,)):
            problems.append(f"sample {sid} has an embedding of the wrong size")
        model = meta.get("model_id")
        if model is None:
            if self._read(f"SELECT 1 FROM {s}.samples LIMIT 1"):
                problems.append("the gallery holds samples but is bound to no model")
        else:
            for other, n in self._read(f"SELECT model, count(*) FROM {s}.samples WHERE model != %s GROUP BY model",
                                       (model,)):
                problems.append(f"{n} samples were made by model {other!r}, not the gallery's {model!r}")
        for (sid,) in self._read(f"SELECT x.id FROM {s}.samples x LEFT JOIN {s}.people p ON p.id = x.person_id "
                                 "WHERE p.id IS NULL LIMIT 10"):
            problems.append(f"sample {sid} belongs to no person")
        for (sid,) in self._read(f"SELECT c.sample_id FROM {s}.crops c LEFT JOIN {s}.samples x "
                                 "ON x.id = c.sample_id WHERE x.id IS NULL LIMIT 10"):
            problems.append(f"crop of sample {sid} belongs to no sample")
        invalid = self._read("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = %s AND NOT i.indisvalid", (s,))
        problems.extend(f"index {r[0]} is invalid" for r in invalid)
        return problems


def _source_text(source: str | None) -> str | None:
    """A sample's source file name as storable text (undecodable bytes of the name as ``\\xNN``)."""
    return None if source is None else display_text(source)
