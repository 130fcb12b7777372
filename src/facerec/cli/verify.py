"""``facerec verify``: are two photos the same person?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import facerec
from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    analyzer_options,
    calibration_option,
    comparison_option,
    emit,
    load_calibration_option,
    match_probability,
    output_format,
    output_options,
    resolve_comparison_option,
    resolve_threshold,
    threshold_option,
)


@click.command(short_help="Same person in two photos? (exit 0 same, 1 different)")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@threshold_option
@calibration_option
@comparison_option
@analyzer_options(embedder=True)
@output_options
@click.pass_context
def verify(ctx: click.Context, /, a: Path, b: Path, distance_threshold: float | None, calibration_path: Path | None,
           comparison: str | None, as_json: bool, as_csv: bool, **analyzer: Any) -> None:
    """Say whether photos A and B show the same person.

    The largest face of each photo is compared. Prints the distance between their embeddings (lower is more
    alike; see --comparison), the threshold, the probability that they are the
    same person, and "same" or "different". The probability P(same | distance) comes from --calibration; without
    one it is left blank (null in JSON).

    \b
    Exit code (as diff(1) reports "same" and "different"):
      0  same person
      1  different people
      2  error: unreadable photo, no face found, bad option
    """
    fmt = output_format(as_json, as_csv)
    calibration = load_calibration_option(calibration_path)
    threshold = resolve_threshold(distance_threshold, calibration)
    result = facerec.verify(a, b, distance_threshold=threshold, analyzer=facerec.get_analyzer(**analyzer),
                            comparison=resolve_comparison_option(comparison, calibration))
    probability = match_probability(calibration, result.distance)
    verdict = "same" if result.same else "different"

    def rows() -> tuple[list[str], list[list[Any]]]:
        return (["a", "b", "distance", "threshold", "probability", "result"],
                [[a, b, f"{result.distance:.4f}", f"{result.threshold:g}",
                  "" if probability is None else f"{probability:.3f}", verdict]])

    def csv_rows() -> tuple[list[str], list[list[Any]]]:
        return (["a", "b", "distance", "threshold", "probability", "same"],
                [[a, b, repr(result.distance), result.threshold, "" if probability is None else repr(probability),
                  str(result.same).lower()]])

    def document() -> dict[str, Any]:
        return {"a": str(a), "b": str(b), **result.to_dict(), "probability": probability,
                "calibration": None if calibration_path is None else str(calibration_path)}

    emit(fmt, document=document, table=rows, csv_rows=csv_rows)
    ctx.exit(EXIT_OK if result.same else EXIT_FAILED)
