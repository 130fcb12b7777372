"""People from the faces of a photo library: incremental clustering, naming, splitting, rejecting, finding.

:func:`core_point_clusters` is the clustering, after Immich's face-recognition job (a nearest-neighbour search per
new face with a minimum number of faces for a "core" face): it runs over the faces that are in no cluster yet and
leaves every existing cluster as it is, so re-runs never undo what a person named, split or rejected.

1. *Core faces*, in the order they were stored: a face with at least ``min_faces`` faces (itself included) within
   ``distance_threshold`` among its ``k`` nearest is a core face. It joins the cluster of its nearest neighbour
   that has one (and that it was not rejected from); with none, it starts a new cluster.
2. *Other faces* (too few close neighbours: a rare face, or the first faces of someone new) join the cluster of
   their nearest clustered neighbour within the threshold, or stay unclustered until later photos bring
   neighbours (the next run looks at them again).

:func:`cluster_library` runs it on a library and enrolls the new faces of named clusters in the gallery;
:func:`name_cluster` names a cluster (its faces become samples of that gallery person, so ``identify`` knows them);
:func:`split_faces` moves chosen faces out into a cluster of their own; :func:`reject_faces` takes faces out of a
person for good (they never rejoin any cluster named as that person); :func:`photos_of` lists the photos of one
person, or those where several people appear together.

Why not the agglomerative clustering of :mod:`facerec.recognition`: it needs all ``n * (n - 1) / 2`` distances in
memory (0.4 GB for 10,000 faces, 4 TB for a million) and regroups everything on every run; this scheme needs ``k``
neighbours per *new* face. Their pairwise precision and recall on LFW: ``docs/BENCHMARKS.md`` ("Photo library").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.gallery import Gallery, GalleryError, NewSample, PersonNotFoundError
from facerec.library.records import LibraryError, StoredFace
from facerec.library.store import PhotoStore

__all__ = [
    "ANN_MIN_FACES",
    "DEFAULT_CLUSTER_DISTANCE",
    "DEFAULT_MIN_FACES",
    "DEFAULT_NEIGHBOURS",
    "ClusterRun",
    "cluster_library",
    "core_point_clusters",
    "name_cluster",
    "nearest_neighbours",
    "photos_of",
    "reject_faces",
    "split_faces",
]

#: How close (Euclidean, dlib embeddings) a neighbour must be to count. Lower is stricter: purer, smaller clusters.
#: 0.45 rather than the best-F1 0.5 of a 1,000-photo LFW library, because joining the nearest neighbour's cluster
#: chains people together as a library grows: on 1,000 photos precision is 0.955 at 0.45 and 0.88 at 0.5, on all
#: 7,701 photos of LFW's pairs 0.69 and 0.27 (docs/BENCHMARKS.md, "Photo library").
DEFAULT_CLUSTER_DISTANCE = 0.45

#: Faces (the face itself included) within the distance that make a face a core face (Immich's ``minFaces``: 3).
DEFAULT_MIN_FACES = 3

#: Nearest neighbours looked at per face.
DEFAULT_NEIGHBOURS = 16

#: From this many faces on the neighbours come from an HNSW index (hnswlib, the ``gallery`` extra) instead of exact
#: search, whose cost grows with (new faces) x (all faces).
ANN_MIN_FACES = 50_000


def _hnsw_neighbours(queries: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32], k: int
                     ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    import hnswlib

    index = hnswlib.Index(space="l2", dim=vectors.shape[1])
    index.init_index(max_elements=len(vectors), M=16, ef_construction=100, random_seed=0)
    index.add_items(np.ascontiguousarray(vectors, dtype=np.float32), np.arange(len(vectors)))
    index.set_ef(max(128, 4 * k))
    labels, squared = index.knn_query(np.ascontiguousarray(queries, dtype=np.float32), k=k)
    return labels.astype(np.int64), np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)


def nearest_neighbours(queries: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32], k: int, *,
                       block: int = 512, method: str = "auto"
                       ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The ``k`` nearest rows of ``vectors`` for each query.

    Args:
        queries, vectors: ``(n, 128)`` embeddings.
        k: neighbours per query.
        block: queries per block of the exact search (bounds its memory to ``block * len(vectors)`` floats).
        method: ``"exact"`` (numpy), ``"hnsw"`` (hnswlib, approximate) or ``"auto"`` (HNSW from
            :data:`ANN_MIN_FACES` vectors on, when hnswlib is installed).

    Returns:
        ``(indices, distances)``, both ``(len(queries), min(k, len(vectors)))``, nearest first.
    """
    if method not in ("auto", "exact", "hnsw"):
        raise ConfigurationError(f"method must be 'auto', 'exact' or 'hnsw', got {method!r}")
    k = min(k, len(vectors))
    if k > 0 and len(queries) > 0 and (method == "hnsw" or (method == "auto" and len(vectors) >= ANN_MIN_FACES)):
        try:
            return _hnsw_neighbours(queries, vectors, k)
        except ImportError:
            if method == "hnsw":
                raise ConfigurationError("HNSW neighbours need hnswlib: pip install 'facerec[gallery]'") from None
    out_i = np.zeros((len(queries), k), dtype=np.int64)
    out_d = np.zeros((len(queries), k), dtype=np.float32)
    if k == 0 or len(queries) == 0:
        return out_i, out_d
    base = np.ascontiguousarray(vectors, dtype=np.float32)
    base_sq = np.einsum("ij,ij->i", base, base)
    for start in range(0, len(queries), block):
        q = np.ascontiguousarray(queries[start:start + block], dtype=np.float32)
        d2 = base_sq[None, :] - 2.0 * (q @ base.T) + np.einsum("ij,ij->i", q, q)[:, None]
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(base) else np.tile(np.arange(len(base)),
                                                                                         (len(q), 1))
        rows = np.arange(len(q))[:, None]
        order = np.argsort(d2[rows, part], axis=1)
        idx = part[rows, order]
        out_i[start:start + len(q)] = idx
        out_d[start:start + len(q)] = np.sqrt(np.maximum(d2[rows, idx], 0.0))
    return out_i, out_d


