"""``facerec identify``: who is in each photo, from a gallery of enrolled people or from a folder of known people."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from facerec.batch import BatchProcessor, FileResult, KnownPeople, known_people_files, load_known_people
from facerec.cli._common import (
    Fail,
    Progress,
    announce_index_build,
    box_cell,
    calibration_option,
    conclude,
    error_line,
    errors_document,
    expand_paths,
    file_document,
    iter_faces,
    load_calibration_option,
    match_probability,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    quiet_option,
    resolve_threshold,
    run_files,
    threshold_option,
)
from facerec.drawing import annotated_paths, draw_identifications, save_image
from facerec.errors import ImageError
from facerec.thresholds import false_accept_rate, strangers_accepted, threshold_for_strangers

if TYPE_CHECKING:
    from facerec.analyzer import FacePick
    from facerec.gallery import Gallery
    from facerec.identification import Identification
    from facerec.recognition.calibration import Calibration
    from facerec.types import Face

#: ``--top-k`` in gallery mode when it is not given.
DEFAULT_TOP_K = 3


@click.command(short_help="Name the people in photos, from a gallery or a folder of known people.")
@click.option("--known", "known_dir", default=None, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of known people: DIR/<name>.jpg (one photo each) and/or DIR/<name>/*.jpg (several), "
                   "embedded on every run. Not with --gallery.")
@click.option("--gallery", "gallery_location", default=None, metavar="FILE|DSN",
              help="Gallery of people enrolled with \"facerec enroll\": a SQLite file or a postgresql:// DSN. "
                   "Used when --known is not given; default: $FACEREC_GALLERY, else "
                   "$XDG_DATA_HOME/facerec/gallery.sqlite (~/.local/share/facerec/gallery.sqlite).")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--top-k", type=click.IntRange(min=1), default=None, metavar="K",
              help=f"Gallery mode: how many nearest people (candidates) to list per face, whatever their distance. "
                   f"[default: {DEFAULT_TOP_K}]")
@threshold_option
@calibration_option
@click.option("--draw", "draw_dir", metavar="OUT_DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Write a copy of each photo with boxes and names into OUT_DIR (green known, red unknown).")
@pipeline_options
@quiet_option
@output_options
@click.pass_context
def identify(ctx: click.Context, /, known_dir: Path | None, gallery_location: str | None, photos: tuple[Path, ...],
             top_k: int | None, distance_threshold: float | None, calibration_path: Path | None,
             draw_dir: Path | None, quiet: bool, as_json: bool, as_csv: bool, **options: Any) -> None:
    """Name the people in PHOTOS (files, or folders searched recursively).

    \b
    The known people come from one of:
      --gallery FILE|DSN  the people enrolled with "facerec enroll" (the default, see --gallery)
      --known DIR         a folder of photos of known people, embedded on every run

    Each face gets the name of the nearest known person when the distance is at most the threshold, else
    "unknown"; the distance to the nearest person and their name are shown either way (lower is more alike).
    With --gallery, the --top-k nearest people are also listed as candidates. A photo with no face gets one row
    that says so.

    With --calibration, each face also gets the probability that it is the nearest person, P(same | distance),
    and the threshold defaults to the calibration's; without one, the probability is left blank (null in JSON).
    The JSON document records the threshold used and the rates it implies, measured on LFW ("implied_rates"):
    the share of different-person pairs it accepts, and the share of strangers (people never enrolled) it would
    name as somebody against this many enrolled photos -- a stranger gets one chance per photo, so a large
    gallery needs a lower threshold, which is given too (on a terminal, the same line is printed on stderr).

    With --known, the largest face of each known photo (or the one --pick names) is enrolled. Known photos that
    cannot be read or show no face are reported on stderr like bad photos (exit code 1); with none usable, the
    exit code is 2.
    """
    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    if known_dir is not None and gallery_location is not None:
        raise click.UsageError("choose one of --known and --gallery")
    if known_dir is not None and top_k is not None:
        raise click.UsageError("--top-k lists gallery candidates: use it with --gallery, not --known")
    gallery_mode = known_dir is None
    candidates = top_k or DEFAULT_TOP_K
    calibration = load_calibration_option(calibration_path)
    threshold = resolve_threshold(distance_threshold, calibration)
    files = expand_paths(photos)
    with BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) as batch:
        if known_dir is not None:
            known, known_failures = _load_known(batch, known_dir, quiet, pipeline.pick)
            results = run_files(batch, files, quiet=quiet, label="identify", operation="identify", known=known,
                                distance_threshold=threshold, draw_dir=draw_dir)
            answers: list[list[Identification]] = [list(r.matches or ()) for r in results]
            source: dict[str, Any] = {"known": known.people}
            enrolled_photos = len(known)
        else:
            known_failures = []
            results, answers, location, enrolled_photos = _identify_in_gallery(
                batch, gallery_location, files, quiet=quiet, distance_threshold=threshold, top_k=candidates,
                draw_dir=draw_dir)
            source = {"gallery": location, "top_k": candidates}
        rates = implied_rates(threshold, enrolled_photos, flip=bool(getattr(batch.analyzer, "flip", True)))
    if not quiet and sys.stderr.isatty():
        click.echo(rates_line(rates), err=True)
    rows = [(r, a) for r, a in zip(results, answers) if r.ok]
    drawn = sum(1 for r, _ in rows if r.annotated is not None)
    if draw_dir is not None and drawn and not quiet:
        click.echo(f"wrote {drawn} annotated cop{'y' if drawn == 1 else 'ies'} to {draw_dir}", err=True)

    def document() -> dict[str, Any]:
        files_out = []
        for result, found in rows:
            faces = [_face_entry(face, found[i] if i < len(found) else None, calibration, gallery_mode=gallery_mode)
                     for i, face in enumerate(result.faces)]
            entry = {**file_document(result), "faces": faces}
            if result.annotated is not None:
                entry["annotated"] = str(result.annotated)
            files_out.append(entry)
        return {"threshold": threshold, "calibration": None if calibration_path is None else str(calibration_path),
                "implied_rates": rates, **source, "files": files_out,
                "errors": errors_document(known_failures) + errors_document(results)}

    conclude(ctx, results, fmt, document=document,
             table=lambda: _table(rows, calibration, gallery_mode=gallery_mode),
             csv_rows=lambda: _csv(rows, calibration, top_k=candidates if gallery_mode else 0),
             other_failures=len(known_failures))


# -- the two sources of known people --------------------------------------------------------------------------------
def _load_known(batch: BatchProcessor, known_dir: Path, quiet: bool,
                pick: FacePick) -> tuple[KnownPeople, list[FileResult]]:
    total = len(known_people_files(known_dir))
    if total == 0:
        raise Fail(f"{known_dir}: no photos of known people (expected DIR/<name>.jpg or DIR/<name>/*.jpg)")
    progress = Progress(total, "known", enabled=not quiet)
    try:
        known, failures = load_known_people(known_dir, batch, on_result=lambda _: progress.advance(), pick=pick)
    finally:
        progress.close()
    for failure in failures:
        click.echo(error_line(failure.path, failure.error or "failed"), err=True)
    if len(known) == 0:
        raise Fail(f"{known_dir}: no usable face among the {total} known photo(s)")
    return known, failures


def _open_gallery(location: str | None) -> Gallery:
    from facerec.gallery import GalleryError, open_gallery

    try:
        return open_gallery(location, create=False)
    except GalleryError as exc:
        if location is None:  # the default gallery: say how to name known people instead
            raise Fail(f"{exc}, or name a folder of known people with --known DIR") from None
        raise


def _identify_in_gallery(batch: BatchProcessor, location: str | None, files: Sequence[Path], *, quiet: bool,
                         distance_threshold: float, top_k: int, draw_dir: Path | None,
                         ) -> tuple[list[FileResult], list[list[Identification]], str, int]:
    """Embed every photo with ``batch``, then name its faces from the gallery (and draw them).

    Returns:
        The file results (a file whose annotated copy could not be written becomes a failure, reported on
        stderr), the :class:`~facerec.gallery.Identification` of each face per file, the gallery's location and
        the number of photos (samples) it holds.
    """
    from facerec.gallery import identify as identify_faces
    from facerec.gallery import model_id_for

    with _open_gallery(location) as gallery:
        gallery.check_model(model_id_for(batch.analyzer))  # before any photo is embedded
        results = run_files(batch, files, quiet=quiet, label="identify", operation="embed")
        announce_index_build(gallery, quiet=quiet)
        answers: list[list[Identification]] = [
            identify_faces(gallery, list(r.faces), analyzer=batch.analyzer, distance_threshold=distance_threshold,
                           top_k=top_k) if r.ok else [] for r in results]
        location_text = gallery.location
        enrolled_photos = gallery.count()
    if draw_dir is not None:
        results = [_draw(result, found, out) if result.ok else result
                   for result, found, out in zip(results, answers, annotated_paths(files, draw_dir))]
    return results, answers, location_text, enrolled_photos


# -- what the threshold implies ---------------------------------------------------------------------------------------
#: The share of strangers that the suggested threshold lets through (95% rejected).
STRANGERS_TARGET = 0.05


def implied_rates(threshold: float, enrolled_photos: int, *, flip: bool = True) -> dict[str, Any]:
    """The rates ``threshold`` implies on LFW (see :mod:`facerec.thresholds`), for the JSON document."""
    return {
        "measured_on": "LFW", "threshold": threshold, "flip": flip, "enrolled_photos": enrolled_photos,
        "false_accept_rate": false_accept_rate(threshold, flip=flip),
        "strangers_accepted": strangers_accepted(threshold, enrolled_photos, flip=flip),
        "threshold_for_95_percent_strangers_rejected": round(
            threshold_for_strangers(max(enrolled_photos, 1), STRANGERS_TARGET, flip=flip), 3),
    }


def rates_line(rates: dict[str, Any]) -> str:
    """One line for stderr: what the threshold risks per comparison and against this gallery."""
    photos = rates["enrolled_photos"]
    line = (f"threshold {rates['threshold']:g} (lower is stricter): on LFW it accepts "
            f"{rates['false_accept_rate']:.2%} of different-person pairs; against {photos} enrolled "
            f"photo{'' if photos == 1 else 's'} about {rates['strangers_accepted']:.0%} of strangers would be named")
    if rates["strangers_accepted"] > STRANGERS_TARGET:
        line += f"; --threshold {rates['threshold_for_95_percent_strangers_rejected']:.2f} rejects 95% of them"
    return line


def _draw(result: FileResult, found: Sequence[Identification], out: Path) -> FileResult:
    """``result`` with its annotated copy written to ``out``, or as a failure (reported on stderr) when that
    fails."""
    from facerec.images import load_image

    try:
        save_image(draw_identifications(load_image(result.path), result.faces, found), out)
    except (ImageError, OSError) as exc:
        reason = exc.reason if isinstance(exc, ImageError) \
            else f"cannot write the annotated copy ({exc.strerror or exc})"
        click.echo(error_line(result.path, reason), err=True)
        return FileResult(path=result.path, size=result.size, error=reason)
    return FileResult(path=result.path, faces=result.faces, matches=result.matches, size=result.size,
                      annotated=out)


# -- output ---------------------------------------------------------------------------------------------------------
def _nearest(who: Identification | None) -> tuple[str, float | None, str]:
    """``(name, distance, nearest)`` of an answer (blanks for none)."""
    if who is None:
        return "", None, ""
    return who.name, who.distance, who.nearest or ""


def _face_entry(face: Face, who: Identification | None, calibration: Calibration | None, *,
                gallery_mode: bool) -> dict[str, Any]:
    """A face of the JSON document: with a gallery, the whole answer and its candidates; with --known, the name,
    distance and nearest person."""
    entry: dict[str, Any] = {"box": face.box.to_dict(), "score": float(face.score)}
    if who is None:
        return entry
    if gallery_mode:
        entry.update(who.to_dict())
        entry["candidates"] = [{**c.to_dict(), "probability": match_probability(calibration, c.distance)}
                               for c in who.candidates]
    else:
        entry.update({"name": who.name, "distance": who.distance})
    entry["nearest"] = who.nearest
    entry["probability"] = match_probability(calibration, who.distance)
    return entry


def _table(rows: Sequence[tuple[FileResult, list[Identification]]], calibration: Calibration | None, *,
           gallery_mode: bool) -> tuple[list[str], list[list[Any]]]:
    headers = ["file", "face", "name", "distance", "nearest", "probability", "box (l,t,r,b)"]
    if gallery_mode:
        headers.append("candidates")
    out: list[list[Any]] = []
    for (result, i), found in _faces_with_answers(rows):
        if i == 0:
            out.append([result.path, "-", "no face found"])
            continue
        name, distance, nearest = _nearest(found)
        probability = match_probability(calibration, distance)
        row = [result.path, i, name, "" if distance is None else f"{distance:.3f}", nearest,
               "" if probability is None else f"{probability:.3f}",
               box_cell(result.faces[i - 1].box)]
        if gallery_mode:
            listed = found.candidates if found is not None else []
            row.append("; ".join(f"{c.name} {c.distance:.3f}" for c in listed) or "-")
        out.append(row)
    return headers, out


def _csv(rows: Sequence[tuple[FileResult, list[Identification]]], calibration: Calibration | None, *,
         top_k: int) -> tuple[list[str], list[list[Any]]]:
    """CSV rows; ``top_k`` > 0 adds ``candidate_k``, ``distance_k`` and ``probability_k`` columns."""

    def number(value: float | None) -> str:
        return "" if value is None else repr(value)

    headers = ["file", "face", "name", "distance", "nearest", "left", "top", "right", "bottom", "probability"]
    for k in range(1, top_k + 1):
        headers += [f"candidate_{k}", f"distance_{k}", f"probability_{k}"]
    out: list[list[Any]] = []
    for (result, i), found in _faces_with_answers(rows):
        if i == 0:
            out.append([result.path] + [""] * (len(headers) - 1))
            continue
        name, distance, nearest = _nearest(found)
        row: list[Any] = [result.path, i, name, number(distance), nearest,
                          *result.faces[i - 1].box.to_dict().values(),
                          number(match_probability(calibration, distance))]
        candidates = found.candidates if found is not None else []
        for k in range(top_k):
            c = candidates[k] if k < len(candidates) else None
            row += [c.name, repr(c.distance), number(match_probability(calibration, c.distance))] if c \
                else ["", "", ""]
        out.append(row)
    return headers, out


def _faces_with_answers(rows: Sequence[tuple[FileResult, list[Identification]]],
                        ) -> list[tuple[tuple[FileResult, int], Identification | None]]:
    """``((result, face_index), answer)`` for every face (``face_index`` 0 and no answer for a faceless file)."""
    answers = {id(result): found for result, found in rows}
    out = []
    for result, i in iter_faces([r for r, _ in rows]):
        found = answers[id(result)]
        out.append(((result, i), found[i - 1] if 0 < i <= len(found) else None))
    return out
