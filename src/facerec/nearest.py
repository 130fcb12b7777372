"""Exact nearest-people search over embeddings held in memory: the search that a gallery uses below its HNSW
cut-off and that ``--known`` folders use, with no storage behind it (so both can stand on it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError

__all__ = ["EMBEDDING_DIM", "ExactSearch", "Ranked", "as_queries", "nearest_people"]

#: Length of dlib's face embeddings.
EMBEDDING_DIM = 128


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
