"""Find dlib's model files and facerec's cache folder.

Model files are resolved in this order: an explicit path given by the caller, the folder named by the environment
variable ``FACEREC_MODELS_DIR``, then the installed ``face_recognition_models`` package (found with
:func:`importlib.util.find_spec`, without importing it: its ``__init__`` needs ``pkg_resources``, which recent
setuptools no longer ship).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from facerec.errors import ModelNotFoundError, UnknownNameError
from facerec.files import file_sha256

__all__ = ["MODEL_FILES", "cache_dir", "file_sha256", "locate_model", "write_cache_file"]

#: facerec's short names for dlib's model files.
MODEL_FILES: dict[str, str] = {
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "mmod": "mmod_human_face_detector.dat",
    "shape5": "shape_predictor_5_face_landmarks.dat",
    "shape68": "shape_predictor_68_face_landmarks.dat",
}

_FIX = "pip install face-recognition-models   (or set FACEREC_MODELS_DIR to a folder holding the .dat files)"


def _package_models_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "models"
        if candidate.is_dir():
            return candidate
    return None


def locate_model(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """The path of one of dlib's model files.

    Args:
        name: a key of :data:`MODEL_FILES` (``"resnet"``, ``"mmod"``, ``"shape5"``, ``"shape68"``).
        path: an explicit file to use instead; it must exist.

    Raises:
        UnknownNameError: ``name`` is not a known model.
        ModelNotFoundError: the file was found nowhere; the message lists what was tried and the fix.
    """
    if name not in MODEL_FILES:
        raise UnknownNameError("model", name, MODEL_FILES)
    filename = MODEL_FILES[name]
    tried: list[str] = []
    if path is not None:
        candidate = Path(path)
        if candidate.is_file():
            return candidate
        raise ModelNotFoundError(f"model file {candidate} does not exist")
    env_dir = os.environ.get("FACEREC_MODELS_DIR")
    if env_dir:
        candidate = Path(env_dir) / filename
        if candidate.is_file():
            return candidate
        tried.append(f"{candidate} (FACEREC_MODELS_DIR)")
    package_dir = _package_models_dir()
    if package_dir is not None:
        candidate = package_dir / filename
        if candidate.is_file():
            return candidate
        tried.append(f"{candidate} (face_recognition_models package)")
    else:
        tried.append("the face_recognition_models package (not installed)")
    raise ModelNotFoundError(f"cannot find {filename}; tried {'; '.join(tried)}. Fix: {_FIX}")


def cache_dir() -> Path:
    """facerec's cache folder (``FACEREC_CACHE_DIR``, else ``$XDG_CACHE_HOME/facerec``, else ``~/.cache/facerec``)."""
    env = os.environ.get("FACEREC_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "facerec"
    base.mkdir(parents=True, exist_ok=True)
    return base


def write_cache_file(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` (creating its folder) through a temporary file renamed into place, so that
    concurrent processes never read half a file; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
