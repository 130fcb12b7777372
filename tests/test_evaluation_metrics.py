"""The verification maths on tiny score sets worked out by hand (and cross-checked with scikit-learn)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facerec.errors import ConfigurationError
from facerec.evaluation import (
    STD_DDOF,
    accuracy_at_threshold,
    best_threshold,
    equal_error_rate,
    kfold_accuracy,
    roc_auc,
    roc_curve,
    tar_at_far,
    verification_report,
)

NAN = float("nan")

# Three folds of two pairs; the third fold is swapped, so it scores 0 at the threshold the others choose.
THREE_FOLDS_D = [0.2, 0.7, 0.3, 0.8, 0.65, 0.4]
THREE_FOLDS_SAME = [True, False, True, False, True, False]
THREE_FOLDS_FOLD = [0, 0, 1, 1, 2, 2]


def test_accuracy_at_threshold_counts_missing_as_errors() -> None:
    # 0.3 same accepted (right), 0.5 different accepted (wrong), 0.7 different rejected (right), NaN (wrong)
    assert accuracy_at_threshold([0.3, 0.5, 0.7, NAN], [True, False, False, True], 0.6) == 0.5


def test_accuracy_at_threshold_accepts_equal_distance() -> None:
    assert accuracy_at_threshold([0.6], [True], 0.6) == 1.0


def test_best_threshold_ties_take_lower_median() -> None:
    # candidates: none 2/5, 0.15 3/5, 0.25 4/5, 0.35 3/5, 0.45 4/5, all 3/5 -> tie of 0.25 and 0.45
    threshold, accuracy = best_threshold([0.1, 0.2, 0.3, 0.4, 0.5], [True, True, False, True, False])
    assert threshold == pytest.approx(0.25)
    assert accuracy == pytest.approx(0.8)


def test_best_threshold_missing_pairs_lower_accuracy_not_threshold() -> None:
    threshold, accuracy = best_threshold([0.1, 0.2, 0.3, 0.4, 0.5, NAN], [True, True, False, True, False, True])
    assert threshold == pytest.approx(0.25)
    assert accuracy == pytest.approx(4 / 6)


def test_best_threshold_midpoint_of_separated_sets() -> None:
    assert best_threshold([0.2, 0.4, 0.6, 0.8], [True, True, False, False]) == (pytest.approx(0.5), 1.0)  # type: ignore[comparison-overlap]


def test_best_threshold_edges_accept_all_or_nothing() -> None:
    # only matched pairs: accept everything (a value above the largest); only mismatched: accept nothing
    threshold, accuracy = best_threshold([0.5, 0.7], [True, True])
    assert threshold > 0.7 and accuracy == 1.0
    threshold, accuracy = best_threshold([0.5, 0.7], [False, False])
    assert threshold < 0.5 and accuracy == 1.0


def test_best_threshold_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    d = np.round(rng.uniform(0, 1, 200), 2)  # rounding makes many ties
    same = rng.random(200) < (1 - d)
    _, accuracy = best_threshold(d, same)
    brute = max(accuracy_at_threshold(d, same, t) for t in np.linspace(-0.01, 1.01, 2000))
    assert accuracy == pytest.approx(brute)


def test_kfold_accuracy_hand_computed() -> None:
    result = kfold_accuracy(THREE_FOLDS_D, THREE_FOLDS_SAME, THREE_FOLDS_FOLD)
    # fold 0 trained on folds 1+2: tie of 0.35 and 0.725 -> 0.35; fold 1: tie 0.3 / 0.675 -> 0.3; fold 2: 0.5
    assert result.thresholds == pytest.approx([0.35, 0.3, 0.5])
    assert [f.accuracy for f in result.folds] == [1.0, 1.0, 0.0]
    assert [f.train_accuracy for f in result.folds] == pytest.approx([0.75, 0.75, 1.0])
    assert result.mean == pytest.approx(2 / 3)
    # sample std (ddof=1): sqrt(((1/3)^2 + (1/3)^2 + (2/3)^2) / 2) = sqrt(1/3); SE = sqrt(1/3) / sqrt(3) = 1/3
    assert result.ddof == STD_DDOF == 1
    assert result.std == pytest.approx(math.sqrt(1 / 3))
    assert result.standard_error == pytest.approx(1 / 3)


def test_kfold_accuracy_population_std_on_request() -> None:
    result = kfold_accuracy(THREE_FOLDS_D, THREE_FOLDS_SAME, THREE_FOLDS_FOLD, ddof=0)
    assert result.std == pytest.approx(math.sqrt(2 / 9))
    assert result.standard_error == pytest.approx(math.sqrt(2 / 9) / math.sqrt(3))


def test_kfold_accuracy_missing_pair_is_an_error_in_its_fold() -> None:
    d = [0.2, 0.7, 0.3, NAN, 0.25, 0.75]
    result = kfold_accuracy(d, [True, False] * 3, [0, 0, 1, 1, 2, 2])
    assert [f.accuracy for f in result.folds] == [1.0, 0.5, 1.0]
    assert [f.n_missing for f in result.folds] == [0, 1, 0]


def test_roc_curve_ties_make_one_step() -> None:
    roc = roc_curve([0.1, 0.5, 0.5, 0.9], [True, True, False, False])
    assert roc.far.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert roc.tar.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert roc.thresholds.tolist() == [-math.inf, 0.1, 0.5, 0.9]


def test_roc_auc_ties_count_half() -> None:
    # matched 0.1 beats both mismatched (2); matched 0.5 ties 0.5 (1/2) and beats 0.9 (1): 3.5 / 4
    assert roc_auc([0.1, 0.5, 0.5, 0.9], [True, True, False, False]) == pytest.approx(0.875)
    assert roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)


def test_roc_auc_missing_pairs_get_worst_score() -> None:
    d = [0.1, 0.5, 0.5, 0.9, NAN, NAN]
    same = [True, True, False, False, True, False]
    # 0.1: beats 0.5 and 0.9, loses to the missing mismatched pair: 2; 0.5: 0.5 + 1; missing matched: 0 -> 3.5/9
    assert roc_auc(d, same) == pytest.approx(3.5 / 9)
    roc = roc_curve(d, same)
    assert roc.far[0] == pytest.approx(1 / 3)  # the missing mismatched pair is accepted at every threshold
    assert roc.tar[-1] == pytest.approx(2 / 3)  # the missing matched pair never is


def test_roc_matches_sklearn_with_ties_and_missing() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    same = rng.random(300) < 0.5
    d = np.round(np.where(same, rng.normal(0.45, 0.1, 300), rng.normal(0.75, 0.1, 300)), 2)
    d[[3, 50, 51, 200]] = np.nan
    # worst score for the label: missing matched -> farthest, missing mismatched -> closest
    filled = np.where(np.isnan(d), np.where(same, 1e9, -1e9), d)
    fpr, tpr, _ = metrics.roc_curve(same, -filled, drop_intermediate=False)
    roc = roc_curve(d, same)
    # sklearn runs from (0, 0) to (1, 1); ours starts and ends where the always-accepted missing mismatched pair
    # and the never-accepted missing matched pair put it (AUC closes it with those two points)
    ours = np.array(sorted(set(zip(roc.far.tolist(), roc.tar.tolist())) | {(0.0, 0.0), (1.0, 1.0)}))
    theirs = np.array(sorted(set(zip(fpr.tolist(), tpr.tolist()))))
    assert ours.shape == theirs.shape and np.allclose(ours, theirs)
    assert roc_auc(d, same) == pytest.approx(metrics.roc_auc_score(same, -filled))


def test_equal_error_rate_at_a_point() -> None:
    # ROC (0,0) (0,1/3) (0,2/3) (1/3,2/3): FAR = FRR = 1/3 there
    d = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert equal_error_rate(d, [True, True, False, True, False, False]) == pytest.approx(1 / 3)


def test_equal_error_rate_interpolates() -> None:
    # ROC (0,0) (0,.5) (1,.5) (1,1): FAR - FRR goes from -0.5 to +0.5 between (0,.5) and (1,.5) -> 0.5
    assert equal_error_rate([0.1, 0.2, 0.3], [True, False, True]) == pytest.approx(0.5)
    assert equal_error_rate([0.1, 0.9], [True, False]) == 0.0
    assert equal_error_rate([0.9, 0.1], [True, False]) == 1.0


def test_tar_at_far_takes_a_usable_threshold() -> None:
    d = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    same = [True, True, False, True, False, False]
    assert tar_at_far(d, 0.0, same) == (pytest.approx(2 / 3), 0.2)  # type: ignore[comparison-overlap]
    assert tar_at_far(d, 0.34, same) == (1.0, 0.4)
    # a missing mismatched pair is always accepted: FAR 0 is out of reach
    assert tar_at_far([0.1, NAN], 0.0, [True, False]) == (0.0, -math.inf)


def test_verification_report_collects_everything() -> None:
    report = verification_report(THREE_FOLDS_D, THREE_FOLDS_SAME, THREE_FOLDS_FOLD, fixed_threshold=0.6,
                                 far_targets=(0.5,))
    assert report.kfold.mean == pytest.approx(2 / 3)
    assert report.fixed_accuracy == pytest.approx(4 / 6)  # 0.65 same rejected, 0.4 different accepted
    assert report.auc == pytest.approx(8 / 9)  # 0.2 and 0.3 beat all three (6); 0.65 beats 0.7 and 0.8 (2)
    assert report.n_pairs == 6 and report.n_pairs_missing == 0
    assert set(report.to_dict()) >= {"kfold", "auc", "eer", "tar_at_far", "fixed_accuracy"}


@pytest.mark.parametrize(("distances", "same", "message"), [
    ([0.1, 0.2], [True], "differ in length"),
    ([], [], "no pairs"),
    ([0.1, math.inf], [True, False], "finite"),
    ([0.1, 0.2], [2, 0], "booleans"),
])
def test_metrics_refuse_bad_input(distances: list[float], same: list[object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        accuracy_at_threshold(distances, same, 0.6)


def test_kfold_accuracy_needs_two_integer_folds() -> None:
    with pytest.raises(ConfigurationError, match="at least 2 folds"):
        kfold_accuracy([0.1, 0.9], [True, False], [0, 0])
    with pytest.raises(ConfigurationError, match="integers"):
        kfold_accuracy([0.1, 0.9], [True, False], [0.0, 1.0])


def test_roc_needs_both_labels() -> None:
    with pytest.raises(ConfigurationError, match="matched and mismatched"):
        roc_curve([0.1, 0.2], [True, True])


# -- missing_as="different": no face is answered "not the same person" ----------------------------------------


def test_accuracy_missing_as_different_is_right_for_mismatched_pairs() -> None:
    d = [0.3, 0.5, 0.7, NAN, NAN]
    same = [True, False, False, True, False]
    assert accuracy_at_threshold(d, same, 0.6) == pytest.approx(2 / 5)
    assert accuracy_at_threshold(d, same, 0.6, missing_as="different") == pytest.approx(3 / 5)


def test_best_threshold_missing_as_different_keeps_threshold() -> None:
    d = [0.1, 0.2, 0.3, 0.4, 0.5, NAN]
    same = [True, True, False, True, False, False]
    assert best_threshold(d, same) == (pytest.approx(0.25), pytest.approx(4 / 6))  # type: ignore[comparison-overlap]
    assert best_threshold(d, same, missing_as="different") == (pytest.approx(0.25), pytest.approx(5 / 6))  # type: ignore[comparison-overlap]


def test_kfold_accuracy_missing_as_different() -> None:
    d = [0.2, 0.7, 0.3, NAN, 0.25, 0.75]  # fold 1's mismatched pair has no face
    result = kfold_accuracy(d, [True, False] * 3, [0, 0, 1, 1, 2, 2], missing_as="different")
    assert [f.accuracy for f in result.folds] == [1.0, 1.0, 1.0]
    assert result.missing_as == "different"


def test_roc_auc_missing_as_different_hand_computed() -> None:
    d = [0.1, 0.5, 0.5, 0.9, NAN, NAN]
    same = [True, True, False, False, True, False]
    # 0.1 beats all three mismatched (3); 0.5 ties 0.5, beats 0.9 and the missing one (2.5);
    # the missing matched pair ties the missing mismatched one (0.5): 6 / 9
    roc = roc_curve(d, same, missing_as="different")
    assert roc_auc(roc) == pytest.approx(6 / 9)
    assert roc.far[0] == 0.0 and roc.far[-1] == pytest.approx(2 / 3)


def test_roc_missing_as_different_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(11)
    same = rng.random(300) < 0.5
    d = np.round(np.where(same, rng.normal(0.45, 0.1, 300), rng.normal(0.75, 0.1, 300)), 2)
    d[[3, 50, 51, 200, 201]] = np.nan
    filled = np.where(np.isnan(d), 1e9, d)  # never accepted, whatever the label
    assert roc_auc(roc_curve(d, same, missing_as="different")) == pytest.approx(
        metrics.roc_auc_score(same, -filled))
    assert kfold_accuracy(d, same, np.arange(300) % 10, missing_as="different").mean == pytest.approx(
        kfold_accuracy(np.where(np.isnan(d), 99.0, d), same, np.arange(300) % 10).mean)


def test_missing_as_refuses_unknown_rule() -> None:
    with pytest.raises(ConfigurationError, match="missing_as"):
        accuracy_at_threshold([0.1], [True], 0.6, missing_as="ignore")  # type: ignore[arg-type]
