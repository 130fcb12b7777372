"""``facerec enroll``, ``facerec people ...`` and ``facerec search``: the gallery verbs.

Naming the faces of photos from a gallery is ``facerec identify --gallery`` (:mod:`facerec.cli.identify`). Each verb
here is a thin translation to :mod:`facerec.gallery`. ``--gallery`` takes a SQLite file or a ``postgresql://`` DSN
and defaults to ``$FACEREC_GALLERY``, else ``$XDG_DATA_HOME/facerec/gallery.sqlite`` (``~/.local/share/...``).
Errors of facerec become one ``facerec: <message>`` line and exit code 2, also when a command runs on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from facerec.analyzer import get_analyzer
from facerec.batch import BatchProcessor
from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    STDIN,
    Fail,
    Progress,
    announce_index_build,
    box_cell,
    emit,
    error_line,
    errors_to_fail,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    quiet_option,
    stdin_image,
)

if TYPE_CHECKING:
    from facerec.gallery import Gallery

__all__ = ["COMMANDS", "enroll", "people", "search"]

F = TypeVar("F", bound=Callable[..., Any])


def gallery_option(func: F) -> F:
    """``--gallery``: a SQLite file or a ``postgresql://`` DSN."""
    return click.option(
        "--gallery", "gallery_location", metavar="FILE|DSN", default=None,
        help="The gallery: a SQLite file or a postgresql:// DSN. Default: $FACEREC_GALLERY, else "
             "$XDG_DATA_HOME/facerec/gallery.sqlite (~/.local/share/facerec/gallery.sqlite).")(func)


def _opened(location: str | None, *, create: bool) -> Gallery:
    """The gallery at ``location``; use it in a ``with`` block, which closes it."""
    from facerec.gallery import open_gallery

    return open_gallery(location, create=create)


