"""``facerec index``, ``facerec photos`` and ``facerec people suggest|name|split|reject|cluster``: the photo-library
verbs, thin translations to :mod:`facerec.library`.

The library lives in the gallery's database (``--gallery``: a SQLite file or a ``postgresql://`` DSN), in tables of
its own beside the gallery's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Fail,
    analyzer_options,
    emit,
    error_line,
    errors_to_fail,
    output_format,
    output_options,
)
from facerec.cli.gallery_cmds import gallery_option

__all__ = ["COMMANDS", "PEOPLE_COMMANDS", "index", "photos"]


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class _RateBar:
    """A one-line bar on stderr (on a terminal only): done/total, photos/s and the time left."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        isatty = getattr(sys.stderr, "isatty", None)
        self.total = total
        self.enabled = enabled and total > 0 and bool(isatty and isatty())
        self._drawn = False
        self._last = 0.0

    def update(self, progress: Any, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.2 and progress.done < self.total):
            return
        self._last = now
        width = 30
        filled = int(width * progress.done / self.total) if self.total else width
        click.echo(f"\rindexing [{'#' * filled}{'-' * (width - filled)}] {progress.done}/{self.total} "
                   f"{progress.photos_per_s:5.1f} photos/s  ETA {_eta(progress.eta_s)}  {progress.faces} faces",
                   err=True, nl=False)
        self._drawn = True

    def message(self, line: str) -> None:
        self.close()
        click.echo(line, err=True)

    def close(self) -> None:
        if self._drawn:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._drawn = False


