"""Training runs: one configuration -> one folder with the model, its history, plots and test metrics.

:func:`train` is what ``facerec train`` does::

    data set folder --(facerec pipeline, cached)--> chips --(split.json, seeded, stratified 70/30)--> train /
    validation / test --> create_model(name) --> fit (early stopping on validation loss, optional two-stage
    transfer schedule) --> evaluate on test --> run folder

A run folder holds:

=========================  ===========================================================================
``model.keras``            the trained Keras model (``model.h5`` too with ``save_h5``); ``model.joblib``
                           for the embedding classifiers
``run.json``               the configuration, people, chip settings and file names (read by ``predict``)
``summary.txt``            ``model.summary()``
``history.json``           per-epoch loss/accuracy (train and validation), epoch times, fine-tuning start
``learning_curve.png``     loss and accuracy, training vs validation, fine-tuning start marked
``metrics.json``           test accuracy, per-person precision / recall / F1, confusion matrix, timings, size
``confusion_matrix.png``   the confusion matrix on the test photos
``split.json``             the split used
``command.txt``            the exact command (when given)
=========================  ===========================================================================

:func:`sweep` runs several configurations (``keras.backend.clear_session()`` between them) and
:func:`write_comparison` writes their comparison table as Markdown and JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.training.data import (
    ChipSettings,
    FaceDataset,
    MultipleFaces,
    dataset_embeddings,
    load_face_dataset,
    load_or_create_split,
)
from facerec.training.models import create_model, find_base, model_info, unfreeze_top_layers

__all__ = [
    "RunResult",
    "TrainConfig",
    "configure_threads",
    "load_results",
    "load_sweep",
    "probabilities",
    "sweep",
    "train",
    "write_comparison",
]

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
        epochs: maximum epochs (of the head, for a frozen base).
        batch_size: images per step.
        learning_rate: Adam's learning rate (1e-4 default).
        early_stopping: stop after this many epochs without a lower validation loss and restore the best
            weights (``None``: train all epochs).
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
        threshold: default probability below which ``predict`` answers "unknown" (higher is stricter).
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
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-4
    early_stopping: int | None = None
    l2: float = 0.0
    dropout: float | None = None
    augment: bool = False
    base_weights: str | None = None
    freeze_base: bool = True
    fine_tune_top: int = 0
    fine_tune_learning_rate: float = 1e-5
    fine_tune_epochs: int | None = None
    test_size: float = 0.3
    validation_size: float = 0.15
    seed: int = 0
    threshold: float = 0.5
    save_h5: bool = False
    embedder: str | None = None
    n_neighbors: int = 5
    svm_c: float = 1.0
    run_eagerly: bool = False
    cache_features: bool = True

    def __post_init__(self) -> None:
        info = model_info(self.model)  # raises UnknownNameError with suggestions
        if self.epochs < 1 and info.kind == "keras":
            raise ConfigurationError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigurationError(f"batch size must be >= 1, got {self.batch_size}")
        if self.learning_rate <= 0 or self.fine_tune_learning_rate <= 0:
            raise ConfigurationError("learning rates must be > 0")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigurationError(f"dropout rate must be in [0, 1), got {self.dropout}")
        if self.l2 < 0:
            raise ConfigurationError(f"L2 factor must be >= 0, got {self.l2}")
        if self.early_stopping is not None and self.early_stopping < 1:
            raise ConfigurationError(f"early-stopping patience must be >= 1, got {self.early_stopping}")
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
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=2)
                hint = f" Did you mean {' or '.join(close)}?" if close else ""
                raise ConfigurationError(f"unknown training setting {key!r}.{hint}")
            clean[name] = value
        return cls(**clean)


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


def configure_threads(threads: int | None) -> None:
    """Pin TensorFlow to ``threads`` intra- and inter-op threads (call before the first Keras operation;
    later calls are ignored by TensorFlow and here)."""
    if not threads:
        return
    try:
        import tensorflow as tf
    except ImportError:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TensorFlow is already initialised: keep its settings


def _one_hot(labels: npt.NDArray[np.int64], num_classes: int) -> npt.NDArray[np.float32]:
    if num_classes == 2:
        return labels.astype(np.float32)[:, None]
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def probabilities(outputs: npt.NDArray[Any], num_classes: int) -> npt.NDArray[np.float32]:
    """Model outputs -> ``(n, num_classes)`` probabilities (a sigmoid unit becomes ``[1 - p, p]``)."""
    outputs = np.asarray(outputs, dtype=np.float32)
    if num_classes == 2 and outputs.ndim == 2 and outputs.shape[1] == 1:
        return np.concatenate([1.0 - outputs, outputs], axis=1)
    return outputs


def _summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=110)
    return "\n".join(lines) + "\n"


def _test_metrics(y_true: npt.NDArray[np.int64], probs: npt.NDArray[np.float32],
                  class_names: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import classification_report, confusion_matrix

    y_pred = probs.argmax(axis=1)
    labels = list(range(len(class_names)))
    report = classification_report(y_true, y_pred, labels=labels, target_names=list(class_names),
                                   output_dict=True, zero_division=0)
    per_class = {name: {"precision": report[name]["precision"], "recall": report[name]["recall"],
                        "f1": report[name]["f1-score"], "support": int(report[name]["support"])}
                 for name in class_names}
    return {"accuracy": float((y_pred == y_true).mean()), "macro_f1": float(report["macro avg"]["f1-score"]),
            "weighted_f1": float(report["weighted avg"]["f1-score"]), "test_images": len(y_true),
            "per_class": per_class,
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=_jsonable) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _epoch_timer() -> Any:
    import keras

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        """Seconds per epoch (training and validation)."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _fit_keras(config: TrainConfig, data: Mapping[str, FaceDataset], num_classes: int, run_dir: Path,
               verbose: int, log: Log) -> tuple[Any, dict[str, Any]]:
    """Build, compile and fit a Keras model (two stages for a transfer model with ``fine_tune_top``)."""
    import keras

    info = model_info(config.model)
    keras.utils.set_random_seed(config.seed)
    size = data["train"].settings.size
    options: dict[str, Any] = {"input_shape": (size, size, 3), "num_classes": num_classes, "l2": config.l2,
                               "augment": config.augment, "seed": config.seed}
    if config.dropout is not None:
        options["dropout_rate"] = config.dropout
    if info.has_base:
        if config.base_weights is not None:
            options["base_weights"] = config.base_weights
        options["freeze_base"] = config.freeze_base if (config.base_weights or "").lower() != "none" else False
    model = create_model(config.model, **options)
    binary = num_classes == 2
    loss = "binary_crossentropy" if binary else "categorical_crossentropy"

    x_train = data["train"].images.astype(np.float32)
    y_train = _one_hot(data["train"].labels, num_classes)
    validation = None
    if len(data["validation"]):
        validation = (data["validation"].images.astype(np.float32),
                      _one_hot(data["validation"].labels, num_classes))
    elif config.early_stopping:
        raise ConfigurationError("early stopping needs a validation part: set validation_size > 0")

    def callbacks() -> list[Any]:
        found: list[Any] = [_epoch_timer()]
        if config.early_stopping and validation is not None:
            found.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping,
                                                       restore_best_weights=True))
        return found

    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss, metrics=["accuracy"],
                  run_eagerly=config.run_eagerly)
    log(f"{config.run_name}: {model.count_params():,} parameters; training on {len(x_train)} images of "
        f"{num_classes} people for up to {config.epochs} epochs")
    stage1 = callbacks()
    feature_seconds = None
    trainer, stage1_x, stage1_validation = model, x_train, validation
    if config.cache_features and info.has_base and not config.augment and not find_base(model).trainable:
        started = time.perf_counter()
        extract, trainer = _split_at_base(model)
        stage1_x = extract(x_train, config.batch_size)
        if validation is not None:
            stage1_validation = (extract(validation[0], config.batch_size), validation[1])
        feature_seconds = time.perf_counter() - started
        log(f"{config.run_name}: base features of {len(x_train)} training images computed once in "
            f"{feature_seconds:.0f} s; training the head on them")
        trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss, metrics=["accuracy"],
                        run_eagerly=config.run_eagerly)
    fitted = trainer.fit(stage1_x, y_train, batch_size=config.batch_size, epochs=config.epochs,
                         validation_data=stage1_validation, callbacks=stage1, verbose=verbose, shuffle=True)
    history: dict[str, list[float]] = {k: [float(v) for v in vs] for k, vs in fitted.history.items()}
    seconds = list(stage1[0].seconds)
    best_epoch = _best_epoch(history, config, 0)
    summary = _summary_text(model)
    fine_tune_start: int | None = None
    opened = 0
    if config.fine_tune_top and info.has_base:
        base = find_base(model)
        opened = unfreeze_top_layers(base, config.fine_tune_top)
        model.compile(optimizer=keras.optimizers.Adam(config.fine_tune_learning_rate), loss=loss,
                      metrics=["accuracy"], run_eagerly=config.run_eagerly)
        fine_tune_start = len(history["loss"])
        log(f"{config.run_name}: fine-tuning the top {config.fine_tune_top} layers of the base ({opened} with "
            f"weights) at learning rate {config.fine_tune_learning_rate:g}")
        stage2 = callbacks()
        more = model.fit(x_train, y_train, batch_size=config.batch_size,
                         epochs=fine_tune_start + (config.fine_tune_epochs or config.epochs),
                         initial_epoch=fine_tune_start, validation_data=validation, callbacks=stage2,
                         verbose=verbose, shuffle=True)
        for key, values in more.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        seconds += stage2[0].seconds
        best_epoch = _best_epoch(history, config, fine_tune_start)
        summary += "\n# after un-freezing the top layers of the base\n" + _summary_text(model)
    (run_dir / "summary.txt").write_text(summary, encoding="utf-8")
    record = {"history": history, "epoch_seconds": seconds, "fine_tune_start": fine_tune_start,
              "best_epoch": best_epoch, "layers_unfrozen": opened, "binary": binary,
              "feature_seconds": feature_seconds}
    return model, record


