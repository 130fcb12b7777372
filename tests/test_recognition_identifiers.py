"""Identity classifiers: scikit-learn compliance, unknown rejection on hand-made embeddings, tuning, real photos."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

import facerec
from facerec.errors import ConfigurationError, UnknownNameError
from facerec.recognition import (
    KNNIdentifier,
    NearestCentroidIdentifier,
    SVMIdentifier,
    create_identifier,
    list_identifiers,
)
from facerec.recognition import identifiers as identifiers_module


# The generic checks run on blobs, whose scale has nothing to do with face embeddings, so the instances under
# test never reject (threshold None) and choose their unknown label to suit y (None): with the defaults, blobs
# would be called "unknown" and integer labels would be refused for the string "unknown" (tested below).
# No check needs an exemption on scikit-learn 1.9.
@parametrize_with_checks([  # type: ignore[untyped-decorator]
    NearestCentroidIdentifier(distance_threshold=None, unknown_label=None),
    KNNIdentifier(distance_threshold=None, unknown_label=None),
    SVMIdentifier(probability_threshold=None, unknown_label=None, random_state=0),
])
def test_identifiers_pass_sklearn_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


def make_people(n_people: int = 3, per_person: int = 6, spread: float = 0.1, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-made 128-d "embeddings": people about 1.4 apart, photos within ~0.1 * sqrt(128) / 4 of their centre.

    Returns (X, y, centres).
    """
    rng = np.random.default_rng(seed)
    centres = np.eye(128)[:n_people]  # unit vectors: every two people are sqrt(2) apart
    X = np.concatenate([c + rng.normal(0, spread / np.sqrt(128), size=(per_person, 128)) for c in centres])
    y = np.repeat([f"person{i}" for i in range(n_people)], per_person)
    return X.astype(np.float32), y, centres


ALL = [NearestCentroidIdentifier, KNNIdentifier, SVMIdentifier]


@pytest.mark.parametrize("cls", [NearestCentroidIdentifier, KNNIdentifier])
def test_identifier_names_known_and_rejects_stranger(cls: type) -> None:
    X, y, centres = make_people()
    clf = cls(distance_threshold=0.5).fit(X, y)
    queries = np.stack([centres[1] + 0.01, np.eye(128)[10]])  # near person1; a stranger (sqrt(2) from everyone)
    assert clf.predict(queries).tolist() == ["person1", "unknown"]
    assert clf.score(X, y) == 1.0
    assert clf.score(queries, ["person1", "unknown"]) == 1.0


def test_svm_probability_threshold_higher_is_stricter() -> None:
    X, y, centres = make_people(per_person=20)
    loose = SVMIdentifier(probability_threshold=0.5, random_state=0).fit(X, y)
    assert loose.predict(centres).tolist() == ["person0", "person1", "person2"]
    assert loose.score(X, y) == 1.0
    top = loose.predict_proba(centres).max(axis=1)
    assert (top > 0.8).all()
    strict = SVMIdentifier(probability_threshold=0.999, random_state=0).fit(X, y)
    assert strict.predict(centres).tolist() == ["unknown"] * 3


@pytest.mark.parametrize("cls", [NearestCentroidIdentifier, KNNIdentifier])
def test_distance_threshold_lower_is_stricter(cls: type) -> None:
    X, y, centres = make_people()
    query = centres[0] + np.full(128, 0.04)  # 0.45 from person0's centre
    assert cls(distance_threshold=0.6).fit(X, y).predict([query])[0] == "person0"
    assert cls(distance_threshold=0.3).fit(X, y).predict([query])[0] == "unknown"
    assert cls(distance_threshold=None).fit(X, y).predict([np.eye(128)[50] * 9])[0] != "unknown"


def test_integer_labels_need_a_numeric_unknown_label() -> None:
    X, _, centres = make_people()
    y = np.repeat([0, 1, 2], 6)
    with pytest.raises(ConfigurationError, match=r"unknown_label='unknown' is not a number.*-1"):
        KNNIdentifier().fit(X, y)
    clf = KNNIdentifier(unknown_label=-1, distance_threshold=0.5).fit(X, y)
    out = clf.predict([centres[2], np.eye(128)[9]])
    assert out.tolist() == [2, -1] and out.dtype.kind == "i"
    auto = NearestCentroidIdentifier(unknown_label=None, distance_threshold=0.5).fit(X, y)
    assert auto.unknown_label_ == -1 and auto.predict([np.eye(128)[9]]).tolist() == [-1]
    with pytest.raises(ConfigurationError, match="is not a string"):
        KNNIdentifier(unknown_label=-1).fit(X, np.repeat(["a", "b", "c"], 6))


def test_unknown_label_longer_than_names_is_not_truncated() -> None:
    X, _, _ = make_people(n_people=2)
    y = np.repeat(["al", "bo"], 6)  # dtype <U2: "unknown" must not become "un"
    out = NearestCentroidIdentifier(distance_threshold=0.3).fit(X, y).predict([np.eye(128)[7]])
    assert out.tolist() == ["unknown"]


def test_samples_labelled_unknown_are_not_enrolled() -> None:
    X, y, _ = make_people()
    impostors = np.eye(128)[20:23].astype(np.float32)
    clf = KNNIdentifier(n_neighbors=1).fit(np.vstack([X, impostors]), np.concatenate([y, ["unknown"] * 3]))
    assert clf.classes_.tolist() == ["person0", "person1", "person2"]
    assert clf.predict(impostors).tolist() == ["unknown"] * 3
    with pytest.raises(ConfigurationError, match="nobody to enrol"):
        KNNIdentifier().fit(impostors, ["unknown"] * 3)


