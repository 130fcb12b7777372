"""Nearest-person search over a gallery's embeddings: exact (numpy) and approximate (hnswlib's HNSW).

A person's distance to a query is the Euclidean distance to the person's *nearest* sample. Both searchers rank
samples by distance and walk down that list until ``top_k`` distinct people are seen, which gives exactly the
per-person minimum for the exact searcher.

* :class:`ExactSearch` computes every distance (``||q||² + ||x||² - 2 q·x`` with cached norms): about 2 ms per query
  at 100,000 samples and 20-30 ms at 1,000,000 (docs/BENCHMARKS.md).
* :class:`HnswSearch` wraps an ``hnswlib`` index (``M=16``, ``ef_construction=200``). Samples are added as they
  arrive and marked deleted when removed, so the index is never rebuilt from scratch. On face-like data it keeps
  recall@1 >= 0.99 against exact search at ``ef=512`` up to 100,000 samples, but only 0.858 at ``ef=1024`` at
  1,000,000 samples (docs/BENCHMARKS.md), so it is not chosen automatically in the measured range.
* :class:`GallerySearcher` keeps one of the two in step with a :class:`~facerec.gallery.base.Gallery`: exact below
  :data:`ANN_MIN_SAMPLES` samples, HNSW from there on (when ``hnswlib`` is installed: the ``gallery`` extra).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.gallery.base import EMBEDDING_DIM, Match

if TYPE_CHECKING:
    from facerec.gallery.base import Gallery

__all__ = [
    "ANN_MIN_SAMPLES",
    "DEFAULT_EF",
    "ExactSearch",
    "GallerySearcher",
    "HnswSearch",
    "SearchMethod",
    "as_queries",
    "default_ef",
    "hnswlib_available",
    "nearest_people",
]

#: Galleries smaller than this are searched exactly. HNSW (M=16) fell to recall@1 0.858 at ef 1024 on 1,000,000
#: face-like samples while exact search took 37 ms p50 there (docs/BENCHMARKS.md), so exact search is kept up to
#: 2,000,000 samples; ``GallerySearcher(method="hnsw")`` forces the index for users who accept its measured recall.
ANN_MIN_SAMPLES = 2_000_000

#: HNSW search depth. Higher is more accurate and slower. On face-like data at 100,000 samples recall@1 against
#: exact search was 0.984 at 256 and 0.997 at 512 (docs/BENCHMARKS.md).
DEFAULT_EF = 512


def default_ef(size: int) -> int:
    """The HNSW search depth for a gallery of ``size`` samples: :data:`DEFAULT_EF`, doubled from 500,000 samples
    (ENVIRONMENT.md measured recall@1 0.999 at ef 1024 on its 1,000,000 face-like samples; on facerec's more
    crowded synthetic set it was 0.858, see docs/BENCHMARKS.md)."""
    return DEFAULT_EF if size < 500_000 else 2 * DEFAULT_EF

SearchMethod = Literal["auto", "exact", "hnsw"]

#: ``(sample_id, person_id, distance)`` rows for one query, nearest first.
Ranked = list[tuple[int, int, float]]


def as_queries(queries: Any) -> npt.NDArray[np.float32]:
    """Query embeddings as a finite ``(n, 128)`` float32 matrix."""
    arr = np.ascontiguousarray(queries, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != EMBEDDING_DIM:
        raise ConfigurationError(f"query embeddings must have shape (n, {EMBEDDING_DIM}), got {np.shape(queries)}")
    if not np.isfinite(arr).all():
        raise ConfigurationError("query embeddings hold NaN or infinite values")
    return arr


def hnswlib_available() -> bool:
    """Whether ``hnswlib`` can be imported (``pip install 'facerec[gallery]'``)."""
    try:
        import hnswlib  # noqa: F401
    except ImportError:
        return False
    return True


def nearest_people(sample_ids: npt.NDArray[np.int64], person_ids: npt.NDArray[np.int64],
                   distances: npt.NDArray[np.floating[Any]], top_k: int) -> Ranked:
    """The first ``top_k`` distinct people in rows already sorted by distance, with each one's nearest sample."""
    seen: set[int] = set()
    out: Ranked = []
    for sid, pid, dist in zip(sample_ids.tolist(), person_ids.tolist(), distances.tolist()):
        if pid in seen:
            continue
        seen.add(pid)
        out.append((sid, pid, float(dist)))
        if len(out) == top_k:
            break
    return out