def _split_at_base(model: Any) -> tuple[Callable[[Any, int], Any], Any]:
    """A transfer model as (features of images through the frozen base, a head model sharing the top layers).

    The head's layers are the model's own, so training the head trains the model.
    """
    import keras

    base = find_base(model)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    position = layers.index(base)
    before, after = layers[: position + 1], layers[position + 1:]

    def extract(images: Any, batch_size: int) -> Any:
        chunks = []
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            for layer in before:
                x = layer(x, training=False)
            chunks.append(keras.ops.convert_to_numpy(x))
        return np.concatenate(chunks)

    features = keras.Input(shape=tuple(base.output.shape[1:]), name="base_features")
    x = features
    for layer in after:
        x = layer(x)
    return extract, keras.Model(features, x, name=f"{model.name}_head")


def _predict_parts(model: Any, parts: Mapping[str, FaceDataset], num_classes: int,
                   batch_size: int) -> dict[str, npt.NDArray[np.float32]]:
    """Probabilities for every part, from one ``predict`` call (each call of a new shape traces the graph)."""
    names = [part for part, ds in parts.items() if len(ds)]
    images = np.concatenate([parts[part].images for part in names]).astype(np.float32)
    probs = probabilities(model.predict(images, batch_size=batch_size, verbose=0), num_classes)
    bounds = np.cumsum([0] + [len(parts[part]) for part in names])
    return {part: probs[bounds[i]:bounds[i + 1]] for i, part in enumerate(names)}


