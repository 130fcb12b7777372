"""Where a photo library lives: :class:`PhotoStore` and its tables beside a gallery's (opened by
:func:`facerec.library.factory.open_store`).

The library's tables sit in the same SQLite file or PostgreSQL schema as the gallery (``library_meta``,
``library_photos``, ``library_failures``, ``library_clusters``, ``library_faces``, ``library_rejections``); they
are created by :meth:`PhotoStore._create_schema` (idempotent) after the gallery's own tables, and no gallery table
is touched. A cluster that is named points at a gallery person by id; its faces are enrolled through the
gallery's :meth:`~facerec.gallery.Gallery.add_samples` (see :mod:`facerec.library.people`).

Writes come in batches: :meth:`PhotoStore.write_batch` stores a batch of photos with all their faces in one
transaction, so a crash loses at most the batches in flight and never leaves a photo with half its faces. A photo
is unique by the SHA-256 of its bytes: writing it again stores nothing (``ON CONFLICT DO NOTHING``).

Queries are written once with ``?`` placeholders; :meth:`PhotoStore._sql` turns them into the backend's.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from facerec.filenames import display_path
from facerec.gallery import records
from facerec.gallery.records import box_to_text
from facerec.library.records import ClusterSummary, LibraryError, PhotoResult, StoredFace
from facerec.types import Box

S = TypeVar("S", bound="PhotoStore")

__all__ = ["SCHEMA_VERSION", "BatchOutcome", "FaceTable", "PhotoStore", "box_from_text", "box_to_text",
           "storable_path"]

#: The version of the library's tables written by this code.
SCHEMA_VERSION = 1

#: Length of the embeddings a library stores.
EMBEDDING_DIM = 128


def box_from_text(text: str) -> Box:
    """A stored face's box (``"left,top,right,bottom"``, written by :func:`box_to_text`)."""
    box = records.box_from_text(text)
    if box is None:
        raise LibraryError("a stored face has no box")
    return box


def storable_path(path: str) -> str:
    """A path as text a database accepts: undecodable bytes of a file name become ``\\xNN`` escapes
    (:func:`facerec.filenames.display_path`, the rule the gallery and the CLI use)."""
    return display_path(path)


@dataclass(frozen=True)
class BatchOutcome:
    """What one :meth:`PhotoStore.write_batch` stored.

    Attributes:
        photos: photos newly stored.
        faces: their faces.
        duplicates: photos whose bytes were stored already (under this or another path).
        failures: photos recorded as failed.
    """

    photos: int = 0
    faces: int = 0
    duplicates: int = 0
    failures: int = 0


@dataclass(frozen=True, eq=False)
class FaceTable:
    """Faces in bulk, aligned by row: face ``ids[i]`` has ``vectors[i]`` and is in cluster ``clusters[i]``
    (``-1``: none)."""

    ids: npt.NDArray[np.int64]
    clusters: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.ids)


