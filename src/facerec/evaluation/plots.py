"""Figures for the evaluation protocols, drawn with matplotlib's Agg backend (no display needed).

Every function takes plain numbers and returns a ``matplotlib.figure.Figure`` sized for one column of a
two-column paper (3.4 x 2.6 inches); :meth:`facerec.evaluation.runs.RunFolder.save_figure` writes it as PNG and SVG.
matplotlib is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "cmc_figure",
    "confusion_figure",
    "det_figure",
    "dir_far_figure",
    "embedding_map_figure",
    "learning_curves_figure",
    "precision_recall_figure",
    "roc_figure",
    "speed_figure",
]

COLUMN_FIGSIZE = (3.4, 2.6)


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 7, "axes.titlesize": 8, "legend.fontsize": 6, "svg.hashsalt": "facerec",
                         "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _finish(fig: Any, ax: Any, *, xlabel: str, ylabel: str, title: str, legend: str) -> Any:
    """Label the axes, title them, place the legend at ``legend`` and tighten the layout; returns ``fig``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc=legend)
    fig.tight_layout()
    return fig


def _rate_steps(curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]], *, log_from: float | None, xlabel: str,
                ylabel: str, title: str) -> Any:
    """Step curves of a rate against a false-accept rate, on a log axis from ``log_from`` (``None``: linear)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    for label, (x, y) in curves.items():
        ax.step(np.asarray(x, dtype=float), np.asarray(y, dtype=float), where="post", label=label, linewidth=1.0)
    if log_from is not None:
        ax.set_xscale("log")
        ax.set_xlim(log_from, 1.0)
    else:
        ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.01)
    return _finish(fig, ax, xlabel=xlabel, ylabel=ylabel, title=title, legend="lower right")


def roc_figure(curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]], *, title: str = "ROC",
               log_far: bool = True) -> Any:
    """ROC curves: true-accept rate against false-accept rate, one line per variant.

    Args:
        curves: ``{label: (far, tar)}``.
        title: the axes title.
        log_far: draw the FAR axis on a log scale (from 1e-4), where the differences between good systems show.
    """
    return _rate_steps(curves, log_from=1e-4 if log_far else None, xlabel="false accept rate (FAR)",
                       ylabel="true accept rate (TAR)", title=title)


def det_figure(curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]], *, title: str = "DET") -> Any:
    """Detection error trade-off curves: false-reject rate against false-accept rate on normal-deviate axes.

    Args:
        curves: ``{label: (far, frr)}``; rates of exactly 0 or 1 are drawn at the axes' edges (0.01% / 99.99%).
    """
    from scipy.stats import norm

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    lo, hi = 1e-4, 0.5
    for label, (far, frr) in curves.items():
        x = norm.ppf(np.clip(np.asarray(far, dtype=float), lo, 1 - lo))
        y = norm.ppf(np.clip(np.asarray(frr, dtype=float), lo, 1 - lo))
        ax.plot(x, y, label=label, linewidth=1.0)
    ticks = np.array([1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5])
    names = ["0.01%", "0.1%", "1%", "5%", "20%", "50%"]
    ax.set_xticks(norm.ppf(ticks), names)
    ax.set_yticks(norm.ppf(ticks), names)
    ax.set_xlim(norm.ppf(lo), norm.ppf(hi))
    ax.set_ylim(norm.ppf(lo), norm.ppf(hi))
    return _finish(fig, ax, xlabel="false accept rate", ylabel="false reject rate", title=title, legend="upper right")


def cmc_figure(curves: Mapping[str, npt.ArrayLike], *, title: str = "CMC", max_rank: int = 20) -> Any:
    """Cumulative match characteristic: identification rate at rank k (k = 1..max_rank), one line per method.

    Args:
        curves: ``{label: rates}`` where ``rates[k-1]`` is the rank-k rate.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    lowest = 1.0
    for label, rates in curves.items():
        r = np.asarray(rates, dtype=float)[:max_rank]
        ranks = np.arange(1, r.size + 1)
        ax.plot(ranks, r, marker="o", markersize=2, linewidth=1.0, label=label)
        if r.size:
            lowest = min(lowest, float(r.min()))
    ax.set_ylim(max(0.0, lowest - 0.05), 1.005)
    return _finish(fig, ax, xlabel="rank", ylabel="identification rate", title=title, legend="lower right")


