"""Classify the faces of new photos with a trained run folder (what ``facerec predict`` does).

Each photo goes through the pipeline the run was trained with (the same detector, chip size and padding, or
the whole resized photo for a run trained with ``align=False``); every face found is classified, and faces whose
best probability is below ``threshold`` are called ``"unknown"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, ModelNotFoundError
from facerec.training.data import ChipSettings, photo_chips
from facerec.types import UNKNOWN

__all__ = ["UNKNOWN", "FacePrediction", "TrainedModel", "load_run", "predict_photos"]


@dataclass(frozen=True)
class FacePrediction:
    """One classified face.

    Attributes:
        path: the photo.
        box: ``(left, top, right, bottom)`` in pixels (the whole photo for a run trained without alignment).
        label: the person, or ``"unknown"`` when ``probability`` is below the threshold.
        probability: the best class probability (0..1).
        best: the most probable person, even when ``label`` is ``"unknown"``.
        top: the three most probable ``(person, probability)`` pairs.
    """

    path: str
    box: tuple[int, int, int, int]
    label: str
    probability: float
    best: str
    top: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "box": list(self.box), "label": self.label, "probability": self.probability,
                "best": self.best, "top": [list(t) for t in self.top]}


class TrainedModel:
    """A trained run folder, loaded: the model, the people and the chip settings.

    Use :func:`load_run` to create one.
    """

    def __init__(self, run_dir: Path, record: dict[str, Any], model: Any) -> None:
        self.run_dir = run_dir
        self.record = record
        self.model = model
        self.kind: str = record["kind"]
        self.class_names: list[str] = list(record["class_names"])
        self.settings = ChipSettings.from_dict(record["chip_settings"])
        self.threshold: float = float(record.get("threshold", 0.5))
        self.embedder: str | None = record.get("config", {}).get("embedder")
        self._analyzer: Any = None

    def __repr__(self) -> str:
        return (f"TrainedModel({str(self.run_dir)!r}, model={self.record['model']!r}, "
                f"people={len(self.class_names)}, chip_size={self.settings.size})")

    def predict_proba(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """``(n, people)`` probabilities of ready-cut chips (``(n, size, size, 3)`` RGB ``uint8``)."""
        from facerec.training.fitting import _embedding_probabilities, probabilities

        chips = np.asarray(chips)
        expected = (self.settings.size, self.settings.size, 3)
        if chips.ndim != 4 or chips.shape[1:] != expected:
            raise ConfigurationError(f"chips must have shape (n, {expected[0]}, {expected[1]}, 3) for this model, "
                                     f"got {chips.shape}")
        if len(chips) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        if self.kind == "keras":
            outputs = self.model.predict(chips.astype(np.float32), batch_size=32, verbose=0)
            return probabilities(outputs, len(self.class_names))
        if self._analyzer is None:
            from facerec.analyzer import DEFAULT_EMBEDDER, FaceAnalyzer

            self._analyzer = FaceAnalyzer(embedder=self.embedder or DEFAULT_EMBEDDER)
        vectors = self._analyzer.embed_chips(chips)
        return _embedding_probabilities(self.model, vectors, len(self.class_names))  # type: ignore[no-any-return]

    def classify(self, chips: npt.NDArray[np.uint8], threshold: float | None = None) -> list[tuple[str, float]]:
        """``(person or "unknown", best probability)`` for each chip.

        Args:
            threshold: the lowest probability still given a name (higher is stricter; 0 never says "unknown";
                default: the run's, 0.5).
        """
        limit = self.threshold if threshold is None else threshold
        probs = self.predict_proba(chips)
        out = []
        for row in probs:
            best = int(row.argmax())
            label = self.class_names[best] if row[best] >= limit else UNKNOWN
            out.append((label, float(row[best])))
        return out

    def predict_photo(self, photo: Any, threshold: float | None = None) -> list[FacePrediction]:
        """Every face of one photo, classified (an empty list when no face is found)."""
        from facerec.images import describe_source

        limit = self.threshold if threshold is None else threshold
        chips, boxes = photo_chips(photo, self.settings)
        probs = self.predict_proba(chips)
        found = []
        for box, row in zip(boxes, probs):
            order = np.argsort(row)[::-1]
            best = int(order[0])
            top = tuple((self.class_names[int(i)], float(row[int(i)])) for i in order[:3])
            label = self.class_names[best] if row[best] >= limit else UNKNOWN
            found.append(FacePrediction(describe_source(photo), tuple(int(v) for v in box),  # type: ignore[arg-type]
                                        label, float(row[best]), self.class_names[best], top))
        return found


def load_run(run_dir: str | os.PathLike[str]) -> TrainedModel:
    """Load a run folder written by :func:`facerec.training.train`.

    Raises:
        ModelNotFoundError: the folder has no ``run.json`` or no model file.
    """
    folder = Path(run_dir)
    record_path = folder / "run.json"
    if not record_path.is_file():
        raise ModelNotFoundError(f"{folder} is not a training run folder (no run.json); train one with "
                                 "`facerec train DATA_DIR --output RUN_DIR`")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    model_path = folder / record["files"]["model"]
    if not model_path.is_file():
        raise ModelNotFoundError(f"model file {model_path} is missing")
    if record["kind"] == "keras":
        import keras

        try:  # registers the face ResNet's custom layers, needed to load a resnet-face run
            import facerec.models.keras_build  # noqa: F401
        except ImportError:
            pass
        model = keras.saving.load_model(model_path, compile=False)
    else:
        import joblib

        model = joblib.load(model_path)
    return TrainedModel(folder, record, model)


def predict_photos(model: TrainedModel | str | os.PathLike[str], photos: Iterable[Any], *,
                   threshold: float | None = None) -> list[FacePrediction]:
    """Classify every face of every photo.

    Args:
        model: a loaded :class:`TrainedModel` or a run folder.
        photos: paths (or anything :func:`facerec.load_image` reads).
        threshold: the lowest probability still given a name (higher is stricter; default: the run's, 0.5).
    """
    trained = model if isinstance(model, TrainedModel) else load_run(model)
    results: list[FacePrediction] = []
    for photo in photos:
        results.extend(trained.predict_photo(photo, threshold))
    return results
