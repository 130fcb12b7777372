"""Clustering on LFW: pairwise precision/recall/F1 of Chinese whispers, DBSCAN and agglomerative clustering.

Data: the cached LFW embeddings of ``benchmarks/identification.py`` (people with at least 10 photos: 158 people,
about 4,300 faces; it computes them on its first run).

Run::

    .venv/bin/python benchmarks/clustering.py

Two settings:

1. *All*: every face of the 158 people at once (a few very large clusters: George W Bush has 530 photos).
2. *Albums*: 20 seeded draws of 10 people with up to 10 photos each (about 100 faces, like a personal photo
   collection); the mean over the draws.

For each method and distance threshold: pairwise precision (of the pairs put together, the share that are one
person), recall (of the same-person pairs, the share put together), F1, adjusted Rand index, clusters found and the
share of faces left as noise; ``min_cluster_size`` is 1 except where the method itself leaves noise (DBSCAN).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from identification import lfw_embeddings, markdown

SETTINGS = [
    ("chinese_whispers", {}, (0.4, 0.45, 0.5, 0.55, 0.6)),
    ("dbscan", {"min_samples": 2}, (0.4, 0.45, 0.5, 0.55)),
    ("dbscan", {"min_samples": 5}, (0.45, 0.5, 0.55)),
    ("agglomerative", {}, (0.5, 0.55, 0.6, 0.65, 0.7)),
]


def score(X: np.ndarray, y: np.ndarray, method: str, threshold: float, options: dict) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score

    from facerec.recognition import cluster_faces, pairwise_scores

    start = time.perf_counter()
    labels = cluster_faces(X, method=method, distance_threshold=threshold, **options)
    seconds = time.perf_counter() - start
    s = pairwise_scores(y, labels)
    noise = labels == -1
    relabelled = labels.copy()
    relabelled[noise] = labels.max() + 1 + np.arange(noise.sum())
    return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "ari": adjusted_rand_score(y, relabelled),
            "clusters": s.n_clusters, "noise": s.noise, "seconds": seconds}


def name_of(method: str, options: dict) -> str:
    return method + "".join(f", {k}={v}" for k, v in options.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=20, help="album draws")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data, embedder = lfw_embeddings()
    X, y = data.embeddings, data.labels
    print(f"{len(X)} faces of {len(set(y))} people, embedder {embedder}")
    headers = ["method", "threshold", "precision", "recall", "F1", "ARI", "clusters", "noise", "time (s)"]

    rows = []
    for method, options, thresholds in SETTINGS:
        for t in thresholds:
            r = score(X, y, method, t, options)
            rows.append([name_of(method, options), f"{t}", f"{r['precision']:.4f}", f"{r['recall']:.4f}",
                         f"{r['f1']:.4f}", f"{r['ari']:.4f}", str(r["clusters"]), f"{r['noise']:.3f}",
                         f"{r['seconds']:.2f}"])
            print("all:", rows[-1], file=sys.stderr, flush=True)
    print(f"\n### All {len(X)} faces of {len(set(y))} people at once ({len(set(y))} true clusters)\n")
    print(markdown(headers, rows))

    rng = np.random.default_rng(args.seed)
    people = np.unique(y)
    albums = []
    for _ in range(args.draws):
        chosen = rng.choice(people, size=10, replace=False)
        idx = np.concatenate([rng.permutation(np.flatnonzero(y == p))[:10] for p in chosen])
        albums.append(idx)
    rows = []
    for method, options, thresholds in SETTINGS:
        for t in thresholds:
            results = [score(X[idx], y[idx], method, t, options) for idx in albums]
            mean = {k: float(np.mean([r[k] for r in results])) for k in results[0]}
            rows.append([name_of(method, options), f"{t}", f"{mean['precision']:.4f}", f"{mean['recall']:.4f}",
                         f"{mean['f1']:.4f}", f"{mean['ari']:.4f}", f"{mean['clusters']:.1f}",
                         f"{mean['noise']:.3f}", f"{mean['seconds']:.3f}"])
            print("albums:", rows[-1], file=sys.stderr, flush=True)
    print(f"\n### Albums: mean of {args.draws} draws of 10 people x up to 10 photos (10 true clusters)\n")
    print(markdown(headers, rows))


if __name__ == "__main__":
    main()
