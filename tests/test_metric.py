"""The learned comparison (facerec.metric): fitting, the shipped LFW map, and its use by verify, identify and
calibrate on real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import facerec
from facerec.errors import ConfigurationError, FacerecError
from facerec.metric import (
    DEFAULT_METRIC_FILE,
    LearnedMetric,
    MetricMismatchError,
    default_metric,
    resolve_comparison,
)

PACKAGED = Path(facerec.__file__).parent / "models" / "data" / DEFAULT_METRIC_FILE


def _people(n_people: int = 40, per: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Embedding-like data: people differ along a few directions, photos vary along others (anisotropic)."""
    rng = np.random.default_rng(seed)
    between = np.r_[np.full(16, 0.3), np.full(112, 0.01)]  # people differ in 16 directions
    within = np.r_[np.full(16, 0.05), np.full(8, 0.6), np.full(104, 0.01)]  # photos vary most in 8 others
    centres = rng.normal(size=(n_people, 128)) * between
    X = np.repeat(centres, per, axis=0) + rng.normal(size=(n_people * per, 128)) * within
    return X.astype(np.float32), np.repeat(np.arange(n_people), per)


def _pair_accuracy(distance: np.ndarray, same: np.ndarray) -> float:
    return max(float(np.mean((distance <= t) == same)) for t in np.unique(distance))


def test_lda_separates_people_better_than_euclidean_on_anisotropic_data() -> None:
    X, y = _people()
    Xt, yt = _people(seed=1)  # other people
    metric = LearnedMetric("lda").fit(X, y)
    rng = np.random.default_rng(2)
    a = rng.integers(0, len(Xt), 2000)
    b = np.where(np.arange(2000) % 2 == 0, a - a % 6 + (a + 1 + rng.integers(0, 5, 2000)) % 6,  # same person
                 rng.integers(0, len(Xt), 2000))
    same = yt[a] == yt[b]
    assert 0.4 < same.mean() < 0.6
    learned = _pair_accuracy(metric.distance(Xt[a], Xt[b]), same)
    euclid = _pair_accuracy(np.linalg.norm(Xt[a] - Xt[b], axis=1), same)
    assert learned > euclid + 0.05


@pytest.mark.parametrize("method", ["lda", "wccn", "whiten"])
def test_fit_transform_save_load_round_trip(method: str, tmp_path: Path) -> None:
    X, y = _people()
    metric = LearnedMetric(method, dims=32 if method == "lda" else None,  # type: ignore[arg-type]
                           normalize=method == "wccn").fit(X, y, model_id="m/5pt", note="t")
    Z = metric.transform(X)
    assert Z.dtype == np.float32 and Z.shape == (len(X), 32 if method == "lda" else 128)
    if metric.normalize:
        np.testing.assert_allclose(np.linalg.norm(Z, axis=1), metric.scale_, rtol=1e-5)
    assert metric.transform(X[0]).shape == (Z.shape[1],)
    metric.save(tmp_path / "m.npz")
    again = LearnedMetric.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.transform(X), Z)
    assert again.model_id == "m/5pt" and again.info_["note"] == "t"


def test_scale_puts_the_fitting_data_false_accept_rate_of_euclidean_at_the_same_threshold() -> None:
    X, y = _people(80, 5)
    metric = LearnedMetric("lda").fit(X, y)
    far = metric.info_["far_at_threshold"]
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, len(X), 20000), rng.integers(0, len(X), 20000)
    diff = y[a] != y[b]
    learned_far = float(np.mean(metric.distance(X[a][diff], X[b][diff]) <= metric.info_["threshold"]))
    assert abs(learned_far - far) < 0.01


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    X, y = _people()
    with pytest.raises(ConfigurationError, match="method"):
        LearnedMetric("pca").fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="two people"):
        LearnedMetric().fit(X[:5], np.arange(5))
    with pytest.raises(ConfigurationError, match="dims"):
        LearnedMetric(dims=500).fit(X, y)
    with pytest.raises(ConfigurationError, match="not fitted"):
        LearnedMetric().transform(X)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigurationError, match="not a learned comparison"):
        LearnedMetric.load(tmp_path / "bad.npz")
    with pytest.raises(ConfigurationError, match="128-d"):
        LearnedMetric().fit(X, y).transform(np.zeros((2, 64)))


# -- the shipped map ------------------------------------------------------------------------------------------------


