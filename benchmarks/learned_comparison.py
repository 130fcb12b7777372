"""Learned comparisons of dlib's embeddings on LFW: which help, and which generalise to people not fitted on.

Embeddings come from a ``benchmarks/lfw_verify.py``-format cache holding **every** LFW photo (make it with
``benchmarks/lfw_embed_all.py``): HOG at upsample 1 with the CNN fallback, 5-point alignment, ``plain`` and
``flip`` views, the largest and the central face of each photo.

Protocols (LFW's "unrestricted, labelled outside data" setting: the comparison is fitted on labelled photos of
people who are not in the test pairs):

* ``10-fold``: for each fold k of ``pairs.txt``, fit on every photo of the people of ``people.txt``'s nine other
  sets (LFW's sets are person-disjoint, the script checks that fold k's pairs use only set k's people), choose the
  threshold on the other nine folds' pairs (scored with the same fitted comparison), test fold k.
  Mean accuracy ± standard error over the ten folds.
* ``half``: fit on the people of sets 0-4, test the pairs of folds 5-9 (5-fold threshold choice among them), and
  the other way round: half the fitting people, and the test people never seen. Reported as the mean of the
  two directions.

Methods: ``euclidean`` (dlib's own comparison, the baseline), ``cosine`` (centred, unit length), ``whiten``
(total-scatter whitening + cosine), ``wccn`` (within-person whitening + cosine), ``lda`` (within-person whitening,
Fisher rotation, PLDA-style weights, cosine; :class:`facerec.metric.LearnedMetric`) at several ``dims``, and
``joint-bayes`` (the joint Bayesian log-likelihood ratio of Chen et al. 2012 with the two covariances estimated in
closed form: not a Euclidean distance, so it could not serve gallery search).

Run::

    .venv/bin/python benchmarks/lfw_embed_all.py --cache-dir .cache/lfw-all --workers 2
    .venv/bin/python benchmarks/learned_comparison.py --cache-dir .cache/lfw-all --json out/learned.json
    .venv/bin/python benchmarks/learned_comparison.py --cache-dir .cache/lfw-all --save-model \
        src/facerec/models/data/lfw_lda.npz
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only contend on a shared machine

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw_verify as lv

from facerec.evaluation import read_pairs
from facerec.evaluation.metrics import accuracy_at_threshold, best_threshold
from facerec.metric import LearnedMetric

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (a rows, b rows) -> distances (lower = same)


def read_people_sets(path: Path) -> list[set[str]]:
    """The person-disjoint sets of ``people.txt`` (View 2): a count line, then ``name n`` lines per set."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    n_sets, i, sets = int(lines[0][0]), 1, []
    for _ in range(n_sets):
        count = int(lines[i][0])
        sets.append({ln[0] for ln in lines[i + 1:i + 1 + count]})
        i += 1 + count
    return sets


def load_embeddings(cache_dirs: list[Path], view: str, pick: int, jitters: int = 10) -> dict[str, np.ndarray]:
    """``{photo key: embedding}`` of every cached photo (CNN fallback used where HOG found none); the views of
    several caches (same detections) are merged, e.g. ``plain``/``flip`` from one and ``jitter10`` from another."""
    det = lv.DetectionCache(cache_dirs[0], "cnn")
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for folder in cache_dirs:
        emb = lv.EmbeddingCache(folder / f"embed-hog-up{lv.UPSAMPLE}-fb-cnn-onnx.npz")
        for key, views in emb.vectors.items():
            vectors.setdefault(key, {}).update(views)
    out = {}
    for key, views in vectors.items():
        if len(det.faces(key, True)[0]) == 0:
            continue
        vec = lv.variant_vector(views, view, pick, jitters)
        if vec is not None:
            out[key] = np.asarray(vec, dtype=np.float64)
    return out


# -- the comparisons ------------------------------------------------------------------------------------------


def fit_euclidean(X: np.ndarray, y: np.ndarray) -> Scorer:
    return lambda a, b: np.linalg.norm(a - b, axis=1)


def fit_cosine(X: np.ndarray, y: np.ndarray) -> Scorer:
    mean = X.mean(axis=0)

    def unit(v: np.ndarray) -> np.ndarray:
        v = v - mean
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    return lambda a, b: np.linalg.norm(unit(a) - unit(b), axis=1)


def fit_learned(method: str, dims: int | None = None, shrinkage: float = 0.05,
                normalize: bool = True) -> Callable[..., Scorer]:
    def fit(X: np.ndarray, y: np.ndarray) -> Scorer:
        metric = LearnedMetric(method, dims=dims, shrinkage=shrinkage,  # type: ignore[arg-type]
                               normalize=normalize).fit(X, y)
        return lambda a, b: metric.distance(a, b).astype(np.float64)
    return fit


