"""``facerec train`` and ``facerec predict``: Keras training on a folder-per-person data set, and classifying
the faces of new photos with a trained run folder.

The work is done by :mod:`facerec.training` (needs ``pip install 'facerec[train]'``); this module only translates
options and prints.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from facerec.analyzer import DEFAULT_FALLBACK_DETECTOR, DEFAULT_FLIP
from facerec.cli._common import (
    Fail,
    PipelineSettings,
    emit,
    error_line,
    errors_to_fail,
    expand_paths,
    output_format,
    pipeline_options,
    pipeline_settings,
)
from facerec.detection import DEFAULT_MAX_SIDE
from facerec.errors import FacerecError
from facerec.images import DEFAULT_MAX_PIXELS

__all__ = ["predict", "train"]


def _training() -> Any:
    try:
        from facerec import training
    except ImportError as error:  # pragma: no cover - depends on the install
        raise Fail(f"training needs the train extra ({error}); pip install 'facerec[train]'") from None
    return training


def _model_help() -> str:
    from facerec.training.models import MODELS

    return "; ".join(f"{name}: {text}" for name, text in MODELS.describe().items())


def _model_defaults(setting: str) -> str:
    """``"convnet 60, mobilenet 50, ..."``: each Keras model's default for a :class:`TrainingDefaults` field."""
    from facerec.training.models import list_models, model_info

    def text(value: Any) -> str:
        return ("on" if value else "off") if isinstance(value, bool) else f"{value:g}"

    return ", ".join(f"{name} {text(getattr(model_info(name).defaults, setting))}" for name in list_models()
                     if model_info(name).kind == "keras")


class _ModelDefaultOption(click.Option):
    """An option whose help ends with each model's default, read from the model registry only when help is shown
    (so that every other command starts without importing the training code)."""

    def __init__(self, *args: Any, setting: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setting = setting
        self.base_help = self.help or ""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        try:
            defaults = _model_defaults(self.setting)
        except ImportError:  # pragma: no cover - the train extra is missing
            defaults = "the model's"
        self.help = f"{self.base_help} [default: the model's: {defaults}]"
        return super().get_help_record(ctx)


def _aliased(new: Any, old: Any, new_flag: str, old_flag: str) -> Any:
    """The value of an option that has a hidden old spelling: the new one wins; both at once is a usage error."""
    if old is None:
        return new
    if new is not None:
        raise click.UsageError(f"{old_flag} is the old spelling of {new_flag}: give only {new_flag}")
    return old


@click.command(context_settings={"max_content_width": 110})
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/train"),
              show_default=True, help="the run folder (a parent folder of run folders with --sweep)")
@click.option("-m", "--model", default="convnet", show_default=True,
              help="convnet | mobilenet | resnet-face | embedding-svm | embedding-knn")
@click.option("--sweep", "sweep_spec", default=None,
              help="several runs: a JSON/TOML file ({'defaults': {...}, 'runs': [{...}]}) or a comma list of "
                   "models; writes comparison.md and comparison.json")
@click.option("--image-size", type=click.IntRange(16, 1024), default=None,
              help="chip side in px [default: the model's: 128, 150 for resnet-face and embeddings]")
@click.option("--padding", type=click.FloatRange(0, 2), default=None, help="chip padding [default: 0.25]")
@click.option("--no-align", is_flag=True, help="resize whole photos instead of detecting and aligning faces")
@click.option("--multiple-faces", type=click.Choice(["skip", "central", "largest"]), default="skip",
              show_default=True, help="what to do with a photo of several faces")
@click.option("--min-images-per-person", type=click.IntRange(1), default=1, show_default=True)
@click.option("--max-people", type=click.IntRange(2), default=None)
@click.option("--max-images-per-person", type=click.IntRange(1), default=None)
@click.option("--epochs", type=click.IntRange(1), default=None, cls=_ModelDefaultOption, setting="epochs",
              help="most epochs (of the new head, for a transfer model)")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=None, cls=_ModelDefaultOption,
              setting="learning_rate", help="Adam's learning rate (the course's seed: --learning-rate 1e-4)")
