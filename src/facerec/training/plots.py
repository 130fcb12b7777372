"""Plots of a training run: learning curves and the confusion matrix (PNG files; matplotlib without pyplot).

Only numbers are drawn, never face images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["plot_confusion_matrix", "plot_history", "plot_size_curve"]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(figure: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    figure.savefig(target)
    return target


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike[str], *,
                 fine_tune_start: int | None = None, title: str = "") -> Path:
    """Loss and accuracy per epoch, training vs validation, with the start of fine-tuning marked.

    Args:
        history: Keras' ``History.history`` (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``).
        path: the PNG to write.
        fine_tune_start: the 0-based epoch at which fine-tuning began (a dashed line), or ``None``.
        title: a title over both panels.
    """
    figure = _figure(10, 4)
    axes = figure.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, label, style in ((metric, "training", "-o"), (f"val_{metric}", "validation", "-s")):
            values = history.get(key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=label)
        if fine_tune_start is not None:
            ax.axvline(fine_tune_start + 0.5, color="grey", linestyle="--", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_size_curve(train_sizes: Sequence[int], train_accuracy: Sequence[float],
                    validation_accuracy: Sequence[float], path: str | os.PathLike[str], *, title: str = "") -> Path:
    """The learning curve of a classic classifier: accuracy against the number of training images."""
    figure = _figure(5.5, 4)
    ax = figure.subplots()
    ax.plot(train_sizes, train_accuracy, "-o", markersize=3, label="training")
    ax.plot(train_sizes, validation_accuracy, "-s", markersize=3, label="validation")
    ax.set_xlabel("training images")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return _save(figure, path)


def plot_confusion_matrix(matrix: npt.NDArray[np.int64], class_names: Sequence[str], path: str | os.PathLike[str],
                          *, title: str = "") -> Path:
    """The confusion matrix (rows: true person, columns: predicted), row-normalised colours and counts."""
    counts = np.asarray(matrix)
    n = len(class_names)
    side = min(max(4.0, 0.22 * n + 2.5), 16.0)
    figure = _figure(side + 1.0, side)
    ax = figure.subplots()
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, fraction=0.046, label="fraction of the true person's photos")
    font = 8 if n <= 12 else 5 if n <= 30 else 3
    ax.set_xticks(range(n), labels=[c.replace("_", " ") for c in class_names], rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels=[c.replace("_", " ") for c in class_names], fontsize=font)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=font,
                            color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return _save(figure, path)
