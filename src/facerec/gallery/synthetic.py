"""Face-like synthetic embeddings for tests and benchmarks of gallery search.

Random unit vectors are a poor stand-in for face embeddings: they are all about equally far apart, which makes
approximate indexes look worse than they are on faces. Real galleries hold *identities* with several samples
each, and a query lies near one identity's samples. :func:`face_like_embeddings` draws such data: identity
centres on the unit sphere, spread within a cone (faces share much of their embedding), and samples scattered
around their centre so that two samples of one identity have a chosen cosine similarity (0.69 by default, as
measured for dlib's embeddings on face-like data in ENVIRONMENT.md).

That isotropic noise is harder for approximate search than real embeddings are: it spreads every person's samples
over all 128 directions. :class:`GaussianFaceModel` is the realistic alternative, a two-covariance Gaussian model
fitted to real embeddings (the search benchmark fits it to dlib's embeddings of LFW).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["GaussianFaceModel", "face_like_embeddings", "face_like_queries"]


def _unit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def _noise_scale(dim: int, cos_same: float) -> float:
    # two samples c+n1, c+n2 of a unit centre c with n ~ N(0, s^2 I): cos ~ 1 / (1 + dim * s^2)
    return float(np.sqrt((1.0 / cos_same - 1.0) / dim))


def face_like_embeddings(identities: int, samples_per_identity: int, *, dim: int = 128, cos_same: float = 0.69,
                         spread: float = 1.0, seed: int = 0
                         ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Clustered embeddings: ``identities`` centres with ``samples_per_identity`` samples each.

    Args:
        identities: how many people.
        samples_per_identity: samples per person.
        dim: embedding length.
        cos_same: the expected cosine similarity of two samples of one person (higher is tighter clusters).
        spread: how far identity centres spread around a common direction (smaller puts people closer together
            and makes search harder).
        seed: random seed.

    Returns:
        ``(vectors, labels, centres)``: ``(identities * samples_per_identity, dim)`` float32 unit vectors, their
        int64 identity labels, and the ``(identities, dim)`` centres.
    """
    rng = np.random.default_rng(seed)
    common = _unit(rng.normal(size=dim))
    centres = _unit(common + spread * _unit(rng.normal(size=(identities, dim))))
    scale = _noise_scale(dim, cos_same)
    vectors, labels = _around(centres, samples_per_identity,
                              lambda part: _unit(centres[part] + rng.normal(scale=scale, size=(len(part), dim))))
    return vectors, labels, centres.astype(np.float32)


def _around(centres: npt.NDArray[np.float64], samples_per_identity: int,
            draw: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]]
            ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``samples_per_identity`` samples of each centre, ``draw(labels)`` giving a block of 100,000 at a time."""
    labels = np.repeat(np.arange(len(centres), dtype=np.int64), samples_per_identity)
    vectors = np.empty((len(labels), centres.shape[1]), dtype=np.float32)
    block = 100_000
    for start in range(0, len(labels), block):
        vectors[start:start + block] = draw(labels[start:start + block])
    return vectors, labels


def face_like_queries(centres: npt.NDArray[np.float32], count: int, *, cos_same: float = 0.69,
                      seed: int = 1) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``count`` new samples of random identities of ``centres`` (not in the gallery) and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(centres), size=count).astype(np.int64)
    scale = _noise_scale(centres.shape[1], cos_same)
    queries = _unit(centres[labels].astype(np.float64) + rng.normal(scale=scale, size=(count, centres.shape[1])))
    return queries.astype(np.float32), labels


@dataclass(frozen=True)
class GaussianFaceModel:
    """A two-covariance (PLDA-style) Gaussian model of face embeddings, fitted to real ones.

    An identity's centre is drawn from ``N(mean, between)`` and each of its samples from ``N(centre, within)``.
    Fitted to dlib's embeddings of LFW (``benchmarks/search_bench.py --data lfw``), it reproduces what matters for
    search: same-person distances of about 0.4, the spectrum of both covariances (dlib's embeddings vary in far
    fewer than 128 directions, which the isotropic :func:`face_like_embeddings` does not capture) and the norms.

    Attributes:
        mean: ``(dim,)`` mean embedding.
        between: ``(dim, dim)`` factor ``B`` with ``B @ B.T`` the covariance of identity centres.
        within: ``(dim, dim)`` factor ``W`` with ``W @ W.T`` the covariance of samples around their centre.
    """

    mean: npt.NDArray[np.float64]
    between: npt.NDArray[np.float64]
    within: npt.NDArray[np.float64]

    @classmethod
    def fit(cls, embeddings: npt.ArrayLike, labels: npt.ArrayLike) -> GaussianFaceModel:
        """Fit to labelled embeddings (people with two or more samples give the within-person covariance).

        The covariance of the per-person sample means overestimates the between-person covariance by the
        within-person covariance over each person's sample count; that part is subtracted.
        """
        X = np.asarray(embeddings, dtype=np.float64)
        y = np.asarray(labels)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError("embeddings must be (n, dim) with one label per row")
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        if (counts >= 2).sum() < 2:
            raise ValueError("need at least two people with two or more samples each")
        means = np.zeros((len(counts), X.shape[1]))
        np.add.at(means, inverse, X)
        means /= counts[:, None]
        repeated = counts[inverse] >= 2
        residual = X[repeated] - means[inverse][repeated]
        within = residual.T @ residual / (repeated.sum() - (counts >= 2).sum())
        centred = means - X.mean(axis=0)
        between = centred.T @ centred / len(counts) - within * float(np.mean(1.0 / counts))
        return cls(mean=X.mean(axis=0), between=_psd_factor(between), within=_psd_factor(within))

    def sample(self, identities: int, samples_per_identity: int, *, seed: int = 0
               ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """``(vectors, labels, centres)`` as :func:`face_like_embeddings` returns them."""
        rng = np.random.default_rng(seed)
        dim = len(self.mean)
        centres = self.mean + rng.standard_normal((identities, dim)) @ self.between.T
        vectors, labels = _around(centres, samples_per_identity,
                                  lambda part: centres[part] + rng.standard_normal((len(part), dim)) @ self.within.T)
        return vectors, labels, centres.astype(np.float32)

    def queries(self, centres: npt.NDArray[np.float32], count: int, *, seed: int = 1
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """``count`` new samples of random identities of ``centres`` and their labels."""
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, len(centres), size=count).astype(np.int64)
        noise = rng.standard_normal((count, centres.shape[1])) @ self.within.T
        return (centres[labels].astype(np.float64) + noise).astype(np.float32), labels


def _psd_factor(cov: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``F`` with ``F @ F.T`` equal to ``cov`` with its negative eigenvalues (estimation noise) set to zero."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2.0)
    out: npt.NDArray[np.float64] = vectors * np.sqrt(np.clip(values, 0.0, None))
    return out