def fit_joint_bayes(X: np.ndarray, y: np.ndarray) -> Scorer:
    """Joint Bayesian (two-covariance) log-likelihood ratio, closed-form covariances; distance = -ratio."""
    mean = X.mean(axis=0)
    Xc = X - mean
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    sums = np.zeros((len(counts), X.shape[1]))
    np.add.at(sums, inverse, Xc)
    centres = sums / counts[:, None]
    multi = counts[inverse] >= 2
    within = Xc[multi] - centres[inverse[multi]]
    s_eps = within.T @ within / len(within) + 1e-4 * np.eye(X.shape[1])
    many = counts >= 2
    s_mu = np.cov(centres[many].T, bias=True) + 1e-4 * np.eye(X.shape[1])
    F = np.linalg.inv(s_eps)
    G = -np.linalg.inv(2 * s_mu + s_eps) @ s_mu @ F
    A = np.linalg.inv(s_mu + s_eps) - (F + G)

    def score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a - mean, b - mean
        r = np.einsum("ij,jk,ik->i", a, A, a) + np.einsum("ij,jk,ik->i", b, A, b) \
            - 2 * np.einsum("ij,jk,ik->i", a, G, b)
        return -r
    return score


def fit_cohort_norm(k: int = 50, n_cohort: int = 3000) -> Callable[..., Scorer]:
    """Cohort ("s-norm"-style) normalisation: the distance minus the mean of each photo's ``k`` smallest distances
    to a cohort of ``n_cohort`` fitting people (one photo each). Not a per-embedding map: a gallery could not keep
    Euclidean search with it."""
    def fit(X: np.ndarray, y: np.ndarray) -> Scorer:
        _, first = np.unique(y, return_index=True)
        cohort = X[np.random.default_rng(0).permutation(first)[:n_cohort]]
        c2 = (cohort ** 2).sum(1)

        def mu(v: np.ndarray) -> np.ndarray:
            out = np.empty(len(v))
            for s in range(0, len(v), 1000):
                w = v[s:s + 1000]
                d = np.sqrt(np.maximum((w ** 2).sum(1)[:, None] + c2[None] - 2 * w @ cohort.T, 0))
                out[s:s + 1000] = np.partition(d, k, axis=1)[:, :k].mean(1)
            return out
        return lambda a, b: np.linalg.norm(a - b, axis=1) - 0.5 * (mu(a) + mu(b))
    return fit


METHODS: dict[str, Callable[[np.ndarray, np.ndarray], Scorer]] = {
    "euclidean": fit_euclidean,
    "cosine": fit_cosine,
    "whiten": fit_learned("whiten"),
    "wccn": fit_learned("wccn"),
    "wccn unnormalised": fit_learned("wccn", normalize=False),
    "wccn unnormalised shrinkage=1": fit_learned("wccn", shrinkage=1.0, normalize=False),
    "lda dims=128": fit_learned("lda"),
    "lda dims=64": fit_learned("lda", 64),
    "lda unnormalised": fit_learned("lda", normalize=False),
    "lda unnormalised shrinkage=1": fit_learned("lda", shrinkage=1.0, normalize=False),
    "joint-bayes": fit_joint_bayes,
    "cohort-norm k=50": fit_cohort_norm(50),
}


# -- protocols ------------------------------------------------------------------------------------------------


def pair_scores(pairs: Any, index: np.ndarray, emb: dict[str, np.ndarray], scorer: Scorer) -> np.ndarray:
    """Distances of the pairs ``index`` (NaN where a photo has no face)."""
    out = np.full(len(index), np.nan)
    a_keys = [pairs.pairs[i].photo_a for i in index]
    b_keys = [pairs.pairs[i].photo_b for i in index]
    ok = np.array([a in emb and b in emb for a, b in zip(a_keys, b_keys)])
    if ok.any():
        A = np.stack([emb[k] for k, good in zip(a_keys, ok) if good])
        B = np.stack([emb[k] for k, good in zip(b_keys, ok) if good])
        out[ok] = scorer(A, B)
    return out


def fitting_data(emb: dict[str, np.ndarray], people: set[str]) -> tuple[np.ndarray, np.ndarray]:
    keys = [k for k in emb if k.split("/")[0] in people]
    return np.stack([emb[k] for k in keys]), np.array([k.split("/")[0] for k in keys])


def tenfold(pairs: Any, sets: list[set[str]], emb: dict[str, np.ndarray],
            fit: Callable[[np.ndarray, np.ndarray], Scorer], fit_emb: dict[str, np.ndarray]) -> list[float]:
    """Per-fold accuracy, each fold scored by a comparison fitted on the other nine sets' people."""
    folds, same = pairs.folds, pairs.same
    accuracies = []
    everything = np.arange(len(pairs))
    for k in range(pairs.n_folds):
        people = set().union(*(s for j, s in enumerate(sets) if j != k))
        scorer = fit(*fitting_data(fit_emb, people))
        d = pair_scores(pairs, everything, emb, scorer)
        test = folds == k
        threshold, _ = best_threshold(d[~test], same[~test])
        accuracies.append(accuracy_at_threshold(d[test], same[test], threshold))
    return accuracies


