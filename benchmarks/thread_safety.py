"""One shared FaceAnalyzer from several threads: correctness against serial answers, and lock vs instance pool.

dlib's HOG detector object is not re-entrant (it loads each image into itself), so a shared analyzer needs either
a lock around it (threads take turns) or one detector per concurrent caller (:class:`facerec.concurrency.InstancePool`,
threads detect in parallel). This script times both on the same photos in the same run, and checks that each gives
exactly the serial answers (boxes equal, embeddings within 1e-6).

    nice -n 5 .venv/bin/python benchmarks/thread_safety.py --photos 48 --threads 6
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from facerec import FaceAnalyzer
from facerec.images import load_image
from facerec.types import Box, Detection

HERE = Path(__file__).resolve().parent
DEFAULT_LFW = HERE.parent.parent / "shared" / "data" / "lfw"


class LockedHog:
    """The alternative measured against the pool: one dlib detector behind a lock."""

    name = "hog"

    def __init__(self) -> None:
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def detect_raw(self, image: Any, upsample: int) -> list[Detection]:
        with self._lock:
            rects, scores, _ = self._detector.run(image, upsample, 0.0)
        return [Detection(Box(r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]


def _answers(analyzer: FaceAnalyzer, image: Any, operation: str) -> list[tuple[Box, Any]]:
    faces = analyzer.detect(image) if operation == "detect" else analyzer.analyze(image)
    return [(f.box, f.embedding) for f in faces]


def _same(a: list[tuple[Box, Any]], b: list[tuple[Box, Any]]) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and (x[1] is None or float(np.abs(x[1] - y[1]).max()) <= 1e-6)
                                    for x, y in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the photos per timing")
    args = parser.parse_args()
    files = sorted((args.lfw / "images").glob("*/*.jpg"))
    step = max(1, len(files) // args.photos)
    images = [load_image(f) for f in files[::step][:args.photos]]
    print(f"{len(images)} LFW photos, {args.threads} threads, {args.rounds} rounds; load {os.getloadavg()}")
    for operation in ("detect", "analyze"):
        for variant in ("pool", "lock"):
            analyzer = FaceAnalyzer(threads=1)
            if variant == "lock":
                analyzer._parts["detector"] = LockedHog()
            serial = [_answers(analyzer, im, operation) for im in images]  # also loads every model

            def one(image: Any, analyzer: FaceAnalyzer = analyzer, operation: str = operation) -> Any:
                return _answers(analyzer, image, operation)

            # warm the pool to the thread count so both variants time detection, not detector creation
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(one, images[:args.threads]))
            start = time.perf_counter()
            for _ in range(args.rounds):
                [_answers(analyzer, im, operation) for im in images]
            serial_s = time.perf_counter() - start
            start = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                results = list(pool.map(one, images * args.rounds))
            threaded_s = time.perf_counter() - start
            wrong = sum(not _same(r, serial[i % len(images)]) for i, r in enumerate(results))
            total = len(images) * args.rounds
            print(f"{operation:8s} {variant}: serial {1000 * serial_s / total:6.1f} ms/photo, "
                  f"{args.threads} threads {1000 * threaded_s / total:6.1f} ms/photo "
                  f"(x{serial_s / threaded_s:.2f}), wrong {wrong} of {total}")


if __name__ == "__main__":
    main()