class ExactSearch:
    """Exact nearest-people search over embeddings held in memory.

    Args:
        sample_ids, person_ids: ``(n,)`` int64 ids, aligned with ``vectors``.
        vectors: ``(n, 128)`` float32 embeddings.
    """

    def __init__(self, sample_ids: npt.NDArray[np.int64], person_ids: npt.NDArray[np.int64],
                 vectors: npt.NDArray[np.float32]) -> None:
        self.sample_ids = np.ascontiguousarray(sample_ids, dtype=np.int64)
        self.person_ids = np.ascontiguousarray(person_ids, dtype=np.int64)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        self._norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    def __len__(self) -> int:
        return len(self.sample_ids)

    def add(self, sample_ids: npt.NDArray[np.int64], person_ids: npt.NDArray[np.int64],
            vectors: npt.NDArray[np.float32]) -> None:
        """Append samples."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM)
        self.sample_ids = np.concatenate([self.sample_ids, np.asarray(sample_ids, dtype=np.int64)])
        self.person_ids = np.concatenate([self.person_ids, np.asarray(person_ids, dtype=np.int64)])
        self.vectors = np.concatenate([self.vectors, vectors])
        self._norms = np.concatenate([self._norms, np.einsum("ij,ij->i", vectors, vectors)])

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Keep only the rows where ``mask`` is true."""
        self.sample_ids = self.sample_ids[mask]
        self.person_ids = self.person_ids[mask]
        self.vectors = self.vectors[mask]
        self._norms = self._norms[mask]

    def search(self, queries: npt.NDArray[np.float32], top_k: int) -> list[Ranked]:
        """The ``top_k`` nearest people of each query (exact)."""
        n = len(self.sample_ids)
        if n == 0:
            return [[] for _ in range(len(queries))]
        out: list[Ranked] = []
        chunk = max(1, 8_000_000 // n)  # bound the (queries x samples) distance matrix to ~32 MB
        for start in range(0, len(queries), chunk):
            block = queries[start:start + chunk]
            squared = self._norms[None, :] - 2.0 * (block @ self.vectors.T)
            squared += np.einsum("ij,ij->i", block, block)[:, None]
            for q, row in zip(block, squared):
                out.append(self._people(q, row, top_k))
        return out

    def _people(self, query: npt.NDArray[np.float32], squared: npt.NDArray[np.float32], top_k: int) -> Ranked:
        n = len(squared)
        pool = min(n, 8 * top_k + 32)
        while True:
            idx = np.argpartition(squared, pool - 1)[:pool] if pool < n else np.arange(n)
            # exact distances for the pool (the expansion above loses a little precision)
            dist = np.linalg.norm(self.vectors[idx] - query, axis=1)
            order = np.argsort(dist, kind="stable")
            ranked = nearest_people(self.sample_ids[idx][order], self.person_ids[idx][order], dist[order], top_k)
            # the pool is exact once it holds top_k people, or is everything
            if len(ranked) == top_k or pool >= n:
                return ranked
            pool = min(n, pool * 4)


class HnswSearch:
    """Approximate nearest-people search with an ``hnswlib`` HNSW index, updated in place.

    Args:
        ef: search depth (higher is more accurate and slower; see :data:`DEFAULT_EF`).
        m: graph degree (16 is hnswlib's usual value).
        ef_construction: build depth (higher builds slower and a little better).
        threads: threads for building (``-1``: all cores).
    """

    def __init__(self, *, ef: int = DEFAULT_EF, m: int = 16, ef_construction: int = 200, threads: int = -1) -> None:
        import hnswlib

        self.ef = ef
        self.threads = threads
        self._index = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
        self._index.init_index(max_elements=1024, ef_construction=ef_construction, M=m)
        if threads > 0:
            self._index.set_num_threads(threads)
        self._person_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._person_of)

    def add(self, sample_ids: npt.NDArray[np.int64], person_ids: npt.NDArray[np.int64],
            vectors: npt.NDArray[np.float32]) -> None:
        """Add samples to the index."""
        if len(sample_ids) == 0:
            return
        needed = self._index.get_current_count() + len(sample_ids)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(np.ascontiguousarray(vectors, dtype=np.float32),
                              np.asarray(sample_ids, dtype=np.uint64), num_threads=self.threads)
        self._person_of.update(zip(np.asarray(sample_ids).tolist(), np.asarray(person_ids).tolist()))

    def remove(self, sample_ids: Sequence[int]) -> None:
        """Mark samples deleted (they are skipped by searches)."""
        for sid in sample_ids:
            if self._person_of.pop(int(sid), None) is not None:
                self._index.mark_deleted(int(sid))

    def set_people(self, person_of: dict[int, int]) -> None:
        """Update which person each sample belongs to (after renames of ids by a merge)."""
        for sid, pid in person_of.items():
            if sid in self._person_of:
                self._person_of[sid] = pid

    def search(self, queries: npt.NDArray[np.float32], top_k: int) -> list[Ranked]:
        """The ``top_k`` nearest people of each query (approximate)."""
        alive = len(self._person_of)
        if alive == 0:
            return [[] for _ in range(len(queries))]
        pool = min(alive, 8 * top_k + 32)
        while True:
            self._index.set_ef(max(self.ef, pool))
            try:
                labels, squared = self._index.knn_query(queries, k=pool, num_threads=1)
                break
            except RuntimeError:  # too few reachable live items for k (after many deletions)
                if pool == 1:
                    raise
                pool = max(1, pool // 2)
        out: list[Ranked] = []
        for row_labels, row_squared in zip(labels, squared):
            sids = row_labels.astype(np.int64)
            pids = np.fromiter((self._person_of[int(s)] for s in sids), dtype=np.int64, count=len(sids))
            # hnswlib returns squared distances, nearest first
            out.append(nearest_people(sids, pids, np.sqrt(np.maximum(row_squared, 0.0)), top_k))
        return out


class GallerySearcher:
    """Keeps an exact or HNSW searcher in step with a gallery, updating it incrementally.

    On each search it compares the gallery's :meth:`~facerec.gallery.base.Gallery.generation` with the one it last
    saw; when they differ it reads the (sample, person) pairs, adds the embeddings of samples newer than the
    newest it holds, drops the deleted ones and updates the person of each sample (merges). Sample ids are never
    reused, so this is exact bookkeeping.

    Args:
        method: ``"exact"``, ``"hnsw"`` or ``"auto"`` (HNSW from ``ann_min_samples`` samples when hnswlib is
            installed, else exact).
        ann_min_samples: the size from which ``"auto"`` uses HNSW.
        ef: HNSW search depth (default: :func:`default_ef` of the gallery's size).
    """

    def __init__(self, *, method: SearchMethod = "auto", ann_min_samples: int = ANN_MIN_SAMPLES,
                 ef: int | None = None) -> None:
        if method not in ("auto", "exact", "hnsw"):
            raise ConfigurationError(f"search method must be 'auto', 'exact' or 'hnsw', got {method!r}")
        self.method = method
        self.ann_min_samples = ann_min_samples
        self.ef = ef
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._max_id = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._engine: ExactSearch | HnswSearch | None = None
        self._names: dict[int, str] = {}

    @property
    def engine_name(self) -> str:
        """``"exact"`` or ``"hnsw"``: what the last search used."""
        return "hnsw" if isinstance(self._engine, HnswSearch) else "exact"

    def _want_hnsw(self, size: int) -> bool:
        if self.method == "hnsw":
            return True
        return self.method == "auto" and size >= self.ann_min_samples and hnswlib_available()

    def sync(self, gallery: Gallery) -> None:
        """Bring the searcher up to date with ``gallery`` (cheap when nothing changed)."""
        generation = gallery.generation()
        if generation == self._generation and self._engine is not None:
            return
        ids, pids = gallery.sample_people()
        want_hnsw = self._want_hnsw(len(ids))
        if self._engine is None or want_hnsw != isinstance(self._engine, HnswSearch):
            table = gallery.embedding_table()
            engine: ExactSearch | HnswSearch
            if want_hnsw:
                engine = HnswSearch(ef=self.ef or default_ef(len(ids)))
                engine.add(table.sample_ids, table.person_ids, table.vectors)
            else:
                engine = ExactSearch(table.sample_ids, table.person_ids, table.vectors)
            self._engine = engine
            self._ids = table.sample_ids
            self._max_id = int(table.sample_ids.max()) if len(table) else 0
        else:
            gone = np.setdiff1d(self._ids, ids, assume_unique=True)
            fresh = gallery.embedding_table(after_id=self._max_id)
            if isinstance(self._engine, HnswSearch):
                self._engine.remove(gone.tolist())
                self._engine.set_people(dict(zip(ids.tolist(), pids.tolist())))
                self._engine.add(fresh.sample_ids, fresh.person_ids, fresh.vectors)
                self._engine.ef = self.ef or default_ef(len(ids))
            else:
                if len(gone):
                    self._engine.keep(~np.isin(self._engine.sample_ids, gone))
                # merges move samples between people: take the current owner of every kept sample
                order = np.searchsorted(ids, self._engine.sample_ids)
                self._engine.person_ids = pids[order]
                self._engine.add(fresh.sample_ids, fresh.person_ids, fresh.vectors)
            self._ids = ids
            if len(fresh):
                self._max_id = max(self._max_id, int(fresh.sample_ids.max()))
        self._names = {p.id: p.name for p in gallery.list_people()}
        self._generation = generation

    def search(self, gallery: Gallery, queries: npt.NDArray[np.float32], *, top_k: int = 3) -> list[list[Match]]:
        """The ``top_k`` nearest people of each query in ``gallery``."""
        if top_k < 1:
            raise ConfigurationError(f"top_k must be >= 1, got {top_k}")
        with self._lock:
            self.sync(gallery)
            assert_engine = self._engine
            if assert_engine is None:  # pragma: no cover - sync always sets it
                return [[] for _ in range(len(queries))]
            ranked = assert_engine.search(queries, top_k)
            names = self._names
        return [[Match(person_id=pid, name=names.get(pid, f"#{pid}"), distance=dist, sample_id=sid)
                 for sid, pid, dist in row] for row in ranked]
