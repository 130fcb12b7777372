"""LFW 10-fold with test-time augmentation beyond flip: several chip paddings and 68-point alignment, averaged.

Every photo of ``pairs.txt`` (7,701) is detected once as the accurate preset does: HOG with the CNN fallback at full
size, and the central face. Its face is then embedded, each chip with its mirror image, in four ways:

* ``p0.25``: 5-point alignment at dlib's padding, 0.25;
* ``p0.15`` and ``p0.35``: 5-point alignment at a tighter and at a looser padding;
* ``l68``: 68-point alignment at 0.25;
* with ``--jitters N`` (N > 1), also ``jit``: the accurate preset's own views, the ``p0.25`` chip, its mirror and
  N - 1 jittered copies (:func:`facerec.embedding.embed_chips` with ``num_jitters=N, flip=True``, seed 0).

Each combination is a list of groups; a group's embeddings are averaged, then the groups' means (so the 11 views
of ``jit`` count as one group beside a chip and its mirror). The result is scored on LFW's 10-fold protocol
(:func:`facerec.evaluation.lfw.evaluate_pairs`, pairs without a face are errors).

Run from the repository root (about 6 minutes on 2 cores, 12 with ``--jitters 10``)::

    .venv/bin/python benchmarks/lfw_tta.py --json out/lfw-tta.json
    .venv/bin/python benchmarks/lfw_tta.py --jitters 10 --json out/lfw-tta-jit.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
PADDINGS = (0.25, 0.15, 0.35)
# a chip and its mirror; each group is averaged, then the groups' means
P25, P15, P35, L68 = ["p0.25", "p0.25f"], ["p0.15", "p0.15f"], ["p0.35", "p0.35f"], ["l68", "l68f"]
COMBINATIONS: list[list[list[str]]] = [
    [["p0.25"]], [P25], [P25, P15], [P25, P35], [P25, P15, P35], [P25, L68], [P25, P15, P35, L68],
]
JITTER_COMBINATIONS: list[list[list[str]]] = [[["jit"]], [["jit"], P35], [["jit"], L68], [["jit"], P35, L68],
                                              [["jit"], P15, P35, L68]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    parser.add_argument("--threads", type=int, default=2, help="photos at once (default 2)")
    parser.add_argument("--jitters", type=int, default=1,
                        help="above 1: also the accurate preset's views (chip, mirror, N - 1 jitters), default 1")
    parser.add_argument("--json", type=Path, default=None, help="write every number here as JSON")
    args = parser.parse_args(argv)

    import facerec
    from facerec.alignment import face_chips
    from facerec.analyzer import pick_face
    from facerec.embedding import embed_chips
    from facerec.evaluation import read_pairs
    from facerec.evaluation.lfw import evaluate_pairs
    from facerec.images import load_image

    pairs = read_pairs(args.data / "lfw" / "pairs.txt")
    photos = pairs.paths(args.data / "lfw")
    analyzer = facerec.FaceAnalyzer(threads=1, max_side=None)

    def embed(item: tuple[str, Path]) -> tuple[str, dict[str, Any] | None]:
        key, path = item
        image = load_image(path)
        face = pick_face(analyzer.detect(image), image.shape, "central")
        if face is None:
            return key, None
        out: dict[str, Any] = {}
        five = analyzer.landmarks(image, [face], points=5)[0].landmarks
        sixty_eight = analyzer.landmarks(image, [face], points=68)[0].landmarks
        assert five is not None and sixty_eight is not None
        chips = {f"p{p}": face_chips(image, [five], padding=p) for p in PADDINGS}
        chips["l68"] = face_chips(image, [sixty_eight])
        for name, chip in chips.items():
            plain, mirrored = analyzer.embedder.embed(np.concatenate([chip, chip[:, :, ::-1]]))
            out[name], out[name + "f"] = plain, mirrored
        if args.jitters > 1:
            out["jit"] = embed_chips(analyzer.embedder, chips["p0.25"], num_jitters=args.jitters, flip=True)[0]
        return key, out

    start = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        embedded = dict(pool.map(embed, photos.items()))
    seconds = time.perf_counter() - start
    rows = []
    print(f"{len(embedded)} photos embedded in {seconds:.0f} s\n")
    print("| embeddings averaged | LFW 10-fold |\n|---|---:|")
    for groups in COMBINATIONS + (JITTER_COMBINATIONS if args.jitters > 1 else []):
        means = {k: (None if v is None else np.mean([np.mean([v[n] for n in g], axis=0) for g in groups], axis=0))
                 for k, v in embedded.items()}
        report = evaluate_pairs(pairs, means)
        label = " + ".join("(" + " + ".join(g) + ")" if len(g) > 1 else g[0] for g in groups)
        rows.append({"embeddings": groups, "accuracy": report.kfold.mean, "se": report.kfold.standard_error})
        print(f"| {label} | {100 * report.kfold.mean:.2f}% ± {100 * report.kfold.standard_error:.2f}% |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seconds": seconds, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
