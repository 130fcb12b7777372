"""``facerec identify``: who is in each photo, from a folder of known people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facerec.batch import BatchProcessor, FileResult, KnownPeople, known_people_files, load_known_people
from facerec.cli._common import (
    Fail,
    Progress,
    analyzer_options,
    batch_options,
    conclude,
    error_line,
    errors_document,
    expand_paths,
    file_document,
    iter_faces,
    output_format,
    output_options,
    run_files,
    threshold_option,
)


@click.command(short_help="Name the people in photos from a folder of known people.")
@click.option("--known", "known_dir", required=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of known people: DIR/<name>.jpg (one photo each) and/or DIR/<name>/*.jpg (several).")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@threshold_option
@click.option("--draw", "draw_dir", metavar="OUT_DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Write a copy of each photo with boxes and names into OUT_DIR (green known, red unknown).")
@analyzer_options(embedder=True)
@batch_options
@output_options
@click.pass_context
def identify(ctx: click.Context, /, known_dir: Path, photos: tuple[Path, ...], distance_threshold: float,
             draw_dir: Path | None, workers: int, quiet: bool, as_json: bool, as_csv: bool, **analyzer: Any) -> None:
    """Name the people in PHOTOS (files, or folders searched recursively) from the known people in DIR.

    Each face gets the name of the nearest known face when it is within the threshold, else "unknown"; the
    distance to the nearest known person is shown either way (lower is more alike). A photo with no face gets
    one row that says so.

    The largest face of each known photo is enrolled. Known photos that cannot be read or show no face are
    reported on stderr like bad photos (exit code 1); with none usable, the exit code is 2.
    """
    fmt = output_format(as_json, as_csv)
    files = expand_paths(photos)
    with BatchProcessor(workers=workers, **analyzer) as batch:
        known, known_failures = _load_known(batch, known_dir, quiet)
        results = run_files(batch, files, quiet=quiet, label="identify", operation="identify", known=known,
                            distance_threshold=distance_threshold, draw_dir=draw_dir)
    good = [r for r in results if r.ok]
    drawn = sum(1 for r in good if r.annotated is not None)
    if draw_dir is not None and drawn and not quiet:
        click.echo(f"wrote {drawn} annotated cop{'y' if drawn == 1 else 'ies'} to {draw_dir}", err=True)
    conclude(ctx, results, fmt, document=lambda: _document(results, known, distance_threshold, known_failures),
             table=lambda: _table(good, csv=False), csv_rows=lambda: _table(good, csv=True),
             other_failures=len(known_failures))


def _load_known(batch: BatchProcessor, known_dir: Path, quiet: bool) -> tuple[KnownPeople, list[FileResult]]:
    total = len(known_people_files(known_dir))
    if total == 0:
        raise Fail(f"{known_dir}: no photos of known people (expected DIR/<name>.jpg or DIR/<name>/*.jpg)")
    progress = Progress(total, "known", enabled=not quiet)
    try:
        known, failures = load_known_people(known_dir, batch, on_result=lambda _: progress.advance())
    finally:
        progress.close()
    for failure in failures:
        click.echo(error_line(failure.path, failure.error or "failed"), err=True)
    if len(known) == 0:
        raise Fail(f"{known_dir}: no usable face among the {total} known photo(s)")
    return known, failures


def _table(results: list[FileResult], *, csv: bool) -> tuple[list[str], list[list[Any]]]:
    if csv:
        headers = ["file", "face", "name", "distance", "nearest", "left", "top", "right", "bottom"]
    else:
        headers = ["file", "face", "name", "distance", "nearest", "box (l,t,r,b)"]
    rows: list[list[Any]] = []
    for result, i in iter_faces(results):
        if i == 0:
            rows.append([result.path] + [""] * (len(headers) - 1) if csv else [result.path, "-", "no face found"])
            continue
        face = result.faces[i - 1]
        match = result.matches[i - 1] if result.matches else None
        name = match.name if match else ""
        nearest = (match.nearest or "") if match else ""
        distance = match.distance if match else None
        if csv:
            rows.append([result.path, i, name, "" if distance is None else repr(distance), nearest,
                         *face.box.to_dict().values()])
        else:
            rows.append([result.path, i, name, "" if distance is None else f"{distance:.3f}", nearest,
                         ",".join(str(v) for v in face.box.to_dict().values())])
    return headers, rows


def _document(results: list[FileResult], known: KnownPeople, distance_threshold: float,
              known_failures: list[FileResult]) -> dict[str, Any]:
    files = []
    for r in results:
        if not r.ok:
            continue
        faces = [{"box": f.box.to_dict(), "score": float(f.score), **(m.to_dict() if m else {})}
                 for f, m in zip(r.faces, r.matches or [None] * len(r.faces))]
        entry = {**file_document(r), "faces": faces}
        if r.annotated is not None:
            entry["annotated"] = str(r.annotated)
        files.append(entry)
    return {
        "threshold": distance_threshold,
        "known": known.people,
        "files": files,
        "errors": errors_document(known_failures) + errors_document(results),
    }
