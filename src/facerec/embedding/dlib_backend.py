"""dlib's own face ResNet (``dlib.face_recognition_model_v1``): the reference embedder."""

from __future__ import annotations

import os
import threading

import numpy as np
import numpy.typing as npt

from facerec.models.locate import locate_model

__all__ = ["DlibEmbedder"]


class DlibEmbedder:
    """``dlib.face_recognition_model_v1.compute_face_descriptor`` on ready-cut 150x150 chips.

    Safe to share between threads: dlib's network keeps each layer's output inside itself, so runs take turns
    behind a lock (see :mod:`facerec.concurrency`).

    Args:
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.
    """

    name = "dlib"

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        import dlib

        self._model = dlib.face_recognition_model_v1(str(locate_model("resnet", model_path)))
        self._lock = threading.Lock()

    def embed(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        with self._lock:
            vectors = self._model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)
