"""Many photos at once: one file -> a :class:`FileResult` (:func:`process_file`), many files in a pool of worker
processes (:class:`BatchProcessor`), and a folder of known people embedded by that pool (:func:`load_known_people`).

The pieces it stands on are re-exported for the command line's sake: finding images (:mod:`facerec.files`), the
known people (:mod:`facerec.known`), the answers (:mod:`facerec.identification`), annotated copies
(:mod:`facerec.drawing`).

This is the library behind the ``facerec`` command line; it never prints or exits. One bad file never stops a run:
each file gives one :class:`FileResult`, holding either its faces or the reason it failed.

Examples:
    >>> from facerec.batch import BatchProcessor, find_images, load_known_people   # doctest: +SKIP
    >>> with BatchProcessor(workers=2) as batch:                                     # doctest: +SKIP
    ...     known, failures = load_known_people("known/", batch)
    ...     for result in batch.run(find_images(["photos/"]), operation="identify", known=known):
    ...         print(result.path, [m.name for m in result.matches or ()] if result.ok else result.error)
"""

from __future__ import annotations

import inspect
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.analyzer import FaceAnalyzer, FacePick, pick_face
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.drawing import annotated_paths, draw_faces, draw_identifications, save_image
from facerec.errors import ConfigurationError, FaceNotFoundError, FacerecError, ImageError
from facerec.files import IMAGE_SUFFIXES, ImageScan, find_images, scan_images
from facerec.identification import (
    Identification,
)
from facerec.images import declared_pixels, load_image_with_notes
from facerec.known import KnownPeople, Match, known_people_files
from facerec.types import UNKNOWN, Face

__all__ = [
    "IMAGE_EXTENSIONS",
    "UNKNOWN",
    "BatchProcessor",
    "FileResult",
    "ImageScan",
    "KnownPeople",
    "Match",
    "Operation",
    "annotated_paths",
    "draw_faces",
    "find_images",
    "known_people_files",
    "load_known_people",
    "process_file",
    "scan_images",
]

#: File name endings taken as images in folders (:data:`facerec.files.IMAGE_SUFFIXES`, kept under its old name).
IMAGE_EXTENSIONS = IMAGE_SUFFIXES


#: What :meth:`BatchProcessor.run` does to each file: ``detect`` (boxes and scores), ``landmarks`` (plus 5 or 68
#: points), ``embed`` (plus alignment landmarks and a 128-d embedding) or ``identify`` (``embed``, then the nearest
#: known person).
Operation = Literal["detect", "landmarks", "embed", "identify"]
_OPERATIONS = ("detect", "landmarks", "embed", "identify")


def _check_operation(operation: str, known: KnownPeople | None) -> None:
    if operation not in _OPERATIONS:
        raise ConfigurationError(f"operation must be one of {', '.join(_OPERATIONS)}, got {operation!r}")
    if operation == "identify" and known is None:
        raise ConfigurationError("identify needs the known people")


# -- known people --------------------------------------------------------------------------------------------------


def load_known_people(folder: str | os.PathLike[str], batch: BatchProcessor | None = None, *,
                      on_result: Callable[[FileResult], None] | None = None, pick: FacePick = "largest",
                      ) -> tuple[KnownPeople, list[FileResult]]:
    """Embed the photos of a known-people folder (layouts: see :func:`known_people_files`).

    One face of each photo is enrolled: the largest, or the one ``pick`` names. A photo that cannot be read or
    shows no face is left out and returned among the failures.

    Args:
        folder: the known-people folder.
        batch: the processor to embed with (its analyzer options and workers); default: one in this process
            with default options.
        on_result: called with each photo's result as it arrives (e.g. to advance a progress bar).
        pick: which face of a photo with several: ``"largest"``, ``"central"`` or ``"best"`` (score).

    Returns:
        The known people, and a :class:`FileResult` with an ``error`` for each photo left out.
    """
    pairs = known_people_files(folder)
    owned = batch is None
    processor = batch if batch is not None else BatchProcessor()
    try:
        results = []
        for result in processor.run([photo for _, photo in pairs], operation="embed"):
            if on_result is not None:
                on_result(result)
            results.append(result)
    finally:
        if owned:
            processor.close()
    names: list[str] = []
    vectors: list[npt.NDArray[np.float32]] = []
    sources: list[Path] = []
    failures: list[FileResult] = []
    for (name, photo), result in zip(pairs, results):
        if not result.ok:
            failures.append(result)
            continue
        face = pick_face(result.faces, (result.size[1], result.size[0]) if result.size else (0, 0), pick)
        if face is None or face.embedding is None:
            failures.append(FileResult(path=photo, size=result.size, error="no face found"))
            continue
        names.append(name)
        vectors.append(face.embedding)
        sources.append(photo)
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), 128)
    return KnownPeople(tuple(names), matrix, tuple(sources)), failures


