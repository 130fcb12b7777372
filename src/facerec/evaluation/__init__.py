"""Evaluation: verification protocols (LFW) and the metrics they report.

* :mod:`facerec.evaluation.metrics` -- threshold choice, k-fold accuracy with standard error, ROC, AUC, EER and
  TAR at FAR on pair distances (lower = same person; ``NaN`` = a photo without a face, always an error).
* :mod:`facerec.evaluation.lfw` -- the LFW ``pairs.txt`` protocol: parsing, image paths, pair distances.
"""

from facerec.evaluation.lfw import (
    LfwPair,
    LfwPairs,
    PairsFormatError,
    evaluate_pairs,
    image_path,
    pair_distances,
    photo_key,
    read_pairs,
)
from facerec.evaluation.metrics import (
    STD_DDOF,
    FoldResult,
    KFoldResult,
    MissingAs,
    RocCurve,
    VerificationReport,
    accuracy_at_threshold,
    best_threshold,
    equal_error_rate,
    kfold_accuracy,
    roc_auc,
    roc_curve,
    tar_at_far,
    verification_report,
)

__all__ = [
    "STD_DDOF",
    "FoldResult",
    "KFoldResult",
    "LfwPair",
    "LfwPairs",
    "MissingAs",
    "PairsFormatError",
    "RocCurve",
    "VerificationReport",
    "accuracy_at_threshold",
    "best_threshold",
    "equal_error_rate",
    "evaluate_pairs",
    "image_path",
    "kfold_accuracy",
    "pair_distances",
    "photo_key",
    "read_pairs",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "verification_report",
]
