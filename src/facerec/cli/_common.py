"""What every ``facerec`` verb shares: options, exit codes, error lines, the progress bar and the output formats.

Only this package prints or exits; the work is done by :mod:`facerec.batch` and the flat API.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from facerec import jsonsafe
from facerec.analyzer import (
    DEFAULT_DETECTOR,
    DEFAULT_EMBEDDER,
    DEFAULT_FALLBACK_DETECTOR,
    DEFAULT_FLIP,
    FacePick,
)
from facerec.batch import BatchProcessor, FileResult, scan_images
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.detection import DEFAULT_MAX_SIDE, list_detectors
from facerec.embedding import list_embedders
from facerec.errors import FacerecError
from facerec.filenames import display_path, display_text
from facerec.filetypes import describe_skipped
from facerec.images import DEFAULT_MAX_PIXELS
from facerec.metric import COMPARISONS, DEFAULT_COMPARISON, Comparison

if TYPE_CHECKING:
    from facerec.gallery import Gallery
    from facerec.recognition.calibration import Calibration
    from facerec.types import Box

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PIPELINE_KEYS",
    "Fail",
    "PipelineSettings",
    "Progress",
    "analyzer_options",
    "batch_options",
    "box_cell",
    "calibration_option",
    "conclude",
    "emit",
    "error_line",
    "errors_document",
    "expand_paths",
    "file_document",
    "iter_faces",
    "load_calibration_option",
    "match_probability",
    "output_format",
    "output_options",
    "pipeline_option",
    "pipeline_options",
    "pipeline_settings",
    "printable",
    "quiet_option",
    "resolve_threshold",
    "run_files",
    "shown_path",
    "stack_options",
    "stdin_image",
    "threshold_option",
]

#: Exit codes (documented in ``facerec --help`` and the README).
EXIT_OK = 0
EXIT_FAILED = 1  # ran, but some inputs failed (verify: different people)
EXIT_USAGE = 2  # usage error, or nothing usable

#: Runs of more files than this show a progress bar (on a terminal, without --quiet).
PROGRESS_MIN_FILES = 3

F = TypeVar("F", bound=Callable[..., Any])


class Fail(click.ClickException):
    """A one-line ``facerec: <message>`` on stderr and exit code 2 (no traceback)."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"facerec: {display_text(self.format_message())}", err=True)


def errors_to_fail(func: F) -> F:
    """Turn facerec's own errors (:class:`~facerec.errors.FacerecError`) into :class:`Fail`: one
    ``facerec: <message>`` line and exit code 2. The main group does this for every verb; verb modules decorate
    their commands too so that they behave the same when invoked on their own (tests, other groups)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FacerecError as exc:
            raise Fail(str(exc)) from None
        except BrokenProcessPool as exc:
            raise Fail(f"a worker process died ({exc}); try again with --workers 1 to find the photo") from None

    return wrapper  # type: ignore[return-value]


class FacerecGroup(click.Group):
    """A click group whose commands report facerec's errors as :func:`errors_to_fail` does."""

    def invoke(self, ctx: click.Context) -> Any:
        return errors_to_fail(super().invoke)(ctx)


def error_line(source: object, reason: str) -> str:
    """The line that reports one bad input: ``facerec: <file>: <reason>``."""
    name = display_path(source) if isinstance(source, Path) else display_text(str(source))
    return f"facerec: {name}: {display_text(reason)}"


def printable(value: Any) -> Any:
    """``value`` with every path and string made printable and strict-JSON safe (:mod:`facerec.filenames`: the
    bytes of a file name that are not UTF-8 as ``\\xNN``), in lists, tuples and dicts too."""
    if isinstance(value, str):
        return display_text(value)
    if isinstance(value, Path):
        return display_path(value)
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    return value


# -- options --------------------------------------------------------------------------------------------------------
def stack_options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator that applies ``decorators`` as if written one above the other, first on top."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


