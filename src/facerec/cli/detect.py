"""``facerec detect``: where the faces are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facerec.batch import BatchProcessor, FileResult
from facerec.cli._common import (
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

_COLUMNS = ["file", "face", "left", "top", "right", "bottom", "score"]


@click.command(short_help="Find faces: boxes and detector scores.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pipeline_options
@quiet_option
@output_options
@click.pass_context
def detect(ctx: click.Context, /, paths: tuple[Path, ...], quiet: bool, as_json: bool, as_csv: bool,
           **options: Any) -> None:
    """Find the faces in PATHS (files, or folders searched recursively).

    Prints one row per face: its box in pixels (left, top, right, bottom; the image's top-left corner is 0, 0)
    and the detector's score (higher is surer; hog and cnn scores are on different scales). A photo with no face
    gets one row that says so.
    """
    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    files = expand_paths(paths)
    with BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) as batch:
        results = run_files(batch, files, quiet=quiet, label="detect", operation="detect")
    good = [r for r in results if r.ok]
    conclude(ctx, results, fmt, document=lambda: _document(results), table=lambda: _table(good, csv=False),
             csv_rows=lambda: _table(good, csv=True))


def _table(results: list[FileResult], *, csv: bool) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path, "", "", "", "", "", ""] if csv else [result.path, "-", "no face found"])
            continue
        face = result.faces[i - 1]
        box = face.box
        rows.append([result.path, i, box.left, box.top, box.right, box.bottom,
                     repr(face.score) if csv else f"{face.score:.3f}"])
    return _COLUMNS, rows


def _document(results: list[FileResult]) -> dict[str, Any]:
    return {
        "files": [{**file_document(r), "faces": [f.to_dict(with_embedding=False) for f in r.faces]}
                  for r in results if r.ok],
        "errors": errors_document(results),
    }
