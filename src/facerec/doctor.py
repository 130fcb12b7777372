"""``doctor()``: what facerec runs on here (versions, model files, ONNX Runtime providers), as a dictionary.

The CLI's ``facerec doctor`` prints it; support requests should include it.
"""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

__all__ = ["doctor"]

_PACKAGES = {
    "numpy": ("numpy",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "onnx": ("onnx",),
    "dlib": ("dlib-bin", "dlib"),
    "Pillow": ("pillow", "Pillow"),
}


def _version(distributions: tuple[str, ...]) -> str | None:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _model_files() -> dict[str, dict[str, Any]]:
    from facerec.models.locate import MODEL_FILES, file_sha256, locate_model

    out: dict[str, dict[str, Any]] = {}
    for name in MODEL_FILES:
        try:
            path = locate_model(name)
            out[name] = {"path": str(path), "size": path.stat().st_size, "sha256": file_sha256(path)}
        except Exception as error:
            out[name] = {"error": f"{type(error).__name__}: {error}"}
    return out


def _backend(make: Any) -> dict[str, Any]:
    try:
        backend = make()
        return {"provider": backend.provider}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


def doctor() -> dict[str, Any]:
    """A report of the environment facerec runs in; never raises.

    Creates the ONNX backends (the first call builds and caches their ONNX graphs, about a second) to report the
    execution provider each one really uses.

    Returns:
        A JSON-ready dictionary::

            {
              "python": "3.11.2", "platform": "Linux-...",
              "versions": {"facerec": ..., "numpy": ..., "onnxruntime": ..., "onnx": ..., "dlib": ...,
                           "Pillow": ...},            # None when not installed
              "models": {"resnet": {"path", "size", "sha256"} | {"error"}, "mmod": ..., "shape5": ...,
                         "shape68": ...},
              "onnxruntime_providers": ["CPUExecutionProvider", ...],   # available in this onnxruntime
              "backends": {"embedder:onnx": {"provider": "CPUExecutionProvider"} | {"error"},
                           "detector:cnn": {...}},
            }

    Examples:
        >>> report = doctor()                                # doctest: +SKIP
        >>> report["backends"]["embedder:onnx"]["provider"]  # doctest: +SKIP
        'CPUExecutionProvider'
    """
    versions: dict[str, str | None] = {"facerec": _version(("facerec",))}
    versions.update({label: _version(dists) for label, dists in _PACKAGES.items()})
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "models": _model_files(),
    }
    try:
        import onnxruntime as ort

        report["onnxruntime_providers"] = list(ort.get_available_providers())
    except Exception as error:
        report["onnxruntime_providers"] = {"error": f"{type(error).__name__}: {error}"}

    def make_embedder() -> Any:
        from facerec.embedding.onnx_backend import OnnxEmbedder

        return OnnxEmbedder()

    def make_detector() -> Any:
        from facerec.detection.cnn import OnnxCnnDetector

        return OnnxCnnDetector()

    report["backends"] = {"embedder:onnx": _backend(make_embedder), "detector:cnn": _backend(make_detector)}
    return report
