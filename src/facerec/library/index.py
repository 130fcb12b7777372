""":func:`index_photos`: every face of every photo of a folder into a photo library, resumable, in batches.

How a run goes:

1. The photos are listed (:func:`facerec.files.find_images`). A file whose path, size and modification time match
   a stored (or failed) photo is skipped unread; the others are read and hashed here (SHA-256), and a file whose
   hash is stored already (a copy, or a moved photo) is skipped too.
2. The rest go, in batches of ``batch_size`` photos, to a pool of analysers: :class:`LocalPool` (this process or
   worker processes, each with its own models) or :class:`~facerec.library.ray_pool.RayPool` (Ray actors). Each
   photo is read again there, decoded, its faces detected, aligned and embedded, and a small JPEG thumbnail is cut
   for each face. A photo that fails becomes a result with its reason; the run goes on.
3. Each finished batch is written in one transaction (:meth:`~facerec.library.store.PhotoStore.write_batch`): a
   crash or ``kill -9`` loses at most the batches in flight, which the next run redoes; a photo is stored at most
   once (unique by hash).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from facerec.errors import ConfigurationError, FacerecError, ImageError
from facerec.library.records import IndexedFace, PhotoResult, PhotoTask
from facerec.library.store import PhotoStore

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer

__all__ = ["DEFAULT_BATCH_SIZE", "AnalyzerPool", "IndexProgress", "IndexReport", "LocalPool", "analyze_batch",
           "analyze_photo", "index_photos", "plan_tasks", "worker_analyzer"]

#: Photos per batch: one task for a worker and one transaction in the database.
DEFAULT_BATCH_SIZE = 8


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- one photo, in a worker ------------------------------------------------------------------------------------------
def analyze_photo(analyzer: FaceAnalyzer, task: PhotoTask, *, crop_size_px: int = 112) -> PhotoResult:
    """Every face of one photo with its thumbnail, or the reason it failed.

    Unreadable files, non-images and unexpected errors of the models on one picture become a result with an
    ``error``; errors that would fail every photo alike (missing models, bad options) are raised.
    """
    from facerec.gallery.enroll import face_crop_jpeg
    from facerec.images import load_image

    try:
        with open(task.path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return PhotoResult(task.path, None, task.size_bytes, task.mtime_ns,
                           error=f"cannot read: {exc.strerror or exc}")
    sha = hashlib.sha256(data).hexdigest()
    try:
        rgb = load_image(data)
        faces = analyzer.analyze(rgb)
        found = tuple(IndexedFace(box=f.box, score=float(f.score), embedding=f.embedding,
                                  crop_jpeg=face_crop_jpeg(rgb, f.box, size_px=crop_size_px))
                      for f in faces if f.embedding is not None)
    except ImageError as exc:
        return PhotoResult(task.path, sha, task.size_bytes, task.mtime_ns, error=exc.reason)
    except FacerecError:
        raise
    except Exception as exc:
        return PhotoResult(task.path, sha, task.size_bytes, task.mtime_ns,
                           error=f"failed: {type(exc).__name__}: {exc}")
    return PhotoResult(task.path, sha, task.size_bytes, task.mtime_ns, width=int(rgb.shape[1]),
                       height=int(rgb.shape[0]), faces=found)


def analyze_batch(analyzer: FaceAnalyzer, tasks: Sequence[PhotoTask], *, crop_size_px: int = 112
                  ) -> list[PhotoResult]:
    """:func:`analyze_photo` for each task, in order."""
    return [analyze_photo(analyzer, task, crop_size_px=crop_size_px) for task in tasks]


def worker_analyzer(options: dict[str, Any]) -> FaceAnalyzer:
    """The analyzer a worker builds once: ``options`` with ONNX Runtime on one thread unless told otherwise (N
    workers on N cores must not each run one thread per core)."""
    from facerec.analyzer import FaceAnalyzer

    settings = dict(options)
    settings.setdefault("threads", 1)
    return FaceAnalyzer(**settings)


# -- pools ------------------------------------------------------------------------------------------------------------
class AnalyzerPool(Protocol):
    """Something that analyses batches of photos: :class:`LocalPool` or
    :class:`~facerec.library.ray_pool.RayPool`."""

    #: how many batches it works on at once
    workers: int

    def map_unordered(self, batches: Iterable[list[PhotoTask]]) -> Iterator[list[PhotoResult]]:
        """The results of every batch, as batches finish (a bounded number in flight)."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


_local_analyzer: FaceAnalyzer | None = None
_local_crop_px = 112


def _init_local_worker(options: dict[str, Any], crop_size_px: int) -> None:
    global _local_analyzer, _local_crop_px
    _local_analyzer = worker_analyzer(options)
    _local_crop_px = crop_size_px