@click.option("--patience", "early_stopping", type=click.IntRange(0), default=None, metavar="EPOCHS",
              cls=_ModelDefaultOption, setting="patience",
              help="early stopping: stop after EPOCHS epochs without a lower validation loss and keep the best "
                   "weights; 0 trains every epoch")
@click.option("--early-stopping", "early_stopping_alias", type=click.IntRange(0), default=None, hidden=True,
              help="the old name of --patience")
@click.option("--l2", type=click.FloatRange(0), default=0.0, show_default=True, help="L2 factor on dense weights")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="dropout rate before the classifier [default: the model's]")
@click.option("--augment/--no-augment", default=None, cls=_ModelDefaultOption, setting="augment",
              help="random flip, rotation, zoom and brightness while training")
@click.option("--base-weights", default=None,
              help="transfer base weights: imagenet (mobilenet: Keras' standard download into its cache, which "
                   "needs a network once, or a local file found there), dlib, a PATH, or none")
@click.option("--freeze-base/--no-freeze-base", default=True, show_default=True,
              help="stage 1 trains only the new head (base called with training=False)")
@click.option("--fine-tune-top", type=click.IntRange(0), default=0, show_default=True, metavar="N",
              help="stage 2: un-freeze the top N layers of the base (BatchNorm stays frozen) and continue")
@click.option("--fine-tune-learning-rate", type=click.FloatRange(0, min_open=True), default=1e-5,
              show_default=True)
@click.option("--fine-tune-epochs", type=click.IntRange(1), default=None, help="[default: --epochs]")
@click.option("--test-size", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.3,
              show_default=True)
