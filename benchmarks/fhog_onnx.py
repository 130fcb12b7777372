"""Would dlib's HOG face detector rebuilt as an ONNX graph be faster than dlib's own? A lower bound, measured.

Issue 15 suggested rebuilding the HOG detector outside dlib (fHOG features and its five linear filters, numpy or an
ONNX graph, multi-threaded). Before building it, this script times the part of such a graph that works on every
pixel of one pyramid level -- the part whose cost decides -- against dlib's scan of the same level:

* per pixel, as dlib's ``extract_fhog_features`` does: x and y gradients of each colour channel, the channel with
  the largest gradient, its orientation snapped to one of 18 directions, and its magnitude voted into that
  direction's plane; then the bilinear pooling of the votes into 8 x 8 cells (one strided depthwise convolution);
* on the cell grid (1/64 of the pixels): stand-ins for the block normalisation (one 2 x 2 convolution to 31
  features and the 0.2 clip; dlib's has more steps, all on the small grid) and the five 10 x 10 x 31 filters.

So the graph does *less* work than a faithful rebuild: its time is a lower bound on one level. It is compared with
dlib's own detector limited to that one level (its scanner's ``max_pyramid_levels`` set to 1 in the serialized
detector, as :mod:`facerec.detection.hog` does for its split scan) and with dlib's whole pyramid, on a level of
the size a 240p photo (427 x 240) has at upsample 1, 854 x 480, and the size of a 480p photo's 640-px copy at
upsample 1, 1280 x 720: face_recognition's benchmark scene (``examples/obama-240p.jpg`` and ``obama-480p.jpg``)
resized to those sizes. The graph's weights are random: the time of a convolution does not depend on them.

Run from the repository root on a quiet machine (about a minute)::

    .venv/bin/python benchmarks/fhog_onnx.py --repeats 25
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hog_split import _median_ms as median_ms

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SIZES = (("obama-240p.jpg", 854, 480), ("obama-480p.jpg", 1280, 720))
DIRECTIONS = 18
FEATURES = 31
FILTERS, FILTER_CELLS = 5, 10
CELL = 8


def build_graph(width: int, height: int) -> bytes:
    """The per-pixel part of fHOG and stand-ins for the rest, as one ONNX model on a ``(1, 3, h, w)`` image."""
    from onnx import TensorProto, numpy_helper
    from onnx import helper as oh

    rng = np.random.default_rng(0)
    weights: dict[str, Any] = {}
    gradient = np.zeros((6, 1, 3, 3), np.float32)          # dx of R, G, B, then dy of R, G, B
    gradient[:3, 0, 1, 0], gradient[:3, 0, 1, 2] = -1, 1
    gradient[3:, 0, 0, 1], gradient[3:, 0, 2, 1] = -1, 1
    weights["gradient"] = gradient
    angles = np.arange(DIRECTIONS // 2) * np.pi / (DIRECTIONS // 2)
    unit = np.zeros((DIRECTIONS, 2, 1, 1), np.float32)
    unit[: DIRECTIONS // 2, 0, 0, 0], unit[: DIRECTIONS // 2, 1, 0, 0] = np.cos(angles), np.sin(angles)
    unit[DIRECTIONS // 2:] = -unit[: DIRECTIONS // 2]
    weights["unit"] = unit
    ramp = np.r_[np.arange(1, CELL + 1), np.arange(CELL, 0, -1)] / CELL
    weights["pool"] = np.tile(np.outer(ramp, ramp).astype(np.float32), (DIRECTIONS, 1, 1, 1))
    weights["norm"] = rng.random((FEATURES, DIRECTIONS, 2, 2), dtype=np.float32) * 0.01
    weights["filters"] = rng.random((FILTERS, FEATURES, FILTER_CELLS, FILTER_CELLS), dtype=np.float32)
    weights["lo"], weights["hi"] = np.float32(0.0), np.float32(0.2)
    weights["channels"] = np.array([1], dtype=np.int64)
    node = oh.make_node
    nodes = [
        node("Concat", ["image", "image"], ["image2"], axis=1),
        node("Conv", ["image2", "gradient"], ["grad"], group=6, pads=[1, 1, 1, 1]),
        node("Mul", ["grad", "grad"], ["grad2"]),
        node("Split", ["grad2"], ["dx2", "dy2"], axis=1, num_outputs=2),
        node("Add", ["dx2", "dy2"], ["mag2"]),
        node("ReduceMax", ["mag2", "channels"], ["mag2_max"], keepdims=1),
        node("Equal", ["mag2", "mag2_max"], ["is_max"]),
        node("Cast", ["is_max"], ["pick"], to=TensorProto.FLOAT),
        node("Split", ["grad"], ["dx", "dy"], axis=1, num_outputs=2),
        node("Mul", ["dx", "pick"], ["dx_picked"]), node("Mul", ["dy", "pick"], ["dy_picked"]),
        node("ReduceSum", ["dx_picked", "channels"], ["gx"], keepdims=1),
        node("ReduceSum", ["dy_picked", "channels"], ["gy"], keepdims=1),
        node("Concat", ["gx", "gy"], ["gxy"], axis=1),
        node("Conv", ["gxy", "unit"], ["dots"]),
        node("ReduceMax", ["dots", "channels"], ["dots_max"], keepdims=1),
        node("Equal", ["dots", "dots_max"], ["is_bin"]),
        node("Cast", ["is_bin"], ["bin"], to=TensorProto.FLOAT),
        node("Sqrt", ["mag2_max"], ["magnitude"]),
        node("Mul", ["bin", "magnitude"], ["votes"]),
        node("Conv", ["votes", "pool"], ["cells"], group=DIRECTIONS, strides=[CELL, CELL],
             pads=[CELL // 2] * 4),
        node("Conv", ["cells", "norm"], ["features"], pads=[0, 0, 1, 1]),
        node("Clip", ["features", "lo", "hi"], ["clipped"]),
        node("Conv", ["clipped", "filters"], ["scores"]),
    ]
    graph = oh.make_graph(
        nodes, "fhog_lower_bound",
        [oh.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [oh.make_tensor_value_info("scores", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(value), name) for name, value in weights.items()])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


def one_level_detector() -> Any:
    """dlib's frontal face detector limited to one pyramid level (the byte patch of :mod:`facerec.detection.hog`)."""
    import tempfile

    import dlib

    from facerec.detection import hog

    with tempfile.NamedTemporaryFile(suffix=".svm", delete=False) as file:
        file.write(hog._limit_levels(Path(hog._detector_files()[0]).read_bytes(), 1))
    return dlib.fhog_object_detector(file.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=25, help="timed runs per figure (median; default 25)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    args = parser.parse_args(argv)

    import dlib
    import onnxruntime as ort

    from facerec.detection import hog

    one_level, full = one_level_detector(), dlib.fhog_object_detector(hog._detector_files()[0])
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, onnxruntime {ort.__version__}, "
          f"dlib {dlib.__version__}\n")
    print("| level (the photo resized) | dlib, that level alone (1 thread) | dlib, the whole pyramid (1 thread) "
          "| graph lower bound, 1 thread | graph lower bound, 2 threads |")
    print("|---|---:|---:|---:|---:|")
    for name, width, height in SIZES:
        photo = Image.open(args.data / "face_recognition_test_images" / "examples" / name).convert("RGB")
        image = np.asarray(photo.resize((width, height), Image.Resampling.BILINEAR))
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
        model = build_graph(width, height)
        graph_ms = []
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            graph_ms.append(median_ms(functools.partial(session.run, None, {"image": tensor}), args.repeats))
        level_ms = median_ms(functools.partial(one_level.run, image, 0, 0.0), args.repeats)
        full_ms = median_ms(functools.partial(full.run, image, 0, 0.0), args.repeats)
        print(f"| {width} x {height} ({name}) | {level_ms:.1f} ms | {full_ms:.1f} ms | {graph_ms[0]:.1f} ms "
              f"| {graph_ms[1]:.1f} ms |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
