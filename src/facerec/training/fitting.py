"""Fitting one configuration: the Keras schedule (early stopping, optional two-stage transfer fine-tuning, epoch
timing, saving) and the embedding classifiers, with the probability conversions both need."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.training.config import Log, TrainConfig
from facerec.training.data import (
    FaceDataset,
    dataset_embeddings,
)
from facerec.training.models import create_model, find_base, model_info, unfreeze_top_layers

__all__ = ["configure_threads", "probabilities"]


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

    config = config.resolve()
    epochs, learning_rate, patience = int(config.epochs or 1), float(config.learning_rate or 1e-3), \
        int(config.patience or 0)
    info = model_info(config.model)
    keras.utils.set_random_seed(config.seed)
    size = data["train"].settings.size
    options: dict[str, Any] = {"input_shape": (size, size, 3), "num_classes": num_classes, "l2": config.l2,
                               "augment": bool(config.augment), "seed": config.seed}
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
    elif patience:
        raise ConfigurationError("early stopping needs a validation part: set validation_size > 0, or patience 0 "
                                 "(--patience 0) to train every epoch")

    def callbacks(start_from_epoch: int = 0) -> list[Any]:
        found: list[Any] = [_epoch_timer()]
        if patience and validation is not None:
            found.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                       start_from_epoch=start_from_epoch,
                                                       restore_best_weights=True))
        return found

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"],
                  run_eagerly=config.run_eagerly)
    stopping = f", early stopping with patience {patience}" if patience else ""
    log(f"{config.run_name}: {model.count_params():,} parameters; training on {len(x_train)} images of "
        f"{num_classes} people for up to {epochs} epochs at learning rate {learning_rate:g}{stopping}")
    stage1 = callbacks(int(config.patience_start or 0))
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
        trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"],
                        run_eagerly=config.run_eagerly)
    fitted = trainer.fit(stage1_x, y_train, batch_size=config.batch_size, epochs=epochs,
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
                         epochs=fine_tune_start + (config.fine_tune_epochs or epochs),
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
    if config.patience:
        first = start if start else int(config.patience_start or 0)  # Keras tracks the best from there
        first = min(first, len(losses) - 1)
        return first + int(np.argmin(losses[first:])) + 1
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
