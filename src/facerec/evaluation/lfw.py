"""The LFW verification protocol: ``pairs.txt``, the photo paths, and the pair distances it scores.

``pairs.txt`` ("View 2") starts with a header line ``10 300``: 10 folds, each of 300 matched pairs (lines
``name n1 n2``, two photos of one person) followed by 300 mismatched pairs (lines ``name1 n1 name2 n2``). The
development files (``pairsDevTrain.txt``, ``pairsDevTest.txt``) have a one-number header ``n``: one set of ``n``
matched then ``n`` mismatched pairs. Photo ``n`` of ``Name`` is ``images/<Name>/<Name>_<nnnn>.jpg``.

The score of a run is the mean accuracy over the folds, each tested at a threshold chosen on the other nine, with
the standard error of that mean (:func:`facerec.evaluation.metrics.kfold_accuracy`). A pair whose photo gave no
face has no distance and counts as an error.

Examples:
    >>> pairs = read_pairs("lfw/pairs.txt")                                  # doctest: +SKIP
    >>> len(pairs), pairs.n_folds, int(pairs.same.sum())                     # doctest: +SKIP
    (6000, 10, 3000)
    >>> report = evaluate_pairs(pairs, {key: embed(key) for key in pairs.photos()})   # doctest: +SKIP
    >>> f"{report.kfold.mean:.2%} ± {report.kfold.standard_error:.2%}"       # doctest: +SKIP
    '99.10% ± 0.15%'
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import FacerecError
from facerec.evaluation.metrics import MissingAs, VerificationReport, verification_report

__all__ = ["LfwPair", "LfwPairs", "PairsFormatError", "evaluate_pairs", "image_path", "pair_distances",
           "photo_key", "read_pairs"]


class PairsFormatError(FacerecError, ValueError):
    """A pairs file does not follow the LFW format.

    Attributes:
        path: the file.
        line: the 1-based line number where reading failed (``None`` for the file as a whole).
    """

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f", line {line}" if line is not None else ""
        super().__init__(f"{path}{where}: {reason}")


def photo_key(name: str, number: int) -> str:
    """The photo's path relative to LFW's ``images`` folder: ``<Name>/<Name>_<nnnn>.jpg``.

    Examples:
        >>> photo_key("Abel_Pacheco", 1)
        'Abel_Pacheco/Abel_Pacheco_0001.jpg'
    """
    return f"{name}/{name}_{number:04d}.jpg"


def image_path(root: str | os.PathLike[str], name: str, number: int) -> Path:
    """The photo's file: ``<root>/images/<Name>/<Name>_<nnnn>.jpg`` (``root`` is the LFW folder)."""
    return Path(root) / "images" / photo_key(name, number)


@dataclass(frozen=True)
class LfwPair:
    """One line of a pairs file.

    Attributes:
        name_a, number_a: the first photo's person and number (1-based, as in the file names).
        name_b, number_b: the second photo's (``name_b == name_a`` for a matched pair).
        same: ``True`` for a matched pair (one person).
        fold: the 0-based fold the pair belongs to.
    """

    name_a: str
    number_a: int
    name_b: str
    number_b: int
    same: bool
    fold: int

    @property
    def photo_a(self) -> str:
        """The first photo's key (see :func:`photo_key`)."""
        return photo_key(self.name_a, self.number_a)

    @property
    def photo_b(self) -> str:
        """The second photo's key."""
        return photo_key(self.name_b, self.number_b)


@dataclass(frozen=True)
class LfwPairs:
    """The pairs of a protocol file, in file order.

    Attributes:
        pairs: every pair.
        n_folds: the number of folds (10 in ``pairs.txt``).
        pairs_per_fold: matched pairs per fold, which is also the number of mismatched pairs per fold (300).
    """

    pairs: tuple[LfwPair, ...]
    n_folds: int
    pairs_per_fold: int

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[LfwPair]:
        return iter(self.pairs)

    @property
    def same(self) -> npt.NDArray[np.bool_]:
        """One boolean per pair, ``True`` for matched pairs."""
        return np.array([p.same for p in self.pairs], dtype=bool)

    @property
    def folds(self) -> npt.NDArray[np.int64]:
        """The fold index of each pair."""
        return np.array([p.fold for p in self.pairs], dtype=np.int64)

    def photos(self) -> list[str]:
        """Every photo the pairs use, once each, sorted (7,701 for ``pairs.txt``)."""
        return sorted({key for p in self.pairs for key in (p.photo_a, p.photo_b)})

    def paths(self, root: str | os.PathLike[str]) -> dict[str, Path]:
        """``{photo key: file}`` for every photo, under the LFW folder ``root``."""
        base = Path(root) / "images"
        return {key: base / key for key in self.photos()}


