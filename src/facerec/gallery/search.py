"""Nearest-person search over a gallery's embeddings: exact (numpy) and approximate (hnswlib's HNSW).

A person's distance to a query is the Euclidean distance to the person's *nearest* sample. Both searchers rank
samples by distance and walk down that list until ``top_k`` distinct people are seen, which gives exactly the
per-person minimum for the exact searcher.

* :class:`ExactSearch` computes every distance (``||q||² + ||x||² - 2 q·x`` with cached norms): about 4 ms per query
  at 100,000 samples and 40-50 ms at 1,000,000 (docs/BENCHMARKS.md).
* :class:`HnswSearch` wraps an ``hnswlib`` index (``M=16``, ``ef_construction=200``). Samples are added as they
  arrive and erased when removed, so the index is never rebuilt from scratch (unless a fifth of it was erased).
  On embeddings drawn from a model fitted to dlib's embeddings of LFW, recall@1 against exact search at
  ``ef=512`` was 1.000 at 100,000 samples and 0.998 at 1,000,000, at 1-2 ms a query (docs/BENCHMARKS.md). On an
  isotropic stress set, much harder than real embeddings, it falls to 0.86 at 1,000,000 samples even at
  ``ef=1024`` (``M=32``, ``ef=2048`` gives 0.994 there at 13 ms); the benchmark shows both.
* :class:`GallerySearcher` keeps one of the two in step with a :class:`~facerec.gallery.base.Gallery`: exact below
  :data:`ANN_MIN_SAMPLES` samples, HNSW from there on (when ``hnswlib`` is installed: the ``gallery`` extra), with
  the index saved beside a SQLite gallery so that the next process loads it instead of building it.

hnswlib was chosen over faiss's IVF-Flat and usearch's HNSW, measured on the same 1,000,000 samples
(docs/BENCHMARKS.md): at recall@1 0.997 hnswlib answered in 0.83 ms, IVF (4,096 lists, nprobe 128) in 1.04 ms and
usearch in 2.3 ms. IVF builds 11x faster, but its lists are learned once and scan more per query as the gallery
grows; hnswlib takes single samples in place at any size and was already the ``gallery`` extra's one dependency.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.gallery.records import EMBEDDING_DIM, EmbeddingTable, Match, Person
from facerec.nearest import ExactSearch, Ranked, as_queries, nearest_people

__all__ = [
    "ANN_MIN_SAMPLES",
    "DEFAULT_EF",
    "ExactSearch",
    "GallerySearcher",
    "HnswSearch",
    "SearchMethod",
    "SearchedGallery",
    "as_queries",
    "default_ef",
    "hnswlib_available",
    "index_build_pending",
    "index_meta_path",
    "nearest_people",
    "remove_index_files",
]

class SearchedGallery(Protocol):
    """What the searcher reads of a gallery: :class:`~facerec.gallery.base.Gallery` provides it all (the engine
    stands below the interface and knows it only by this shape)."""

    _searcher: GallerySearcher | None

    def index_path(self) -> Path | None: ...
    def index_header(self) -> dict[str, Any]: ...
    def count(self) -> int: ...
    def generation(self) -> int: ...
    def list_people(self) -> list[Person]: ...
    def embedding_table(self, *, after_id: int = 0) -> EmbeddingTable: ...
    def sample_people(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def embeddings_for(self, sample_ids: Sequence[int]) -> npt.NDArray[np.float32]: ...


#: Galleries smaller than this are searched exactly. At 100,000 samples exact search takes about 4 ms a query and
#: HNSW about 1 ms with recall@1 1.000 on LFW-like embeddings; building the index there takes about half a minute,
#: once, since it is saved (docs/BENCHMARKS.md).
ANN_MIN_SAMPLES = 100_000

#: HNSW search depth. Higher is more accurate and slower. On LFW-like embeddings recall@1 against exact search was
#: 1.000 at 512 for 100,000 samples and 0.998 at 512 (1.000 at 1024) for 1,000,000 (docs/BENCHMARKS.md).
DEFAULT_EF = 512


def default_ef(size: int) -> int:
    """The HNSW search depth for a gallery of ``size`` samples: :data:`DEFAULT_EF` up to 1,000,000 samples (the
    largest size measured), doubled above as a margin for sizes nobody measured yet."""
    return DEFAULT_EF if size <= 1_000_000 else 2 * DEFAULT_EF

#: HNSW graph degree and build depth (hnswlib's usual values).
DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 200

#: Layout version of a saved index's description file.
INDEX_FORMAT = 1

_log = logging.getLogger("facerec.gallery")

SearchMethod = Literal["auto", "exact", "hnsw"]

def hnswlib_available() -> bool:
    """Whether ``hnswlib`` can be imported (``pip install 'facerec[gallery]'``)."""
    try:
        import hnswlib  # noqa: F401
    except ImportError:
        return False
    return True


class HnswSearch:
    """Approximate nearest-people search with an ``hnswlib`` HNSW index, updated in place.

    Removed samples are erased, not only hidden: their vector in the index is overwritten with zeros before the
    element is marked deleted (hnswlib keeps deleted elements as graph nodes), so a saved index never holds the
    embedding of a removed person. When erased elements pass a fifth of the live ones the graph is worth
    rebuilding; :attr:`needs_rebuild` says so.

    Args:
        ef: search depth (higher is more accurate and slower; see :data:`DEFAULT_EF`).
        m: graph degree (:data:`DEFAULT_M`).
        ef_construction: build depth (higher builds slower and a little better).
        threads: threads for building (``-1``: all cores).
    """

    def __init__(self, *, ef: int = DEFAULT_EF, m: int = DEFAULT_M, ef_construction: int = DEFAULT_EF_CONSTRUCTION,
                 threads: int = -1) -> None:
        import hnswlib

        self.ef = ef
        self.m = m
        self.ef_construction = ef_construction
        self.threads = threads
        self._index = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
        self._index.init_index(max_elements=1024, ef_construction=ef_construction, M=m)
        if threads > 0:
            self._index.set_num_threads(threads)
        self._person_of: dict[int, int] = {}
        self.erased = 0

    def __len__(self) -> int:
        return len(self._person_of)

    @property
    def needs_rebuild(self) -> bool:
        """Whether erased elements have grown to a fifth of the live ones (and at least 1,000)."""
        return self.erased >= max(1000, len(self._person_of) // 5)

    def ids(self) -> npt.NDArray[np.int64]:
        """The live sample ids, ascending."""
        return np.sort(np.fromiter(self._person_of, dtype=np.int64, count=len(self._person_of)))

    def vectors(self, sample_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The stored vectors of some live samples."""
        if len(sample_ids) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.asarray(self._index.get_items(list(map(int, sample_ids))), dtype=np.float32)

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
        """Erase samples: overwrite their vectors with zeros and mark them deleted (searches skip them)."""
        gone = [int(sid) for sid in sample_ids if self._person_of.pop(int(sid), None) is not None]
        if not gone:
            return
        zeros = np.zeros((len(gone), EMBEDDING_DIM), dtype=np.float32)
        self._index.add_items(zeros, np.asarray(gone, dtype=np.uint64), num_threads=self.threads)
        for sid in gone:
            self._index.mark_deleted(sid)
        self.erased += len(gone)

    def set_people(self, person_of: dict[int, int]) -> bool:
        """Update which person each sample belongs to (a merge moves samples); whether any moved."""
        moved = False
        for sid, pid in person_of.items():
            old = self._person_of.get(sid)
            if old is not None and old != pid:
                self._person_of[sid] = pid
                moved = True
        return moved

    def save(self, path: Path, header: dict[str, Any]) -> None:
        """Write the index to ``path`` and its description (``header``, the live ids) to ``path`` + ``.npz``.

        Both files are written under temporary names and renamed into place, index first; the description records
        the index file's size and modification time, so an index and a description from different saves (a crash
        between the renames, two processes saving at once) are recognised and not used.
        """
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp_meta = path.with_name(f"{path.name}.npz.{os.getpid()}.tmp.npz")
        try:
            self._index.save_index(str(tmp))
            stat = tmp.stat()
            header = {**header, "format": INDEX_FORMAT, "m": self.m, "ef_construction": self.ef_construction,
                      "erased": self.erased, "count": int(self._index.get_current_count()),
                      "file_size": stat.st_size, "file_mtime_ns": stat.st_mtime_ns}
            ids = self.ids()
            pids = np.fromiter((self._person_of[int(s)] for s in ids), dtype=np.int64, count=len(ids))
            np.savez(tmp_meta, header=np.asarray(json.dumps(header)), ids=ids, person_ids=pids)
            os.replace(tmp, path)
            os.replace(tmp_meta, index_meta_path(path))
        finally:
            for leftover in (tmp, tmp_meta):
                leftover.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, header: dict[str, Any], *, ef: int = DEFAULT_EF) -> HnswSearch | None:
        """An index saved by :meth:`save`, or ``None`` when the files are missing, damaged, from another save
        or their description does not match ``header`` (the gallery and model they were made for)."""
        import hnswlib

        try:
            with np.load(index_meta_path(path), allow_pickle=False) as meta:
                saved = json.loads(str(meta["header"]))
                ids = np.asarray(meta["ids"], dtype=np.int64)
                pids = np.asarray(meta["person_ids"], dtype=np.int64)
            stat = path.stat()
        except (OSError, ValueError, KeyError):
            return None
        if (saved.get("format") != INDEX_FORMAT or any(saved.get(k) != v for k, v in header.items())
                or saved.get("file_size") != stat.st_size or saved.get("file_mtime_ns") != stat.st_mtime_ns):
            return None
        self = cls(ef=ef, m=int(saved["m"]), ef_construction=int(saved["ef_construction"]))
        try:
            index = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
            index.load_index(str(path), max_elements=int(saved["count"]) + 1024)
        except (RuntimeError, ValueError, OSError):
            return None
        if index.get_current_count() != saved["count"]:
            return None
        self._index = index
        self._person_of = dict(zip(ids.tolist(), pids.tolist()))
        self.erased = int(saved["erased"])
        return self

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


