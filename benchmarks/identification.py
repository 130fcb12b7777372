"""Identification on LFW: closed-set top-1 accuracy and open-set false accepts / false rejects.

Data: LFW people with at least 10 photos (158 people, about 4,300 photos), one face per photo (the one nearest
the centre, HOG at upsample 0, then upsample 1 when that finds none), embedded once and cached under ``.cache/``.

Run::

    .venv/bin/python benchmarks/identification.py            # embeds on first run (minutes), then seconds

1. Closed set: a seeded, stratified 70/30 split of photos; each identifier (no rejection) is fitted on 70% and
   scored top-1 on 30%.
2. Open set: a seeded quarter of the identities is held out entirely. The distance threshold is calibrated on the
   training photos of the known people for a target false-accept rate (:func:`facerec.recognition.calibrate`);
   then known people's test photos should be named (a rejection is a false reject) and every photo of a held-out
   person should be called unknown (a name is a false accept).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"
CACHE = ROOT / ".cache"


def lfw_embeddings(min_images: int = 10, embedder: str | None = None):  # type: ignore[no-untyped-def]
    """LFW people with ``min_images`` or more photos, embedded (cached in ``.cache/``)."""
    import facerec
    from facerec.recognition.data import LabelledEmbeddings, embed_one, people_in

    if embedder is None:  # the two give the same embeddings (max difference < 1e-6); reuse whichever is cached
        cached = [name for name in ("onnx", "dlib") if (CACHE / f"lfw_min{min_images}_{name}.npz").is_file()]
        embedder = cached[0] if cached else "onnx" if "onnx" in facerec.list_embedders() else "dlib"
    cache = CACHE / f"lfw_min{min_images}_{embedder}.npz"
    if cache.is_file():
        return LabelledEmbeddings.load(cache), embedder
    quick = facerec.FaceAnalyzer(detector="hog", embedder=embedder, upsample=0)
    careful = facerec.FaceAnalyzer(detector="hog", embedder=embedder, upsample=1)
    people = people_in(LFW, min_images=min_images)
    jobs = [(name, photo) for name, photos in people.items() for photo in photos]
    vectors, labels, paths, skipped = [], [], [], []
    start = time.perf_counter()
    for done, (name, photo) in enumerate(jobs, start=1):
        vector = embed_one(photo, quick, "central")
        if vector is None:
            vector = embed_one(photo, careful, "central")
        if vector is None:
            skipped.append((str(photo), "no face found"))
        else:
            vectors.append(vector)
            labels.append(name)
            paths.append(str(photo.relative_to(LFW)))
        if done % 200 == 0 or done == len(jobs):
            rate = (time.perf_counter() - start) / done
            print(f"embedded {done}/{len(jobs)} photos ({rate * 1000:.0f} ms each, {len(skipped)} without a face)",
                  file=sys.stderr, flush=True)
    data = LabelledEmbeddings(embeddings=np.stack(vectors).astype(np.float32), labels=np.asarray(labels),
                              paths=paths, skipped=skipped)
    CACHE.mkdir(exist_ok=True)
    data.save(cache)
    return data, embedder


def closed_set(X: np.ndarray, y: np.ndarray, seed: int) -> list[list[str]]:
    """Top-1 (and top-5) accuracy of each identifier on a stratified 70/30 split, no rejection."""
    from sklearn.model_selection import train_test_split

    from facerec.recognition import KNNIdentifier, NearestCentroidIdentifier, SVMIdentifier

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    candidates = [
        ("centroid", NearestCentroidIdentifier(distance_threshold=None)),
        ("knn k=1", KNNIdentifier(n_neighbors=1, distance_threshold=None)),
        ("knn k=5 distance-weighted", KNNIdentifier(n_neighbors=5, distance_threshold=None)),
        ("svm C=1", SVMIdentifier(C=1.0, probability_threshold=None, random_state=seed)),
        ("svm C=10", SVMIdentifier(C=10.0, probability_threshold=None, random_state=seed)),
    ]
    rows = []
    for name, clf in candidates:
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        top1 = clf.score(X_test, y_test)
        per_face_ms = (time.perf_counter() - start) / len(X_test) * 1000
        labels, _ = clf.top_k(X_test, k=5)
        top5 = float(np.mean([t in row for t, row in zip(y_test, labels)]))
        rows.append([name, f"{top1:.4f}", f"{top5:.4f}", f"{fit_s:.2f}", f"{per_face_ms:.3f}"])
        print(f"closed set {name}: top-1 {top1:.4f}", file=sys.stderr, flush=True)
    return rows


def open_set(X: np.ndarray, y: np.ndarray, seed: int, held_out_share: float = 0.25
             ) -> tuple[list[list[str]], dict[str, int]]:
    """False accepts of never-seen people and false rejects of known people at calibrated thresholds."""
    from sklearn.model_selection import train_test_split

    from facerec.recognition import KNNIdentifier, NearestCentroidIdentifier, SVMIdentifier, calibrate

    rng = np.random.default_rng(seed)
    people = np.unique(y)
    held_out = rng.choice(people, size=round(held_out_share * len(people)), replace=False)
    unseen = np.isin(y, held_out)
    X_known, y_known = X[~unseen], y[~unseen]
    X_train, X_test, y_train, y_test = train_test_split(X_known, y_known, test_size=0.3, stratify=y_known,
                                                        random_state=seed)
    X_unseen = X[unseen]
    counts = {"known people": len(people) - len(held_out), "held-out people": len(held_out),
              "train photos": len(X_train), "known test photos": len(X_test), "held-out photos": len(X_unseen)}

    def evaluate(clf, setting: str) -> list[str]:  # type: ignore[no-untyped-def]
        known_pred = clf.predict(X_test)
        unseen_pred = clf.predict(X_unseen)
        rejected = known_pred == "unknown"
        wrong = (~rejected) & (known_pred != y_test)
        far = float(np.mean(unseen_pred != "unknown"))
        return [setting, f"{far:.4f}", f"{rejected.mean():.4f}", f"{wrong.mean():.4f}",
                f"{np.mean(known_pred == y_test):.4f}"]

    rows = []
    for target in (1e-2, 1e-3, 1e-4, 1e-5):
        cal = calibrate(X_train, target, labels=y_train, max_impostor_pairs=None)
        t = cal.threshold
        print(f"open set: target FAR {target:g} -> threshold {t:.4f} (pair FRR {cal.frr:.4f})", file=sys.stderr,
              flush=True)
        for name, clf in [("centroid", NearestCentroidIdentifier(distance_threshold=t)),
                          ("knn k=1", KNNIdentifier(n_neighbors=1, distance_threshold=t)),
                          ("knn k=5", KNNIdentifier(n_neighbors=5, distance_threshold=t))]:
            clf.fit(X_train, y_train)
            rows.append(evaluate(clf, f"{name}, threshold {t:.3f} (pair FAR {target:g}, pair FRR {cal.frr:.3f})"))
    svm = SVMIdentifier(C=1.0, probability_threshold=None, random_state=seed).fit(X_train, y_train)
    for p in (0.1, 0.3, 0.5, 0.7, 0.9):
        svm.set_params(probability_threshold=p)
        rows.append(evaluate(svm, f"svm C=1, probability_threshold {p}"))
    return rows, counts


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    lines = ["| " + " | ".join(headers) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embed-only", action="store_true", help="compute and cache the embeddings, then stop")
    parser.add_argument("--embedder", default=None,
                        help="embedder name (default: the cached one, else onnx if available, else dlib)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits")
    args = parser.parse_args()
    data, embedder = lfw_embeddings(embedder=args.embedder)
    X, y = data.embeddings, data.labels
    print(f"{len(data)} photos of {len(set(y))} people, embedder {embedder}")
    if args.embed_only:
        return
    print("\n### Closed set: stratified 70/30 split of the photos, no rejection\n")
    print(markdown(["identifier", "top-1 accuracy", "top-5 accuracy", "fit (s)", "predict (ms/face)"],
                   closed_set(X, y, args.seed)))
    rows, counts = open_set(X, y, args.seed)
    print("\n### Open set: a quarter of the people held out; thresholds calibrated on the training photos\n")
    print(", ".join(f"{k}: {v}" for k, v in counts.items()) + "\n")
    print(markdown(["identifier and threshold", "FAR (held-out photos named)", "FRR (known photos rejected)",
                    "known photos misnamed", "known photos named right"], rows))


if __name__ == "__main__":
    main()