@click.option("--validation-size", type=click.FloatRange(0, 1, max_open=True), default=None,
              cls=_ModelDefaultOption, setting="validation_size",
              help="fraction of the training part held out for validation (early stopping)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", "split_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="split JSON: re-used when it exists, else written there")
@click.option("--min-probability", "threshold", type=click.FloatRange(0, 1), default=None,
              help="the run's default for predict: the lowest class probability still given a name, below it "
                   "'unknown' (higher is stricter) [default: 0.5]")
@click.option("--threshold", "threshold_alias", type=click.FloatRange(0, 1), default=None, hidden=True,
              help="the old name of --min-probability")
@click.option("--save-h5", is_flag=True, help="also save the model as legacy .h5")
@click.option("--feature-cache/--no-feature-cache", default=True, show_default=True,
              help="with a frozen base and no --augment, compute the base's features once and train the head on them")
@click.option("--run-eagerly", is_flag=True, help="train without graph tracing (tiny data sets, debugging)")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="chip cache [default: facerec's cache folder]")
@click.option("--no-cache", is_flag=True, help="neither read nor write the chip cache")
@click.option("--threads", type=click.IntRange(0), default=0, help="TensorFlow threads (0: TensorFlow's choice)")
@click.option("--json", "as_json", is_flag=True, help="print the test metrics (or the comparison) as JSON")
@click.option("-q", "--quiet", is_flag=True, help="no progress lines")
@pipeline_options
@click.pass_context
@errors_to_fail
def train(ctx: click.Context, /, data_dir: Path, output: Path, model: str, sweep_spec: str | None,
          image_size: int | None, padding: float | None, no_align: bool, multiple_faces: str,
          min_images_per_person: int, max_people: int | None, max_images_per_person: int | None,
          epochs: int | None, batch_size: int, learning_rate: float | None, early_stopping: int | None,
          early_stopping_alias: int | None, l2: float, dropout: float | None, augment: bool | None,
          base_weights: str | None, freeze_base: bool, fine_tune_top: int, fine_tune_learning_rate: float,
          fine_tune_epochs: int | None, test_size: float, validation_size: float | None, seed: int,
          split_file: Path | None, threshold: float | None, threshold_alias: float | None, save_h5: bool,
          feature_cache: bool, run_eagerly: bool, cache_dir: Path | None, no_cache: bool, threads: int,
          as_json: bool, quiet: bool, **options: Any) -> None:
    """Train a face classifier on DATA_DIR (one sub-folder of photos per person).

    Faces are detected and aligned with facerec's pipeline (cached chips); photos without exactly one face are
    reported and skipped. Learning rate, epochs, early stopping, validation part and augmentation default to the
    model's own settings (see each option), chosen on small LFW folders (docs/BENCHMARKS.md). A seeded, stratified
    train/validation/test split is written to the run folder (and to --split, re-used when it exists). The run
    folder gets model.keras, summary.txt, history.json, learning_curve.png, metrics.json (test accuracy,
    per-person precision/recall/F1), confusion_matrix.png, split.json and command.txt.

    \b
    Examples:
      facerec train lfw/ --min-images-per-person 20 --image-size 64 --epochs 30 --patience 5 -o runs/cnn
      facerec train lfw/ -m resnet-face --fine-tune-top 20 -o runs/resnet
      facerec train lfw/ --learning-rate 1e-4 --epochs 20 --patience 0 --no-augment   # the course's seed
      facerec train lfw/ --sweep convnet,embedding-svm -o runs/compare
    """
    pipeline = pipeline_settings(ctx, options)
    detector, upsample, embedder = (pipeline.analyzer[key] for key in ("detector", "upsample", "embedder"))
    _refuse_unsupported(pipeline)
    workers = pipeline.workers
    training = _training()
    patience = _aliased(early_stopping, early_stopping_alias, "--patience", "--early-stopping")  # old spelling
    min_probability = _aliased(threshold, threshold_alias, "--min-probability", "--threshold")
    command = _command_line(click.get_current_context())
    say = (lambda line: None) if quiet else (lambda line: click.echo(line, err=True))
    settings: dict[str, Any] = {
        "model": model, "image_size": image_size, "padding": padding, "align": not no_align, "detector": detector,
        "upsample": upsample, "multiple_faces": multiple_faces, "min_images_per_person": min_images_per_person,
        "max_people": max_people, "max_images_per_person": max_images_per_person, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "patience": patience, "l2": l2,
        "dropout": dropout, "augment": augment, "base_weights": base_weights, "freeze_base": freeze_base,
        "fine_tune_top": fine_tune_top, "fine_tune_learning_rate": fine_tune_learning_rate,
        "fine_tune_epochs": fine_tune_epochs, "test_size": test_size, "validation_size": validation_size,
        "seed": seed, "save_h5": save_h5, "embedder": embedder,
        "cache_features": feature_cache, "run_eagerly": run_eagerly,
    }
    if min_probability is not None:
        settings["min_probability"] = min_probability  # else TrainConfig's default
    training.configure_threads(threads or None)
    common = {"split_file": split_file, "cache_dir": cache_dir, "use_cache": not no_cache, "workers": workers,
              "command": command, "verbose": 0 if quiet else 2, "log": say}
    if sweep_spec:
        if "model" in _given(click.get_current_context()):
            raise Fail("--model and --sweep exclude each other: name the models in the sweep")
        configs = training.load_sweep(sweep_spec, training.TrainConfig.from_dict(settings))
        results = training.sweep(data_dir, output, configs, **common)
        if as_json:
            emit("json", document=lambda: [r.row() for r in results], table=lambda: ([], []))
        else:
            click.echo((output / "comparison.md").read_text(encoding="utf-8").rstrip())
        return
    result = training.train(data_dir, output, training.TrainConfig.from_dict(settings), **common)
    if as_json:
        emit("json", document=lambda: result.metrics, table=lambda: ([], []))
    else:
        m = result.metrics
        click.echo(f"{result.config.run_name}: test accuracy {m['accuracy']:.3f}, macro F1 {m['macro_f1']:.3f} "
                   f"on {m['test_images']} photos of {m['people']} people -> {result.run_dir}")


