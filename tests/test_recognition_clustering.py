"""Clustering: Chinese whispers on obvious graphs, min cluster size, methods, pairwise scores, LFW identities."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import facerec
from facerec.errors import ConfigurationError, UnknownNameError
from facerec.recognition import (
    CLUSTER_METHODS,
    ChineseWhispers,
    chinese_whispers,
    cluster_faces,
    pairwise_scores,
)
from facerec.recognition import clustering as clustering_module


# check_clustering fits standardized blobs: a link threshold of 1.0 suits them (0.5 suits face embeddings).
@parametrize_with_checks([ChineseWhispers(distance_threshold=1.0)])  # type: ignore[untyped-decorator]
def test_chinese_whispers_passes_sklearn_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def groups(sizes: list[int], gap: float = 10.0, spread: float = 0.05, seed: int = 0) -> np.ndarray:
    """Points in tight groups far apart, in the order of ``sizes``."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.eye(8)[i] * gap + rng.normal(0, spread, size=(n, 8)) for i, n in enumerate(sizes)])


def test_chinese_whispers_finds_separated_groups_largest_first() -> None:
    X = groups([3, 5, 2])
    labels = chinese_whispers(X, 0.5)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 2, 2]


def test_chinese_whispers_does_not_chain_like_single_linkage() -> None:
    # two dense groups joined by one bridge face: each group's members follow their majority
    a = groups([6], spread=0.02, seed=1)
    b = a + np.array([1.2] + [0.0] * 7)
    bridge = (a.mean(axis=0) + b.mean(axis=0)) / 2
    X = np.vstack([a, b, bridge])
    labels = chinese_whispers(X, 0.7, random_state=3)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:12])) == 1 and labels[0] != labels[6]
    dbscan_like = cluster_faces(X, method="dbscan", distance_threshold=0.7, min_samples=1)
    assert len(set(dbscan_like)) == 1  # single-linkage chaining merges both groups through the bridge


def test_chinese_whispers_is_seeded_and_reproducible() -> None:
    X = groups([4, 4, 4], gap=0.6, spread=0.2, seed=2)
    first = chinese_whispers(X, 0.55, random_state=7)
    assert (chinese_whispers(X, 0.55, random_state=7) == first).all()


def test_isolated_faces_keep_their_own_cluster() -> None:
    X = np.eye(4) * 5
    assert sorted(chinese_whispers(X, 0.5).tolist()) == [0, 1, 2, 3]
    assert chinese_whispers(np.zeros((0, 128))).shape == (0,)


def test_min_cluster_size_turns_small_clusters_into_noise() -> None:
    X = groups([4, 1, 3, 2])
    assert cluster_faces(X, min_cluster_size=3).tolist() == [0] * 4 + [-1] + [1] * 3 + [-1] * 2
    assert cluster_faces(X, min_cluster_size=1).max() == 3


@pytest.mark.parametrize("method", CLUSTER_METHODS)
def test_every_method_recovers_obvious_groups(method: str) -> None:
    X = groups([5, 4, 3])
    labels = cluster_faces(X, method=method, distance_threshold=0.5, min_samples=2)
    assert labels.tolist() == [0] * 5 + [1] * 4 + [2] * 3


def test_cluster_faces_refuses_bad_options() -> None:
    X = groups([2])
    with pytest.raises(UnknownNameError, match="Did you mean 'dbscan'"):
        cluster_faces(X, method="dbscn")
    with pytest.raises(ConfigurationError, match="min_cluster_size"):
        cluster_faces(X, min_cluster_size=0)
    with pytest.raises(ConfigurationError, match="distance_threshold"):
        cluster_faces(X, distance_threshold=-0.5)
    with pytest.raises(ConfigurationError, match="2-d"):
        cluster_faces(np.zeros(128))


def test_pairwise_scores_by_hand() -> None:
    perfect = pairwise_scores(["a", "a", "b"], [5, 5, 7])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.n_clusters) == (1.0, 1.0, 1.0, 2)
    merged = pairwise_scores(["a", "a", "b", "b"], [0, 0, 0, 0])  # 6 pairs predicted, 2 right
    assert merged.precision == pytest.approx(2 / 6) and merged.recall == 1.0
    noisy = pairwise_scores(["a", "a", "a"], [0, 0, -1])  # noise is never paired
    assert noisy.precision == 1.0 and noisy.recall == pytest.approx(1 / 3) and noisy.noise == pytest.approx(1 / 3)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(clustering_module)
    assert result.failed == 0 and result.attempted >= 3


@pytest.fixture(scope="module")
def lfw_faces(shared_data: Path) -> tuple[np.ndarray, list[str]]:
    """4 LFW people x 5 photos, embedded through the pipeline (the face nearest the centre of each photo)."""
    root = shared_data / "lfw" / "images"
    vectors, names = [], []
    for name in ["Ariel_Sharon", "Colin_Powell", "Hugo_Chavez", "Tony_Blair"]:
        for photo in sorted((root / name).glob("*.jpg"))[:5]:
            faces = facerec.embed_faces(photo)
            face = facerec.pick_face(faces, (250, 250), "central")
            assert face is not None and face.embedding is not None
            vectors.append(face.embedding)
            names.append(name)
    return np.stack(vectors), names


@pytest.mark.shared_data
@pytest.mark.parametrize("method", CLUSTER_METHODS)
def test_lfw_people_are_recovered(method: str, lfw_faces: tuple[np.ndarray, list[str]]) -> None:
    X, names = lfw_faces
    labels = cluster_faces(X, method=method, min_samples=2)
    assert adjusted_rand_score(names, labels) > 0.8
    scores = pairwise_scores(names, labels)
    assert scores.precision > 0.9 and scores.recall > 0.7
