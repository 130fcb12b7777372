"""Speed of dlib's face ResNet in Keras 3 (TensorFlow, CPU) against the ONNX Runtime network facerec serves.

Both run the same weights on the same chips with the same number of threads; the script also checks that their
outputs agree and counts the Keras model's parameters.

Usage::

    .venv/bin/python benchmarks/bench_keras_resnet.py                 # 2 threads, batch 1 and 32
    .venv/bin/python benchmarks/bench_keras_resnet.py --threads 1 --json

Prints a Markdown table (or JSON with ``--json``) of milliseconds per face: the median of repeated runs, the
runtimes timed in alternating rounds so that background load hits them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np


def _interleaved_ms_per_face(runners: dict[str, Callable[[np.ndarray], object]], batch: np.ndarray,
                             repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU milliseconds per face of each runner.

    The runners are timed in alternating rounds so that they share any background load. CPU time (this process,
    all threads) is the cost of the work; on a busy machine it is steadier than the wall time.
    """
    for run in runners.values():
        for _ in range(3):  # warm-up: graph tracing, allocator, thread pools
            run(batch)
    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run(batch)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (1000.0 * statistics.median(wall[name]) / len(batch),
                   1000.0 * statistics.median(cpu[name]) / len(batch)) for name in runners}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for both runtimes (default 2)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="batch sizes (default 1 32)")
    parser.add_argument("--faces", type=int, default=320, help="faces timed per measurement, roughly (default 320)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import onnxruntime as ort
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from facerec.models.keras_build import build_face_resnet
    from facerec.models.onnx_build import onnx_model_path

    model = build_face_resnet()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_model_path("resnet")), options, providers=["CPUExecutionProvider"])

    xla = tf.function(lambda x: model(x, training=False), jit_compile=True)
    runners: dict[str, Callable[[np.ndarray], object]] = {
        "ONNX Runtime": lambda x: session.run(["embedding"], {"image": x}),
        "Keras predict_on_batch": model.predict_on_batch,
        "Keras tf.function XLA": lambda x: xla(x).numpy(),
    }
    rng = np.random.default_rng(0)
    results: list[dict[str, object]] = []
    for batch_size in args.batches:
        batch = rng.integers(0, 256, size=(batch_size, 150, 150, 3)).astype(np.float32)
        reference = session.run(["embedding"], {"image": batch})[0]
        timings = _interleaved_ms_per_face(runners, batch, max(5, args.faces // batch_size))
        for name, run in runners.items():
            output = run(batch)
            output = output[0] if isinstance(output, list) else output
            results.append({"runtime": name, "batch": batch_size, "threads": args.threads,
                            "ms_per_face": round(timings[name][0], 2),
                            "cpu_ms_per_face": round(timings[name][1], 2),
                            "max_abs_diff_vs_onnx": float(np.abs(np.asarray(output) - reference).max())})
    summary = {"load_average": os.getloadavg(), "keras": keras.__version__, "tensorflow": tf.__version__,
               "onnxruntime": ort.__version__,
               "params": model.count_params(), "results": results}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Keras {summary['keras']} / TensorFlow {summary['tensorflow']} / ONNX Runtime {summary['onnxruntime']}; "
          f"{summary['params']:,} parameters; {args.threads} threads; {os.cpu_count()} CPUs, load average {load}")
    print()
    print("| runtime | batch | ms per face (wall) | CPU ms per face | max abs diff vs ONNX |")
    print("|---|---:|---:|---:|---:|")
    for row in results:
        print(f"| {row['runtime']} | {row['batch']} | {row['ms_per_face']:.2f} | {row['cpu_ms_per_face']:.2f} "
              f"| {row['max_abs_diff_vs_onnx']:.1e} |")


if __name__ == "__main__":
    main()
