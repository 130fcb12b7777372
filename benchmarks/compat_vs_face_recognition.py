"""face_recognition 1.3.0 against ``facerec.compat.face_recognition``: the same calls, side by side, in one run.

For each photo of face_recognition's own benchmark scene (``face_recognition_test_images/examples/obama-*.jpg``,
240p to 1080p) the two modules are called the same way, interleaved (each repeat calls both, in alternating
order, so load from other processes falls on both alike), one thread each (``OMP_NUM_THREADS=1``; the compat
module's ONNX Runtime parts on one thread; dlib in ``dlib-bin`` is single-threaded):

* ``face_locations(img)`` (HOG, upsample 1), ``face_encodings(img, boxes)`` (5 points, one jitter), and their sum;
* ``face_locations(img, model="cnn")`` at upsample 1 on the 240p photo only (dlib's CNN takes seconds a call on a
  CPU).

It also checks that both return the same boxes and encodings within 1e-5, and prints the medians (ms) and the
ratios as a Markdown table. The reference is not a facerec dependency: install it beside ``dlib-bin`` with
``.venv/bin/pip install --no-deps face_recognition==1.3.0``.

Run from the repository root::

    nice -n 5 .venv/bin/python benchmarks/compat_vs_face_recognition.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SIZES = ("240p", "480p", "720p", "1080p")


def _median_ms(calls: list[float]) -> float:
    return statistics.median(calls) * 1000.0


def _time(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per configuration (median reported)")
    parser.add_argument("--cnn-repeats", type=int, default=3, help="timed CNN calls (dlib's take seconds)")
    args = parser.parse_args(argv)

    import face_recognition as reference

    from facerec.compat import face_recognition as compat
    from facerec.compat.face_recognition import api as compat_api

    compat_api._use_threads(1)
    libraries = {"face_recognition 1.3.0": reference, "facerec.compat": compat}
    examples = args.data / "face_recognition_test_images" / "examples"
    rows: list[tuple[str, str, dict[str, float]]] = []
    for size in SIZES:
        image = reference.load_image_file(examples / f"obama-{size}.jpg")
        timings: dict[str, dict[str, list[float]]] = {name: {"detect": [], "encode": []} for name in libraries}
        answers: dict[str, tuple[Any, Any]] = {}
        for repeat in range(args.repeats + 1):  # the first call of each is a warm-up (models load)
            order = list(libraries.items()) if repeat % 2 == 0 else list(reversed(libraries.items()))
            for name, lib in order:
                detect_s, boxes = _time(lambda lib=lib, image=image: lib.face_locations(image))
                encode_s, encodings = _time(lambda lib=lib, image=image, boxes=boxes: lib.face_encodings(image, boxes))
                answers[name] = (boxes, encodings)
                if repeat:
                    timings[name]["detect"].append(detect_s)
                    timings[name]["encode"].append(encode_s)
        (ref_boxes, ref_enc), (our_boxes, our_enc) = answers.values()
        if ref_boxes != our_boxes:
            raise SystemExit(f"{size}: boxes differ: {ref_boxes} vs {our_boxes}")
        worst = max((float(np.max(np.abs(a - b))) for a, b in zip(ref_enc, our_enc)), default=0.0)
        if worst >= 1e-5:
            raise SystemExit(f"{size}: encodings differ by {worst:.2e}")
        for name in libraries:
            detect = _median_ms(timings[name]["detect"])
            encode = _median_ms(timings[name]["encode"])
            rows.append((size, name, {"detect": detect, "encode": encode, "total": detect + encode,
                                      "faces": len(our_boxes), "max_diff": worst}))
    small = reference.load_image_file(examples / "obama-240p.jpg")
    cnn: dict[str, list[float]] = {name: [] for name in libraries}
    cnn_boxes: dict[str, Any] = {}
    for repeat in range(args.cnn_repeats + 1):
        for name, lib in libraries.items():
            seconds, cnn_boxes[name] = _time(lambda lib=lib: lib.face_locations(small, model="cnn"))
            if repeat:
                cnn[name].append(seconds)
    if len({str(b) for b in cnn_boxes.values()}) != 1:
        raise SystemExit(f"cnn boxes differ: {cnn_boxes}")

    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores; "
          f"repeats {args.repeats} (cnn {args.cnn_repeats}); python {sys.version.split()[0]}")
    print()
    print("| photo | library | face_locations ms | face_encodings ms | total ms | x faster | max encoding diff |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for size in SIZES:
        pair = [r for r in rows if r[0] == size]
        base = pair[0][2]["total"]
        for _, name, figures in pair:
            print(f"| {size} | {name} | {figures['detect']:.0f} | {figures['encode']:.1f} | {figures['total']:.0f} "
                  f"| {base / figures['total']:.1f} | {figures['max_diff']:.1e} |")
    ref_cnn, our_cnn = (_median_ms(v) for v in cnn.values())
    print(f"| 240p | `model=\"cnn\"`: face_recognition {ref_cnn:.0f} ms, facerec.compat {our_cnn:.0f} ms "
          f"| | | | {ref_cnn / our_cnn:.1f} | same boxes |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