def core_point_clusters(vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], *,
                        distance_threshold: float = DEFAULT_CLUSTER_DISTANCE, min_faces: int = DEFAULT_MIN_FACES,
                        k: int = DEFAULT_NEIGHBOURS, forbidden: dict[int, set[int]] | None = None,
                        method: str = "auto") -> npt.NDArray[np.int64]:
    """Cluster the faces labelled ``-1``, leaving the others' labels as they are (see the module docstring).

    Args:
        vectors: ``(n, 128)`` embeddings of every face.
        labels: ``(n,)`` cluster of each face, ``-1`` for faces to cluster.
        distance_threshold: how close a neighbour must be. Lower is stricter; 0.45 is typical.
        min_faces: faces within the threshold (itself included) that make a core face; 3 is typical.
        k: neighbours looked at per face.
        forbidden: row -> clusters that face must not join (rejections).
        method: how neighbours are found (see :func:`nearest_neighbours`).

    Returns:
        ``(n,)`` labels: existing ones kept, new clusters numbered from ``max(labels) + 1``, ``-1`` for faces
        left unclustered.
    """
    if not distance_threshold > 0:
        raise ConfigurationError(f"distance_threshold must be > 0, got {distance_threshold}")
    if min_faces < 1 or k < 1:
        raise ConfigurationError(f"min_faces and k must be >= 1, got {min_faces} and {k}")
    out: npt.NDArray[np.int64] = np.array(labels, dtype=np.int64)
    todo = np.flatnonzero(out == -1)
    if len(todo) == 0:
        return out
    forbid = forbidden or {}
    indices, distances = nearest_neighbours(np.asarray(vectors)[todo], np.asarray(vectors), max(k, min_faces),
                                            method=method)
    next_label = int(out.max(initial=-1)) + 1
    deferred: list[int] = []

    def clustered_neighbour(pos: int, row: int) -> int:
        for j, dist in zip(indices[pos], distances[pos]):
            if dist > distance_threshold:
                break
            label = int(out[j])
            if j != row and label >= 0 and label not in forbid.get(row, ()):
                return label
        return -1

    for pos, row in enumerate(todo.tolist()):
        close = int((distances[pos] <= distance_threshold).sum())
        if close < min_faces:
            deferred.append(pos)
            continue
        label = clustered_neighbour(pos, row)
        if label < 0:
            label = next_label
            next_label += 1
        out[row] = label
    for pos in deferred:
        row = int(todo[pos])
        out[row] = clustered_neighbour(pos, row)
    return out