def _best_epoch(history: Mapping[str, Sequence[float]], config: TrainConfig, start: int) -> int | None:
    """1-based epoch whose weights are kept (the lowest validation loss with early stopping, else the last)."""
    losses = history.get("val_loss")
    if not losses:
        return len(history.get("loss", [])) or None
    if config.early_stopping:
        return start + int(np.argmin(losses[start:])) + 1
    return len(losses)


#: TensorFlow 2.21's variables trip numpy 2's ``__array__(copy=...)`` deprecation whenever Keras saves them.
_NUMPY_COPY_WARNING = "__array__ implementation doesn't accept a copy keyword"


def _save_keras(model: Any, run_dir: Path, save_h5: bool) -> dict[str, str]:
    files = {"model": "model.keras"}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NUMPY_COPY_WARNING, category=DeprecationWarning)
        model.save(run_dir / "model.keras")
        if save_h5:
            warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy", category=UserWarning)
            # Keras calls .h5 "legacy": asked for on purpose
            _without_augmentation(model).save(run_dir / "model.h5")
            files["model_h5"] = "model.h5"
    return files


def _without_augmentation(model: Any) -> Any:
    """A copy of ``model`` with its random augmentation layers (training-only, weightless, and not storable in
    the legacy .h5 format) replaced by identities, sharing nothing but equal weights."""
    import keras

    def clone(layer: Any) -> Any:
        if layer.name.startswith("augment_"):
            return keras.layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    if not any(layer.name.startswith("augment_") for layer in model.layers):
        return model
    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def _embedding_run(config: TrainConfig, data: Mapping[str, FaceDataset], num_classes: int, run_dir: Path,
                   cache_dir: str | os.PathLike[str] | None, log: Log) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Fit an embedding classifier; returns (estimator, record, extra outputs)."""
    import joblib
    from sklearn.base import clone

    started = time.perf_counter()
    vectors = {part: dataset_embeddings(ds, embedder=config.embedder,
                                        cache_dir=Path(cache_dir) / "embeddings" if cache_dir else None)
               for part, ds in data.items() if len(ds)}
    feature_seconds = time.perf_counter() - started
    options: dict[str, Any] = {"num_classes": num_classes, "seed": config.seed}
    if config.model == "embedding-knn":
        options["n_neighbors"] = config.n_neighbors
    if config.model == "embedding-svm":
        options["C"] = config.svm_c
    estimator = create_model(config.model, **options)
    x_train, y_train = vectors["train"], data["train"].labels
    log(f"{config.run_name}: fitting {type(estimator).__name__} on {len(x_train)} embeddings of "
        f"{num_classes} people")
    started = time.perf_counter()
    estimator.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    # the classic learning curve: accuracy against the number of training images
    sizes, train_acc, val_acc = [], [], []
    if "validation" in vectors:
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(x_train))
        for fraction in (0.2, 0.4, 0.6, 0.8, 1.0):
            take = order[: max(round(fraction * len(order)), num_classes)]
            if len(np.unique(y_train[take])) < 2:
                continue
            try:
                part = clone(estimator).fit(x_train[take], y_train[take])
            except ValueError:  # e.g. fewer samples than neighbours
                continue
            sizes.append(len(take))
            train_acc.append(float((part.predict(x_train[take]) == y_train[take]).mean()))
            val_acc.append(float((part.predict(vectors["validation"]) == data["validation"].labels).mean()))
    joblib.dump(estimator, run_dir / "model.joblib")
    (run_dir / "summary.txt").write_text(f"{estimator!r}\non 128-d embeddings from facerec embedder "
                                         f"{config.embedder or 'default'}\n", encoding="utf-8")
    record = {"train_sizes": sizes, "train_accuracy": train_acc, "val_accuracy": val_acc,
              "epoch_seconds": [fit_seconds], "fine_tune_start": None, "best_epoch": None, "binary": False,
              "feature_seconds": feature_seconds}
    return estimator, record, vectors


def _embedding_probabilities(estimator: Any, vectors: npt.NDArray[np.float32], num_classes: int) -> Any:
    """``(n, num_classes)`` probabilities from a classifier fitted on integer labels."""
    classes = np.asarray(getattr(estimator, "classes_", np.arange(num_classes)))
    out = np.zeros((len(vectors), num_classes), dtype=np.float32)
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(vectors), dtype=np.float32)
        out[:, classes.astype(int)] = proba[:, : len(classes)]
    else:
        out[np.arange(len(vectors)), np.asarray(estimator.predict(vectors), dtype=int)] = 1.0
    return out


def train(data_dir: str | os.PathLike[str], run_dir: str | os.PathLike[str], config: TrainConfig | None = None, *,
          split_file: str | os.PathLike[str] | None = None, dataset: FaceDataset | None = None,
          cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True, workers: int = 1,
          command: str | None = None, verbose: int = 0, log: Log | None = None) -> RunResult:
    """Train one model on a folder-per-person data set and write the run folder.

    Args:
        data_dir: the data set (one sub-folder per person).
        run_dir: the output folder (created; files in it are overwritten).
        config: the settings (default :class:`TrainConfig`).
        split_file: a split JSON to re-use, or to create there when it does not exist (the run folder always
            gets a copy as ``split.json``).
        dataset: chips already loaded with this run's chip settings (skips loading; used by sweeps).
        cache_dir: chip (and embedding) cache folder; default: facerec's cache folder.
        use_cache: read and write the chip cache.
        workers: processes for face detection.
        command: the command line to record in ``command.txt``.
        verbose: Keras' ``fit`` verbosity (0 silent, 2 one line per epoch).
        log: called with one line of progress at a time (default: nothing).

    Returns:
        A :class:`RunResult` (the metrics are also in ``metrics.json``).

    Raises:
        ConfigurationError: inconsistent settings or an unusable data set.
        ModelNotFoundError: a base model's weights are missing (e.g. MobileNet's ImageNet file).
    """
    from facerec.training.plots import plot_confusion_matrix, plot_history, plot_size_curve

    config = config or TrainConfig()
    say: Log = log or (lambda line: None)
    info = model_info(config.model)
    settings = config.chip_settings()
    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    if dataset is None or dataset.settings != settings:
        say(f"reading faces from {data_dir} ({settings.size} px chips, "
            f"{'aligned' if settings.align else 'not aligned'})")
        dataset = load_face_dataset(data_dir, settings, cache_dir=cache_dir, use_cache=use_cache,
                                    workers=workers, min_images_per_person=config.min_images_per_person,
                                    max_people=config.max_people,
                                    max_images_per_person=config.max_images_per_person)
    for skipped in dataset.skipped:
        say(f"skipped {skipped.path}: {skipped.reason}")
    split, reused = load_or_create_split(split_file, dataset, test_size=config.test_size,
                                         validation_size=config.validation_size, seed=config.seed)
    split.save(out / "split.json")
    say(f"{'re-used' if reused else 'made'} split: {len(split.train)} train, {len(split.validation)} validation, "
        f"{len(split.test)} test photos of {dataset.num_classes} people")
    parts = {"train": dataset.subset(split.train), "validation": dataset.subset(split.validation),
             "test": dataset.subset(split.test)}
    num_classes = dataset.num_classes
    if len(np.unique(parts["train"].labels)) < num_classes:
        say("warning: some people have no training photo")
    if command:
        (out / "command.txt").write_text(command + "\n", encoding="utf-8")

    started = time.perf_counter()
    files: dict[str, str]
    if info.kind == "keras":
        model, record = _fit_keras(config, parts, num_classes, out, verbose, say)
        trained: Any = model
        train_seconds = time.perf_counter() - started
        files = _save_keras(model, out, config.save_h5)
        outputs = _predict_parts(model, parts, num_classes, config.batch_size)
        parameters = int(model.count_params())
        trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        plot_history(record["history"], out / "learning_curve.png", fine_tune_start=record["fine_tune_start"],
                     title=config.run_name)
    else:
        estimator, record, vectors = _embedding_run(config, parts, num_classes, out, cache_dir, say)
        trained = estimator
        train_seconds = time.perf_counter() - started
        files = {"model": "model.joblib"}
        outputs = {part: _embedding_probabilities(estimator, v, num_classes) for part, v in vectors.items()}
        parameters = trainable = None  # type: ignore[assignment]
        if record["train_sizes"]:
            plot_size_curve(record["train_sizes"], record["train_accuracy"], record["val_accuracy"],
                            out / "learning_curve.png", title=config.run_name)
    metrics = _test_metrics(parts["test"].labels, outputs["test"], dataset.class_names)
    for part in ("train", "validation"):
        if part in outputs:
            metrics[f"{part}_accuracy"] = float((outputs[part].argmax(axis=1) == parts[part].labels).mean())
    epoch_seconds = record.get("epoch_seconds", [])
    metrics.update({
        "model": config.model, "run": config.run_name, "image_size": settings.size,
        "people": num_classes, "train_images": len(parts["train"]), "validation_images": len(parts["validation"]),
        "skipped_photos": len(dataset.skipped), "epochs_run": len(record.get("history", {}).get("loss", [])) or None,
        "best_epoch": record.get("best_epoch"), "fine_tune_start": record.get("fine_tune_start"),
        "seconds_per_epoch": float(np.mean(epoch_seconds)) if epoch_seconds and info.kind == "keras" else None,
        "train_seconds": float(train_seconds), "feature_seconds": record.get("feature_seconds"),
        "parameters": parameters, "trainable_parameters": trainable,
        "model_bytes": (out / files["model"]).stat().st_size,
    })
    plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), dataset.class_names,
                          out / "confusion_matrix.png", title=f"{config.run_name}: test accuracy "
                          f"{metrics['accuracy']:.3f}")
    _write_json(out / "history.json", record)
    _write_json(out / "metrics.json", metrics)
    _write_json(out / "run.json", {
        "format": "facerec-training-run", "version": 1, "model": config.model, "kind": info.kind,
        "class_names": dataset.class_names, "chip_settings": settings.to_dict(), "config": config.to_dict(),
        "binary": num_classes == 2 and info.kind == "keras", "threshold": config.threshold,
        "files": files, "data_dir": str(data_dir),
    })
    say(f"{config.run_name}: test accuracy {metrics['accuracy']:.3f} ({len(parts['test'])} photos); "
        f"wrote {out}")
    return RunResult(out, config, metrics, record, trained, outputs)


# ----------------------------------------------------------------------------------------------------------------
# Sweeps
# ----------------------------------------------------------------------------------------------------------------

def load_sweep(spec: str | os.PathLike[str], base: TrainConfig | None = None) -> list[TrainConfig]:
    """The configurations of a sweep.

    Args:
        spec: a JSON or TOML file, or a comma list of model names (``"convnet,mobilenet"``). A file holds either
            a list of runs or ``{"defaults": {...}, "runs": [{...}, ...]}``; each run is a mapping of
            :class:`TrainConfig` fields (``name`` names its folder), on top of ``defaults`` and of ``base``.
        base: settings shared by every run (e.g. from command-line flags).

    Raises:
        ConfigurationError: unreadable file, unknown setting, or duplicate run names.
    """
    base_dict = (base or TrainConfig()).to_dict()
    path = Path(spec)
    runs: list[dict[str, Any]]
    defaults: dict[str, Any] = {}
    if path.suffix.lower() in (".json", ".toml") or path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() == ".toml":
                if sys.version_info >= (3, 11):
                    import tomllib
                else:  # pragma: no cover - Python 3.10
                    import tomli as tomllib

                data: Any = tomllib.loads(text)
            else:
                data = json.loads(text)
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"cannot read sweep file {path}: {error}") from None
        if isinstance(data, dict):
            defaults = dict(data.get("defaults", {}))
            runs = list(data.get("runs", []))
        elif isinstance(data, list):
            runs = list(data)
        else:
            raise ConfigurationError(f"sweep file {path} must hold a list of runs or a 'runs' table")
    else:
        runs = [{"model": name.strip(), "name": name.strip()} for name in str(spec).split(",") if name.strip()]
    if not runs:
        raise ConfigurationError(f"sweep {spec} has no runs")
    configs = []
    for run in runs:
        if not isinstance(run, dict):
            raise ConfigurationError(f"each run of a sweep must be a mapping of settings, got {run!r}")
        merged = {**base_dict, "name": None, **defaults, **run}
        name = str(merged.get("model", "convnet"))
        if name in _model_names() and model_info(name).fixed_size:
            for key in ("image_size", "padding"):  # shared sizes are for the networks; these need their own
                if key not in run:
                    merged[key] = None
        configs.append(TrainConfig.from_dict(merged))
    names = [c.run_name for c in configs]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigurationError(f"sweep runs need distinct names; repeated: {', '.join(duplicates)} "
                                 "(give each run a 'name')")
    return configs


def _model_names() -> list[str]:
    from facerec.training.models import list_models

    return list_models()


def sweep(data_dir: str | os.PathLike[str], output_dir: str | os.PathLike[str], configs: Sequence[TrainConfig], *,
          split_file: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
          use_cache: bool = True, workers: int = 1, command: str | None = None, verbose: int = 0,
          log: Log | None = None) -> list[RunResult]:
    """Run several configurations, one sub-folder each, on one shared split, and write the comparison table.

    The split is made on the first run's usable photos (``<output_dir>/split.json`` unless ``split_file`` is
    given) and re-used by every run; runs with other chip settings use the photos of that split that are usable
    for them. Keras' session is cleared between runs.

    Returns:
        The results in order; ``comparison.md`` and ``comparison.json`` are written to ``output_dir``.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    shared_split = Path(split_file) if split_file is not None else out / "split.json"
    datasets: dict[tuple[ChipSettings, int, int | None, int | None], FaceDataset] = {}
    results = []
    for config in configs:
        settings = config.chip_settings()
        key = (settings, config.min_images_per_person, config.max_people, config.max_images_per_person)
        if key not in datasets:
            datasets[key] = load_face_dataset(data_dir, settings, cache_dir=cache_dir, use_cache=use_cache,
                                              workers=workers, min_images_per_person=config.min_images_per_person,
                                              max_people=config.max_people,
                                              max_images_per_person=config.max_images_per_person)
        _clear_keras_session()
        result = train(data_dir, out / config.run_name, config, split_file=shared_split, dataset=datasets[key],
                       cache_dir=cache_dir, use_cache=use_cache, workers=workers, command=command,
                       verbose=verbose, log=log)
        results.append(result)
        write_comparison(results, out)
    _clear_keras_session()
    return results


