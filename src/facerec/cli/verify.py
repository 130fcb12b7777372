"""``facerec verify``: are two photos the same person?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import facerec
from facerec.api import choose_face
from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    STDIN,
    box_cell,
    calibration_option,
    emit,
    load_calibration_option,
    match_probability,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    resolve_threshold,
    shown_path,
    stdin_image,
    threshold_option,
)
from facerec.compare import verify_embeddings


@click.command(short_help="Same person in two photos? (exit 0 same, 1 different)")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@threshold_option
@calibration_option
@pipeline_options
@output_options
@click.pass_context
def verify(ctx: click.Context, /, a: Path, b: Path, distance_threshold: float | None, calibration_path: Path | None,
           as_json: bool, as_csv: bool, **options: Any) -> None:
    """Say whether photos A and B show the same person.

    One face of each photo is compared: the largest, or the one --pick chooses; its box is shown (left, top,
    right, bottom), and a photo with several faces is noted on stderr. A or B may be - (an image on standard
    input). Prints the distance between their embeddings (lower is more
    alike), the threshold, the probability that they are the same person, and "same" or "different". The
    probability P(same | distance) comes from --calibration; without one it is left blank (null in JSON).

    \b
    Exit code (as diff(1) reports "same" and "different"):
      0  same person
      1  different people
      2  error: unreadable photo, no face found, bad option
    """
    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    calibration = load_calibration_option(calibration_path)
    threshold = resolve_threshold(distance_threshold, calibration)
    analyzer = facerec.get_analyzer(**pipeline.analyzer)
    if str(a) == STDIN and str(b) == STDIN:
        raise click.UsageError("only one of A and B can be - (standard input)")
    chosen = {}
    for photo in (a, b):
        shown = shown_path(photo)
        source = stdin_image() if shown == STDIN else photo
        face, count = choose_face(source, pick=pipeline.pick, name=shown, analyzer=analyzer)
        if count > 1:
            click.echo(f"facerec: {shown}: {count} faces; compared the {pipeline.pick} one (box {box_cell(face.box)}; "
                       f"--pick largest|central|best chooses)", err=True)
        chosen[photo] = (face, count)
    (face_a, count_a), (face_b, count_b) = chosen[a], chosen[b]
    result = verify_embeddings(face_a.embedding, face_b.embedding, threshold)
    probability = match_probability(calibration, result.distance)
    verdict = "same" if result.same else "different"

    def rows() -> tuple[list[str], list[list[Any]]]:
        return (["a", "b", "distance", "threshold", "probability", "result", "a_box", "b_box"],
                [[shown_path(a), shown_path(b), f"{result.distance:.4f}", f"{result.threshold:g}",
                  "" if probability is None else f"{probability:.3f}", verdict, box_cell(face_a.box),
                  box_cell(face_b.box)]])

    def csv_rows() -> tuple[list[str], list[list[Any]]]:
        return (["a", "b", "distance", "threshold", "probability", "same", "a_box", "b_box", "a_faces", "b_faces"],
                [[shown_path(a), shown_path(b), repr(result.distance), result.threshold,
                  "" if probability is None else repr(probability), str(result.same).lower(), box_cell(face_a.box),
                  box_cell(face_b.box), count_a, count_b]])

    def document() -> dict[str, Any]:
        return {"a": shown_path(a), "b": shown_path(b), **result.to_dict(), "probability": probability,
                "calibration": None if calibration_path is None else str(calibration_path),
                "faces": {"a": {"box": face_a.box.to_dict(), "found": count_a},
                          "b": {"box": face_b.box.to_dict(), "found": count_b}}}

    emit(fmt, document=document, table=rows, csv_rows=csv_rows)
    ctx.exit(EXIT_OK if result.same else EXIT_FAILED)