@dataclass(frozen=True)
class ClusterRun:
    """What :func:`cluster_library` did.

    Attributes:
        considered: faces that were in no cluster.
        assigned: of them, faces put into a cluster (new or existing).
        new_clusters: clusters started.
        enrolled: faces added as gallery samples of a named person.
    """

    considered: int
    assigned: int
    new_clusters: int
    enrolled: int


def _forbidden(store: PhotoStore, row_of: dict[int, int]) -> dict[int, set[int]]:
    """Rejections as row -> clusters, widened to every cluster named as the same person."""
    named: dict[int, list[int]] = {}
    for summary in store.clusters(named=True, shown=0):
        if summary.person_id is not None:
            named.setdefault(summary.person_id, []).append(summary.id)
    person_of = {cid: pid for pid, cids in named.items() for cid in cids}
    out: dict[int, set[int]] = {}
    for face_id, cluster_id in store.rejections():
        row = row_of.get(face_id)
        if row is None:
            continue
        person = person_of.get(cluster_id)
        out.setdefault(row, set()).update(named[person] if person is not None else [cluster_id])
    return out


def cluster_library(store: PhotoStore, gallery: Gallery | None = None, *,
                    distance_threshold: float = DEFAULT_CLUSTER_DISTANCE, min_faces: int = DEFAULT_MIN_FACES,
                    k: int = DEFAULT_NEIGHBOURS) -> ClusterRun:
    """Cluster the library's unclustered faces (existing clusters untouched), then enroll in ``gallery`` the faces
    that joined named clusters.

    Args:
        store: the library.
        gallery: the gallery of its named people (``None``: enroll nothing now; the next run with a gallery does).
        distance_threshold, min_faces, k: see :func:`core_point_clusters`.
    """
    table = store.face_table()
    unclustered = int((table.clusters == -1).sum())
    if unclustered == 0:
        return ClusterRun(0, 0, 0, _enroll_pending(store, gallery))
    row_of = {int(f): i for i, f in enumerate(table.ids)}
    labels = core_point_clusters(table.vectors, table.clusters, distance_threshold=distance_threshold,
                                 min_faces=min_faces, k=k, forbidden=_forbidden(store, row_of))
    first_new = int(table.clusters.max(initial=-1)) + 1
    new_ids: dict[int, int] = {}
    pairs: list[tuple[int, int]] = []
    for row in np.flatnonzero((table.clusters == -1) & (labels >= 0)):
        label = int(labels[row])
        if label >= first_new and label not in new_ids:
            new_ids[label] = store.new_cluster()
        pairs.append((int(table.ids[row]), new_ids.get(label, label)))
    store.assign(pairs)
    return ClusterRun(unclustered, len(pairs), len(new_ids), _enroll_pending(store, gallery))


def _samples(store: PhotoStore, faces: Sequence[StoredFace]) -> list[NewSample]:
    vectors = store.embeddings([f.id for f in faces])
    return [NewSample(embedding=v, source=f.path, source_sha256=store.photo_sha(f.photo_id), box=f.box,
                      score=f.score, crop_jpeg=store.crop(f.id)) for f, v in zip(faces, vectors)]


