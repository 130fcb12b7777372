"""Several training runs: :func:`load_sweep` reads a sweep file (JSON or TOML), :func:`sweep` trains every
configuration (``keras.backend.clear_session()`` between them), :func:`load_results` reads finished run folders
back and :func:`write_comparison` writes their comparison table as Markdown and JSON."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facerec.errors import ConfigurationError
from facerec.jsonsafe import write_json
from facerec.training.config import Log, RunResult, TrainConfig
from facerec.training.data import (
    ChipSettings,
    FaceDataset,
    load_face_dataset,
)
from facerec.training.models import model_info
from facerec.training.trainer import train

__all__ = ["load_results", "load_sweep", "sweep", "write_comparison"]


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
    write_json(out / "comparison.json", rows)
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
