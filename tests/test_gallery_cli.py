"""The gallery's click commands, run through click's CliRunner on real photos."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from facerec.cli import cli
from facerec.cli.gallery_cmds import COMMANDS, enroll, people, search
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.recognition.calibration import Calibration

#: A calibration made by hand: threshold 0.55, P(same | d) = sigmoid(11 - 20 d), 0.5 at d = 0.55.
CALIBRATION = Calibration(threshold=0.55, target_far=1e-3, far=1e-3, frr=0.05, slope=-20.0, intercept=11.0)


@pytest.fixture(autouse=True)
def _no_calibration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEREC_CALIBRATION", raising=False)


def identify(*args: object) -> Any:
    """``facerec identify ARGS`` through the main group (which turns facerec's errors into exit code 2)."""
    result = CliRunner().invoke(cli, ["identify", *(str(a) for a in args)])
    assert "Traceback" not in result.output
    return result


@pytest.fixture()
def people_dir(test_images: Path, tmp_path: Path) -> Path:
    root = tmp_path / "people"
    (root / "obama").mkdir(parents=True)
    shutil.copy(test_images / "obama.jpg", root / "obama" / "a.jpg")
    shutil.copy(test_images / "obama2.jpg", root / "obama" / "b.jpg")
    return root


@pytest.fixture(scope="module")
def enrolled_template(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery with obama enrolled through the CLI, made once per module."""
    root = tmp_path_factory.mktemp("template")
    (root / "people" / "obama").mkdir(parents=True)
    shutil.copy(test_images / "obama.jpg", root / "people" / "obama" / "a.jpg")
    shutil.copy(test_images / "obama2.jpg", root / "people" / "obama" / "b.jpg")
    gallery = root / "g.sqlite"
    result = CliRunner().invoke(enroll, [str(root / "people"), "--gallery", str(gallery), "--json"])
    assert result.exit_code == 0, result.output
    return gallery


@pytest.fixture()
def enrolled(enrolled_template: Path, tmp_path: Path) -> str:
    """A copy of the template gallery for one test."""
    gallery = tmp_path / "g.sqlite"
    shutil.copy(enrolled_template, gallery)
    return str(gallery)


def test_cli_enroll_reports_each_photo_and_is_idempotent(people_dir: Path, tmp_path: Path,
                                                         test_images: Path) -> None:
    shutil.copy(test_images / "obama.jpg", people_dir / "stray.jpg")
    gallery = str(tmp_path / "g.sqlite")
    runner = CliRunner()
    first = runner.invoke(enroll, [str(people_dir), "--gallery", gallery, "--json"])
    assert first.exit_code == 1  # one photo skipped
    doc = json.loads(first.stdout)
    assert doc["counts"] == {"enrolled": 2, "not_in_person_folder": 1}
    assert "stray.jpg" in first.stderr
    (people_dir / "stray.jpg").unlink()
    again = runner.invoke(enroll, [str(people_dir), "--gallery", gallery, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["counts"] == {"unchanged": 2}
    (tmp_path / "empty").mkdir()
    nothing = runner.invoke(enroll, [str(tmp_path / "empty"), "--gallery", gallery])
    assert nothing.exit_code == 2 and nothing.stderr.startswith("facerec: no photos found")


def test_cli_people_list_show_rename_merge_remove(enrolled: str, tmp_path: Path, test_images: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(people, ["list", "--gallery", enrolled, "--json"])
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.stdout)
    assert [(p["name"], p["samples"]) for p in doc["people"]] == [("obama", 2)]
    assert doc["model"].startswith("dlib-resnet-v1:")
    table = runner.invoke(people, ["list", "--gallery", enrolled])
    assert "obama" in table.stdout and table.stdout.startswith("ID")
    show = runner.invoke(people, ["show", "obama", "--gallery", enrolled, "--json"])
    assert show.exit_code == 0 and len(json.loads(show.stdout)["sample_list"]) == 2
    assert runner.invoke(people, ["rename", "obama", "barack", "--gallery", enrolled]).exit_code == 0
    missing = runner.invoke(people, ["show", "obama", "--gallery", enrolled])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("facerec: no person 'obama'") and "Traceback" not in missing.output
    # a second person from another folder, then merge into the first
    other = tmp_path / "more"
    (other / "president").mkdir(parents=True)
    shutil.copy(test_images / "obama3.jpg", other / "president" / "c.jpg")
    assert runner.invoke(enroll, [str(other), "--gallery", enrolled]).exit_code == 0
    merged = runner.invoke(people, ["merge", "president", "barack", "--gallery", enrolled])
    assert merged.exit_code == 0 and "3 samples" in merged.stdout
    refused = runner.invoke(people, ["remove", "barack", "--gallery", enrolled], input="n\n")
    assert refused.exit_code == 1
    removed = runner.invoke(people, ["remove", "barack", "--gallery", enrolled, "--yes"])
    assert removed.exit_code == 0 and "3 samples" in removed.stdout
    empty = runner.invoke(people, ["list", "--gallery", enrolled, "--json"])
    assert json.loads(empty.stdout)["people"] == []


def test_cli_identify_gallery_json_csv_and_table(enrolled: str, test_images: Path) -> None:
    photos = [test_images / "obama3.jpg", test_images / "biden.jpg", "--max-side", "800"]
    result = identify(*photos, "--gallery", enrolled, "--json", "--top-k", "2")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["gallery"] == enrolled and doc["top_k"] == 2 and doc["threshold"] == DEFAULT_DISTANCE_THRESHOLD
    faces = [f["faces"][0] for f in doc["files"]]
    assert [f["name"] for f in faces] == ["obama", "unknown"]
    assert [f["nearest"] for f in faces] == ["obama", "obama"]
    assert faces[0]["distance"] < 0.6 < faces[1]["distance"]
    assert faces[1]["candidates"][0]["name"] == "obama" and faces[1]["person_id"] is None
    assert doc["calibration"] is None and faces[0]["probability"] is None  # no calibration: no probability
    as_csv = identify(*photos, "--gallery", enrolled, "--csv", "--top-k", "2")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["name"] for r in rows] == ["obama", "unknown"]
    assert float(rows[1]["distance"]) > 0.6 and rows[1]["candidate_1"] == "obama" and rows[1]["candidate_2"] == ""
    assert rows[0]["probability"] == rows[0]["probability_1"] == ""
    table = identify(*photos, "--gallery", enrolled)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:6] == ["FILE", "FACE", "NAME", "DISTANCE", "NEAREST", "PROBABILITY"]
    assert lines[1].split()[2] == "obama" and lines[2].split()[2] == "unknown"


def test_cli_identify_gallery_top_k_limits_the_candidates(enrolled: str, tmp_path: Path,
                                                          test_images: Path) -> None:
    other = tmp_path / "more"
    (other / "partial").mkdir(parents=True)
    shutil.copy(test_images / "obama_partial_face.jpg", other / "partial" / "a.jpg")
    assert CliRunner().invoke(enroll, [str(other), "--gallery", enrolled]).exit_code == 0
    candidates = {}
    for k in (1, 2):
        result = identify(test_images / "biden.jpg", "--gallery", enrolled, "--json", "--top-k", k,
                          "--max-side", "800")
        assert result.exit_code == 0, result.output
        candidates[k] = json.loads(result.stdout)["files"][0]["faces"][0]["candidates"]
    assert len(candidates[1]) == 1 and len(candidates[2]) == 2
    assert {c["name"] for c in candidates[2]} == {"obama", "partial"}
    assert candidates[2][0] == candidates[1][0] and candidates[2][0]["distance"] <= candidates[2][1]["distance"]


def test_cli_identify_gallery_draw_writes_annotated_copies(enrolled: str, tmp_path: Path,
                                                           test_images: Path) -> None:
    from PIL import Image

    out = tmp_path / "drawn"
    result = identify(test_images / "obama3.jpg", test_images / "biden.jpg", test_images / "32bit.png",
                      "--gallery", enrolled, "--draw", out, "--max-side", "800", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["32bit.png", "biden.jpg", "obama3.jpg"]
    assert [Path(f["annotated"]).name for f in json.loads(result.stdout)["files"]] == \
        ["obama3.jpg", "biden.jpg", "32bit.png"]
    assert "wrote 3 annotated copies" in result.stderr
    for name in ("obama3.jpg", "32bit.png"):
        with Image.open(test_images / name) as original, Image.open(out / name) as drawn:
            drawn.load()
            assert drawn.mode == "RGB" and drawn.size == original.size


def test_cli_identify_gallery_calibration_gives_probabilities(enrolled: str, tmp_path: Path, test_images: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calibration = tmp_path / "calibration.json"
    CALIBRATION.save(calibration)
    photos = [test_images / "obama3.jpg", test_images / "biden.jpg", "--gallery", enrolled, "--max-side", "800"]
    doc = json.loads(identify(*photos, "--calibration", calibration, "--json").stdout)
    assert doc["threshold"] == 0.55 and doc["calibration"] == str(calibration)  # the calibration's threshold
    obama, biden = (f["faces"][0] for f in doc["files"])
    assert obama["probability"] == pytest.approx(CALIBRATION.probability(obama["distance"]))
    assert obama["probability"] > 0.9 and biden["probability"] < 0.1
    assert biden["candidates"][0]["probability"] == pytest.approx(biden["probability"])
    explicit = json.loads(identify(*photos, "--calibration", calibration, "--threshold", "0.3", "--json").stdout)
    assert explicit["threshold"] == 0.3 and explicit["files"][0]["faces"][0]["name"] == "unknown"
    monkeypatch.setenv("FACEREC_CALIBRATION", str(calibration))
    rows = list(csv.DictReader(io.StringIO(identify(*photos, "--csv").stdout)))
    assert float(rows[0]["probability"]) > 0.9 and float(rows[1]["probability_1"]) < 0.1
    missing = identify(*photos, "--calibration", tmp_path / "nowhere.json")
    assert missing.exit_code == 2 and "no such calibration file" in missing.stderr


def test_cli_identify_uses_the_default_gallery(enrolled: str, tmp_path: Path, test_images: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEREC_GALLERY", enrolled)
    found = identify(test_images / "obama3.jpg", "--max-side", "800", "--json")
    assert found.exit_code == 0 and json.loads(found.stdout)["gallery"] == enrolled
    monkeypatch.setenv("FACEREC_GALLERY", str(tmp_path / "nowhere.sqlite"))
    missing = identify(test_images / "obama3.jpg")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "nowhere.sqlite" in missing.stderr and "--known DIR" in missing.stderr


def test_cli_identify_known_and_gallery_together_exits_2(enrolled: str, tmp_path: Path,
                                                         test_images: Path) -> None:
    both = identify("--known", tmp_path, "--gallery", enrolled, test_images / "obama3.jpg")
    assert both.exit_code == 2 and "choose one of --known and --gallery" in both.stderr
    top_k = identify("--known", tmp_path, "--top-k", "2", test_images / "obama3.jpg")
    assert top_k.exit_code == 2 and "--top-k" in top_k.stderr


def test_cli_search_lists_candidates(enrolled: str, test_images: Path) -> None:
    result = CliRunner().invoke(search, [str(test_images / "biden.jpg"), "--gallery", enrolled, "--json",
                                    "--max-side", "800"])
    assert result.exit_code == 0, result.output
    faces = json.loads(result.stdout)["faces"]
    assert faces[0]["candidates"][0]["name"] == "obama"


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path, test_images: Path, enrolled: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("FACEREC_GALLERY", str(tmp_path / "nowhere.sqlite"))
    missing = runner.invoke(people, ["list"])
    assert missing.exit_code == 2
    assert missing.stderr.strip().count("\n") == 0 and "nowhere.sqlite" in missing.stderr
    assert not (tmp_path / "nowhere.sqlite").exists()
    mismatch = identify(test_images / "obama3.jpg", "--gallery", enrolled, "--detector", "hog", "--embedder",
                        "dlib", "--max-side", "800")
    assert mismatch.exit_code == 0  # dlib and onnx share the model id
    monkeypatch.setenv("FACEREC_GALLERY", enrolled)
    listed = runner.invoke(people, ["list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)["people"]
    assert {c.name for c in COMMANDS} == {"enroll", "people", "search"}  # identify --gallery names faces
    assert "identify-gallery" not in cli.commands


def test_cli_says_when_a_search_first_builds_the_index(enrolled: str, test_images: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from facerec.gallery import search as search_module

    if not search_module.hnswlib_available():
        pytest.skip("hnswlib not installed: pip install '.[gallery]'")
    monkeypatch.setattr(search_module, "ANN_MIN_SAMPLES", 2)  # the enrolled gallery holds two samples
    runner = CliRunner()
    first = runner.invoke(search, [str(test_images / "obama2.jpg"), "--gallery", enrolled, "--json"])
    assert first.exit_code == 0, first.output
    assert "building the search index of 2 samples" in first.stderr
    assert json.loads(first.stdout)["faces"][0]["candidates"][0]["name"] == "obama"
    assert Path(enrolled + ".hnsw").is_file()
    again = runner.invoke(search, [str(test_images / "obama2.jpg"), "--gallery", enrolled, "--json"])
    assert again.exit_code == 0 and "building" not in again.stderr
    found = identify(test_images / "obama2.jpg", "--gallery", enrolled, "--json")
    assert "building" not in found.stderr
