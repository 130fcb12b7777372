"""What a training run is given and what it gives back: :class:`TrainConfig` (one configuration, every setting
checked) and :class:`RunResult` (its folder, configuration and headline numbers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facerec.errors import ConfigurationError
from facerec.training.data import (
    ChipSettings,
    MultipleFaces,
)
from facerec.training.models import model_info

__all__ = ["Log", "RunResult", "TrainConfig"]

#: A progress sink for training messages (one line each).
Log = Callable[[str], None]


@dataclass
class TrainConfig:
    """The settings of one training run (the ``facerec train`` flags).

    Attributes:
        model: registry name (:func:`facerec.training.list_models`).
        name: the run's folder name in a sweep (default: the model name).
        image_size: chip side in pixels (default: the model's, e.g. 128 for ``convnet``, 150 for ``resnet-face``).
        padding: chip padding (default: the model's, 0.25).
        align: detect and align faces (``False``: centre-crop and resize whole photos).
        detector, upsample, multiple_faces: see :class:`~facerec.training.data.ChipSettings`.
        min_images_per_person, max_people, max_images_per_person: which people and photos.

        Settings left ``None`` take the model's :class:`~facerec.training.models.TrainingDefaults`
        (:meth:`resolve`; ``facerec train --help`` lists them):

        epochs: maximum epochs (of the head, for a frozen base).
        batch_size: images per step.
        learning_rate: Adam's learning rate (the course's seed used 1e-4: ``learning_rate=1e-4``).
        patience: early stopping: stop after this many epochs without a lower validation loss and restore the
            best weights (0: off, train all epochs).
        patience_start: epochs before early stopping may fire.
        l2: L2 penalty factor on the dense weights (0 for none).
        dropout: dropout rate before the classifier (``None``: the model's default; 0 for none).
        augment: random flip, rotation, zoom and brightness in training.
        base_weights: a transfer model's base weights: ``"imagenet"`` (a local file for MobileNet), ``"dlib"``
            (the face ResNet), a file path, or ``"none"`` (random; then the base trains from the start).
        freeze_base: stage 1 trains only the head (the base called with ``training=False``).
        fine_tune_top: stage 2 un-freezes this many top layers of the base (batch norms stay frozen) and
            continues at ``fine_tune_learning_rate`` for ``fine_tune_epochs`` (0: no stage 2).
        fine_tune_learning_rate: Adam's learning rate in stage 2 (1e-5 default).
        fine_tune_epochs: maximum epochs of stage 2 (default: ``epochs``).
        test_size: fraction of each person's photos held out for testing.
        validation_size: fraction of the training part held out for validation (early stopping).
        seed: seed of the split, the weights and the augmentation.
        min_probability: default probability below which ``predict`` answers "unknown" (higher is stricter).
        save_h5: also save the model in the legacy ``.h5`` format.
        embedder: facerec embedder for the embedding models (default: the analyzer's).
        n_neighbors, svm_c: options of ``embedding-knn`` and ``embedding-svm``.
        run_eagerly: train without compiling a graph (Keras' ``run_eagerly``): slower per step, but skips
            the graph tracing that costs a deep network a minute or more on a busy CPU -- for debugging and tiny
            data sets.
        cache_features: with a frozen base and no augmentation, stage 1 computes the base's features once and
            trains the head on them (the same model: the base is frozen and in inference mode either way; the
            epochs cost almost nothing). ``False`` runs every image through the base every epoch.
    """

    model: str = "convnet"
    name: str | None = None
    image_size: int | None = None
    padding: float | None = None
    align: bool = True
    detector: str = "hog"
    upsample: int = 1
    multiple_faces: MultipleFaces = "skip"
    min_images_per_person: int = 1
    max_people: int | None = None
    max_images_per_person: int | None = None
    epochs: int | None = None
    batch_size: int = 32
    learning_rate: float | None = None
    patience: int | None = None
    patience_start: int | None = None
    l2: float = 0.0
    dropout: float | None = None
    augment: bool | None = None
    base_weights: str | None = None
    freeze_base: bool = True
    fine_tune_top: int = 0
    fine_tune_learning_rate: float = 1e-5
    fine_tune_epochs: int | None = None
    test_size: float = 0.3
    validation_size: float | None = None
    seed: int = 0
    min_probability: float = 0.5
    save_h5: bool = False
    embedder: str | None = None
    n_neighbors: int = 5
    svm_c: float = 1.0
    run_eagerly: bool = False
    cache_features: bool = True

    def __post_init__(self) -> None:
        info = model_info(self.model)  # raises UnknownNameError with suggestions
        if self.epochs is not None and self.epochs < 1 and info.kind == "keras":
            raise ConfigurationError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigurationError(f"batch size must be >= 1, got {self.batch_size}")
        if (self.learning_rate is not None and self.learning_rate <= 0) or self.fine_tune_learning_rate <= 0:
            raise ConfigurationError("learning rates must be > 0")
        if self.validation_size is not None and not 0 <= self.validation_size < 1:
            raise ConfigurationError(f"validation_size must be in [0, 1), got {self.validation_size}")
        if self.patience_start is not None and self.patience_start < 0:
            raise ConfigurationError(f"patience_start must be >= 0, got {self.patience_start}")
        if not 0 <= self.min_probability <= 1:
            raise ConfigurationError(f"min_probability must be in [0, 1], got {self.min_probability}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigurationError(f"dropout rate must be in [0, 1), got {self.dropout}")
        if self.l2 < 0:
            raise ConfigurationError(f"L2 factor must be >= 0, got {self.l2}")
        if self.patience is not None and self.patience < 0:
            raise ConfigurationError(f"early-stopping patience must be >= 0 (0: off), got {self.patience}")
        if self.fine_tune_top < 0:
            raise ConfigurationError(f"fine-tune-top must be >= 0, got {self.fine_tune_top}")
        if self.fine_tune_top and not info.has_base:
            raise ConfigurationError(f"--fine-tune-top needs a model with a pretrained base; {self.model!r} has "
                                     "none (use mobilenet or resnet-face)")
        if info.fixed_size and self.image_size not in (None, info.image_size):
            raise ConfigurationError(f"{self.model} works on {info.image_size} px chips (the face ResNet's); "
                                     f"got image size {self.image_size}")
        if info.fixed_size and not self.align:
            raise ConfigurationError(f"{self.model} needs aligned chips; drop --no-align")

    @property
    def run_name(self) -> str:
        return self.name or self.model

    def resolve(self) -> TrainConfig:
        """A copy with every setting left ``None`` taken from the model's training defaults."""
        defaults = model_info(self.model).defaults
        filled = {name: getattr(defaults, name) for name in _MODEL_DEFAULTED if getattr(self, name) is None}
        return dataclasses.replace(self, **filled) if filled else self

    def chip_settings(self) -> ChipSettings:
        """The chips this run trains on."""
        info = model_info(self.model)
        return ChipSettings(size=self.image_size or info.image_size,
                            padding=info.padding if self.padding is None else self.padding, align=self.align,
                            detector=self.detector, upsample=self.upsample, multiple_faces=self.multiple_faces)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """A config from a mapping; keys may use ``-`` or ``_``; unknown keys are refused with suggestions."""
        import difflib

        known = {f.name for f in dataclasses.fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in data.items():
            name = key.replace("-", "_")
            if name in _OLD_NAMES:  # run.json and sweep files written before the rename
                name = _OLD_NAMES[name]
                if name == "patience" and value is None:  # the old spelling's None meant "off"
                    value = 0
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=2)
                hint = f" Did you mean {' or '.join(close)}?" if close else ""
                raise ConfigurationError(f"unknown training setting {key!r}.{hint}")
            clean[name] = value
        return cls(**clean)


#: :class:`TrainConfig` settings that default to the model's :class:`~facerec.training.models.TrainingDefaults`.
_MODEL_DEFAULTED = ("epochs", "learning_rate", "patience", "patience_start", "validation_size", "augment")

#: Old setting names still read from files (``early_stopping`` was a patience, ``threshold`` a probability).
_OLD_NAMES = {"early_stopping": "patience", "threshold": "min_probability"}


@dataclass
class RunResult:
    """What a run produced: its folder, configuration and headline numbers (all also in the folder's files)."""

    run_dir: Path
    config: TrainConfig
    metrics: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)  #: the trained Keras model or estimator (in this process)
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)  #: probabilities per part (train, test...)

    @property
    def test_accuracy(self) -> float:
        return float(self.metrics["accuracy"])

    def epoch_seconds(self) -> tuple[float | None, float | None]:
        """Mean seconds per epoch of stage 1 and of the fine-tuning stage (``None`` where there is none)."""
        seconds = list(self.history.get("epoch_seconds") or [])
        if not seconds or self.metrics.get("seconds_per_epoch") is None:
            return None, None
        start = self.history.get("fine_tune_start")
        if start is None:
            return float(np.mean(seconds)), None
        return float(np.mean(seconds[:start])), float(np.mean(seconds[start:])) if seconds[start:] else None

    def row(self) -> dict[str, Any]:
        """One row of a comparison table."""
        m = self.metrics
        per_epoch, per_fine_tune_epoch = self.epoch_seconds()
        return {"run": self.config.run_name, "model": self.config.model, "image_size": m["image_size"],
                "test_accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                "train_accuracy": m.get("train_accuracy"), "validation_accuracy": m.get("validation_accuracy"),
                "epochs": m.get("epochs_run"), "best_epoch": m.get("best_epoch"),
                "seconds_per_epoch": per_epoch, "seconds_per_fine_tune_epoch": per_fine_tune_epoch,
                "feature_seconds": m.get("feature_seconds"),
                "train_seconds": m["train_seconds"], "parameters": m.get("parameters"),
                "weights_bytes": 4 * m["parameters"] if m.get("parameters") else None,
                "model_bytes": m["model_bytes"],
                "run_dir": str(self.run_dir)}
