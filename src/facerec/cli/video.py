"""``facerec video``: track and name the faces of a video file, a local camera or a network stream."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from facerec.batch import BatchProcessor, KnownPeople
from facerec.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Fail,
    Progress,
    emit,
    error_line,
    errors_to_fail,
    output_format,
    output_options,
    pipeline_options,
    pipeline_settings,
    quiet_option,
    threshold_option,
)
from facerec.cli.identify import _load_known, _open_gallery
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import FacerecError, VideoError
from facerec.video import FrameResult, annotate_frame, open_video, track

if TYPE_CHECKING:
    from facerec.video import FaceTrack, VideoSource, VideoWriter

#: ``--detect-side`` when it is not given (the library's default).
DEFAULT_DETECT_SIDE = 640


@click.command(short_help="Track and name the faces in a video, a camera or a stream.")
@click.argument("source", required=False, metavar="[FILE|URL]")
@click.option("--camera", type=click.IntRange(min=0), default=None, metavar="N",
              help="Read camera N instead of a file (/dev/videoN through FFmpeg's v4l2 input on Linux). Stop "
                   "with Ctrl-C: the timeline is written for what was seen.")
@click.option("--known", "known_dir", default=None, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of known people: DIR/<name>.jpg and/or DIR/<name>/*.jpg. Not with --gallery.")
@click.option("--gallery", "gallery_location", default=None, metavar="FILE|DSN",
              help="Gallery of people enrolled with \"facerec enroll\" (used when --known is not given); "
                   "default: $FACEREC_GALLERY, else $XDG_DATA_HOME/facerec/gallery.sqlite.")
@threshold_option
@click.option("--detect-every", type=click.IntRange(min=1), default=None, metavar="N",
              help="Detect faces on every Nth frame and follow them by motion in between. Default: about 3 "
                   "detections a second per CPU core, round(fps / (3 x cores)): every 5th frame of a 30 fps "
                   "video on 2 cores.")
@click.option("--detect-side", type=click.IntRange(min=16), default=None, metavar="PX",
              help=f"Detect on a copy of larger frames shrunk to PX pixels on the longer side (faster; loses "
                   f"the smallest faces). [default: {DEFAULT_DETECT_SIDE}]")
@click.option("--full-size", is_flag=True, help="Detect on full-size frames, however large (slow on HD video).")
@click.option("--out", "out_path", default=None, metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an annotated copy (boxes, track ids, names; H.264) to FILE, e.g. annotated.mp4.")
@click.option("--crops", "crops_dir", default=None, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Save the best face of each track as DIR/track-<id>.jpg.")
@click.option("--cluster", is_flag=True,
              help="Group the unknown tracks into people (agglomerative clustering of their mean embeddings; "
                   "tracks seen at the same time are never one person; needs the recognition extra), to enroll "
                   "later.")
@pipeline_options
@quiet_option
@output_options
@click.pass_context
@errors_to_fail
def video(ctx: click.Context, /, source: str | None, camera: int | None, known_dir: Path | None,
          gallery_location: str | None, distance_threshold: float | None, detect_every: int | None,
          detect_side: int | None, full_size: bool, out_path: Path | None, crops_dir: Path | None, cluster: bool,
          quiet: bool, as_json: bool, as_csv: bool, **options: Any) -> None:
    """Follow the faces through a video and name each one: who appears, when, and for how long.

    \b
    SOURCE is a video file or a stream URL (rtsp://, http://, ...); or give --camera N.
    The known people come from one of:
      --gallery FILE|DSN  the people enrolled with "facerec enroll" (the default, see --gallery)
      --known DIR         a folder of photos of known people

    Faces are detected on every Nth frame (--detect-every) and followed from frame to frame in between; each
    track is embedded on a few of its best frames and named from their mean, so names do not flicker. The
    output is a timeline: one row per track with its name, distance (lower is more alike), first and last time
    in seconds, frames seen, and its best face (with --crops). On a file a progress bar shows frames/s; on a
    camera or stream a log line says when someone appears (+), is renamed on new evidence (=) and leaves (-).

    A video that breaks off (truncated, corrupt, a dropped stream) gives one error line and the timeline of
    the frames decoded before it (exit code 1).

    The pipeline options are every command's; here --max-side is --detect-side, the fallback detector (the CNN
    by default) runs at upsample 0 on detection rounds where the first detector finds no face, --workers N sets
    the threads that detect ahead (default: one per core) and --pick does not apply (known photos: largest face).
    --quiet also turns off the appear/leave log.
    """
    fmt = output_format(as_json, as_csv)
    workers_given = ctx.get_parameter_source("workers") not in (click.core.ParameterSource.DEFAULT, None)
    pipeline = pipeline_settings(ctx, options)
    analyzer = dict(pipeline.analyzer)
    if (source is None) == (camera is None):
        raise click.UsageError("give a video file or stream URL, or --camera N (one of them)")
    if known_dir is not None and gallery_location is not None:
        raise click.UsageError("choose one of --known and --gallery")
    max_side = analyzer.pop("max_side", None)
    if max_side is not None and detect_side is not None and max_side != detect_side:
        raise click.UsageError("--max-side and --detect-side name the same size: give one of them")
    side = None if full_size else (detect_side or max_side or DEFAULT_DETECT_SIDE)
    threshold = DEFAULT_DISTANCE_THRESHOLD if distance_threshold is None else float(distance_threshold)

    known: KnownPeople | None = None
    with BatchProcessor(workers=1, **analyzer) as batch:  # one analyzer for the known photos and the video
        if known_dir is not None:
            known, _ = _load_known(batch, known_dir, quiet, "largest")
        engine = batch.analyzer
    stopped = {"flag": False}
    tracks: list[FaceTrack] = []
    broke: VideoError | None = None
    with open_video(camera if camera is not None else str(source)) as media:
        gallery = _open_gallery(gallery_location) if known is None else None
        try:
            sources: dict[str, Any] = {"known": known} if gallery is None else {"gallery": gallery}
            log = _Log(media, quiet=quiet)
            writer = _open_writer(out_path, media) if out_path is not None else None
            previous = _on_interrupt(stopped) if media.live else None
            try:
                for item in track(media, analyzer=engine, distance_threshold=threshold, detect_every=detect_every,
                                  detect_side=side, detect_threads=pipeline.workers if workers_given else None,
                                  stop=lambda: stopped["flag"], **sources):
                    if isinstance(item, FrameResult):
                        if writer is not None:
                            writer.write(annotate_frame(item))
                        log.frame(item)
                    else:
                        tracks.append(item)
                        log.ended(item)
            except VideoError as exc:
                broke = exc
            finally:
                log.close()
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
                if writer is not None:
                    writer.close()
        finally:
            if gallery is not None:
                gallery.close()
        frames, seconds = log.frames, log.last_time
    tracks.sort(key=lambda t: (t.first_frame, t.track_id))
    crops = _save_crops(tracks, crops_dir) if crops_dir is not None else {}
    clusters = _cluster(tracks) if cluster else {}
    if broke is not None:
        click.echo(error_line(broke.source, broke.reason), err=True)
    if not quiet and out_path is not None and writer is not None:
        click.echo(f"wrote {writer.frames_written} annotated frame(s) to {out_path}", err=True)

    def document() -> dict[str, Any]:
        return {"source": media.name, "kind": media.kind, "fps": media.fps, "width": media.width,
                "height": media.height, "frames": frames, "seconds": round(seconds, 3), "threshold": threshold,
                "known": None if known is None else known.people,
                "gallery": None if known is not None else gallery_location,
                "annotated": None if out_path is None else str(out_path),
                "tracks": [{**t.to_dict(), "crop": crops.get(t.track_id), "cluster": clusters.get(t.track_id)}
                           for t in tracks],
                "error": None if broke is None else str(broke)}

    def rows() -> tuple[list[str], list[list[Any]]]:
        headers = ["track", "name", "distance", "nearest", "first_s", "last_s", "frames", "crop"]
        if cluster:
            headers.append("cluster")
        out = []
        for t in tracks:
            row: list[Any] = [t.track_id, t.name, "" if t.distance is None else f"{t.distance:.3f}",
                              t.nearest or "", f"{t.first_time:.2f}", f"{t.last_time:.2f}", t.frames_seen,
                              crops.get(t.track_id, "")]
            if cluster:
                label = clusters.get(t.track_id)
                row.append("" if label is None else label)
            out.append(row)
        return headers, out

    emit(fmt, document=document, table=rows, csv_rows=rows)
    ctx.exit(EXIT_FAILED if broke is not None else EXIT_OK)


def _on_interrupt(stopped: dict[str, bool]) -> Any:
    """Make Ctrl-C end a live run cleanly (the timeline is still written); returns the previous handler."""

    def handler(signum: int, frame: Any) -> None:
        stopped["flag"] = True

    return signal.signal(signal.SIGINT, handler)


def _open_writer(path: Path, media: VideoSource) -> VideoWriter:
    from fractions import Fraction

    from facerec.video import VideoWriter

    rate = media.rate if media.rate else Fraction(30)
    return VideoWriter(path, fps=rate, width=media.width, height=media.height)


class _Log:
    """The progress bar (files) or the appear/leave log (cameras and streams) on stderr."""

    def __init__(self, media: VideoSource, *, quiet: bool) -> None:
        self.live = media.live
        self.quiet = quiet
        self.frames = 0
        self.last_time = 0.0
        self.seen: dict[int, str] = {}  # the name last logged for each track
        self._start = time.monotonic()
        self.progress = Progress(media.frame_count or 0, "video", enabled=not quiet and not media.live
                                 and bool(media.frame_count))

    def frame(self, item: Any) -> None:
        self.frames += 1
        self.last_time = item.time
        if self.live and not self.quiet:
            for face in item.faces:
                before = self.seen.get(face.track_id)
                if before != face.name:
                    self.seen[face.track_id] = face.name
                    sign = "+" if before is None else "="  # appears, or is renamed on new evidence
                    click.echo(f"[{_clock(item.time)}] {sign} #{face.track_id} {face.name}", err=True)
        if self.progress.enabled:
            elapsed = time.monotonic() - self._start
            self.progress.label = f"video {self.frames / elapsed:5.1f} frames/s" if elapsed > 0 else "video"
            self.progress.advance()

    def ended(self, finished: FaceTrack) -> None:
        if self.live and not self.quiet:
            click.echo(f"[{_clock(finished.last_time)}] - #{finished.track_id} {finished.name} "
                       f"({finished.duration:.1f} s)", err=True)

    def close(self) -> None:
        self.progress.close()


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{rest:04.1f}"


def _save_crops(tracks: list[FaceTrack], folder: Path) -> dict[int, str]:
    """Write each track's best face to ``folder``/track-<id>.jpg; returns the paths by track id."""
    from PIL import Image

    out: dict[int, str] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for t in tracks:
            if t.best_crop is None or t.best_crop.size == 0:
                continue
            path = folder / f"track-{t.track_id:04d}.jpg"
            Image.fromarray(t.best_crop, "RGB").save(path, format="JPEG", quality=90)
            out[t.track_id] = str(path)
    except OSError as exc:
        click.echo(error_line(folder, f"cannot write the crops ({exc.strerror or exc})"), err=True)
    return out


def _cluster(tracks: list[FaceTrack]) -> dict[int, int]:
    """Person labels (0, 1, ... largest first) of the unknown tracks, by track id."""
    from facerec.video import cluster_tracks

    try:
        return cluster_tracks(tracks)
    except ImportError as exc:
        raise Fail(f"--cluster needs the recognition extra ({exc}): pip install 'facerec[recognition]'") from None
    except FacerecError as exc:
        raise Fail(str(exc)) from None
