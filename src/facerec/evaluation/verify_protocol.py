"""The verification protocol: pairs of photos -> "same person?" -> accuracy, ROC, DET, EER and TAR at FAR.

Two kinds of pair lists:

* LFW's ``pairs.txt`` (read by :func:`facerec.evaluation.lfw.read_pairs`): 10 folds given by the file; each fold is
  tested at the threshold chosen on the other nine; the score is the mean accuracy with its standard error.
* Any CSV of ``path1,path2,same`` (a header line is optional; relative paths are relative to the CSV's folder;
  ``same`` is 1/0, true/false or yes/no): the pairs are split into ``k`` stratified folds with a fixed seed and
  scored the same way.

Several pipeline **variants** (detector, embedder, landmarks, flip, jitter, fallback detector, which face to
pick) are scored in one run. Every photo is loaded once and detected once per distinct detector setting, and the
embeddings of each variant are cached on disk (one ``.npz`` per variant and data set), so a second run, or a run
that adds a variant, only computes what is new.

This module scores; the pair lists are read by :mod:`facerec.evaluation.pairs`, the variants embedded and cached by
:mod:`facerec.evaluation.embedding_cache` (both re-exported here). The maths lives in
:mod:`facerec.evaluation.metrics` (k-fold threshold choice, ROC, AUC, EER, TAR at FAR, and the
rule that a pair whose photo gave no face is an error at every threshold).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.evaluation.embedding_cache import EmbeddingStore, Variant, embed_photos, parse_variant
from facerec.evaluation.pairs import (
    PairList,
    data_id_for,
    data_id_for_root,
    first_pairs_per_fold,
    read_pair_csv,
    read_pair_list,
    stratified_folds,
)

__all__ = [
    "DEFAULT_FAR_TARGETS",
    "EmbeddingStore",
    "PairList",
    "Variant",
    "VerificationRun",
    "data_id_for",
    "data_id_for_root",
    "embed_photos",
    "first_pairs_per_fold",
    "pair_distance_array",
    "parse_variant",
    "read_pair_csv",
    "read_pair_list",
    "stratified_folds",
    "verification_errors",
    "verification_metrics",
    "verify_pairs",
]

#: False-accept rates at which the true-accept rate is reported.
DEFAULT_FAR_TARGETS: tuple[float, ...] = (1e-1, 1e-2, 1e-3)









# -- scoring -----------------------------------------------------------------------------------------------------
def pair_distance_array(pairs: PairList, vectors: Mapping[str, npt.NDArray[np.float32] | None]
                        ) -> npt.NDArray[np.float64]:
    """Euclidean distance of each pair (``NaN`` where a photo has no embedding)."""
    out = np.full(len(pairs), np.nan, dtype=np.float64)
    for i, (a, b) in enumerate(zip(pairs.photo_a, pairs.photo_b)):
        va, vb = vectors.get(a), vectors.get(b)
        if va is None or vb is None:
            continue
        out[i] = float(np.linalg.norm(va.astype(np.float64) - vb.astype(np.float64)))
    return out


def verification_errors(pairs: PairList, distances: npt.NDArray[np.float64], thresholds: Mapping[int, float],
                        limit: int = 10) -> list[dict[str, Any]]:
    """The worst mistakes at each pair's fold threshold: false rejects with the largest distances (photos without
    a face first), then false accepts with the smallest.

    Returns:
        Rows ``{"kind", "photo_a", "photo_b", "distance", "threshold", "fold"}`` (``distance`` ``None`` when a
        photo had no face).
    """
    rows: list[tuple[int, float, dict[str, Any]]] = []
    for i in range(len(pairs)):
        fold = int(pairs.folds[i])
        t = thresholds[fold]
        d = distances[i]
        same = bool(pairs.same[i])
        if np.isnan(d):
            kind = "false reject (no face)" if same else "no face"
            rows.append((0 if same else 2, -np.inf, {"kind": kind, "photo_a": pairs.photo_a[i],
                                                     "photo_b": pairs.photo_b[i], "distance": None,
                                                     "threshold": t, "fold": fold}))
        elif same and d > t:
            rows.append((0, -d, {"kind": "false reject", "photo_a": pairs.photo_a[i], "photo_b": pairs.photo_b[i],
                                 "distance": float(d), "threshold": t, "fold": fold}))
        elif not same and d <= t:
            rows.append((1, d, {"kind": "false accept", "photo_a": pairs.photo_a[i], "photo_b": pairs.photo_b[i],
                                "distance": float(d), "threshold": t, "fold": fold}))
    rejects = sorted((r for r in rows if r[0] == 0), key=lambda r: r[1])[:limit]
    accepts = sorted((r for r in rows if r[0] == 1), key=lambda r: r[1])[:limit]
    return [r[2] for r in rejects + accepts]


@dataclass
class VerificationRun:
    """The results of one variant.

    Attributes:
        variant: the setting.
        report: the :class:`~facerec.evaluation.metrics.VerificationReport`.
        distances: one distance per pair (``NaN``: no face).
        far, tar: the pooled ROC curve.
        errors: the worst mistakes (see :func:`verification_errors`).
        n_photos: photos scored.
    """

    variant: Variant
    report: Any
    distances: npt.NDArray[np.float64]
    far: npt.NDArray[np.float64]
    tar: npt.NDArray[np.float64]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_photos: int = 0

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a flat JSON-ready dictionary."""
        rep = self.report
        out: dict[str, Any] = {
            "variant": self.variant.name,
            "accuracy": rep.kfold.mean,
            "accuracy_se": rep.kfold.standard_error,
            "auc": rep.auc,
            "eer": rep.eer,
            "thresholds": rep.kfold.thresholds,
            "mean_threshold": float(np.mean(rep.kfold.thresholds)),
            "fixed_threshold": rep.fixed_threshold,
            "fixed_accuracy": rep.fixed_accuracy,
            "n_pairs": rep.n_pairs,
            "n_pairs_missing": rep.n_pairs_missing,
            "n_photos": self.n_photos,
            "n_photos_missing": rep.n_photos_missing,
        }
        for far, (tar, threshold) in sorted(rep.tar_at_far.items(), reverse=True):
            out[f"tar_at_far_{far:g}"] = tar
            out[f"threshold_at_far_{far:g}"] = threshold
        return out