def _run_local_batch(tasks: list[PhotoTask]) -> list[PhotoResult]:
    if _local_analyzer is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker analyzer not initialised")
    return analyze_batch(_local_analyzer, tasks, crop_size_px=_local_crop_px)


class LocalPool:
    """Batches analysed in this process (``workers=1``) or in worker processes, each holding its own models.

    This is :class:`facerec.batch.BatchProcessor`'s arrangement (``spawn`` workers that build their analyzer once,
    ONNX Runtime on one thread each), with batches submitted as workers free up, so that only ``2 * workers``
    batches are in memory at once whatever the size of the library.

    Args:
        workers: worker processes; 1 works in this process, 0 starts one per CPU core.
        analyzer_options: options of :class:`~facerec.analyzer.FaceAnalyzer`.
        crop_size_px: the longer side of the face thumbnails.
    """

    def __init__(self, *, workers: int = 1, analyzer_options: dict[str, Any] | None = None,
                 crop_size_px: int = 112) -> None:
        if workers < 0:
            raise ConfigurationError(f"workers must be >= 0, got {workers}")
        self.workers = workers or (os.cpu_count() or 1)
        self.analyzer_options = dict(analyzer_options or {})
        self.crop_size_px = crop_size_px
        self._pool: ProcessPoolExecutor | None = None
        self._analyzer: FaceAnalyzer | None = None

    def map_unordered(self, batches: Iterable[list[PhotoTask]]) -> Iterator[list[PhotoResult]]:
        if self.workers == 1:
            if self._analyzer is None:
                from facerec.analyzer import FaceAnalyzer

                self._analyzer = FaceAnalyzer(**self.analyzer_options)
            for batch in batches:
                yield analyze_batch(self._analyzer, batch, crop_size_px=self.crop_size_px)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_local_worker,
                                             initargs=(self.analyzer_options, self.crop_size_px))
        pending: set[Future[list[PhotoResult]]] = set()
        source: Iterator[list[PhotoTask] | None] = iter(batches)
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * self.workers:
                item = next(source, None)
                if item is None:
                    exhausted = True
                else:
                    pending.add(self._pool.submit(_run_local_batch, item))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the run ----------------------------------------------------------------------------------------------------------
@dataclass
class IndexProgress:
    """Where a run stands (passed to ``on_progress`` after each batch).

    Attributes:
        total: photo files found.
        done: of them, handled so far (stored, skipped, duplicates and failures).
        stored: photos newly stored.
        faces: their faces.
        skipped: photos stored by an earlier run (unchanged path, size and time, or same hash).
        duplicates: photos whose bytes were stored under another path in this run.
        failed: photos that failed (recorded with their reason).
        elapsed_s: seconds since the run started.
    """

    total: int
    done: int = 0
    stored: int = 0
    faces: int = 0
    skipped: int = 0
    duplicates: int = 0
    failed: int = 0
    elapsed_s: float = 0.0

    @property
    def photos_per_s(self) -> float:
        """Photos analysed per second so far (skipped ones do not count)."""
        worked = self.stored + self.duplicates + self.failed
        return worked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (``None`` until a photo was analysed)."""
        rate = self.photos_per_s
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class IndexReport:
    """What :func:`index_photos` did.

    Attributes:
        progress: the final counts.
        failures: ``(path, reason)`` of the photos that failed in this run.
        model_id: the embedding model of the faces.
        lost_workers: batches resubmitted because their worker was lost (Ray).
    """

    progress: IndexProgress
    failures: list[tuple[str, str]] = field(default_factory=list)
    model_id: str = ""
    lost_workers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        p = self.progress
        return {"model": self.model_id, "photos": p.total, "stored": p.stored, "faces": p.faces,
                "skipped": p.skipped, "duplicates": p.duplicates, "failed": p.failed,
                "seconds": round(p.elapsed_s, 3), "photos_per_s": round(p.photos_per_s, 3),
                "lost_workers": self.lost_workers,
                "failures": [{"file": f, "reason": r} for f, r in self.failures]}


def plan_tasks(store: PhotoStore, files: Sequence[Path], progress: IndexProgress, failures: list[tuple[str, str]],
               *, chunk: int = 256, hash_threads: int = 2, hash_here: bool = True) -> Iterator[PhotoTask]:
    """The photos of ``files`` that still need analysing; skipped and unreadable ones are counted in ``progress``
    (unreadable ones are also recorded as failures by the caller through ``failures``).

    With ``hash_here`` the files are hashed here and those whose hash is stored are skipped; without it only the
    path, size and time are compared, and the workers' hashes find the copies when the batch is written."""
    known = store.known_files()
    seen_hashes: set[str] = set()
    with ThreadPoolExecutor(max_workers=hash_threads) as hasher:
        for start in range(0, len(files), chunk):
            listed: list[tuple[str, int, int]] = []
            for file in files[start:start + chunk]:
                path = os.fspath(file)
                try:
                    info = os.stat(path)
                except OSError as exc:
                    failures.append((path, f"cannot read: {exc.strerror or exc}"))
                    continue
                if known.get(path) == (info.st_size, info.st_mtime_ns):
                    progress.skipped += 1
                    progress.done += 1
                    continue
                if not hash_here:
                    yield PhotoTask(path, "", info.st_size, info.st_mtime_ns)
                    continue
                listed.append((path, info.st_size, info.st_mtime_ns))

            def digest(item: tuple[str, int, int]) -> str | OSError:
                try:
                    return _sha256_file(item[0])
                except OSError as exc:
                    return exc

            hashes = list(hasher.map(digest, listed))
            stored = store.known_hashes([h for h in hashes if isinstance(h, str)])
            for (path, size, mtime), sha in zip(listed, hashes):
                if isinstance(sha, OSError):
                    failures.append((path, f"cannot read: {sha.strerror or sha}"))
                elif sha in stored:
                    progress.skipped += 1
                    progress.done += 1
                elif sha in seen_hashes:
                    progress.duplicates += 1
                    progress.done += 1
                else:
                    seen_hashes.add(sha)
                    yield PhotoTask(path, sha, size, mtime)


