"""The ``facerec`` command line, through click's runner, on the reference photos."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from facerec.cli import cli
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.recognition.calibration import Calibration
from test_batch import write_bad_files, write_faceless


@pytest.fixture(autouse=True)
def _no_calibration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEREC_CALIBRATION", raising=False)


@pytest.fixture()
def calibration_file(tmp_path: Path) -> Path:
    """A calibration made by hand: threshold 0.55, P(same | d) = sigmoid(11 - 20 d), 0.5 at d = 0.55."""
    path = tmp_path / "calibration.json"
    Calibration(threshold=0.55, target_far=1e-3, far=1e-3, frr=0.05, slope=-20.0, intercept=11.0).save(path)
    return path


def invoke(*args: Any) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture()
def known_flat(tmp_path: Path, test_images: Path) -> Path:
    """known/barack.jpg: one photo per person, named by the file."""
    folder = tmp_path / "known_flat"
    folder.mkdir()
    shutil.copyfile(test_images / "obama.jpg", folder / "barack.jpg")
    return folder


@pytest.fixture()
def known_nested(tmp_path: Path, test_images: Path) -> Path:
    """known/barack/*.jpg: one folder per person, several photos."""
    folder = tmp_path / "known_nested" / "barack"
    folder.mkdir(parents=True)
    shutil.copyfile(test_images / "obama.jpg", folder / "a.jpg")
    shutil.copyfile(test_images / "obama_partial_face2.jpg", folder / "b.jpg")
    return folder.parent


# -- help and usage --------------------------------------------------------------------------------------------
def test_help_documents_commands_and_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("detect", "landmarks", "embed", "verify", "identify", "doctor"):
        assert command in result.stdout
        assert invoke(command, "--help").exit_code == 0
    assert "Exit codes" in result.stdout and "2  usage error" in result.stdout


def test_json_and_csv_together_is_a_usage_error(test_images: Path) -> None:
    result = invoke("detect", "--json", "--csv", test_images / "obama.jpg")
    assert result.exit_code == 2 and "--json" in result.stderr


def test_no_image_found_exits_2(tmp_path: Path) -> None:
    result = invoke("detect", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"facerec: no image files found in {tmp_path}"
    assert result.stdout == ""


def test_unknown_detector_is_a_usage_error(test_images: Path) -> None:
    result = invoke("detect", "--detector", "hgo", test_images / "obama.jpg")
    assert result.exit_code == 2 and "hog" in result.stderr


# -- detect, landmarks, embed ----------------------------------------------------------------------------------
def test_detect_table_on_reference_photos(test_images: Path) -> None:
    result = invoke("detect", "--max-side", "0", test_images / "obama.jpg", test_images / "biden.jpg")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FILE", "FACE", "LEFT", "TOP", "RIGHT", "BOTTOM", "SCORE"]
    assert lines[1].split()[:6] == [str(test_images / "obama.jpg"), "1", "349", "142", "617", "409"]
    assert len(lines) == 3


def test_detect_json_and_csv_parse(tmp_path: Path, test_images: Path) -> None:
    grey = write_faceless(tmp_path / "grey.png")
    document = json.loads(invoke("detect", "--json", "--max-side", "0", test_images / "obama.jpg", grey).stdout)
    first, second = document["files"]
    assert (first["width"], first["height"]) == (910, 1137)
    assert first["faces"][0]["box"] == {"left": 349, "top": 142, "right": 617, "bottom": 409}
    assert second["faces"] == [] and document["errors"] == []
    rows = csv_rows(invoke("detect", "--csv", "--max-side", "0", test_images / "obama.jpg", grey).stdout)
    assert [(r["face"], r["left"]) for r in rows] == [("1", "349"), ("", "")]
    assert float(rows[0]["score"]) > 0


def test_detect_says_when_a_photo_has_no_face(tmp_path: Path) -> None:
    result = invoke("detect", write_faceless(tmp_path / "grey.png"))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1].split()[1:] == ["-", "no", "face", "found"]


def test_landmarks_68_json_and_5_csv(test_images: Path) -> None:
    document = json.loads(invoke("landmarks", "--json", test_images / "obama.jpg").stdout)
    face = document["files"][0]["faces"][0]
    assert document["points"] == 68 and len(face["landmarks"]) == 68
    assert set(face["groups"]) >= {"chin", "left_eye", "top_lip"}
    rows = csv_rows(invoke("landmarks", "--csv", "--points", "5", test_images / "obama.jpg").stdout)
    assert len(rows) == 1 and "x4" in rows[0] and "x5" not in rows[0]
    table = invoke("landmarks", test_images / "obama.jpg").stdout
    assert "LEFT_EYE" in table and "68" in table


def test_embed_gives_128_floats_in_json_and_csv(test_images: Path) -> None:
    document = json.loads(invoke("embed", "--json", test_images / "obama.jpg").stdout)
    vector = document["files"][0]["faces"][0]["embedding"]
    assert len(vector) == 128 and all(isinstance(v, float) for v in vector)
    rows = csv_rows(invoke("embed", "--csv", test_images / "obama.jpg").stdout)
    assert [float(rows[0][f"e{k}"]) for k in range(128)] == pytest.approx(vector, abs=1e-6)
    assert "EMBEDDING" in invoke("embed", test_images / "obama.jpg").stdout


# -- bad files -------------------------------------------------------------------------------------------------
def test_directory_with_bad_files_carries_on_and_exits_1(tmp_path: Path, test_images: Path) -> None:
    folder = tmp_path / "photos"
    bad = write_bad_files(folder / "bad", test_images / "obama2.jpg")
    shutil.copyfile(test_images / "obama2.jpg", folder / "obama2.jpg")
    missing = tmp_path / "missing.jpg"
    result = invoke("detect", "--upsample", "0", folder, missing)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 5
    for path in [*bad.values(), missing]:
        assert sum(line.startswith(f"facerec: {path}: ") for line in errors) == 1, errors
    assert "obama2.jpg" in result.stdout and "corrupt" not in result.stdout


def test_only_bad_files_exits_2_without_output(tmp_path: Path, test_images: Path) -> None:
    bad = write_bad_files(tmp_path, test_images / "obama2.jpg")
    result = invoke("embed", "--json", bad["text"], bad["empty"])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 3  # two files, then "none ... could be used"


# -- verify ----------------------------------------------------------------------------------------------------
def test_verify_same_person_exits_0(test_images: Path) -> None:
    result = invoke("verify", "--max-side", "0", test_images / "obama.jpg", test_images / "obama2.jpg")
    assert result.exit_code == 0
    row = result.stdout.splitlines()[1].split()  # the blank PROBABILITY cell takes no word
    assert row[-3:] == ["same", "349,142,617,409", "171,290,438,558"]  # RESULT, then the faces compared


def test_verify_different_people_exits_1_with_json(test_images: Path) -> None:
    result = invoke("verify", "--json", "--threshold", "0.6", test_images / "obama.jpg", test_images / "biden.jpg")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["same"] is False and document["threshold"] == 0.6 and document["distance"] > 0.6


def test_verify_with_calibration_shows_the_probability(calibration_file: Path, test_images: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    same = invoke("verify", "--calibration", calibration_file, test_images / "obama.jpg", test_images / "obama2.jpg")
    assert same.exit_code == 0
    header, row = (line.split() for line in same.stdout.splitlines())
    assert header == ["A", "B", "DISTANCE", "THRESHOLD", "PROBABILITY", "RESULT", "A_BOX", "B_BOX"]
    assert row[3] == "0.55" and float(row[4]) > 0.9 and row[5] == "same"  # the calibration's threshold
    monkeypatch.setenv("FACEREC_CALIBRATION", str(calibration_file))
    different = json.loads(invoke("verify", "--json", test_images / "obama.jpg", test_images / "biden.jpg").stdout)
    assert different["calibration"] == str(calibration_file) and different["threshold"] == 0.55
    assert different["probability"] == pytest.approx(1 / (1 + math.exp(20 * different["distance"] - 11)))
    assert different["probability"] < 0.1 and different["same"] is False
    explicit = json.loads(invoke("verify", "--json", "--threshold", "0.9", test_images / "obama.jpg",
                                 test_images / "biden.jpg").stdout)
    assert explicit["threshold"] == 0.9 and explicit["same"] is True
    assert explicit["probability"] == pytest.approx(different["probability"])


def test_verify_without_calibration_leaves_the_probability_blank(test_images: Path) -> None:
    result = invoke("verify", "--csv", test_images / "obama.jpg", test_images / "obama2.jpg")
    row = csv_rows(result.stdout)[0]
    assert row["probability"] == "" and row["threshold"] == str(DEFAULT_DISTANCE_THRESHOLD)
    document = json.loads(invoke("verify", "--json", test_images / "obama.jpg", test_images / "obama2.jpg").stdout)
    assert document["probability"] is None and document["calibration"] is None


def test_verify_unreadable_or_faceless_photo_exits_2(tmp_path: Path, test_images: Path) -> None:
    text = write_bad_files(tmp_path, test_images / "obama2.jpg")["text"]
    result = invoke("verify", test_images / "obama.jpg", text)
    assert result.exit_code == 2
    assert result.stderr == f"facerec: {text}: not an image, or a format Pillow cannot read\n"
    grey = write_faceless(tmp_path / "grey.png")
    result = invoke("verify", test_images / "obama.jpg", grey)
    assert result.exit_code == 2 and result.stderr == f"facerec: {grey}: no face found\n"


# -- identify --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["known_flat", "known_nested"])
def test_identify_names_known_and_unknown(layout: str, request: pytest.FixtureRequest, tmp_path: Path,
                                          test_images: Path) -> None:
    known = request.getfixturevalue(layout)
    grey = write_faceless(tmp_path / "grey.png")
    result = invoke("identify", "--known", known, "--csv", test_images / "obama2.jpg", test_images / "biden.jpg",
                    grey)
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [(Path(r["file"]).name, r["face"], r["name"], r["nearest"]) for r in rows] == [
        ("obama2.jpg", "1", "barack", "barack"),
        ("biden.jpg", "1", "unknown", "barack"),
        ("grey.png", "", "", ""),
    ]
    assert float(rows[0]["distance"]) < 0.6 < float(rows[1]["distance"])


def test_identify_table_and_json(known_flat: Path, tmp_path: Path, test_images: Path) -> None:
    grey = write_faceless(tmp_path / "grey.png")
    table = invoke("identify", "--known", known_flat, test_images / "obama2.jpg", grey)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["FILE", "FACE", "NAME", "DISTANCE", "NEAREST"]
    assert lines[1].split()[1:3] == ["1", "barack"]
    assert lines[2].endswith("no face found")
    document = json.loads(invoke("identify", "--known", known_flat, "--json", test_images / "obama2.jpg").stdout)
    assert document["known"] == ["barack"] and document["threshold"] == DEFAULT_DISTANCE_THRESHOLD
    assert document["files"][0]["faces"][0]["name"] == "barack"


def test_identify_known_with_calibration_gives_probabilities(known_flat: Path, calibration_file: Path,
                                                            test_images: Path) -> None:
    photos = [test_images / "obama2.jpg", test_images / "biden.jpg"]
    document = json.loads(invoke("identify", "--known", known_flat, "--calibration", calibration_file, "--json",
                                 *photos).stdout)
    assert document["threshold"] == 0.55 and document["calibration"] == str(calibration_file)
    obama, biden = (f["faces"][0] for f in document["files"])
    assert (obama["name"], biden["name"]) == ("barack", "unknown")
    assert obama["probability"] > 0.9 and biden["probability"] < 0.1
    rows = csv_rows(invoke("identify", "--known", known_flat, "--calibration", calibration_file, "--csv",
                           *photos).stdout)
    assert float(rows[0]["probability"]) == pytest.approx(obama["probability"])
    plain = json.loads(invoke("identify", "--known", known_flat, "--json", *photos).stdout)
    assert plain["threshold"] == DEFAULT_DISTANCE_THRESHOLD and plain["files"][0]["faces"][0]["probability"] is None


def test_identify_reports_unusable_known_photos(known_flat: Path, test_images: Path) -> None:
    write_faceless(known_flat / "nobody.png")
    result = invoke("identify", "--known", known_flat, test_images / "obama2.jpg")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"facerec: {known_flat / 'nobody.png'}: no face found"]
    assert "barack" in result.stdout


def test_identify_without_known_faces_exits_2(tmp_path: Path, test_images: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("identify", "--known", empty, test_images / "obama2.jpg")
    assert result.exit_code == 2 and "no photos of known people" in result.stderr
    result = invoke("identify", "--known", tmp_path / "nowhere", test_images / "obama2.jpg")
    assert result.exit_code == 2


def test_identify_draw_writes_images_of_the_right_size(known_flat: Path, tmp_path: Path,
                                                       test_images: Path) -> None:
    out = tmp_path / "drawn"
    result = invoke("identify", "--known", known_flat, "--draw", out, test_images / "obama2.jpg",
                    test_images / "32bit.png")
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["32bit.png", "obama2.jpg"]
    for name in ("obama2.jpg", "32bit.png"):
        with Image.open(test_images / name) as original, Image.open(out / name) as drawn:
            drawn.load()
            assert drawn.size == original.size and drawn.mode == "RGB"


def test_workers_2_give_the_same_result_as_workers_1(known_flat: Path, test_images: Path) -> None:
    photos = [test_images / "obama2.jpg", test_images / "biden.jpg"]
    outputs = []
    for workers in (1, 2):
        result = invoke("identify", "--known", known_flat, "--json", "--upsample", "0", "--workers", workers,
                        *photos)
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout))
    single, pooled = outputs
    assert [f["file"] for f in pooled["files"]] == [f["file"] for f in single["files"]]
    for a, b in zip(single["files"], pooled["files"]):
        assert [(f["box"], f["name"], f["nearest"]) for f in a["faces"]] == \
               [(f["box"], f["name"], f["nearest"]) for f in b["faces"]]
        assert [f["distance"] for f in a["faces"]] == pytest.approx([f["distance"] for f in b["faces"]], abs=1e-5)


# -- doctor ----------------------------------------------------------------------------------------------------
def test_doctor_prints_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("facerec.doctor")
    fake.doctor = lambda: {"versions": {"facerec": "0.1.0", "numpy": "2.0"},  # type: ignore[attr-defined]
                           "models": [{"name": "resnet", "sha256": "abc"}], "onnx_provider": "CPUExecutionProvider"}
    monkeypatch.setitem(sys.modules, "facerec.doctor", fake)
    table = invoke("doctor")
    assert table.exit_code == 0
    assert "CPUExecutionProvider" in table.stdout and "sha256=abc" in table.stdout
    assert json.loads(invoke("doctor", "--json").stdout)["versions"]["numpy"] == "2.0"


def test_doctor_without_its_module_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "facerec.doctor", None)  # makes the import fail
    result = invoke("doctor")
    assert result.exit_code == 2 and result.stderr.startswith("facerec: doctor is not available")