def _model(store: PhotoStore) -> str:
    model = store.model_id()
    if model is None:
        raise LibraryError(f"photo library {store.location} holds no faces yet: run `facerec index` first")
    return model


def _enroll_pending(store: PhotoStore, gallery: Gallery | None) -> int:
    if gallery is None:
        return 0
    pending = store.unenrolled_faces()
    by_person: dict[int, list[StoredFace]] = {}
    for face in pending:
        if face.person_id is not None:
            by_person.setdefault(face.person_id, []).append(face)
    enrolled = 0
    for person_id, faces in by_person.items():
        try:
            gallery.get_person(person_id)
        except PersonNotFoundError:  # the person was removed from the gallery: leave the faces as they are
            continue
        ids = gallery.add_samples(person_id, _samples(store, faces), model_id=_model(store))
        store.set_samples([(f.id, s) for f, s in zip(faces, ids)])
        enrolled += len(faces)
    return enrolled


def name_cluster(store: PhotoStore, gallery: Gallery, cluster_id: int, name: str) -> int:
    """Name a cluster: its faces become samples of the gallery person ``name`` (added when missing; naming two
    clusters alike makes them one person).

    Returns:
        How many faces were enrolled.

    Raises:
        LibraryError: no such cluster, or the library holds no faces.
        ModelMismatchError: the gallery holds embeddings of another model.
    """
    store.cluster_person(cluster_id)
    faces = store.faces_of_cluster(cluster_id)
    if not faces:
        raise LibraryError(f"cluster {cluster_id} holds no faces")
    ids = gallery.add_samples(name, _samples(store, faces), model_id=_model(store), create_person=True)
    person = gallery.get_person(name)
    store.name_cluster(cluster_id, person.id)
    store.set_samples([(f.id, s) for f, s in zip(faces, ids)])
    return len(faces)


def _unenroll(store: PhotoStore, gallery: Gallery | None, face_ids: Sequence[int]) -> None:
    if gallery is None:
        return
    for sample_id in store.samples_of(face_ids).values():
        try:
            gallery.remove_sample(sample_id)
        except GalleryError:  # removed from the gallery already (e.g. with the person)
            pass


def _check_faces(store: PhotoStore, face_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(i) for i in face_ids})
    if not ids:
        raise ConfigurationError("name at least one face id")
    found = {f.id for f in store.faces(ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise LibraryError(f"no face {', '.join(map(str, missing))} in photo library {store.location}")
    return ids


def split_faces(store: PhotoStore, gallery: Gallery | None, face_ids: Sequence[int]) -> int:
    """Move faces out of their clusters into one new cluster of their own (undoing a wrong merge); they also stop
    being samples of the person their old cluster was named as.

    Returns:
        The new cluster's id.
    """
    ids = _check_faces(store, face_ids)
    _unenroll(store, gallery, ids)
    new_id = store.move_out(ids, reject=False)
    assert new_id is not None
    return new_id


def reject_faces(store: PhotoStore, gallery: Gallery | None, face_ids: Sequence[int]) -> int:
    """Take faces out of their clusters for good: they are not that person, and no later clustering puts them back
    into any cluster named as that person (or into the same unnamed cluster).

    Returns:
        How many faces were taken out.
    """
    ids = _check_faces(store, face_ids)
    _unenroll(store, gallery, ids)
    store.move_out(ids, reject=True)
    return len(ids)


def photos_of(store: PhotoStore, gallery: Gallery, names: Sequence[str]) -> list[str]:
    """The photos in which every one of ``names`` appears, by path.

    Raises:
        PersonNotFoundError: a name is not in the gallery.
    """
    if not names:
        raise ConfigurationError("name at least one person")
    return store.photos_of([gallery.get_person(name).id for name in names])