def test_grid_search_tunes_the_distance_threshold() -> None:
    # known people plus impostors labelled "unknown": too strict rejects the people, too loose accepts impostors
    X, y, _ = make_people(n_people=4, per_person=8, spread=0.3)
    rng = np.random.default_rng(1)
    impostors = np.eye(128)[10:42] + rng.normal(0, 0.01, size=(32, 128))
    X_all = np.vstack([X, impostors * 0.8 + X.mean(axis=0) * 0.2]).astype(np.float32)
    y_all = np.concatenate([y, ["unknown"] * 32])
    search = GridSearchCV(KNNIdentifier(n_neighbors=3), {"distance_threshold": [0.05, 0.6, 5.0]},
                          cv=StratifiedKFold(4, shuffle=True, random_state=0)).fit(X_all, y_all)
    assert search.best_params_ == {"distance_threshold": 0.6}
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > 0.95 and scores[0] < 0.6 and scores[2] < 0.6


def test_svm_probability_threshold_in_pipeline() -> None:
    X, y, centres = make_people(n_people=3, per_person=10)
    pipe = make_pipeline(FunctionTransformer(), SVMIdentifier(random_state=0))
    search = GridSearchCV(pipe, {"svmidentifier__C": [0.1, 10.0]}, cv=3).fit(X, y)
    assert search.score(X, y) == 1.0
    proba = search.best_estimator_.predict_proba(centres[:3])
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.argmax(proba, axis=1).tolist() == [0, 1, 2]


def test_svm_needs_two_samples_per_person() -> None:
    X, y, _ = make_people(n_people=2, per_person=3)
    with pytest.raises(ConfigurationError, match="at least 2 samples of every person"):
        SVMIdentifier().fit(X[:4], [*y[:4].tolist()[:3], "person9"])
    with pytest.raises(ConfigurationError, match="at least 2 classes"):
        SVMIdentifier().fit(X[:3], y[:3])


@pytest.mark.parametrize("cls", ALL)
def test_top_k_orders_candidates(cls: type) -> None:
    X, y, centres = make_people(n_people=4)
    clf = cls(random_state=0).fit(X, y) if cls is SVMIdentifier else cls().fit(X, y)
    query = 0.7 * centres[2] + 0.3 * centres[0]
    labels, values = clf.top_k([query], k=2)
    assert labels.tolist() == [["person2", "person0"]]
    assert values.shape == (1, 2)
    assert values[0, 0] >= values[0, 1] if cls is SVMIdentifier else values[0, 0] <= values[0, 1]
    assert clf.top_k([query], k=99)[0].shape == (1, 4)
    with pytest.raises(ConfigurationError, match="k must be"):
        clf.top_k([query], k=0)


def test_knn_proba_and_distance_weights() -> None:
    X, y, _ = make_people(n_people=2, per_person=4)
    clf = KNNIdentifier(n_neighbors=8, weights="uniform").fit(X, y)
    assert clf.n_neighbors_ == 8
    assert np.allclose(clf.predict_proba(X[:1]), [[0.5, 0.5]])
    exact = KNNIdentifier(n_neighbors=8).fit(X, y).predict_proba(X[:1])  # a zero distance decides alone
    assert exact.tolist() == [[1.0, 0.0]]


@pytest.mark.parametrize(("params", "message"), [
    ({"distance_threshold": -1}, "distance_threshold must be"),
    ({"n_neighbors": 0}, "n_neighbors must be"),
    ({"weights": "gaussian"}, "weights must be"),
])
def test_bad_parameters_raise_configuration_error(params: dict[str, Any], message: str) -> None:
    X, y, _ = make_people()
    with pytest.raises(ConfigurationError, match=message):
        KNNIdentifier(**params).fit(X, y)


def test_registry_creates_identifiers_by_name() -> None:
    assert list_identifiers() == ["centroid", "knn", "svm"]
    assert isinstance(create_identifier("centroid", distance_threshold=0.5), NearestCentroidIdentifier)
    with pytest.raises(UnknownNameError, match="Did you mean 'knn'"):
        create_identifier("kn")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(identifiers_module)
    assert result.failed == 0 and result.attempted >= 3


@pytest.fixture(scope="module")
def reference_embeddings(test_images: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        (face,) = facerec.embed_faces(test_images / name)
        assert face.embedding is not None
        out[name] = face.embedding
    return out


@pytest.mark.parametrize("cls", [NearestCentroidIdentifier, KNNIdentifier])
def test_real_photos_obama_known_biden_unknown(cls: type, reference_embeddings: dict[str, np.ndarray]) -> None:
    e = reference_embeddings
    clf = cls(distance_threshold=0.6).fit([e["obama.jpg"], e["obama2.jpg"]], ["obama", "obama"])
    assert clf.predict([e["obama3.jpg"], e["biden.jpg"]]).tolist() == ["obama", "unknown"]
    enrolled_both = cls(distance_threshold=0.6).fit([e["obama.jpg"], e["biden.jpg"]], ["obama", "biden"])
    assert enrolled_both.predict([e["obama2.jpg"], e["obama3.jpg"]]).tolist() == ["obama", "obama"]
