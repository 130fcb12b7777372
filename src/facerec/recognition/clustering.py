"""Clustering faces of unknown people: Chinese whispers (dlib's algorithm), DBSCAN and agglomerative.

:func:`cluster_faces` groups embeddings so that each group is one person, and returns one label per face:
clusters are numbered ``0, 1, ...`` from the largest, and faces in clusters smaller than ``min_cluster_size``
(and DBSCAN's noise) get ``-1``.

Methods (``method=``):

* ``"agglomerative"`` (default) -- :class:`sklearn.cluster.AgglomerativeClustering` with average linkage:
  groups merge while the mean distance between their faces is below ``distance_threshold`` (0.55).
* ``"chinese_whispers"`` -- dlib's ``chinese_whispers_clustering``: a graph with an edge between two faces closer
  than ``distance_threshold`` (0.5, and a self-loop on each face); every face starts in its own cluster, then
  faces visited in random order take the label most common among their neighbours until nothing changes. A face
  follows the majority of its neighbours rather than any one of them, so a chain of look-alikes does not merge
  two people as easily as in single linkage (DBSCAN).
* ``"dbscan"`` -- :class:`sklearn.cluster.DBSCAN` with ``eps=distance_threshold`` (0.45); faces with fewer than
  ``min_samples`` neighbours that are not reachable from a core face are noise.

All three find the number of people themselves. Why average-linkage agglomerative is the default: on LFW
embeddings it had the best pairwise F1 both on all 4,318 faces of 158 people at once (0.991 at 0.55, against
0.985 for Chinese whispers at its best threshold and 0.960 for DBSCAN) and on album-sized sets of 10 people
(0.972 at 0.55, 0.980 at 0.6; Chinese whispers 0.966, DBSCAN 0.961), with the highest precision -- two people
merged is a worse mistake than one person split -- and the widest range of good thresholds; DBSCAN collapses
from F1 0.96 to 0.13 between eps 0.4 and 0.5 on the full set as chains of faces link people. The cost:
agglomerative clustering holds all ``n * (n - 1) / 2`` distances in memory (about 0.4 GB for 10,000 faces), so
for tens of thousands of faces use ``"chinese_whispers"``, which keeps only the edges. The measurements:
``docs/BENCHMARKS.md`` ("Clustering on LFW") and ``benchmarks/clustering.py``; :func:`pairwise_scores` gives the
pairwise precision, recall and F1 used there.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from facerec.errors import ConfigurationError, UnknownNameError

__all__ = ["CLUSTER_METHODS", "DEFAULT_CLUSTER_METHOD", "DEFAULT_CLUSTER_THRESHOLDS", "ChineseWhispers",
           "PairwiseScores", "chinese_whispers", "cluster_faces", "pairwise_scores"]

ClusterMethod = Literal["agglomerative", "chinese_whispers", "dbscan"]

#: The clustering methods :func:`cluster_faces` knows.
CLUSTER_METHODS: tuple[str, ...] = ("agglomerative", "chinese_whispers", "dbscan")

#: The method used when none is named.
DEFAULT_CLUSTER_METHOD = "agglomerative"

#: The distance threshold used for each method when none is given (best pairwise F1 on LFW; lower is stricter:
#: purer, smaller clusters).
DEFAULT_CLUSTER_THRESHOLDS: dict[str, float] = {"chinese_whispers": 0.5, "dbscan": 0.45, "agglomerative": 0.55}

IntArray = npt.NDArray[np.intp]


def _neighbours(X: npt.NDArray[np.float64], threshold: float) -> list[IntArray]:
    """For each row, the rows closer than ``threshold`` (itself included), found block by block."""
    from scipy.spatial.distance import cdist

    out: list[IntArray] = []
    for start in range(0, len(X), 1024):
        near = cdist(X[start:start + 1024], X) < threshold
        out.extend(np.flatnonzero(row).astype(np.intp) for row in near)
    return out


def chinese_whispers(embeddings: Any, distance_threshold: float = 0.5, *, max_iter: int = 100,
                     random_state: int | None = 0) -> IntArray:
    """Chinese whispers clustering of embeddings, as dlib's ``chinese_whispers_clustering``.

    Every face is a node with a self-loop and an unweighted edge to each face closer than
    ``distance_threshold``. Each node starts with its own label. In each sweep the nodes are visited in a fresh
    random order and each takes the label held by most of its neighbours (itself included; ties go to the
    smallest label, as in dlib). It stops after a sweep that changes nothing (a fixed point: later sweeps would
    change nothing either), or after ``max_iter`` sweeps -- dlib instead draws ``100 * n`` random nodes with
    replacement, which visits each node about as often.

    Args:
        embeddings: ``(n, d)`` embeddings.
        distance_threshold: faces closer than this are linked. Lower is stricter (more, purer clusters); 0.5 is
            dlib's value for its face embeddings.
        max_iter: at most this many sweeps.
        random_state: seed of the visiting order (results are reproducible for a given seed).

    Returns:
        ``(n,)`` labels ``0..k-1`` numbered from the largest cluster down (ties by first face).

    Examples:
        >>> chinese_whispers([[0.0], [0.1], [5.0], [5.1], [5.2]], 0.5).tolist()
        [1, 1, 0, 0, 0]
    """
    return _chinese_whispers(embeddings, distance_threshold, max_iter, random_state)[0]


def _chinese_whispers(embeddings: Any, distance_threshold: float, max_iter: int,
                      random_state: int | None) -> tuple[IntArray, int]:
    """:func:`chinese_whispers`, also returning the number of sweeps run."""
    X = np.asarray(embeddings, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigurationError(f"embeddings must be a 2-d array, got shape {X.shape}")
    _check_positive("distance_threshold", distance_threshold)
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ConfigurationError(f"max_iter must be a positive integer, got {max_iter!r}")
    n = len(X)
    if n == 0:
        return np.zeros(0, dtype=np.intp), 0
    neighbours = _neighbours(X, float(distance_threshold))
    labels = np.arange(n, dtype=np.intp)
    active = np.asarray([i for i in range(n) if len(neighbours[i]) > 1], dtype=np.intp)
    rng = np.random.default_rng(random_state)
    sweeps = 0
    for sweeps in range(1, int(max_iter) + 1):  # noqa: B007 (the last value is the sweep count)
        changed = False
        for i in rng.permutation(active):
            values, counts = np.unique(labels[neighbours[i]], return_counts=True)
            best = values[np.argmax(counts)]
            if best != labels[i]:
                labels[i] = best
                changed = True
        if not changed:
            break
    return _by_size(labels), max(sweeps, 1)


def _by_size(labels: npt.NDArray[Any], min_cluster_size: int = 1) -> IntArray:
    """Renumber clusters ``0..k-1`` from the largest (ties: first appearance); small clusters and -1 -> -1."""
    labels = np.asarray(labels)
    out = np.full(len(labels), -1, dtype=np.intp)
    valid = labels != -1
    if not valid.any():
        return out
    values, first, inverse, counts = np.unique(labels[valid], return_index=True, return_inverse=True,
                                               return_counts=True)
    order = np.lexsort((first, -counts))
    rank = np.empty(len(values), dtype=np.intp)
    rank[order] = np.arange(len(values))
    keep = counts >= min_cluster_size
    # renumber the kept clusters densely, in size order
    kept_rank = np.cumsum(keep[order]) - 1
    new = np.where(keep, kept_rank[rank], -1)
    out[valid] = new[inverse]
    return out


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")


def cluster_faces(embeddings: Any, *, method: str = DEFAULT_CLUSTER_METHOD, distance_threshold: float | None = None,
                  min_cluster_size: int = 1, min_samples: int = 3, random_state: int | None = 0) -> IntArray:
    """Group face embeddings by person.

    Args:
        embeddings: ``(n, 128)`` face embeddings.
        method: ``"agglomerative"`` (default), ``"chinese_whispers"`` or ``"dbscan"`` (see the module docs).
        distance_threshold: how close two faces (or groups, for agglomerative) must be to join. Lower is stricter:
            purer but more fragmented clusters. Default: :data:`DEFAULT_CLUSTER_THRESHOLDS` for the method (0.55
            for agglomerative, 0.5 for Chinese whispers, 0.45 for DBSCAN).
        min_cluster_size: clusters with fewer faces are dissolved into noise (``-1``). 1 keeps every face
            (single faces are then clusters of their own); 2-3 hides one-off faces in a photo collection.
        min_samples: DBSCAN only: neighbours (itself included) a face needs to be a core face.
        random_state: seed for Chinese whispers' visiting order.

    Returns:
        ``(n,)`` int labels: clusters ``0, 1, ...`` from the largest down, ``-1`` for noise.

    Raises:
        UnknownNameError: unknown ``method``.
        ConfigurationError: a bad threshold, size or embedding array.
    """
    if method not in CLUSTER_METHODS:
        raise UnknownNameError("clustering method", method, CLUSTER_METHODS)
    X = np.asarray(embeddings, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigurationError(f"embeddings must be a 2-d array, got shape {X.shape}")
    if isinstance(min_cluster_size, bool) or not isinstance(min_cluster_size, numbers.Integral) or \
            min_cluster_size < 1:
        raise ConfigurationError(f"min_cluster_size must be a positive integer, got {min_cluster_size!r}")
    threshold = DEFAULT_CLUSTER_THRESHOLDS[method] if distance_threshold is None else distance_threshold
    _check_positive("distance_threshold", threshold)
    if len(X) == 0:
        return np.zeros(0, dtype=np.intp)
    if method == "chinese_whispers":
        labels: npt.NDArray[Any] = chinese_whispers(X, threshold, random_state=random_state)
    elif method == "dbscan":
        from sklearn.cluster import DBSCAN

        if isinstance(min_samples, bool) or not isinstance(min_samples, numbers.Integral) or min_samples < 1:
            raise ConfigurationError(f"min_samples must be a positive integer, got {min_samples!r}")
        labels = DBSCAN(eps=float(threshold), min_samples=int(min_samples)).fit_predict(X)
    else:
        if len(X) == 1:
            labels = np.zeros(1, dtype=np.intp)
        else:
            from sklearn.cluster import AgglomerativeClustering

            labels = AgglomerativeClustering(n_clusters=None, distance_threshold=float(threshold),
                                             linkage="average").fit_predict(X)
    return _by_size(labels, int(min_cluster_size))


class ChineseWhispers(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Chinese whispers clustering (dlib's algorithm) as a scikit-learn clusterer.

    See :func:`chinese_whispers` for the algorithm.

    Parameters
    ----------
    distance_threshold : float, default=0.5
        Faces closer than this are linked. **Lower is stricter** (purer, more fragmented clusters); 0.5 is
        dlib's value for its face embeddings.
    min_cluster_size : int, default=1
        Clusters with fewer members get the noise label ``-1``.
    max_iter : int, default=100
        At most this many sweeps over the nodes.
    random_state : int or None, default=0
        Seed of the visiting order.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each sample, ``0..k-1`` from the largest; ``-1`` for noise.
    n_clusters_ : int
        Number of clusters (noise excluded).
    n_iter_ : int
        Sweeps run (the last one changed nothing, unless ``max_iter`` was reached).
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> ChineseWhispers(distance_threshold=0.5).fit_predict([[0.0], [0.1], [5.0]]).tolist()
    [0, 0, 1]
    """

    def __init__(self, distance_threshold: float = 0.5, min_cluster_size: int = 1, max_iter: int = 100,
                 random_state: int | None = 0) -> None:
        self.distance_threshold = distance_threshold
        self.min_cluster_size = min_cluster_size
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> ChineseWhispers:
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings.
        y : None
            Ignored.

        Returns
        -------
        self : ChineseWhispers
            The fitted clusterer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if isinstance(self.min_cluster_size, bool) or not isinstance(self.min_cluster_size, numbers.Integral) \
                or self.min_cluster_size < 1:
            raise ConfigurationError(f"min_cluster_size must be a positive integer, got {self.min_cluster_size!r}")
        seed = self.random_state
        if seed is not None and not isinstance(seed, numbers.Integral):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        labels, self.n_iter_ = _chinese_whispers(X, self.distance_threshold, self.max_iter, seed)
        self.labels_ = _by_size(labels, int(self.min_cluster_size))
        self.n_clusters_ = int(self.labels_.max() + 1) if len(self.labels_) else 0
        return self


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise clustering quality: over all pairs of faces, did the clustering put same-person pairs together?

    Attributes:
        precision: of the pairs put in one cluster, the fraction that are one person.
        recall: of the same-person pairs, the fraction put in one cluster.
        f1: their harmonic mean.
        noise: the fraction of faces labelled noise (``-1``); each counts as a cluster of its own.
        n_clusters: clusters found (noise excluded).
    """

    precision: float
    recall: float
    f1: float
    noise: float
    n_clusters: int


def pairwise_scores(labels_true: Any, labels_pred: Any) -> PairwiseScores:
    """Pairwise precision, recall and F1 of a clustering against the true identities.

    Predicted ``-1`` (noise) faces are treated as singletons: they are never paired.

    Examples:
        >>> s = pairwise_scores(["a", "a", "b", "b"], [0, 0, 0, 1])
        >>> round(s.precision, 3), round(s.recall, 3)
        (0.333, 0.5)
    """
    true = np.unique(np.asarray(labels_true), return_inverse=True)[1]
    pred = np.asarray(labels_pred).astype(np.int64)
    if true.shape != pred.shape:
        raise ConfigurationError(f"labels differ in length: {true.shape} and {pred.shape}")
    noise = pred == -1
    pred = pred.copy()
    pred[noise] = pred.max(initial=-1) + 1 + np.arange(int(noise.sum()))

    def pairs(counts: npt.NDArray[np.int64]) -> float:
        return float((counts * (counts - 1) // 2).sum())

    cells = np.unique(np.stack([true, pred]), axis=1, return_counts=True)[1]
    together = pairs(cells)
    predicted = pairs(np.unique(pred, return_counts=True)[1])
    actual = pairs(np.unique(true, return_counts=True)[1])
    precision = together / predicted if predicted else 1.0
    recall = together / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n_clusters = len(np.unique(np.asarray(labels_pred)[~noise])) if (~noise).any() else 0
    return PairwiseScores(precision=precision, recall=recall, f1=f1, noise=float(noise.mean()) if len(noise)
                          else 0.0, n_clusters=n_clusters)