# The pipeline option group: every verb that detects or embeds takes these, defined once here. Each option's
# destination is the FaceAnalyzer keyword of the same name (``--jitters`` -> ``num_jitters``, ``--min-face-size`` ->
# ``min_face_size_px``); ``pick`` and ``workers`` are used by the verb itself; ``preset`` fills in the others.
#: The FaceAnalyzer keywords of the group, in the order of ``--help``.
PIPELINE_ANALYZER_KEYS = ("detector", "upsample", "fallback_detector", "landmarks", "flip", "num_jitters",
                          "max_side", "min_face_size_px", "max_pixels", "embedder")
#: Every destination of the group.
PIPELINE_KEYS = (*PIPELINE_ANALYZER_KEYS, "pick", "preset", "workers")


def _max_side(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """``--max-side``: 0 means full size (``None``); otherwise at least 16 px."""
    if value is None or value == 0:
        return None
    if value < 16:
        raise click.BadParameter(f"{value} is below 16 px (0 means full size)", ctx=ctx, param=param)
    return value


def pipeline_option(key: str) -> Callable[[F], F]:
    """The click option of the group whose destination is ``key``."""
    from facerec.presets import DEFAULT_PRESET, PRESETS

    if key == "detector":
        return click.option(
            "--detector", type=click.Choice(list_detectors()), default=DEFAULT_DETECTOR, show_default=True,
            help="Face detector: hog is fast; the cnn detectors find more (small, turned, dark) faces and are slower.")
    if key == "upsample":
        return click.option(
            "--upsample", type=click.IntRange(0, 4), default=1, show_default=True, metavar="N",
            help="Double the image N times before detecting; each doubling finds faces half as small at about 4x "
                 "the time. 0 finds faces from about 80 px.")
    if key == "fallback_detector":
        return click.option(
            "--fallback-detector", "fallback_detector", type=click.Choice([*list_detectors(), "none"]),
            default=DEFAULT_FALLBACK_DETECTOR, show_default=True,
            callback=lambda _ctx, _param, value: None if value in (None, "none") else value,
            help="A second detector tried only on photos where the first finds no face ('none': no second try).")
    if key == "landmarks":
        return click.option(
            "--landmarks", type=click.Choice(["5", "68"]), default="5", show_default=True,
            callback=lambda _ctx, _param, value: int(value),
            help="Landmarks used to align each face before embedding (the embedder was trained on 5-point "
                 "alignment; keep one kind per gallery).")
    if key == "flip":
        return click.option(
            "--flip/--no-flip", default=DEFAULT_FLIP, show_default=True,
            help="Average each face's embedding with its mirror image's (+0.1 points on LFW, one more pass).")
    if key == "num_jitters":
        return click.option(
            "--jitters", "--num-jitters", "num_jitters", type=click.IntRange(min=1), default=1, show_default=True,
            metavar="N", help="Embed N jittered copies of each face and average (1: none; slower, slightly better).")
    if key == "max_side":
        return click.option(
            "--max-side", type=click.IntRange(min=0), default=DEFAULT_MAX_SIDE, show_default=True, metavar="PX",
            callback=_max_side, help="Detect on a copy shrunk so its longer side is at most PX pixels, and again at "
            "full size where the copy shows no face or only faces near the smallest it can show (about 1/16 of the "
            "photo's side at 640). 0: every photo at full size, as face_recognition does (slower on big photos; "
            "finds small faces beside big ones).")
    if key == "min_face_size_px":
        return click.option(
            "--min-face-size", "min_face_size_px", type=click.IntRange(min=0), default=0, show_default=True,
            metavar="PX", help="Ignore faces narrower than PX pixels.")
    if key == "max_pixels":
        return click.option(
            "--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True, metavar="N",
            help="Refuse photos with more than N pixels before decoding them (decompression bombs). Raise it for "
                 "bigger photos you trust; memory grows by 3 bytes a pixel, detection itself stays within a fixed "
                 "budget.")
    if key == "embedder":
        return click.option(
            "--embedder", type=click.Choice(list_embedders()), default=DEFAULT_EMBEDDER, show_default=True,
            help="Embedding backend (all give dlib's 128-d embeddings; they differ in speed).")
    if key == "pick":
        return click.option(
            "--pick", type=click.Choice(["largest", "central", "best"]), default="largest", show_default=True,
            help="The face used of a photo with several, where one face per photo is needed (verify, calibrate, "
                 "evaluate, identify --known's photos); verbs that report every face ignore it.")
    if key == "preset":
        return click.option(
            "--preset", type=click.Choice(sorted(PRESETS)), default=DEFAULT_PRESET, show_default=True,
            help="fast: the defaults shown here; accurate: the best LFW setting measured (central face, flip, 10 "
                 "jitters; about 10x the embedding time). Options given explicitly win over the preset.")
    if key == "workers":
        return click.option(
            "--workers", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
            help="Worker processes, each with its own models (0: one per CPU core). 1 works in this process, on "
                 "one photo per CPU core at a time with one set of models; worker processes take a second or two "
                 "each to start.")
    raise KeyError(key)


def pipeline_options(func: F) -> F:
    """The pipeline option group (every key of :data:`PIPELINE_KEYS`) as one decorator.

    Use :func:`pipeline_settings` in the command to turn the parsed values into :class:`FaceAnalyzer` keywords,
    the face pick and the worker count, with the preset applied.
    """
    return stack_options(*(pipeline_option(key) for key in ("preset", *PIPELINE_KEYS[:-2], "workers")))(func)


@dataclass(frozen=True)
class PipelineSettings:
    """The pipeline group's values, resolved.

    Attributes:
        analyzer: :class:`~facerec.analyzer.FaceAnalyzer` (and :func:`facerec.get_analyzer`,
            :class:`~facerec.batch.BatchProcessor`) keyword arguments.
        pick: which face of a photo with several (:func:`facerec.pick_face`).
        workers: worker processes (0 already turned into the core count).
        preset: the preset's name.
    """

    analyzer: dict[str, Any]
    pick: FacePick
    workers: int
    preset: str


def pipeline_settings(ctx: click.Context, values: dict[str, Any]) -> PipelineSettings:
    """Take the pipeline group's values out of ``values`` (a command's keyword arguments) and resolve them: the
    preset's settings (:mod:`facerec.presets`) fill in every option not given on the command line."""
    from click.core import ParameterSource

    from facerec.presets import resolve_preset

    own = {key: values.pop(key) for key in PIPELINE_KEYS if key in values}
    preset = own.pop("preset", "fast")
    given = {key: value for key, value in own.items()
             if ctx.get_parameter_source(key) not in (ParameterSource.DEFAULT, None)}
    settings = {**own, **resolve_preset(preset, given)}
    workers = int(settings.pop("workers", 1)) or (os.cpu_count() or 1)
    pick: FacePick = settings.pop("pick", "largest")
    return PipelineSettings(analyzer=settings, pick=pick, workers=workers, preset=preset)


def analyzer_options(*, embedder: bool = False) -> Callable[[F], F]:
    """The detection part of the pipeline group (``--detector``, ``--upsample``, ``--min-face-size``,
    ``--max-side``, ``--max-pixels``, and ``--embedder``), for a command that needs no more; the same definitions
    as :func:`pipeline_options`."""
    keys = ["detector", "upsample", "min_face_size_px", "max_side", "max_pixels", *(["embedder"] if embedder else [])]
    return stack_options(*(pipeline_option(key) for key in keys))


def quiet_option(func: F) -> F:
    """``--quiet``: no progress bar."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(func)


def batch_options(func: F) -> F:
    """``--workers`` (the pipeline group's) and ``--quiet``."""
    return stack_options(pipeline_option("workers"), quiet_option)(func)


def output_options(func: F) -> F:
    """``--json`` and ``--csv`` (default: an aligned table)."""
    return stack_options(
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table."),
        click.option("--csv", "as_csv", is_flag=True, help="Print CSV (with a header row) instead of a table."),
    )(func)


def threshold_option(func: F) -> F:
    """``--threshold``: the largest distance still called the same person (``None`` when not given: see
    :func:`resolve_threshold`)."""
    return click.option(
        "--threshold", "distance_threshold", type=click.FloatRange(min=0, min_open=True), default=None,
        help=f"Largest embedding distance still called the same person. Lower is stricter; "
             f"{DEFAULT_DISTANCE_THRESHOLD:g} keeps face_recognition's 0.6 false-accept rate with flip averaging. "
             f"Default: the --calibration's threshold when one is loaded, else {DEFAULT_DISTANCE_THRESHOLD:g}.",
    )(func)


def calibration_option(func: F) -> F:
    """``--calibration``: a calibration JSON file, default ``$FACEREC_CALIBRATION`` (see
    :func:`load_calibration_option`)."""
    return click.option(
        "--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        envvar="FACEREC_CALIBRATION", show_envvar=True, metavar="FILE",
        help="Calibration JSON written by \"facerec calibrate --out FILE\". With it, each match gets its "
             "probability P(same person | distance) and the default threshold is the calibration's. Default: "
             "$FACEREC_CALIBRATION if set, else none, and the probability is left blank (null in JSON).",
    )(func)


def comparison_option(func: F) -> F:
    """``--comparison euclidean|learned|auto`` (see :func:`resolve_comparison_option`)."""
    return click.option(
        "--comparison", type=click.Choice(COMPARISONS), default=None,
        help="How two faces are compared. 'euclidean': dlib's plain distance (nothing learned beat it on LFW: "
             "docs/BENCHMARKS.md, 'Learned comparison'); 'learned': embeddings mapped by the linear comparison "
             "facerec fitted on LFW; 'auto': that one when it was fitted for this embedding model, else "
             "Euclidean. Default: the --calibration's comparison when one is loaded, else euclidean.",
    )(func)


def resolve_comparison_option(comparison: str | None, calibration: Calibration | None) -> Comparison:
    """The comparison to use: ``--comparison`` when given (it must agree with a loaded calibration's), else the
    calibration's, else :data:`facerec.metric.DEFAULT_COMPARISON`."""
    if calibration is not None:
        if comparison is not None and comparison != "auto" and comparison != calibration.comparison:
            raise click.UsageError(f"--comparison {comparison} disagrees with the calibration, which was made "
                                   f"with the {calibration.comparison} comparison")
        return calibration.comparison  # type: ignore[return-value]
    return (comparison or DEFAULT_COMPARISON)  # type: ignore[return-value]


def load_calibration_option(path: Path | None) -> Calibration | None:
    """The calibration named by ``--calibration`` (``None`` when none is named).

    Raises:
        Fail: the file is missing or not a calibration, or scikit-learn (the ``recognition`` extra) is missing.
    """
    if path is None:
        return None
    try:
        from facerec.recognition.calibration import Calibration
    except ImportError as exc:
        raise Fail(f"reading a calibration needs the recognition extra ({exc}): pip install "
                   "'facerec[recognition]'") from None
    try:
        return Calibration.load(path)
    except FacerecError as exc:
        raise Fail(str(exc)) from None


def resolve_threshold(distance_threshold: float | None, calibration: Calibration | None) -> float:
    """The threshold to use: ``--threshold`` when given, else the calibration's, else the library default."""
    if distance_threshold is not None:
        return float(distance_threshold)
    if calibration is not None:
        return float(calibration.threshold)
    return DEFAULT_DISTANCE_THRESHOLD


def match_probability(calibration: Calibration | None, distance: float | None) -> float | None:
    """Calibrated ``P(same person | distance)``, or ``None`` without a calibration or a distance."""
    if calibration is None or distance is None:
        return None
    return float(calibration.probability(distance))


def output_format(as_json: bool, as_csv: bool) -> str:
    """``"json"``, ``"csv"`` or ``"table"``; both flags at once is a usage error."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    return "json" if as_json else "csv" if as_csv else "table"


# -- progress -------------------------------------------------------------------------------------------------------
class Progress:
    """A progress bar on stderr (tqdm's: count, rate, time left, fitted to the terminal's width), drawn only on a
    terminal; error lines can be printed around it.

    Args:
        total: the number of steps.
        label: a word or two before the bar.
        enabled: draw at all (off for ``--quiet`` and for runs of :data:`PROGRESS_MIN_FILES` files or fewer).
    """

    def __init__(self, total: int, label: str, *, enabled: bool = True) -> None:
        from tqdm import tqdm

        isatty = getattr(sys.stderr, "isatty", None)
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = enabled and total > PROGRESS_MIN_FILES and bool(isatty and isatty())
        # shown at 0/N while the models load; removed when closed
        self._bar = tqdm(total=total, desc=label, unit="photo", file=sys.stderr, dynamic_ncols=True, leave=False,
                         disable=not self.enabled, smoothing=0.1)

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        self._bar.update(steps)

    def message(self, line: str) -> None:
        """Print ``line`` on stderr without garbling the bar."""
        if self.enabled:
            self._bar.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        self._bar.close()


# -- running ----------------------------------------------------------------------------------------------------------
def announce_index_build(gallery: Gallery, *, quiet: bool = False) -> None:
    """Say on stderr when the coming search first builds the gallery's search index (seconds to minutes)."""
    from facerec.gallery.search import index_build_pending

    pending = index_build_pending(gallery)
    if pending and not quiet:
        click.echo(f"facerec: building the search index of {pending:,} samples once (saved beside the gallery; "
                   "about 5 minutes a million samples)", err=True)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files and folders -> image files (folders searched recursively, images recognised by their content,
    symbolic links followed); none at all is a failure. The files of the folders that are not images are named in
    one line on stderr; a file reached by several paths is processed once, and a note on stderr says so. ``-`` is
    one image read from standard input (see :func:`stdin_image`)."""
    given = [stdin_image() if str(p) == STDIN else p for p in paths]
    scan = scan_images(given)
    for path, first in scan.duplicates:
        click.echo(error_line(path, f"note: the same file as {shown_path(first)}; processed once"), err=True)
    for path in scan.loops:
        click.echo(error_line(path, "note: a symbolic link back into a folder already searched; not followed"),
                   err=True)
    summary = describe_skipped(scan.skipped)
    if summary is not None:
        click.echo(f"facerec: {display_text(summary)}", err=True)
    if not scan.files:
        raise Fail(f"no image files found in {', '.join(shown_path(p) for p in given)}"
                   + (f" ({summary})" if summary else ""))
    return scan.files


#: The path that means standard input.
STDIN = "-"
_STDIN_KEY = "facerec.stdin"


def stdin_image() -> Path:
    """Standard input, read once per command into a private temporary file (removed when the command ends) that
    stands for ``-``; results for it are shown as ``-`` (:func:`shown_path`)."""
    import shutil
    import tempfile

    ctx = click.get_current_context()
    known: Path | None = ctx.meta.get(_STDIN_KEY)
    if known is not None:
        return known
    data = sys.stdin.buffer.read()
    if not data:
        raise Fail("-: standard input is empty (pipe an image into it, e.g. facerec detect - < photo.jpg)")
    folder = Path(tempfile.mkdtemp(prefix="facerec-stdin-"))
    ctx.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    path = folder / "stdin"
    path.write_bytes(data)
    ctx.meta[_STDIN_KEY] = path
    return path


def _is_stdin_file(path: Path) -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.meta.get(_STDIN_KEY) == path


def shown_path(path: Path) -> str:
    """How ``path`` is shown to the user: ``-`` for standard input, else the path as printable text
    (:func:`facerec.filenames.display_path`)."""
    return STDIN if _is_stdin_file(path) else display_path(path)


def run_files(batch: BatchProcessor, files: Sequence[Path], *, quiet: bool, label: str = "faces",
              **run_options: Any) -> list[FileResult]:
    """Run ``batch`` over ``files`` (options: :meth:`BatchProcessor.run`), reporting each failed file (and each
    file's notes, e.g. "only the first frame is used") on stderr as it comes, with a progress bar on long runs.

    Returns:
        Every file's result, in order.
    """
    progress = Progress(len(files), label, enabled=not quiet)
    results: list[FileResult] = []
    try:
        for result in batch.run(files, **run_options):
            if _is_stdin_file(result.path):
                result = dataclasses.replace(result, path=Path(STDIN))
            if not result.ok:
                progress.message(error_line(result.path, result.error or "failed"))
            for note in result.notes:
                progress.message(error_line(result.path, f"note: {note}"))
            results.append(result)
            progress.advance()
    finally:
        progress.close()
    return results


def conclude(ctx: click.Context, results: Sequence[FileResult], fmt: str, *, document: Callable[[], Any],
             table: Callable[[], tuple[Sequence[str], list[list[Any]]]],
             csv_rows: Callable[[], tuple[Sequence[str], list[list[Any]]]] | None = None,
             other_failures: int = 0) -> None:
    """Print the output and exit: 0 when every input worked, 1 when some failed, 2 (nothing printed) when none
    worked."""
    failed = sum(1 for r in results if not r.ok) + other_failures
    if results and failed - other_failures == len(results):
        raise Fail(f"none of the {len(results)} input file(s) could be used")
    emit(fmt, document=document, table=table, csv_rows=csv_rows)
    ctx.exit(EXIT_FAILED if failed else EXIT_OK)


# -- output ---------------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned plain-text table; columns holding only numbers are right-aligned.

    A row shorter than the header is a note: its cells fill the first columns and its last cell runs on freely
    (e.g. ``[file, "-", "no face found"]``).
    """
    cells = [[str(c) for c in row] for row in rows]
    full = [row for row in cells if len(row) == len(headers)]
    widths = [len(h) for h in headers]
    for row in cells:
        counted = row if len(row) == len(headers) else row[:-1]
        for i, cell in enumerate(counted):
            widths[i] = max(widths[i], len(cell))
    numeric = []
    for i in range(len(headers)):
        values = [row[i] for row in full if row[i] not in ("", "-")]
        numeric.append(bool(values) and all(_NUMBER.match(v) for v in values))

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        if len(values) < len(headers):
            parts[-1] = values[-1]
        return "  ".join(parts).rstrip()

    return "\n".join([line([h.upper() for h in headers]), *(line(row) for row in cells)])


def format_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


def emit(fmt: str, *, document: Callable[[], Any], table: Callable[[], tuple[Sequence[str], list[list[Any]]]],
         csv_rows: Callable[[], tuple[Sequence[str], list[list[Any]]]] | None = None) -> None:
    """Print the output in the chosen format (the builders are called only for the format asked for)."""
    if fmt == "json":
        click.echo(jsonsafe.dumps(printable(document()), indent=2))
    elif fmt == "csv":
        headers, rows = (csv_rows or table)()
        click.echo(format_csv(headers, printable(rows)))
    else:
        headers, rows = table()
        click.echo(format_table(headers, printable(rows)))


def iter_faces(results: Iterable[FileResult]) -> Iterator[tuple[FileResult, int]]:
    """``(result, face_index)`` for every face, with ``face_index`` ``0`` for a file where no face was found."""
    for result in results:
        if not result.faces:
            yield result, 0
        for i in range(1, len(result.faces) + 1):
            yield result, i


def box_cell(box: Box) -> str:
    """A face box as one table cell, ``left,top,right,bottom`` in pixels (the ``box (l,t,r,b)`` column)."""
    return ",".join(str(v) for v in box.to_dict().values())


def errors_document(results: Iterable[FileResult]) -> list[dict[str, str]]:
    """The ``errors`` list of a JSON document."""
    return [{"file": display_path(r.path), "error": r.error or "failed"} for r in results if not r.ok]


def file_document(result: FileResult) -> dict[str, Any]:
    """The fields every per-file JSON entry starts with."""
    width, height = result.size or (None, None)
    return {"file": display_path(result.path), "width": width, "height": height}