def half(pairs: Any, sets: list[set[str]], emb: dict[str, np.ndarray],
         fit: Callable[[np.ndarray, np.ndarray], Scorer], fit_emb: dict[str, np.ndarray]) -> list[float]:
    """Fit on sets 0-4's people, test folds 5-9 (and back); per-fold accuracies of the test halves."""
    folds, same = pairs.folds, pairs.same
    accuracies = []
    for fit_sets, test_folds in ((range(5), range(5, 10)), (range(5, 10), range(5))):
        scorer = fit(*fitting_data(fit_emb, set().union(*(sets[j] for j in fit_sets))))
        index = np.flatnonzero(np.isin(folds, list(test_folds)))
        d, s, f = pair_scores(pairs, index, emb, scorer), same[index], folds[index]
        for k in test_folds:
            test = f == k
            threshold, _ = best_threshold(d[~test], s[~test])
            accuracies.append(accuracy_at_threshold(d[test], s[test], threshold))
    return accuracies


def check_disjoint(pairs: Any, sets: list[set[str]]) -> None:
    for p in pairs:
        if p.name_a not in sets[p.fold] or p.name_b not in sets[p.fold]:
            raise SystemExit(f"pair {p} of fold {p.fold} uses people outside people.txt's set {p.fold}")


def mean_se(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values)
    return float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(len(arr)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=lv.DEFAULT_LFW)
    parser.add_argument("--cache-dir", type=Path, required=True, action="append",
                        help="lfw_verify-format cache (repeat to merge the views of several)")
    parser.add_argument("--views", default="flip,plain", help="embedding views to score (plain, flip, jitter, "
                        "flip+jitter)")
    parser.add_argument("--picks", default="largest,central")
    parser.add_argument("--fit-view", default=None, help="fit on this view's embeddings (default: the view "
                        "scored); e.g. fit on 'flip' and score 'flip+jitter'")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--save-model", type=Path, help="fit the shipped comparison (LearnedMetric('lda'): "
                        "shrinkage 1, not unit length; flip view, central face, every LFW photo) and write it here")
    args = parser.parse_args()

    pairs = read_pairs(args.lfw / "pairs.txt")
    sets = read_people_sets(args.lfw / "people.txt")
    check_disjoint(pairs, sets)
    rows = []
    for view in args.views.split(","):
        for pick_name in args.picks.split(","):
            emb = load_embeddings(args.cache_dir, view, lv.PICKS.index(pick_name))
            fit_view = args.fit_view or view
            fit_emb = emb if fit_view == view else load_embeddings(args.cache_dir, fit_view,
                                                                   lv.PICKS.index(pick_name))
            missing = sum(1 for k in pairs.photos() if k not in emb)
            for name in args.methods.split(","):
                t0 = time.perf_counter()
                ten = mean_se(tenfold(pairs, sets, emb, METHODS[name], fit_emb))
                hal = mean_se(half(pairs, sets, emb, METHODS[name], fit_emb))
                rows.append({"view": view, "fit_view": fit_view, "pick": pick_name, "method": name, "tenfold": ten,
                             "half": hal,
                             "photos": len(emb), "pair_photos_missing": missing})
                sys.stderr.write(f"{view} {pick_name} {name}: 10-fold {ten[0]:.2%} ± {ten[1]:.2%}, half "
                                 f"{hal[0]:.2%} ± {hal[1]:.2%} ({time.perf_counter() - t0:.0f} s)\n")
    print(f"{len(pairs)} pairs; embeddings of {rows[0]['photos'] if rows else 0} LFW photos "
          f"({rows[0]['pair_photos_missing'] if rows else 0} pair photos without a face)\n")
    print("| view scored (fitted on) | face pick | comparison | 10-fold, fitted on the 9 other sets' people | "
          "fitted on half the people, tested on the other half |")
    print("|---|---|---|---:|---:|")
    for r in rows:
        fitted = "" if r["fit_view"] == r["view"] else f" ({r['fit_view']})"
        print(f"| {r['view']}{fitted} | {r['pick']} | {r['method']} | {r['tenfold'][0]:.2%} ± {r['tenfold'][1]:.2%} | "
              f"{r['half'][0]:.2%} ± {r['half'][1]:.2%} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    if args.save_model:
        import facerec
        from facerec.gallery.base import model_id_for

        emb = load_embeddings(args.cache_dir, "flip", lv.PICKS.index("central"))
        X, y = fitting_data(emb, {k.split("/")[0] for k in emb})
        metric = LearnedMetric("lda").fit(
            X, y, model_id=model_id_for(facerec.FaceAnalyzer()),
            note="benchmarks/learned_comparison.py --save-model: every LFW photo (deep-funneled, 13,233), HOG up1 + "
                 "CNN fallback, central face, 5-point chips, flip-averaged embeddings (onnx); LDA, shrinkage 1, "
                 "not unit length")
        args.save_model.parent.mkdir(parents=True, exist_ok=True)
        metric.save(args.save_model)
        print(f"\nwrote {args.save_model} ({args.save_model.stat().st_size} bytes): {metric.info_}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
