"""The LFW pairs protocol: parsing, photo paths and pair distances, on a synthetic file and on the real one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facerec.evaluation import (
    PairsFormatError,
    evaluate_pairs,
    image_path,
    pair_distances,
    photo_key,
    read_pairs,
)

# two folds of two matched then two mismatched pairs
SMALL_PAIRS = """2\t2
Alice\t1\t2
Bob\t1\t3
Alice\t1\tBob\t2
Carol\t1\tDan\t1
Carol\t1\t2
Dan\t2\t3
Alice\t2\tCarol\t2
Bob\t3\tDan\t3
"""


@pytest.fixture()
def small_pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.txt"
    path.write_text(SMALL_PAIRS)
    return path


def test_read_pairs_small_file(small_pairs_file: Path) -> None:
    pairs = read_pairs(small_pairs_file)
    assert len(pairs) == 8
    assert (pairs.n_folds, pairs.pairs_per_fold) == (2, 2)
    assert pairs.same.tolist() == [True, True, False, False] * 2
    assert pairs.folds.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    first, mismatched = pairs.pairs[0], pairs.pairs[2]
    assert (first.name_a, first.number_a, first.name_b, first.number_b) == ("Alice", 1, "Alice", 2)
    assert (mismatched.photo_a, mismatched.photo_b) == ("Alice/Alice_0001.jpg", "Bob/Bob_0002.jpg")
    assert len(pairs.photos()) == 10 and pairs.photos() == sorted(set(pairs.photos()))


def test_photo_paths_follow_lfw_layout(tmp_path: Path) -> None:
    assert photo_key("George_W_Bush", 12) == "George_W_Bush/George_W_Bush_0012.jpg"
    assert image_path(tmp_path, "Abel_Pacheco", 4) == tmp_path / "images" / "Abel_Pacheco" / "Abel_Pacheco_0004.jpg"


def test_read_pairs_dev_format_one_number_header(tmp_path: Path) -> None:
    path = tmp_path / "pairsDevTest.txt"
    path.write_text("1\nAlice 1 2\nAlice 1 Bob 1\n")
    pairs = read_pairs(path)
    assert (len(pairs), pairs.n_folds, pairs.same.tolist()) == (2, 1, [True, False])


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("ten 300\n", "header"),
    ("1 1 1\n", "header"),
    ("1 1\nAlice 1 2\n", "announces 2 pairs, found 1"),
    ("1 1\nAlice 1 Bob 2\nAlice 1 Bob 2\n", "line 2: a matched pair"),
    ("1 1\nAlice 1 2\nAlice 1 2\n", "line 3: a mismatched pair"),
    ("1 1\nAlice 1 x\nAlice 1 Bob 2\n", "line 2: expected a photo number, got 'x'"),
    ("1 1\nAlice 0 1\nAlice 1 Bob 2\n", "start at 1"),
])
def test_read_pairs_refuses_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text(text)
    with pytest.raises(PairsFormatError, match=message):
        read_pairs(path)


def test_pairs_format_error_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("")
    with pytest.raises(ValueError):
        read_pairs(path)


def test_pair_distances_missing_photo_gives_nan(small_pairs_file: Path) -> None:
    pairs = read_pairs(small_pairs_file)
    embeddings: dict[str, np.ndarray | None] = {key: np.zeros(128, dtype=np.float32) for key in pairs.photos()}
    embeddings["Bob/Bob_0002.jpg"] = np.full(128, 0.1, dtype=np.float32)
    embeddings["Dan/Dan_0003.jpg"] = None
    distances = pair_distances(pairs, embeddings)
    assert distances[2] == pytest.approx(0.1 * np.sqrt(128))
    assert np.isnan(distances[5]) and np.isnan(distances[7])  # both pairs with Dan_0003
    assert np.count_nonzero(np.isnan(distances)) == 2


def test_evaluate_pairs_separable_embeddings(small_pairs_file: Path) -> None:
    pairs = read_pairs(small_pairs_file)
    # one axis per person: matched pairs at distance 0, every mismatched pair at sqrt(2)
    people = {"Alice": 0, "Bob": 1, "Carol": 2, "Dan": 3}
    embeddings = {key: np.eye(128)[people[key.split("/")[0]]] for key in pairs.photos()}
    report = evaluate_pairs(pairs, embeddings)
    assert report.kfold.mean == 1.0 and report.auc == 1.0 and report.eer == 0.0
    assert report.fixed_accuracy == 1.0 and report.n_photos_missing == 0
    del embeddings["Dan/Dan_0003.jpg"]  # pairs 5 (matched, fold 1) and 7 (mismatched, fold 1) lose a photo
    report = evaluate_pairs(pairs, embeddings)
    assert report.n_photos_missing == 1 and report.n_pairs_missing == 2
    assert [f.accuracy for f in report.kfold.folds] == [1.0, 0.5]
    assert report.fixed_accuracy == pytest.approx(6 / 8)
    # answered "not the same person", the mismatched pair without a face is right
    report = evaluate_pairs(pairs, embeddings, missing_as="different")
    assert [f.accuracy for f in report.kfold.folds] == [1.0, 0.75]
    assert report.to_dict()["missing_as"] == "different"


@pytest.mark.shared_data
def test_read_pairs_real_lfw(shared_data: Path) -> None:
    lfw = shared_data / "lfw"
    pairs = read_pairs(lfw / "pairs.txt")
    assert len(pairs) == 6000
    assert (pairs.n_folds, pairs.pairs_per_fold) == (10, 300)
    assert int(pairs.same.sum()) == 3000
    assert np.bincount(pairs.folds).tolist() == [600] * 10
    assert all(p.name_a == p.name_b for p in pairs if p.same)
    assert all(p.photo_a != p.photo_b for p in pairs)
    first = pairs.pairs[0]
    assert (first.name_a, first.number_a, first.number_b) == ("Abel_Pacheco", 1, 4)
    paths = pairs.paths(lfw)
    assert len(paths) == 7701
    assert all(path.is_file() for path in paths.values())
