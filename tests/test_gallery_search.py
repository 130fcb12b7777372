"""Nearest-person search: exact search against brute force, and HNSW recall@1 against exact on face-like data."""

from __future__ import annotations

import numpy as np
import pytest

from facerec.gallery import NewSample, SQLiteGallery
from facerec.gallery.search import DEFAULT_EF, ExactSearch, GallerySearcher, HnswSearch, hnswlib_available
from facerec.gallery.synthetic import face_like_embeddings, face_like_queries

needs_hnswlib = pytest.mark.skipif(not hnswlib_available(), reason="hnswlib not installed: pip install '.[gallery]'")


def _brute_force(vectors: np.ndarray, labels: np.ndarray, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
    dist = np.linalg.norm(vectors - query, axis=1)
    best: dict[int, float] = {}
    for label, d in zip(labels.tolist(), dist.tolist()):
        best[label] = min(d, best.get(label, np.inf))
    return sorted(best.items(), key=lambda kv: kv[1])[:top_k]


def test_exact_search_matches_brute_force_per_person_minimum() -> None:
    # people with many samples each, so the k-th person can sit far down the sample ranking
    vectors, labels, centres = face_like_embeddings(40, 25, seed=5, spread=0.6)
    queries, _ = face_like_queries(centres, 30, seed=6)
    search = ExactSearch(np.arange(len(labels)) + 1, labels, vectors)
    for query, ranked in zip(queries, search.search(queries, top_k=5)):
        expected = _brute_force(vectors, labels, query, 5)
        assert [pid for _, pid, _ in ranked] == [label for label, _ in expected]
        np.testing.assert_allclose([d for _, _, d in ranked], [d for _, d in expected], rtol=1e-5)
        for sid, pid, dist in ranked:  # the reported sample is the person's nearest one
            assert labels[sid - 1] == pid
            assert np.linalg.norm(vectors[sid - 1] - query) == pytest.approx(dist, rel=1e-5)


def test_exact_search_handles_empty_and_tiny_galleries() -> None:
    empty = ExactSearch(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 128), np.float32))
    assert empty.search(np.zeros((2, 128), np.float32), top_k=3) == [[], []]
    one = ExactSearch(np.array([7]), np.array([1]), np.ones((1, 128), np.float32))
    assert one.search(np.ones((1, 128), np.float32), top_k=3) == [[(7, 1, 0.0)]]


@needs_hnswlib
def test_hnsw_recall_at_1_against_exact_on_face_like_data() -> None:
    vectors, labels, centres = face_like_embeddings(2000, 3, seed=11, spread=0.8)
    queries, truth = face_like_queries(centres, 500, seed=12)
    ids = np.arange(len(labels), dtype=np.int64) + 1
    exact = ExactSearch(ids, labels, vectors).search(queries, top_k=1)
    index = HnswSearch(ef=DEFAULT_EF)
    index.add(ids, labels, vectors)
    approx = index.search(queries, top_k=1)
    recall = np.mean([a[0][1] == e[0][1] for a, e in zip(approx, exact)])
    assert recall >= 0.99, f"HNSW recall@1 {recall:.3f} at ef={DEFAULT_EF}"
    # the data is not trivial: exact search itself misses some identities
    accuracy = np.mean([e[0][1] == t for e, t in zip(exact, truth)])
    assert 0.5 < accuracy < 1.0


@needs_hnswlib
def test_hnsw_index_follows_additions_removals_and_merges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(50, 4, seed=2)
    searcher = GallerySearcher(method="hnsw")
    with SQLiteGallery(tmp_path / "g.sqlite") as gallery:
        gallery._searcher = searcher
        for person in range(50):
            gallery.add_person(f"p{person}")
        for person in range(40):
            gallery.add_samples(f"p{person}", [NewSample(v) for v in vectors[labels == person]], model_id="m")
        assert gallery.search(vectors[0], model_id="m", top_k=1)[0][0].name == "p0"
        assert searcher.engine_name == "hnsw"
        for person in range(40, 50):  # new samples are added to the index, not rebuilt
            gallery.add_samples(f"p{person}", [NewSample(v) for v in vectors[labels == person]], model_id="m")
        engine = searcher._engine
        assert gallery.search(vectors[labels == 45][0], model_id="m", top_k=1)[0][0].name == "p45"
        assert searcher._engine is engine
        gallery.remove_person("p45")
        assert gallery.search(vectors[labels == 45][0], model_id="m", top_k=1)[0][0].name != "p45"
        gallery.merge_people("p46", "p47")
        top = gallery.search(vectors[labels == 46][0], model_id="m", top_k=1)[0][0]
        assert top.name == "p47" and top.distance == pytest.approx(0.0, abs=1e-5)
        assert searcher._engine is engine


def test_gallery_searcher_auto_switches_to_hnsw_above_the_cut_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, _, _ = face_like_embeddings(10, 3, seed=4)
    searcher = GallerySearcher(method="auto", ann_min_samples=20)
    with SQLiteGallery(tmp_path / "g.sqlite") as gallery:
        gallery._searcher = searcher
        gallery.add_person("a")
        gallery.add_samples("a", [NewSample(v) for v in vectors[:10]], model_id="m")
        gallery.search(vectors[0], model_id="m")
        assert searcher.engine_name == "exact"
        gallery.add_samples("a", [NewSample(v) for v in vectors[10:]], model_id="m")
        gallery.search(vectors[0], model_id="m")
        assert searcher.engine_name == ("hnsw" if hnswlib_available() else "exact")
