"""The metrics that the evaluation protocols add, checked against values computed by hand on tiny sets."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from facerec.errors import ConfigurationError
from facerec.evaluation.detect_protocol import (
    GroundTruth,
    average_precision,
    box_iou_matrix,
    load_annotations,
    match_image,
    precision_recall_points,
)
from facerec.evaluation.identify_protocol import cmc_curve, dir_at_far, make_split, true_class_ranks
from facerec.evaluation.runs import RunFolder, data_manifest, jsonable, load_run
from facerec.evaluation.verify_protocol import (
    PairList,
    Variant,
    parse_variant,
    read_pair_csv,
    stratified_folds,
    verification_errors,
)


# -- identification ----------------------------------------------------------------------------------------------
def test_true_class_ranks_counts_strictly_better_classes() -> None:
    scores = [[0.9, 0.5, 0.1],   # true 0 -> rank 1
              [0.9, 0.5, 0.1],   # true 2 -> rank 3
              [0.2, 0.7, 0.7]]   # true 2, tied with class 1 -> rank 1 (ties favour the probe)
    assert true_class_ranks(scores, [0, 2, 2]).tolist() == [1, 3, 1]


def test_true_class_ranks_breaks_ties_with_secondary_key() -> None:
    ranks = true_class_ranks([[0.2, 0.7, 0.7]], [2], secondary=[[0.0, 0.5, 0.1]])
    assert ranks.tolist() == [2]


def test_true_class_ranks_unknown_true_class_misses_every_rank() -> None:
    assert true_class_ranks([[0.1, 0.2]], [-1]).tolist() == [3]


def test_cmc_curve_hand_computed() -> None:
    # ranks 1, 3, 1, 2, 5: rank<=1: 2/5, <=2: 3/5, <=3: 4/5, <=4: 4/5, <=5: 5/5
    assert cmc_curve([1, 3, 1, 2, 5], 5).tolist() == pytest.approx([0.4, 0.6, 0.8, 0.8, 1.0])


def test_dir_at_far_hand_computed() -> None:
    known = [0.9, 0.8, 0.7, 0.4]
    correct = [True, False, True, True]
    unknown = [0.75, 0.5, 0.3, 0.1]
    # FAR 0.25 allows 1 of 4 unknown probes: threshold = 2nd highest unknown (0.5); accepted known: 0.9, 0.8, 0.7,
    # of which correct: 0.9 and 0.7 -> DIR 2/4
    assert dir_at_far(known, correct, unknown, 0.25) == (0.5, 0.5, 0.25)
    # FAR 0 allows none: threshold 0.75 -> accepted 0.9 (correct), 0.8 (wrong) -> DIR 1/4
    assert dir_at_far(known, correct, unknown, 0.0) == (0.25, 0.75, 0.0)
    # FAR 1 accepts everything: DIR = fraction correct = 3/4
    d, t, far = dir_at_far(known, correct, unknown, 1.0)
    assert (d, far) == (0.75, 1.0) and t == -math.inf


def test_dir_at_far_missing_faces_are_never_accepted() -> None:
    d, _, _ = dir_at_far([0.9, float("nan")], [True, True], [0.1, float("nan")], 0.5)
    assert d == 0.5


def test_make_split_is_seeded_and_stratified() -> None:
    people = {f"p{i}": [f"p{i}/{j}.jpg" for j in range(10)] for i in range(10)}
    a = make_split(people, seed=3)
    b = make_split(people, seed=3)
    assert a == b
    assert len(a.unknown) == 2 and len(a.known) == 8
    assert len(a.probes) == 8 * 3 and len(a.gallery) == 8 * 7
    assert len(a.unknown_probes) == 20
    assert not set(a.gallery) & set(a.probes)
    assert make_split(people, seed=4).unknown != a.unknown or make_split(people, seed=4).probes != a.probes


def test_identifier_and_keras_run_score_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    import facerec.training.data as training_data
    import facerec.training.predict as training_predict
    from facerec.evaluation import identify_protocol as ip

    people = {f"p{i}": [f"p{i}/{j}.jpg" for j in range(10)] for i in range(6)}
    split = make_split(people, seed=1)
    no_face = split.probes[0]
    centres = np.eye(6, 128, dtype=np.float32) * 10
    person_of = {k: p for p, keys in people.items() for k in keys}
    vectors = {k: None if k == no_face else centres[int(person_of[k][1:])] for k in person_of}
    data = ip.IdentificationData(split, vectors, person_of)

    class Perfect:  # a trained model that names every known person right
        class_names = split.known
        settings = None

        def predict_proba(self, chips: np.ndarray) -> np.ndarray:
            return np.asarray([[float(np.argmax(chips[0]) == int(c[1:])) for c in self.class_names]])

    def chips(path: str, settings: object) -> tuple[np.ndarray, list[object]]:
        vector = vectors[path]
        return (np.zeros((0, 128)) if vector is None else vector[None, :]), []

    monkeypatch.setattr(training_predict, "load_run", lambda run_dir: Perfect())
    monkeypatch.setattr(training_data, "photo_chips", chips)
    fitted = ip.evaluate_identifier("centroid", data)
    keras = ip.evaluate_keras_run("runs/perfect", data, {k: k for k in person_of})  # type: ignore[misc]
    expected = 1 - 1 / len(split.probes)  # the probe without a face is a miss
    for result in (fitted, keras):
        assert result.top1 == pytest.approx(expected) and result.n_probes_no_face == 1
        assert result.classes == sorted(split.known) and result.confusion.trace() == len(split.probes) - 1
        assert set(result.dir_at_far) == set(ip.DEFAULT_FAR_TARGETS) and result.errors == []
    assert keras.name == "keras:perfect"


# -- detection ---------------------------------------------------------------------------------------------------
def _gt(boxes: list[list[float]], ignore: list[bool] | None = None, iou: float = 0.5) -> GroundTruth:
    return GroundTruth(Path("x.jpg"), np.asarray(boxes, dtype=float).reshape(-1, 4),
                       np.asarray(ignore or [False] * len(boxes), dtype=bool), iou)


def test_box_iou_matrix_hand_computed() -> None:
    iou = box_iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10], [20, 20, 30, 30]])
    assert iou.tolist() == [[pytest.approx(50 / 150), 0.0]]


def test_average_precision_on_a_tiny_hand_made_set() -> None:
    # image 1: faces A=(0,0,10,10), B=(20,0,30,10); detections: A exact (0.9), A shifted (0.8: a duplicate -> FP),
    # far away (0.3: FP). image 2: face C=(0,0,20,20); detection C (0.6), and an ignored face D that is found (0.95).
    gt1 = _gt([[0, 0, 10, 10], [20, 0, 30, 10]])
    s1, tp1, found1 = match_image([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.3], gt1)
    gt2 = _gt([[0, 0, 20, 20], [40, 40, 60, 60]], ignore=[False, True])
    s2, tp2, found2 = match_image([[0, 0, 20, 20], [40, 40, 60, 60]], [0.6, 0.95], gt2)
    assert tp1.tolist() == [True, False, False] and found1 == 1
    assert tp2.tolist() == [True] and found2 == 1  # the ignored face's detection is dropped
    scores = np.concatenate([s1, s2])
    tp = np.concatenate([tp1, tp2])
    n_faces = gt1.n_faces + gt2.n_faces  # 3
    # by score: 0.9 TP, 0.8 FP, 0.6 TP, 0.3 FP -> recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2
    recall, precision = precision_recall_points(scores, tp, n_faces)
    assert recall.tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert precision.tolist() == pytest.approx([1, 1 / 2, 2 / 3, 1 / 2])
    # interpolated: precision 1 up to recall 1/3, then 2/3 up to recall 2/3 -> AP = 1/3 * 1 + 1/3 * 2/3 = 5/9
    assert average_precision(scores, tp, n_faces) == pytest.approx(5 / 9)


def test_match_image_respects_the_per_image_iou_threshold() -> None:
    loose = _gt([[0, 0, 10, 10]], iou=0.3)
    strict = _gt([[0, 0, 10, 10]], iou=0.5)
    shifted = [[4, 0, 14, 10]]  # IoU 60/140 = 0.43
    assert match_image(shifted, [1.0], loose)[1].tolist() == [True]
    assert match_image(shifted, [1.0], strict)[1].tolist() == [False]


def test_load_annotations_reads_fddb_and_wider(tmp_path: Path) -> None:
    fddb = tmp_path / "FDDB-fold-01-ellipseList.txt"
    fddb.write_text("2002/08/11/big/img_591\n1\n20 10 1.5707963 50 60 1\n", encoding="utf-8")
    [image] = load_annotations(fddb)
    assert image.path == tmp_path / "2002/08/11/big/img_591.jpg"
    assert image.boxes[0].tolist() == pytest.approx([40, 40, 60, 80], abs=1e-4)  # major axis vertical
    wider = tmp_path / "wider_face_val_bbx_gt.txt"
    wider.write_text("0--Parade/a.jpg\n2\n10 20 30 40 0 0 0 0 0 0\n5 5 8 8 2 0 0 1 0 0\n"
                     "0--Parade/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n", encoding="utf-8")
    a, b = load_annotations(wider, image_root=tmp_path / "images")
    assert a.boxes.tolist() == [[10, 20, 40, 60], [5, 5, 13, 13]]
    assert a.ignore.tolist() == [False, True] and a.n_faces == 1
    assert b.n_faces == 0 and b.path == tmp_path / "images" / "0--Parade" / "b.jpg"


def test_load_annotations_json_uses_the_loose_iou_for_menpo(tmp_path: Path) -> None:
    data = [{"file": "dlib/a.jpg", "faces": [{"box_xywh": [1, 2, 3, 4], "ignore": False}]},
            {"file": "menpo_landmarks/b.jpg", "faces": [{"box_xywh": [0, 0, 5, 5]}]}]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    a, b = load_annotations(path)
    assert a.boxes.tolist() == [[1, 2, 4, 6]] and a.iou_threshold == 0.5
    assert b.iou_threshold == 0.3


# -- verification helpers ----------------------------------------------------------------------------------------
def test_stratified_folds_balance_labels() -> None:
    same = [True] * 10 + [False] * 10
    folds = stratified_folds(same, 5, seed=1)
    for k in range(5):
        assert np.sum((folds == k) & np.array(same)) == 2
        assert np.sum(folds == k) == 4


def test_read_pair_csv_with_header_and_word_labels(tmp_path: Path) -> None:
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("path1,path2,same\na.jpg,b.jpg,yes\na.jpg,c.jpg,0\nb.jpg,c.jpg,false\nc.jpg,d.jpg,1\n",
                        encoding="utf-8")
    pairs = read_pair_csv(csv_file, k=2)
    assert pairs.same.tolist() == [True, False, False, True]
    assert sorted(np.bincount(pairs.folds).tolist()) == [2, 2]
    assert pairs.path("a.jpg") == tmp_path / "a.jpg"
    bad = tmp_path / "bad.csv"
    bad.write_text("a.jpg,b.jpg,1\na.jpg,b.jpg,maybe\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="true or false"):
        read_pair_csv(bad, k=2)


def test_parse_variant_overrides_the_base() -> None:
    base = Variant(name="base", embedder="dlib", pick="central")
    v = parse_variant("x:flip=yes,landmarks=68,fallback=cnn-dlib,jitter=3", base)
    assert (v.name, v.flip, v.landmarks, v.fallback_detector, v.jitters, v.pick) == ("x", True, 68, "cnn-dlib", 3,
                                                                                      "central")
    assert v.cache_key() != base.cache_key()
    with pytest.raises(ConfigurationError, match="unknown variant setting"):
        parse_variant("y:colour=red", base)


def test_verification_errors_lists_worst_mistakes() -> None:
    pairs = PairList(("a", "b", "c", "d"), ("e", "f", "g", "h"), np.array([True, True, False, False]),
                     np.array([0, 0, 1, 1]), Path("."), Path("p.csv"), "csv")
    distances = np.array([0.9, float("nan"), 0.2, 0.8])
    errors = verification_errors(pairs, distances, {0: 0.6, 1: 0.5})
    assert [e["kind"] for e in errors] == ["false reject (no face)", "false reject", "false accept"]
    assert errors[1]["distance"] == 0.9 and errors[2]["photo_a"] == "c"


# -- run folders -------------------------------------------------------------------------------------------------
def test_run_folder_writes_manifest_with_sha256(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"hello")
    run = RunFolder.create(tmp_path / "runs", "verify")
    run.write_metrics({"kind": "verify", "value": np.float32(0.5), "bad": float("nan"), "arr": np.arange(3)})
    run.finish(command=["facerec", "evaluate", "verify", "a b"], data_files=[data, data], data_root=tmp_path)
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["files"] == [{"path": "data.txt", "bytes": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}]
    assert (run.path / "command.txt").read_text() == "facerec evaluate verify 'a b'\n"
    assert "numpy" in json.loads((run.path / "versions.json").read_text())
    loaded = load_run(run.path)
    assert loaded["value"] == 0.5 and loaded["bad"] is None and loaded["arr"] == [0, 1, 2]


def test_run_folder_needs_a_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="kind"):
        RunFolder.create(tmp_path, "x").write_metrics({"a": 1})
    with pytest.raises(ConfigurationError, match="not a run folder"):
        load_run(tmp_path)


def test_data_manifest_marks_missing_files(tmp_path: Path) -> None:
    assert data_manifest([tmp_path / "nope.jpg"], root=tmp_path) == [{"path": "nope.jpg", "missing": True}]


def test_jsonable_converts_numpy_and_non_finite() -> None:
    assert jsonable({"a": (np.int64(1), np.inf), 2: np.bool_(True)}) == {"a": [1, None], "2": True}