def dir_far_figure(curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]], *,
                   title: str = "Open-set identification") -> Any:
    """Detection-and-identification rate against false-alarm rate (open set), one line per method.

    Args:
        curves: ``{label: (far, dir)}``.
    """
    return _rate_steps(curves, log_from=1e-3, xlabel="false alarm rate (unknown people accepted)",
                       ylabel="detection and identification rate", title=title)


def confusion_figure(matrix: npt.ArrayLike, labels: Sequence[str], *, title: str = "Confusion matrix",
                     normalize: bool = True) -> Any:
    """A confusion matrix as an image: rows are the true people, columns the predicted ones.

    With many classes the tick labels are dropped (they would not be readable); ``normalize`` divides each row
    by its total so the diagonal is per-person recall.
    """
    plt = _pyplot()
    m = np.asarray(matrix, dtype=float)
    if normalize:
        totals = m.sum(axis=1, keepdims=True)
        m = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    fig, ax = plt.subplots(figsize=(3.4, 3.4))
    image = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=1.0 if normalize else None, interpolation="nearest")
    ax.grid(False)
    if len(labels) <= 25:
        ax.set_xticks(range(len(labels)), [str(x) for x in labels], rotation=90, fontsize=4)
        ax.set_yticks(range(len(labels)), [str(x) for x in labels], fontsize=4)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel(f"predicted ({len(labels)} people)")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def precision_recall_figure(curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]], *,
                            title: str = "Face detection") -> Any:
    """Precision-recall curves of detectors (points ordered by falling detector score).

    Args:
        curves: ``{label: (recall, precision)}``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    for label, (recall, precision) in curves.items():
        ax.plot(np.asarray(recall, dtype=float), np.asarray(precision, dtype=float), marker=".", markersize=2,
                linewidth=1.0, label=label)
    ax.set_xlim(0.0, 1.01)
    ax.set_ylim(0.0, 1.01)
    return _finish(fig, ax, xlabel="recall", ylabel="precision", title=title, legend="lower left")


def learning_curves_figure(histories: Mapping[str, Mapping[str, npt.ArrayLike]], *,
                           title: str = "Learning curves") -> Any:
    """Training curves from Keras ``history.json`` files: loss (left) and accuracy (right) per epoch.

    Args:
        histories: ``{run label: {"loss": [...], "val_loss": [...], "accuracy": [...], ...}}``; keys that are
            not present are skipped.
    """
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(6.8, 2.4))
    for label, history in histories.items():
        for key, ax, style in (("loss", ax_loss, "-"), ("val_loss", ax_loss, "--"),
                               ("accuracy", ax_acc, "-"), ("val_accuracy", ax_acc, "--")):
            raw = history.get(key)
            values = np.asarray(raw if raw is not None else [], dtype=float)
            if values.size:
                epochs = np.arange(1, values.size + 1)
                ax.plot(epochs, values, style, linewidth=1.0, label=f"{label} {key}")
    for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend(loc="best")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def embedding_map_figure(points: npt.ArrayLike, labels: Sequence[str], *,
                         title: str = "t-SNE map of the embeddings") -> Any:
    """A 2-D map of embeddings (e.g. t-SNE), one colour per person, with a legend when there are few people."""
    plt = _pyplot()
    xy = np.asarray(points, dtype=float)
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    names = sorted(set(labels))
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    label_arr = np.asarray(labels)
    for i, name in enumerate(names):
        sel = label_arr == name
        ax.scatter(xy[sel, 0], xy[sel, 1], s=4, color=cmap(i), label=name.replace("_", " "))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    if len(names) <= 20:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=4, markerscale=1.5, frameon=False)
    fig.tight_layout()
    return fig


def speed_figure(stage_ms: Mapping[str, Mapping[str, float]], *, title: str = "Time per stage") -> Any:
    """Stacked bars of milliseconds per pipeline stage, one bar per image size.

    Args:
        stage_ms: ``{size label: {stage: ms}}`` with the same stages for every size.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=COLUMN_FIGSIZE)
    sizes = list(stage_ms)
    stages = list(next(iter(stage_ms.values()))) if stage_ms else []
    bottom = np.zeros(len(sizes))
    for stage in stages:
        values = np.array([float(stage_ms[s].get(stage, 0.0) or 0.0) for s in sizes])
        ax.bar(sizes, values, bottom=bottom, label=stage)
        bottom += values
    ax.set_ylabel("milliseconds per image")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