# -- enroll ---------------------------------------------------------------------------------------------------------
@click.command()
@click.argument("people_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@gallery_option
@click.option("--store-crops", is_flag=True,
              help="Also keep a small JPEG of each face in the gallery (deleted with the person). Off by default: "
                   "only embeddings are stored, never the photos.")
@pipeline_options
@output_options
@quiet_option
@click.pass_context
@errors_to_fail
def enroll(ctx: click.Context, /, people_dir: Path, gallery_location: str | None, store_crops: bool, as_json: bool,
           as_csv: bool, quiet: bool, **options: Any) -> None:
    """Add the people of PEOPLE_DIR to the gallery: PEOPLE_DIR/<name>/*.jpg, one face per photo.

    Photos with no face or several faces are skipped and reported. Each photo is committed on its own, so an
    interrupted run keeps what it finished, and running it again adds only new photos.
    """
    from facerec.gallery import enroll as enroll_people

    fmt = output_format(as_json, as_csv)
    pipeline = pipeline_settings(ctx, options)
    analyzer = get_analyzer(**pipeline.analyzer)  # shared per process: models load once
    with _opened(gallery_location, create=True) as gallery:
        progress: Progress | None = None

        def on_progress(done: int, total: int, outcome: Any) -> None:
            nonlocal progress
            if progress is None:
                progress = Progress(total, "enroll", enabled=not quiet)
            if not outcome.ok:
                progress.message(error_line(outcome.path, outcome.message or outcome.status))
            progress.advance()

        batch = BatchProcessor(workers=pipeline.workers, **pipeline.analyzer) if pipeline.workers != 1 else None
        try:
            report = enroll_people(gallery, people_dir, analyzer, on_progress=on_progress, store_crops=store_crops,
                                   batch=batch)
        finally:
            if batch is not None:
                batch.close()
            if progress is not None:
                progress.close()
        location = gallery.location
    if not report.outcomes:
        raise Fail(f"no photos found in {people_dir} (expected PEOPLE_DIR/<name>/*.jpg)")
    if not any(o.ok for o in report.outcomes):
        raise Fail(f"none of the {len(report.outcomes)} photo(s) could be enrolled")
    headers = ["file", "person", "status", "sample", "note"]
    rows = [[str(o.path), o.person or "-", o.status, o.sample_id if o.sample_id is not None else "-",
             o.message or "-"] for o in report.outcomes]
    emit(fmt, document=lambda: {"gallery": location, **report.to_dict()}, table=lambda: (headers, rows))
    if fmt == "table":
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
        click.echo(f"{location}: {counts}", err=True)
    ctx.exit(EXIT_FAILED if report.skipped else EXIT_OK)


# -- people ---------------------------------------------------------------------------------------------------------
@click.group()
def people() -> None:
    """List, show, rename, merge and remove the people of a gallery; with a photo library (`facerec index`), also
    suggest, name, split and reject clusters of its faces, and cluster them again."""


@people.command("list")
@gallery_option
@output_options
@errors_to_fail
def people_list(gallery_location: str | None, as_json: bool, as_csv: bool) -> None:
    """Every person of the gallery, with their number of samples."""
    fmt = output_format(as_json, as_csv)
    with _opened(gallery_location, create=False) as gallery:
        everyone = gallery.list_people()
        model = gallery.model_id
        location = gallery.location
    headers = ["id", "name", "samples", "created"]
    rows = [[p.id, p.name, p.sample_count, p.created.strftime("%Y-%m-%d %H:%M:%S")] for p in everyone]
    emit(fmt, document=lambda: {"gallery": location, "model": model, "people": [p.to_dict() for p in everyone]},
         table=lambda: (headers, rows))


@people.command("show")
@click.argument("name")
@gallery_option
@output_options
@errors_to_fail
def people_show(name: str, gallery_location: str | None, as_json: bool, as_csv: bool) -> None:
    """One person's details and samples (NAME may also be a numeric id)."""
    fmt = output_format(as_json, as_csv)
    with _opened(gallery_location, create=False) as gallery:
        person = gallery.get_person(int(name) if name.isdigit() and gallery.find_person(name) is None else name)
        samples = gallery.samples_of(person)
    headers = ["sample", "source", "box (l,t,r,b)", "score", "crop", "created"]
    rows = [[s.id, s.source or "-", box_cell(s.box) if s.box else "-",
             "-" if s.score is None else f"{s.score:.2f}", "yes" if s.has_crop else "no",
             s.created.strftime("%Y-%m-%d %H:%M:%S")] for s in samples]
    emit(fmt, document=lambda: {**person.to_dict(), "sample_list": [s.to_dict() for s in samples]},
         table=lambda: (headers, rows))


@people.command("rename")
@click.argument("name")
@click.argument("new_name")
@gallery_option
@errors_to_fail
def people_rename(name: str, new_name: str, gallery_location: str | None) -> None:
    """Give person NAME the name NEW_NAME."""
    with _opened(gallery_location, create=False) as gallery:
        person = gallery.rename_person(name, new_name)
    click.echo(f"renamed {name!r} to {person.name!r}")


@people.command("merge")
@click.argument("source")
@click.argument("target")
@gallery_option
@errors_to_fail
def people_merge(source: str, target: str, gallery_location: str | None) -> None:
    """Move every sample of SOURCE to TARGET and remove SOURCE (the same person enrolled under two names)."""
    with _opened(gallery_location, create=False) as gallery:
        person = gallery.merge_people(source, target)
    click.echo(f"merged {source!r} into {person.name!r} ({person.sample_count} samples)")


@people.command("remove")
@click.argument("name")
@gallery_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@errors_to_fail
def people_remove(name: str, gallery_location: str | None, yes: bool) -> None:
    """Delete person NAME with all their samples and crops (overwritten on disk in a SQLite gallery)."""
    with _opened(gallery_location, create=False) as gallery:
        person = gallery.get_person(name)
        if not yes:
            click.confirm(f"delete {person.name!r} and {person.sample_count} sample(s) from {gallery.location}?",
                          abort=True)
        removed = gallery.remove_person(person)
    click.echo(f"removed {person.name!r} ({removed} samples)")


# -- search ---------------------------------------------------------------------------------------------------------
@click.command()
@click.argument("photo", type=click.Path(path_type=Path))
@gallery_option
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, metavar="K",
              help="How many nearest people to list per face.")
@pipeline_options
@output_options
@click.pass_context
@errors_to_fail
def search(ctx: click.Context, /, photo: Path, gallery_location: str | None, top_k: int, as_json: bool, as_csv: bool,
           **options: Any) -> None:
    """The K nearest people of the gallery for every face of PHOTO (- for standard input), with their distances (no
    threshold)."""
    from facerec.gallery import identify as identify_faces

    fmt = output_format(as_json, as_csv)
    analyzer = get_analyzer(**pipeline_settings(ctx, options).analyzer)  # shared per process: models load once
    with _opened(gallery_location, create=False) as gallery:
        announce_index_build(gallery)
        source = stdin_image() if str(photo) == STDIN else photo
        found = identify_faces(gallery, source, analyzer=analyzer, top_k=top_k)
        location = gallery.location
    if not found:
        raise Fail(f"{photo}: no face found")
    headers = ["face", "rank", "name", "distance", "sample"]
    rows = [[n, rank, c.name, f"{c.distance:.3f}", c.sample_id]
            for n, who in enumerate(found, start=1) for rank, c in enumerate(who.candidates, start=1)]
    emit(fmt, document=lambda: {"gallery": location, "file": str(photo), "faces": [
        {"box": who.face.box.to_dict() if who.face else None, "candidates": [c.to_dict() for c in who.candidates]}
        for who in found]}, table=lambda: (headers, rows))


#: The commands to register in the main ``facerec`` group.
COMMANDS: list[click.Command] = [enroll, people, search]
