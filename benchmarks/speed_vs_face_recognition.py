"""Speed of facerec against the reference library face_recognition 1.3.0, on the same photos and cores, in one run.

Measured, per library, in one process. face_recognition runs as shipped: dlib in the ``dlib-bin`` wheel is
single-threaded, so it uses one core whatever the machine has. facerec runs as shipped too -- its default
``FaceAnalyzer()`` splits HOG's pyramid over two threads and runs ONNX Runtime on one thread per core -- and, labelled
separately, on one thread (``FaceAnalyzer(threads=1)``) and at full size on one thread (``max_side=None,
threads=1``: dlib's exact scan, the default before detection on a 640-px copy). ``--core N`` pins the process to
core ``N`` (what ``taskset -c N`` does; facerec's threads then share that core).

1. **Per image** on face_recognition's own benchmark scene at 240p, 480p, 720p and 1080p
   (``face_recognition_test_images/examples/obama-*.jpg``): milliseconds to *detect* (face_recognition:
   ``face_locations(img)``, HOG upsample 1; facerec: ``FaceAnalyzer.detect``) and to *encode* the faces found
   (face_recognition: ``face_encodings(img, locations)``, 5-point landmarks and one jitter; facerec:
   ``FaceAnalyzer.analyze(img, faces)``: landmarks, chip and embedding), the photo already decoded.
2. **End to end** over 1,000 LFW photos (the first 1,000 of ``pairs.txt``'s photos in name order): photos per
   second to load, detect and encode each photo (face_recognition: ``load_image_file`` + ``face_locations`` +
   ``face_encodings``; facerec: ``FaceAnalyzer.analyze(path)`` one photo after another, and
   ``BatchProcessor().run(paths)``, the command line's way: one photo per core at once, one set of models), one
   process, in interleaved chunks of 50 photos. LFW photos are 250 px, below the 640 px copy, so detection there
   is a full-size scan (its pyramid split over two threads by default).

The libraries are measured **interleaved** (each repeat runs every configuration once, in rotating order) so that
load from other processes on a shared machine falls on all of them alike; each figure is the median of the repeats,
with one warm-up call per configuration excluded (models load in the warm-up). Wall time and the process's CPU
time are both recorded: on a machine shared with other work, CPU time (single-threaded code) is the steadier
measure of the work done. The report gives every facerec figure also as a ratio to face_recognition's.

The reference library is not a facerec dependency. Install it beside ``dlib-bin`` without letting pip build dlib
from source::

    .venv/bin/pip install --no-deps face_recognition==1.3.0    # its dependencies are already here:
    # click (its CLI), numpy, Pillow, dlib (dlib-bin) and face_recognition_models (the weights)
    # if "import face_recognition" fails on pkg_resources: .venv/bin/pip install 'setuptools<82'

Run from the repository root::

    .venv/bin/python benchmarks/speed_vs_face_recognition.py --repeats 15 --lfw-count 1000 --json out/speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SIZES = ("240p", "480p", "720p", "1080p")
MAX_SIDE = 640


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


class Config:
    """One way to detect and encode: a label and callables (detect, encode given detections, end to end on one
    path, and ``many``: end to end on a list of paths, returning how many had a face)."""

    def __init__(self, label: str, detect: Callable[[Any], Any] | None, encode: Callable[[Any, Any], Any] | None,
                 end_to_end: Callable[[str], Any], count: Callable[[Any], int],
                 many: Callable[[list[str]], int] | None = None) -> None:
        self.label, self.detect, self.encode, self.end_to_end, self.count = label, detect, encode, end_to_end, count
        self.many = many or (lambda paths: sum(int(len(end_to_end(p)) > 0) for p in paths))


def reference_config() -> Config:
    import face_recognition

    return Config(
        "face_recognition 1.3.0",
        detect=lambda img: face_recognition.face_locations(img),
        encode=lambda img, locs: face_recognition.face_encodings(img, known_face_locations=locs),
        end_to_end=lambda path: face_recognition.face_encodings(
            img := face_recognition.load_image_file(path), known_face_locations=face_recognition.face_locations(img)),
        count=len,
    )


def facerec_config(label: str, **options: Any) -> Config:
    import facerec

    analyzer = facerec.FaceAnalyzer(**options)
    return Config(label, detect=analyzer.detect, encode=lambda img, faces: analyzer.analyze(img, faces),
                  end_to_end=analyzer.analyze, count=len)


def batch_config(label: str, **options: Any) -> Config:
    """End to end only: :class:`facerec.BatchProcessor` in this process (one photo per core at once)."""
    from facerec.batch import BatchProcessor

    batch = BatchProcessor(**options)
    return Config(label, detect=None, encode=None, count=len,
                  end_to_end=lambda path: next(iter(batch.run([path]))).faces,
                  many=lambda paths: sum(int(bool(r.faces)) for r in batch.run(paths)))


def per_image(configs: list[Config], images: dict[str, np.ndarray], repeats: int) -> dict[str, dict[str, Any]]:
    """``{config: {size: {detect_ms, encode_ms, faces}}}``, medians of ``repeats`` interleaved runs."""
    samples: dict[tuple[str, str, str], list[float]] = {}
    faces: dict[tuple[str, str], int] = {}
    configs = [c for c in configs if c.detect is not None]
    for size, img in images.items():
        for config in configs:  # warm-up, excluded
            found = config.detect(img)  # type: ignore[misc]
            config.encode(img, found)  # type: ignore[misc]
            faces[(config.label, size)] = config.count(found)
        for r in range(repeats):
            for i in range(len(configs)):
                config = configs[(i + r) % len(configs)]
                c0, t0 = time.process_time(), time.perf_counter()
                found = config.detect(img)  # type: ignore[misc]
                c1, t1 = time.process_time(), time.perf_counter()
                config.encode(img, found)  # type: ignore[misc]
                c2, t2 = time.process_time(), time.perf_counter()
                samples.setdefault((config.label, size, "detect"), []).append(t1 - t0)
                samples.setdefault((config.label, size, "encode"), []).append(t2 - t1)
                samples.setdefault((config.label, size, "detect_cpu"), []).append(c1 - c0)
                samples.setdefault((config.label, size, "encode_cpu"), []).append(c2 - c1)
        sys.stderr.write(f"per image: {size} done\n")
    out: dict[str, dict[str, Any]] = {}
    for config in configs:
        out[config.label] = {
            size: {"detect_ms": _median_ms(samples[(config.label, size, "detect")]),
                   "encode_ms": _median_ms(samples[(config.label, size, "encode")]),
                   "detect_cpu_ms": _median_ms(samples[(config.label, size, "detect_cpu")]),
                   "encode_cpu_ms": _median_ms(samples[(config.label, size, "encode_cpu")]),
                   "faces": faces[(config.label, size)]}
            for size in images}
    return out


def end_to_end(configs: list[Config], paths: list[str], chunk: int = 50) -> dict[str, dict[str, float]]:
    """Photos per second over ``paths`` for each config, run in interleaved chunks of ``chunk`` photos."""
    for config in configs:  # warm-up, excluded
        config.end_to_end(paths[0])
    elapsed = {c.label: 0.0 for c in configs}
    cpu = {c.label: 0.0 for c in configs}
    found = {c.label: 0 for c in configs}
    start = time.perf_counter()
    for n, begin in enumerate(range(0, len(paths), chunk)):
        part = paths[begin:begin + chunk]
        for i in range(len(configs)):
            config = configs[(i + n) % len(configs)]
            c0, t0 = time.process_time(), time.perf_counter()
            found[config.label] += config.many(part)
            elapsed[config.label] += time.perf_counter() - t0
            cpu[config.label] += time.process_time() - c0
        done = begin + len(part)
        sys.stderr.write(f"end to end: {done}/{len(paths)} photos, {time.perf_counter() - start:.0f} s\n")
    return {c.label: {"photos_per_s": len(paths) / elapsed[c.label], "seconds": elapsed[c.label],
                      "photos_per_cpu_s": len(paths) / cpu[c.label], "cpu_seconds": cpu[c.label],
                      "photos_with_face": found[c.label]} for c in configs}


def markdown(result: dict[str, Any]) -> str:
    ref = "face_recognition 1.3.0"
    lines = ["| library / setting | " + " | ".join(f"{s} detect | {s} encode | {s} total" for s in SIZES) + " |",
             "|---|" + "---:|" * (3 * len(SIZES))]
    per = result["per_image"]
    for label, sizes in per.items():
        cells = []
        for s in SIZES:
            d, e = sizes[s]["detect_ms"], sizes[s]["encode_ms"]
            total = d + e
            if label == ref:
                cells += [f"{d:.0f}", f"{e:.0f}", f"**{total:.0f}**"]
            else:
                ref_total = per[ref][s]["detect_ms"] + per[ref][s]["encode_ms"]
                cells += [f"{d:.0f}", f"{e:.0f}", f"**{total:.0f}** ({ref_total / total:.2f}x)"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "CPU time (the process's, ms; steadier than wall time on a shared machine):", "",
              "| library / setting | " + " | ".join(f"{s} detect | {s} encode | {s} total" for s in SIZES) + " |",
              "|---|" + "---:|" * (3 * len(SIZES))]
    for label, sizes in per.items():
        cells = []
        for s in SIZES:
            d, e = sizes[s]["detect_cpu_ms"], sizes[s]["encode_cpu_ms"]
            ref_total = per[ref][s]["detect_cpu_ms"] + per[ref][s]["encode_cpu_ms"]
            ratio = "" if label == ref else f" ({ref_total / (d + e):.2f}x)"
            cells += [f"{d:.0f}", f"{e:.0f}", f"**{d + e:.0f}**{ratio}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    header = ("| library / setting | photos/s end to end (wall) | x face_recognition | photos per CPU second | "
              "x face_recognition | photos with a face |")
    lines += ["", header, "|---|---:|---:|---:|---:|---:|"]
    e2e = result["end_to_end"]
    for label, row in e2e.items():
        ratio = row["photos_per_s"] / e2e[ref]["photos_per_s"]
        cpu_ratio = row["photos_per_cpu_s"] / e2e[ref]["photos_per_cpu_s"]
        lines.append(f"| {label} | {row['photos_per_s']:.2f} | {ratio:.2f}x | {row['photos_per_cpu_s']:.2f} | "
                     f"{cpu_ratio:.2f}x | {row['photos_with_face']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per image and config (median)")
    parser.add_argument("--lfw-count", type=int, default=1000, help="LFW photos for the end-to-end rate (0: skip)")
    parser.add_argument("--embedders", default="", help="other facerec embedders to show (e.g. dlib)")
    parser.add_argument("--core", type=int, default=-1,
                        help="pin the process to this CPU core (default -1: no pinning; facerec's threads then "
                             "share it)")
    parser.add_argument("--json", type=Path, default=None, help="write every number here as JSON")
    args = parser.parse_args(argv)

    if args.core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})

    import facerec
    from facerec.analyzer import DEFAULT_EMBEDDER
    from facerec.evaluation import read_pairs

    cores = os.cpu_count()
    configs = [reference_config(),
               facerec_config(f"facerec default (FaceAnalyzer(): {MAX_SIDE}-px copy, {cores} threads)"),
               batch_config(f"facerec BatchProcessor() ({cores} photos at once, 1 thread each)"),
               facerec_config("facerec default on 1 thread (FaceAnalyzer(threads=1))", threads=1),
               facerec_config("facerec full size on 1 thread (max_side=None, threads=1; dlib's exact scan)",
                              max_side=None, threads=1),
               facerec_config(f"facerec preset accurate (FaceAnalyzer(preset='accurate'): full size, {cores} threads)",
                              preset="accurate")]
    for name in [n.strip() for n in args.embedders.split(",") if n.strip()]:
        if name not in facerec.list_embedders():
            sys.stderr.write(f"embedder {name!r} not available, skipped\n")
            continue
        if name != DEFAULT_EMBEDDER:
            configs.append(facerec_config(f"facerec, embedder {name}", embedder=name))

    examples = args.data / "face_recognition_test_images" / "examples"
    images = {size: facerec.load_image(examples / f"obama-{size}.jpg") for size in SIZES}
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                    "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                    "load_average_start": os.getloadavg()},
        "repeats": args.repeats,
        "image_shapes": {s: list(img.shape) for s, img in images.items()},
    }
    result["per_image"] = per_image(configs, images, args.repeats)
    if args.lfw_count:
        pairs = read_pairs(args.data / "lfw" / "pairs.txt")
        paths = [str(p) for p in list(pairs.paths(args.data / "lfw").values())[: args.lfw_count]]
        result["end_to_end"] = end_to_end(configs, paths)
    result["machine"]["load_average_end"] = os.getloadavg()
    print(markdown(result) if args.lfw_count else json.dumps(result["per_image"], indent=1))
    print(f"\nload average at start {result['machine']['load_average_start']}, at end "
          f"{result['machine']['load_average_end']}; pinned to cores {result['machine']['affinity']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
