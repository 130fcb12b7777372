"""Face-like synthetic embeddings for tests and benchmarks of gallery search.

Random unit vectors are a poor stand-in for face embeddings: they are all about equally far apart, which makes
approximate indexes look worse than they are on faces. Real galleries hold *identities* with several samples
each, and a query lies near one identity's samples. :func:`face_like_embeddings` draws such data: identity
centres on the unit sphere, spread within a cone (faces share much of their embedding), and samples scattered
around their centre so that two samples of one identity have a chosen cosine similarity (0.69 by default, as
measured for dlib's embeddings on face-like data in ENVIRONMENT.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["face_like_embeddings", "face_like_queries"]


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
    labels = np.repeat(np.arange(identities, dtype=np.int64), samples_per_identity)
    scale = _noise_scale(dim, cos_same)
    vectors = np.empty((len(labels), dim), dtype=np.float32)
    block = 100_000
    for start in range(0, len(labels), block):
        part = labels[start:start + block]
        vectors[start:start + block] = _unit(centres[part] + rng.normal(scale=scale, size=(len(part), dim)))
    return vectors, labels, centres.astype(np.float32)


def face_like_queries(centres: npt.NDArray[np.float32], count: int, *, cos_same: float = 0.69,
                      seed: int = 1) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``count`` new samples of random identities of ``centres`` (not in the gallery) and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(centres), size=count).astype(np.int64)
    scale = _noise_scale(centres.shape[1], cos_same)
    queries = _unit(centres[labels].astype(np.float64) + rng.normal(scale=scale, size=(count, centres.shape[1])))
    return queries.astype(np.float32), labels