def _refuse_unsupported(pipeline: PipelineSettings) -> None:
    """A usage error for a pipeline option that training does not apply yet (its chips and embedding models use
    5-point alignment, the CNN fallback, flip and one jitter at full size; --multiple-faces chooses the face)."""
    fixed = {"--landmarks": ("landmarks", 5), "--fallback-detector": ("fallback_detector", DEFAULT_FALLBACK_DETECTOR),
             "--flip/--no-flip": ("flip", DEFAULT_FLIP), "--jitters": ("num_jitters", 1),
             "--max-side": ("max_side", DEFAULT_MAX_SIDE), "--min-face-size": ("min_face_size_px", 0),
             "--max-pixels": ("max_pixels", DEFAULT_MAX_PIXELS)}
    for option, (key, default) in fixed.items():
        if pipeline.analyzer.get(key, default) != default:
            raise click.UsageError(f"train takes {option} only at its default ({default}) for now")
    if pipeline.pick != "largest" or pipeline.preset != "fast":
        raise click.UsageError("train chooses the face with --multiple-faces and takes no --pick or --preset yet")


def _command_line(ctx: click.Context) -> str:
    """The command as typed when run from a shell, else rebuilt from the options that were set."""
    argv0 = Path(sys.argv[0]).name if sys.argv else ""
    if argv0 == "facerec" and ctx.info_name and ctx.info_name in sys.argv[1:3]:
        return shlex.join(["facerec", *sys.argv[1:]])
    words = ["facerec", ctx.info_name or "train"]
    given = _given(ctx)
    for param in ctx.command.params:
        name = param.name or ""
        if name not in given:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif isinstance(param, click.Option):
            if param.is_flag:
                flag = param.opts[0] if value else (param.secondary_opts or param.opts)[0]
                words.append(flag)
            else:
                words += [param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0], str(value)]
    return shlex.join(words)


def _given(ctx: click.Context) -> set[str]:
    """Options set on the command line (not defaults)."""
    return {name for name in ctx.params
            if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)}


@click.command(context_settings={"max_content_width": 110})
@click.option("-m", "--model", "run_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="a run folder written by facerec train")
@click.argument("photos", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--min-probability", type=click.FloatRange(0, 1), default=None,
              help="lowest probability still given a name; below it 'unknown' (higher is stricter) "
                   "[default: the run's, set by train --min-probability, 0.5]")
@click.option("--threshold", "threshold", type=click.FloatRange(0, 1), default=None, hidden=True,
              help="the old name of --min-probability")
@click.option("--json", "as_json", is_flag=True, help="one JSON document")
@click.option("--csv", "as_csv", is_flag=True, help="a CSV table")
@errors_to_fail
def predict(run_dir: Path, photos: tuple[Path, ...], min_probability: float | None, threshold: float | None,
            as_json: bool, as_csv: bool) -> None:
    """Detect, align and classify every face in PHOTOS (files or folders) with a trained run.

    \b
    Example:
      facerec predict --model runs/cnn group.jpg more_photos/ --min-probability 0.6
    """
    threshold = _aliased(min_probability, threshold, "--min-probability", "--threshold")
    fmt = output_format(as_json, as_csv)
    training = _training()
    files = expand_paths(photos)
    trained = training.load_run(run_dir)
    found: list[Any] = []
    failed = 0
    for path in files:
        try:
            faces = trained.predict_photo(path, threshold)
        except FacerecError as error:
            click.echo(error_line(path, str(error)), err=True)
            failed += 1
            continue
        if not faces:
            click.echo(error_line(path, "no face found"), err=True)
        found.extend(faces)

    def table() -> tuple[list[str], list[list[Any]]]:
        return (["file", "box", "label", "probability"],
                [[f.path, ",".join(str(v) for v in f.box), f.label, f"{f.probability:.3f}"] for f in found])

    emit(fmt, document=lambda: [f.to_dict() for f in found], table=table)
    if failed:
        raise SystemExit(2 if failed == len(files) else 1)
