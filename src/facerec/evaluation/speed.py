"""Speed: milliseconds per pipeline stage at several image sizes, and throughput with several worker processes.

Stages, each timed on its own with the output of the one before as input:

* ``load`` -- file -> RGB array (:func:`facerec.load_image`);
* ``detect`` -- the detector on the whole image;
* ``landmarks`` -- the 5- or 68-point shape predictor on the detected boxes;
* ``align`` -- cutting the 150x150 chips;
* ``encode`` -- the embedder on the chips;
* ``search`` -- nearest neighbour of each embedding among ``gallery_size`` random enrolled embeddings;
* ``end_to_end`` -- ``FaceAnalyzer.analyze`` on the loaded image (detect + landmarks + align + encode).

The columns of face_recognition's ``benchmark.py`` are derived for comparison: *face locations* (= detect),
*face landmarks* (68 points on given boxes), *encode face (inc. landmarks)* (5-point landmarks + align + encode on
given boxes) and *end-to-end*. Like that script, each time is the fastest of several repeats (``timeit``'s rule:
the minimum is the least disturbed by other work on the machine) and frames per second are ``1000 / ms``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facerec.errors import ConfigurationError

__all__ = [
    "STAGES",
    "SizeTiming",
    "ThroughputResult",
    "benchmark_table",
    "size_label",
    "throughput",
    "time_stages",
]

STAGES: tuple[str, ...] = ("load", "detect", "landmarks", "align", "encode", "search")


def size_label(path: str | os.PathLike[str], height: int) -> str:
    """``240p``-style label from a file name like ``obama-240p.jpg``, else from the image height."""
    stem = Path(path).stem
    for part in reversed(stem.replace("_", "-").split("-")):
        if part.endswith("p") and part[:-1].isdigit():
            return part
    return f"{height}p"


def _best_ms(func: Callable[[], Any], repeats: int, number: int) -> float:
    best = math.inf
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        for _ in range(max(number, 1)):
            func()
        best = min(best, (time.perf_counter() - start) / max(number, 1))
    return best * 1000.0


@dataclass
class SizeTiming:
    """Timings on one image.

    Attributes:
        label: ``240p``, ``480p``, ...
        file: the image file name.
        width, height: its size.
        faces: faces found.
        stage_ms: ``{stage: ms}`` for :data:`STAGES` and ``end_to_end``.
        face_recognition_columns: face_recognition's benchmark columns ``{column: ms}``.
    """

    label: str
    file: str
    width: int
    height: int
    faces: int
    stage_ms: dict[str, float]
    face_recognition_columns: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "file": self.file, "width": self.width, "height": self.height,
                "faces": self.faces, "stage_ms": self.stage_ms,
                "face_recognition_columns_ms": self.face_recognition_columns,
                "fps_end_to_end": 1000.0 / self.stage_ms["end_to_end"] if self.stage_ms["end_to_end"] else None}


def time_stages(paths: Sequence[str | os.PathLike[str]], *, detector: str = "hog", embedder: str = "dlib",
                upsample: int = 1, landmarks: int = 5, gallery_size: int = 10000, repeats: int = 3, number: int = 1,
                seed: int = 0, progress: Callable[[int], None] | None = None) -> list[SizeTiming]:
    """Time every stage on each image (see the module docstring).

    Args:
        paths: the images, e.g. ``obama-240p.jpg`` .. ``obama-1080p.jpg``.
        detector, embedder, upsample, landmarks: the pipeline settings.
        gallery_size: enrolled embeddings searched by the ``search`` stage.
        repeats: timing repeats; the fastest is kept.
        number: calls per repeat (averaged).
        seed: seed of the random gallery.
        progress: called with 1 after each image.
    """
    from facerec.analyzer import FaceAnalyzer
    from facerec.images import load_image

    if not paths:
        raise ConfigurationError("no images to time")
    analyzer = FaceAnalyzer(detector=detector, embedder=embedder, upsample=upsample, landmarks=landmarks)
    rng = np.random.default_rng(seed)
    gallery = rng.normal(0.0, 0.09, size=(gallery_size, 128)).astype(np.float32)
    warm = load_image(paths[0])
    analyzer.analyze(warm)  # load every model before timing
    analyzer.landmarks(warm, points=68)
    out = []
    for path in paths:
        out.append(_time_one(analyzer, path, gallery, landmarks, repeats, number))
        if progress is not None:
            progress(1)
    return out


def _time_one(analyzer: Any, path: str | os.PathLike[str], gallery: np.ndarray, landmarks: int, repeats: int,
              number: int) -> SizeTiming:
    from facerec.alignment import face_chips
    from facerec.images import load_image

    rgb = load_image(path)
    faces = analyzer.detect(rgb)
    marked = analyzer.landmarks(rgb, faces, points=landmarks)
    shapes = [f.landmarks for f in marked if f.landmarks is not None]
    chips = face_chips(rgb, shapes)
    vectors = analyzer.embed_chips(chips) if len(chips) else np.zeros((0, 128), dtype=np.float32)

    def search() -> None:
        for v in vectors:
            int(np.argmin(((gallery - v) ** 2).sum(axis=1)))

    stage_ms = {
        "load": _best_ms(lambda: load_image(path), repeats, number),
        "detect": _best_ms(lambda: analyzer.detect(rgb), repeats, number),
        "landmarks": _best_ms(lambda: analyzer.landmarks(rgb, faces, points=landmarks), repeats, number),
        "align": _best_ms(lambda: face_chips(rgb, shapes), repeats, number),
        "encode": _best_ms(lambda: analyzer.embed_chips(chips), repeats, number) if len(chips) else 0.0,
        "search": _best_ms(search, repeats, number),
        "end_to_end": _best_ms(lambda: analyzer.analyze(rgb), repeats, number),
    }
    fr_columns = {
        "face_locations": stage_ms["detect"],
        "face_landmarks": _best_ms(lambda: analyzer.landmarks(rgb, faces, points=68), repeats, number),
        "encode_face_inc_landmarks": _best_ms(lambda: analyzer.analyze(rgb, faces), repeats, number),
        "end_to_end": stage_ms["end_to_end"],
    }
    return SizeTiming(size_label(path, rgb.shape[0]), Path(path).name, int(rgb.shape[1]), int(rgb.shape[0]),
                      len(faces), stage_ms, fr_columns)


# -- throughput --------------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(detector: str, embedder: str, upsample: int, landmarks: int) -> None:
    from facerec.analyzer import FaceAnalyzer

    _WORKER["analyzer"] = FaceAnalyzer(detector=detector, embedder=embedder, upsample=upsample,
                                       landmarks=landmarks, embedder_options=_single_thread(embedder))


def _single_thread(embedder: str) -> dict[str, Any]:
    return {"threads": 1} if embedder == "onnx" else {}


def _warm(path: str) -> int:
    from facerec.images import load_image

    _WORKER["analyzer"].analyze(load_image(path))
    time.sleep(0.3)  # keep this worker busy so the next warm-up task goes to another one
    return os.getpid()


def _process(path: str) -> int:
    from facerec.images import load_image

    return len(_WORKER["analyzer"].analyze(load_image(path)))


@dataclass
class ThroughputResult:
    """Images per second with ``workers`` processes (each with its own models, one thread each)."""

    workers: int
    images: int
    seconds: float
    images_per_second: float

    def to_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "images": self.images, "seconds": self.seconds,
                "images_per_second": self.images_per_second}


def throughput(paths: Sequence[str | os.PathLike[str]], workers: int, *, images: int = 16, detector: str = "hog",
               embedder: str = "dlib", upsample: int = 1, landmarks: int = 5) -> ThroughputResult:
    """End-to-end images per second (load + analyze) over ``images`` photos cycled from ``paths``.

    Worker start-up and model loading are excluded: every worker processes one photo before the clock starts.
    """
    import multiprocessing

    if workers < 1:
        raise ConfigurationError(f"workers must be >= 1, got {workers}")
    if not paths:
        raise ConfigurationError("no images to process")
    items = [os.fspath(paths[i % len(paths)]) for i in range(images)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(detector, embedder, upsample, landmarks)) as pool:
        list(pool.map(_warm, [items[0]] * workers))
        start = time.perf_counter()
        list(pool.map(_process, items))
        seconds = time.perf_counter() - start
    return ThroughputResult(workers, len(items), seconds, len(items) / seconds if seconds > 0 else float("nan"))


def benchmark_table(timings: Sequence[SizeTiming]) -> str:
    """face_recognition's ``benchmark.py`` output format, from :func:`time_stages` results."""
    lines = ["Benchmarks (each time is the fastest of the repeats; one process)", ""]
    names = {"face_locations": "Face locations", "face_landmarks": "Face landmarks",
             "encode_face_inc_landmarks": "Encode face (inc. landmarks)", "end_to_end": "End-to-end"}
    for t in timings:
        lines.append(f"Timings at {t.label}:")
        for key, title in names.items():
            ms = t.face_recognition_columns.get(key, float("nan"))
            fps = 1000.0 / ms if ms else float("nan")
            lines.append(f" - {title}: {ms / 1000.0:.4f}s ({fps:.2f} fps)")
        lines.append("")
    return "\n".join(lines)
