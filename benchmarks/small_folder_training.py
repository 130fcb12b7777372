"""``facerec train`` with its defaults on small LFW folders: what a new user with a few photos per person gets.

Two settings (issue 16, item 4), each built as a temporary folder of symlinks into ``lfw/images`` (nothing is
copied):

1. **Five people, 15-20 photos each**: ``--folders`` seeded draws of 5 of the LFW people who have 15 to 20 photos.
   On each, ``facerec train DIR -m resnet-face`` with every default, ``-m embedding-svm`` (the reference: a
   linear SVM on dlib's embeddings), and ``-m resnet-face`` with the course seed's old defaults (Adam 1e-4,
   20 epochs, no early stopping). Goal: resnet-face >= 0.95 test accuracy and >= the SVM minus 2 points, in
   under a minute.
2. **Binary**: two LFW people, 60 photos each (the first 60 by file name), the course's ConvNet from scratch in
   binary mode (one sigmoid unit): every default, the issue's flags (``--epochs 15 --patience 4 --l2 1e-4
   --dropout 0.5``) on today's defaults, and the seed's old defaults. Goal: >= 0.75 with the defaults.

Each run is the real command line (``facerec train ... --json``) in a fresh process with an empty chip cache, so
its wall time includes starting Python and TensorFlow, face detection and alignment, training and evaluation.

Run from the repository root (prefix ``nice -n 5`` on a shared machine)::

    .venv/bin/python benchmarks/small_folder_training.py --json build/small_folder_training.json
    .venv/bin/python benchmarks/small_folder_training.py --only five --folders 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"

#: The binary setting's two people (LFW people with 60 or more photos) and the photos used of each.
BINARY_PEOPLE = ("Hugo_Chavez", "Junichiro_Koizumi")
BINARY_PHOTOS = 60

#: ``(run name, model, extra flags)`` per setting; flags on top of ``facerec train DIR -m MODEL``.
FIVE_RUNS: list[tuple[str, str, list[str]]] = [
    ("resnet-face (defaults)", "resnet-face", []),
    ("embedding-svm (defaults)", "embedding-svm", []),
    ("resnet-face (seed's old defaults)", "resnet-face",
     ["--learning-rate", "1e-4", "--epochs", "20", "--patience", "0", "--validation-size", "0.15"]),
]
BINARY_RUNS: list[tuple[str, str, list[str]]] = [
    ("convnet (defaults)", "convnet", []),
    ("convnet (issue's flags)", "convnet", ["--epochs", "15", "--patience", "4", "--l2", "1e-4", "--dropout", "0.5"]),
    ("convnet (seed's old defaults)", "convnet",
     ["--learning-rate", "1e-4", "--epochs", "20", "--patience", "0", "--no-augment", "--validation-size", "0.15"]),
]


def people_with(lfw: Path, low: int, high: int) -> list[str]:
    """LFW people with ``low`` to ``high`` photos, sorted."""
    return sorted(d.name for d in lfw.iterdir() if d.is_dir() and low <= sum(1 for _ in d.iterdir()) <= high)


def link_folder(lfw: Path, root: Path, people: list[str], limit: int | None = None) -> Path:
    """A folder-per-person data set of symlinks to ``people``'s photos (the first ``limit`` of each)."""
    root.mkdir(parents=True, exist_ok=True)
    for person in people:
        (root / person).mkdir()
        for photo in sorted((lfw / person).iterdir())[:limit]:
            (root / person / photo.name).symlink_to(photo)
    return root


def train_cli(data: Path, model: str, flags: list[str], work: Path, threads: int) -> dict[str, Any]:
    """One ``facerec train`` command in a fresh process with an empty chip cache; its metrics and wall time."""
    out = work / "run"
    command = [sys.executable, "-c", "from facerec.cli import main; main()", "train", str(data), "-m", model,
               "-o", str(out), "--cache-dir", str(work / "cache"), "--json", "--quiet", *flags]
    if threads:
        command += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:], "seconds": seconds}
    metrics = json.loads(done.stdout)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "epochs": metrics.get("epochs_run"),
            "best_epoch": metrics.get("best_epoch"), "train_images": metrics["train_images"],
            "validation_images": metrics["validation_images"], "test_images": metrics["test_images"],
            "train_seconds": metrics["train_seconds"], "seconds": seconds,
            "command": "facerec train DIR -m " + " ".join([model, *flags])}


def run_setting(label: str, data: Path, runs: list[tuple[str, str, list[str]]], threads: int,
                rows: list[dict[str, Any]]) -> None:
    for name, model, flags in runs:
        with tempfile.TemporaryDirectory(prefix="facerec-small-") as work:
            result = train_cli(data, model, flags, Path(work), threads)
        row = {"setting": label, "run": name, **result}
        rows.append(row)
        sys.stderr.write(json.dumps(row) + "\n")


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [("| setting | run | test accuracy | macro F1 | epochs (best) | train / val / test photos | "
             "train s | wall s |"), "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['setting']} | {r['run']} | error: {' '.join(r['error'])} | | | | | "
                         f"{r['seconds']:.0f} |")
            continue
        epochs = "–" if r["epochs"] is None else f"{r['epochs']} ({r['best_epoch']})"
        lines.append(f"| {r['setting']} | {r['run']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {epochs} | "
                     f"{r['train_images']} / {r['validation_images']} / {r['test_images']} | "
                     f"{r['train_seconds']:.0f} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=LFW, help="LFW images folder (one folder per person)")
    parser.add_argument("--folders", type=int, default=3, help="seeded draws of 5 people (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first draw (the others follow)")
    parser.add_argument("--only", choices=("five", "binary"), default=None, help="run one setting only")
    parser.add_argument("--threads", type=int, default=0, help="--threads for facerec train (0: TensorFlow's)")
    parser.add_argument("--binary-people", default=",".join(BINARY_PEOPLE),
                        help=f"the binary setting's two people (default {','.join(BINARY_PEOPLE)})")
    parser.add_argument("--binary-runs", default=None,
                        help="comma list of binary run numbers to do (1-based; default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="facerec-small-data-") as tmp:
        if args.only in (None, "five"):
            candidates = people_with(args.lfw, 15, 20)
            for i in range(args.folders):
                people = sorted(random.Random(args.seed + i).sample(candidates, 5))
                data = link_folder(args.lfw, Path(tmp) / f"five-{i}", people)
                photos = sum(1 for _ in data.rglob("*.jpg"))
                run_setting(f"5 people ({photos} photos, draw {args.seed + i}): {', '.join(people)}", data,
                            FIVE_RUNS, args.threads, rows)
        if args.only in (None, "binary"):
            pair = [p.strip() for p in args.binary_people.split(",")]
            runs = BINARY_RUNS if args.binary_runs is None else \
                [BINARY_RUNS[int(i) - 1] for i in args.binary_runs.split(",")]
            data = link_folder(args.lfw, Path(tmp) / "binary", pair, BINARY_PHOTOS)
            run_setting(f"2 people x {BINARY_PHOTOS} photos: {', '.join(pair)}", data, runs, args.threads, rows)
    after = os.getloadavg()
    print(f"load average (1 min) at start {load[0]:.1f}, at end {after[0]:.1f}; {os.cpu_count()} cores")
    print(markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "load_start": load, "load_end": after}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
