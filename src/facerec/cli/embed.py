"""``facerec embed``: the 128-d embedding of every face."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

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
from facerec.embedding import EMBEDDING_SIZE
from facerec.types import Face

#: Embedding values shown per face in the table (the whole vector is in --json and --csv).
_PREVIEW = 4


@click.command(short_help="Compute the 128-d embedding of each face.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pipeline_options
@quiet_option
@output_options
@click.pass_context
def embed(ctx: click.Context, /, paths: tuple[Path, ...], quiet: bool, as_json: bool, as_csv: bool,
          **options: Any) -> None:
    """Compute the 128-d embedding of every face in PATHS (files, or folders searched recursively).

    Embeddings of one person's faces lie within about 0.6 of each other (Euclidean distance). The table shows
    the first values only; --json and --csv (columns e0..e127) give all 128.
    """
    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    files = expand_paths(paths)
    with BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) as batch:
        results = run_files(batch, files, quiet=quiet, label="embed", operation="embed")
    good = [r for r in results if r.ok]
    conclude(ctx, results, fmt, document=lambda: _document(results, pipeline.analyzer["embedder"]),
             table=lambda: _table(good), csv_rows=lambda: _csv(good))


def _vector(face: Face) -> list[float]:
    return [] if face.embedding is None else [float(v) for v in face.embedding]


def _table(results: list[FileResult]) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "box (l,t,r,b)", f"embedding (first {_PREVIEW} of {EMBEDDING_SIZE})"]
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path, "-", "no face found"])
            continue
        face = result.faces[i - 1]
        preview = " ".join(f"{v:+.4f}" for v in _vector(face)[:_PREVIEW])
        rows.append([result.path, i, box_cell(face.box), f"{preview} ..."])
    return headers, rows


def _csv(results: list[FileResult]) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "left", "top", "right", "bottom", *(f"e{k}" for k in range(EMBEDDING_SIZE))]
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path] + [""] * (len(headers) - 1))
            continue
        face = result.faces[i - 1]
        rows.append([result.path, i, *face.box.to_dict().values(), *(repr(v) for v in _vector(face))])
    return headers, rows


def _document(results: list[FileResult], embedder: str) -> dict[str, Any]:
    return {
        "embedder": embedder,
        "files": [{**file_document(r),
                   "faces": [{"box": f.box.to_dict(), "score": float(f.score), "detector": f.detector,
                              "embedding": _vector(f)} for f in r.faces]}
                  for r in results if r.ok],
        "errors": errors_document(results),
    }
