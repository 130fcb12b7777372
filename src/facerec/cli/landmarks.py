"""``facerec landmarks``: the 68 (or 5) facial points of each face."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from facerec.batch import BatchProcessor, FileResult
from facerec.cli._common import (
    box_cell,
    conclude,
    errors_document,
    expand_paths,
    file_document,
    iter_faces,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    quiet_option,
    run_files,
)


@click.command(short_help="Find 68 (or 5) facial landmarks per face.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--points", type=click.Choice(["5", "68"]), default="68", show_default=True,
              help="68 points (chin, brows, nose, eyes, lips) or dlib's 5 (eye corners and the base of the nose).")
@pipeline_options
@quiet_option
@output_options
@click.pass_context
def landmarks(ctx: click.Context, /, paths: tuple[Path, ...], points: str, quiet: bool, as_json: bool,
              as_csv: bool, **options: Any) -> None:
    """Find the facial landmarks of every face in PATHS (files, or folders searched recursively).

    The table shows each face's box and the centres of its eyes and nose tip as x,y pixels; --json gives every
    point and the named groups (chin, left_eye, top_lip, ...), --csv one row per face with x0,y0,x1,y1,...
    """
    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    count = int(points)
    files = expand_paths(paths)
    with BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) as batch:
        results = run_files(batch, files, quiet=quiet, label="landmarks", operation="landmarks", points=count)
    good = [r for r in results if r.ok]
    conclude(ctx, results, fmt, document=lambda: _document(results, count), table=lambda: _table(good),
             csv_rows=lambda: _csv(good, count))


def _centre(points: list[tuple[int, int]]) -> str:
    x, y = np.mean(np.asarray(points, dtype=np.float64), axis=0)
    return f"{x:.0f},{y:.0f}"


def _table(results: list[FileResult]) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "box (l,t,r,b)", "points", "left_eye", "right_eye", "nose_tip"]
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path, "-", "no face found"])
            continue
        face = result.faces[i - 1]
        groups = face.landmark_groups()
        count = 0 if face.landmarks is None else len(face.landmarks)
        rows.append([result.path, i, box_cell(face.box), count,
                     *(_centre(groups[name]) if name in groups else "" for name in ("left_eye", "right_eye",
                                                                                   "nose_tip"))])
    return headers, rows


def _csv(results: list[FileResult], count: int) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "left", "top", "right", "bottom"]
    headers += [f"{axis}{k}" for k in range(count) for axis in ("x", "y")]
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path] + [""] * (len(headers) - 1))
            continue
        face = result.faces[i - 1]
        coords = [] if face.landmarks is None else [int(v) for point in face.landmarks for v in point]
        rows.append([result.path, i, *face.box.to_dict().values(), *coords])
    return headers, rows


def _document(results: list[FileResult], count: int) -> dict[str, Any]:
    return {
        "points": count,
        "files": [{**file_document(r),
                   "faces": [{**f.to_dict(with_embedding=False), "groups": f.landmark_groups()} for f in r.faces]}
                  for r in results if r.ok],
        "errors": errors_document(results),
    }
