"""Calibration: a distance threshold for a target false-accept rate, and P(same person | distance).

From labelled embeddings (a folder-per-person directory, see :mod:`facerec.recognition.data`) every pair of
faces of one person gives a *genuine* distance, every pair of different people an *impostor* distance. Then:

* **Threshold.** Accepting a pair as "same" when ``distance <= threshold``, the false-accept rate (FAR) is the
  fraction of impostor pairs accepted, the false-reject rate (FRR) the fraction of genuine pairs refused.
  :func:`threshold_for_far` gives the largest threshold whose FAR on the calibration pairs is at most the target
  -- the least strict threshold that meets the target. Lower targets give lower (stricter) thresholds.
* **Probability.** ``P(same | distance)`` is a logistic function of the distance, fitted by Platt scaling (a
  two-parameter logistic regression on the distance). Why Platt rather than isotonic regression: the distance
  is already a good one-dimensional score whose genuine and impostor histograms overlap only in a narrow band,
  so the posterior is smooth and monotone, which a sigmoid models with two parameters; it extrapolates
  sensibly beyond the data, never gives two different distances the same probability, and needs far fewer
  genuine pairs than isotonic regression, whose step function overfits a few thousand pairs and is flat (ties)
  exactly where decisions are made. The fit weighs genuine and impostor pairs equally (a 50% prior), with
  Platt's smoothed targets so that perfectly separated data still gives finite parameters; the prior of your
  application is applied at use time (:meth:`Calibration.probability`, ``prior=``), because real pair sets
  hold far more impostors than genuine pairs.

:func:`calibrate` does both and returns a :class:`Calibration`, saved to and loaded from JSON.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.compare import Verification
from facerec.errors import ConfigurationError
from facerec.recognition.data import LabelledEmbeddings, ProgressCallback, embed_directory

__all__ = ["CALIBRATION_FORMAT", "CalibratedVerification", "Calibration", "calibrate", "fit_match_probability",
           "load_calibration", "pair_distances", "threshold_for_far"]

#: The ``format`` field of calibration JSON files.
CALIBRATION_FORMAT = "facerec-calibration"
_VERSION = 1

FloatArray = npt.NDArray[np.float64]


def _codes(labels: Any, n: int) -> npt.NDArray[np.intp]:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ConfigurationError(f"labels must have one entry per embedding ({n}), got shape {labels.shape}")
    return np.unique(labels, return_inverse=True)[1].astype(np.intp)


def pair_distances(embeddings: Any, labels: Any, *, max_impostor_pairs: int | None = 2_000_000,
                   random_state: int | None = 0) -> tuple[FloatArray, FloatArray]:
    """Genuine and impostor pair distances of labelled embeddings.

    Args:
        embeddings: ``(n, d)`` embeddings.
        labels: ``(n,)`` person labels.
        max_impostor_pairs: use every impostor pair when there are at most this many, else this many pairs drawn
            at random (uniformly over the different-person pairs, with replacement). ``None``: always all.
        random_state: seed of that draw.

    Returns:
        ``(genuine, impostor)``: the sorted Euclidean distances of every same-person pair, and of the different-
        person pairs.
    """
    X = np.asarray(embeddings, dtype=np.float64)
    if X.ndim != 2:
        raise ConfigurationError(f"embeddings must be a 2-d array, got shape {X.shape}")
    codes = _codes(labels, len(X))
    from scipy.spatial.distance import cdist, pdist

    genuine = [pdist(X[codes == c]) for c in np.unique(codes)]
    genuine_all = np.sort(np.concatenate(genuine)) if genuine else np.zeros(0)
    n = len(X)
    n_impostor = n * (n - 1) // 2 - len(genuine_all)
    if max_impostor_pairs is None or n_impostor <= max_impostor_pairs:
        blocks = []
        for start in range(0, n, 512):
            stop = min(start + 512, n)
            d = cdist(X[start:stop], X[start + 1:])
            rows = np.arange(start, stop)[:, None]
            cols = np.arange(start + 1, n)[None, :]
            keep = (cols > rows) & (codes[start:stop, None] != codes[None, start + 1:])
            blocks.append(d[keep])
        impostor = np.concatenate(blocks) if blocks else np.zeros(0)
    else:
        rng = np.random.default_rng(random_state)
        chosen: list[npt.NDArray[np.int64]] = []
        count = 0
        while count < max_impostor_pairs:
            pairs = rng.integers(0, n, size=(2 * max_impostor_pairs, 2))
            pairs = pairs[codes[pairs[:, 0]] != codes[pairs[:, 1]]][:max_impostor_pairs - count]
            chosen.append(pairs)
            count += len(pairs)
        a, b = np.concatenate(chosen).T
        impostor = np.linalg.norm(X[a] - X[b], axis=1)
    return genuine_all, np.sort(impostor)


def threshold_for_far(impostor: Any, target_far: float) -> float:
    """The largest distance threshold whose false-accept rate on ``impostor`` distances is at most ``target_far``.

    A pair is accepted when ``distance <= threshold``. With ``m`` impostor distances, at most
    ``floor(target_far * m)`` of them are accepted: the threshold lies just below the first impostor distance
    that must be refused. The result never decreases as ``target_far`` grows.

    Args:
        impostor: impostor pair distances.
        target_far: the false-accept rate to meet, ``0 < target_far < 1``.

    Examples:
        >>> round(threshold_for_far([0.5, 0.6, 0.7, 0.8], 0.25), 6)
        0.6
    """
    far = _check_far(target_far)
    d = np.sort(np.asarray(impostor, dtype=np.float64).ravel())
    if d.size == 0:
        raise ConfigurationError("no impostor pairs: calibration needs photos of at least two people")
    k = math.floor(far * d.size + 1e-9)
    if k >= d.size:
        return float(d[-1])
    return float(np.nextafter(d[k], -np.inf))


def _check_far(target_far: Any) -> float:
    if isinstance(target_far, bool) or not isinstance(target_far, numbers.Real) or not 0 < float(target_far) < 1:
        raise ConfigurationError(f"target_far must be a number between 0 and 1 (e.g. 1e-3), got {target_far!r}")
    return float(target_far)


def _sigmoid(z: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def fit_match_probability(genuine: Any, impostor: Any, *, max_iter: int = 100) -> tuple[float, float]:
    """Platt scaling: ``(slope, intercept)`` with ``P(same | d) = 1 / (1 + exp(-(intercept + slope * d)))``.

    Genuine and impostor pairs are weighted to equal total weight (the result is the posterior at a 50% prior)
    and use Platt's smoothed targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``, which keep the parameters
    finite when the two sets do not overlap. Fitted by Newton's method on the weighted log-loss.

    Raises:
        ConfigurationError: either set is empty, or genuine pairs are not closer than impostors on the whole
            (a negative slope is expected; a positive one means the labels or embeddings are wrong).
    """
    g = np.asarray(genuine, dtype=np.float64).ravel()
    m = np.asarray(impostor, dtype=np.float64).ravel()
    if g.size == 0 or m.size == 0:
        raise ConfigurationError(f"match probability needs genuine and impostor pairs, got {g.size} genuine and "
                                 f"{m.size} impostor; give at least two photos of at least one person, and two "
                                 "people")
    d = np.concatenate([g, m])
    t = np.concatenate([np.full(g.size, (g.size + 1.0) / (g.size + 2.0)), np.full(m.size, 1.0 / (m.size + 2.0))])
    w = np.concatenate([np.full(g.size, 0.5 / g.size), np.full(m.size, 0.5 / m.size)])
    # centre and scale the distance for a well-conditioned Newton step, then map back
    mu, sd = float(np.average(d, weights=w)), float(np.sqrt(np.average((d - np.average(d, weights=w)) ** 2,
                                                                         weights=w))) or 1.0
    z = (d - mu) / sd
    a, b = 0.0, 0.0  # logit = a + b * z
    for _ in range(max_iter):
        p = _sigmoid(a + b * z)
        r = w * (p - t)
        grad = np.array([r.sum(), (r * z).sum()])
        h = w * p * (1 - p)
        hess = np.array([[h.sum(), (h * z).sum()], [(h * z).sum(), (h * z * z).sum()]]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    slope = b / sd
    intercept = a - b * mu / sd
    if not slope < 0:
        raise ConfigurationError("genuine pairs are not closer than impostor pairs (the fitted slope is "
                                 f"{slope:.3g} >= 0): check that each folder holds one person")
    return float(slope), float(intercept)


@dataclass(frozen=True)
class CalibratedVerification(Verification):
    """A :class:`~facerec.compare.Verification` with a calibrated probability.

    Attributes:
        probability: calibrated ``P(same person | distance)`` at the calibration's prior; ``threshold`` is the
            calibrated distance threshold (lower is stricter).
    """

    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "probability": self.probability}


@dataclass(frozen=True)
class Calibration:
    """A calibrated decision threshold and match probability for one embedder.

    Attributes:
        threshold: distance threshold: pairs with ``distance <= threshold`` are called the same person. Lower is
            stricter. (dlib's embeddings on LFW: 0.61 at FAR 1e-2, 0.55 at 1e-3, 0.48 at 1e-4.)
        target_far: the false-accept rate the threshold was chosen for.
        far: the false-accept rate achieved on the calibration's impostor pairs (at most ``target_far``).
        frr: the false-reject rate on the calibration's genuine pairs at ``threshold``.
        slope: Platt slope (negative: farther is less likely the same person).
        intercept: Platt intercept: ``P(same | d) = sigmoid(intercept + slope * d + logit(prior))``, where
            ``logit(prior) = log(prior / (1 - prior))`` is 0 at the fitted 50% prior.
        prior: the default prior probability that a pair is the same person, used by :meth:`probability`.
        genuine_pairs: number of genuine pairs used.
        impostor_pairs: number of impostor pairs used.
        people: number of people.
        images: number of embeddings.
        embedder: the embedder the calibration is valid for, when known.
    """

    threshold: float
    target_far: float
    far: float
    frr: float
    slope: float
    intercept: float
    prior: float = 0.5
    genuine_pairs: int = 0
    impostor_pairs: int = 0
    people: int = 0
    images: int = 0
    embedder: str | None = None

    def probability(self, distance: Any, *, prior: float | None = None) -> Any:
        """Calibrated ``P(same person | distance)``.

        Args:
            distance: a distance or an array of them.
            prior: the probability that a pair is the same person before looking (default: ``self.prior``;
                0.5 weighs both answers equally).

        Returns:
            A float for a scalar ``distance``, else an array of the same shape.
        """
        prior = self.prior if prior is None else prior
        if not 0 < prior < 1:
            raise ConfigurationError(f"prior must be between 0 and 1, got {prior!r}")
        logit = self.intercept + self.slope * np.asarray(distance, dtype=np.float64) + math.log(prior / (1 - prior))
        p = _sigmoid(logit)
        return float(p) if np.ndim(p) == 0 else p

    def verify(self, a: Any, b: Any) -> CalibratedVerification:
        """Compare two embeddings with this calibration's threshold and probability."""
        va, vb = (np.asarray(v, dtype=np.float64).ravel() for v in (a, b))
        if va.shape != vb.shape:
            raise ConfigurationError(f"embeddings differ in shape: {va.shape} and {vb.shape}")
        distance = float(np.linalg.norm(va - vb))
        return CalibratedVerification(distance=distance, threshold=self.threshold,
                                      same=distance <= self.threshold, probability=self.probability(distance))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (what :meth:`save` writes)."""
        return {"format": CALIBRATION_FORMAT, "version": _VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "calibration") -> Calibration:
        """The calibration in a dictionary written by :meth:`to_dict`.

        Raises:
            ConfigurationError: it is not a facerec calibration, or a field is missing or wrong.
        """
        if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT:
            raise ConfigurationError(f"{source}: not a facerec calibration (expected \"format\": "
                                     f"\"{CALIBRATION_FORMAT}\")")
        if data.get("version") != _VERSION:
            raise ConfigurationError(f"{source}: calibration version {data.get('version')!r} is not supported "
                                     f"(this facerec reads version {_VERSION})")
        fields = {k: v for k, v in data.items() if k not in ("format", "version")}
        try:
            calibration = cls(**fields)
            floats = [calibration.threshold, calibration.target_far, calibration.far, calibration.frr,
                      calibration.slope, calibration.intercept, calibration.prior]
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in floats):
                raise TypeError("threshold, rates, slope, intercept and prior must be finite numbers")
        except TypeError as error:
            raise ConfigurationError(f"{source}: {error}") from None
        return calibration

    def save(self, path: str | Path) -> None:
        """Write the calibration as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a calibration written by :meth:`save`.

        Raises:
            ConfigurationError: the file is missing, not JSON, or not a calibration.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"{path}: no such calibration file (make one with `facerec calibrate`)") \
                from None
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"{path}: cannot read calibration: {error}") from None
        return cls.from_dict(data, source=str(path))


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration JSON file (:meth:`Calibration.load`)."""
    return Calibration.load(path)


def calibrate(data: str | Path | LabelledEmbeddings | Any, target_far: float = 1e-3, *,
              labels: Sequence[Any] | Any | None = None, prior: float = 0.5,
              max_impostor_pairs: int | None = 2_000_000, random_state: int | None = 0,
              embedder: str | None = None, min_images: int = 1,
              progress: ProgressCallback | None = None) -> Calibration:
    """Calibrate the distance threshold for ``target_far`` and the match probability from labelled faces.

    Args:
        data: a labelled data directory (one folder of photos per person; embedded with the shared analyzer,
            or one using ``embedder``), a :class:`~facerec.recognition.data.LabelledEmbeddings`, or an
            ``(n, 128)`` array of embeddings with ``labels``.
        target_far: the false-accept rate the threshold must meet on impostor pairs (1e-3 = one pair of
            different people in a thousand accepted). Lower is stricter.
        labels: the person of each embedding when ``data`` is an array.
        prior: default prior probability of "same person" stored for :meth:`Calibration.probability`.
        max_impostor_pairs: cap on impostor pairs (drawn at random beyond it; see :func:`pair_distances`).
        random_state: seed of that draw.
        embedder: the embedder to embed a directory with (default: the default embedder); recorded in the
            result.
        min_images: when embedding a directory, keep people with at least this many photos.
        progress: when embedding a directory, called as ``progress(done, total)`` after each photo.

    Returns:
        The :class:`Calibration`.

    Raises:
        ConfigurationError: bad arguments, fewer than two people, or nobody with two photos.

    Examples:
        >>> cal = calibrate("people/", target_far=1e-3)              # doctest: +SKIP
        >>> cal.verify(face_a.embedding, face_b.embedding)           # doctest: +SKIP
        CalibratedVerification(distance=0.41, threshold=0.52, same=True, probability=0.97)
    """
    far = _check_far(target_far)
    if isinstance(data, (str, Path)):
        from facerec.analyzer import DEFAULT_EMBEDDER, get_analyzer

        embedder = embedder or DEFAULT_EMBEDDER
        data = embed_directory(data, min_images=min_images, analyzer=get_analyzer(embedder=embedder),
                               progress=progress)
    if isinstance(data, LabelledEmbeddings):
        embeddings, labels = data.embeddings, data.labels
    else:
        if labels is None:
            raise ConfigurationError("labels are needed when calibrating from an array of embeddings")
        embeddings = np.asarray(data)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    people = len(np.unique(labels)) if len(labels) else 0
    if people < 2:
        raise ConfigurationError(f"calibration needs photos of at least two people, got {people}")
    genuine, impostor = pair_distances(embeddings, labels, max_impostor_pairs=max_impostor_pairs,
                                       random_state=random_state)
    if genuine.size == 0:
        raise ConfigurationError("calibration needs at least one person with two or more photos (genuine pairs)")
    threshold = threshold_for_far(impostor, far)
    slope, intercept = fit_match_probability(genuine, impostor)
    return Calibration(
        threshold=threshold, target_far=far,
        far=float(np.searchsorted(impostor, threshold, side="right") / impostor.size),
        frr=float(1.0 - np.searchsorted(genuine, threshold, side="right") / genuine.size),
        slope=slope, intercept=intercept, prior=float(prior), genuine_pairs=int(genuine.size),
        impostor_pairs=int(impostor.size), people=people, images=len(labels), embedder=embedder)
