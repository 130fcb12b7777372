"""Training on LFW: the course's ConvNet and its regularisers, MobileNet from scratch, dlib's face ResNet as a
frozen base and fine-tuned, and classic classifiers on face embeddings -- one seeded split, one table.

Data: LFW people with at least 20 photos (62 people, 3,023 photos), each photo detected and aligned with facerec's
pipeline (HOG, upsample 1); photos without exactly one face are skipped. One seeded, stratified 70/30 split
(validation: 15% of the training part, for early stopping), shared by every run.

Run (about 45 minutes on 2 busy shared cores, 5 of them detecting faces; chips, detections and embeddings are
cached under ``.cache/training`` after the first run)::

    .venv/bin/python benchmarks/training_comparison.py                  # all runs
    .venv/bin/python benchmarks/training_comparison.py --only convnet,embedding-svm

Writes the run folders and ``comparison.md`` / ``comparison.json`` (every finished run in the folder, also those
of an earlier ``--only`` invocation) under ``--output`` (default ``build/training_comparison``) and copies each
learning curve (plots only, never faces) to ``docs/figures/training/<run>.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"

#: Small chips for the networks trained from scratch: the CPU is shared and slow.
SMALL = 64

#: The settings these runs were measured with, pinned where facerec's per-model defaults have changed since
#: (no augmentation or early stopping unless a run asks, a 15% validation part).
PINNED = {"augment": False, "patience": 0, "patience_start": 0, "validation_size": 0.15}
CONVNET = {"model": "convnet", "image_size": SMALL, "epochs": 30, "learning_rate": 5e-4, **PINNED}
RUNS: list[dict[str, object]] = [
    {"name": "convnet", **CONVNET},
    {"name": "convnet-l2", **CONVNET, "l2": 1e-2},
    {"name": "convnet-dropout", **CONVNET, "dropout": 0.5},
    {"name": "convnet-augment", **CONVNET, "augment": True},
    {"name": "convnet-early-stopping", **CONVNET, "patience": 4},
    # no early stopping: from random weights its validation loss stalls for many epochs before it falls
    {"name": "mobilenet-scratch", "model": "mobilenet", "image_size": SMALL, "base_weights": "none",
     "epochs": 30, "learning_rate": 1e-3, **PINNED},
    # the frozen base's features are computed once, so head epochs cost well under a second: give it many
    {"name": "resnet-face-frozen", "model": "resnet-face", "epochs": 200, "learning_rate": 1e-3,
     **PINNED, "patience": 10},
    {"name": "resnet-face-finetuned", "model": "resnet-face", "epochs": 200, "learning_rate": 1e-3,
     **PINNED, "patience": 10, "fine_tune_top": 20, "fine_tune_learning_rate": 1e-5, "fine_tune_epochs": 3},
    {"name": "embedding-svm", "model": "embedding-svm", "validation_size": 0.15},
    {"name": "embedding-knn", "model": "embedding-knn", "validation_size": 0.15},
    # the regularisers together, with the epochs they need (validation loss was still falling at 30)
    {"name": "convnet-regularised", **CONVNET, "epochs": 60, "augment": True, "dropout": 0.3, "l2": 1e-3,
     "patience": 8},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LFW, help="LFW images folder (one folder per person)")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "training_comparison")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "figures" / "training")
    parser.add_argument("--only", default="", help="comma list of run names (default: all)")
    parser.add_argument("--min-images", type=int, default=20, help="people with at least this many photos")
    parser.add_argument("--workers", type=int, default=2, help="processes for face detection")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import facerec
    from facerec.training import (
        TrainConfig,
        configure_threads,
        load_face_dataset,
        load_results,
        sweep,
        write_comparison,
    )

    configure_threads(args.threads)
    embedder = "onnx" if "onnx" in facerec.list_embedders() else "dlib"
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    runs = [r for r in RUNS if not wanted or r["name"] in wanted]
    configs = [TrainConfig.from_dict({"min_images_per_person": args.min_images, "seed": args.seed,
                                      "embedder": embedder, "batch_size": 32, **run}) for run in runs]
    cache = ROOT / ".cache" / "training"

    def log(line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)

    # detect once (landmarks are cached apart from the chip size, so the other sizes only cut chips)
    started = time.perf_counter()
    dataset = load_face_dataset(args.data, configs[0].chip_settings(), cache_dir=cache, workers=args.workers,
                                min_images_per_person=args.min_images)
    log(f"{len(dataset)} usable photos of {dataset.num_classes} people, {len(dataset.skipped)} skipped, "
        f"read in {time.perf_counter() - started:.0f} s")
    command = "python benchmarks/training_comparison.py " + " ".join(argv if argv is not None else sys.argv[1:])
    sweep(args.data, args.output, configs, cache_dir=cache, workers=args.workers, command=command,
                    verbose=0, log=log)
    # the table covers every finished run of RUNS in --output (runs of an earlier --only invocation too)
    finished = [args.output / str(run["name"]) for run in RUNS if (args.output / str(run["name"]) / "metrics.json")
                .is_file()]
    results = load_results(finished)
    write_comparison(results, args.output)
    args.figures.mkdir(parents=True, exist_ok=True)
    for result in results:
        curve = result.run_dir / "learning_curve.png"
        if curve.is_file():
            shutil.copyfile(curve, args.figures / f"{result.config.run_name}.png")
    log(f"all runs in {time.perf_counter() - started:.0f} s")
    print((args.output / "comparison.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
