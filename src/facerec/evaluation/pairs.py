"""Pair lists for the verification protocol: LFW's ``pairs.txt`` or a CSV of ``path1,path2,same``, with their folds.

A CSV's pairs are split into ``k`` stratified folds with a fixed seed (:func:`stratified_folds`); relative paths are
relative to the CSV's folder; ``same`` is 1/0, true/false or yes/no, and a header line is optional.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError

__all__ = [
    "PairList",
    "data_id_for",
    "data_id_for_root",
    "first_pairs_per_fold",
    "parse_bool",
    "read_pair_csv",
    "read_pair_list",
    "stratified_folds",
]


_BOOL_TRUE = {"1", "true", "yes", "y", "on"}
_BOOL_FALSE = {"0", "false", "no", "n", "off"}


def parse_bool(text: str, what: str) -> bool:
    """``text`` as a yes/no value (1/0, true/false, yes/no, y/n, on/off); ``what`` names it in the error."""
    low = text.strip().lower()
    if low in _BOOL_TRUE:
        return True
    if low in _BOOL_FALSE:
        return False
    raise ConfigurationError(f"{what} must be true or false, got {text!r}")


@dataclass(frozen=True)
class PairList:
    """Pairs of photos with labels and folds, in a protocol-neutral form.

    Attributes:
        photo_a, photo_b: the two photos' keys (paths relative to ``root``).
        same: ``True`` for a matched pair.
        folds: the fold index of each pair.
        root: the folder the keys are relative to.
        source: the pairs file.
        protocol: ``lfw`` (folds from the file) or ``csv`` (seeded stratified folds).
    """

    photo_a: tuple[str, ...]
    photo_b: tuple[str, ...]
    same: npt.NDArray[np.bool_]
    folds: npt.NDArray[np.int64]
    root: Path
    source: Path
    protocol: str

    def __len__(self) -> int:
        return len(self.photo_a)

    def photos(self) -> list[str]:
        """Every photo key, once, sorted."""
        return sorted(set(self.photo_a) | set(self.photo_b))

    def path(self, key: str) -> Path:
        """The file of a photo key."""
        return self.root / key


def stratified_folds(same: Sequence[bool] | npt.NDArray[np.bool_], k: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """Fold indices 0..k-1 with matched and mismatched pairs spread evenly over the folds (seeded shuffle).

    Examples:
        >>> np.bincount(stratified_folds([True] * 6 + [False] * 6, 3)).tolist()
        [4, 4, 4]
    """
    labels = np.asarray(same, dtype=bool)
    if k < 2:
        raise ConfigurationError(f"k-fold evaluation needs at least 2 folds, got {k}")
    if labels.size < k:
        raise ConfigurationError(f"{labels.size} pairs cannot fill {k} folds")
    rng = np.random.default_rng(seed)
    folds = np.empty(labels.size, dtype=np.int64)
    offset = 0
    for value in (True, False):
        index = np.flatnonzero(labels == value)
        rng.shuffle(index)
        folds[index] = (np.arange(index.size) + offset) % k
        offset += index.size
    return folds


def read_pair_csv(path: str | os.PathLike[str], *, k: int = 10, seed: int = 0,
                  root: str | os.PathLike[str] | None = None) -> PairList:
    """Read a CSV of ``path1,path2,same`` and assign seeded stratified folds.

    Args:
        path: the CSV file (a first line whose last field is not a label is taken as a header).
        k: number of folds.
        seed: seed of the fold assignment.
        root: folder the photo paths are relative to (default: the CSV's folder).

    Raises:
        ConfigurationError: a row without three fields or with a label that is not a boolean.
    """
    source = Path(path)
    base = Path(root) if root is not None else source.parent
    a: list[str] = []
    b: list[str] = []
    labels: list[bool] = []
    with open(source, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 3:
                raise ConfigurationError(f"{source}, line {line_no}: expected path1,path2,same, got {row!r}")
            label = row[2].strip().lower()
            if line_no == 1 and label not in _BOOL_TRUE | _BOOL_FALSE:
                continue  # header
            a.append(row[0].strip())
            b.append(row[1].strip())
            labels.append(parse_bool(label, f"{source}, line {line_no}: same"))
    if not labels:
        raise ConfigurationError(f"{source}: no pairs found")
    same = np.array(labels, dtype=bool)
    if same.all() or not same.any():
        raise ConfigurationError(f"{source}: needs both matched and mismatched pairs")
    return PairList(tuple(a), tuple(b), same, stratified_folds(same, k, seed), base, source, "csv")


def read_pair_list(path: str | os.PathLike[str], *, k: int = 10, seed: int = 0,
                   root: str | os.PathLike[str] | None = None) -> PairList:
    """A :class:`PairList` from an LFW pairs file (``.txt``) or a CSV (anything else).

    For LFW the photos are under ``<root>/images`` with ``root`` defaulting to the pairs file's folder.
    """
    source = Path(path)
    if source.suffix.lower() != ".txt":
        return read_pair_csv(source, k=k, seed=seed, root=root)
    from facerec.evaluation.lfw import read_pairs

    pairs = read_pairs(source)
    base = Path(root) if root is not None else source.parent
    return PairList(tuple(p.photo_a for p in pairs), tuple(p.photo_b for p in pairs), pairs.same, pairs.folds,
                    base / "images", source, "lfw")


def data_id_for(pairs: PairList) -> str:
    """A short id of the folder a pair list's photos live in, part of the cache file names.

    Photo keys are paths relative to that folder, so runs on any subset of it share one cache.
    """
    return data_id_for_root(pairs.root)


def data_id_for_root(root: str | os.PathLike[str]) -> str:
    """A short id of a photo folder (a hash of its absolute path)."""
    return hashlib.sha1(os.fspath(Path(root).resolve()).encode()).hexdigest()[:12]


def first_pairs_per_fold(pairs: PairList, count: int) -> PairList:
    """The first ``count`` matched and ``count`` mismatched pairs of each fold (for quick runs)."""
    keep: list[int] = []
    seen: dict[tuple[int, bool], int] = {}
    for i, (fold, same) in enumerate(zip(pairs.folds, pairs.same)):
        slot = (int(fold), bool(same))
        if seen.get(slot, 0) < count:
            seen[slot] = seen.get(slot, 0) + 1
            keep.append(i)
    idx = np.array(keep, dtype=np.int64)
    return PairList(tuple(pairs.photo_a[i] for i in keep), tuple(pairs.photo_b[i] for i in keep), pairs.same[idx],
                    pairs.folds[idx], pairs.root, pairs.source, pairs.protocol)
