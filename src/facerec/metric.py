"""A learned comparison of dlib's embeddings: a linear map fitted on labelled faces, then Euclidean distance.

:class:`LearnedMetric` fits, on embeddings of known people, a linear map ``P`` (within-person whitening, optionally
followed by a Fisher discriminant rotation with each direction weighted by how well it separates people) and
compares two faces by the Euclidean distance of ``P (x - mean) * scale`` (optionally scaled to unit length first).

**Measured on LFW, it does not beat dlib's own Euclidean distance** (docs/BENCHMARKS.md, "Learned comparison"): the
face ResNet was already trained as a metric on millions of faces, and the best linear maps fitted on LFW's other
folds tie with it (98.95% against 98.95%), while unit-length variants lose up to 1.3 points. So facerec compares
with Euclidean distance by default; ``comparison="learned"`` (``--comparison learned``) uses the map fitted on all
of LFW that ships with facerec, and :meth:`LearnedMetric.fit` fits one on your own labelled faces (the case where a
learned comparison can pay: a population unlike dlib's training data). Because the map is applied to
each embedding on its own, a gallery keeps its raw embeddings and still searches with plain Euclidean distance on
the mapped vectors. ``scale`` is chosen so that, on the fitting data, a threshold of 0.6 accepts as many pairs of
different people as Euclidean distance does at 0.6: thresholds keep their strictness (lower is stricter), and the
learned comparison turns the gain into fewer false rejects.

facerec ships one map fitted on every photo of LFW (``models/data/lfw_lda.npz``: LDA, shrinkage 1, not unit length);
:func:`default_metric` loads it.

Examples:
    >>> rng = np.random.default_rng(0)
    >>> centres = rng.normal(size=(20, 128))
    >>> X = np.repeat(centres, 5, axis=0) + 0.3 * rng.normal(size=(100, 128))
    >>> y = np.repeat(np.arange(20), 5)
    >>> metric = LearnedMetric(dims=16).fit(X, y)
    >>> metric.transform(X[:2]).shape
    (2, 16)
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError, FacerecError

__all__ = ["COMPARISONS", "DEFAULT_COMPARISON", "DEFAULT_METRIC_FILE", "Comparison", "LearnedMetric", "MetricMethod",
           "MetricMismatchError", "comparison_name", "default_metric", "metric_distance", "resolve_comparison"]

#: The map shipped with facerec (inside the package, under ``facerec/models/data``).
DEFAULT_METRIC_FILE = "lfw_lda.npz"

MetricMethod = Literal["lda", "wccn", "whiten"]

#: How two embeddings are compared: ``"euclidean"`` (dlib's own comparison, the default: nothing learned beat it on
#: LFW), ``"learned"`` (the shipped map; an error for another embedding model) or ``"auto"`` (the shipped map when it
#: was fitted for the embedding model in use, else Euclidean).
Comparison = Literal["auto", "learned", "euclidean"]
COMPARISONS: tuple[str, ...] = ("auto", "learned", "euclidean")
DEFAULT_COMPARISON: Comparison = "euclidean"


class MetricMismatchError(FacerecError, ValueError):
    """A learned comparison was fitted on another embedding model than the one it is applied to."""


def _inverse_sqrt(cov: npt.NDArray[np.float64], shrinkage: float) -> npt.NDArray[np.float64]:
    """``(cov + shrinkage * mean_eigenvalue * I) ** -1/2`` (symmetric)."""
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 0.0) + shrinkage * max(float(values.mean()), 1e-12)
    out: npt.NDArray[np.float64] = (vectors / np.sqrt(values)) @ vectors.T
    return out


def _best_threshold(same: npt.NDArray[np.float64], different: npt.NDArray[np.float64]) -> float:
    """The distance threshold with the most right answers over the two sets of pair distances."""
    values = np.concatenate([same, different])
    labels = np.concatenate([np.ones(len(same)), np.zeros(len(different))])
    order = np.argsort(values, kind="stable")
    values, labels = values[order], labels[order]
    # accepting the first i pairs (distance <= values[i - 1]): right = same among them + different after them
    accepted_same = np.concatenate([[0.0], np.cumsum(labels)])
    right = accepted_same + (len(different) - np.concatenate([[0.0], np.cumsum(1 - labels)]))
    best = int(np.argmax(right))
    if best == 0:
        return float(values[0]) * 0.5
    if best == len(values):
        return float(values[-1])
    return float(0.5 * (values[best - 1] + values[best]))


class LearnedMetric:
    """A linear map of embeddings fitted on labelled faces; compare mapped faces with Euclidean distance.

    scikit-learn's estimator conventions: ``__init__`` stores the options, :meth:`fit` learns the ``*_`` state.

    Args:
        method: ``"lda"`` (default): whiten the within-person scatter, then rotate to the Fisher discriminant
            directions and weight each by ``sqrt(between / (between + within))`` (the two-covariance PLDA's
            weighting); ``"wccn"``: within-person whitening only; ``"whiten"``: whiten the total scatter (no
            labels used beyond the mean; the weakest).
        dims: directions kept (at most 128; ``None`` keeps all). Fewer is smoother, not faster in practice.
        shrinkage: ridge added to the within-person covariance, as a fraction of its mean eigenvalue (1, the
            default, was the best on LFW; 0.05 lost 0.2 points).
        normalize: scale each mapped vector to unit length (a cosine comparison). Off by default: on dlib's
            embeddings it lost 0.5-1.3 points on LFW.

    Attributes:
        mean_: ``(128,)`` the mean embedding of the fitting data.
        projection_: ``(128, dims)`` the map (applied as ``(x - mean_) @ projection_``).
        scale_: the factor applied last: on the fitting data, the learned distance has at 0.6 the false-accept
            rate (``info_["far_at_threshold"]``) that Euclidean distance has at 0.6.
        info_: what it was fitted on (``model_id``, counts, free text), stored with the map.
    """

    def __init__(self, method: MetricMethod = "lda", *, dims: int | None = None, shrinkage: float = 1.0,
                 normalize: bool = False) -> None:
        self.method = method
        self.dims = dims
        self.shrinkage = shrinkage
        self.normalize = normalize

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, model_id: str = "", note: str = "") -> LearnedMetric:
        """Fit the map on embeddings ``X`` (``(n, 128)``) of people ``y`` (``(n,)`` labels).

        People with a single photo add to the mean and the between-person scatter only.

        Raises:
            ConfigurationError: bad shapes, an unknown method, or fewer than two people with two photos each.
        """
        if self.method not in ("lda", "wccn", "whiten"):
            raise ConfigurationError(f"method must be 'lda', 'wccn' or 'whiten', got {self.method!r}")
        X64 = np.asarray(X, dtype=np.float64)
        labels = np.asarray(y)
        if X64.ndim != 2 or len(X64) != len(labels) or len(X64) < 3:
            raise ConfigurationError(f"X must be (n, d) with one label per row, got {X64.shape} and {labels.shape}")
        d = X64.shape[1]
        dims = d if self.dims is None else int(self.dims)
        if not 1 <= dims <= d:
            raise ConfigurationError(f"dims must be between 1 and {d}, got {self.dims}")
        mean = X64.mean(axis=0)
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        multi = counts[inverse] >= 2
        if int((counts >= 2).sum()) < 2:
            raise ConfigurationError("fitting needs at least two people with two or more photos each")
        sums = np.zeros((len(counts), d))
        np.add.at(sums, inverse, X64)
        centres = sums / counts[:, None]
        within = X64[multi] - centres[inverse[multi]]
        s_within = within.T @ within / max(len(within) - int((counts >= 2).sum()), 1)
        if self.method == "whiten":
            centred = X64 - mean
            projection = _inverse_sqrt(centred.T @ centred / len(centred), self.shrinkage)[:, :dims]
        else:
            w = _inverse_sqrt(s_within, self.shrinkage)
            if self.method == "wccn":
                projection = w[:, :dims]
            else:
                between = (centres - mean) @ w
                weights = counts.astype(np.float64)
                s_between = (between * weights[:, None]).T @ between / weights.sum()
                values, vectors = np.linalg.eigh(s_between)
                order = np.argsort(values)[::-1][:dims]
                values, vectors = np.maximum(values[order], 0.0), vectors[:, order]
                # in the whitened space within = I: weight each direction by its between / (between + within)
                projection = w @ vectors * np.sqrt(values / (values + 1.0))
        self.mean_ = mean.astype(np.float32)
        self.projection_ = projection.astype(np.float32)
        self.scale_ = 1.0
        self.scale_, far = self._fitted_scale(X64, inverse)
        self.info_: dict[str, Any] = {
                      "threshold": DEFAULT_DISTANCE_THRESHOLD, "far_at_threshold": far, "method": self.method,
                      "dims": dims, "shrinkage": self.shrinkage,
                      "normalize": self.normalize, "model_id": model_id, "n_embeddings": len(X64),
                      "n_people": len(counts), "n_people_with_two_or_more": int((counts >= 2).sum()),
                      "note": note}
        return self

    def _fitted_scale(self, X: npt.NDArray[np.float64], inverse: npt.NDArray[np.intp]) -> tuple[float, float]:
        """The factor that gives the learned distance, at 0.6, the false-accept rate Euclidean distance has at 0.6
        on pairs of different people of the fitting data (so a threshold keeps its strictness), and that rate.

        When no pair of different people is within 0.6 (data unlike dlib's), the factor puts the fitting data's
        most accurate threshold at 0.6 instead.
        """
        rng = np.random.default_rng(0)
        Z = self.transform(X).astype(np.float64)
        a, b = rng.integers(0, len(X), 60_000), rng.integers(0, len(X), 60_000)
        keep = inverse[a] != inverse[b]
        a, b = a[keep], b[keep]
        raw = np.linalg.norm(X[a] - X[b], axis=1)
        learned = np.linalg.norm(Z[a] - Z[b], axis=1)
        far = float(np.mean(raw <= DEFAULT_DISTANCE_THRESHOLD))
        if far > 0:
            return DEFAULT_DISTANCE_THRESHOLD / max(float(np.quantile(learned, far)), 1e-9), far
        order = np.argsort(inverse, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)
        same = np.array([(g[i], g[j]) for g in groups if len(g) >= 2
                         for i, j in zip(*np.triu_indices(min(len(g), 6), 1))]).reshape(-1, 2)
        d_same = np.linalg.norm(Z[same[:, 0]] - Z[same[:, 1]], axis=1)
        return DEFAULT_DISTANCE_THRESHOLD / max(_best_threshold(d_same, learned), 1e-9), 0.0

    # -- using -----------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "projection_"):
            raise ConfigurationError("this LearnedMetric is not fitted yet; call fit(X, y) or LearnedMetric.load")

    @property
    def model_id(self) -> str:
        """The embedding model the map was fitted for (``""`` when not recorded)."""
        self._check_fitted()
        return str(self.info_.get("model_id", ""))

    def check_model(self, model_id: str) -> None:
        """Raise :class:`MetricMismatchError` if the map was fitted on another embedding model than ``model_id``."""
        mine = self.model_id
        if mine and model_id and mine != model_id:
            raise MetricMismatchError(f"the learned comparison was fitted on embeddings of model {mine!r}, not "
                                      f"{model_id!r}; compare with plain Euclidean distance instead "
                                      "(--comparison euclidean)")

    def transform(self, X: Any) -> npt.NDArray[np.float32]:
        """Map embeddings (``(n, 128)`` or one ``(128,)``) into the learned space; compare them with Euclidean
        distance (0.6 is the usual same-person threshold there too)."""
        self._check_fitted()
        arr = np.asarray(X, dtype=np.float32)
        one = arr.ndim == 1
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.mean_.shape[0]:
            raise ConfigurationError(f"embeddings must be {self.mean_.shape[0]}-d, got shape {np.shape(X)}")
        arr = arr.reshape(-1, self.mean_.shape[0])
        Z = (arr - self.mean_) @ self.projection_
        if self.normalize:
            Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
        Z *= np.float32(self.scale_)
        out: npt.NDArray[np.float32] = Z[0] if one else Z
        return out

    def distance(self, a: Any, b: Any) -> npt.NDArray[np.float32]:
        """Learned distances between rows of ``a`` and ``b`` (broadcast like ``a - b``); lower is more alike."""
        out: npt.NDArray[np.float32] = np.linalg.norm(self.transform(a) - self.transform(b), axis=-1)
        return out

    # -- files -----------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted map to an ``.npz`` file (mean, projection, scale, and the fitting info as JSON)."""
        self._check_fitted()
        np.savez_compressed(path, mean=self.mean_, projection=self.projection_,
                            scale=np.float64(self.scale_), info=np.array(json.dumps(self.info_)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LearnedMetric:
        """Read a map written by :meth:`save`.

        Raises:
            ConfigurationError: the file is missing or is not such a map.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                mean, projection = data["mean"], data["projection"]
                scale, info = float(data["scale"]), json.loads(str(data["info"]))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigurationError(f"{path} is not a learned comparison file: {exc}") from exc
        if mean.ndim != 1 or projection.ndim != 2 or projection.shape[0] != mean.shape[0]:
            raise ConfigurationError(f"{path}: mean {mean.shape} and projection {projection.shape} do not fit")
        metric = cls(info.get("method", "lda"), dims=int(projection.shape[1]),
                     shrinkage=float(info.get("shrinkage", 1.0)), normalize=bool(info.get("normalize", False)))
        metric.mean_, metric.projection_ = mean.astype(np.float32), projection.astype(np.float32)
        metric.scale_, metric.info_ = scale, info
        return metric


@lru_cache(maxsize=1)
def _packaged() -> LearnedMetric:
    with resources.as_file(resources.files("facerec.models") / "data" / DEFAULT_METRIC_FILE) as path:
        return LearnedMetric.load(Path(path))


def default_metric() -> LearnedMetric:
    """The learned comparison shipped with facerec (fitted on all of LFW; loaded once)."""
    return _packaged()


def metric_distance(a: Any, b: Any, metric: LearnedMetric | None) -> npt.NDArray[np.float32]:
    """Distances between rows of ``a`` and ``b``: learned when ``metric`` is given, else plain Euclidean."""
    if metric is None:
        diff = np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)
        out: npt.NDArray[np.float32] = np.linalg.norm(diff, axis=-1)
        return out
    return metric.distance(a, b)


def resolve_comparison(comparison: Comparison | LearnedMetric | None, model_id: str) -> LearnedMetric | None:
    """The learned map to compare embeddings of model ``model_id`` with, or ``None`` for Euclidean distance.

    Args:
        comparison: ``"auto"``, ``"learned"``, ``"euclidean"`` (see :data:`Comparison`), a fitted
            :class:`LearnedMetric`, or ``None`` (Euclidean).
        model_id: the embedding model's id (:func:`facerec.gallery.base.model_id_for`).

    Raises:
        MetricMismatchError: ``"learned"`` or a given map fitted on another model.
        ConfigurationError: an unknown ``comparison``.
    """
    if comparison is None or comparison == "euclidean":
        return None
    if isinstance(comparison, LearnedMetric):
        comparison.check_model(model_id)
        return comparison
    if comparison not in ("auto", "learned"):
        raise ConfigurationError(f"comparison must be one of {', '.join(COMPARISONS)}, got {comparison!r}")
    metric = default_metric()
    if comparison == "auto":
        return metric if not metric.model_id or metric.model_id == model_id else None
    metric.check_model(model_id)
    return metric


def comparison_name(metric: LearnedMetric | None) -> str:
    """``"euclidean"`` or ``"learned (<method>, fitted on ...)"``, for reports."""
    if metric is None:
        return "euclidean"
    return f"learned ({metric.info_.get('method', '?')}, {metric.info_.get('n_embeddings', '?')} embeddings)"
