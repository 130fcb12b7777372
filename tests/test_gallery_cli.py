"""The gallery's click commands, run through click's CliRunner on real photos."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from facerec.cli.gallery_cmds import COMMANDS, enroll, identify_gallery, people, search


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


def test_cli_identify_gallery_json_and_csv(enrolled: str, test_images: Path) -> None:
    runner = CliRunner()
    photos = [str(test_images / "obama3.jpg"), str(test_images / "biden.jpg"), "--max-side", "800"]
    result = runner.invoke(identify_gallery, [*photos, "--gallery", enrolled, "--json", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    names = [f["faces"][0]["name"] for f in doc["files"]]
    assert names == ["obama", "unknown"]
    assert doc["files"][1]["faces"][0]["candidates"][0]["name"] == "obama"
    as_csv = runner.invoke(identify_gallery, [*photos, "--gallery", enrolled, "--csv", "--top-k", "2"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["name"] for r in rows] == ["obama", "unknown"]
    assert float(rows[1]["distance"]) > 0.6 and rows[1]["candidate_1"] == "obama" and rows[1]["candidate_2"] == ""
    table = runner.invoke(identify_gallery, [*photos, "--gallery", enrolled])
    assert "obama" in table.stdout and "unknown" in table.stdout


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
    mismatch = runner.invoke(identify_gallery, [str(test_images / "obama3.jpg"), "--gallery", enrolled,
                                                "--detector", "hog", "--embedder", "dlib", "--max-side", "800"])
    assert mismatch.exit_code == 0  # dlib and onnx share the model id
    monkeypatch.setenv("FACEREC_GALLERY", enrolled)
    listed = runner.invoke(people, ["list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)["people"]
    assert {c.name for c in COMMANDS} == {"enroll", "people", "identify-gallery", "search"}