class PhotoStore(abc.ABC):
    """The tables of a photo library in a SQL database (SQLite or PostgreSQL).

    Use it as a context manager (or call :meth:`close`).
    """

    #: A printable name of where it lives.
    location: str = ""
    #: the driver's parameter placeholder
    _PARAM = "?"

    # -- the backend ------------------------------------------------------------------------------------------
    def _table(self, name: str) -> str:
        return f"library_{name}"

    def _sql(self, query: str) -> str:
        names = ("meta", "photos", "failures", "clusters", "faces", "rejections")
        return query.format(**{n: self._table(n) for n in names}).replace("?", self._PARAM)

    @abc.abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read-only query (in the backend's SQL)."""

    @abc.abstractmethod
    def _execute(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run some writes (in the backend's SQL) in one transaction."""

    @abc.abstractmethod
    def _vectors(self, values: Sequence[Any]) -> npt.NDArray[np.float32]:
        """Stored embeddings as an ``(n, 128)`` float32 array."""

    @abc.abstractmethod
    def write_batch(self, results: Sequence[PhotoResult], *, model_id: str) -> BatchOutcome:
        """Store a batch of analysed photos, with all their faces, and record the failed ones; one transaction.

        A photo whose SHA-256 is stored already adds nothing (a duplicate). A failed photo replaces an older
        failure of the same path; a photo stored now clears its path's failure.

        Raises:
            LibraryError: the library is bound to another embedding model, or the write failed (nothing of the
                batch is stored then).
        """

    @abc.abstractmethod
    def new_cluster(self) -> int:
        """Add an empty cluster; its id."""

    def _check_layout(self, version: int) -> None:
        """Close and refuse a library written by a newer facerec (its tables' layout ``version``)."""
        if version > SCHEMA_VERSION:
            self.close()
            raise LibraryError(f"{self.location} has photo-library layout {version}, newer than this facerec reads "
                               f"({SCHEMA_VERSION}); upgrade facerec")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # -- the model ----------------------------------------------------------------------------------------------
    def model_id(self) -> str | None:
        """The embedding model the library's faces were made by (``None`` while it holds none)."""
        rows = self._read(self._sql("SELECT value FROM {meta} WHERE key = 'model_id'"))
        return str(rows[0][0]) if rows else None

    def check_model(self, model_id: str) -> None:
        """Raise :class:`LibraryError` when the library's faces come from another model than ``model_id``."""
        bound = self.model_id()
        if bound is not None and bound != model_id:
            raise LibraryError(f"photo library {self.location} holds embeddings of model {bound!r}, not "
                               f"{model_id!r}: index with the same detector/embedder options, or use a new library")

    # -- what is stored -----------------------------------------------------------------------------------------
    def known_files(self) -> dict[str, tuple[int, int]]:
        """``path -> (size_bytes, mtime_ns)`` of every stored or failed photo (to skip unchanged files unread)."""
        out: dict[str, tuple[int, int]] = {}
        for table in ("{photos}", "{failures}"):
            for path, size, mtime in self._read(self._sql(f"SELECT path, size_bytes, mtime_ns FROM {table}")):
                out[str(path)] = (int(size or -1), int(mtime or -1))
        return out

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Which of ``hashes`` are stored photos."""
        wanted = list(dict.fromkeys(hashes))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(str(r[0]) for r in self._read(
                self._sql(f"SELECT sha256 FROM {{photos}} WHERE sha256 IN ({marks})"), chunk))
        return found

    def counts(self) -> dict[str, int]:
        """How many photos, faces, failed photos and clusters (named ones too) the library holds."""
        def one(sql: str) -> int:
            return int(self._read(self._sql(sql))[0][0])

        return {"photos": one("SELECT count(*) FROM {photos}"), "faces": one("SELECT count(*) FROM {faces}"),
                "failures": one("SELECT count(*) FROM {failures}"),
                "clusters": one("SELECT count(DISTINCT cluster_id) FROM {faces} WHERE cluster_id IS NOT NULL"),
                "named_clusters": one("SELECT count(*) FROM {clusters} c WHERE person_id IS NOT NULL AND "
                                      "EXISTS (SELECT 1 FROM {faces} f WHERE f.cluster_id = c.id)"),
                "unassigned_faces": one("SELECT count(*) FROM {faces} WHERE cluster_id IS NULL")}

    def failures(self) -> list[tuple[str, str]]:
        """``(path, reason)`` of every photo that failed, by path."""
        return [(str(p), str(r)) for p, r in self._read(self._sql("SELECT path, reason FROM {failures} ORDER BY path"))]

    def photos(self) -> list[tuple[int, str, str, int]]:
        """``(id, path, sha256, face_count)`` of every stored photo, by id."""
        return [(int(i), str(p), str(s), int(n)) for i, p, s, n in self._read(
            self._sql("SELECT id, path, sha256, face_count FROM {photos} ORDER BY id"))]

    def face_table(self, *, unassigned_only: bool = False) -> FaceTable:
        """Every face's id, cluster and embedding (or only the faces in no cluster), by id."""
        where = "WHERE cluster_id IS NULL " if unassigned_only else ""
        rows = self._read(self._sql(f"SELECT id, cluster_id, embedding FROM {{faces}} {where}ORDER BY id"))
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        clusters = np.asarray([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
        return FaceTable(ids, clusters, self._vectors([r[2] for r in rows]))

    def _stored_faces(self, where: str, params: Sequence[Any]) -> list[StoredFace]:
        rows = self._read(self._sql(
            "SELECT f.id, f.photo_id, p.path, f.box, f.score, f.cluster_id, c.person_id FROM {faces} f "
            "JOIN {photos} p ON p.id = f.photo_id LEFT JOIN {clusters} c ON c.id = f.cluster_id "
            f"WHERE {where} ORDER BY f.id"), params)
        return [StoredFace(id=int(r[0]), photo_id=int(r[1]), path=str(r[2]), box=box_from_text(r[3]),
                           score=None if r[4] is None else float(r[4]),
                           cluster_id=None if r[5] is None else int(r[5]),
                           person_id=None if r[6] is None else int(r[6])) for r in rows]

    def faces(self, face_ids: Sequence[int]) -> list[StoredFace]:
        """Some faces, by id (missing ids are left out)."""
        ids = [int(i) for i in face_ids]
        if not ids:
            return []
        return self._stored_faces(f"f.id IN ({', '.join('?' * len(ids))})", ids)

    def faces_of_photo(self, photo_id: int) -> list[StoredFace]:
        """The faces of one photo."""
        return self._stored_faces("f.photo_id = ?", [int(photo_id)])

    def faces_of_cluster(self, cluster_id: int) -> list[StoredFace]:
        """The faces of one cluster."""
        return self._stored_faces("f.cluster_id = ?", [int(cluster_id)])

    def faces_of_person(self, person_id: int) -> list[StoredFace]:
        """The faces of every cluster named as one gallery person."""
        return self._stored_faces("c.person_id = ?", [int(person_id)])

    def embeddings(self, face_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The embeddings of some faces, in the order given."""
        ids = [int(i) for i in face_ids]
        if not ids:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        rows = dict(self._read(self._sql(f"SELECT id, embedding FROM {{faces}} WHERE id IN "
                                         f"({', '.join('?' * len(ids))})"), ids))
        return self._vectors([rows[i] for i in ids if i in rows])

    def crop(self, face_id: int) -> bytes | None:
        """The JPEG thumbnail of a face, or ``None``."""
        rows = self._read(self._sql("SELECT crop_jpeg FROM {faces} WHERE id = ?"), [int(face_id)])
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def photo_sha(self, photo_id: int) -> str:
        """The SHA-256 of a stored photo."""
        return str(self._read(self._sql("SELECT sha256 FROM {photos} WHERE id = ?"), [int(photo_id)])[0][0])

    # -- clusters -----------------------------------------------------------------------------------------------
    def clusters(self, *, named: bool | None = None, shown: int = 6) -> list[ClusterSummary]:
        """The clusters that hold faces, largest first (``named``: only named / only unnamed ones)."""
        where = "" if named is None else ("WHERE c.person_id IS NOT NULL" if named else "WHERE c.person_id IS NULL")
        rows = self._read(self._sql(
            f"SELECT c.id, count(f.id), c.person_id FROM {{clusters}} c JOIN {{faces}} f ON f.cluster_id = c.id "
            f"{where} GROUP BY c.id, c.person_id ORDER BY count(f.id) DESC, c.id"))
        out = []
        for cid, size, person in rows:
            shown_ids = self._read(self._sql("SELECT id FROM {faces} WHERE cluster_id = ? "
                                             "ORDER BY score DESC, id LIMIT ?"), [int(cid), shown])
            out.append(ClusterSummary(id=int(cid), size=int(size), person_id=None if person is None else int(person),
                                      face_ids=tuple(int(r[0]) for r in shown_ids)))
        return out

    def cluster_person(self, cluster_id: int) -> int | None:
        """The gallery person a cluster is named as (``None``: unnamed).

        Raises:
            LibraryError: no such cluster.
        """
        rows = self._read(self._sql("SELECT person_id FROM {clusters} WHERE id = ?"), [int(cluster_id)])
        if not rows:
            raise LibraryError(f"no cluster {cluster_id} in photo library {self.location} "
                               "(see `facerec people suggest`)")
        return None if rows[0][0] is None else int(rows[0][0])

    def clusters_of_person(self, person_id: int) -> list[int]:
        """The clusters named as one gallery person."""
        return [int(r[0]) for r in self._read(self._sql("SELECT id FROM {clusters} WHERE person_id = ? ORDER BY id"),
                                              [int(person_id)])]

    def rejections(self) -> set[tuple[int, int]]:
        """Every ``(face_id, cluster_id)`` pair that must stay apart."""
        return {(int(f), int(c)) for f, c in self._read(self._sql("SELECT face_id, cluster_id FROM {rejections}"))}

    def assign(self, assignments: Sequence[tuple[int, int]]) -> None:
        """Put faces into clusters, ``(face_id, cluster_id)`` each; one transaction."""
        if assignments:
            self._execute([(self._sql("UPDATE {faces} SET cluster_id = ? WHERE id = ?"), [int(c), int(f)])
                           for f, c in assignments])

    def name_cluster(self, cluster_id: int, person_id: int) -> None:
        """Record that a cluster is the gallery person ``person_id``."""
        self.cluster_person(cluster_id)
        self._execute([(self._sql("UPDATE {clusters} SET person_id = ? WHERE id = ?"),
                        [int(person_id), int(cluster_id)])])

    def set_samples(self, pairs: Sequence[tuple[int, int | None]]) -> None:
        """Record the gallery sample made from each face, ``(face_id, sample_id)`` each (``None``: none)."""
        if pairs:
            self._execute([(self._sql("UPDATE {faces} SET sample_id = ? WHERE id = ?"),
                            [None if s is None else int(s), int(f)]) for f, s in pairs])

    def samples_of(self, face_ids: Sequence[int]) -> dict[int, int]:
        """``face_id -> gallery sample id`` of those faces that have one."""
        ids = [int(i) for i in face_ids]
        if not ids:
            return {}
        rows = self._read(self._sql(f"SELECT id, sample_id FROM {{faces}} WHERE sample_id IS NOT NULL AND id IN "
                                    f"({', '.join('?' * len(ids))})"), ids)
        return {int(f): int(s) for f, s in rows}

    def unenrolled_faces(self) -> list[StoredFace]:
        """Faces of named clusters that have no gallery sample yet."""
        return self._stored_faces("c.person_id IS NOT NULL AND f.sample_id IS NULL", [])

    def move_out(self, face_ids: Sequence[int], *, reject: bool) -> int | None:
        """Take faces out of their clusters, in one transaction.

        Args:
            face_ids: the faces.
            reject: ``True``: the faces return to no cluster and may never join their old cluster again (they are
                not that person); ``False``: they form one new cluster of their own (a split), returned.
        """
        faces = self.faces(face_ids)
        statements: list[tuple[str, Sequence[Any]]] = []
        new_id: int | None = None if reject else self.new_cluster()
        for face in faces:
            if face.cluster_id is not None:
                statements.append((self._sql("INSERT INTO {rejections}(face_id, cluster_id) VALUES (?, ?) "
                                             "ON CONFLICT DO NOTHING"), [face.id, face.cluster_id]))
            statements.append((self._sql("UPDATE {faces} SET cluster_id = ?, sample_id = NULL WHERE id = ?"),
                               [new_id, face.id]))
        self._execute(statements)
        return new_id

    def photos_of(self, person_ids: Sequence[int]) -> list[str]:
        """The photos in which every one of ``person_ids`` appears (a face in a cluster named as them), by path."""
        ids = sorted({int(p) for p in person_ids})
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self._read(self._sql(
            "SELECT p.path FROM {photos} p JOIN {faces} f ON f.photo_id = p.id "
            "JOIN {clusters} c ON c.id = f.cluster_id "
            f"WHERE c.person_id IN ({marks}) GROUP BY p.id, p.path HAVING count(DISTINCT c.person_id) = ? "
            "ORDER BY p.path"), [*ids, len(ids)])
        return [str(r[0]) for r in rows]

