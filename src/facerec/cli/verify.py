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
    emit,
    output_format,
    output_options,
    threshold_option,
)


@click.command(short_help="Same person in two photos? (exit 0 same, 1 different)")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@threshold_option
@analyzer_options(embedder=True)
@output_options
@click.pass_context
def verify(ctx: click.Context, /, a: Path, b: Path, distance_threshold: float, as_json: bool, as_csv: bool,
           **analyzer: Any) -> None:
    """Say whether photos A and B show the same person.

    The largest face of each photo is compared. Prints the distance between their embeddings (lower is more
    alike), the threshold, and "same" or "different".

    \b
    Exit code (as diff(1) reports "same" and "different"):
      0  same person
      1  different people
      2  error: unreadable photo, no face found, bad option
    """
    fmt = output_format(as_json, as_csv)
    result = facerec.verify(a, b, distance_threshold=distance_threshold, analyzer=facerec.get_analyzer(**analyzer))
    verdict = "same" if result.same else "different"

    def rows() -> tuple[list[str], list[list[Any]]]:
        return (["a", "b", "distance", "threshold", "result"],
                [[a, b, f"{result.distance:.4f}", f"{result.threshold:g}", verdict]])

    def csv_rows() -> tuple[list[str], list[list[Any]]]:
        return ["a", "b", "distance", "threshold", "same"], [[a, b, repr(result.distance), result.threshold,
                                                                str(result.same).lower()]]

    emit(fmt, document=lambda: {"a": str(a), "b": str(b), **result.to_dict()}, table=rows, csv_rows=csv_rows)
    ctx.exit(EXIT_OK if result.same else EXIT_FAILED)