def _clear_keras_session() -> None:
    import sys

    if "keras" in sys.modules:
        import keras

        keras.backend.clear_session()


def load_results(run_dirs: Sequence[str | os.PathLike[str]]) -> list[RunResult]:
    """The results of finished run folders (``run.json``, ``metrics.json``, ``history.json``), e.g. to compare runs
    made by separate commands with :func:`write_comparison`.

    Raises:
        ConfigurationError: a folder is not a finished run.
    """
    results = []
    for folder in map(Path, run_dirs):
        try:
            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"{folder} is not a finished training run: {error}") from None
        results.append(RunResult(folder, TrainConfig.from_dict(record["config"]), metrics, history))
    return results


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_comparison(results: Sequence[RunResult], output_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``comparison.md`` (a Markdown table) and ``comparison.json`` (the rows) for a sweep.

    Columns: ``s/epoch`` is the mean wall time of an epoch (the first one includes graph tracing), and after a
    ``/`` that of a fine-tuning epoch;
    ``features s`` the one-off time to compute a frozen base's features or the embeddings; ``train s`` everything
    from building the model to the end of ``fit`` (features included); ``weights MB`` the float32 weights;
    ``file MB`` the saved file (a ``.keras`` file also holds the optimizer's state).
    """
    out = Path(output_dir)
    rows = [r.row() for r in results]
    _write_json(out / "comparison.json", rows)
    header = ("| run | model | px | test acc | macro F1 | train acc | val acc | epochs (best) | s/epoch | "
              "features s | train s | params | weights MB | file MB |")
    lines = [header, "|" + "---|" * 2 + "---:|" * 12]
    for row in rows:
        epochs = "–" if row["epochs"] is None else f"{row['epochs']} ({row['best_epoch']})"
        weights = row.get("weights_bytes")
        per_epoch = _cell(row["seconds_per_epoch"], 1)
        if row.get("seconds_per_fine_tune_epoch") is not None:
            per_epoch += f" / {row['seconds_per_fine_tune_epoch']:.1f}"
        lines.append(
            f"| {row['run']} | {row['model']} | {row['image_size']} | {_cell(row['test_accuracy'])} | "
            f"{_cell(row['macro_f1'])} | {_cell(row['train_accuracy'])} | {_cell(row['validation_accuracy'])} | "
            f"{epochs} | {per_epoch} | {_cell(row.get('feature_seconds'), 0)} | "
            f"{_cell(row['train_seconds'], 0)} | {_cell(row['parameters'])} | "
            f"{'–' if weights is None else f'{weights / 1e6:.2f}'} | {row['model_bytes'] / 1e6:.2f} |")
    markdown = out / "comparison.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return markdown, out / "comparison.json"
