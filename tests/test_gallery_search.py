"""Nearest-person search: exact search against brute force, and HNSW recall@1 against exact on face-like data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facerec.gallery import NewSample, SQLiteGallery
from facerec.gallery.search import DEFAULT_EF, ExactSearch, GallerySearcher, HnswSearch, hnswlib_available
from facerec.gallery.synthetic import GaussianFaceModel, face_like_embeddings, face_like_queries

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


def _enroll(gallery: SQLiteGallery, vectors: np.ndarray, labels: np.ndarray, people: range) -> None:
    for person in people:
        gallery.add_samples(f"p{person}", [NewSample(v) for v in vectors[labels == person]], model_id="m",
                            create_person=True)


def _use_hnsw(gallery: SQLiteGallery) -> GallerySearcher:
    """Search ``gallery`` through an HNSW index saved beside it, whatever its size."""
    searcher = gallery._searcher = GallerySearcher(method="hnsw", index_path=gallery.index_path())
    return searcher


def _gallery_with_saved_index(path: Path, vectors: np.ndarray, labels: np.ndarray, people: range) -> str | None:
    """Enroll ``people`` into a new gallery at ``path`` and search it once (which builds and saves the index)."""
    with SQLiteGallery(path) as gallery:
        searcher = _use_hnsw(gallery)
        _enroll(gallery, vectors, labels, people)
        assert gallery.search(vectors[0], model_id="m", top_k=1)[0][0].name == f"p{labels[0]}"
        return searcher.index_origin


@needs_hnswlib
def test_hnsw_index_is_saved_and_the_next_process_catches_up_from_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(60, 4, seed=3)
    path = tmp_path / "g.sqlite"
    assert _gallery_with_saved_index(path, vectors, labels, range(40)) == "built"
    assert path.with_name("g.sqlite.hnsw").is_file() and path.with_name("g.sqlite.hnsw.npz").is_file()
    with SQLiteGallery(path) as gallery:  # more people enrolled by a process that never searched
        _enroll(gallery, vectors, labels, range(40, 60))
    with SQLiteGallery(path) as gallery:
        searcher = _use_hnsw(gallery)
        for person in (3, 45, 59):
            top = gallery.search(vectors[labels == person][1], model_id="m", top_k=1)[0][0]
            assert top.name == f"p{person}" and top.distance == pytest.approx(0.0, abs=1e-5)
        assert searcher.index_origin == "loaded"
        assert len(searcher._engine) == 240  # type: ignore[arg-type]


@needs_hnswlib
def test_removal_erases_the_embedding_from_the_saved_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(30, 4, seed=8)
    path = tmp_path / "g.sqlite"
    _gallery_with_saved_index(path, vectors, labels, range(30))
    index_file = path.with_name("g.sqlite.hnsw")
    gone = vectors[labels == 7]
    assert gone[0].tobytes() in index_file.read_bytes()
    with SQLiteGallery(path) as gallery:  # a process that removes without searching
        _use_hnsw(gallery)
        gallery.remove_person("p7")
        gallery.remove_sample(gallery.samples_of("p8")[0].id)
    data = index_file.read_bytes()
    for vector in [*gone, vectors[labels == 8][0]]:
        assert vector.tobytes() not in data
    assert vectors[labels == 8][1].tobytes() in data
    with SQLiteGallery(path) as gallery:
        searcher = _use_hnsw(gallery)
        assert gallery.search(gone[0], model_id="m", top_k=1)[0][0].name != "p7"
        assert searcher.index_origin == "loaded"


@needs_hnswlib
def test_an_index_that_cannot_be_saved_after_a_removal_is_deleted(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(10, 3, seed=12)
    path = tmp_path / "g.sqlite"
    _gallery_with_saved_index(path, vectors, labels, range(10))

    def disk_full(self: HnswSearch, *args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(HnswSearch, "save", disk_full)
    with SQLiteGallery(path) as gallery:
        _use_hnsw(gallery)
        assert gallery.remove_person("p4") == 3  # the removal stands
        assert gallery.find_person("p4") is None
    # the old index file held p4's embeddings and could not be rewritten: it is gone
    assert not path.with_name("g.sqlite.hnsw").exists() and not path.with_name("g.sqlite.hnsw.npz").exists()


@needs_hnswlib
def test_a_saved_index_that_does_not_match_the_gallery_is_rebuilt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(20, 3, seed=9)
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    for path, order in ((first, 1), (second, -1)):
        _gallery_with_saved_index(path, vectors[::order], labels[::order], range(20))
    # b's index beside a: another gallery (and other vectors under the same sample ids)
    for suffix in (".hnsw", ".hnsw.npz"):
        second.with_name("b.sqlite" + suffix).replace(first.with_name("a.sqlite" + suffix))
    with SQLiteGallery(first) as gallery:
        searcher = _use_hnsw(gallery)
        assert gallery.search(vectors[5], model_id="m", top_k=1)[0][0].distance == pytest.approx(0.0, abs=1e-5)
        assert searcher.index_origin == "built"
    # an index file from another save than its description (a crash between the two renames)
    index_file = first.with_name("a.sqlite.hnsw")
    index_file.write_bytes(index_file.read_bytes())
    with SQLiteGallery(first) as gallery:
        searcher = _use_hnsw(gallery)
        gallery.search(vectors[5], model_id="m")
        assert searcher.index_origin == "built"
    # damaged files
    index_file.write_bytes(b"not an index")
    first.with_name("a.sqlite.hnsw.npz").write_bytes(b"junk")
    with SQLiteGallery(first) as gallery:
        searcher = _use_hnsw(gallery)
        assert gallery.search(vectors[labels == 5][0], model_id="m", top_k=1)[0][0].name == "p5"
        assert searcher.index_origin == "built"


@needs_hnswlib
def test_index_files_are_deleted_when_the_gallery_shrinks_below_the_cut_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(10, 3, seed=4)
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as gallery:
        gallery._searcher = GallerySearcher(ann_min_samples=25, index_path=gallery.index_path())
        _enroll(gallery, vectors, labels, range(10))
        gallery.search(vectors[0], model_id="m")
        assert gallery._searcher.engine_name == "hnsw"
    assert path.with_name("g.sqlite.hnsw").is_file()
    with SQLiteGallery(path) as gallery:
        gallery._searcher = GallerySearcher(ann_min_samples=25, index_path=gallery.index_path())
        gallery.remove_person("p0")
        gallery.remove_person("p1")
        assert gallery._searcher.engine_name == "exact"
    assert not path.with_name("g.sqlite.hnsw").exists()
    assert not path.with_name("g.sqlite.hnsw.npz").exists()


@needs_hnswlib
def test_many_removals_rebuild_the_graph(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels, _ = face_like_embeddings(600, 4, seed=10)
    ids = np.arange(len(labels), dtype=np.int64) + 1
    index = HnswSearch()
    index.add(ids, labels, vectors)
    index.remove(ids[:1000].tolist())
    assert index.erased == 1000 and len(index) == 1400 and index.needs_rebuild
    top = index.search(vectors[1500:1501], top_k=1)[0][0]
    assert top[0] == 1501 and top[2] == pytest.approx(0.0, abs=1e-5)


def test_gaussian_face_model_recovers_the_covariances_it_was_drawn_from() -> None:
    rng = np.random.default_rng(0)
    truth = GaussianFaceModel(mean=rng.normal(size=128) * 0.1,
                              between=rng.normal(size=(128, 20)) @ np.diag(np.linspace(0.12, 0.01, 20)) @
                              rng.normal(size=(20, 128)) / np.sqrt(128),
                              within=np.diag(np.linspace(0.05, 0.01, 128)))
    vectors, labels, _ = truth.sample(800, 6, seed=1)
    fitted = GaussianFaceModel.fit(vectors, labels)
    for part in ("between", "within"):
        expected = np.trace(getattr(truth, part) @ getattr(truth, part).T)
        got = np.trace(getattr(fitted, part) @ getattr(fitted, part).T)
        assert got == pytest.approx(expected, rel=0.1), part
    np.testing.assert_allclose(fitted.mean, truth.mean, atol=0.06)
    queries, query_labels = fitted.queries(np.zeros((3, 128), np.float32), 5, seed=2)
    assert queries.shape == (5, 128) and set(query_labels.tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="two or more"):
        GaussianFaceModel.fit(vectors[:2], labels[:2])