def _parse_int(token: str, path: str, line: int) -> int:
    try:
        value = int(token)
    except ValueError:
        raise PairsFormatError(path, f"expected a photo number, got {token!r}", line) from None
    if value < 1:
        raise PairsFormatError(path, f"photo numbers start at 1, got {value}", line)
    return value


def read_pairs(path: str | os.PathLike[str]) -> LfwPairs:
    """Parse an LFW pairs file (``pairs.txt``, or the one-set ``pairsDevTrain.txt``/``pairsDevTest.txt``).

    Args:
        path: the file.

    Returns:
        The pairs in file order, with their folds.

    Raises:
        PairsFormatError: a bad header, a line with the wrong number of fields or a non-numeric photo number,
            or too few or too many lines for the header (the message names the line).
        FileNotFoundError: the file does not exist.
    """
    where = str(path)
    with open(path, encoding="utf-8") as handle:
        lines = [raw.split() for raw in handle]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise PairsFormatError(where, "the file is empty; expected a header such as '10 300'")
    header = lines[0]
    try:
        numbers = [int(x) for x in header]
    except ValueError:
        raise PairsFormatError(where, f"expected a header '<folds> <pairs per fold>', got {' '.join(header)!r}",
                               1) from None
    if len(numbers) == 2:
        n_folds, per_fold = numbers
    elif len(numbers) == 1:
        n_folds, per_fold = 1, numbers[0]
    else:
        raise PairsFormatError(where, f"expected a header '<folds> <pairs per fold>', got {' '.join(header)!r}", 1)
    if n_folds < 1 or per_fold < 1:
        raise PairsFormatError(where, f"the header's numbers must be positive, got {numbers}", 1)
    expected = n_folds * per_fold * 2
    body = lines[1:]
    if len(body) != expected:
        raise PairsFormatError(where, f"the header '{' '.join(header)}' announces {expected} pairs, "
                                      f"found {len(body)} lines")
    pairs = []
    for index, fields in enumerate(body):
        line = index + 2
        fold, within = divmod(index, 2 * per_fold)
        same = within < per_fold
        if same:
            if len(fields) != 3:
                raise PairsFormatError(where, f"a matched pair needs 'name n1 n2', got {len(fields)} fields", line)
            name, a, b = fields
            pairs.append(LfwPair(name, _parse_int(a, where, line), name, _parse_int(b, where, line), True, fold))
        else:
            if len(fields) != 4:
                raise PairsFormatError(where, f"a mismatched pair needs 'name1 n1 name2 n2', got {len(fields)} "
                                              "fields", line)
            name_a, a, name_b, b = fields
            pairs.append(LfwPair(name_a, _parse_int(a, where, line), name_b, _parse_int(b, where, line), False,
                                 fold))
    return LfwPairs(pairs=tuple(pairs), n_folds=n_folds, pairs_per_fold=per_fold)


def pair_distances(pairs: LfwPairs, embeddings: Mapping[str, Any]) -> npt.NDArray[np.float64]:
    """The Euclidean distance of each pair's two embeddings; ``NaN`` where a photo has none.

    Args:
        pairs: from :func:`read_pairs`.
        embeddings: ``{photo key: (128,) embedding or None}``; a photo absent from the mapping or mapped to
            ``None`` (no face found) gives its pairs a ``NaN`` distance.

    Returns:
        ``(n_pairs,)`` float64 array.
    """
    out = np.full(len(pairs), np.nan, dtype=np.float64)
    for i, pair in enumerate(pairs):
        a, b = embeddings.get(pair.photo_a), embeddings.get(pair.photo_b)
        if a is None or b is None:
            continue
        out[i] = float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
    return out


def evaluate_pairs(pairs: LfwPairs, embeddings: Mapping[str, Any], *,
                   fixed_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
                   far_targets: tuple[float, ...] = (1e-3, 1e-2),
                   missing_as: MissingAs = "error") -> VerificationReport:
    """Score embeddings on the protocol: k-fold accuracy, accuracy at a fixed threshold, ROC AUC, EER, TAR@FAR.

    Args:
        pairs: from :func:`read_pairs`.
        embeddings: ``{photo key: embedding or None}`` (see :func:`pair_distances`).
        fixed_threshold: the distance threshold of the fixed-threshold accuracy; lower is stricter (0.6 is
            dlib's usual value).
        far_targets: false-accept rates at which to report the true-accept rate.
        missing_as: a pair whose photo has no face is ``"error"`` (wrong at every threshold; the default) or
            ``"different"`` (decided "not the same person": right for mismatched pairs).

    Returns:
        A :class:`~facerec.evaluation.metrics.VerificationReport`.
    """
    distances = pair_distances(pairs, embeddings)
    missing_photos = sum(1 for key in pairs.photos() if embeddings.get(key) is None)
    return verification_report(distances, pairs.same, pairs.folds, fixed_threshold=fixed_threshold,
                               far_targets=far_targets, n_photos_missing=missing_photos, missing_as=missing_as)
