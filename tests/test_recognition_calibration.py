"""Calibration: pair distances, the threshold for a target FAR, Platt probability, JSON round trip."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from facerec.errors import ConfigurationError
from facerec.recognition import (
    Calibration,
    LabelledEmbeddings,
    calibrate,
    fit_match_probability,
    load_calibration,
    pair_distances,
    threshold_for_far,
)
from facerec.recognition import calibration as calibration_module


def make_people(n_people: int = 6, per_person: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1 / np.sqrt(128), size=(n_people, 128)) * 0.8
    X = np.concatenate([c + rng.normal(0, 0.35 / np.sqrt(128), size=(per_person, 128)) for c in centres])
    return X.astype(np.float32), np.repeat([f"p{i}" for i in range(n_people)], per_person)


def test_pair_distances_counts_and_values() -> None:
    X = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    genuine, impostor = pair_distances(X, ["a", "a", "b"])
    assert genuine.tolist() == [3.0]
    assert impostor.tolist() == [4.0, 5.0]
    X, y = make_people()
    genuine, impostor = pair_distances(X, y)
    assert len(genuine) == 6 * 10 and len(impostor) == 30 * 29 // 2 - 60
    sampled = pair_distances(X, y, max_impostor_pairs=100, random_state=0)[1]
    assert len(sampled) == 100
    assert np.isin(sampled.round(9), impostor.round(9)).all()


def test_threshold_for_far_meets_the_target_exactly() -> None:
    impostor = np.arange(1, 1001) / 1000.0  # 0.001 .. 1.0
    t = threshold_for_far(impostor, 0.01)  # 10 of 1000 may be accepted: everything up to 0.010
    assert 0.010 <= t < 0.011
    assert np.mean(impostor <= t) == pytest.approx(0.01)
    assert threshold_for_far(impostor, 1e-4) < 0.001  # below the resolution: accept none
    with pytest.raises(ConfigurationError, match="target_far"):
        threshold_for_far(impostor, 0)
    with pytest.raises(ConfigurationError, match="two people"):
        threshold_for_far([], 0.1)


def test_calibrated_threshold_is_monotone_in_target_far() -> None:
    X, y = make_people(n_people=10, per_person=6)
    fars = [1e-3, 1e-2, 0.05, 0.1, 0.3]
    cals = [calibrate(X, far, labels=y) for far in fars]
    thresholds = [c.threshold for c in cals]
    assert thresholds == sorted(thresholds) and thresholds[0] < thresholds[-1]
    for cal in cals:
        assert cal.far <= cal.target_far
    frrs = [c.frr for c in cals]
    assert frrs == sorted(frrs, reverse=True)


def test_match_probability_is_platt_and_decreasing() -> None:
    rng = np.random.default_rng(0)
    genuine = rng.normal(0.4, 0.08, 4000)
    impostor = rng.normal(0.8, 0.08, 40000)
    slope, intercept = fit_match_probability(genuine, impostor)
    # equal variances: the balanced posterior crosses 1/2 midway, with logit slope -(mu1 - mu0) / sigma^2
    assert -intercept / slope == pytest.approx(0.6, abs=0.01)
    assert slope == pytest.approx(-0.4 / 0.08**2, rel=0.1)
    cal = Calibration(threshold=0.6, target_far=1e-3, far=0.0, frr=0.0, slope=slope, intercept=intercept)
    p = cal.probability(np.array([0.3, 0.5, 0.6, 0.7, 0.9]))
    assert (np.diff(p) < 0).all() and p[0] > 0.99 and p[-1] < 0.01
    assert cal.probability(0.6) == pytest.approx(0.5, abs=0.05)
    assert cal.probability(0.6, prior=0.01) < 0.02  # rare matches: the same distance is much less convincing


def test_match_probability_finite_when_separable_and_refuses_inverted() -> None:
    slope, intercept = fit_match_probability([0.1, 0.2], [0.9, 1.0, 1.1])
    assert np.isfinite([slope, intercept]).all() and slope < 0
    with pytest.raises(ConfigurationError, match="not closer"):
        fit_match_probability([0.9, 1.0], [0.1, 0.2])
    with pytest.raises(ConfigurationError, match="genuine and impostor"):
        fit_match_probability([], [0.1])


def test_calibration_json_round_trip(tmp_path: Path) -> None:
    X, y = make_people()
    cal = calibrate(LabelledEmbeddings(embeddings=X, labels=y), target_far=0.01, embedder="dlib")
    path = tmp_path / "calibration.json"
    cal.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == "facerec-calibration" and data["version"] == 1 and data["embedder"] == "dlib"
    back = load_calibration(path)
    assert back == cal
    result = back.verify(X[0], X[1])
    assert result.same and result.probability > 0.5 and result.threshold == cal.threshold
    assert result.to_dict() == {"distance": pytest.approx(float(np.linalg.norm(X[0] - X[1]))),
                                "threshold": cal.threshold, "same": True, "probability": result.probability,
                                "comparison": "euclidean"}
    assert not back.verify(X[0], X[-1]).same


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "cannot read calibration"),
    ('{"format": "something-else"}', "not a facerec calibration"),
    ('{"format": "facerec-calibration", "version": 9}', "version 9 is not supported"),
    ('{"format": "facerec-calibration", "version": 1, "threshold": 0.5}', "missing"),
])
def test_load_calibration_rejects_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_calibration(path)
    with pytest.raises(ConfigurationError, match="no such calibration file"):
        load_calibration(tmp_path / "absent.json")


def test_calibrate_refuses_unusable_data() -> None:
    X, y = make_people(n_people=2, per_person=1)
    with pytest.raises(ConfigurationError, match="genuine pairs"):
        calibrate(X, labels=y)
    with pytest.raises(ConfigurationError, match="at least two people"):
        calibrate(X, labels=["a", "a"])
    with pytest.raises(ConfigurationError, match="labels are needed"):
        calibrate(X)
    with pytest.raises(ConfigurationError, match="target_far"):
        calibrate(X, 2.0, labels=y)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(calibration_module)
    assert result.failed == 0 and result.attempted >= 1


@pytest.mark.shared_data
def test_calibrate_lfw_directory(shared_data: Path, tmp_path: Path) -> None:
    # 4 LFW people x 5 photos, folder per person, embedded through the pipeline
    source = shared_data / "lfw" / "images"
    people = ["Ariel_Sharon", "Colin_Powell", "Hugo_Chavez", "Tony_Blair"]
    for name in people:
        (tmp_path / name).mkdir()
        for photo in sorted((source / name).glob("*.jpg"))[:5]:
            (tmp_path / name / photo.name).symlink_to(photo)
    cal = calibrate(tmp_path, target_far=0.05)
    assert (cal.people, cal.images, cal.genuine_pairs, cal.impostor_pairs) == (4, 20, 40, 150)
    assert 0.4 < cal.threshold < 0.7 and cal.frr < 0.2
    assert cal.probability(0.3) > 0.95 and cal.probability(0.9) < 0.05


def test_embed_directory_labels_by_folder_and_lists_skipped(test_images: Path, tmp_path: Path) -> None:
    from PIL import Image

    from facerec.recognition import embed_directory, people_in

    (tmp_path / "obama").mkdir()
    (tmp_path / "biden").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("obama.jpg", "obama2.jpg"):
        (tmp_path / "obama" / name).symlink_to(test_images / name)
    (tmp_path / "biden" / "biden.jpg").symlink_to(test_images / "biden.jpg")
    (tmp_path / "obama" / "broken.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (80, 80), "white").save(tmp_path / "biden" / "blank.png")
    assert list(people_in(tmp_path)) == ["biden", "obama"]
    assert list(people_in(tmp_path, min_images=3)) == ["obama"]
    seen: list[tuple[int, int]] = []
    data = embed_directory(tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert data.labels.tolist() == ["biden", "obama", "obama"]
    assert data.embeddings.shape == (3, 128) and data.embeddings.dtype == np.float32
    assert [Path(p).name for p, _ in data.skipped] == ["blank.png", "broken.jpg"]
    assert data.skipped[0][1] == "no face found"
    assert seen[-1] == (5, 5)
    data.save(tmp_path / "cache.npz")
    back = LabelledEmbeddings.load(tmp_path / "cache.npz")
    assert back.labels.tolist() == data.labels.tolist() and np.array_equal(back.embeddings, data.embeddings)
    with pytest.raises(ConfigurationError, match="not a directory"):
        embed_directory(tmp_path / "obama" / "obama.jpg")