def _cluster_options(func: Any) -> Any:
    func = click.option("--cluster-distance", type=click.FloatRange(min=0, min_open=True), default=None,
                        metavar="D", help="How close two faces must be to count as neighbours when clustering "
                        "(lower is stricter). Default: 0.45.")(func)
    func = click.option("--min-faces", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Close faces (itself included) that let a face start a cluster. Default: 3.")(func)
    return func


def _cluster_settings(cluster_distance: float | None, min_faces: int | None) -> dict[str, Any]:
    from facerec.library.people import DEFAULT_CLUSTER_DISTANCE, DEFAULT_MIN_FACES

    return {"distance_threshold": DEFAULT_CLUSTER_DISTANCE if cluster_distance is None else cluster_distance,
            "min_faces": DEFAULT_MIN_FACES if min_faces is None else min_faces}


# -- index ----------------------------------------------------------------------------------------------------------
@click.command()
@click.argument("photos_dirs", metavar="PHOTOS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@gallery_option
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Local worker processes, each with its own models (0: one per CPU core).")
@click.option("--ray", "ray_address", metavar="auto|ADDRESS|local", default=None,
              help="Analyse on a Ray cluster instead (pip install 'facerec[distributed]'): auto (the cluster this "
                   "machine joined with `ray start`), HOST:PORT, or local (Ray on this machine only). Every node "
                   "must see the photos at the same paths.")
@click.option("--ray-workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Ray actors to start (default: one per CPU of the cluster).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, metavar="N",
              help="Photos per batch: one task for a worker and one database transaction.")
@click.option("--hash-in-workers", is_flag=True,
              help="Hash each photo where it is analysed instead of here first, so that this process reads no photo "
                   "bytes (for a cluster); a copy of a stored photo is then analysed before it is dropped.")
@click.option("--no-cluster", is_flag=True, help="Do not cluster the new faces after indexing.")
@_cluster_options
@analyzer_options(embedder=True)
@output_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
@errors_to_fail
def index(ctx: click.Context, /, photos_dirs: tuple[Path, ...], gallery_location: str | None, workers: int,
          ray_address: str | None, ray_workers: int | None, batch_size: int, hash_in_workers: bool, no_cluster: bool,
          cluster_distance: float | None, min_faces: int | None, as_json: bool, as_csv: bool, quiet: bool,
          **analyzer_settings: Any) -> None:
    """Store every face of every photo of PHOTOS (files or folders, searched recursively) in the gallery's photo
    library: box, thumbnail, embedding, photo path and hash.

    Resumable: a photo stored already (same path, size and time, or same content hash) is skipped, and a crash
    loses at most the batches in flight. Photos that fail are recorded with their reason (listed with --json).
    Afterwards the new faces are clustered into people to name (see `facerec people suggest`).
    """
    from facerec.gallery import open_gallery
    from facerec.library import LocalPool, index_photos, open_store
    from facerec.library.people import cluster_library

    fmt = output_format(as_json, as_csv)
    missing = [str(p) for p in photos_dirs if not p.exists()]
    if missing:
        raise Fail(f"no such file or folder: {', '.join(missing)}")
    options = {k: v for k, v in analyzer_settings.items() if v is not None}
    bar: _RateBar | None = None

    def on_progress(progress: Any) -> None:
        nonlocal bar
        if bar is None:
            bar = _RateBar(progress.total, enabled=not quiet)
        bar.update(progress)

    with open_store(gallery_location) as store:
        pool: Any
        if ray_address is not None:
            from facerec.library.ray_pool import RayPool

            pool = RayPool(ray_address, workers=ray_workers, analyzer_options=options)
        else:
            pool = LocalPool(workers=workers, analyzer_options=options)
        try:
            report = index_photos(store, list(photos_dirs), pool=pool, analyzer_options=options,
                                  batch_size=batch_size, hash_in_driver=not hash_in_workers,
                                  on_progress=on_progress)
        finally:
            pool.close()
            if bar is not None:
                bar.close()
        for path, reason in report.failures:
            click.echo(error_line(path, reason), err=True)
        clustering = None
        if not no_cluster:
            with open_gallery(gallery_location) as gallery:
                clustering = cluster_library(store, gallery, **_cluster_settings(cluster_distance, min_faces))
        counts = store.counts()
    p = report.progress
    if p.total == 0:
        raise Fail(f"no image files found in {', '.join(str(d) for d in photos_dirs)}")
    document = {**report.to_dict(), "library": counts,
                "clustering": None if clustering is None else clustering.__dict__}
    emit(fmt, document=lambda: document,
         table=lambda: (["photos", "stored", "faces", "skipped", "duplicates", "failed", "photos/s", "clusters"],
                        [[p.total, p.stored, p.faces, p.skipped, p.duplicates, p.failed,
                          f"{p.photos_per_s:.2f}", counts["clusters"]]]))
    ctx.exit(EXIT_FAILED if report.failures else EXIT_OK)


# -- photos --person ------------------------------------------------------------------------------------------------
@click.command()
@click.option("--person", "names", multiple=True, required=True, metavar="NAME",
              help="A person (repeat for several: the photos where they all appear).")
@gallery_option
@output_options
@errors_to_fail
def photos(names: tuple[str, ...], gallery_location: str | None, as_json: bool, as_csv: bool) -> None:
    """List every indexed photo of a person, or with several --person the photos where they appear together."""
    from facerec.gallery import open_gallery
    from facerec.library import open_store
    from facerec.library.people import photos_of

    fmt = output_format(as_json, as_csv)
    with open_store(gallery_location) as store, open_gallery(gallery_location, create=False) as gallery:
        found = photos_of(store, gallery, list(names))
    emit(fmt, document=lambda: {"people": list(names), "photos": found},
         table=lambda: (["photo"], [[f] for f in found]))


# -- people suggest | name | split | reject | cluster -----------------------------------------------------------------
@click.command("suggest")
@gallery_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="How many clusters to list.")
@click.option("--min-size", type=click.IntRange(min=1), default=2, show_default=True, metavar="N",
              help="Leave out clusters of fewer faces.")
@click.option("--crops", "crops_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Write the thumbnails of the faces shown to DIR/<cluster>/<face>.jpg.")
@output_options
@errors_to_fail
def people_suggest(gallery_location: str | None, limit: int, min_size: int, crops_dir: Path | None,
                   as_json: bool, as_csv: bool) -> None:
    """Unnamed clusters of faces to name, largest first (name one with `facerec people name CLUSTER NAME`)."""
    from facerec.library import open_store

    fmt = output_format(as_json, as_csv)
    with open_store(gallery_location) as store:
        found = [c for c in store.clusters(named=False) if c.size >= min_size][:limit]
        examples = {c.id: store.faces(list(c.face_ids)) for c in found}
        if crops_dir is not None:
            for c in found:
                folder = crops_dir / str(c.id)
                folder.mkdir(parents=True, exist_ok=True)
                for face in examples[c.id]:
                    jpeg = store.crop(face.id)
                    if jpeg is not None:
                        (folder / f"{face.id}.jpg").write_bytes(jpeg)
        unclustered = store.counts()["unassigned_faces"]
    emit(fmt, document=lambda: {"clusters": [{**c.to_dict(), "photos": [f.path for f in examples[c.id]]}
                                             for c in found], "unclustered_faces": unclustered},
         table=lambda: (["cluster", "faces", "face ids", "example photo"],
                        [[c.id, c.size, " ".join(map(str, c.face_ids)),
                          examples[c.id][0].path if examples[c.id] else ""] for c in found]))


@click.command("name")
@click.argument("cluster_id", type=int)
@click.argument("name")
@gallery_option
@errors_to_fail
def people_name(cluster_id: int, name: str, gallery_location: str | None) -> None:
    """Name a cluster: its faces are enrolled as NAME in the gallery (naming two clusters alike joins them)."""
    from facerec.gallery import open_gallery
    from facerec.library import open_store
    from facerec.library.people import name_cluster

    with open_store(gallery_location) as store, open_gallery(gallery_location) as gallery:
        count = name_cluster(store, gallery, cluster_id, name)
    click.echo(f"cluster {cluster_id}: {count} faces enrolled as {name!r}")


@click.command("split")
@click.argument("face_ids", nargs=-1, required=True, type=int)
@gallery_option
@errors_to_fail
def people_split(face_ids: tuple[int, ...], gallery_location: str | None) -> None:
    """Move faces (ids from `people suggest` or `--json`) out of their cluster into a new cluster of their own."""
    from facerec.gallery import open_gallery
    from facerec.library import open_store
    from facerec.library.people import split_faces

    with open_store(gallery_location) as store, open_gallery(gallery_location) as gallery:
        new_id = split_faces(store, gallery, list(face_ids))
    click.echo(f"{len(set(face_ids))} faces moved to new cluster {new_id}")


@click.command("reject")
@click.argument("face_ids", nargs=-1, required=True, type=int)
@gallery_option
@errors_to_fail
def people_reject(face_ids: tuple[int, ...], gallery_location: str | None) -> None:
    """Faces that are not the person of their cluster: taken out, and kept out on later runs."""
    from facerec.gallery import open_gallery
    from facerec.library import open_store
    from facerec.library.people import reject_faces

    with open_store(gallery_location) as store, open_gallery(gallery_location) as gallery:
        count = reject_faces(store, gallery, list(face_ids))
    click.echo(f"{count} faces taken out of their clusters")


@click.command("cluster")
@gallery_option
@_cluster_options
@errors_to_fail
def people_cluster(gallery_location: str | None, cluster_distance: float | None, min_faces: int | None) -> None:
    """Cluster the faces of the photo library that are in no cluster yet (`facerec index` does it after a run)."""
    from facerec.gallery import open_gallery
    from facerec.library import open_store
    from facerec.library.people import cluster_library

    with open_store(gallery_location) as store, open_gallery(gallery_location) as gallery:
        run = cluster_library(store, gallery, **_cluster_settings(cluster_distance, min_faces))
    click.echo(f"{run.considered} unclustered faces: {run.assigned} clustered ({run.new_clusters} new clusters), "
               f"{run.enrolled} enrolled in named people")


#: The commands to register in the main ``facerec`` group.
COMMANDS: list[click.Command] = [index, photos]
#: The commands to add to ``facerec people``.
PEOPLE_COMMANDS: list[click.Command] = [people_suggest, people_name, people_split, people_reject, people_cluster]
