"""The evaluation's metrics, in one place: verification on pair distances (threshold choice, k-fold accuracy, ROC,
AUC, EER and TAR at FAR) and identification on class scores (ranks of the true person, CMC, DIR at FAR).

Conventions, stated once for this module:

* A pair's **distance** is the Euclidean distance between its two embeddings; *lower* means *more alike*, and a pair
  is called "same" when ``distance <= threshold``.
* ``same`` labels are booleans: ``True`` for a matched pair (one person), ``False`` for a mismatched pair.
* A **missing** distance (``NaN``) is a pair where a photo gave no face. Every function takes ``missing_as``:

  - ``"error"`` (the default, the strict rule): a wrong decision at every threshold (it counts in the denominator
    of every accuracy), and for ROC, AUC, EER and TAR it gets the worst score for its label: a missing matched pair
    is never accepted, a missing mismatched pair is always accepted;
  - ``"different"``: the pipeline answers "not the same person" when it finds no face, so a missing pair is never
    accepted: wrong for a matched pair, right for a mismatched one. This is how a caller that treats "no face" as
    "no match" scores, and what face_recognition's published LFW figures correspond to.
* ROC points are ``(far, tar)``: the false-accept rate (mismatched pairs called "same") and the true-accept rate
  (matched pairs called "same"), both as fractions in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError

__all__ = [
    "STD_DDOF",
    "FoldResult",
    "KFoldResult",
    "MissingAs",
    "RocCurve",
    "VerificationReport",
    "accuracy_at_threshold",
    "best_threshold",
    "cmc_curve",
    "dir_at_far",
    "dir_far_curve",
    "equal_error_rate",
    "kfold_accuracy",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "true_class_ranks",
    "verification_report",
]

#: Degrees of freedom subtracted in the standard deviation of fold accuracies: 1, the sample standard deviation
#: (``sum((p_i - mean)^2) / (n_folds - 1)``), as the LFW protocol's results page uses. The standard error is
#: ``std / sqrt(n_folds)``.
STD_DDOF = 1

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
MissingAs = Literal["error", "different"]
MISSING_AS: tuple[str, ...] = ("error", "different")


def _check_missing_as(missing_as: str) -> None:
    if missing_as not in MISSING_AS:
        raise ConfigurationError(f"missing_as must be 'error' or 'different', got {missing_as!r}")


def _validate(distances: Any, same: Any) -> tuple[FloatArray, BoolArray]:
    d = np.asarray(distances, dtype=np.float64).ravel()
    s = np.asarray(same).ravel()
    if d.shape != s.shape:
        raise ConfigurationError(f"distances and labels differ in length: {d.shape[0]} and {s.shape[0]}")
    if d.size == 0:
        raise ConfigurationError("no pairs given: distances and labels are empty")
    if s.dtype != np.bool_:
        if not np.isin(s, (0, 1)).all():
            raise ConfigurationError(f"labels must be booleans (True = same person), got values {np.unique(s)[:5]}")
        s = s.astype(bool)
    if np.isinf(d).any():
        raise ConfigurationError("distances must be finite, or NaN for a pair without a face; got infinity")
    return d, s


def accuracy_at_threshold(distances: Any, same: Any, threshold: float, *, missing_as: MissingAs = "error") -> float:
    """The fraction of pairs decided correctly when ``distance <= threshold`` means "same".

    Args:
        distances: one distance per pair (``NaN``: a photo had no face; always a wrong decision).
        same: one boolean per pair, ``True`` for a matched pair.
        threshold: the largest distance called "same"; lower is stricter (0.6 is typical for dlib's embeddings).
        missing_as: ``"error"`` (a missing pair is always wrong) or ``"different"`` (it is decided "not same").

    Returns:
        Accuracy in ``[0, 1]``.

    Examples:
        >>> accuracy_at_threshold([0.3, 0.5, 0.7, float("nan")], [True, False, False, True], 0.6)
        0.5
    """
    _check_missing_as(missing_as)
    d, s = _validate(distances, same)
    valid = ~np.isnan(d)
    accepted = np.zeros_like(s)
    accepted[valid] = d[valid] <= threshold
    correct = valid & (accepted == s)
    if missing_as == "different":
        correct |= ~valid & ~s
    return float(correct.sum() / d.size)


def best_threshold(distances: Any, same: Any, *, missing_as: MissingAs = "error") -> tuple[float, float]:
    """The threshold that maximises accuracy on these pairs, and that accuracy.

    The candidates are the midpoints between consecutive distinct distances, plus one value below the smallest
    distance (nothing accepted) and one above the largest (everything accepted). When several candidates reach
    the best accuracy, the median of them is returned (the lower one of the middle two when their number is even),
    so the choice is not pushed to either edge of a flat optimum.

    Args:
        distances: one distance per pair (``NaN``: a photo had no face).
        same: one boolean per pair, ``True`` for a matched pair.
        missing_as: ``"error"`` (a missing pair is always wrong) or ``"different"`` (it is decided "not same").
            Missing pairs never move the threshold, only the accuracy.

    Returns:
        ``(threshold, accuracy)``.

    Examples:
        >>> best_threshold([0.2, 0.4, 0.6, 0.8], [True, True, False, False])
        (0.5, 1.0)
    """
    _check_missing_as(missing_as)
    d, s = _validate(distances, same)
    valid = ~np.isnan(d)
    dv, sv = d[valid], s[valid]
    # missing mismatched pairs decided "different" are right at every threshold
    always_right = int((~valid & ~s).sum()) if missing_as == "different" else 0
    if dv.size == 0:
        return 0.0, always_right / d.size
    order = np.argsort(dv, kind="stable")
    dv, sv = dv[order], sv[order]
    values, first = np.unique(dv, return_index=True)
    # accepted up to and including each distinct value: pairs with index < end
    ends = np.append(first[1:], dv.size)
    cum_pos = np.concatenate(([0], np.cumsum(sv)))
    n_neg_total = int((~sv).sum())
    # candidate k = 0: accept nothing; candidate k >= 1: accept distinct values 0..k-1
    accepted_count = np.concatenate(([0], ends))
    pos_accepted = cum_pos[accepted_count]
    neg_accepted = accepted_count - pos_accepted
    correct = pos_accepted + (n_neg_total - neg_accepted) + always_right
    thresholds = np.empty(values.size + 1, dtype=np.float64)
    thresholds[0] = values[0] - 1.0
    thresholds[1:-1] = (values[:-1] + values[1:]) / 2.0
    thresholds[-1] = values[-1] + 1.0
    best = np.flatnonzero(correct == correct.max())
    k = int(best[(best.size - 1) // 2])
    return float(thresholds[k]), float(correct[k] / d.size)


@dataclass(frozen=True)
class FoldResult:
    """One test fold of a k-fold verification run.

    Attributes:
        fold: the fold's index.
        threshold: the distance threshold chosen on the other folds (lower is stricter).
        train_accuracy: the accuracy of that threshold on the other folds.
        accuracy: the accuracy of that threshold on this fold.
        n_pairs: pairs in this fold.
        n_missing: pairs of this fold with no distance (a photo without a face).
    """

    fold: int
    threshold: float
    train_accuracy: float
    accuracy: float
    n_pairs: int
    n_missing: int


@dataclass(frozen=True)
class KFoldResult:
    """k-fold verification accuracy: a threshold chosen on k-1 folds, tested on the remaining one.

    Attributes:
        folds: one :class:`FoldResult` per fold.
        mean: mean accuracy over the folds.
        std: standard deviation of the fold accuracies with ``ddof`` (1: the sample standard deviation).
        standard_error: ``std / sqrt(n_folds)``.
        ddof: the degrees of freedom used in ``std``.
        missing_as: how pairs without a distance were scored (``"error"`` or ``"different"``).
    """

    folds: tuple[FoldResult, ...]
    mean: float
    std: float
    standard_error: float
    ddof: int = STD_DDOF
    missing_as: str = "error"

    @property
    def thresholds(self) -> list[float]:
        """The threshold chosen for each fold."""
        return [f.threshold for f in self.folds]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "mean": self.mean,
            "std": self.std,
            "standard_error": self.standard_error,
            "ddof": self.ddof,
            "missing_as": self.missing_as,
            "folds": [vars(f) for f in self.folds],
        }


def kfold_accuracy(distances: Any, same: Any, folds: Any, *, ddof: int = STD_DDOF,
                   missing_as: MissingAs = "error") -> KFoldResult:
    """Accuracy of each fold at the threshold chosen (by :func:`best_threshold`) on all the other folds.

    Args:
        distances: one distance per pair (``NaN``: a photo had no face; an error at every threshold).
        same: one boolean per pair, ``True`` for a matched pair.
        folds: one fold index per pair (LFW's ``pairs.txt`` gives 10 folds of 600 pairs).
        ddof: degrees of freedom subtracted in the standard deviation of fold accuracies (1, the default, is
            the sample standard deviation; 0 the population one).
        missing_as: ``"error"`` (a missing pair is always wrong, the default) or ``"different"`` (it is decided
            "not same": right for mismatched pairs).

    Returns:
        The per-fold results with their mean, standard deviation and standard error (``std / sqrt(n_folds)``).

    Raises:
        ConfigurationError: fewer than two folds, or inputs of different lengths.
    """
    d, s = _validate(distances, same)
    f = np.asarray(folds).ravel()
    if f.size and not np.issubdtype(f.dtype, np.integer):
        raise ConfigurationError(f"fold indices must be integers, got dtype {f.dtype}")
    if f.shape != d.shape:
        raise ConfigurationError(f"folds and distances differ in length: {f.shape[0]} and {d.shape[0]}")
    fold_ids = np.unique(f)
    if fold_ids.size < 2:
        raise ConfigurationError(f"k-fold accuracy needs at least 2 folds, got {fold_ids.size}")
    results = []
    for fold in fold_ids:
        test = f == fold
        threshold, train_acc = best_threshold(d[~test], s[~test], missing_as=missing_as)
        results.append(FoldResult(
            fold=int(fold),
            threshold=threshold,
            train_accuracy=train_acc,
            accuracy=accuracy_at_threshold(d[test], s[test], threshold, missing_as=missing_as),
            n_pairs=int(test.sum()),
            n_missing=int(np.isnan(d[test]).sum()),
        ))
    accs = np.array([r.accuracy for r in results])
    std = float(accs.std(ddof=ddof)) if accs.size > ddof else float("nan")
    return KFoldResult(folds=tuple(results), mean=float(accs.mean()), std=std,
                       standard_error=std / math.sqrt(accs.size), ddof=ddof, missing_as=missing_as)


@dataclass(frozen=True)
class RocCurve:
    """A ROC curve over distance thresholds, one point per distinct distance (ties form one step).

    Attributes:
        far: false-accept rates, ascending, starting at 0 (nothing accepted) unless missing mismatched pairs
            make some false accepts unavoidable.
        tar: true-accept rates at the same thresholds.
        thresholds: the distance threshold of each point (``distance <= threshold`` accepted): ``-inf`` for
            the first point (only the always-accepted missing mismatched pairs, if any), then each distinct
            distance in ascending order (the last point accepts every pair with a face).
        n_same: matched pairs.
        n_different: mismatched pairs.
    """

    far: FloatArray
    tar: FloatArray
    thresholds: FloatArray
    n_same: int
    n_different: int


def roc_curve(distances: Any, same: Any, *, missing_as: MissingAs = "error") -> RocCurve:
    """The ROC curve of "same when ``distance <= threshold``" over every threshold.

    Pairs with equal distances are accepted together, so ties make one diagonal step (and count half in the
    AUC, as in the Mann-Whitney statistic). A missing matched pair (``NaN``) is never accepted, so TAR never
    reaches 1; a missing mismatched pair is always accepted with ``missing_as="error"`` (the worst score for
    its label: FAR never reaches 0) and never with ``missing_as="different"`` (FAR never reaches 1).

    Args:
        distances: one distance per pair.
        same: one boolean per pair, ``True`` for a matched pair; both kinds must be present.
        missing_as: ``"error"`` or ``"different"`` (see above).

    Returns:
        A :class:`RocCurve`.
    """
    _check_missing_as(missing_as)
    d, s = _validate(distances, same)
    n_same, n_diff = int(s.sum()), int((~s).sum())
    if n_same == 0 or n_diff == 0:
        raise ConfigurationError(f"ROC needs matched and mismatched pairs; got {n_same} and {n_diff}")
    missing = np.isnan(d)
    # worst score for the label: missing mismatched pairs are accepted before anything, missing matched never
    always_fa = int((missing & ~s).sum()) if missing_as == "error" else 0
    valid = ~missing
    dv, sv = d[valid], s[valid]
    order = np.argsort(dv, kind="stable")
    dv, sv = dv[order], sv[order]
    values, first = np.unique(dv, return_index=True)
    ends = np.append(first[1:], dv.size).astype(np.int64)
    cum_pos = np.cumsum(sv)[ends - 1] if dv.size else np.zeros(0, dtype=np.int64)
    cum_neg = ends - cum_pos
    # first point: the strictest threshold accepts only the missing mismatched pairs
    tp = np.concatenate(([0], cum_pos)).astype(np.float64)
    fp = np.concatenate(([0], cum_neg)).astype(np.float64) + always_fa
    thresholds = np.concatenate(([-np.inf], values))
    return RocCurve(far=fp / n_diff, tar=tp / n_same, thresholds=thresholds.astype(np.float64),
                    n_same=n_same, n_different=n_diff)


def _curve(roc_or_distances: RocCurve | Any, same: Any | None) -> RocCurve:
    if isinstance(roc_or_distances, RocCurve):
        return roc_or_distances
    if same is None:
        raise ConfigurationError("give a RocCurve, or distances and labels")
    return roc_curve(roc_or_distances, same)


def _closed(roc: RocCurve) -> tuple[FloatArray, FloatArray]:
    """``(far, tar)`` of the curve with its straight ends to (0, 0) and (1, 1) added."""
    return np.concatenate(([0.0], roc.far, [1.0])), np.concatenate(([0.0], roc.tar, [1.0]))


def roc_auc(roc_or_distances: RocCurve | Sequence[float] | npt.NDArray[Any], same: Any | None = None) -> float:
    """Area under the ROC curve: the chance that a random matched pair is closer than a random mismatched pair.

    Computed with the trapezoidal rule over the curve closed by (0, 0) and (1, 1), which equals the Mann-Whitney
    statistic: ties count one half; a missing matched pair loses to every mismatched pair with a distance; a
    missing mismatched pair beats every matched pair (``missing_as="error"``) or loses to every matched pair
    with a distance (``"different"``; a missing matched and a missing mismatched pair then tie).

    Args:
        roc_or_distances: a :class:`RocCurve`, or distances (with ``same``).
        same: labels when distances are given.

    Returns:
        AUC in ``[0, 1]``; 1 is a perfect separation, 0.5 is chance.

    Examples:
        >>> roc_auc([0.1, 0.5, 0.5, 0.9], [True, True, False, False])
        0.875
    """
    far, tar = _closed(_curve(roc_or_distances, same))
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2.0))


def equal_error_rate(roc_or_distances: RocCurve | Sequence[float] | npt.NDArray[Any],
                     same: Any | None = None) -> float:
    """The equal error rate: where the false-accept rate equals the false-reject rate (``1 - TAR``).

    Found by linear interpolation along the ROC curve (including its straight ends to (0, 0) and (1, 1)) at the
    point where ``far = 1 - tar``.

    Args:
        roc_or_distances: a :class:`RocCurve`, or distances (with ``same``).
        same: labels when distances are given.

    Returns:
        EER in ``[0, 1]``; lower is better.

    Examples:
        >>> equal_error_rate([0.1, 0.2, 0.3, 0.4], [True, False, True, False])
        0.5
    """
    far, tar = _closed(_curve(roc_or_distances, same))
    gap = far - (1.0 - tar)  # rises from -1 at (0, 0) to +1 at (1, 1)
    k = int(np.flatnonzero(gap >= 0)[0])
    if gap[k] == 0 or k == 0:
        return float(far[k])
    g0, g1 = gap[k - 1], gap[k]
    t = -g0 / (g1 - g0)
    return float(far[k - 1] + t * (far[k] - far[k - 1]))


def tar_at_far(roc_or_distances: RocCurve | Sequence[float] | npt.NDArray[Any], far: float,
               same: Any | None = None) -> tuple[float, float]:
    """The best true-accept rate whose false-accept rate is at most ``far``, and its distance threshold.

    No interpolation: the answer is a threshold that could actually be used. When even the strictest threshold
    exceeds ``far`` (missing mismatched pairs are always accepted), the answer is ``(0.0, -inf)``.

    Args:
        roc_or_distances: a :class:`RocCurve`, or distances (with ``same``).
        far: the largest acceptable false-accept rate, e.g. ``0.001``.
        same: labels when distances are given.

    Returns:
        ``(tar, threshold)``.

    Examples:
        >>> tar_at_far([0.1, 0.2, 0.3, 0.4], 0.5, [True, False, True, False])
        (1.0, 0.3)
    """
    if not 0.0 <= far <= 1.0:
        raise ConfigurationError(f"far must be between 0 and 1, got {far}")
    roc = _curve(roc_or_distances, same)
    ok = np.flatnonzero(roc.far <= far + 1e-12)
    if ok.size == 0:
        return 0.0, float("-inf")
    k = int(ok[np.argmax(roc.tar[ok])])
    return float(roc.tar[k]), float(roc.thresholds[k])


@dataclass(frozen=True)
class VerificationReport:
    """Everything a verification benchmark reports for one set of pair distances.

    Attributes:
        kfold: k-fold accuracy (threshold chosen on the other folds) with its standard error.
        fixed_threshold: the threshold of ``fixed_accuracy`` (lower is stricter).
        fixed_accuracy: accuracy over all pairs at ``fixed_threshold``.
        auc: area under the ROC curve over all pairs pooled.
        eer: equal error rate over all pairs pooled.
        tar_at_far: ``{far: (tar, threshold)}`` over all pairs pooled.
        n_pairs: pairs scored.
        n_pairs_missing: pairs without a distance (scored as ``kfold.missing_as`` says).
        n_photos_missing: photos without a face (``-1`` when not known).
    """

    kfold: KFoldResult
    fixed_threshold: float
    fixed_accuracy: float
    auc: float
    eer: float
    tar_at_far: dict[float, tuple[float, float]]
    n_pairs: int
    n_pairs_missing: int
    n_photos_missing: int = -1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "kfold": self.kfold.to_dict(),
            "fixed_threshold": self.fixed_threshold,
            "fixed_accuracy": self.fixed_accuracy,
            "auc": self.auc,
            "eer": self.eer,
            "tar_at_far": {str(k): {"tar": v[0], "threshold": v[1]} for k, v in self.tar_at_far.items()},
            "n_pairs": self.n_pairs,
            "missing_as": self.kfold.missing_as,
            "n_pairs_missing": self.n_pairs_missing,
            "n_photos_missing": self.n_photos_missing,
        }


def verification_report(distances: Any, same: Any, folds: Any, *, fixed_threshold: float = 0.6,
                        far_targets: Sequence[float] = (1e-3, 1e-2), n_photos_missing: int = -1,
                        missing_as: MissingAs = "error") -> VerificationReport:
    """All the verification metrics of these pair distances (see :class:`VerificationReport`).

    Args:
        distances: one distance per pair (``NaN``: a photo had no face; an error at every threshold).
        same: one boolean per pair, ``True`` for a matched pair.
        folds: one integer fold index per pair.
        fixed_threshold: threshold for ``fixed_accuracy``; lower is stricter (0.6 is typical for dlib).
        far_targets: false-accept rates at which to report the true-accept rate.
        n_photos_missing: photos without a face, recorded as given.
        missing_as: ``"error"`` (a pair without a distance is wrong at every threshold, the default) or
            ``"different"`` (it is decided "not the same person").
    """
    d, s = _validate(distances, same)
    roc = roc_curve(d, s, missing_as=missing_as)
    return VerificationReport(
        kfold=kfold_accuracy(d, s, folds, missing_as=missing_as),
        fixed_threshold=float(fixed_threshold),
        fixed_accuracy=accuracy_at_threshold(d, s, fixed_threshold, missing_as=missing_as),
        auc=roc_auc(roc),
        eer=equal_error_rate(roc),
        tar_at_far={float(far): tar_at_far(roc, far) for far in far_targets},
        n_pairs=int(d.size),
        n_pairs_missing=int(np.isnan(d).sum()),
        n_photos_missing=n_photos_missing,
    )


# -- identification: class scores, higher is better ------------------------------------------------------------
def true_class_ranks(scores: npt.ArrayLike, true_index: npt.ArrayLike, secondary: npt.ArrayLike | None = None,
                     ) -> IntArray:
    """The 1-based rank of the true class in each row of ``scores`` (higher score = better).

    Rank = 1 + the number of classes scored strictly higher; with ``secondary``, classes tied on the score are
    ordered by it (higher first). A row whose ``true_index`` is negative (the true class is not in the gallery, or
    no face was found) gets rank ``n_classes + 1``, a miss at every rank.

    Examples:
        >>> true_class_ranks([[0.9, 0.5, 0.1], [0.2, 0.7, 0.7]], [1, 2]).tolist()
        [2, 1]
        >>> true_class_ranks([[0.2, 0.7, 0.7]], [2], secondary=[[0, 5, 1]]).tolist()
        [2]
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(true_index, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] != t.shape[0]:
        raise ConfigurationError(f"scores must be (n_probes, n_classes) with one true index per probe, got "
                                 f"{s.shape} and {t.shape}")
    ranks = np.full(t.shape[0], s.shape[1] + 1, dtype=np.int64)
    ok = (t >= 0) & (t < s.shape[1])
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return ranks
    true_scores = s[rows, t[rows]][:, None]
    better = s[rows] > true_scores
    if secondary is not None:
        sec = np.asarray(secondary, dtype=np.float64)
        tied = s[rows] == true_scores
        better |= tied & (sec[rows] > sec[rows, t[rows]][:, None])
    ranks[rows] = 1 + better.sum(axis=1)
    return ranks


def cmc_curve(ranks: npt.ArrayLike, max_rank: int) -> FloatArray:
    """The cumulative match characteristic: ``cmc[k-1]`` is the fraction of probes whose true rank is <= k.

    Examples:
        >>> cmc_curve([1, 2, 1, 4], 4).tolist()
        [0.5, 0.75, 0.75, 1.0]
    """
    r = np.asarray(ranks, dtype=np.int64)
    if r.size == 0:
        raise ConfigurationError("no probes to rank")
    if max_rank < 1:
        raise ConfigurationError(f"max_rank must be >= 1, got {max_rank}")
    return np.array([(r <= k).mean() for k in range(1, max_rank + 1)], dtype=np.float64)


def dir_at_far(known_confidence: npt.ArrayLike, known_correct: npt.ArrayLike, unknown_confidence: npt.ArrayLike,
               far: float) -> tuple[float, float, float]:
    """Open-set detection-and-identification rate at a false-alarm rate.

    A probe is *accepted* when its confidence (higher = surer) is strictly above the threshold. The threshold is
    the lowest that accepts at most ``floor(far * n_unknown)`` unknown probes (the ``m+1``-th highest unknown
    confidence for ``m`` allowed false alarms); the DIR is the fraction of known probes that are both named
    correctly at rank 1 and accepted. ``NaN`` confidences (no face) are never accepted.

    Args:
        known_confidence: one confidence per known person's probe.
        known_correct: whether its rank-1 answer is the right person.
        unknown_confidence: one confidence per held-out person's probe.
        far: the largest acceptable fraction of unknown probes accepted.

    Returns:
        ``(dir, threshold, achieved_far)``; the threshold is ``-inf`` when every unknown probe may be accepted.

    Examples:
        >>> dir_at_far([0.9, 0.8, 0.7, 0.4], [True, False, True, True], [0.75, 0.5, 0.3, 0.1], 0.25)
        (0.5, 0.5, 0.25)
    """
    kc = np.asarray(known_confidence, dtype=np.float64)
    ok = np.asarray(known_correct, dtype=bool)
    uc = np.asarray(unknown_confidence, dtype=np.float64)
    if kc.shape != ok.shape or kc.size == 0:
        raise ConfigurationError("known confidences and correctness must be non-empty and of one length")
    if uc.size == 0:
        raise ConfigurationError("the open-set rate needs unknown probes")
    if not 0.0 <= far <= 1.0:
        raise ConfigurationError(f"far must be between 0 and 1, got {far}")
    u = np.sort(np.where(np.isnan(uc), -np.inf, uc))[::-1]
    allowed = int(np.floor(far * u.size + 1e-9))
    threshold = float(u[allowed]) if allowed < u.size else float("-inf")
    k = np.where(np.isnan(kc), -np.inf, kc)
    accepted = k > threshold if np.isfinite(threshold) else np.isfinite(k)
    achieved = float((u > threshold).mean()) if np.isfinite(threshold) else float(np.isfinite(u).mean())
    return float((accepted & ok).mean()), threshold, achieved


def dir_far_curve(known_confidence: npt.ArrayLike, known_correct: npt.ArrayLike,
                  unknown_confidence: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``(far, dir)`` at every threshold taken from the unknown confidences (for plotting)."""
    uc = np.asarray(unknown_confidence, dtype=np.float64)
    n = uc.size
    fars = np.array(sorted({i / n for i in range(n + 1)}))
    dirs = np.array([dir_at_far(known_confidence, known_correct, uc, f)[0] for f in fars])
    return fars, dirs