def index_build_pending(gallery: SearchedGallery) -> int:
    """How many samples the next search of ``gallery`` will build an HNSW index of first (0: none to build).

    True when the gallery has reached :data:`ANN_MIN_SAMPLES`, hnswlib is installed, the gallery keeps its index
    in a file and that file does not exist yet (the command line says so before a wait of seconds to minutes).
    """
    path = gallery.index_path()
    if path is None or path.exists() or not hnswlib_available():
        return 0
    searcher = gallery._searcher
    if searcher is not None and (searcher.method != "auto" or searcher._engine is not None):
        return 0
    size = gallery.count()
    return size if size >= (ANN_MIN_SAMPLES if searcher is None else searcher.ann_min_samples) else 0


def index_meta_path(path: Path) -> Path:
    """The description file saved beside an index file."""
    return path.with_name(path.name + ".npz")


def remove_index_files(path: Path) -> None:
    """Delete a saved index and its description (missing files are fine)."""
    for file in (path, index_meta_path(path)):
        try:
            file.unlink(missing_ok=True)
        except OSError:
            _log.warning("could not delete search index file %s", file)


class GallerySearcher:
    """Keeps an exact or HNSW searcher in step with a gallery, updating it incrementally.

    On each search it compares the gallery's :meth:`~facerec.gallery.base.Gallery.generation` with the one it last
    saw; when they differ it reads the (sample, person) pairs, adds the embeddings of samples newer than the
    newest it holds, erases the deleted ones and updates the person of each sample (merges). Sample ids are never
    reused, so this is exact bookkeeping.

    With an ``index_path`` (a SQLite gallery gives ``<gallery file>.hnsw``) the HNSW index is saved there and the
    next process loads it and catches up incrementally instead of building it again (minutes at a million
    samples). A saved index is checked before use: made for this gallery and model, complete (not from a crash
    between writes) and holding the same vectors as the gallery for a spread of samples; otherwise it is rebuilt.
    It is saved after a sync that changed it, at most every ``save_interval_s`` seconds, and in :meth:`flush`;
    after a removal :meth:`refresh` saves at once, so the file never keeps a removed embedding. Below the cut-off
    the files are deleted.

    Args:
        method: ``"exact"``, ``"hnsw"`` or ``"auto"`` (HNSW from ``ann_min_samples`` samples when hnswlib is
            installed, else exact).
        ann_min_samples: the size from which ``"auto"`` uses HNSW (default :data:`ANN_MIN_SAMPLES`).
        ef: HNSW search depth (default: :func:`default_ef` of the gallery's size).
        m, ef_construction: HNSW graph degree and build depth for an index built from now on (a loaded index keeps
            those it was built with). On embeddings unlike dlib's, spread evenly over all directions, ``m=32`` with
            ``ef=2048`` reached recall@1 0.994 at 1,000,000 samples where the defaults stay below 0.9.
        index_path: where to keep the HNSW index between processes (``None``: in memory only).
        save_interval_s: the shortest time between two saves of a changed index by :meth:`search`.
    """

    def __init__(self, *, method: SearchMethod = "auto", ann_min_samples: int | None = None,
                 ef: int | None = None, m: int = DEFAULT_M, ef_construction: int = DEFAULT_EF_CONSTRUCTION,
                 index_path: Path | None = None, save_interval_s: float = 60.0) -> None:
        if method not in ("auto", "exact", "hnsw"):
            raise ConfigurationError(f"search method must be 'auto', 'exact' or 'hnsw', got {method!r}")
        self.method = method
        self.ann_min_samples = ANN_MIN_SAMPLES if ann_min_samples is None else ann_min_samples
        self.ef = ef
        self.m = m
        self.ef_construction = ef_construction
        self.index_path = index_path
        self.save_interval_s = save_interval_s
        self._lock = threading.RLock()
        self._generation: int | None = None
        self._max_id = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._engine: ExactSearch | HnswSearch | None = None
        self._names: dict[int, str] = {}
        self._dirty = False
        self._saved_at: float | None = None
        #: where the HNSW index of the last sync came from: ``"built"``, ``"loaded"`` or ``None`` (exact search)
        self.index_origin: str | None = None

    @property
    def engine_name(self) -> str:
        """``"exact"`` or ``"hnsw"``: what the last search used."""
        return "hnsw" if isinstance(self._engine, HnswSearch) else "exact"

    def _want_hnsw(self, size: int) -> bool:
        if self.method == "hnsw":
            return True
        return self.method == "auto" and size >= self.ann_min_samples and hnswlib_available()

    def _load(self, gallery: SearchedGallery, ids: npt.NDArray[np.int64], ef: int) -> HnswSearch | None:
        if self.index_path is None or not self.index_path.exists():
            return None
        engine = HnswSearch.load(self.index_path, gallery.index_header(), ef=ef)
        if engine is None:
            return None
        # the same vectors as the gallery for a spread of samples both hold
        common = np.intersect1d(engine.ids(), ids, assume_unique=True)
        spread = np.linspace(0, len(common) - 1, num=min(16, len(common))).astype(np.int64)
        probe = common[spread] if len(common) else common
        stored = gallery.embeddings_for(probe.tolist())
        if len(stored) != len(probe) or not np.array_equal(engine.vectors(probe.tolist()), stored):
            return None
        return engine

    def _build(self, gallery: SearchedGallery, want_hnsw: bool, ef: int) -> ExactSearch | HnswSearch:
        table = gallery.embedding_table()
        engine: ExactSearch | HnswSearch
        if want_hnsw:
            engine = HnswSearch(ef=ef, m=self.m, ef_construction=self.ef_construction)
            engine.add(table.sample_ids, table.person_ids, table.vectors)
            self._dirty = True
            self.index_origin = "built"
        else:
            engine = ExactSearch(table.sample_ids, table.person_ids, table.vectors)
        self._ids = table.sample_ids
        self._max_id = int(table.sample_ids.max()) if len(table) else 0
        return engine

    def sync(self, gallery: SearchedGallery) -> None:
        """Bring the searcher up to date with ``gallery`` (cheap when nothing changed)."""
        with self._lock:
            self._sync(gallery)

    def _sync(self, gallery: SearchedGallery) -> None:
        generation = gallery.generation()
        if generation == self._generation and self._engine is not None:
            return
        ids, pids = gallery.sample_people()
        want_hnsw = self._want_hnsw(len(ids))
        ef = self.ef or default_ef(len(ids))
        if not want_hnsw:
            self.index_origin = None
            self._dirty = False
            if self.index_path is not None and self.index_path.exists():
                remove_index_files(self.index_path)
        if self._engine is None or want_hnsw != isinstance(self._engine, HnswSearch):
            loaded = self._load(gallery, ids, ef) if want_hnsw else None
            if loaded is None:
                self._engine = self._build(gallery, want_hnsw, ef)
            else:
                self._engine, self.index_origin = loaded, "loaded"
                self._ids = loaded.ids()
                self._max_id = int(loaded.ids().max()) if len(loaded) else 0
        gone = np.setdiff1d(self._ids, ids, assume_unique=True)
        fresh = gallery.embedding_table(after_id=self._max_id)
        engine = self._engine
        if isinstance(engine, HnswSearch):
            before = (len(engine), engine.erased)
            engine.remove(gone.tolist())
            moved = engine.set_people(dict(zip(ids.tolist(), pids.tolist())))
            engine.add(fresh.sample_ids, fresh.person_ids, fresh.vectors)
            engine.ef = ef
            if (len(engine), engine.erased) != before or moved:
                self._dirty = True
            if engine.needs_rebuild:  # many erased nodes: a fresh graph searches better
                self._engine = self._build(gallery, True, ef)
        elif engine is not None:
            if len(gone):
                engine.keep(~np.isin(engine.sample_ids, gone))
            # merges move samples between people: take the current owner of every kept sample
            order = np.searchsorted(ids, engine.sample_ids)
            engine.person_ids = pids[order]
            engine.add(fresh.sample_ids, fresh.person_ids, fresh.vectors)
        self._ids = ids
        if len(fresh):
            self._max_id = max(self._max_id, int(fresh.sample_ids.max()))
        self._names = {p.id: p.name for p in gallery.list_people()}
        self._generation = generation

    def _save(self, gallery: SearchedGallery, *, strict: bool = False) -> None:
        if not (self._dirty and isinstance(self._engine, HnswSearch) and self.index_path is not None):
            return
        try:
            self._engine.save(self.index_path, gallery.index_header())
        except (OSError, RuntimeError) as exc:  # a read-only folder, a full disk: searching still works
            if strict:
                raise
            _log.warning("could not save the search index to %s: %s", self.index_path, exc)
            return
        self._dirty = False
        self._saved_at = time.monotonic()

    def refresh(self, gallery: SearchedGallery) -> None:
        """Sync with ``gallery`` and save the index at once (after a removal: no saved copy keeps it).

        Raises:
            OSError, RuntimeError: the index could not be saved (the caller deletes the old files then).
        """
        with self._lock:
            self._sync(gallery)
            self._save(gallery, strict=True)

    def flush(self, gallery: SearchedGallery) -> None:
        """Save the index if it changed since it was last saved."""
        with self._lock:
            self._save(gallery)

    def search(self, gallery: SearchedGallery, queries: npt.NDArray[np.float32], *,
               top_k: int = 3) -> list[list[Match]]:
        """The ``top_k`` nearest people of each query in ``gallery``."""
        if top_k < 1:
            raise ConfigurationError(f"top_k must be >= 1, got {top_k}")
        with self._lock:
            self._sync(gallery)
            if self._dirty and (self._saved_at is None
                                or time.monotonic() - self._saved_at >= self.save_interval_s):
                self._save(gallery)
            engine = self._engine
            if engine is None:  # pragma: no cover - sync always sets it
                return [[] for _ in range(len(queries))]
            ranked = engine.search(queries, top_k)
            names = self._names
        return [[Match(person_id=pid, name=names.get(pid, f"#{pid}"), distance=dist, sample_id=sid)
                 for sid, pid, dist in row] for row in ranked]
