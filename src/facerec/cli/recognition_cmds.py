"""``facerec cluster`` and ``facerec calibrate``: group unknown faces; calibrate the threshold on labelled faces.

Thin translations to :func:`facerec.recognition.cluster_faces` and :func:`facerec.recognition.calibrate`. Both
commands turn facerec's own errors into one ``facerec: <message>`` line and exit code 2, also when they are
invoked on their own (outside the ``facerec`` group).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from facerec.batch import BatchProcessor, FileResult
from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Fail,
    Progress,
    box_cell,
    emit,
    error_line,
    errors_document,
    errors_to_fail,
    expand_paths,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    quiet_option,
    run_files,
)
from facerec.types import Box, Face

__all__ = ["COMMANDS", "calibrate", "cluster"]

#: Margin added around a face box on each side when a crop is written, as a fraction of the box size.
CROP_MARGIN = 0.25


# -- cluster --------------------------------------------------------------------------------------------------------
@click.command(short_help="Group the faces of unknown people into clusters, one per person.")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--method", type=click.Choice(["agglomerative", "chinese_whispers", "dbscan"]),
              default="agglomerative", show_default=True,
              help="Clustering algorithm: agglomerative (average linkage; the most accurate on LFW), "
                   "chinese_whispers (dlib's; for tens of thousands of faces) or dbscan.")
@click.option("--threshold", "distance_threshold", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Faces (or groups) closer than this join. Lower is stricter: purer, smaller clusters. "
                   "Default: 0.55 for agglomerative, 0.5 for chinese_whispers, 0.45 for dbscan.")
@click.option("--min-size", "min_cluster_size", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="N", help="Clusters with fewer than N faces are reported as noise (cluster -1).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of chinese_whispers' visiting order.")
@click.option("--crops", "crops_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="OUT_DIR", help="Write each face's crop into OUT_DIR/cluster_<k>/ (noise: OUT_DIR/noise/).")
@pipeline_options
@quiet_option
@output_options
@click.pass_context
@errors_to_fail
def cluster(ctx: click.Context, /, photos: tuple[Path, ...], method: str, distance_threshold: float | None,
            min_cluster_size: int, seed: int, crops_dir: Path | None, quiet: bool, as_json: bool,
            as_csv: bool, **options: Any) -> None:
    """Group every face in PHOTOS (files, or folders searched recursively) by person.

    Each face gets a cluster number, 0 for the largest cluster; faces in clusters smaller than --min-size are
    noise (-1). The table lists the faces by cluster; --json gives the clusters with their faces, --csv one row
    per face. With --crops, each face is also saved as a small picture in one folder per cluster, for a quick
    look at the result.
    """
    from facerec.recognition.clustering import DEFAULT_CLUSTER_THRESHOLDS, cluster_faces

    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    files = expand_paths(photos)
    with BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) as batch:
        results = run_files(batch, files, quiet=quiet, label="cluster", operation="embed")
    faces = [(result, i, face, face.embedding) for result in results if result.ok
             for i, face in enumerate(result.faces, start=1) if face.embedding is not None]
    failed = sum(1 for r in results if not r.ok)
    if not faces:
        if failed == len(results):
            raise Fail(f"none of the {len(results)} input file(s) could be used")
        raise Fail(f"no faces found in the {len(results)} photo(s)")
    import numpy as np

    threshold = DEFAULT_CLUSTER_THRESHOLDS[method] if distance_threshold is None else distance_threshold
    labels = cluster_faces(np.stack([vector for _, _, _, vector in faces]), method=method,
                           distance_threshold=threshold, min_cluster_size=min_cluster_size, random_state=seed)
    rows = [(result.path, i, face, int(label)) for (result, i, face, _), label in zip(faces, labels)]
    rows.sort(key=lambda r: (r[3] == -1, r[3]))  # clusters in order, noise last; stable within a cluster
    crops: dict[tuple[Path, int], Path] = {}
    if crops_dir is not None:
        crops = _write_crops(rows, crops_dir)
    emit(fmt, document=lambda: _cluster_document(rows, results, crops, method, threshold, min_cluster_size),
         table=lambda: _cluster_table(rows), csv_rows=lambda: _cluster_csv(rows, crops))
    ctx.exit(EXIT_FAILED if failed else EXIT_OK)


ClusterRow = tuple[Path, int, Face, int]


def _cluster_name(label: int) -> str:
    return "noise" if label == -1 else f"cluster_{label}"


def _write_crops(rows: Sequence[ClusterRow], out_dir: Path) -> dict[tuple[Path, int], Path]:
    from PIL import Image

    from facerec.images import load_image

    written: dict[tuple[Path, int], Path] = {}
    taken: set[Path] = set()
    images: dict[Path, Any] = {}
    for path, i, face, label in rows:
        if path not in images:
            images.clear()  # keep one decoded photo at a time
            images[path] = load_image(path)
        rgb = images[path]
        height, width = rgb.shape[:2]
        box = face.box
        mx, my = round(box.width * CROP_MARGIN), round(box.height * CROP_MARGIN)
        crop = Box(box.left - mx, box.top - my, box.right + mx, box.bottom + my).clip(width, height)
        if crop.width <= 0 or crop.height <= 0:
            continue
        folder = out_dir / _cluster_name(label)
        target = folder / f"{path.stem}_face{i}.jpg"
        n = 2
        while target in taken:
            target = folder / f"{path.stem}_face{i}_{n}.jpg"
            n += 1
        taken.add(target)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb[crop.top:crop.bottom, crop.left:crop.right]).save(target, quality=90)
        except OSError as exc:
            raise Fail(f"{target}: cannot write the crop ({exc.strerror or exc})") from None
        written[(path, i)] = target
    return written


def _cluster_table(rows: Sequence[ClusterRow]) -> tuple[list[str], list[list[Any]]]:
    sizes: dict[int, int] = {}
    for _, _, _, label in rows:
        sizes[label] = sizes.get(label, 0) + 1
    headers = ["cluster", "size", "file", "face", "box (l,t,r,b)"]
    return headers, [[label, sizes[label], path, i, box_cell(face.box)]
                     for path, i, face, label in rows]


def _cluster_csv(rows: Sequence[ClusterRow], crops: dict[tuple[Path, int], Path]
                 ) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "left", "top", "right", "bottom", "cluster", "crop"]
    return headers, [[path, i, *face.box.to_dict().values(), label, crops.get((path, i), "")]
                     for path, i, face, label in rows]


def _cluster_document(rows: Sequence[ClusterRow], results: Sequence[FileResult],
                      crops: dict[tuple[Path, int], Path], method: str, threshold: float,
                      min_cluster_size: int) -> dict[str, Any]:
    def face_entry(path: Path, i: int, face: Face) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": str(path), "face": i, "box": face.box.to_dict()}
        if (path, i) in crops:
            entry["crop"] = str(crops[(path, i)])
        return entry

    clusters: dict[int, list[dict[str, Any]]] = {}
    noise: list[dict[str, Any]] = []
    for path, i, face, label in rows:
        (noise if label == -1 else clusters.setdefault(label, [])).append(face_entry(path, i, face))
    return {
        "method": method, "threshold": threshold, "min_size": min_cluster_size,
        "photos": len(results), "faces": len(rows),
        "clusters": [{"cluster": k, "size": len(v), "faces": v} for k, v in sorted(clusters.items())],
        "noise": noise,
        "errors": errors_document(results),
    }


# -- calibrate ------------------------------------------------------------------------------------------------------
@click.command(short_help="Calibrate the distance threshold and match probability on labelled photos.")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--target-far", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=1e-3,
              show_default=True, help="False-accept rate to meet: the fraction of pairs of different people "
                                      "called the same. Lower is stricter.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("calibration.json"), show_default=True, help="Where to write the calibration (JSON).")
@click.option("--min-images", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Use only people with at least N photos.")
@pipeline_options
@quiet_option
@click.option("--json", "as_json", is_flag=True, help="Print the calibration as JSON instead of a summary.")
@click.pass_context
@errors_to_fail
def calibrate(ctx: click.Context, /, data_dir: Path, target_far: float, out_path: Path, min_images: int, quiet: bool,
              as_json: bool, **options: Any) -> None:
    """Calibrate the decision threshold on DATA_DIR, a folder with one sub-folder of photos per person.

    Every pair of photos of one person and every pair of different people is compared. The threshold is the
    largest distance whose false-accept rate on the different-people pairs is at most --target-far; the match
    probability P(same | distance) is fitted by Platt scaling. Both are written to --out as JSON, with the
    false-reject rate at the threshold.
    """
    import json

    from facerec.analyzer import get_analyzer
    from facerec.recognition.calibration import calibrate as run_calibration
    from facerec.recognition.data import embed_directory

    pipeline = pipeline_settings(ctx, options)
    bar: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(Progress(total, "calibrate", enabled=not quiet))
        bar[0].advance()

    try:
        data = embed_directory(data_dir, min_images=min_images, analyzer=get_analyzer(**pipeline.analyzer),
                               pick=pipeline.pick, progress=progress)
    finally:
        if bar:
            bar[0].close()
    for photo, reason in data.skipped:
        click.echo(error_line(photo, reason), err=True)
    result = run_calibration(data, target_far, embedder=pipeline.analyzer["embedder"])
    try:
        result.save(out_path)
    except OSError as exc:
        raise Fail(f"{out_path}: cannot write the calibration ({exc.strerror or exc})") from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"threshold  {result.threshold:.4f}  (distance; lower is stricter)\n"
               f"FAR        {result.far:.2e}  (target {result.target_far:.0e}; {result.impostor_pairs} pairs of "
               f"different people)\n"
               f"FRR        {result.frr:.4f}  ({result.genuine_pairs} pairs of the same person)\n"
               f"P(same)    {result.probability(result.threshold):.3f} at the threshold (prior {result.prior})\n"
               f"data       {result.images} photos of {result.people} people; {len(data.skipped)} skipped\n"
               f"written    {out_path}")


#: The commands of this module, for the main group to register.
COMMANDS = (cluster, calibrate)
