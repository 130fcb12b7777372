"""dlib's HOG scan against facerec's split scan (``HogDetector(split_pyramid=True)``), on one photo, in one run.

For face_recognition's benchmark scene at 240p and at 480p shrunk to the pipeline's 640-px copy (640 x 360), at
upsample 1: milliseconds per scan (median of ``--repeats``, after one warm-up) of

* dlib's own scan (``HogDetector()``: ``dlib.get_frontal_face_detector()``, one thread);
* the split scan on one thread (the two parts one after the other);
* the split scan on two threads (the default of ``FaceAnalyzer()``);
* each part alone: the two largest pyramid levels, and the rest on a copy of the third level's size.

Also the cost of making a detector: ``dlib.get_frontal_face_detector()`` against loading the file facerec writes
once (:func:`facerec.detection.hog._detector_files`).

Run from the repository root::

    .venv/bin/python benchmarks/hog_split.py --repeats 25
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    parser.add_argument("--repeats", type=int, default=25, help="timed scans per figure (median; default 25)")
    args = parser.parse_args(argv)

    import dlib

    from facerec.detection.hog import HogDetector, _detector_files
    from facerec.images import load_image, resize_to_max_side

    examples = args.data / "face_recognition_test_images" / "examples"
    photos = {"240p (427 x 240)": load_image(examples / "obama-240p.jpg"),
              "480p as its 640-px copy (640 x 360)": resize_to_max_side(load_image(examples / "obama-480p.jpg"),
                                                                        640)[0]}
    exact, one, two = HogDetector(threads=1), HogDetector(split_pyramid=True, threads=1), \
        HogDetector(split_pyramid=True, threads=2)
    print("| photo, upsample 1 | dlib's scan | split, 1 thread | split, 2 threads | top 2 levels alone | "
          "the rest alone |")
    print("|---|---:|---:|---:|---:|---:|")
    top_pool = two._top
    assert top_pool is not None
    for label, image in photos.items():
        figures = [
            _median_ms(lambda image=image: exact.detect_raw(image, 1), args.repeats),
            _median_ms(lambda image=image: one.detect_raw(image, 1), args.repeats),
            _median_ms(lambda image=image: two.detect_raw(image, 1), args.repeats),
            _median_ms(lambda image=image: two._run(top_pool, image, 1), args.repeats),
            _median_ms(lambda image=image: two._lower_levels(image, 1), args.repeats),
        ]
        print(f"| {label} | " + " | ".join(f"{f:.1f} ms" for f in figures) + " |")
    full_file = _detector_files()[0]
    decode = _median_ms(dlib.get_frontal_face_detector, 5)
    load = _median_ms(lambda: dlib.fhog_object_detector(full_file), 5)
    print(f"\nmaking a detector: dlib.get_frontal_face_detector() {decode:.1f} ms, "
          f"dlib.fhog_object_detector(file) {load:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