def _batched(tasks: Iterable[PhotoTask], size: int) -> Iterator[list[PhotoTask]]:
    batch: list[PhotoTask] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def index_photos(store: PhotoStore, paths: Sequence[str | os.PathLike[str]], *, pool: AnalyzerPool | None = None,
                 workers: int = 1, analyzer_options: dict[str, Any] | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, model_id: str | None = None, hash_in_driver: bool = True,
                 on_progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
    """Index every photo of ``paths`` (files and folders, searched recursively) into ``store``.

    Args:
        store: the photo library (:func:`~facerec.library.open_store`).
        paths: photo files and folders.
        pool: who analyses the photos (default: a :class:`LocalPool` of ``workers`` with ``analyzer_options``,
            closed at the end; a pool given is left open).
        workers: worker processes for the default pool (1: this process; 0: one per core).
        analyzer_options: :class:`~facerec.analyzer.FaceAnalyzer` options (``detector``, ``upsample``, ...);
            they must be the same as the pool's when a pool is given.
        batch_size: photos per batch (one task, one transaction).
        model_id: the embedding model's id (default: :func:`~facerec.gallery.model_id_for` of the options).
        hash_in_driver: hash every new file here and skip those whose content is stored (a copy or a moved photo)
            before any work is sent out. ``False`` leaves the hashing to the workers, so that this process reads
            no photo bytes (on a cluster it would otherwise read every byte of the library); a copy is then analysed
            and dropped when its batch is written (counted as a duplicate).
        on_progress: called after every batch with the counts so far.

    Returns:
        The counts, this run's failures and the model id.

    Raises:
        LibraryError: the library holds embeddings of another model, or a write failed (batches written before
            stay stored).
        FacerecError: a model could not be loaded.
    """
    from facerec.analyzer import FaceAnalyzer
    from facerec.files import find_images
    from facerec.gallery import model_id_for

    if batch_size < 1:
        raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
    options = dict(analyzer_options or {})
    model = model_id or model_id_for(FaceAnalyzer(**options))
    store.check_model(model)
    files = find_images(paths)
    progress = IndexProgress(total=len(files))
    report = IndexReport(progress=progress, model_id=model)
    start = time.monotonic()
    unreadable: list[tuple[str, str]] = []
    owned = pool is None
    engine: AnalyzerPool = pool if pool is not None else LocalPool(workers=workers, analyzer_options=options)

    def record(results: Sequence[PhotoResult]) -> None:
        outcome = store.write_batch(results, model_id=model)
        progress.stored += outcome.photos
        progress.faces += outcome.faces
        progress.duplicates += outcome.duplicates
        progress.failed += outcome.failures
        progress.done += len(results)
        report.failures.extend((r.path, r.error) for r in results if r.error is not None)
        progress.elapsed_s = time.monotonic() - start
        if on_progress is not None:
            on_progress(progress)

    def flush_unreadable() -> None:
        if unreadable:
            record([PhotoResult(path, None, -1, -1, error=reason) for path, reason in unreadable])
            unreadable.clear()

    try:
        tasks = plan_tasks(store, files, progress, unreadable, hash_here=hash_in_driver)
        for results in engine.map_unordered(_batched(tasks, batch_size)):
            flush_unreadable()
            record(results)
        flush_unreadable()
    finally:
        if owned:
            engine.close()
    report.lost_workers = int(getattr(engine, "lost_workers", 0))
    progress.elapsed_s = time.monotonic() - start
    return report