def verify_pairs(pairs: PairList, stores: Mapping[str, EmbeddingStore], *,
                 far_targets: Sequence[float] = DEFAULT_FAR_TARGETS, fixed_threshold: float = 0.6,
                 error_limit: int = 10) -> list[VerificationRun]:
    """Score every variant's embeddings on the pairs.

    Args:
        pairs: from :func:`read_pair_list`.
        stores: from :func:`embed_photos`.
        far_targets: false-accept rates at which the true-accept rate is reported.
        fixed_threshold: the distance threshold of the fixed-threshold accuracy (lower is stricter; 0.6 typical).
        error_limit: how many of the worst false rejects and false accepts to keep.
    """
    from facerec.evaluation.metrics import roc_curve, verification_report

    runs = []
    photos = pairs.photos()
    for store in stores.values():
        distances = pair_distance_array(pairs, store.vectors)
        n_missing = sum(1 for key in photos if store.vectors.get(key) is None)
        report = verification_report(distances, pairs.same, pairs.folds, fixed_threshold=fixed_threshold,
                                     far_targets=tuple(far_targets), n_photos_missing=n_missing)
        roc = roc_curve(distances, pairs.same)
        thresholds = {f.fold: f.threshold for f in report.kfold.folds}
        runs.append(VerificationRun(variant=store.variant, report=report, distances=distances, far=roc.far,
                                    tar=roc.tar, errors=verification_errors(pairs, distances, thresholds,
                                                                            error_limit),
                                    n_photos=len(photos)))
    return runs


def verification_metrics(pairs: PairList, runs: Sequence[VerificationRun],
                         far_targets: Sequence[float]) -> dict[str, Any]:
    """The ``metrics.json`` document of a verification run."""
    return {
        "kind": "verify",
        "protocol": pairs.protocol,
        "pairs_file": os.fspath(pairs.source),
        "n_pairs": len(pairs),
        "n_same": int(pairs.same.sum()),
        "n_different": int((~pairs.same).sum()),
        "n_folds": int(np.unique(pairs.folds).size),
        "n_photos": len(pairs.photos()),
        "far_targets": list(far_targets),
        "variants": [{**run.summary(), "settings": run.variant.settings(), "report": run.report.to_dict(),
                      "errors": run.errors} for run in runs],
        "roc": {run.variant.name: {"far": _thin(run.far), "tar": _thin(run.tar, like=run.far)} for run in runs},
    }


def _thin(values: npt.NDArray[np.float64], like: npt.NDArray[np.float64] | None = None,
          max_points: int = 400) -> list[float]:
    """At most ``max_points`` points of a curve (kept evenly on a log FAR scale), for the JSON."""
    ref = values if like is None else like
    if ref.size <= max_points:
        return [float(v) for v in values]
    grid = np.unique(np.concatenate([np.geomspace(1e-5, 1.0, max_points), [0.0]]))
    index = np.unique(np.clip(np.searchsorted(ref, grid, side="right") - 1, 0, ref.size - 1))
    return [float(values[i]) for i in index]