# -- one file ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FileResult:
    """What processing one file gave.

    Attributes:
        path: the file.
        faces: the faces found (empty when none, or on error), best detection score first.
        matches: for ``identify``, the match of each face (same order as ``faces``); else ``None``.
        size: the image's ``(width, height)`` after EXIF rotation, or ``None`` when it could not be read.
        annotated: the annotated copy written, if one was asked for and written.
        error: why the file failed (``None`` when it did not). The other fields may be partly filled.
        notes: things worth telling about a file that worked (e.g. ``"has 3 frames; only the first is used"``).
    """

    path: Path
    faces: tuple[Face, ...] = ()
    matches: tuple[Identification, ...] | None = None
    size: tuple[int, int] | None = None
    annotated: Path | None = None
    error: str | None = field(default=None)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the file was processed without error."""
        return self.error is None


def process_file(analyzer: FaceAnalyzer, path: str | os.PathLike[str], *, operation: Operation = "embed",
                 points: int = 68, known: KnownPeople | None = None,
                 distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
                 draw_to: str | os.PathLike[str] | None = None) -> FileResult:
    """Process one file, turning a per-file failure into a :class:`FileResult` with an ``error``.

    Unreadable images (:class:`~facerec.errors.ImageError`), missing faces, failures to write the annotated copy and
    unexpected errors from the models on one picture are per-file failures. Errors that would fail every file
    alike -- missing or corrupt model files and bad options (other :class:`~facerec.errors.FacerecError`) -- are
    raised.

    Args:
        analyzer: the models.
        path: the image file.
        operation: what to do (see :data:`Operation`).
        points: landmarks per face for ``landmarks``: 5 or 68.
        known: the known people, required for ``identify``.
        distance_threshold: for ``identify``, the largest distance still called a match. Lower is stricter; 0.6
            is typical.
        draw_to: write a copy of the image with boxes (and, for ``identify``, names) to this path.

    Raises:
        ConfigurationError: ``operation`` is unknown, or ``identify`` without ``known``.
        FacerecError: a model could not be loaded.
    """
    _check_operation(operation, known)
    file = Path(path)
    size: tuple[int, int] | None = None
    try:
        rgb, notes = load_image_with_notes(file, max_pixels=analyzer.max_pixels)
        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        if operation == "detect":
            faces = analyzer.detect(rgb)
        elif operation == "landmarks":
            faces = analyzer.landmarks(rgb, points=points)
        else:
            faces = analyzer.analyze(rgb)
        matches: tuple[Identification, ...] | None = None
        if operation == "identify" and known is not None:
            matches = tuple(known.identify([f for f in faces if f.embedding is not None],
                                           distance_threshold=distance_threshold))
        annotated = None
        if draw_to is not None:
            annotated = save_image(draw_identifications(rgb, faces, matches), draw_to)
        return FileResult(path=file, faces=tuple(faces), matches=matches, size=size, annotated=annotated,
                          notes=notes)
    except (ImageError, FaceNotFoundError) as exc:
        reason = exc.reason if isinstance(exc, ImageError) else str(exc)
        return FileResult(path=file, size=size, error=reason)
    except FacerecError:
        raise
    except OSError as exc:  # writing the annotated copy, or a model's cache
        what = "cannot write the annotated copy" if draw_to is not None else "failed"
        return FileResult(path=file, size=size, error=f"{what} ({exc.strerror or exc}: {exc.filename or ''})")
    except Exception as exc:
        return FileResult(path=file, size=size, error=f"failed: {type(exc).__name__}: {exc}")


# -- many files ----------------------------------------------------------------------------------------------------
#: With several photo threads, a photo above this many pixels (read from its header) is worked on alone.
ALONE_PIXELS = 8_000_000


def _shared_analyzer(options: dict[str, Any]) -> FaceAnalyzer:
    """The flat API's shared analyzer for these options (models loaded once per process), or a new one for options
    the shared analyzers do not take."""
    from facerec.analyzer import get_analyzer

    if set(options) <= set(inspect.signature(get_analyzer).parameters):
        return get_analyzer(**options)
    return FaceAnalyzer(**options)


_worker_analyzer: FaceAnalyzer | None = None


def _init_worker(options: dict[str, Any]) -> None:
    global _worker_analyzer
    options = dict(options)
    # N worker processes each running ONNX Runtime on every core would oversubscribe the CPU: one thread each
    options.setdefault("threads", 1)
    _worker_analyzer = FaceAnalyzer(**options)


def _run_in_worker(task: tuple[Path, dict[str, Any]]) -> FileResult:
    if _worker_analyzer is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker analyzer not initialised")
    path, options = task
    return process_file(_worker_analyzer, path, **options)


class BatchProcessor:
    """Runs one operation over many files, in this process or in a pool of worker processes.

    In this process, ``threads`` photos are worked on at once by one analyzer (dlib's detector and ONNX Runtime
    release the GIL, so two photos use two cores; the analyzer gives every thread the answer it gives alone), each
    on one ONNX Runtime thread; with ``threads=1`` the flat API's shared analyzer for the same options
    (:func:`facerec.get_analyzer`) is used, so models already loaded are reused. Every worker process builds its own
    :class:`~facerec.analyzer.FaceAnalyzer` once (models load on its first photo) and keeps it for all the files it
    is given. Results come back in the order of the files. Use it as a context
    manager, or call :meth:`close`, to stop the workers.

    Args:
        workers: worker processes; 1 works in this process, 0 starts one per CPU core. Workers are started with
            ``spawn`` (safe beside the threads of the models), which costs a second or two up front, so they pay
            off from a few hundred photos on.
        threads: with one worker, photos worked on at once in this process (0, the default: one per CPU core;
            1: one after another). The results are the same either way, in the same order.
        **analyzer_options: options of :class:`~facerec.analyzer.FaceAnalyzer` (``detector``, ``embedder``,
            ``upsample``, ``min_face_size_px``, ``max_side``, ...).

    Raises:
        ConfigurationError: ``workers`` is negative or an analyzer option is out of range.
        UnknownNameError: an unknown detector or embedder name.
    """

    def __init__(self, *, workers: int = 1, threads: int = 0, **analyzer_options: Any) -> None:
        if workers < 0:
            raise ConfigurationError(f"workers must be >= 0, got {workers}")
        if threads < 0:
            raise ConfigurationError(f"threads must be >= 0, got {threads}")
        self.workers = workers or (os.cpu_count() or 1)
        self.threads = 1 if self.workers > 1 else threads or (os.cpu_count() or 1)
        self.analyzer_options = dict(analyzer_options)
        # validates the options now, loads models later; photos on several threads each run ONNX Runtime on one
        if self.threads > 1:
            self.analyzer = FaceAnalyzer(**{"threads": 1, **self.analyzer_options})
        else:
            self.analyzer = _shared_analyzer(self.analyzer_options)
        self._pool: Executor | None = None

    def __enter__(self) -> BatchProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self, files: int) -> Executor | None:
        if self.workers <= 1 or files <= 1:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(self.analyzer_options,))
        return self._pool

    def run(self, paths: Sequence[str | os.PathLike[str]], *, operation: Operation = "embed", points: int = 68,
            known: KnownPeople | None = None, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
            draw_dir: str | os.PathLike[str] | None = None) -> Iterator[FileResult]:
        """Process every file of ``paths``, yielding one :class:`FileResult` per file in order.

        Args:
            paths: image files (see :func:`find_images` to expand folders).
            operation: what to do with each (see :data:`Operation`).
            points: landmarks per face for ``landmarks``: 5 or 68.
            known: the known people, required for ``identify``.
            distance_threshold: for ``identify``, the largest distance still called a match. Lower is stricter;
                0.58 is the default (face_recognition's 0.6 false-accept rate with flip averaging).
            draw_dir: write annotated copies into this folder (names from :func:`annotated_paths`).

        Raises:
            ConfigurationError: bad ``operation``, ``points`` or ``distance_threshold``, or ``identify`` without
                ``known``.
            FacerecError: a model could not be loaded (this fails every file alike, so the run stops).
        """
        _check_operation(operation, known)
        if points not in (5, 68):
            raise ConfigurationError(f"landmark points must be 5 or 68, got {points}")
        if not (distance_threshold > 0 and math.isfinite(distance_threshold)):
            raise ConfigurationError(f"distance_threshold must be a positive number, got {distance_threshold}")
        files = [Path(p) for p in paths]
        outputs: list[Path | None] = list(annotated_paths(files, draw_dir)) if draw_dir is not None \
            else [None] * len(files)
        options: list[dict[str, Any]] = [{"operation": operation, "points": points, "known": known,
                    "distance_threshold": distance_threshold, "draw_to": out} for out in outputs]
        pool = self._executor(len(files))
        if pool is not None:
            yield from pool.map(_run_in_worker, zip(files, options))
        elif self.threads > 1 and len(files) > 1:
            yield from self._threaded(files, options)
        else:
            for file, opts in zip(files, options):
                yield process_file(self.analyzer, file, **opts)

    def _threaded(self, files: list[Path], options: list[dict[str, Any]]) -> Iterator[FileResult]:
        """:func:`process_file` on ``self.threads`` threads, results in order, at most two per thread in flight
        (so memory holds a few decoded photos whatever the number of files). A photo above
        :data:`ALONE_PIXELS` is worked on alone, after the others in flight: its decoded copies and scans are
        most of the memory, and two of them at once would double the peak."""
        window = 2 * self.threads
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="facerec-batch") as threads:
            pending: deque[Future[FileResult]] = deque()
            try:
                for file, opts in zip(files, options):
                    if declared_pixels(file) > ALONE_PIXELS:
                        while pending:
                            yield pending.popleft().result()
                        yield process_file(self.analyzer, file, **opts)
                        continue
                    pending.append(threads.submit(process_file, self.analyzer, file, **opts))
                    if len(pending) >= window:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
