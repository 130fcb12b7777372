"""``facerec cluster`` and ``facerec calibrate`` invoked directly through click's runner, on real photos."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn")

from click.testing import CliRunner

from facerec.analyzer import DEFAULT_EMBEDDER
from facerec.cli.recognition_cmds import COMMANDS, calibrate, cluster
from facerec.recognition import load_calibration


@pytest.fixture(scope="module")
def photos(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three photos of Obama and one of Biden in one folder."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        (folder / name).symlink_to(test_images / name)
    return folder


@pytest.fixture(scope="module")
def clustered(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    crops = tmp_path_factory.mktemp("crops")
    result = CliRunner().invoke(cluster, [str(photos), "--json", "--crops", str(crops)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), crops


def test_cluster_groups_obama_apart_from_biden(clustered: tuple[dict[str, Any], Path]) -> None:
    report, _ = clustered
    assert (report["method"], report["threshold"], report["photos"], report["faces"]) == \
        ("agglomerative", 0.55, 4, 4)
    groups = [sorted(Path(f["file"]).name for f in c["faces"]) for c in report["clusters"]]
    assert groups == [["obama.jpg", "obama2.jpg", "obama3.jpg"], ["biden.jpg"]]
    assert [c["cluster"] for c in report["clusters"]] == [0, 1] and report["noise"] == []


def test_cluster_writes_one_crop_folder_per_cluster(clustered: tuple[dict[str, Any], Path]) -> None:
    _, crops = clustered
    assert sorted(p.name for p in (crops / "cluster_0").iterdir()) == \
        ["obama2_face1.jpg", "obama3_face1.jpg", "obama_face1.jpg"]
    assert [p.name for p in (crops / "cluster_1").iterdir()] == ["biden_face1.jpg"]
    from PIL import Image

    with Image.open(crops / "cluster_1" / "biden_face1.jpg") as crop:
        assert 150 < crop.width < 600 and 150 < crop.height < 600


def test_cluster_min_size_csv_and_table(photos: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cluster, [str(photos), "--csv", "--min-size", "2"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(Path(r["file"]).name, r["cluster"]) for r in rows] == [
        ("obama.jpg", "0"), ("obama2.jpg", "0"), ("obama3.jpg", "0"), ("biden.jpg", "-1")]
    assert set(rows[0]) == {"file", "face", "left", "top", "right", "bottom", "cluster", "crop"}
    table = runner.invoke(cluster, [str(photos / "obama.jpg"), str(photos / "biden.jpg"), "--threshold", "5"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["CLUSTER", "SIZE", "FILE"] and len(lines) == 3
    assert all(line.split()[:2] == ["0", "2"] for line in lines[1:])  # one loose cluster holds both


def test_cluster_errors_are_one_line_exit_2(tmp_path: Path, photos: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(cluster, [str(tmp_path)])
    assert empty.exit_code == 2 and empty.stderr.startswith("facerec: no image files found")
    both = runner.invoke(cluster, [str(photos), "--json", "--csv"])
    assert both.exit_code == 2
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(blank)
    faceless = runner.invoke(cluster, [str(blank)])
    assert faceless.exit_code == 2 and faceless.stderr.strip() == "facerec: no faces found in the 1 photo(s)"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    partly = runner.invoke(cluster, [str(photos / "obama.jpg"), str(broken)])
    assert partly.exit_code == 1 and f"facerec: {broken}:" in partly.stderr


def test_calibrate_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    missing = CliRunner().invoke(calibrate, [str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert missing.stderr.strip().startswith("facerec: ") and "not a directory" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    bad_far = CliRunner().invoke(calibrate, [str(tmp_path), "--target-far", "2"])
    assert bad_far.exit_code == 2


@pytest.mark.shared_data
def test_calibrate_lfw_folder_writes_json(shared_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "people"
    for name in ("Colin_Powell", "Tony_Blair", "Hugo_Chavez"):
        (data / name).mkdir(parents=True)
        for photo in sorted((shared_data / "lfw" / "images" / name).glob("*.jpg"))[:4]:
            (data / name / photo.name).symlink_to(photo)
    out = tmp_path / "cal.json"
    result = CliRunner().invoke(calibrate, [str(data), "--target-far", "0.05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("threshold  0.") and "12 photos of 3 people; 0 skipped" in result.stdout
    cal = load_calibration(out)
    assert (cal.people, cal.images, cal.genuine_pairs, cal.impostor_pairs, cal.embedder) == \
        (3, 12, 18, 48, DEFAULT_EMBEDDER)
    assert cal.far <= 0.05 and 0.3 < cal.threshold < 0.8
    as_json = CliRunner().invoke(calibrate, [str(data), "--target-far", "0.05", "--out", str(out), "--json"])
    assert json.loads(as_json.stdout)["threshold"] == cal.threshold


def test_commands_are_exported_for_the_main_group() -> None:
    assert [c.name for c in COMMANDS] == ["cluster", "calibrate"]
