"""facerec.compat.face_recognition against dlib itself (what face_recognition 1.3 calls), on real photos.

face_recognition's own test suite runs against the compat package in ``tools/run_face_recognition_suite.sh``;
these tests add what that suite does not check: the same boxes, landmarks and encodings as dlib's own calls
(within 1e-5), nothing loaded at import, and the commands' lines for unknown faces, photos without faces and
``--cpus``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facerec.compat.face_recognition import api, face_detection_cli, face_recognition_cli
from facerec.models.locate import locate_model


@pytest.fixture(scope="module")
def dlib_models():  # type: ignore[no-untyped-def]
    import dlib

    return {
        "hog": dlib.get_frontal_face_detector(),
        "shape5": dlib.shape_predictor(str(locate_model("shape5"))),
        "shape68": dlib.shape_predictor(str(locate_model("shape68"))),
        "encoder": dlib.face_recognition_model_v1(str(locate_model("resnet"))),
    }


@pytest.mark.parametrize("photo", ["obama.jpg", "biden.jpg", "obama_partial_face.jpg", "32bit.png"])
def test_compat_boxes_landmarks_encodings_match_dlib(test_images: Path, dlib_models, photo: str) -> None:  # type: ignore[no-untyped-def]
    image = api.load_image_file(test_images / photo)
    rects = dlib_models["hog"](image, 1)
    css = [(r.top(), r.right(), r.bottom(), r.left()) for r in rects]
    expected_boxes = [(max(t, 0), min(r, image.shape[1]), min(b, image.shape[0]), max(left, 0))
                      for t, r, b, left in css]
    assert api.face_locations(image) == expected_boxes
    assert all(type(v) is int for box in api.face_locations(image) for v in box)
    for model, predictor in (("small", "shape5"), ("large", "shape68")):
        shapes = [dlib_models[predictor](image, r) for r in rects]
        ours = api._raw_face_landmarks(image, model=model)
        assert [[(p.x, p.y) for p in s.parts()] for s in ours] == [[(p.x, p.y) for p in s.parts()] for s in shapes]
        expected = [np.array(dlib_models["encoder"].compute_face_descriptor(image, s, 1)) for s in shapes]
        encodings = api.face_encodings(image, model=model)
        assert len(encodings) == len(expected) >= 1
        for got, want in zip(encodings, expected):
            assert got.shape == (128,) and got.dtype == np.float64
            assert np.max(np.abs(got - want)) < 1e-5


def test_compat_known_locations_and_landmark_names(test_images: Path) -> None:
    image = api.load_image_file(test_images / "obama.jpg")
    boxes = api.face_locations(image)
    assert api.face_encodings(image, boxes)[0] == pytest.approx(api.face_encodings(image)[0], abs=1e-6)
    features = api.face_landmarks(image, boxes)[0]
    assert list(features) == ["chin", "left_eyebrow", "right_eyebrow", "nose_bridge", "nose_tip", "left_eye",
                              "right_eye", "top_lip", "bottom_lip"]
    assert [len(v) for v in features.values()] == [17, 5, 5, 4, 5, 6, 6, 12, 12]
    assert list(api.face_landmarks(image, boxes, model="small")[0]) == ["nose_tip", "left_eye", "right_eye"]
    with pytest.raises(ValueError, match="small"):
        api.face_landmarks(image, boxes, model="medium")


def test_compat_gray_image_and_empty_results(test_images: Path) -> None:
    gray = api.load_image_file(test_images / "obama.jpg", mode="L")
    assert gray.ndim == 2
    assert len(api.face_locations(gray)) == 1
    assert len(api.face_encodings(gray)) == 1
    blank = np.zeros((200, 200, 3), dtype=np.uint8)
    assert api.face_locations(blank) == []
    assert api.face_encodings(blank) == []
    assert api.face_landmarks(blank) == []
    assert api.compare_faces([], np.zeros(128)) == []


def test_compat_compare_faces_tolerance(test_images: Path) -> None:
    obama = api.face_encodings(api.load_image_file(test_images / "obama.jpg"))[0]
    obama2 = api.face_encodings(api.load_image_file(test_images / "obama2.jpg"))[0]
    distance = float(api.face_distance([obama2], obama)[0])
    assert 0.2 < distance < 0.6
    assert api.compare_faces([obama2], obama, tolerance=distance + 0.01) == [True]
    assert api.compare_faces([obama2], obama, tolerance=distance - 0.01) == [False]


def test_compat_import_loads_no_model() -> None:
    code = ("import sys, facerec.compat.face_recognition as fr; "
            "print(sorted(m for m in ('dlib', 'onnxruntime', 'tensorflow', 'keras', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


@pytest.fixture()
def people(tmp_path: Path, test_images: Path) -> tuple[Path, Path]:
    known = tmp_path / "known"
    unknown = tmp_path / "unknown"
    known.mkdir()
    unknown.mkdir()
    shutil.copy(test_images / "obama.jpg", known / "obama.jpg")
    shutil.copy(test_images / "obama2.jpg", unknown / "a_obama2.jpg")
    shutil.copy(test_images / "biden.jpg", unknown / "b_biden.jpg")
    Image = pytest.importorskip("PIL.Image")
    Image.new("RGB", (120, 90), (40, 90, 160)).save(unknown / "c_sky.png")
    (unknown / "notes.txt").write_text("not a photo")
    return known, unknown


def test_compat_cli_lines_for_known_unknown_and_no_face(people: tuple[Path, Path]) -> None:
    known, unknown = people
    result = CliRunner().invoke(face_recognition_cli.main, [str(known), str(unknown)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{unknown / 'a_obama2.jpg'},obama",
                                          f"{unknown / 'b_biden.jpg'},unknown_person",
                                          f"{unknown / 'c_sky.png'},no_persons_found"]
    shown = CliRunner().invoke(face_recognition_cli.main, [str(known), str(unknown / "b_biden.jpg"),
                                                           "--show-distance", "true", "--tolerance", "0.9"])
    name, distance = shown.output.strip().split(",")[1:]
    assert name == "obama" and 0.6 < float(distance) < 0.9


def test_compat_cli_warns_on_stderr_for_a_known_photo_without_face(people: tuple[Path, Path],
                                                                   test_images: Path) -> None:
    known, unknown = people
    shutil.copy(unknown / "c_sky.png", known / "sky.png")
    result = subprocess.run([sys.executable, "-m", "facerec.compat.face_recognition.face_recognition_cli",
                             str(known), str(unknown / "a_obama2.jpg")], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [f"{unknown / 'a_obama2.jpg'},obama"]
    assert f"WARNING: No faces found in {known / 'sky.png'}. Ignoring file." in result.stderr


@pytest.mark.slow
def test_compat_cli_cpus_gives_the_serial_lines(people: tuple[Path, Path]) -> None:
    known, unknown = people
    command = [sys.executable, "-m", "facerec.compat.face_recognition.face_recognition_cli", str(known),
               str(unknown), "--show-distance", "true"]
    serial = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    parallel = subprocess.run([*command, "--cpus", "2"], capture_output=True, text=True, check=True).stdout
    assert parallel == serial and len(serial.splitlines()) == 3
    detect = [sys.executable, "-m", "facerec.compat.face_recognition.face_detection_cli", str(unknown)]
    boxes = subprocess.run(detect, capture_output=True, text=True, check=True).stdout
    assert subprocess.run([*detect, "--cpus", "2"], capture_output=True, text=True, check=True).stdout == boxes
    assert len(boxes.splitlines()) == 2


def test_compat_detection_cli_boxes_and_model_choice(test_images: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(face_detection_cli.main, [str(test_images / "obama.jpg")])
    image = api.load_image_file(test_images / "obama.jpg")
    expected = ",".join(str(v) for v in api.face_locations(image, number_of_times_to_upsample=0)[0])
    assert result.output.strip() == f"{test_images / 'obama.jpg'},{expected}"
    bad = runner.invoke(face_detection_cli.main, [str(test_images / "obama.jpg"), "--model", "mtcnn"])
    assert bad.exit_code == 2 and "hog" in bad.output


@pytest.mark.slow
def test_compat_cnn_boxes_match_dlib(test_images: Path) -> None:
    import dlib

    image = api.load_image_file(test_images / "obama.jpg")
    small = image[::2, ::2].copy()
    reference = dlib.cnn_face_detection_model_v1(str(locate_model("mmod")))(small, 0)
    ours = api._raw_face_locations(small, 0, model="cnn")
    assert [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()) for d in ours] == \
        [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()) for d in reference]
    assert [d.confidence for d in ours] == pytest.approx([d.confidence for d in reference], abs=1e-3)
    assert api.batch_face_locations([small, small], 0) == [api.face_locations(small, 0, "cnn")] * 2