def test_shipped_map_is_small_and_names_the_default_model() -> None:
    from facerec.gallery import model_id_for

    assert PACKAGED.is_file() and PACKAGED.stat().st_size < 2 * 1024 * 1024
    metric = default_metric()
    assert metric.model_id == model_id_for(facerec.FaceAnalyzer())
    assert metric.info_["n_people"] > 5000 and "LFW" in metric.info_["note"]
    assert resolve_comparison("auto", metric.model_id) is metric
    assert resolve_comparison("auto", "another-model/5pt") is None
    assert resolve_comparison("euclidean", metric.model_id) is None
    with pytest.raises(MetricMismatchError, match="euclidean"):
        resolve_comparison("learned", "dlib-resnet-v1:000000000000/68pt")
    with pytest.raises(ConfigurationError, match="comparison must be"):
        resolve_comparison("cosine", metric.model_id)  # type: ignore[arg-type]
    assert issubclass(MetricMismatchError, FacerecError)


def test_verify_with_the_learned_comparison_on_real_photos(test_images: Path, hog_analyzer) -> None:  # type: ignore[no-untyped-def]
    obama, obama2, biden = (test_images / f for f in ("obama.jpg", "obama2.jpg", "biden.jpg"))
    plain = facerec.verify(obama, obama2, analyzer=hog_analyzer)
    learned = facerec.verify(obama, obama2, analyzer=hog_analyzer, comparison="learned")
    assert plain.comparison == "euclidean" and learned.comparison.startswith("learned")
    assert learned.same and plain.same and learned.distance != pytest.approx(plain.distance, abs=1e-4)
    a, b = (hog_analyzer.analyze(p)[0].embedding for p in (obama, obama2))
    assert learned.distance == pytest.approx(float(default_metric().distance(a, b)), abs=1e-5)
    assert not facerec.verify(obama, biden, analyzer=hog_analyzer, comparison="learned").same
    with pytest.raises(MetricMismatchError):
        facerec.verify(obama, obama2, analyzer=facerec.FaceAnalyzer(landmarks=68), comparison="learned")
    # auto falls back to Euclidean for a model the map was not fitted on
    other = facerec.verify(obama, obama2, analyzer=facerec.FaceAnalyzer(landmarks=68), comparison="auto")
    assert other.comparison == "euclidean"


def test_identify_reranks_with_the_learned_distance(tmp_path: Path, test_images: Path, hog_analyzer) -> None:  # type: ignore[no-untyped-def]
    from facerec.gallery import SQLiteGallery, enroll, identify

    people = tmp_path / "people"
    for name, photo in (("obama", "obama.jpg"), ("obama", "obama2.jpg"), ("biden", "biden.jpg")):
        (people / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(test_images / photo, people / name / photo)
    with SQLiteGallery(tmp_path / "g.sqlite") as gallery:
        enroll(gallery, people, analyzer=hog_analyzer)
        query = hog_analyzer.analyze(test_images / "obama3.jpg")
        learned = identify(gallery, query, analyzer=hog_analyzer, top_k=2, comparison="learned")
        plain = identify(gallery, query, analyzer=hog_analyzer, top_k=2)
        assert [i.name for i in learned] == [i.name for i in plain] == ["obama"]
        metric = default_metric()
        sample_ids, person_ids = gallery.sample_people()
        for candidate in learned[0].candidates:
            mine = sample_ids[person_ids == candidate.person_id]
            expected = metric.distance(gallery.embeddings_for(mine.tolist()), query[0].embedding).min()
            assert candidate.distance == pytest.approx(float(expected), abs=1e-5)
        assert [c.name for c in learned[0].candidates] == ["obama", "biden"]


def test_calibrate_records_and_uses_its_comparison() -> None:
    pytest.importorskip("sklearn")
    from facerec.recognition.calibration import Calibration, calibrate

    metric = default_metric()
    X, y = _people(30, 4)
    X = X * 0.1 + metric.mean_  # near the embeddings the map was fitted on
    learned = calibrate(X, labels=y, target_far=1e-2, comparison="learned")
    plain = calibrate(X, labels=y, target_far=1e-2)
    assert learned.comparison == "learned" and plain.comparison == "euclidean"
    again = Calibration.from_dict(learned.to_dict())
    answer = again.verify(X[0], X[1])
    assert answer.distance == pytest.approx(float(metric.distance(X[0], X[1])), abs=1e-5)
    old = {k: v for k, v in plain.to_dict().items() if k != "comparison"}  # files written before the field
    assert Calibration.from_dict(old).comparison == "euclidean"


def test_analyzer_preset_fills_in_options_left_at_their_defaults() -> None:
    accurate = facerec.FaceAnalyzer(preset="accurate")
    assert accurate.num_jitters == 10 and accurate.flip and accurate.preset == "accurate"
    mine = facerec.FaceAnalyzer(preset="accurate", num_jitters=3, upsample=0)
    assert mine.num_jitters == 3 and mine.upsample == 0 and mine.flip
    assert facerec.FaceAnalyzer(preset="fast").num_jitters == 1
    with pytest.raises(ConfigurationError, match="preset"):
        facerec.FaceAnalyzer(preset="slow")
