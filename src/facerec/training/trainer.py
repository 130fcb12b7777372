"""One training run: :func:`train` one configuration into a run folder (the whole story of a run folder is told
in :mod:`facerec.training.runs`)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.jsonsafe import write_json
from facerec.training.config import Log, RunResult, TrainConfig
from facerec.training.data import (
    FaceDataset,
    load_face_dataset,
    load_or_create_split,
)
from facerec.training.fitting import (
    _embedding_probabilities,
    _embedding_run,
    _fit_keras,
    _predict_parts,
    _save_keras,
)
from facerec.training.models import model_info

__all__ = ["train"]



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

    config = (config or TrainConfig()).resolve()
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
                                         validation_size=float(config.validation_size or 0.0), seed=config.seed)
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
    write_json(out / "history.json", record)
    write_json(out / "metrics.json", metrics)
    write_json(out / "run.json", {
        "format": "facerec-training-run", "version": 1, "model": config.model, "kind": info.kind,
        "class_names": dataset.class_names, "chip_settings": settings.to_dict(), "config": config.to_dict(),
        "binary": num_classes == 2 and info.kind == "keras", "threshold": config.min_probability,
        "files": files, "data_dir": str(data_dir),
    })
    say(f"{config.run_name}: test accuracy {metrics['accuracy']:.3f} ({len(parts['test'])} photos); "
        f"wrote {out}")
    return RunResult(out, config, metrics, record, trained, outputs)




