"""``facerec evaluate verify|identify|detect|speed`` end to end on a few real photos, through click's runner.

Each command runs once per module (models load once); the tests then read the run folders it wrote.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from facerec.cli.evaluate_cmds import evaluate

pytestmark = pytest.mark.slow


def _invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(evaluate, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _metrics(run: Path) -> dict[str, Any]:
    metrics: dict[str, Any] = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    return metrics


def _assert_run_folder(run: Path, plots: list[str]) -> None:
    for name in ("metrics.json", "command.txt", "versions.json", "manifest.json"):
        assert (run / name).is_file(), name
    for stem in plots:
        assert (run / f"{stem}.png").stat().st_size > 1000
        assert (run / f"{stem}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] and all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert "facerec evaluate" in (run / "command.txt").read_text(encoding="utf-8")


# -- verify ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def verify_run(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Result]:
    base = tmp_path_factory.mktemp("verify")
    pairs = base / "pairs.csv"
    rows = [("obama.jpg", "obama2.jpg", 1), ("obama.jpg", "obama3.jpg", 1), ("obama2.jpg", "obama3.jpg", 1),
            ("obama.jpg", "biden.jpg", 0), ("obama2.jpg", "biden.jpg", 0), ("obama3.jpg", "biden.jpg", 0)]
    with open(pairs, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path1", "path2", "same"])
        writer.writerows(rows)
    cache = base / "cache"
    result = _invoke(["verify", str(pairs), "--data-root", str(test_images), "--folds", "3", "--upsample", "0",
                      "--no-flip", "--variant", "flip:flip=true", "--cache-dir", str(cache),
                      "--out", str(base / "runs"), "--name", "v", "-q"])
    return base / "runs" / "v", cache, result


def test_evaluate_verify_csv_scores_every_variant(verify_run: tuple[Path, Path, Result]) -> None:
    run, _, result = verify_run
    _assert_run_folder(run, ["roc", "det"])
    metrics = _metrics(run)
    assert metrics["kind"] == "verify" and metrics["protocol"] == "csv"
    assert metrics["n_pairs"] == 6 and metrics["n_folds"] == 3
    names = [v["variant"] for v in metrics["variants"]]
    assert names == ["base", "flip"]
    for v in metrics["variants"]:
        # obama and biden are told apart perfectly by dlib's model (README: obama-obama <= 0.6 < obama-biden)
        assert v["auc"] == 1.0 and v["eer"] == 0.0
        assert v["n_pairs_missing"] == 0
        assert len(v["thresholds"]) == 3
        assert {"tar_at_far_0.1", "tar_at_far_0.01", "tar_at_far_0.001"} <= set(v)
    assert "base" in result.output and "run folder:" in result.output
    distances = _csv_rows(run / "distances.csv")
    assert len(distances) == 6 and float(distances[0]["base"]) < 0.6 < float(distances[3]["base"])


def test_evaluate_verify_reuses_the_embedding_cache(verify_run: tuple[Path, Path, Result], test_images: Path,
                                                     tmp_path: Path) -> None:
    run, cache, _ = verify_run
    assert len(list(cache.glob("embed-*.npz"))) == 2  # one per variant
    # a second run with a broken detector name for nothing new to compute would fail; instead check it is fast and
    # gives identical distances from the cache
    pairs = run.parent.parent / "pairs.csv"
    _invoke(["verify", str(pairs), "--data-root", str(test_images), "--folds", "3", "--upsample", "0",
             "--no-flip", "--cache-dir", str(cache), "--out", str(tmp_path), "--name", "again", "-q"])
    first = [r["base"] for r in _csv_rows(run / "distances.csv")]
    again = [r["base"] for r in _csv_rows(tmp_path / "again" / "distances.csv")]
    assert first == again


def test_evaluate_verify_lfw_pairs_subset(shared_data: Path, tmp_path: Path) -> None:
    result = _invoke(["verify", str(shared_data / "lfw" / "pairs.txt"), "--per-fold", "1", "--no-cache",
                      "--out", str(tmp_path), "--name", "lfw", "-q"])
    metrics = _metrics(tmp_path / "lfw")
    assert metrics["protocol"] == "lfw" and metrics["n_folds"] == 10 and metrics["n_pairs"] == 20
    assert metrics["variants"][0]["accuracy"] >= 0.8
    assert "accuracy" in result.output


def test_evaluate_verify_rejects_a_bad_variant(test_images: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "p.csv"
    pairs.write_text("obama.jpg,biden.jpg,0\nobama.jpg,obama2.jpg,1\n", encoding="utf-8")
    result = CliRunner().invoke(evaluate, ["verify", str(pairs), "--variant", "x:detector=hgo", "--out",
                                           str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown detector 'hgo'" in result.output and "hog" in result.output


# -- identify ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def people_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("people")
    lfw = shared_data / "lfw" / "images"
    for person, count in (("Abdullah_Gul", 6), ("Adrien_Brody", 6), ("Aaron_Peirsol", 4)):
        (root / person).mkdir()
        for photo in sorted((lfw / person).glob("*.jpg"))[:count]:
            shutil.copy(photo, root / person / photo.name)
    return root


def test_evaluate_identify_closed_and_open_set(people_dir: Path, tmp_path: Path) -> None:
    result = _invoke(["identify", str(people_dir), "--min-images", "4", "--unknown-fraction", "0.34",
                      "--upsample", "0", "--tsne-people", "3", "--no-cache", "--out", str(tmp_path), "--name", "id",
                      "-q"])
    run = tmp_path / "id"
    _assert_run_folder(run, ["cmc", "dir_far", "confusion", "tsne"])
    metrics = _metrics(run)
    assert metrics["kind"] == "identify"
    assert metrics["split"]["n_known"] == 2 and metrics["split"]["n_unknown"] == 1
    names = [i["identifier"] for i in metrics["identifiers"]]
    assert names == ["centroid", "knn", "svm"]
    for entry in metrics["identifiers"]:
        assert 0.5 <= entry["top1"] <= 1.0
        assert entry["cmc"][-1] == 1.0 or entry["n_probes_no_face"] > 0
        assert set(entry["dir_at_far"]) == {"0.1", "0.01"}
    assert (run / "per_person.csv").is_file() and (run / "tsne.json").is_file()
    assert "top-1" in result.output


# -- detect ------------------------------------------------------------------------------------------------------
def test_evaluate_detect_on_ground_truth_subset(shared_data: Path, tmp_path: Path) -> None:
    gt_dir = shared_data / "face_detection_gt"
    entries = json.loads((gt_dir / "annotations.json").read_text(encoding="utf-8"))
    chosen = [e for e in entries if e["file"].endswith(("2008_001009.jpg", "takeo.ppm"))]
    assert len(chosen) == 2
    subset = tmp_path / "subset.json"
    subset.write_text(json.dumps(chosen), encoding="utf-8")
    result = _invoke(["detect", str(subset), "--image-root", str(gt_dir), "--detector", "hog", "--out",
                      str(tmp_path), "--name", "det", "-q"])
    run = tmp_path / "det"
    _assert_run_folder(run, ["pr"])
    metrics = _metrics(run)
    [hog] = metrics["detectors"]
    assert hog["detector"] == "hog" and hog["n_faces"] == 3
    assert hog["recall"] == 1.0 and hog["ap"] == pytest.approx(1.0)
    assert hog["ms_per_image"] > 0
    assert [p["iou_threshold"] for p in metrics["per_image"]["hog"]] == [0.5, 0.3]
    assert "hog" in result.output


def test_evaluate_detect_reads_fddb_format(test_images: Path, tmp_path: Path) -> None:
    # obama.jpg's face is (left 349, top 142, right 617, bottom 409): an upright ellipse around it
    fddb = tmp_path / "FDDB-fold-01-ellipseList.txt"
    fddb.write_text("obama\n1\n150 134 1.5707963 483 276 1\n", encoding="utf-8")
    _invoke(["detect", str(fddb), "--image-root", str(test_images), "--detector", "hog", "--upsample", "0",
             "--out", str(tmp_path), "--name", "fddb", "-q"])
    [hog] = _metrics(tmp_path / "fddb")["detectors"]
    assert hog["recall"] == 1.0 and hog["precision"] == 1.0


# -- speed -------------------------------------------------------------------------------------------------------
def test_evaluate_speed_table_and_throughput(test_images: Path, tmp_path: Path) -> None:
    result = _invoke(["speed", str(test_images / "biden.jpg"), "--upsample", "0", "--repeats", "1",
                      "--gallery-size", "100", "--workers", "1", "--throughput-images", "2", "--out", str(tmp_path),
                      "--name", "speed", "-q"])
    run = tmp_path / "speed"
    _assert_run_folder(run, ["speed"])
    metrics = _metrics(run)
    [size] = metrics["sizes"]
    assert size["faces"] == 1
    assert set(size["stage_ms"]) == {"load", "detect", "landmarks", "align", "encode", "search", "end_to_end"}
    assert all(v > 0 for v in size["stage_ms"].values())
    assert metrics["throughput"][0]["workers"] == 1 and metrics["throughput"][0]["images_per_second"] > 0
    assert "Face locations" in (run / "benchmark.txt").read_text(encoding="utf-8")
    assert "images/s" in result.output
